"""benchmarks/gpu_check.py: its CPU mode end to end (tiny sizes, no pytest step), the
table's ratio and verdict logic on made-up numbers, the pytest summary parser, and its
device-placed ``torch.optim`` loop against ``bench_optimizers``' own."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPT = BENCH / "gpu_check.py"
HAS_TORCH = importlib.util.find_spec("torch") is not None


@pytest.fixture(scope="module")
def gc() -> Any:
    """The script as a module (its sibling imports need benchmarks/ on the path)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(BENCH))
        spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
        module = importlib.util.module_from_spec(spec)
        mp.setitem(sys.modules, "gpu_check", module)  # dataclasses look their module up
        spec.loader.exec_module(module)
        yield module


@pytest.fixture(scope="module")
def cpu_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, list]:
    out = tmp_path_factory.mktemp("gpu_check") / "rows.json"
    root = str(BENCH.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, str(SCRIPT), "--cpu", "--quick", "--skip-tests", "--json", str(out)]
    done = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done, json.loads(out.read_text())


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
def test_cpu_mode_table(gc: Any, cpu_run: tuple[subprocess.CompletedProcess, list]) -> None:
    done, rows = cpu_run
    names = [r["check"] for r in rows]
    expected = [name.format(dev) for dev in ("cuda", "cpu") for name, *_ in gc.SPECS]
    assert names == [gc.PYTEST_ROW, *expected]
    assert len(gc.SPECS) == 10  # minibatch, sgd, newton, logistic sgd, six optimisers
    from groundup.kernels.optimizers import OPTIMIZERS

    assert set(gc.OPTIMIZERS) == set(OPTIMIZERS) - {"sgd"}
    table = done.stdout
    assert all(len(line) <= gc.WIDTH for line in table.splitlines())
    for name in [gc.PYTEST_ROW, *expected]:
        assert name in table, name
    assert rows[0]["verdict"] == "skipped: --skip-tests"

    import torch

    why = "--cpu given" if torch.cuda.is_available() else "no CUDA device"
    for row in rows[1:11]:  # the GPU rows
        assert row["verdict"] == f"skipped: {why}", row
        assert row["ratio"] is None
    assert table.count(f"skipped: {why}") == 10
    for row in rows[11:]:  # the same checks, small, on the CPU
        assert row["error"] is None, row
        assert row["ours"] > 0, row
        if row["skip"] is not None:  # only scikit-learn's array-API mode may be missing
            assert row["check"].startswith("newton"), row
            assert "sklearn" in row["skip"], row
            continue
        assert row["peer"] > 0, row
        assert math.isfinite(row["ratio"]), row
        assert row["ratio"] > 0, row
        assert row["verdict"] == "not judged (cpu smoke run)", row  # and no "coef differ"


def test_ratio_and_verdict(gc: Any) -> None:
    Row = gc.Row
    assert Row("a", ours=1.0, peer=1.0, target=1.2).verdict == "met"
    slower = Row("a", ours=1.3, peer=1.0, target=1.2)
    assert slower.ratio == pytest.approx(1.3)
    assert slower.verdict == "missed"
    assert Row("a", ours=1.2, peer=1.0, target=1.2).verdict == "met"  # the bound counts
    fast = Row("a", ours=0.05, peer=1.0, target=10.0, speedup=True)  # peer / ours >= 10
    assert fast.ratio == pytest.approx(20.0)
    assert fast.verdict == "met"
    slow = Row("a", ours=0.2, peer=1.0, target=10.0, speedup=True)
    assert slow.ratio == pytest.approx(5.0)
    assert slow.verdict == "missed"
    assert Row("a", ours=9.0, peer=1.0, target=1.2, judged=False).verdict.startswith("not judged")
    noted = Row("a", ours=1.0, peer=1.0, target=1.2, note="coef differ by 1e-3")
    assert noted.verdict == "met; coef differ by 1e-3"
    skipped = Row("a", ours=1.0, target=1.0, skip="no CUDA device")
    assert skipped.ratio is None
    assert skipped.verdict == "skipped: no CUDA device"
    broken = Row("a", ours=1.0, peer=1.0, target=1.0, error="ValueError: x")
    assert broken.ratio is None
    assert broken.verdict == "error: ValueError: x"
    assert Row("pytest", note="3 passed").verdict == "3 passed"

    rows = [fast, slow, skipped, Row("a long check name " * 4, note="a long note " * 8)]
    table = gc.render(rows).splitlines()
    assert table[0].split() == ["check", "ours", "peer", "ratio", "target", "verdict"]
    assert all(len(line) <= gc.WIDTH for line in table)
    assert ">=10" in table[2]
    assert "20" in table[2]
    assert "met" in table[2]
    assert "<=1" in table[4]
    assert table[4].rstrip().endswith("skipped: no CUDA device")
    assert len(table) > 2 + len(rows)  # the long cells wrapped onto more lines


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
def test_a_check_that_raises_is_an_error(
    gc: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom(c: Any, row: Any) -> None:
        row.ours = 1.0
        msg = "boom"
        raise RuntimeError(msg)

    def fine(c: Any, row: Any) -> None:
        row.ours, row.peer = 2.0, 1.0

    specs = [("boom ({})", boom, (), 1.0, False), ("fine ({})", fine, (), 1.2, False)]
    monkeypatch.setattr(gc, "SPECS", specs)
    assert gc.main(["--cpu", "--quick", "--skip-tests"]) == 1  # an error: non-zero
    table = capsys.readouterr().out
    assert "error: RuntimeError: boom" in table
    assert "fine (cpu)" in table  # the other rows still ran
    monkeypatch.setattr(gc, "SPECS", specs[1:])
    assert gc.main(["--cpu", "--quick", "--skip-tests"]) == 0  # slower than the peer, no error


def test_parse_pytest(gc: Any) -> None:
    out = (
        "....s\nSKIPPED [3] x.py:1: no cuda\n2 failed, 5 passed, 3 skipped, 9 deselected in 1.2s\n"
    )
    assert gc.parse_pytest(out) == {"passed": 5, "skipped": 3, "failed": 2, "error": 0}
    assert gc.parse_pytest("1 error in 0.1s")["error"] == 1
    assert gc.parse_pytest("no summary") == {"passed": 0, "skipped": 0, "failed": 0, "error": 0}
