"""groundup on Dask: the same estimators on data that never sit in one place.

The estimators send Dask data (or any data with ``backend="dask"``) here at one point,
``GroundupEstimator._source``: :class:`DaskSource` is validated Dask data with the in-memory
source's passes, :class:`LazyModel` a fitted model applied to Dask data lazily, and
:func:`wanted_predict` says whether ``predict`` / ``score`` take this path. ``coef_`` and
``intercept_`` are NumPy arrays and ``backend_`` is ``"dask"``.
"""

from __future__ import annotations

from groundup.dask._data import LazyModel, is_dask, wanted_predict
from groundup.dask._source import DaskSource

__all__ = ["DaskSource", "LazyModel", "is_dask", "wanted_predict"]
