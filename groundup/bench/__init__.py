"""``gu.benchmark``: every method on every backend, device and dtype, peers beside them.

Modules: :mod:`~groundup.bench.runner` (``benchmark``: the plan, the timed runs, the table;
its public names are this package's), :mod:`~groundup.bench.peers` (scikit-learn and a
hand-written PyTorch loop behind one interface), :mod:`~groundup.bench.report` (terminal
table, CSV, JSON, Markdown, HTML; public as :mod:`groundup.report`) and
:mod:`~groundup.bench.plots` (loss curves, fit times, scaling, fitted lines, optimiser paths;
public as :mod:`groundup.plots`).

>>> from groundup import bench
>>> table = bench.benchmark("line", methods=["normal", "sgd"], backends=["numpy"])  # doctest: +SKIP
"""

from groundup.bench.runner import *  # noqa: F403 - the runner's public names
from groundup.bench.runner import __all__  # noqa: F401
