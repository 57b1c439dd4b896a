"""The README's Python examples run as written, and its quick start has exactly two commands."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_quick_start_has_two_commands():
    text = README.read_text()
    section = text[text.index("## Quick start") :]
    block = re.search(r"```(?:bash|sh)?\n(.*?)```", section, re.S).group(1)
    commands = [line for line in block.splitlines() if line.strip()]
    assert len(commands) == 2
    assert "groundup bench" in commands[0]
    assert "pytest" in commands[1]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_python_examples_run():
    pytest.importorskip("torch")
    namespace: dict = {}
    blocks = _python_blocks()
    assert blocks
    for i, block in enumerate(blocks):
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102 - our own README
        if i == 0:  # the first example fits the original y = 4 + 3x + noise
            model = namespace["model"]
            assert abs(float(model.coef_[0]) - 3.0) < 0.3
            assert abs(float(model.intercept_) - 4.0) < 0.5
    assert namespace["clf"].score(namespace["Xc"], namespace["yc"]) > 0.95
    assert len(namespace["result"].table) == 24  # the sweep's 4 x 2 x 3 grid
