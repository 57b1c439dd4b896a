"""Public metrics: ``gu.metrics.rmse(y_true, y_pred)`` on arrays of any supported library.

Each resolves the namespace from its inputs once and calls the Array-API kernel in
:mod:`groundup.kernels.metrics`; the result is a Python float.
"""

from __future__ import annotations

from typing import Any

from groundup import backends
from groundup.kernels import metrics as _k

__all__ = ["adjusted_r2", "mae", "median_ae", "mse", "r2", "rmse"]


def _prepare(y_true: Any, y_pred: Any, sample_weight: Any = None) -> tuple[Any, ...]:
    import numpy as np

    a, b = backends.from_array(y_true), backends.from_array(y_pred)
    be = b if a.name == "numpy" else a  # compute where the device data live
    out = []
    for v, src in ((y_true, a), (y_pred, b), (sample_weight, None)):
        if v is None:
            out.append(None)
            continue
        src = src or backends.from_array(v)
        if src.name == "numpy":
            arr = np.asarray(v, dtype=np.float64)
            arr = be.asarray(arr.reshape(-1))
        elif src.name != be.name:
            arr = be.asarray(src.to_numpy(v).reshape(-1))
        else:
            arr = be.asarray(v)
        out.append(arr)
    yt, yp, sw = out
    xp = be.xp
    if yt.shape != yp.shape:
        msg = f"y_true and y_pred have different shapes: {tuple(yt.shape)} vs {tuple(yp.shape)}."
        raise ValueError(msg)
    if yt.shape[0] == 0:
        msg = "y_true is empty; metrics need at least one sample."
        raise ValueError(msg)
    if yt.dtype != yp.dtype:
        dt = xp.result_type(yt.dtype, yp.dtype)
        yt, yp = xp.astype(yt, dt), xp.astype(yp, dt)
    if sw is not None:
        sw = xp.astype(sw, yt.dtype)
    return yt, yp, sw, xp


def mse(y_true: Any, y_pred: Any, *, sample_weight: Any = None) -> float:
    """Mean squared error (``sklearn.metrics.mean_squared_error``)."""
    yt, yp, sw, xp = _prepare(y_true, y_pred, sample_weight)
    return float(_k.mse(yt, yp, sample_weight=sw, xp=xp))


def rmse(y_true: Any, y_pred: Any, *, sample_weight: Any = None) -> float:
    """Root mean squared error (``sklearn.metrics.root_mean_squared_error``)."""
    yt, yp, sw, xp = _prepare(y_true, y_pred, sample_weight)
    return float(_k.rmse(yt, yp, sample_weight=sw, xp=xp))


def mae(y_true: Any, y_pred: Any, *, sample_weight: Any = None) -> float:
    """Mean absolute error (``sklearn.metrics.mean_absolute_error``)."""
    yt, yp, sw, xp = _prepare(y_true, y_pred, sample_weight)
    return float(_k.mae(yt, yp, sample_weight=sw, xp=xp))


def median_ae(y_true: Any, y_pred: Any) -> float:
    """Median absolute error (``sklearn.metrics.median_absolute_error``)."""
    yt, yp, _, xp = _prepare(y_true, y_pred)
    return float(_k.median_ae(yt, yp, xp=xp))


def r2(y_true: Any, y_pred: Any, *, sample_weight: Any = None) -> float:
    """Coefficient of determination (``sklearn.metrics.r2_score``)."""
    yt, yp, sw, xp = _prepare(y_true, y_pred, sample_weight)
    return float(_k.r2(yt, yp, sample_weight=sw, xp=xp))


def adjusted_r2(
    y_true: Any,
    y_pred: Any,
    *,
    n_features: int | None = None,
    X: Any = None,
    sample_weight: Any = None,
) -> float:
    """Adjusted R² with the number of features taken from ``X`` (or given as ``n_features``).

    Parameters
    ----------
    y_true, y_pred : array of shape (n_samples,)
    n_features : int, optional
        Number of predictors p. Required unless ``X`` is given.
    X : array of shape (n_samples, n_features), optional
        The data the predictions came from; p is its number of columns.
    """
    if n_features is None:
        if X is None:
            msg = (
                "adjusted_r2 needs the number of features: pass X=... (the data the "
                "predictions came from) or n_features=..."
            )
            raise TypeError(msg)
        shape = getattr(X, "shape", None)
        if shape is None:
            import numpy as np

            shape = np.shape(X)
        n_features = 1 if len(shape) == 1 else int(shape[1])
    yt, yp, sw, xp = _prepare(y_true, y_pred, sample_weight)
    return float(_k.adjusted_r2(yt, yp, n_features=n_features, sample_weight=sw, xp=xp))
