"""Dask data at the door: validation, the per-chunk helpers every pass shares, NaN / inf
located across chunks, and a fitted model applied lazily, chunk by chunk. Every pass is one
Dask graph of the Dask backend over the row chunks; only small results travel."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from groundup import backends
from groundup._typing import Array, Namespace
from groundup._validation import (
    _check_device_input,
    _host_y_finite,
    choose_dtype,
    locate_nonfinite,
    nonfinite_message,
    prepare_fit,
)
from groundup.backends import Backend
from groundup.kernels import metrics as mk

HOST = backends.resolve("numpy")  # where the small d x d work happens


def dask_backend(device: Any = None) -> Backend:
    return backends.resolve("dask", device)


def is_dask(a: Any) -> bool:
    """Whether ``a`` is a Dask array or DataFrame."""
    return backends.from_array(a).lazy


def wanted_predict(fitted_backend: str | None, X: Any) -> bool:
    """Whether ``predict`` / ``score`` take the Dask path: Dask input, or a Dask-fitted
    model (which answers in-memory input in NumPy)."""
    return fitted_backend == "dask" or is_dask(X)


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


def rows_of(
    be: Backend, a: Any, like: Array, name: str, dtype: Any, *, numeric: bool = True
) -> Array:
    """A 1-D vector, Dask or in memory, chunked by ``like``'s rows (``numeric=False``: labels
    of any type, kept as they are)."""
    n = int(like.shape[0])
    if be.owns(a):
        a = be.as_rows(a)
        be.check_rows(a, name)
    else:
        a = backends.to_numpy(a)
        if name == "sample_weight" and a.ndim == 0:
            a = np.full((n,), a, dtype=np.float64)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
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


def prepare(
    est: Any, X: Any, y: Any, sample_weight: Any, *, reset: bool, labels: bool = False
) -> DaskData:
    """Validated Dask data (``labels``: ``y`` holds the raw labels), with scikit-learn's
    checks against the estimator ``est`` being fitted."""
    be = dask_backend(est.device)
    if not be.owns(X):
        # in-memory X with backend="dask": scikit-learn's validation, then chunked by rows
        kind = "classification" if labels else "continuous"
        data, y_host = prepare_fit(est, X, y, sample_weight, reset=reset, y_kind=kind, backend=HOST)
        Xd, sw = be.asarray(data.X), data.sample_weight
        yd = be.rows_like(np.ravel(y_host) if labels else data.y, Xd)
        return DaskData(Xd, yd, None if sw is None else be.rows_like(sw, Xd), be)
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
        y = backends.to_numpy(y)
    _check_device_input(est, X, y, be, reset)
    dtype = be.dtype(choose_dtype(be, X, est.dtype))
    Xd = be.asarray(X, dtype=dtype)
    yd = rows_of(be, y, Xd, "y", dtype, numeric=not labels)
    swd = None if sample_weight is None else rows_of(be, sample_weight, Xd, "sample_weight", dtype)
    if names is not None:
        check_feature_names(est, names, reset)
    return DaskData(Xd, yd, swd, be)


def check_feature_names(est: Any, names: list[Any], reset: bool) -> None:
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


def keep_rows(flags: Array, xp: Namespace, *arrays: Array | None) -> tuple[Array | None, ...]:
    """The rows of one chunk's ``arrays`` where the boolean ``flags`` (n,) hold."""
    idx = xp.nonzero(flags)[0]
    return tuple(None if a is None else xp.take(a, idx, axis=0) for a in arrays)


def add_pairs(a: tuple, b: tuple) -> tuple:
    return tuple(u + v for u, v in zip(a, b, strict=True))


def _chunk_nonfinite(offset: int, *blocks: Array | None) -> list[tuple[int, list]]:
    """Per array: how many NaN/inf values the chunk holds, and the first three (global)."""
    out: list[tuple[int, list]] = []
    for a in blocks:
        count, where = (0, []) if a is None else locate_nonfinite(a, xp=backends.from_array(a).xp)
        host = backends.to_numpy(a) if count else None
        out.append((count, [((w[0] + offset, *w[1:]), float(host[w])) for w in where]))
    return out


def _merge_nonfinite(a: list, b: list) -> list:
    return [(ca + cb, (wa + wb)[:3]) for (ca, wa), (cb, wb) in zip(a, b, strict=True)]


def raise_nonfinite(be: Backend, **arrays: Array | None) -> None:
    """Raise the error that counts and locates NaN/inf in the first of ``arrays`` (aligned
    row chunks) that holds any (one pass)."""
    found = be.tree_reduce(_chunk_nonfinite, _merge_nonfinite, list(arrays.values()), offsets=True)
    for name, (count, where) in zip(arrays, found, strict=True):
        if count:
            raise ValueError(nonfinite_message(name, count, where))


def check_weights(smallest: float, total: float) -> None:
    if smallest < 0:
        msg = "Negative values in data passed to sample_weight; weights must be >= 0."
        raise ValueError(msg)
    if not total > 0:
        msg = "sample_weight sums to zero; at least one sample needs a positive weight."
        raise ValueError(msg)


def _margin_block(
    X: Array,
    first: int | None,
    *,
    coef: np.ndarray,
    intercept: np.ndarray,
    then: Callable[[Array, Any], Array] | None,
) -> Array:
    """``X @ coef + intercept`` on one chunk (and ``then`` of it); NaN / inf there raise."""
    cb = backends.from_array(X)
    xp = cb.xp
    w = cb.asarray(coef)
    if X.dtype != w.dtype:
        X = xp.astype(X, w.dtype)
    count, where = locate_nonfinite(X, xp=xp)
    if count:
        row, col = where[0]
        at = f"row {row + first}" if first is not None else f"row {row} of a chunk"
        msg = (
            f"Input X contains NaN or inf: {count} non-finite value(s) in one chunk, first "
            f"at {at}, column {col}. Remove or impute them before predicting."
        )
        raise ValueError(msg)
    Z = X @ w + cb.asarray(intercept)
    return Z if then is None else then(Z, cb)


@dataclass
class LazyModel:
    """A fitted linear model (host ``coef`` of shape (n_features,) or (n_features, k))
    applied to Dask data chunk by chunk, lazily; ``est`` (the fitted estimator) for the
    input checks; ``accepts_1d``: a model fitted by ``gu.fit`` on a 1-D ``x``."""

    est: Any
    coef: np.ndarray
    intercept: np.ndarray
    accepts_1d: bool = False

    def apply(
        self,
        X: Any,
        then: Callable[[Array, Any], Array] | None = None,
        *,
        columns: int | None = None,
        dtype: Any = None,
        lengths: bool = False,
    ) -> Array:
        """Lazy ``then(X @ coef + intercept, chunk_backend)`` chunk by chunk, ``columns`` wide
        (``None``: 1-D)."""
        be = dask_backend()
        names = be.frame_columns(X)
        X = be.as_rows(X, lengths=lengths)
        if self.accepts_1d and X.ndim == 1:
            X = X[:, None]
        if X.ndim == 2:
            be.check_rows(X, "X", known=lengths)
        _check_device_input(self.est, X, None, be, reset=False)
        if names is not None:
            check_feature_names(self.est, names, reset=False)
        fn = functools.partial(_margin_block, coef=self.coef, intercept=self.intercept, then=then)
        out = self.coef.dtype if dtype is None else dtype
        return be.map_rows(fn, X, dtype=out, columns=columns)

    def r2(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """R² of ``X @ coef + intercept`` against ``y``, computed by Dask."""
        be = dask_backend()
        pred = self.apply(X, lengths=True)
        yd = rows_of(be, y, pred, "y", pred.dtype)
        sw = sample_weight
        sw = None if sw is None else rows_of(be, sw, pred, "sample_weight", pred.dtype)
        return float(mk.r2(yd, pred, sample_weight=sw, xp=be.xp))

    def hits(
        self,
        X: Any,
        y: Any,
        sample_weight: Any,
        codes: Callable[[Array, Any], Array],
        encode: Callable[[np.ndarray], np.ndarray],
    ) -> float:
        """The (weighted) share of rows whose predicted codes (``codes`` of the margins) equal
        ``encode(y)`` (chunk by chunk, on the host)."""
        be = dask_backend()
        pred = self.apply(X, codes, dtype=np.int32, lengths=True)
        labels = rows_of(be, y, pred, "y", None, numeric=False)
        truth = labels.map_blocks(
            lambda block: np.asarray(encode(backends.to_numpy(block)), dtype=np.int32),
            dtype=np.int32,
        )
        hit = be.xp.astype(pred == truth, np.float64)
        if sample_weight is None:
            return float(be.xp.mean(hit))
        sw = rows_of(be, sample_weight, pred, "sample_weight", np.float64)
        return float(be.xp.sum(hit * sw) / be.xp.sum(sw))
