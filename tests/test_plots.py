"""gu.plots and gu.report (groundup.bench.plots and .report): every plot has the run's data
drawn in it, the PNGs are not blank, the HTML page is self-contained, CSV / JSON round-trip,
and fitting never imports matplotlib, the plots or the command line."""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib")

import matplotlib.figure  # noqa: E402
import matplotlib.image  # noqa: E402

from groundup import bench, datasets, plots, report  # noqa: E402


@pytest.fixture(scope="module")
def sets() -> list[datasets.Dataset]:
    return datasets.resolve(["line", "multi"], sizes=[60, 120], random_state=1)


@pytest.fixture(scope="module")
def results(sets: list[datasets.Dataset]) -> pd.DataFrame:
    return bench.benchmark(
        sets, backends=["numpy", "array_api_strict"], repeats=1, warmup=0, memory=False
    )


def _gradient_rows(results: pd.DataFrame, name: str, n: int, method: str) -> pd.DataFrame:
    ok = results[(results["status"] == "ok") & (results["data"] == name)]
    ok = ok[(ok["n_samples"] == n) & (ok["method"] == method)]
    return ok[[np.size(h) > 1 for h in ok["loss_history"]]]


def _png_variance(fig) -> float:
    image = matplotlib.image.imread(io.BytesIO(plots.png_bytes(fig)), format="png")
    return float(image[..., :3].var())


def _legend_outside(fig) -> None:
    """One legend for the figure, none on the axes, and it overlaps no axes."""
    assert len(fig.legends) == 1
    assert all(ax.get_legend() is None for ax in fig.axes)
    fig.canvas.draw() if hasattr(fig.canvas, "renderer") else plots.png_bytes(fig)
    box = fig.legends[0].get_window_extent()
    for ax in fig.axes:
        if ax.get_visible() and ax.get_label() != "<colorbar>":
            assert not box.overlaps(ax.get_window_extent()), ax.get_title()
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert len(labels) == len(set(labels)), labels  # no entry twice


@pytest.mark.parametrize("x", ["epoch", "time"])
def test_loss_curves_panel_per_data_set_and_method(results: pd.DataFrame, x: str) -> None:
    fig = plots.loss_curves(results, x=x)
    assert isinstance(fig, matplotlib.figure.Figure)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 4 * 3  # line and multi at two sizes, times batch, sgd and minibatch
    for ax in axes:
        name, n, method = re.match(r"(\w+) \(n=(\d+)\) · (\w+)", ax.get_title()).groups()
        rows = _gradient_rows(results, name, int(n), method)
        assert ax.get_ylabel() == "training MSE"
        drawn = ax.get_lines()
        # every history is drawn, and curves that coincide are drawn once
        for _, row in rows.iterrows():
            hist = np.asarray(row["loss_history"])
            k = np.arange(1, hist.size + 1)
            xs = k if x == "epoch" else row["fit_time"] * k / hist.size
            hits = [
                ln for ln in drawn
                if len(ln.get_ydata()) == hist.size
                and np.allclose(ln.get_ydata(), hist, rtol=1e-4)
                and np.allclose(ln.get_xdata(), xs, rtol=1e-4)
            ]  # fmt: skip
            assert len(hits) == 1, (ax.get_title(), row["impl"], row["backend"])
        if x == "epoch":
            # numpy and array_api_strict follow the same iterates: one line for both
            assert len(drawn) < len(rows)
            assert ax.get_title().endswith(method)
    _legend_outside(fig)
    assert _png_variance(fig) > 0


def test_coinciding_curves_are_labelled_as_such(results: pd.DataFrame) -> None:
    fig = plots.loss_curves(results, x="epoch")
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    # groundup's preconditioned runs coincide across backends; the textbook peer loop differs
    assert "batch: numpy = array_api_strict" in labels
    assert "minibatch: numpy = array_api_strict" in labels
    assert "peer torch loop" in labels


def test_loss_curves_need_a_gradient_run(results: pd.DataFrame) -> None:
    closed = results[results["method"].isin(["normal", "beta"])]
    with pytest.raises(ValueError, match="No gradient run"):
        plots.loss_curves(closed)
    with pytest.raises(ValueError, match="x must be"):
        plots.loss_curves(results, x="iteration")


def test_log_loss_is_named_for_logistic_models() -> None:
    data = datasets.resolve(["classes"], sizes=[80], random_state=0)
    res = bench.benchmark(
        data, models=["logistic"], methods=["batch"], backends=["numpy"], peers=False,
        repeats=1, warmup=0, memory=False,
    )  # fmt: skip
    fig = plots.loss_curves(res)
    assert [ax.get_ylabel() for ax in fig.axes if ax.get_visible()] == ["training log-loss"]


def test_failed_runs_are_named_on_their_panel(results: pd.DataFrame) -> None:
    broken = results.copy()
    hit = (broken["method"] == "batch") & (~broken["peer"]) & (broken["data"] == "line")
    broken.loc[hit, "status"] = "error"
    broken.loc[hit, "reason"] = "DivergenceError: Gradient descent diverged at epoch 2"
    fig = plots.loss_curves(broken)
    for ax in fig.axes:
        if ax.get_title().startswith("line") and ax.get_title().endswith("· batch"):
            notes = " ".join(t.get_text() for t in ax.texts)
            assert "failed" in notes
            assert "batch · numpy: DivergenceError" in notes
            assert "batch · array_api_strict: DivergenceError" in notes
            assert len(ax.get_lines()) == 1  # the peer's curve is still drawn
    times = plots.fit_times(broken)
    notes = [t.get_text() for ax in times.axes for t in ax.texts]
    assert sum("failed (DivergenceError)" in t for t in notes) == int(hit.sum())
    line = next(d for d in datasets.resolve(["line"], sizes=[60], random_state=1))
    fitted = plots.fitted_lines(line.X, line.y, broken, data="line")
    assert "batch · numpy: DivergenceError" in " ".join(t.get_text() for t in fitted.axes[0].texts)
    peer = (broken["method"] == "batch") & broken["peer"] & (broken["data"] == "line")
    broken.loc[peer, "status"] = "diverged"  # a peer whose loss ran away: named, not drawn
    broken.loc[peer, "reason"] = "the training loss became 1e+30 at epoch 2, from 20 at the start"
    fig = plots.loss_curves(broken)
    ax = next(a for a in fig.axes if a.get_title().startswith("line") and "batch" in a.get_title())
    notes = " ".join(t.get_text() for t in ax.texts)
    assert "diverged or failed, not drawn" in notes
    assert "batch · peer torch loop: diverged" in notes
    assert len(ax.get_lines()) == 0


def _color(artist) -> tuple:
    from matplotlib.colors import to_rgba

    return to_rgba(artist.get_color())


def test_one_colour_per_method_and_one_line_style_per_backend(results, sets) -> None:
    """The same method has the same tab10 colour, and the same backend the same dashes and
    marker, in every figure."""
    from matplotlib.colors import to_rgba

    from groundup.bench.style import METHOD_ORDER, backend_style

    def expect(method: str) -> tuple:
        return to_rgba(f"C{METHOD_ORDER.index(method)}")

    for fig in (plots.loss_curves(results), plots.scaling(results)):
        for ax in fig.axes:
            if not ax.get_visible() or not ax.get_lines():
                continue
            method = ax.get_title().rsplit("· ", 1)[-1]
            for line in ax.get_lines():
                assert _color(line) == expect(method)
    scaling = plots.scaling(results)
    for ax in scaling.axes:
        for line in ax.get_lines():
            key = line.get_label()
            who = "torch loop" if key == "peer torch loop" else key.removeprefix("peer ")
            assert line.get_marker() == backend_style(who)["marker"] or str(
                line.get_marker()
            ) == str(backend_style(who)["marker"])
    from matplotlib.collections import PathCollection

    times = plots.fit_times(results)
    for ax in times.axes:
        colours = {
            tuple(c)
            for coll in ax.collections
            if isinstance(coll, PathCollection)
            for c in coll.get_facecolors()
        }
        methods = [t.get_text() for t in ax.get_yticklabels()]
        assert colours <= {expect(m) for m in methods}
    line = next(d for d in sets if d.name == "line")
    paths = bench.optimizer_paths(line)
    surface = plots.loss_surface(line.X, line.y, paths)
    for drawn in surface.axes[0].get_lines():
        method = drawn.get_label().split(" (")[0]
        if method in paths:
            assert _color(drawn) == expect(method)


def test_fit_time_dots_are_the_medians(results: pd.DataFrame) -> None:
    fig = plots.fit_times(results)
    ok = results[results["status"] == "ok"]
    from matplotlib.collections import PathCollection

    xs = sorted(
        float(off[0])
        for ax in fig.axes
        for coll in ax.collections
        if isinstance(coll, PathCollection)
        for off in coll.get_offsets()
    )
    np.testing.assert_allclose(xs, sorted(ok["fit_time"]))
    _legend_outside(fig)
    assert _png_variance(fig) > 0


def test_scaling_draws_time_against_n(results: pd.DataFrame) -> None:
    fig = plots.scaling(results)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 2 * 5  # line and multi, times five methods
    for ax in axes:
        assert ax.get_xscale() == "log"
        assert ax.get_yscale() == "log"
        for line in ax.get_lines():
            np.testing.assert_array_equal(line.get_xdata(), [60, 120])
    _legend_outside(fig)
    one_size = results[results["n_samples"] == 60]
    with pytest.raises(ValueError, match="at least two sizes"):
        plots.scaling(one_size)


def test_fitted_lines_draw_each_distinct_line_once(results: pd.DataFrame, sets) -> None:
    line = next(d for d in sets if d.name == "line" and d.n_samples == 60)
    fig = plots.fitted_lines(line.X, line.y, results, data="line")
    ax = fig.axes[0]
    assert ax.collections[0].get_offsets().shape == (60, 2)
    ok = results[(results["data"] == "line") & (results["n_samples"] == 60)]
    ok = ok[ok["status"] == "ok"]
    drawn = ax.get_lines()
    slopes = []
    for d in drawn:
        xs, ys = d.get_xdata(), d.get_ydata()
        slopes.append((ys[-1] - ys[0]) / (xs[-1] - xs[0]))
    for _, row in ok.iterrows():  # every fit has its line
        assert min(abs(s - row["coef"][0]) for s in slopes) < 1e-6 * abs(row["coef"][0])
    for i, a in enumerate(slopes):  # and no line is drawn twice
        for b in slopes[i + 1 :]:
            assert abs(a - b) > 1e-9 * abs(a)
    _legend_outside(fig)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any(lab.startswith("beta = normal = peer sklearn.LinearRegression") for lab in labels)
    with pytest.raises(ValueError, match="No simple-regression fit"):
        plots.fitted_lines(line.X, line.y, results, data="multi")


def test_loss_surface_draws_contours_and_paths(sets) -> None:
    line = next(d for d in sets if d.name == "line")
    paths = bench.optimizer_paths(line)
    fig = plots.loss_surface(line.X, line.y, paths, failed={"newton": "DivergenceError"})
    ax = fig.axes[0]
    assert len(ax.collections) > 0  # the contour levels
    drawn = {ln.get_label().split(" (")[0]: ln for ln in ax.get_lines()}
    for method, path in paths.items():
        np.testing.assert_allclose(drawn[method].get_xydata(), path)
    star = drawn["least squares"].get_xydata()[0]
    A = np.column_stack([np.ones(line.n_samples), line.X[:, 0]])
    np.testing.assert_allclose(star, np.linalg.lstsq(A, line.y, rcond=None)[0])
    assert "newton: DivergenceError" in " ".join(t.get_text() for t in ax.texts)
    _legend_outside(fig)
    assert _png_variance(fig) > 0


def test_save_writes_a_png(results: pd.DataFrame, tmp_path) -> None:
    path = plots.save(plots.fit_times(results), tmp_path / "sub" / "t.png")
    image = matplotlib.image.imread(path)
    assert image.shape[0] > 100
    assert image[..., :3].var() > 0


def test_figures_display_inline_without_pyplot(results: pd.DataFrame) -> None:
    """A notebook shows a figure as a cell's last value: its PNG, no pyplot needed."""
    fig = plots.fit_times(results)
    png = fig._repr_png_()
    assert png.startswith(b"\x89PNG")
    code = (
        "import sys, groundup as gu\n"
        "t = gu.benchmark('line', methods=['normal'], backends=['numpy'], repeats=1, warmup=0)\n"
        "fig = gu.plots.fit_times(t)\n"
        "print(type(fig).__mro__[1].__name__, 'matplotlib.pyplot' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.split() == ["Figure", "False"]


def test_make_figures_covers_every_kind(results: pd.DataFrame, sets) -> None:
    figs = report.make_figures(results, sets)
    assert set(figs) == {
        "loss_per_epoch", "loss_vs_time", "fit_times", "scaling",
        "fitted_lines_line", "loss_surface_line",
    }  # fmt: skip
    for fig in figs.values():
        assert isinstance(fig, matplotlib.figure.Figure)


def test_loss_surface_epochs_are_the_tables(results: pd.DataFrame, sets) -> None:
    """The paths are refitted on the benchmark's training split, so the legend's epoch
    counts are the table's (issue 21.9)."""
    fig = report.make_figures(results, sets)["loss_surface_line"]
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    ours = results[(results["data"] == "line") & (results["n_samples"] == 60)]
    ours = ours[(ours["backend"] == "numpy") & ~ours["peer"].astype(bool)]
    for method in ("batch", "sgd", "minibatch"):
        epochs = int(ours.loc[ours["method"] == method, "epochs"].iloc[0])
        assert f"{method} ({epochs} epochs)" in labels


def test_epoch_ticks_are_whole_and_narrow_ranges_tell_ticks_apart(results) -> None:
    from groundup._figure import new_figure, plain_log

    fig = plots.loss_curves(results, x="epoch")
    fig.canvas.draw()
    for ax in fig.axes:
        assert all(float(t).is_integer() for t in ax.get_xticks()), ax.get_title()
    fig = new_figure()
    ax = fig.add_subplot()
    ax.plot(np.arange(1, 21), 1.005 + 0.025 * np.exp(-np.arange(20) / 4))
    plain_log(ax, "y")
    fig.canvas.draw()
    shown = [t.get_text() for t in ax.get_yticklabels(minor=True) if t.get_text()]
    assert len(shown) >= 3
    assert len(set(shown)) == len(shown), shown  # not "1.01, 1.01, 1.02, 1.02"


def test_html_report_is_self_contained(results: pd.DataFrame) -> None:
    png = plots.png_bytes(plots.fit_times(results))
    page = report.to_html(results, {"fit_times": png})
    assert page.startswith("<!DOCTYPE html>")
    for word in ("RMSE", "MAE", "R2"):
        assert f'<th class="num">{word}</th>' in page
    sources = re.findall(r'src="([^"]+)"', page)
    assert len(sources) == 1
    assert sources[0].startswith("data:image/png;base64,")
    assert base64.b64decode(sources[0].split(",", 1)[1]) == png
    assert "href=" not in page
    assert "<link" not in page
    assert "<script" not in page


def test_markdown_links_the_plots(results: pd.DataFrame) -> None:
    text = report.to_markdown(results, {"fit_times": "fit_times.png"})
    header = next(ln for ln in text.splitlines() if ln.startswith("| data"))
    assert "| RMSE | MAE | R2 |" in header
    body = [ln for ln in text.splitlines() if ln.startswith("| line") or ln.startswith("| multi")]
    assert len(body) == len(results)
    assert "![Fit time by method and backend](fit_times.png)" in text
    assert text.count("fastest ") == 4  # a verdict per data set and size


def test_csv_and_json_round_trip(results: pd.DataFrame) -> None:
    back = pd.read_csv(io.StringIO(report.to_csv(results)))
    assert len(back) == len(results)
    assert "loss_history" not in back.columns
    np.testing.assert_allclose(back["rmse"], results["rmse"].astype(float), equal_nan=True)
    records = json.loads(report.to_json(results))
    assert len(records) == len(results)
    for rec, (_, row) in zip(records, results.iterrows(), strict=True):
        assert rec["method"] == row["method"]
        if row["status"] == "ok" and row["loss_history"] is not None:
            np.testing.assert_allclose(rec["loss_history"], row["loss_history"])
        elif row["impl"].startswith("sklearn."):  # scikit-learn keeps no history
            assert rec["loss_history"] is None
        assert rec["accuracy"] is None  # NaN becomes null


def test_write_outputs(results: pd.DataFrame, sets, tmp_path) -> None:
    written = report.write_outputs(results, sets, tmp_path)
    names = sorted(p.rsplit("/", 1)[-1] for p in written)
    assert {"results.csv", "results.json", "report.md", "report.html", "scaling.png"} <= set(names)
    assert "run.json" in names
    assert json.loads((tmp_path / "run.json").read_text())["versions"]["NumPy"] == np.__version__
    html_page = (tmp_path / "report.html").read_text()
    assert html_page.count("data:image/png;base64,") == sum(n.endswith(".png") for n in names)
    for name in names:
        if name.endswith(".png"):
            assert matplotlib.image.imread(tmp_path / name)[..., :3].var() > 0


def test_fitting_imports_no_plotting_and_no_cli() -> None:
    code = (
        "import sys, numpy as np, groundup as gu\n"
        "gu.fit(np.arange(10.0), 2 * np.arange(10.0) + 1, method='normal')\n"
        "bad = [m for m in ('matplotlib', 'groundup.cli', 'groundup.bench') if m in sys.modules]\n"
        "print(bad)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"


def test_plots_module_imports_matplotlib_lazily() -> None:
    code = (
        "import sys\n"
        "from groundup import plots, report\n"
        "print('matplotlib' in sys.modules, plots.__name__, report.__name__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.split() == ["False", "groundup.bench.plots", "groundup.bench.report"]


def test_public_modules_load_on_attribute_access() -> None:
    """``import groundup as gu; gu.plots`` works as the README writes it (no import first),
    and nothing heavy loads before it is used."""
    code = (
        "import sys, groundup as gu\n"
        "before = 'matplotlib' in sys.modules or 'groundup.bench' in sys.modules\n"
        "names = [gu.plots.loss_curves.__name__, gu.report.to_html.__name__,\n"
        "         gu.sweeps.SweepResult.__name__, gu.diagnostics.DiagnosticReport.__name__,\n"
        "         gu.bench.benchmark.__name__, gu.datasets.load.__name__]\n"
        "print(before, 'plots' in dir(gu), *names)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.split() == [
        "False", "True", "loss_curves", "to_html", "SweepResult", "DiagnosticReport",
        "benchmark", "load",
    ]  # fmt: skip


def test_loss_surface_draws_one_path_per_optimizer(sets) -> None:
    """Keys ``method·optimizer``: a panel per method on the same contours, one path per
    optimiser in its colour, one legend (the optimisers) outside the panels."""
    from groundup.bench.style import optimizer_color

    line = next(d for d in sets if d.name == "line")
    opts = ["sgd", "momentum", "adam"]
    paths = bench.optimizer_paths(line, methods=["batch", "minibatch"], optimizers=opts)
    fig = plots.loss_surface(line.X, line.y, paths)
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert [ax.get_title().split(" (")[0] for ax in panels] == ["batch", "minibatch"]
    for ax, method in zip(panels, ["batch", "minibatch"], strict=True):
        assert ax.get_xlim() == panels[0].get_xlim()  # the same contours
        drawn = {ln.get_label(): ln for ln in ax.get_lines()}
        for opt in opts:
            np.testing.assert_allclose(drawn[opt].get_xydata(), paths[f"{method}·{opt}"])
            assert drawn[opt].get_color() == optimizer_color(opt)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == [*opts, "least squares"]
    _legend_outside(fig)
    assert _png_variance(fig) > 0


def test_loss_surface_marks_slope_zero_for_l1(sets) -> None:
    """With alpha above |Cov(x, y)| the L1 minimum has slope 0: the proximal batch steps
    climb with the intercept, then land on exactly zero and stay there, on the dashed line
    the figure draws."""
    line = next(d for d in sets if d.name == "line")
    params = {"penalty": "l1", "alpha": 3.0, "max_iter": 60, "tol": None}
    slope = bench.optimizer_paths(line, methods=["batch"], params=params)["batch"][:, 1]
    assert slope.max() > 0.5
    landed = int(np.argmax((slope == 0.0) & (np.arange(len(slope)) > 0)))
    assert landed > 1
    assert (slope[landed:] == 0.0).all()
    paths = {"batch": bench.optimizer_paths(line, methods=["batch"], params=params)["batch"]}
    fig = plots.loss_surface(line.X, line.y, paths, zero_slope=True)
    assert "slope = 0" in [t.get_text() for t in fig.legends[0].get_texts()]
    _legend_outside(fig)


def test_loss_curves_colour_and_name_each_optimizer(sets) -> None:
    """With several optimisers (``bench --optimizers``) a method's panel holds one curve per
    optimiser: each in the optimiser's colour, each named ``method·optimizer`` in the legend,
    and each curve the run's own loss history."""
    from groundup.bench.style import optimizer_color

    line = next(d for d in sets if d.name == "line")
    opts = ["sgd", "momentum", "adam"]
    res = bench.benchmark(
        line, methods=["minibatch"], backends=["numpy"], peers=False, optimizers=opts,
        repeats=1, warmup=0,
    )  # fmt: skip
    fig = plots.loss_curves(res)
    (ax,) = [ax for ax in fig.axes if ax.get_visible()]
    lines = ax.get_lines()
    assert len(lines) == len(opts)
    for ln, opt in zip(lines, opts, strict=True):
        row = res[res["optimizer"] == opt].iloc[0]
        np.testing.assert_allclose(ln.get_ydata(), row["loss_history"])
        assert ln.get_color() == optimizer_color(opt)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == [f"minibatch·{opt}: numpy" for opt in opts]
    _legend_outside(fig)
