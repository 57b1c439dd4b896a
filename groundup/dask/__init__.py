"""groundup on Dask: the same estimators on data that never sit in one place.

``LinearRegression`` and ``LogisticRegression`` come here at one point
(``GroundupEstimator._source``) for Dask arrays or DataFrames with ``backend=None``, or
with ``backend="dask"``. This layer sits below the estimators and never imports them:

- :func:`wanted_predict` - whether ``predict`` / ``score`` take the Dask path;
- :class:`DaskSource` - validated Dask data with the in-memory source's methods
  (``groundup._problem.InMemory``): the moments in one tree-reduced pass and the closed form's
  passes (``_linear.py``); the log-loss whose every pass is a tree reduction, and the labels
  (``_logistic.py``); the chunks streamed through the descent engine (``_stream.py``);
- :class:`LazyModel` - a fitted model applied to Dask data lazily, chunk by chunk.

The estimators run the same algorithms on what the source returns; ``coef_`` and
``intercept_`` are NumPy arrays and ``backend_`` is ``"dask"``.
"""

from __future__ import annotations

from groundup.dask._data import LazyModel, is_dask, wanted_predict
from groundup.dask._source import DaskSource

__all__ = ["DaskSource", "LazyModel", "is_dask", "wanted_predict"]
