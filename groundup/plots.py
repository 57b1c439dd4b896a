"""Pictures of a benchmark: loss curves, fit times, scaling, fitted lines, optimiser paths.

The public face of :mod:`groundup.bench.plots`, where the code lives. Every function takes
the DataFrame of :func:`groundup.benchmark` (or the data it needs) and returns a matplotlib
``Figure``; :func:`save` writes it as a PNG. matplotlib is imported only when a function here
is called, so fitting never imports it.
"""

from groundup.bench.plots import *  # noqa: F403 - the face re-exports every public name
from groundup.bench.plots import __all__  # noqa: F401
