"""``gu.sweep``: train a grid of gradient-descent configurations, vectorised, and compare them
(:mod:`~groundup.sweeps.runner`, :mod:`~groundup.sweeps.result`, :mod:`~groundup.sweeps.plots`).
"""

from groundup.sweeps.result import SweepResult
from groundup.sweeps.runner import sweep

__all__ = ["SweepResult", "sweep"]
