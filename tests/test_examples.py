"""examples/: the tour runs end to end as a script (writing its pictures where asked), the
notebook holds exactly the tour's cells, and executing the notebook in a Jupyter kernel shows
its figures inline."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _make_notebook():
    spec = importlib.util.spec_from_file_location("make_notebook", EXAMPLES / "make_notebook.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tour_runs_and_draws(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    import matplotlib.image

    env = {**os.environ, "GROUNDUP_TOUR_OUT": str(tmp_path), "MPLBACKEND": "Agg"}
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "tour.py")],
        capture_output=True, text=True, timeout=300, env=env, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert "same iterates as on NumPy: True" in out.stdout
    pngs = sorted(tmp_path.glob("*.png"))
    names = {p.name for p in pngs}
    assert names == {
        "loss_per_epoch.png", "loss_vs_time.png", "fit_times.png", "scaling.png",
        "fitted_lines_line.png", "tour_loss_surface.png", "sweep_losses.png", "diagnostics.png",
        "tour_optimizers.png",
    }  # fmt: skip
    for png in pngs:
        assert matplotlib.image.imread(png)[..., :3].var() > 0, png.name


def test_tour_writes_no_files_unless_asked(tmp_path: Path) -> None:
    """Without GROUNDUP_TOUR_OUT the tour only shows its figures (no temporary folder)."""
    source = (EXAMPLES / "tour.py").read_text(encoding="utf-8")
    assert "tempfile" not in source
    assert 'os.environ.get("GROUNDUP_TOUR_OUT")' in source


def test_notebook_shows_its_figures_inline(tmp_path: Path) -> None:
    """Executed in a Jupyter kernel, the notebook displays at least four figures as images
    (its cells' last values), without errors and without writing files."""
    pytest.importorskip("matplotlib")
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.read(EXAMPLES / "tour.ipynb", as_version=4)
    env_out = os.environ.pop("GROUNDUP_TOUR_OUT", None)
    try:
        nbclient.NotebookClient(
            nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
        ).execute()
    finally:
        if env_out is not None:
            os.environ["GROUNDUP_TOUR_OUT"] = env_out
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 4
    assert len(images) == 9  # every figure of the tour, each shown once
    assert list(tmp_path.iterdir()) == []


def test_notebook_is_the_tour() -> None:
    make = _make_notebook()
    source = (EXAMPLES / "tour.py").read_text(encoding="utf-8")
    stored = (EXAMPLES / "tour.ipynb").read_text(encoding="utf-8")
    assert stored == make.render(source), "run: python examples/make_notebook.py"
    nb = json.loads(stored)
    kinds = [c["cell_type"] for c in nb["cells"]]
    assert kinds.count("code") >= 5
    assert kinds[0] == "markdown"
    code = "".join("".join(c["source"]) + "\n" for c in nb["cells"] if c["cell_type"] == "code")
    compile(code, "tour.ipynb", "exec")  # the notebook's code is valid Python
