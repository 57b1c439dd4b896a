"""groundup on Dask: the estimator-level paths behind ``backend="dask"``.

``LinearRegression`` and ``LogisticRegression`` come here (one marked line in each of their
``fit`` / ``partial_fit`` / ``predict`` / ``score``) when the data are Dask arrays or Dask
DataFrames and ``backend`` is ``None``, or when ``backend="dask"``. The data stay in the
cluster, chunked by whole rows; every pass over them is one Dask graph built by the Dask
backend (``groundup/backends/_dask.py``: a tree reduction over the chunks, or the chunks
streamed one at a time), each chunk worked on by the same kernels as in memory; only small
results travel. This module validates the data, dispatches, and predicts (lazily);
``_dask_linear.py`` fits linear regression, ``_dask_logistic.py`` logistic regression,
``_dask_stream.py`` runs the streamed ``sgd`` / ``minibatch`` epochs of both.

Fitted attributes are small and concrete: ``coef_`` and ``intercept_`` are NumPy arrays and
``backend_`` is ``"dask"``. ``predict`` on Dask input returns a lazy Dask array.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from groundup import backends
from groundup._typing import Array, Namespace
from groundup._validation import (
    FitData,
    _check_device_input,
    _host_y_finite,
    choose_dtype,
    prepare_fit,
)
from groundup.backends import Backend
from groundup.kernels import metrics as mk
from groundup.kernels.closed_form import locate_nonfinite

__all__ = [
    "DaskData",
    "fit",
    "fit_logistic",
    "is_dask",
    "log_loss",
    "predict",
    "score",
    "wanted",
    "wanted_predict",
]

HOST = backends.resolve("numpy")  # where the small d x d work happens


# -- dispatch ------------------------------------------------------------------------------
def _dask_backend(device: Any = None) -> Backend:
    return backends.resolve("dask", device)


def wanted(est: Any, X: Any, *, partial: bool = False) -> bool:
    """Whether ``fit`` takes the Dask path: ``backend="dask"``, or Dask input and
    ``backend=None``; with ``partial`` (``partial_fit``) also a model fitted on Dask, whose
    later calls continue there (as they continue on the model's backend in memory)."""
    b = est.backend
    if isinstance(b, str) and b.lower() == "dask":
        return True
    if partial and getattr(est, "backend_", None) == "dask":
        return True
    return b is None and backends.from_array(X).name == "dask"


def is_dask(a: Any) -> bool:
    """Whether ``a`` is a Dask array or DataFrame."""
    return backends.from_array(a).name == "dask"


def wanted_predict(est: Any, X: Any) -> bool:
    """Whether ``predict`` / ``score`` take the Dask path: Dask input, or a Dask-fitted model."""
    return getattr(est, "backend_", None) == "dask" or backends.from_array(X).name == "dask"


# -- the data ------------------------------------------------------------------------------
@dataclass
class DaskData:
    """Validated training data: Dask arrays with the same row chunks, whole rows per chunk."""

    X: Array  # (n, d)
    y: Array  # (n,)
    sample_weight: Array | None  # (n,)
    backend: Backend

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    @property
    def d(self) -> int:
        return int(self.X.shape[1])

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.X.dtype)


def _host_vector(a: Any) -> np.ndarray:
    if not backends.is_host_input(a):
        a = backends.from_array(a).to_numpy(a)
    return np.asarray(a)


def _rows_of(
    be: Backend, a: Any, like: Array, name: str, dtype: Any, *, numeric: bool = True
) -> Array:
    """A 1-D target, label or weight vector, Dask or in memory, chunked by ``like``'s rows
    (``numeric=False``: labels of any type, kept as they are)."""
    n = int(like.shape[0])
    if be.owns(a):
        a = be.as_rows(a)
        be.check_rows(a, name)
        if a.ndim == 2 and a.shape[1] == 1:
            a = be.xp.reshape(a, (-1,))
    else:
        a = _host_vector(a)
        if name == "sample_weight" and a.ndim == 0:
            a = np.full((n,), a, dtype=np.float64)
        elif a.ndim == 2 and a.shape[1] == 1:
            a = np.reshape(a, (-1,))
    if a.ndim != 1 or a.shape[0] != n:
        msg = (
            f"{name} has shape {tuple(a.shape)} but X has {n} rows; pass {name} of shape "
            f"({n},), as a Dask array or in memory."
        )
        raise ValueError(msg)
    if not numeric:
        return be.rows_like(a, like)
    if not be.xp.isdtype(a.dtype, ("real floating", "integral", "bool")):
        msg = f"{name} has dtype {a.dtype}, which is not numeric; pass real-valued {name}."
        raise ValueError(msg)
    return be.asarray(be.rows_like(a, like), dtype=dtype)


def _prepare(
    est: Any, X: Any, y: Any, sample_weight: Any, *, reset: bool, labels: bool = False
) -> DaskData:
    """Validated Dask data; with ``labels`` (classifiers) ``y`` holds the raw labels."""
    be = _dask_backend(est.device)
    if not be.owns(X):
        # In-memory X with backend="dask": scikit-learn's validation, then chunked by rows.
        kind = "classification" if labels else "continuous"
        data, y_host = prepare_fit(est, X, y, sample_weight, reset=reset, y_kind=kind, backend=HOST)
        Xd = be.asarray(data.X)
        sw = data.sample_weight
        yd = be.rows_like(np.ravel(y_host), Xd) if labels else be.asarray(be.rows_like(data.y, Xd))
        return DaskData(Xd, yd, None if sw is None else be.asarray(be.rows_like(sw, Xd)), be)
    names = be.frame_columns(X)
    X = be.as_rows(X)
    if X.ndim in (1, 2):
        be.check_rows(X, "X")
    if be.owns(y):
        y = be.as_rows(y)
        be.check_rows(y, "y")
    else:
        if not labels:
            _host_y_finite(y)
        y = _host_vector(y)
    _check_device_input(est, X, y, be, reset)
    dtype = be.dtype(choose_dtype(be, X, est.dtype))
    Xd = be.asarray(X, dtype=dtype)
    yd = _rows_of(be, y, Xd, "y", dtype, numeric=not labels)
    swd = None if sample_weight is None else _rows_of(be, sample_weight, Xd, "sample_weight", dtype)
    if names is not None:
        _check_feature_names(est, names, reset)
    return DaskData(Xd, yd, swd, be)


def _check_feature_names(est: Any, names: list[Any], reset: bool) -> None:
    if not all(isinstance(c, str) for c in names):
        return
    if reset:
        est.feature_names_in_ = np.asarray(names, dtype=object)
    elif hasattr(est, "feature_names_in_") and list(est.feature_names_in_) != list(names):
        msg = (
            f"The feature names should match those that were passed during fit: expected "
            f"{list(est.feature_names_in_)}, got {list(names)}."
        )
        raise ValueError(msg)


# -- shared by the fits: per-chunk helpers, bad input --------------------------------------
def _take_rows(a: Array | None, idx: Array, xp: Namespace) -> Array | None:
    return None if a is None else xp.take(a, idx, axis=0)


def _keep_rows(flags: Array, xp: Namespace, *arrays: Array | None) -> tuple[Array | None, ...]:
    """The rows of one chunk's ``arrays`` where the boolean ``flags`` (n,) hold."""
    idx = xp.nonzero(flags)[0]
    return tuple(_take_rows(a, idx, xp) for a in arrays)


def _add_pairs(a: tuple, b: tuple) -> tuple:
    return tuple(u + v for u, v in zip(a, b, strict=True))


def _chunk_nonfinite(offset: int, *blocks: Array | None) -> list[tuple[int, list]]:
    """Per array: how many NaN/inf values the chunk holds, and the first three (global)."""
    out: list[tuple[int, list]] = []
    for a in blocks:
        if a is None:
            out.append((0, []))
            continue
        cb = backends.from_array(a)
        count, where = locate_nonfinite(a, xp=cb.xp)
        host = cb.to_numpy(a) if count else None
        out.append((count, [((w[0] + offset, *w[1:]), float(host[w])) for w in where]))
    return out


def _merge_nonfinite(a: list, b: list) -> list:
    return [(ca + cb, (wa + wb)[:3]) for (ca, wa), (cb, wb) in zip(a, b, strict=True)]


def _locate_nonfinite(be: Backend, **arrays: Array | None) -> None:
    """Raise a ValueError that counts and locates NaN/inf in the first of ``arrays`` (same
    row chunks) that holds any (one tree-reduced pass); return if none does."""
    names = list(arrays)
    found = be.tree_reduce(_chunk_nonfinite, _merge_nonfinite, list(arrays.values()), offsets=True)
    for name, (count, where) in zip(names, found, strict=True):
        if count:
            first = ", ".join(
                (f"row {w[0]}, column {w[1]}" if len(w) == 2 else f"index {w[0]}") + f" ({v})"
                for w, v in where
            )
            msg = (
                f"Input {name} contains NaN or inf: {count} non-finite value(s), first at "
                f"{first}. Remove or impute them (e.g. sklearn.impute.SimpleImputer) before "
                "fitting."
            )
            raise ValueError(msg)


def _check_weights(smallest: float, total: float) -> None:
    if smallest < 0:
        msg = "Negative values in data passed to sample_weight; weights must be >= 0."
        raise ValueError(msg)
    if not total > 0:
        msg = "sample_weight sums to zero; at least one sample needs a positive weight."
        raise ValueError(msg)


# -- predict and score ---------------------------------------------------------------------
def _predict_block(
    X: Array, first: int | None, *, coef: np.ndarray, intercept: np.ndarray
) -> Array:
    cb = backends.from_array(X)
    xp = cb.xp
    w = cb.asarray(coef)
    if X.dtype != w.dtype:
        X = xp.astype(X, w.dtype)
    if not bool(xp.all(xp.isfinite(X))):
        count, where = locate_nonfinite(X, xp=xp)
        row, col = where[0]
        at = f"row {row + first}" if first is not None else f"row {row} of a chunk"
        msg = (
            f"Input X contains NaN or inf: {count} non-finite value(s) in one chunk, first "
            f"at {at}, column {col}. Remove or impute them before predicting."
        )
        raise ValueError(msg)
    return X @ w + cb.asarray(intercept)


def _lazy_predict(est: Any, X: Any, *, lengths: bool) -> Array:
    be = _dask_backend()
    names = be.frame_columns(X)
    X = be.as_rows(X, lengths=lengths)
    if getattr(est, "_accepts_1d", False) and X.ndim == 1:
        X = X[:, None]
    if X.ndim == 2:
        be.check_rows(X, "X", known=lengths)
    _check_device_input(est, X, None, be, reset=False)
    if names is not None:
        _check_feature_names(est, names, reset=False)
    coef = np.asarray(est._host(est.coef_))
    intercept = np.asarray(est._host(est.intercept_), dtype=coef.dtype)
    fn = functools.partial(_predict_block, coef=coef, intercept=intercept)
    return be.map_rows(fn, X, dtype=coef.dtype)


def predict(est: Any, X: Any) -> Any:
    """``X @ coef_ + intercept_``: a lazy Dask array for Dask input (a chunk holding NaN or
    inf raises when it is computed); in-memory input is answered in its own library."""
    if not _dask_backend().owns(X):
        return est.to("numpy").predict(X)
    return _lazy_predict(est, X, lengths=False)


def score(est: Any, X: Any, y: Any, sample_weight: Any = None) -> float:
    """R² of the prediction, computed by Dask for Dask input (in-memory input: NumPy)."""
    be = _dask_backend()
    if not be.owns(X):
        return est.to("numpy").score(X, y, sample_weight)
    pred = _lazy_predict(est, X, lengths=True)
    yd = _rows_of(be, y, pred, "y", pred.dtype)
    swd = (
        None
        if sample_weight is None
        else _rows_of(be, sample_weight, pred, "sample_weight", pred.dtype)
    )
    return float(mk.r2(yd, pred, sample_weight=swd, xp=be.xp))


# -- fits ----------------------------------------------------------------------------------
def fit(est: Any, X: Any, y: Any, sample_weight: Any = None, *, partial: bool = False) -> Any:
    """``LinearRegression.fit`` / ``partial_fit`` on Dask data (``_dask_linear.fit``)."""
    from groundup import _dask_linear

    return _dask_linear.fit(est, X, y, sample_weight, partial=partial)


def fit_logistic(est: Any, X: Any, y: Any, sample_weight: Any = None, **partial: Any) -> Any:
    """``LogisticRegression.fit``, or ``partial_fit`` with ``partial=True, classes=...``, on
    Dask data (``_dask_logistic.fit_logistic``)."""
    from groundup import _dask_logistic

    return _dask_logistic.fit_logistic(est, X, y, sample_weight, **partial)


def log_loss(est: Any, data: FitData, *, X_val: Array | None, y_val: Array | None) -> Any:
    """``LogisticRegression._objective`` for Dask data (``_dask_logistic.log_loss``)."""
    from groundup import _dask_logistic

    return _dask_logistic.log_loss(est, data, X_val=X_val, y_val=y_val)
