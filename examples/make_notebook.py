"""Write ``tour.ipynb`` from ``tour.py`` (cells separated by ``# %%`` markers).

``python examples/make_notebook.py`` regenerates the notebook; the test suite runs
``tour.py`` and checks that the notebook holds the same cells, so the notebook is executed
in CI through its source without needing Jupyter there.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def cells(source: str) -> list[dict]:
    """Split a percent-format script into notebook cells (nbformat 4)."""
    out: list[dict] = []
    kind, lines = None, []

    def flush() -> None:
        text = "\n".join(lines).strip("\n")
        if kind is None or not text:
            return
        if kind == "markdown":
            text = "\n".join(_uncomment(ln) for ln in text.splitlines())
            out.append({"cell_type": "markdown", "metadata": {}, "source": _lines(text)})
        else:
            out.append({"cell_type": "code", "metadata": {}, "execution_count": None,
                        "outputs": [], "source": _lines(text)})  # fmt: skip

    for line in source.splitlines():
        if line.startswith("# %%"):
            flush()
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        else:
            lines.append(line)
    flush()
    return out


def _uncomment(line: str) -> str:
    return line[2:] if line.startswith("# ") else line.lstrip("#")


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def notebook(source: str) -> dict:
    return {
        "cells": cells(source),
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def render(source: str) -> str:
    nb = notebook(source)
    for i, cell in enumerate(nb["cells"]):
        cell["id"] = f"cell-{i}"
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def main() -> int:
    text = render((HERE / "tour.py").read_text(encoding="utf-8"))
    (HERE / "tour.ipynb").write_text(text, encoding="utf-8")
    print(f"wrote {HERE / 'tour.ipynb'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
