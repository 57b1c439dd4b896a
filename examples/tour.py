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
# the test suite runs this file, and executes the notebook, so every cell here runs in CI.
# In Jupyter every figure shows inline (groundup's figures display themselves as a cell's
# last expression); set `GROUNDUP_TOUR_OUT=folder` to also write them there as PNG files.

# %%
import os
from pathlib import Path

import numpy as np
from sklearn.linear_model import LinearRegression as SkLinearRegression

import groundup as gu
from groundup import bench, datasets, plots, report

OUT = os.environ.get("GROUNDUP_TOUR_OUT")  # also write the pictures here (optional)


def show(fig, name):
    """Write ``fig`` to OUT when that is set; return it (Jupyter shows a cell's last value)."""
    if OUT:
        plots.save(fig, Path(OUT) / f"{name}.png")
    return fig


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
sets = datasets.resolve(["line", "multi"], sizes=[200, 800])
results = bench.benchmark(sets, backends=names, repeats=1)
print(report.display_frame(results).to_string(index=False))
for verdict in report.verdicts(results):
    print(f"{verdict.data} (n={verdict.n_samples}): {verdict.line(results)}")

# %% [markdown]
# ## The pictures
#
# Every figure uses one code: a colour per method (matplotlib's `tab10`), a line style and
# marker per backend or peer, and curves that coincide drawn once, labelled
# `numpy = torch = ...`. First the training loss after each epoch: one panel per data set and
# method, so that each has its own scale.

# %%
figures = report.make_figures(results, sets)
show(figures["loss_per_epoch"], "loss_per_epoch")

# %% [markdown]
# The same curves against wall time: the same iterates, reached at different speeds.

# %%
show(figures["loss_vs_time"], "loss_vs_time")

# %% [markdown]
# Fit times by method (a band each) and backend (a marker each), and how they grow with n.

# %%
show(figures["fit_times"], "fit_times")

# %%
show(figures["scaling"], "scaling")

# %% [markdown]
# The fitted lines over the data (the closed forms, every backend and scikit-learn coincide).

# %%
show(figures["fitted_lines_line"], "fitted_lines_line")

# %% [markdown]
# The path each gradient method takes over the MSE surface in (intercept, slope), one dot
# per epoch, towards the least-squares solution.

# %%
paths = bench.optimizer_paths(line, methods=["batch", "sgd", "minibatch"])
for method, path in paths.items():
    print(f"{method:>9}: {len(path) - 1:>3} epochs from (0, 0) to {np.round(path[-1], 3)}")
show(plots.loss_surface(line.X, line.y, paths), "tour_loss_surface")

# %% [markdown]
# ## A sweep and a diagnosis
#
# `gu.sweep` trains a grid of learning rates and batch sizes together; its loss curves are
# coloured by the learning rate (a colour bar) and styled by the batch size.

# %%
multi = datasets.make_multi(400, random_state=0)
result = gu.sweep(
    multi.X, multi.y, grid={"eta0": [0.003, 0.03, 0.3], "batch_size": [16, 64]},
    method="minibatch", learning_rate="constant", max_iter=30, random_state=0,
)  # fmt: skip
print(result.best_params)
show(result.plot_losses(), "sweep_losses")

# %% [markdown]
# ## Optimisers on one loss surface
#
# `optimizer` is a parameter like any other: `gu.sweep` trains every optimiser and rate
# below as the columns of one weight matrix (one gradient product per update, each
# optimiser with its own state), and each run ends where `gu.fit` with its parameters
# ends. Then each optimiser's path at its best rate, over the same contours: momentum
# overshoots and swings back, Adam takes steps of the same size in each coordinate.

# %%
optimizers = ["sgd", "momentum", "adam"]
swept = gu.sweep(
    line.X, line.y, method="batch", grid={"optimizer": optimizers, "eta0": [0.03, 0.1, 0.3]},
    learning_rate="constant", max_iter=40, tol=None, random_state=0,
)  # fmt: skip
table = swept.table
print(table[["optimizer", "eta0", "train_loss", "val_rmse"]].to_string(index=False))
best_rate = {
    opt: part.sort_values("val_rmse")["eta0"].iloc[0] for opt, part in table.groupby("optimizer")
}
opt_paths = {}
for opt in optimizers:
    params = {"eta0": best_rate[opt], "learning_rate": "constant", "max_iter": 40, "tol": None}
    opt_paths |= bench.optimizer_paths(line, methods=["batch"], optimizers=[opt], params=params)
show(plots.loss_surface(line.X, line.y, opt_paths), "tour_optimizers")

# %% [markdown]
# `gu.diagnose` checks the assumptions of a fitted linear model; `plot()` draws the four
# standard panels.

# %%
ols = gu.fit(multi.X, multi.y, method="normal")
diagnosis = gu.diagnose(ols, multi.X, multi.y)
show(diagnosis.plot(), "diagnostics")

# %% [markdown]
# The benchmark from the command line, with every plot and a self-contained HTML report:
#
# ```
# groundup bench --data line,multi --sizes 200,800 --backends numpy,torch --out results
# ```
