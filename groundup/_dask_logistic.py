"""Logistic regression on Dask data (``groundup/_dask.py`` validates and dispatches).

The kernels' log-loss objective (``kernels/logistic.py``) with every pass over X (loss,
gradient, Hessian; the early-stopping accuracy) one tree reduction over the Dask row
chunks, each chunk's part the kernel's own pass on its NumPy (or CuPy) chunk. Newton's
method (``newton_solve``: one reduction per iteration, plus line-search trials) and the
descent engine (``batch``: one reduction per epoch, loss and gradient together) run
unchanged on the host with the small results; ``LogisticRegression``'s own ``_fit_newton`` /
``_fit_gradient`` drive them, so the path is the in-memory one. Labels and class weights
come from one pass over y. ``sgd`` / ``minibatch`` do not run on Dask yet.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from groundup import backends
from groundup._dask import (
    HOST,
    _add_pairs,
    _check_weights,
    _dask_backend,
    _host_vector,
    _locate_nonfinite,
    _prepare,
)
from groundup._typing import Array
from groundup._validation import FitData
from groundup.backends import Backend
from groundup.kernels import logistic as lk

__all__ = ["fit_logistic", "log_loss"]


# -- per-chunk tasks -----------------------------------------------------------------------
def _chunk_labels(y: Array, sw: Array | None) -> tuple[np.ndarray, np.ndarray, float]:
    """The chunk's distinct labels, their total weights, and its smallest weight."""
    labels = np.ravel(_host_vector(y))
    w = None if sw is None else np.ravel(_host_vector(sw)).astype(np.float64)
    classes, inverse = np.unique(labels, return_inverse=True)
    totals = np.bincount(np.ravel(inverse), weights=w, minlength=len(classes))
    smallest = float(np.min(w)) if w is not None and w.size else math.inf
    return classes, totals.astype(np.float64), smallest


def _merge_labels(a: tuple, b: tuple) -> tuple:
    classes = np.union1d(a[0], b[0])
    totals = np.zeros(len(classes), dtype=np.float64)
    for part in (a, b):
        totals[np.searchsorted(classes, part[0])] += part[1]
    return classes, totals, min(a[2], b[2])


def _chunk_targets(X: Array, y: Array, *, classes: np.ndarray) -> Array:
    """Binary: 0/1 in X's dtype; multinomial: int32 class codes; in X's library."""
    cb = backends.from_array(X)
    codes = np.searchsorted(classes, np.ravel(_host_vector(y)))
    if len(classes) == 2:
        return cb.asarray((codes == 1).astype(cb.to_numpy(X[:0, :]).dtype))
    return cb.asarray(codes.astype(np.int32))


def _chunk_log_pass(
    kernel: type,
    X: Array,
    y: Array,
    sw: Array | None,
    *,
    W: np.ndarray,
    b: np.ndarray,
    order: int,
    check_separated: bool,
    fit_intercept: bool,
    n_classes: int,
) -> tuple[float, lk.PassResult | None]:
    """The kernel's pass over one chunk, as sums (means times the chunk's weight)."""
    cb = backends.from_array(X)
    xp = cb.xp
    weight = float(X.shape[0]) if sw is None else float(xp.sum(sw))
    if X.shape[0] == 0 or weight == 0.0:
        return 0.0, None
    outputs = 1 if n_classes == 2 else n_classes
    obj = kernel(
        X,
        y,
        sw,
        fit_intercept=fit_intercept,
        n_classes=n_classes,
        chunk_rows=cb.chunk_rows(X.shape[1] * outputs),
        xp=xp,
    )
    with cb.quiet_floating_point():
        r = obj.newton_pass(
            cb.asarray(W), cb.asarray(b), order=order, check_separated=check_separated
        )

    def total(a: Array | None) -> np.ndarray | None:
        return None if a is None else cb.to_numpy(a) * weight

    separated = None if r.separated is None else bool(r.separated)
    return weight, lk.PassResult(
        total(r.loss), total(r.grad_w), total(r.grad_b), total(r.hess), separated
    )


def _merge_log_pass(a: tuple, b: tuple) -> tuple:
    (wa, pa), (wb, pb) = a, b
    if pa is None or pb is None:
        return (wb, pb) if pa is None else (wa, pa)

    def add(u: Any, v: Any) -> Any:
        return None if u is None else u + v

    separated = None if pa.separated is None else pa.separated and pb.separated
    return wa + wb, lk.PassResult(
        pa.loss + pb.loss,
        add(pa.grad_w, pb.grad_w),
        add(pa.grad_b, pb.grad_b),
        add(pa.hess, pb.hess),
        separated,
    )


def _chunk_hits(
    kernel: type, X: Array, y: Array, *, W: np.ndarray, b: np.ndarray, n_classes: int
) -> tuple[float, int]:
    """Correct predictions and rows of one validation chunk (the kernel's ``score``)."""
    cb = backends.from_array(X)
    if X.shape[0] == 0:
        return 0.0, 0
    obj = kernel(X, y, None, X_val=X, y_val=y, n_classes=n_classes, xp=cb.xp)
    accuracy = float(obj.score(cb.asarray(W), cb.asarray(b)))
    return accuracy * X.shape[0], int(X.shape[0])


# -- the Dask objective --------------------------------------------------------------------
class _DaskPasses:
    """Mixin for the log-loss kernels: each pass over X (loss, gradient, Hessian) is one
    tree reduction over the Dask row chunks, each chunk's part the kernel's own
    ``newton_pass`` on its NumPy (or CuPy) chunk. ``newton_solve`` and the descent engine
    run unchanged on the host with the small results."""

    kernel: type
    backend: Backend
    checked = False  # NaN / inf in the data already looked for
    whole: Any = None  # for Newton's subsample: the objective on all rows

    def newton_pass(
        self, W: Array, b: Array, /, *, order: int = 2, check_separated: bool = False
    ) -> lk.PassResult:
        fn = functools.partial(
            _chunk_log_pass,
            self.kernel,
            W=W,
            b=b,
            order=order,
            check_separated=check_separated,
            fit_intercept=self.fit_intercept,
            n_classes=self.n_classes,
        )
        weight, part = self.backend.tree_reduce(fn, _merge_log_pass, [self.X, self.y, self.sw])
        out = lk.PassResult(loss=part.loss / weight, separated=part.separated)
        if order >= 1:
            out.grad_w, out.grad_b = part.grad_w / weight, part.grad_b / weight
        if order >= 2:
            out.hess = part.hess / weight
        finite = all(v is None or np.all(np.isfinite(v)) for v in (out.loss, out.grad_w))
        if not finite and not self.checked:
            self.checked = True  # say where, with rows counted in the whole data
            whole = self.whole if self.whole is not None else self
            _locate_nonfinite(self.backend, X=whole.X, sample_weight=whole.sw)
        return out

    def score(self, W: Array, b: Array) -> Array:
        fn = functools.partial(_chunk_hits, self.kernel, W=W, b=b, n_classes=self.n_classes)
        hits, rows = self.backend.tree_reduce(fn, _add_pairs, [self.X_val, self.y_val])
        return np.asarray(hits / rows, dtype=np.dtype(self.X.dtype))

    def subset(self, rows: Array, /) -> Any:
        """The objective on the rows ``rows`` (Newton's warm start), computed once and kept
        (in the cluster's memory with a distributed client)."""
        idx = backends.from_array(rows).to_numpy(rows)
        take = [None if a is None else a[idx] for a in (self.X, self.y, self.sw)]
        kept = iter(self.backend.persist(*[a for a in take if a is not None]))
        X, y, sw = (None if a is None else next(kept) for a in take)
        sub = _log_loss(type(self), X, y, sw, None, None, self.fit_intercept, self.n_classes)
        sub.whole = self
        return sub


class _DaskBinaryLogLoss(_DaskPasses, lk.BinaryLogLoss):
    kernel = lk.BinaryLogLoss


class _DaskMultinomialLogLoss(_DaskPasses, lk.MultinomialLogLoss):
    kernel = lk.MultinomialLogLoss


def _log_loss(
    cls: type,
    X: Array,
    y: Array,
    sw: Array | None,
    X_val: Array | None,
    y_val: Array | None,
    fit_intercept: bool,
    n_classes: int,
) -> Any:
    be = _dask_backend()
    y = be.rows_like(y, X)
    sw = None if sw is None else be.rows_like(sw, X)
    y_val = None if X_val is None else be.rows_like(y_val, X_val)
    obj = cls(
        X,
        y,
        sw,
        X_val=X_val,
        y_val=y_val,
        fit_intercept=fit_intercept,
        n_classes=n_classes,
        xp=HOST.xp,
    )
    obj.backend = be
    return obj


# -- entry points --------------------------------------------------------------------------
def log_loss(est: Any, data: FitData, *, X_val: Array | None, y_val: Array | None) -> Any:
    """``LogisticRegression._objective`` for Dask data: the kernel's objective with every
    pass over X a tree reduction over the chunks (one per Newton iteration or epoch)."""
    k = len(est.classes_)
    cls = _DaskBinaryLogLoss if k == 2 else _DaskMultinomialLogLoss
    X, y, sw = data.X, data.y, data.sample_weight
    return _log_loss(cls, X, y, sw, X_val, y_val, est.fit_intercept, k)


def fit_logistic(est: Any, X: Any, y: Any, sample_weight: Any = None) -> Any:
    """``LogisticRegression.fit`` on Dask data (``est._check_params()`` has run): labels
    and class weights in one pass over y, then the estimator's own Newton or batch fit on
    the Dask objective (:func:`log_loss`)."""
    from groundup import _logistic as lg

    if est._method not in ("newton", "batch"):
        msg = (
            f"LogisticRegression(method={est.method!r}) does not run on Dask data: use "
            "method='newton' or 'batch' (one distributed pass per iteration), or compute "
            "the data into memory (X.compute())."
        )
        raise ValueError(msg)
    data = _prepare(est, X, y, sample_weight, reset=True, labels=True)
    be = data.backend
    found, totals, smallest = be.tree_reduce(
        _chunk_labels, _merge_labels, [data.y, data.sample_weight]
    )
    if data.sample_weight is not None:
        if not np.all(np.isfinite(totals)):
            _locate_nonfinite(be, sample_weight=data.sample_weight)
        _check_weights(smallest, float(np.sum(totals)))
    classes, _ = lg._encode_labels(found)  # scikit-learn's target checks; two classes or more
    freq = lg._class_weights(classes, np.arange(len(classes)), totals)
    fn = functools.partial(_chunk_targets, classes=classes)
    dtype = data.dtype if len(classes) == 2 else np.dtype(np.int32)
    targets = be.zip_rows(fn, [data.X, data.y], columns=None, dtype=dtype)
    warm = (
        est.warm_start
        and hasattr(est, "coef_")
        and np.array_equal(est.classes_, classes)
        and tuple(est.coef_.shape) == (lg._n_outputs(classes), data.d)
    )
    est.classes_ = classes
    est._remember_backend(be)
    fit_data = FitData(data.X, targets, data.sample_weight, HOST)
    start = est._timer_start()
    with be.quiet_floating_point():
        if est._method == "batch":
            est._fit_gradient(
                fit_data, max_iter=est.max_iter, tol=est.tol, warm=warm, t0=1, final=True
            )
        else:
            est._fit_newton(fit_data, freq, warm=warm)
    est._finish_timing(start, be, est.coef_, est.intercept_)
    return est
