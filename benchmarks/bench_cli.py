"""The README's main job, ``groundup bench`` with no flags, against its one-minute budget.

The whole command runs as a subprocess (interpreter start-up, imports, every linear method on
every installed backend, the peers and the table), once, as a user would run it. Issue 4 asks
for it to finish in under a minute on the development machine (2 cores).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

SCRIPT = Path(sys.executable).with_name("groundup")


def test_default_bench_run(budget: Any) -> None:
    cmd = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "groundup.cli"]

    def default_run() -> None:
        out = subprocess.run([*cmd, "bench", "-q"], capture_output=True, text=True, check=False)
        assert out.returncode == 0, out.stderr

    budget(default_run, seconds=60.0)
