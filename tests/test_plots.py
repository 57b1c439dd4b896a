"""groundup.plots and groundup.report: every plot has the run's data drawn in it, the PNGs are
not blank, the HTML page is self-contained, CSV / JSON round-trip, and fitting never imports
matplotlib, the plots or the command line."""

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

import matplotlib.image  # noqa: E402

from groundup import bench, datasets, plots, report  # noqa: E402


@pytest.fixture(scope="module")
def sets() -> list[datasets.Dataset]:
    return datasets.resolve(["line", "multi"], sizes=[60, 120], random_state=1)


@pytest.fixture(scope="module")
def results(sets: list[datasets.Dataset]) -> pd.DataFrame:
    return bench.benchmark(sets, backends=["numpy"], repeats=1, warmup=0, memory=False)


def _gradient_rows(results: pd.DataFrame, name: str, n: int) -> pd.DataFrame:
    ok = results[(results["status"] == "ok") & (results["data"] == name)]
    ok = ok[ok["n_samples"] == n]
    return ok[[np.size(h) > 1 for h in ok["loss_history"]]]


def _png_variance(fig) -> float:
    image = matplotlib.image.imread(io.BytesIO(plots.png_bytes(fig)), format="png")
    return float(image[..., :3].var())


@pytest.mark.parametrize("x", ["epoch", "time"])
def test_loss_curves_draw_every_history(results: pd.DataFrame, x: str) -> None:
    fig = plots.loss_curves(results, x=x)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 4  # line and multi, two sizes each
    for ax in axes:
        name, n = re.match(r"(\w+) \(n=(\d+)\)", ax.get_title()).groups()
        rows = _gradient_rows(results, name, int(n))
        lines = ax.get_lines()
        assert len(lines) == len(rows) > 0
        for line, (_, row) in zip(lines, rows.iterrows(), strict=True):
            np.testing.assert_allclose(line.get_ydata(), row["loss_history"])
            if x == "time":
                assert line.get_xdata()[-1] == pytest.approx(row["fit_time"])
    assert _png_variance(fig) > 0


def test_loss_curves_need_a_gradient_run(results: pd.DataFrame) -> None:
    closed = results[results["method"].isin(["normal", "beta"])]
    with pytest.raises(ValueError, match="No gradient run"):
        plots.loss_curves(closed)
    with pytest.raises(ValueError, match="x must be"):
        plots.loss_curves(results, x="iteration")


def test_fit_time_bars_are_the_medians(results: pd.DataFrame) -> None:
    fig = plots.fit_times(results)
    ok = results[results["status"] == "ok"]
    heights = sorted(p.get_height() for ax in fig.axes for p in ax.patches)
    np.testing.assert_allclose(heights, sorted(ok["fit_time"]))
    assert _png_variance(fig) > 0


def test_scaling_draws_time_against_n(results: pd.DataFrame) -> None:
    fig = plots.scaling(results)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert ax.get_yscale() == "log"
    lines = ax.get_lines()
    assert len(lines) > 0
    for line in lines:
        np.testing.assert_array_equal(line.get_xdata(), [60, 120])
    one_size = results[results["n_samples"] == 60]
    with pytest.raises(ValueError, match="at least two sizes"):
        plots.scaling(one_size)


def test_fitted_lines_over_the_scatter(results: pd.DataFrame, sets) -> None:
    line = next(d for d in sets if d.name == "line" and d.n_samples == 60)
    fig = plots.fitted_lines(line.X, line.y, results, data="line")
    ax = fig.axes[0]
    assert ax.collections[0].get_offsets().shape == (60, 2)
    ok = results[(results["data"] == "line") & (results["n_samples"] == 60)]
    shown = ok[ok["status"] == "ok"].drop_duplicates(["method", "impl"])
    lines = ax.get_lines()
    assert len(lines) == len(shown)
    for drawn, (_, row) in zip(lines, shown.iterrows(), strict=True):
        xs, ys = drawn.get_xdata(), drawn.get_ydata()
        slope = (ys[-1] - ys[0]) / (xs[-1] - xs[0])
        assert slope == pytest.approx(row["coef"][0], rel=1e-9)
    with pytest.raises(ValueError, match="No simple-regression fit"):
        plots.fitted_lines(line.X, line.y, results, data="multi")


def test_loss_surface_draws_contours_and_paths(sets) -> None:
    line = next(d for d in sets if d.name == "line")
    paths = bench.optimizer_paths(line)
    fig = plots.loss_surface(line.X, line.y, paths)
    ax = fig.axes[0]
    assert len(ax.collections) > 0  # the contour levels
    drawn = {ln.get_label().split(" (")[0]: ln for ln in ax.get_lines()}
    for method, path in paths.items():
        np.testing.assert_allclose(drawn[method].get_xydata(), path)
    star = drawn["least squares"].get_xydata()[0]
    A = np.column_stack([np.ones(line.n_samples), line.X[:, 0]])
    np.testing.assert_allclose(star, np.linalg.lstsq(A, line.y, rcond=None)[0])
    assert _png_variance(fig) > 0


def test_save_writes_a_png(results: pd.DataFrame, tmp_path) -> None:
    path = plots.save(plots.fit_times(results), tmp_path / "sub" / "t.png")
    image = matplotlib.image.imread(path)
    assert image.shape[0] > 100
    assert image[..., :3].var() > 0


def test_make_figures_covers_every_kind(results: pd.DataFrame, sets) -> None:
    figs = report.make_figures(results, sets)
    assert set(figs) == {
        "loss_per_epoch", "loss_vs_time", "fit_times", "scaling",
        "fitted_lines_line", "loss_surface_line",
    }  # fmt: skip
    import matplotlib.pyplot as plt

    for fig in figs.values():
        plt.close(fig)


def test_html_report_is_self_contained(results: pd.DataFrame) -> None:
    png = plots.png_bytes(plots.fit_times(results))
    page = report.to_html(results, {"fit times": png})
    assert page.startswith("<!DOCTYPE html>")
    for word in ("RMSE", "MAE", "R2"):
        assert f"<th>{word}</th>" in page
    sources = re.findall(r'src="([^"]+)"', page)
    assert len(sources) == 1
    assert sources[0].startswith("data:image/png;base64,")
    assert base64.b64decode(sources[0].split(",", 1)[1]) == png
    assert "href=" not in page
    assert "<link" not in page
    assert "<script" not in page


def test_markdown_links_the_plots(results: pd.DataFrame) -> None:
    text = report.to_markdown(results, {"fit_times": "fit_times.png"})
    header = text.splitlines()[2]
    assert "| RMSE | MAE | R2 |" in header
    body = [ln for ln in text.splitlines() if ln.startswith("| line") or ln.startswith("| multi")]
    assert len(body) == len(results)
    assert "![fit_times](fit_times.png)" in text


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
    html_page = (tmp_path / "report.html").read_text()
    assert html_page.count("data:image/png;base64,") == sum(n.endswith(".png") for n in names)
    for name in names:
        if name.endswith(".png"):
            assert matplotlib.image.imread(tmp_path / name)[..., :3].var() > 0


def test_fitting_imports_no_plotting_and_no_cli() -> None:
    code = (
        "import sys, numpy as np, groundup as gu\n"
        "gu.fit(np.arange(10.0), 2 * np.arange(10.0) + 1, method='normal')\n"
        "bad = [m for m in ('matplotlib', 'groundup.plots', 'groundup.cli', 'groundup.report',"
        " 'groundup.bench') if m in sys.modules]\n"
        "print(bad)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"


def test_plots_module_imports_matplotlib_lazily() -> None:
    code = "import sys, groundup.plots, groundup.report; print('matplotlib' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "False"
