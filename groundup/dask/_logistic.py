"""Logistic regression's passes over Dask data: the kernels' log-loss with every pass over X
(loss, gradient, Hessian, the early-stopping accuracy) one tree reduction of the kernel's own
pass on each chunk (:func:`log_loss`), and the per-chunk parts of the passes over the labels.
The early-stopping rows stay in their chunks, marked by a mask every pass reads with X."""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import numpy as np

from groundup import backends
from groundup._typing import Array
from groundup.backends import Backend
from groundup.dask._data import (
    HOST,
    add_pairs,
    dask_backend,
    keep_rows,
    raise_nonfinite,
)
from groundup.kernels import logistic as lk


def chunk_labels(y: Array, sw: Array | None) -> tuple[np.ndarray, np.ndarray, float]:
    """The chunk's distinct labels, their total weights, and its smallest weight."""
    labels = np.ravel(backends.to_numpy(y))
    w = None if sw is None else np.ravel(backends.to_numpy(sw)).astype(np.float64)
    classes, inverse = np.unique(labels, return_inverse=True)
    totals = np.bincount(np.ravel(inverse), weights=w, minlength=len(classes))
    smallest = float(np.min(w)) if w is not None and w.size else math.inf
    return classes, totals.astype(np.float64), smallest


def merge_labels(a: tuple, b: tuple) -> tuple:
    classes = np.union1d(a[0], b[0])
    totals = np.zeros(len(classes), dtype=np.float64)
    for part in (a, b):
        totals[np.searchsorted(classes, part[0])] += part[1]
    return classes, totals, min(a[2], b[2])


def chunk_targets(X: Array, y: Array, *, classes: np.ndarray) -> Array:
    """Binary: 0/1 in X's dtype; multinomial: int32 class codes; in X's library."""
    cb = backends.from_array(X)
    codes = np.searchsorted(classes, np.ravel(backends.to_numpy(y)))
    if len(classes) == 2:
        return cb.asarray((codes == 1).astype(X.dtype))
    return cb.asarray(codes.astype(np.int32))


def _kernel(n_classes: int) -> type:
    return lk.BinaryLogLoss if n_classes == 2 else lk.MultinomialLogLoss


def _chunk_log_pass(
    X: Array,
    y: Array,
    sw: Array | None,
    held: Array | None,
    *,
    W: np.ndarray,
    b: np.ndarray,
    order: int,
    check_separated: bool,
    fit_intercept: bool,
    n_classes: int,
    dual: bool,
) -> tuple[float, lk.PassResult | None]:
    """The kernel's pass over one chunk's training rows (not ``held``), as sums (means times
    the rows' weight)."""
    cb = backends.from_array(X)
    xp = cb.xp
    if held is not None:
        X, y, sw = keep_rows(~held, xp, X, y, sw)
    weight = float(X.shape[0]) if sw is None else float(xp.sum(sw))
    if X.shape[0] == 0 or weight == 0.0:
        return 0.0, None
    rows = cb.chunk_rows(X.shape[1] * (1 if n_classes == 2 else n_classes))
    obj = _kernel(n_classes)(
        X, y, sw, fit_intercept=fit_intercept, n_classes=n_classes, chunk_rows=rows, xp=xp
    )
    with cb.quiet_floating_point():
        r = obj.newton_pass(
            cb.asarray(W), cb.asarray(b), order=order, check_separated=check_separated, dual=dual
        )
    sums = {
        f: None if getattr(r, f) is None else cb.to_numpy(getattr(r, f)) * weight for f in _MEANS
    }
    return weight, lk.PassResult(
        **sums, separated=None if r.separated is None else bool(r.separated)
    )


#: The fields of :class:`~groundup.kernels.logistic.PassResult` that are weighted means.
_MEANS = [f.name for f in dataclasses.fields(lk.PassResult) if f.name != "separated"]


def _merge_log_pass(a: tuple, b: tuple) -> tuple:
    (wa, pa), (wb, pb) = a, b
    if pa is None or pb is None:
        return (wb, pb) if pa is None else (wa, pa)
    separated = None if pa.separated is None else pa.separated and pb.separated
    sums = {f: None if getattr(pa, f) is None else getattr(pa, f) + getattr(pb, f) for f in _MEANS}
    return wa + wb, lk.PassResult(**sums, separated=separated)


def _chunk_hits(
    X: Array, y: Array, held: Array | None, *, W: np.ndarray, b: np.ndarray, n_classes: int
) -> tuple[float, int, int]:
    """Correct predictions, rows and non-finite entries of one chunk's validation rows."""
    cb = backends.from_array(X)
    xp = cb.xp
    if held is not None:
        X, y = keep_rows(held, xp, X, y)
    if X.shape[0] == 0:
        return 0.0, 0, 0
    obj = _kernel(n_classes)(X, y, None, X_val=X, y_val=y, n_classes=n_classes, xp=xp)
    accuracy = float(obj.score(cb.asarray(W), cb.asarray(b)))
    bad = int(xp.sum(xp.astype(~xp.isfinite(X), xp.int64)))
    return accuracy * X.shape[0], int(X.shape[0]), bad


class _DaskPasses:
    """Mixin for the log-loss kernels: each pass over X one tree reduction of the kernel's
    ``newton_pass`` on every chunk; ``newton_solve`` and the engine run on the host."""

    backend: Backend
    # The early-stopping rows (boolean, chunked like X; ``X_val`` and ``y_val`` are X and y):
    # out of the training passes, the rows of ``score``. ``None``: all rows train.
    held: Array | None = None
    checked = False  # NaN / inf in the data already looked for
    whole: Any = None  # for Newton's subsample: the objective on all rows

    def newton_pass(
        self,
        W: np.ndarray,
        b: np.ndarray,
        /,
        *,
        order: int = 2,
        check_separated: bool = False,
        dual: bool = False,
    ) -> lk.PassResult:
        fn = functools.partial(
            _chunk_log_pass, W=W, b=b, order=order, check_separated=check_separated,
            fit_intercept=self.fit_intercept, n_classes=self.n_classes, dual=dual,
        )  # fmt: skip
        arrays = [self.X, self.y, self.sw, self.held]
        weight, part = self.backend.tree_reduce(fn, _merge_log_pass, arrays)
        means = {f: None if getattr(part, f) is None else getattr(part, f) / weight for f in _MEANS}
        out = lk.PassResult(**means, separated=part.separated)
        finite = all(v is None or np.all(np.isfinite(v)) for v in (out.loss, out.grad_w))
        if not finite and not self.checked:
            self.checked = True  # say where, with rows counted in the whole data
            whole = self.whole if self.whole is not None else self
            raise_nonfinite(self.backend, X=whole.X, sample_weight=whole.sw)
        return out

    def scores(self, W: np.ndarray, b: np.ndarray) -> Array:
        fn = functools.partial(_chunk_hits, W=W, b=b, n_classes=self.n_classes)
        arrays = [self.X_val, self.y_val, self.held]
        hits, rows, bad = self.backend.tree_reduce(fn, add_pairs, arrays)
        if bad:  # NaN / inf in a held-out row would only blur the score: say where
            raise_nonfinite(self.backend, X=self.X_val)
        return np.asarray([hits / rows], dtype=np.dtype(self.X.dtype))

    def subset(self, rows: Array, /) -> Any:
        """The objective on ``rows`` (Newton's warm start), computed once and kept."""
        idx = backends.from_array(rows).to_numpy(rows)
        take = [None if a is None else a[idx] for a in (self.X, self.y, self.sw)]
        kept = iter(self.backend.persist(*[a for a in take if a is not None]))
        X, y, sw = (None if a is None else next(kept) for a in take)
        sub = log_loss(X, y, sw, fit_intercept=self.fit_intercept, n_classes=self.n_classes)
        sub.whole = self
        return sub


class _DaskBinaryLogLoss(_DaskPasses, lk.BinaryLogLoss):
    pass


class _DaskMultinomialLogLoss(_DaskPasses, lk.MultinomialLogLoss):
    pass


def log_loss(
    X: Array, y: Array, sw: Array | None, *, fit_intercept: bool, n_classes: int, val: bool = False
) -> Any:
    """The kernel's log-loss with every pass over X a tree reduction over the chunks
    (``val``: X and y are also the rows of the early-stopping score)."""
    be = dask_backend()
    cls = _DaskBinaryLogLoss if n_classes == 2 else _DaskMultinomialLogLoss
    y, sw = be.rows_like(y, X), None if sw is None else be.rows_like(sw, X)
    rows = {"X_val": X, "y_val": y} if val else {}
    obj = cls(X, y, sw, fit_intercept=fit_intercept, n_classes=n_classes, xp=HOST.xp, **rows)
    obj.backend = be
    return obj


def chunk_log_loss(
    X: Array, y: Array, sw: Array | None, cb: Backend, *, fit_intercept: bool, n_classes: int
) -> lk.BinaryLogLoss | lk.MultinomialLogLoss:
    return _kernel(n_classes)(X, y, sw, fit_intercept=fit_intercept, n_classes=n_classes, xp=cb.xp)


def chunk_content(offset: int, X: Array, y: Array, *, r: np.ndarray, fraction: float) -> np.ndarray:
    cb = backends.from_array(X)
    rx = cb.asarray(r[:-1].astype(X.dtype))
    rows = lk.content_sample(X, y, rx, float(r[-1]), fraction, offset=offset, xp=cb.xp)
    return cb.to_numpy(rows)


def chunk_class_weights(
    X: Array, y: Array, sw: Array | None, *, classes: np.ndarray, weights: np.ndarray
) -> Array:
    cb = backends.from_array(X)
    codes = np.searchsorted(classes, np.ravel(backends.to_numpy(y)))
    rows = cb.asarray(weights[codes].astype(X.dtype))
    return rows if sw is None else sw * rows
