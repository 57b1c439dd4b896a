# %% [markdown]
# # A tour of groundup
#
# groundup fits classic models with solvers written once against the Python Array API
# standard, so the same code runs on NumPy, PyTorch, JAX, CuPy and array-api-strict.
# This tour fits the original ground-up-ml problem five ways, moves a model between
# backends, benchmarks the methods side by side with scikit-learn and PyTorch, and draws
# the pictures: loss curves, fit times, the fitted lines and the optimisers' paths over
# the loss surface.
#
# `examples/tour.ipynb` is generated from this file (`python examples/make_notebook.py`);
# the test suite runs this file, so every cell here is executed in CI.

# %%
import os
import tempfile
from pathlib import Path

import numpy as np
from sklearn.linear_model import LinearRegression as SkLinearRegression

import groundup as gu
from groundup import bench, datasets, plots, report

OUT = Path(os.environ.get("GROUNDUP_TOUR_OUT") or tempfile.mkdtemp(prefix="groundup-tour-"))
OUT.mkdir(parents=True, exist_ok=True)
print("pictures go to", OUT)

# %% [markdown]
# ## The data: y = 4 + 3x + noise
#
# The original project's simple regression: `x` uniform on [0, 2], `y = 4 + 3x + N(0, 1)`.

# %%
line = datasets.make_line(300, random_state=0)
x, y = line.X[:, 0], line.y
print(line.description, "-", line.n_samples, "points")

# %% [markdown]
# ## Fit five ways
#
# `gu.fit` takes a 1-D `x` as simple regression. The closed forms (`normal`, `beta`)
# solve exactly; the gradient methods (`batch`, `sgd`, `minibatch`) iterate until the
# training loss stops improving by `tol`, and keep their loss per epoch.

# %%
settings = {
    "normal": {},
    "beta": {},
    "batch": {"learning_rate": "constant", "eta0": 0.5},
    "sgd": {},  # scikit-learn SGDRegressor's defaults: invscaling from eta0=0.01
    "minibatch": {"learning_rate": "constant", "eta0": 0.1, "batch_size": 32},
}
models = {}
for method, extra in settings.items():
    model = gu.fit(x, y, method=method, random_state=0, **extra)
    models[method] = model
    print(
        f"{method:>9}: y = {float(model.intercept_):.4f} + {float(model.coef_[0]):.4f} x"
        f"   epochs {model.n_iter_:>3}   final MSE {model.loss_history_[-1]:.4f}"
        f"   {1e3 * model.fit_time_:.2f} ms"
    )

oracle = SkLinearRegression().fit(line.X, y)
print(f"   sklearn: y = {oracle.intercept_:.4f} + {oracle.coef_[0]:.4f} x")
assert np.allclose(models["normal"].coef_, oracle.coef_, rtol=1e-10)

# %% [markdown]
# ## Another backend, the same code
#
# `backend=` moves NumPy data to that library (and `device="cuda"` to a GPU where there is
# one); `coef_` lives there. `predict` answers in the input's library, and `to()` moves a
# fitted model.

# %%
installed = {n: e for n, e in gu.backends.available().items() if e["installed"] and e["devices"]}
print("backends here:", {n: e["devices"] for n, e in installed.items()})
other = "torch" if "torch" in installed else "array_api_strict"
model = gu.fit(x, y, method="minibatch", backend=other, random_state=0, **settings["minibatch"])
print(type(model.coef_).__module__, model.backend_, model.device_)
same = np.allclose(model.to("numpy").coef_, models["minibatch"].coef_, rtol=1e-10)
print("same iterates as on NumPy:", same)
print("prediction at x = 1:", model.predict(np.array([1.0])))

# %% [markdown]
# ## Which method, on which backend, is fastest and most accurate?
#
# `bench.benchmark` (the engine of `groundup bench`) fits every method on each backend,
# times it (median of repeats, device synchronised) and scores it on held-out data, with
# scikit-learn and a hand-written PyTorch loop beside it as peers.

# %%
names = [n for n in ("numpy", "torch") if n in installed]
results = bench.benchmark(["line", "multi"], sizes=[200, 800], backends=names, repeats=1)
table = report.display_frame(results)
print(table.drop(columns=["min-max ms", "host MiB"]).to_string(index=False))

# %% [markdown]
# ## The pictures
#
# Loss per epoch and against wall time, fit times by method and backend, how the cost grows
# with n, the fitted lines over the data, and the path each optimiser takes over the
# MSE surface in (intercept, slope).

# %%
figures = report.make_figures(results, datasets.resolve(["line", "multi"], sizes=[200, 800]))
for name, fig in figures.items():
    plots.save(fig, OUT / f"{name}.png")
print(sorted(p.name for p in OUT.glob("*.png")))

# %%
paths = bench.optimizer_paths(line, methods=["batch", "sgd", "minibatch"])
for method, path in paths.items():
    print(f"{method:>9}: {len(path) - 1:>3} epochs from (0, 0) to {np.round(path[-1], 3)}")
fig = plots.loss_surface(line.X, line.y, paths)
plots.save(fig, OUT / "tour_loss_surface.png")

# %% [markdown]
# The same run from the command line, with every plot and a self-contained HTML report:
#
# ```
# groundup bench --data line,multi --sizes 200,800 --backends numpy,torch --out results
# ```
