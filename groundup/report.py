"""Benchmark results as a terminal table, CSV, JSON, Markdown and one self-contained HTML page.

The public face of :mod:`groundup.bench.report`, where the code lives.
"""

from groundup.bench.report import *  # noqa: F403 - the face re-exports every public name
from groundup.bench.report import __all__  # noqa: F401
