"""examples/: the tour runs end to end (so the notebook's code is executed in CI without
Jupyter), draws its pictures, and the notebook holds exactly the tour's cells."""

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
    assert {"loss_per_epoch.png", "fit_times.png", "scaling.png", "tour_loss_surface.png"} <= names
    for png in pngs:
        assert matplotlib.image.imread(png)[..., :3].var() > 0, png.name


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
