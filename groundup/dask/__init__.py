"""groundup on Dask: the same estimators on data that never sit in one place.

``LinearRegression`` and ``LogisticRegression`` come here at one point
(``GroundupEstimator._source``) when the data are Dask arrays or Dask DataFrames and
``backend`` is ``None``, or when ``backend="dask"``. This package is a layer below the
estimators; it never imports them. Its interface is small:

- :func:`wanted_predict` - whether ``predict`` / ``score`` take the Dask path (a fit takes it
  for Dask data, ``backend="dask"`` or a Dask-fitted model's ``partial_fit``:
  ``GroundupEstimator._source``);
- :class:`DaskSource` - validated Dask data and the passes a fit needs, the same methods as
  the in-memory source (``groundup/linear_model/_memory.py``): the **moments** in one
  tree-reduced pass and the closed form's **passes** (refinement products, tall-and-skinny
  QR) for linear regression (``_linear.py``); the log-loss whose every pass is a tree
  reduction, and the labels in one pass over y, for logistic regression (``_logistic.py``);
  the chunks **streamed** through the descent engine for ``sgd`` / ``minibatch``
  (``_stream.py``, where the visiting order is documented);
- :class:`LazyModel` - a fitted model applied to Dask data lazily, chunk by chunk.

The estimators run the algorithms (Newton's method, the descent engine, the closed-form
solve) on what the source returns, so a Dask fit is the in-memory fit with other passes.
Fitted attributes are small and concrete: ``coef_`` and ``intercept_`` are NumPy arrays and
``backend_`` is ``"dask"``.
"""

from __future__ import annotations

from groundup.dask._data import LazyModel, is_dask, wanted_predict
from groundup.dask._source import DaskSource

__all__ = ["DaskSource", "LazyModel", "is_dask", "wanted_predict"]
