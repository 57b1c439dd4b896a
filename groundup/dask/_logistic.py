"""Logistic regression on Dask data (``groundup/_dask.py`` validates and dispatches).

The kernels' log-loss objective (``kernels/logistic.py``) with every pass over X (loss,
gradient, Hessian; the early-stopping accuracy) one tree reduction over the Dask row
chunks, each chunk's part the kernel's own pass on its NumPy (or CuPy) chunk. Labels and
class weights come from one pass over y; the targets (0/1, or class codes) are a lazy map
of y, chunked like X.

- **newton**: Newton's method (``newton_solve``: one reduction per iteration, plus
  line-search trials) runs unchanged on the host with the small results, driven by
  ``LogisticRegression``'s own ``_fit_newton``: the path is the in-memory one.
- **batch**: the descent engine on the host (``LogisticRegression._run_descent``, as in
  memory), one reduction per epoch for the loss and the gradient together.
- **sgd / minibatch** stream the row chunks through this process, one at a time, each a
  NumPy (or CuPy) array handed with the kernel's objective to the descent engine for its
  updates: the loop shared with linear regression, ``groundup/_dask_stream.py``, whose
  docstring gives the visiting order (each epoch a permutation of the chunks, then of each
  chunk's training rows; batches never cross chunk boundaries). With one chunk, or with
  ``shuffle=False`` and chunks whose training rows are multiples of ``batch_size`` (always
  for ``sgd``), the fit is the in-memory one. Each epoch's training log-loss
  (``loss_history_``) and, with ``early_stopping``, the validation accuracy are one tree
  reduction each, so an epoch reads X twice (three times with ``early_stopping``).

With ``early_stopping`` (batch, sgd, minibatch) the held-out rows are the in-memory split's
(the same draw); they stay in their chunks, marked by a mask that every pass reads along
with X (left out of the training passes, the rows of the validation accuracy), so NaN or
inf met in the training rows is reported at its row and column in the user's X.

``partial_fit`` (batch, sgd, minibatch) is one epoch of the same fits from the current state
(``max_iter=1, tol=None``, the update counter ``t_`` running on), its ``classes`` checked as
in memory (``LogisticRegression._partial_classes``) and its labels in the same pass over y.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from groundup import backends
from groundup._dask import (
    HOST,
    DaskData,
    _add_pairs,
    _check_weights,
    _dask_backend,
    _host_vector,
    _keep_rows,
    _locate_nonfinite,
    _prepare,
)
from groundup._dask_stream import StreamPlan, held_rows, stream_descent
from groundup._params import GRADIENT
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
    held: Array | None,
    *,
    W: np.ndarray,
    b: np.ndarray,
    order: int,
    check_separated: bool,
    fit_intercept: bool,
    n_classes: int,
) -> tuple[float, lk.PassResult | None]:
    """The kernel's pass over one chunk's training rows (``held``: the early-stopping rows,
    left out), as sums (means times the rows' weight)."""
    cb = backends.from_array(X)
    xp = cb.xp
    if held is not None:
        X, y, sw = _keep_rows(~held, xp, X, y, sw)
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
    kernel: type,
    X: Array,
    y: Array,
    held: Array | None,
    *,
    W: np.ndarray,
    b: np.ndarray,
    n_classes: int,
) -> tuple[float, int, int]:
    """Correct predictions, rows and non-finite entries of one validation chunk (the
    kernel's ``score``; with ``held``, of the chunk's held-out rows)."""
    cb = backends.from_array(X)
    xp = cb.xp
    if held is not None:
        X, y = _keep_rows(held, xp, X, y)
    if X.shape[0] == 0:
        return 0.0, 0, 0
    obj = kernel(X, y, None, X_val=X, y_val=y, n_classes=n_classes, xp=xp)
    accuracy = float(obj.score(cb.asarray(W), cb.asarray(b)))
    bad = int(xp.sum(xp.astype(~xp.isfinite(X), xp.int64)))
    return accuracy * X.shape[0], int(X.shape[0]), bad


# -- the Dask objective --------------------------------------------------------------------
class _DaskPasses:
    """Mixin for the log-loss kernels: each pass over X (loss, gradient, Hessian) is one
    tree reduction over the Dask row chunks, each chunk's part the kernel's own
    ``newton_pass`` on its NumPy (or CuPy) chunk. ``newton_solve`` and the descent engine
    run unchanged on the host with the small results."""

    kernel: type
    backend: Backend
    # The early-stopping rows (boolean, chunked like X) where they stay in their chunks (the
    # gradient fits): left out of the passes over the training rows, the rows of ``score``
    # (then ``X_val`` and ``y_val`` are X and y). ``None``: every row of X is for training.
    held: Array | None = None
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
        arrays = [self.X, self.y, self.sw, self.held]
        weight, part = self.backend.tree_reduce(fn, _merge_log_pass, arrays)
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
        arrays = [self.X_val, self.y_val, self.held]
        hits, rows, bad = self.backend.tree_reduce(fn, _add_pairs, arrays)
        if bad:  # NaN / inf in a held-out row would only blur the score: say where
            _locate_nonfinite(self.backend, X=self.X_val)
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
    """``LogisticRegression._objective`` for Dask data (Newton's method): the kernel's
    objective with every pass over X a tree reduction over the chunks."""
    k = len(est.classes_)
    cls = _DaskBinaryLogLoss if k == 2 else _DaskMultinomialLogLoss
    X, y, sw = data.X, data.y, data.sample_weight
    return _log_loss(cls, X, y, sw, X_val, y_val, est.fit_intercept, k)


def _chunk_log_loss(
    kernel: type,
    X: Array,
    y: Array,
    sw: Array | None,
    cb: Backend,
    *,
    fit_intercept: bool,
    n_classes: int,
) -> lk.BinaryLogLoss | lk.MultinomialLogLoss:
    """The kernel's log-loss on one streamed chunk (its batch gradients for the engine)."""
    return kernel(X, y, sw, fit_intercept=fit_intercept, n_classes=n_classes, xp=cb.xp)


def _training_objective(
    est: Any, data: DaskData, rng: np.random.Generator
) -> tuple[Any, np.ndarray | None, float | None]:
    """The Dask log-loss of the training rows, for the batch and the streamed fits.

    The early-stopping rows (the in-memory split's draw, the first use of ``rng``) stay in
    their chunks: masked out of the passes over the training rows (``objective.held``), they
    are the rows of its ``score``; every pass reads the user's X, so NaN / inf are located
    in its rows and columns. Sample weights are normalised to mean 1 over the training rows,
    as in memory. Returns the objective, the host mask of the early-stopping rows (``None``
    without them) and the weights' scale (``None`` without weights).
    """
    be, xp = data.backend, data.backend.xp
    k = len(est.classes_)
    cls = _DaskBinaryLogLoss if k == 2 else _DaskMultinomialLogLoss
    held, mask = held_rows(est, data, rng)
    sw, factor = data.sample_weight, None
    if sw is not None:
        train_sw = sw if mask is None else xp.where(mask, xp.zeros_like(sw), sw)
        rows = data.n - (0 if held is None else int(np.count_nonzero(held)))
        total = float(be.to_numpy(xp.sum(train_sw)))
        _check_weights(0.0, total)  # the early-stopping rows held all the weight
        factor = rows / total
        sw = sw * factor
    val = (None, None) if mask is None else (data.X, data.y)
    objective = _log_loss(cls, data.X, data.y, sw, *val, est.fit_intercept, k)
    objective.held = mask
    return objective, held, factor


def _fit_batch(
    est: Any, data: DaskData, *, max_iter: int, tol: Any, warm: bool, t0: int, final: bool
) -> None:
    """batch: the descent engine on the host (``est._run_descent``, as in memory), each
    epoch one tree reduction over the chunks for the loss and the gradient together (and
    one for the early-stopping accuracy). ``data.y`` holds the encoded targets."""
    rng = np.random.default_rng(est.random_state)
    objective, _, _ = _training_objective(est, data, rng)
    # In full-batch mode the engine reads only the number of rows from X.
    train = FitData(data.X, data.y, objective.sw, HOST)
    W, b = est._start(train, warm)
    res, history = est._run_descent(
        objective, train, W, b, rng=rng, max_iter=max_iter, tol=tol, t_start=t0
    )
    est._set_descent_state(
        res, history, objective, HOST, t0=t0, max_iter=max_iter, tol=tol, final=final
    )


def _fit_stream(
    est: Any, data: DaskData, *, max_iter: int, tol: Any, warm: bool, t0: int, final: bool
) -> None:
    """sgd / minibatch: the chunks streamed through the engine (``_dask_stream``, where the
    visiting order is documented); each epoch's training log-loss, and the early-stopping
    accuracy, one tree reduction over the chunks. ``data.y`` holds the encoded targets."""
    k = len(est.classes_)
    kernel = lk.BinaryLogLoss if k == 2 else lk.MultinomialLogLoss
    rng = np.random.default_rng(est.random_state)
    whole, held, factor = _training_objective(est, data, rng)
    plan = StreamPlan(
        data=data,
        held=held,
        mask=whole.held,
        chunk_objective=functools.partial(
            _chunk_log_loss, kernel, fit_intercept=est.fit_intercept, n_classes=k
        ),
        loss=lambda W, b: float(whole.newton_pass(W, b, order=0).loss),
        zero_loss=float(whole.zero_loss()),
        score=lambda W, b: float(whole.score(W, b)),
        factor=factor,
    )
    W, b = est._start(FitData(data.X, data.y, None, HOST), warm)
    res, history = stream_descent(est, plan, W, b, rng=rng, max_iter=max_iter, tol=tol, t0=t0)
    est._set_descent_state(
        res, history, whole, HOST, t0=t0, max_iter=max_iter, tol=tol, final=final
    )


def _label_pass(data: DaskData) -> tuple[np.ndarray, np.ndarray]:
    """The distinct labels of ``data.y`` and their total weights: one pass over y (and the
    weights, checked here: finite, non-negative, a positive total)."""
    be = data.backend
    found, totals, smallest = be.tree_reduce(
        _chunk_labels, _merge_labels, [data.y, data.sample_weight]
    )
    if data.sample_weight is not None:
        if not np.all(np.isfinite(totals)):
            _locate_nonfinite(be, sample_weight=data.sample_weight)
        _check_weights(smallest, float(np.sum(totals)))
    return found, totals


def fit_logistic(
    est: Any,
    X: Any,
    y: Any,
    sample_weight: Any = None,
    *,
    partial: bool = False,
    classes: Any = None,
) -> Any:
    """``LogisticRegression.fit`` on Dask data, or with ``partial`` its ``partial_fit``: one
    epoch from the current state, ``classes`` checked as in memory (required on the first
    call). ``est._check_params()`` has run. Labels and class weights in one pass over y,
    then the estimator's own Newton fit on the Dask objective (:func:`log_loss`), the batch
    descent (:func:`_fit_batch`) or the streamed sgd / minibatch fit (:func:`_fit_stream`)."""
    from groundup import _logistic as lg

    known, first = est._partial_classes(classes) if partial else (None, True)
    data = _prepare(est, X, y, sample_weight, reset=first, labels=True)
    be = data.backend
    found, totals = _label_pass(data)
    if partial:
        lg._known_codes(found, known)  # labels outside the classes: the in-memory error
        classes, freq, warm = known, None, not first
        run = {"max_iter": 1, "tol": None, "warm": warm, "t0": 1 if first else int(est.t_)}
        old_hist = None if first else est.loss_history_
    else:
        classes, _ = lg._encode_labels(found)  # scikit-learn's target checks; two classes+
        freq = lg._class_weights(classes, np.arange(len(classes)), totals)
        warm = (
            est.warm_start
            and hasattr(est, "coef_")
            and np.array_equal(est.classes_, classes)
            and tuple(est.coef_.shape) == (lg._n_outputs(classes), data.d)
        )
        run = {"max_iter": est.max_iter, "tol": est.tol, "warm": warm, "t0": 1}
        old_hist = None
    fn = functools.partial(_chunk_targets, classes=classes)
    dtype = data.dtype if len(classes) == 2 else np.dtype(np.int32)
    targets = be.zip_rows(fn, [data.X, data.y], columns=None, dtype=dtype)
    est.classes_ = classes
    est._remember_backend(be)
    start = est._timer_start()
    with be.quiet_floating_point():
        if est._method in GRADIENT:
            fit_gradient = _fit_batch if est._method == "batch" else _fit_stream
            fit_gradient(
                est, DaskData(data.X, targets, data.sample_weight, be), **run, final=not partial
            )
        else:
            est._fit_newton(FitData(data.X, targets, data.sample_weight, HOST), freq, warm=warm)
    if old_hist is not None:
        est.loss_history_ = np.concatenate([old_hist, est.loss_history_])
        est.n_iter_ = len(est.loss_history_)
    est._finish_timing(start, be, est.coef_, est.intercept_)
    return est
