"""The one gradient-descent engine: batch, mini-batch and one-sample SGD for any objective.

Per update it takes a contiguous slice of the epoch's permutation, gathers those rows with
``xp.take``, asks the objective for the batch gradient and makes one update. It talks to the
host at most once per epoch (the convergence check, only when ``tol`` is set); otherwise the
loss history stays on the device until the end of the fit.

The update is scikit-learn's: ``W <- max(0, 1 - eta*alpha) * W - eta * grad`` and
``b <- b - eta * grad_b`` (the intercept is not penalised), so one-sample steps with the
squared loss are exactly ``SGDRegressor``'s.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from array_api_compat import device as _device

from groundup._typing import Array, Namespace
from groundup.kernels.schedules import Schedule
from groundup.kernels.sgd_blocked import MAX_DECAY_STEP, largest_rate


@dataclass
class DescentSettings:
    """What the engine needs to know besides the data (scikit-learn's names)."""

    max_iter: int = 1000  # epochs
    batch_size: int = 32  # rows per update; >= n_samples means full batch
    alpha: float = 0.0  # L2 strength applied in the update (0 without a penalty)
    fit_intercept: bool = True
    tol: float | None = 1e-3  # None: no convergence check, no host sync per epoch
    n_iter_no_change: int = 5
    early_stopping: bool = False  # compare the validation score instead of the loss
    record_path: bool = False  # keep (W, b) after every epoch


@dataclass
class DescentResult:
    """What a run of the engine produced."""

    W: Array
    b: Array
    history: list[Array] = field(default_factory=list)  # 0-d arrays, one per epoch
    n_iter: int = 0  # epochs run
    updates: int = 0  # updates made
    converged: bool = False
    diverged_at: int | None = None  # 1-based epoch whose loss was not finite
    path: list[tuple[Array, Array]] = field(default_factory=list)
    reference_loss: Array | None = None  # max(loss at the start, loss of the zero model)


# A loss this many times the reference (the larger of the starting loss and the zero model's
# loss) means the iterates are running away even while the numbers are still finite.
GROWTH_LIMIT = 1e4


def descend(
    objective: Any,
    X: Array,
    y: Array,
    sample_weight: Array | None,
    W: Array,
    b: Array,
    /,
    *,
    schedule: Schedule,
    settings: DescentSettings,
    orders: Callable[[], Array | None],
    t_start: int = 1,
    start_loss: Array | None = None,
    xp: Namespace,
) -> DescentResult:
    """Run gradient descent for up to ``settings.max_iter`` epochs.

    Parameters
    ----------
    objective : object
        Has ``batch_grad(Xb, yb, sb, W, b)``, ``full_grad(W, b)``, ``loss(W, b)`` and
        ``score(W, b)``. Optionally ``batch_step(Xb, yb, sb, W, b, eta, decay,
        fit_intercept)``: the update with the gradient folded in (one scaling of the
        residuals instead of two of the gradients); ``zero_loss()``: the loss of the zero
        model without a pass over X; ``sgd_epoch(order, W, b, etas, alpha, fit_intercept)``:
        an exact one-sample epoch (``etas``: the epoch's learning rates as an array on the
        device), used while ``alpha * eta <= MAX_DECAY_STEP`` (else the per-sample loop runs).
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,) or (n_samples, k)
    sample_weight : array of shape (n_samples,) or None
    W : array of shape (n_features, k)
    b : array of shape (k,)
    schedule : Schedule
    settings : DescentSettings
    orders : callable
        Returns the next epoch's visiting order (an integer array on the device) or ``None``
        for the natural order.
    t_start : int
        Number of the first update (1 for a fresh fit; continues for ``partial_fit``).
    start_loss : 0-d array, optional
        The loss at the starting ``(W, b)`` where the caller knows it (a fresh fit starts at
        zero: ``objective.zero_loss()``), which saves a pass over the data.
    xp : namespace

    Returns
    -------
    DescentResult
    """
    s = settings
    n = X.shape[0]
    full = s.batch_size >= n
    bs = n if full else s.batch_size
    res = DescentResult(W=W, b=b)
    t = t_start
    check = s.tol is not None
    fast_sgd = bs == 1 and getattr(objective, "sgd_epoch", None) is not None
    zero_loss = getattr(objective, "zero_loss", None)
    if zero_loss is not None:
        zero = zero_loss()
    else:
        zero = objective.loss(xp.zeros_like(W), xp.zeros_like(b))
    start = objective.loss(W, b) if start_loss is None else start_loss
    res.reference_loss = xp.maximum(start, zero)
    rule = StopRule(
        s.tol,
        s.n_iter_no_change,
        s.early_stopping,
        float(res.reference_loss) if check else math.inf,
    )

    for epoch in range(1, s.max_iter + 1):
        if full:
            eta = schedule(t)
            gw, gb = objective.full_grad(W, b)
            W = _step_w(W, gw, eta, s.alpha)
            if s.fit_intercept:
                b = b - eta * gb
            t += 1
        else:
            order = orders()
            if fast_sgd and s.alpha * largest_rate(schedule, t, n) <= MAX_DECAY_STEP:
                etas = schedule.array(t, n, dtype=X.dtype, device=_device(X), xp=xp)
                W, b = objective.sgd_epoch(order, W, b, etas, s.alpha, s.fit_intercept)
                t += n
            else:
                W, b = _batches(objective, X, y, sample_weight, order, W, b, schedule, t, s, xp=xp)
                t += -(-n // bs)
        loss = objective.loss(W, b)
        res.history.append(loss)
        if s.record_path:
            res.path.append((W, b))
        res.n_iter = epoch
        if not check:
            continue
        # One host sync per epoch: the convergence check (scikit-learn's rule).
        value = float(loss)
        if rule.diverged(value):
            res.diverged_at = epoch
            break
        score = float(objective.score(W, b)) if s.early_stopping else value
        if rule.converged(score, schedule, t):
            res.converged = True
            break
    res.W, res.b, res.updates = W, b, t - t_start
    return res


@dataclass
class StopRule:
    """scikit-learn's end-of-epoch rule, kept in one place for every loop that runs epochs.

    A run diverges when its loss is not finite or exceeds ``GROWTH_LIMIT`` times the
    reference. It has converged when ``n_iter_no_change`` epochs in a row did not improve on
    the best value by ``tol`` (the training loss, lower is better; or, with
    ``early_stopping``, the validation score, higher is better); the ``adaptive`` schedule
    first divides its rate by 5 and goes on while the rate is above 1e-6.
    """

    tol: float | None
    n_iter_no_change: int
    early_stopping: bool
    reference: float
    no_improve: int = 0
    best: float = field(init=False)

    def __post_init__(self) -> None:
        self.best = -math.inf if self.early_stopping else math.inf

    def diverged(self, loss: float) -> bool:
        return not math.isfinite(loss) or loss > GROWTH_LIMIT * self.reference > 0

    def converged(self, value: float, schedule: Schedule, t: int) -> bool:
        """Record one epoch's loss (or validation score); True when the run should stop."""
        if self.tol is None:
            return False
        if self.early_stopping:
            self.no_improve = self.no_improve + 1 if value < self.best + self.tol else 0
            self.best = max(self.best, value)
        else:
            self.no_improve = self.no_improve + 1 if value > self.best - self.tol else 0
            self.best = min(self.best, value)
        if self.no_improve < self.n_iter_no_change:
            return False
        if schedule.name == "adaptive" and schedule(t) > 1e-6:
            schedule.scale *= 5.0
            self.no_improve = 0
            return False
        return True


def batch_rows(
    X: Array,
    y: Array,
    sample_weight: Array | None,
    order: Array | None,
    start: int,
    stop: int,
    /,
    *,
    xp: Namespace,
) -> tuple[Array, Array, Array | None]:
    """The rows of one update: a contiguous slice of the epoch's order, gathered with
    ``xp.take`` (or a plain slice of the data in its natural order)."""
    if order is None:
        sb = None if sample_weight is None else sample_weight[start:stop]
        return X[start:stop, ...], y[start:stop, ...], sb
    idx = order[start:stop]
    sb = None if sample_weight is None else xp.take(sample_weight, idx)
    return xp.take(X, idx, axis=0), xp.take(y, idx, axis=0), sb


def _batches(
    objective: Any,
    X: Array,
    y: Array,
    sample_weight: Array | None,
    order: Array | None,
    W: Array,
    b: Array,
    schedule: Schedule,
    t: int,
    s: DescentSettings,
    *,
    xp: Namespace,
) -> tuple[Array, Array]:
    """One epoch of mini-batch updates: per update a contiguous slice of the order, ``xp.take``
    of its rows, the objective's batch gradient and one update (no host synchronisation)."""
    n, bs = X.shape[0], s.batch_size
    starts = range(0, n, bs)
    etas = schedule.values(t, len(starts))
    step = getattr(objective, "batch_step", None)  # the same update, fused
    for eta, start in zip(etas, starts, strict=True):
        Xb, yb, sb = batch_rows(X, y, sample_weight, order, start, min(start + bs, n), xp=xp)
        if step is not None:
            decay = max(0.0, 1.0 - eta * s.alpha) if s.alpha else 1.0
            W, b = step(Xb, yb, sb, W, b, eta, decay, s.fit_intercept)
            continue
        gw, gb = objective.batch_grad(Xb, yb, sb, W, b)
        W = _step_w(W, gw, eta, s.alpha)
        if s.fit_intercept:
            b = b - eta * gb
    return W, b


def _step_w(W: Array, gw: Array, eta: float, alpha: float) -> Array:
    if alpha:
        return max(0.0, 1.0 - eta * alpha) * W - eta * gw
    return W - eta * gw


def divergent_epoch(history: list[float], reference: float) -> int | None:
    """1-based epoch at which a run diverged, or ``None``.

    A run diverged when a loss is not finite or exceeds ``GROWTH_LIMIT`` times the reference,
    or when it ends worse than the reference (worse than where it started and than the zero
    model): then the epoch is the first one above the reference.
    """
    for i, v in enumerate(history, start=1):
        if not math.isfinite(v) or v > GROWTH_LIMIT * reference > 0:
            return i
    if history and reference > 0 and history[-1] > reference:
        return next(i for i, v in enumerate(history, start=1) if v > reference)
    return None
