"""``gu.sweep``: train a grid of gradient-descent configurations, vectorised, and compare them.

Modules: :mod:`~groundup.sweeps.runner` (``sweep``: the grid, the groups that train together,
the table), :mod:`~groundup.sweeps.result` (:class:`SweepResult`: the best run, a run as a
fitted estimator) and :mod:`~groundup.sweeps.plots` (heatmap, loss curves, best run;
matplotlib).
"""

from groundup.sweeps.result import SweepResult
from groundup.sweeps.runner import sweep

__all__ = ["SweepResult", "sweep"]
