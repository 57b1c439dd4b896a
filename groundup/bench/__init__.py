"""``gu.benchmark``: every method on every backend, device and dtype, peers beside them
(:mod:`~groundup.bench.runner`'s public names; :mod:`~groundup.bench.report` and
:mod:`~groundup.bench.plots` are public as :mod:`groundup.report` and :mod:`groundup.plots`).

>>> from groundup import bench
>>> table = bench.benchmark("line", methods=["normal", "sgd"], backends=["numpy"])  # doctest: +SKIP
"""

from groundup.bench.runner import *  # noqa: F403 - the runner's public names
from groundup.bench.runner import __all__  # noqa: F401
