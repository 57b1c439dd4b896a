"""What a person reads of a benchmark: the terminal table (compact rows that fit 80-120
columns, numbers never folded, every cell printed as text, a verdict per data set), the
columns a later runner adds, and the HTML page that records its run (checked as text, and
rendered in a headless Chromium where one is installed)."""

from __future__ import annotations

import importlib.metadata
import io
import json
import platform
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

import groundup
from groundup import bench, datasets, report
from groundup.bench.record import cpu_model, run_record

METHODS = ("normal", "beta", "batch", "sgd", "minibatch", "newton")


@pytest.fixture(scope="module")
def results() -> pd.DataFrame:
    sets = datasets.resolve(["line", "classes"], sizes=[80], random_state=2)
    res = bench.benchmark(
        sets, models=["linear", "logistic"], backends=["numpy"], repeats=1, warmup=0,
        memory=False,
    )  # fmt: skip
    skipped = {
        "backend": "jax", "device": "cpu", "dtype": "-", "status": "skipped", "peer": False,
        "impl": "groundup", "reason": 'not installed: pip install "groundup[jax]"',
    }  # fmt: skip
    return pd.concat([res, pd.DataFrame([skipped])], ignore_index=True)


def _printed(results: pd.DataFrame, width: int, **kwargs) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=width, color_system=None, legacy_windows=False)
    report.print_table(results, console, **kwargs)
    return buf.getvalue()


def _row_lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if re.match(rf"^({'|'.join(METHODS)})\s", ln)]


@pytest.mark.parametrize("width", [80, 100, 120])
def test_compact_rows_fit_the_terminal_and_numbers_never_fold(results, width: int) -> None:
    text = _printed(results, width)
    assert max(len(ln) for ln in text.splitlines()) <= width
    ran = results[results["status"] != "skipped"]
    rows = _row_lines(text)
    assert len(rows) == len(ran)  # one line per run, none folded onto a second line
    shown = report.display_frame(ran)
    for line, (_, cells) in zip(rows, shown.iterrows(), strict=True):
        tokens = line.split()
        assert tokens[0] == cells["method"]
        for col in ("RMSE", "R2", "accuracy", "log-loss", "fit ms", "epochs"):
            if cells[col]:
                assert cells[col] in tokens, (col, line)  # whole, as one token
    assert not re.search(r"^\s+[\d.]+\s*$", text, re.M)  # no digits alone on a line


def test_compact_and_wide_columns(results) -> None:
    compact = _printed(results, 100)
    wide = _printed(results, 100, wide=True)
    for header in ("RMSE", "R2", "fit ms", "epochs", "stop", "accuracy", "log-loss"):
        assert header in compact
    for header in ("MAE", "min-max ms", "repeats", "conv", "eta0", "final loss", "host MiB"):
        assert header not in compact.split("\n", 2)[1].split()
        assert header in wide
    assert len(_row_lines(wide)) == len(_row_lines(compact))  # wide rows are not folded either


def test_a_column_the_runner_adds_is_carried_through(results) -> None:
    more = results.assign(later=np.where(results["status"] == "ok", "tol", None))
    assert "later" in report.display_frame(more, wide=True).columns
    assert "later" not in report.display_frame(more).columns
    assert "later" in _printed(more, 120, wide=True)
    assert "later" in pd.read_csv(io.StringIO(report.to_csv(more))).columns
    assert json.loads(report.to_json(more))[0]["later"] == "tol"
    less = results.drop(columns=["final_loss", "peak_host_mb"])  # absent: simply not shown
    assert "final loss" not in report.display_frame(less, wide=True).columns
    _printed(less, 100, wide=True)


def test_cells_are_text_not_markup(results) -> None:
    named = results.assign(data=results["data"].replace({"line": "bmi[kg/m2]"}))
    text = _printed(named, 100)
    assert "bmi[kg/m2]: 80 samples x 1 feature" in text
    assert 'skipped: jax: not installed: pip install "groundup[jax]"' in text


def test_failed_runs_are_listed_with_their_reason_translated(results) -> None:
    broken = results.copy()
    hit = (broken["method"] == "batch") & (~broken["peer"]) & (broken["data"] == "line")
    broken.loc[hit, "status"] = "error"
    broken.loc[hit, "reason"] = "DivergenceError: diverged (method='batch', eta0=5.0)"
    text = _printed(broken, 100, translate=lambda s: s.replace("eta0=5.0", "--param eta0=5.0"))
    assert "failed: line (n=80) · batch · numpy: DivergenceError: diverged" in text
    assert "--param eta0=5.0" in text
    row = next(ln for ln in _row_lines(text) if ln.startswith("batch") and "numpy" in ln)
    assert "failed" in row


def test_verdict_names_the_fastest_and_most_accurate_with_the_peer_ratio(results) -> None:
    found = {v.data: v for v in report.verdicts(results)}
    assert set(found) == {"line", "classes"}
    ok = results[results["status"] == "ok"]
    for name, v in found.items():
        part = ok[ok["data"] == name]
        mine, peers = part[~part["peer"]], part[part["peer"]]
        assert v.fastest == mine["fit_time"].idxmin()
        assert v.peer_fastest == peers["fit_time"].idxmin()
        line = v.line(results)
        ratio = results.loc[v.fastest, "fit_time"] / results.loc[v.peer_fastest, "fit_time"]
        assert f"({ratio:.2f}x " in line or f"({ratio:.3g}x " in line
        assert line.startswith(f"fastest {results.loc[v.fastest, 'method']}·numpy ")
    assert found["line"].metric == "rmse"
    assert found["classes"].metric == "accuracy"
    best = ok[(ok["data"] == "line") & ~ok["peer"]]["rmse"].min()
    assert results.loc[found["line"].accurate, "rmse"] == pytest.approx(best, rel=1e-5)
    text = _printed(results, 100)
    assert text.count("fastest ") == 2  # one verdict line under each data set's table
    assert all(len(ln) <= 100 for ln in text.splitlines())


def test_run_record_names_versions_date_machine_and_command() -> None:
    rec = run_record({"repeats": 3}, ["groundup", "bench", "--param", "eta0=0.1 x"])
    assert rec["versions"]["groundup"] == groundup.__version__
    assert rec["versions"]["NumPy"] == np.__version__
    assert rec["versions"]["scikit-learn"] == importlib.metadata.version("scikit-learn")
    assert rec["versions"]["Python"] == platform.python_version()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", rec["date"])
    assert rec["machine"]["cores"] >= 1
    assert rec["machine"]["cpu"] == cpu_model() != ""
    assert isinstance(rec["machine"]["gpus"], list)
    assert rec["command"] == "groundup bench --param 'eta0=0.1 x'"
    assert rec["settings"] == {"repeats": 3}


def test_html_records_its_run_and_highlights_the_best_rows(results) -> None:
    rec = run_record({"repeats": 1, "data": ["line", "classes"]}, ["groundup", "bench"])
    page = report.to_html(results, {"fit_times": b"\x89PNG..."}, record=rec)
    for name in ("groundup", "NumPy", "scikit-learn", "Python"):
        assert f"{name} {rec['versions'][name]}" in page
    for name in ("PyTorch", "JAX"):
        if rec["versions"][name]:
            assert f"{name} {rec['versions'][name]}" in page
    assert rec["date"] in page
    assert f"{rec['machine']['cpu']} ({rec['machine']['cores']} cores)" in page
    assert "<pre>groundup bench</pre>" in page
    assert "repeats = 1" in page
    for v in report.verdicts(results):  # the summary carries each verdict
        assert v.line(results).replace("'", "&#x27;") in page
    assert page.count('<tr class="fastest') + page.count('<tr class="accurate fastest') == 2
    assert "<b>Fit time by method and backend</b>" in page  # a caption, not the file stem
    assert ">fit_times<" not in page


def _chromium() -> str | None:
    return next(
        (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p),
        None,
    )


CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


@pytest.mark.skipif(_chromium() is None, reason="no Chromium installed")
def test_html_renders_in_chromium(results, tmp_path: Path) -> None:
    import matplotlib.image

    sets = datasets.resolve(["line", "classes"], sizes=[80], random_state=2)
    report.write_outputs(results, sets, tmp_path)
    page = tmp_path / "report.html"
    browser = _chromium()
    dom = subprocess.run(
        [browser, *CHROMIUM_FLAGS, "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    assert "The run" in dom
    assert f"NumPy {np.__version__}" in dom
    assert dom.count("<figure") == len(list(tmp_path.glob("*.png")))
    shot = tmp_path / "shot.png"
    subprocess.run(
        [browser, *CHROMIUM_FLAGS, f"--screenshot={shot}", "--window-size=1400,2400",
         page.as_uri()],
        capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    image = matplotlib.image.imread(shot)[..., :3]
    assert image.shape[:2] == (2400, 1400)
    # The highlighted rows (fastest #e5f5e0, most accurate #deebf7, both #d9f0d3) are on the
    # page as the browser drew it.
    marked = np.zeros(image.shape[:2], dtype=bool)
    for rgb in ((0xE5, 0xF5, 0xE0), (0xDE, 0xEB, 0xF7), (0xD9, 0xF0, 0xD3)):
        marked |= np.all(np.abs(image - np.array(rgb) / 255) < 0.02, axis=-1)
    assert marked.sum() > 2000


def test_optimizer_runs_are_labelled_and_drawn_per_optimizer() -> None:
    """A run with several optimisers: ``method·optimizer`` in the table, the verdict and the
    report, and the loss surface with one path per optimiser (per method panel)."""
    pytest.importorskip("matplotlib")
    line = datasets.make_line(120, random_state=3)
    params = {"max_iter": 6, "tol": None}
    res = bench.benchmark(
        line, methods=["normal", "batch"], backends=["numpy"], peers=False,
        optimizers=["sgd", "adam"], params=params, repeats=1, warmup=0, memory=False,
    )  # fmt: skip
    buf = io.StringIO()
    report.print_table(res, Console(file=buf, width=100))
    text = buf.getvalue()
    assert "batch·sgd" in text
    assert "batch·adam" in text
    assert "batch·adam" in report.to_markdown(res)
    assert list(res["optimizer"].iloc[:1].isna()) == [True]  # normal: no optimiser
    fig = report.make_figures(res, [line], params)["loss_surface_line"]
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert [ax.get_title().split(" (")[0] for ax in panels] == ["batch"]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["sgd", "adam", "least squares"]
