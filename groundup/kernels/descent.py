"""The one gradient-descent engine: batch, mini-batch and one-sample SGD for any objective.

Per update it takes a contiguous slice of the epoch's permutation, gathers those rows with
``xp.take``, asks the objective for the batch gradient and makes one update. It talks to the
host at most once per epoch (the convergence check, only when ``tol`` is set); otherwise the
loss history stays on the device until the end of the fit.

The update is scikit-learn's: ``W <- max(0, 1 - eta*alpha) * W - eta * grad`` and
``b <- b - eta * grad_b`` (the intercept is not penalised), so one-sample steps with the
squared loss are exactly ``SGDRegressor``'s. :func:`groundup.kernels.reference.gradient_descent`
is the same loop without the fast paths (the tests' oracle).

What the engine asks of the objective is written down in :mod:`groundup.kernels.objective`:
the methods of :class:`~groundup.kernels.objective.Objective` always, and two capabilities
where the objective has them: :class:`~groundup.kernels.objective.FusedStep` (mini-batch
updates) and :class:`~groundup.kernels.objective.ExactSGDEpoch` (one-sample epochs).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from array_api_compat import device as _device

from groundup._typing import Array, Namespace
from groundup.kernels.objective import ExactL1SGDEpoch, ExactSGDEpoch, FusedStep, Objective
from groundup.kernels.rows import EpochRows
from groundup.kernels.schedules import Schedule
from groundup.kernels.sgd_blocked import MAX_DECAY_STEP, largest_rate
from groundup.kernels.update import Stepper, UpdateSettings, UpdateState, pack, unpack


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
    # X is one chunk of a streamed epoch (the Dask loop): make the updates, nothing else. No
    # loss is computed (the caller has the epoch's loss over all chunks; ``tol`` must be
    # None), and a chunk that fits in one batch is a batch like any other: ``batch_grad``
    # over its rows, not the objective's training-set ``full_grad``.
    chunk: bool = False
    # The optimiser, the L1 part of the penalty and averaging (kernels/update.py); the plain
    # update (and its fast paths) by default.
    update: UpdateSettings = field(default_factory=UpdateSettings)


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
    # max(loss at the start, loss of the zero model); None for a chunk (settings.chunk)
    reference_loss: Array | None = None
    # What the updates carry to the next run (optimiser state, average, L1 truncation);
    # ``None`` for the plain update.
    state: UpdateState | None = None


# Relative changes below this many machine epsilons are rounding (StopRule, divergent_epoch).
RESOLUTION = 4.0

# A loss this many times the reference (the larger of the starting loss and the zero model's
# loss) means the iterates are running away even while the numbers are still finite.
GROWTH_LIMIT = 1e4


def descend(
    objective: Objective,
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
    state: UpdateState | None = None,
    xp: Namespace,
) -> DescentResult:
    """Run gradient descent for up to ``settings.max_iter`` epochs.

    Parameters
    ----------
    objective : Objective
        ``batch_grad``, ``full_grad``, ``loss``, ``zero_loss`` and ``score``
        (:class:`~groundup.kernels.objective.Objective`). Where it is also a
        :class:`~groundup.kernels.objective.FusedStep`, mini-batch updates use its
        ``batch_step``; where it is an :class:`~groundup.kernels.objective.ExactSGDEpoch`,
        one-sample epochs use its ``sgd_epoch`` while ``alpha * eta <= MAX_DECAY_STEP``
        (else the per-sample loop runs).
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
    state : UpdateState, optional
        Where the optimiser, the average and the L1 truncation start (the last run's
        ``DescentResult.state``); ``None``: afresh. Only for ``settings.update`` other than
        the plain update.
    xp : namespace

    Returns
    -------
    DescentResult
        With ``settings.chunk``: the updates only (no history, no reference loss). With an
        update other than the plain one, ``W`` and ``b`` are the running weights (the
        average is in ``state.average``) and ``path`` holds the model's: the average once
        an update has been averaged.
    """
    s = settings
    if s.chunk and s.tol is not None:
        msg = "DescentSettings(chunk=True) computes no loss: it needs tol=None."
        raise ValueError(msg)
    n = X.shape[0]
    full = s.batch_size >= n
    bs = n if full else s.batch_size
    res = DescentResult(W=W, b=b)
    t = t_start
    check = s.tol is not None
    sgd_epoch = objective.sgd_epoch if bs == 1 and isinstance(objective, ExactSGDEpoch) else None
    batch_step = objective.batch_step if isinstance(objective, FusedStep) else None
    stepper = None
    if not s.update.plain:
        stepper = Stepper(
            s.update,
            alpha=s.alpha,
            fit_intercept=s.fit_intercept,
            full=full and not s.chunk,  # a streamed chunk in one batch is a batch
            state=state,
            W=W,
            xp=xp,
        )
    if not s.chunk:
        start = objective.loss(W, b) if start_loss is None else start_loss
        res.reference_loss = xp.maximum(start, objective.zero_loss())
    rule = StopRule(
        s.tol,
        s.n_iter_no_change,
        s.early_stopping,
        float(res.reference_loss) if check else math.inf,
        eps=float(xp.finfo(W.dtype).eps),
    )

    for epoch in range(1, s.max_iter + 1):
        if stepper is not None:
            rows = EpochRows(X, y, sample_weight, None if full else orders(), xp)
            W, b = _Epoch(objective, rows, schedule, t, s).stepped(stepper, W, b)
            t += 1 if full else -(-n // bs)
        elif full:
            eta = schedule(t)
            if s.chunk:  # the chunk's rows are one batch, not the training set
                gw, gb = objective.batch_grad(X, y, sample_weight, W, b)
            else:
                gw, gb = objective.full_grad(W, b)
            W = _step_w(W, gw, eta, s.alpha)
            if s.fit_intercept:
                b = b - eta * gb
            t += 1
        else:
            order = orders()
            if sgd_epoch is not None and s.alpha * largest_rate(schedule, t, n) <= MAX_DECAY_STEP:
                etas = schedule.array(t, n, dtype=X.dtype, device=_device(X), xp=xp)
                W, b = sgd_epoch(order, W, b, etas, s.alpha, s.fit_intercept)
                t += n
            else:
                rows = EpochRows(X, y, sample_weight, order, xp)
                W, b = _Epoch(objective, rows, schedule, t, s).batches(batch_step, W, b)
                t += -(-n // bs)
        res.n_iter = epoch
        if s.chunk:
            continue
        loss = objective.loss(W, b)
        res.history.append(loss)
        if s.record_path:
            res.path.append((W, b) if stepper is None else stepper.model(W, b, t))
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
    res.state = None if stepper is None else stepper.state
    return res


@dataclass
class StopRule:
    """scikit-learn's end-of-epoch rule, kept in one place for every loop that runs epochs.

    A run diverges when its loss is not finite or exceeds ``GROWTH_LIMIT`` times the
    reference. It has converged when ``n_iter_no_change`` epochs in a row did not improve on
    the best value by ``tol`` (the training loss, lower is better; or, with
    ``early_stopping``, the validation score, higher is better); the ``adaptive`` schedule
    first divides its rate by 5 and goes on while the rate is above 1e-6.

    ``eps`` is the machine epsilon of the dtype the values are computed in: an improvement
    below ``RESOLUTION * eps * |best|`` is rounding, not progress, so ``tol`` is floored
    there (a float32 fit with ``tol`` below float32's resolution stops where float32 stops
    improving instead of running to ``max_iter``).
    """

    tol: float | None
    n_iter_no_change: int
    early_stopping: bool
    reference: float
    eps: float = 0.0
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
        tol = self.tol
        if math.isfinite(self.best):
            tol = max(tol, RESOLUTION * self.eps * abs(self.best))
        if self.early_stopping:
            self.no_improve = self.no_improve + 1 if value < self.best + tol else 0
            self.best = max(self.best, value)
        else:
            self.no_improve = self.no_improve + 1 if value > self.best - tol else 0
            self.best = min(self.best, value)
        if self.no_improve < self.n_iter_no_change:
            return False
        if schedule.name == "adaptive" and schedule(t) > 1e-6:
            schedule.scale *= 5.0
            self.no_improve = 0
            return False
        return True


@dataclass
class _Epoch:
    """One epoch of updates (its rows in visiting order, from update ``t``), made by the
    objective's gradient and the plain update or by a stepper."""

    objective: Objective
    rows: EpochRows
    schedule: Schedule
    t: int
    s: DescentSettings

    def batches(
        self, batch_step: Callable[..., tuple[Array, Array]] | None, W: Array, b: Array
    ) -> tuple[Array, Array]:
        """Mini-batch updates: per update a contiguous slice of the order, ``xp.take`` of
        its rows, the objective's batch gradient and one update (no host synchronisation).
        ``batch_step``: the objective's fused update (:class:`~groundup.kernels.objective.
        FusedStep`), the same update in fewer operations, or ``None``."""
        s, rows = self.s, self.rows
        n, bs = rows.n, s.batch_size
        starts = range(0, n, bs)
        etas = self.schedule.values(self.t, len(starts))
        for eta, start in zip(etas, starts, strict=True):
            Xb, yb, sb = rows.take(start, min(start + bs, n))
            if batch_step is not None:
                decay = max(0.0, 1.0 - eta * s.alpha) if s.alpha else None
                W, b = batch_step(Xb, yb, sb, W, b, eta, decay, s.fit_intercept)
                continue
            gw, gb = self.objective.batch_grad(Xb, yb, sb, W, b)
            W = _step_w(W, gw, eta, s.alpha)
            if s.fit_intercept:
                b = b - eta * gb
        return W, b

    def stepped(self, stepper: Stepper, W: Array, b: Array) -> tuple[Array, Array]:
        """The stepper's updates (:mod:`groundup.kernels.update`): the objective's batch
        gradient at the packed parameters' views, then the stepper's update."""
        xp = stepper.xp
        s, rows, objective, schedule, t = self.s, self.rows, self.objective, self.schedule, self.t
        n = rows.n
        if s.batch_size >= n:  # full batch: the gradient at the engine's own (W, b)
            eta = schedule(t)
            if s.chunk:
                gw, gb = objective.batch_grad(rows.X, rows.y, rows.sample_weight, W, b)
            else:
                gw, gb = objective.full_grad(W, b)
            return unpack(stepper.step(pack(W, b, xp=xp), gw, gb, eta, t))
        bs = s.batch_size
        st, up = stepper.state, stepper.s
        if (
            bs == 1
            and st.l1 is not None
            and up.optimizer.name == "sgd"
            and not up.average
            and isinstance(objective, ExactL1SGDEpoch)
            and objective.speculative
            and s.alpha * largest_rate(schedule, t, n) <= MAX_DECAY_STEP
        ):  # the exact one-sample epoch, a window at a time
            etas = schedule.array(t, n, dtype=rows.X.dtype, device=_device(rows.X), xp=xp)
            return objective.sgd_epoch(
                rows.order, W, b, etas, s.alpha, s.fit_intercept, up.l1, st.l1
            )
        starts = range(0, n, bs)
        theta = pack(W, b, xp=xp)
        d, step, grad = W.shape[0], stepper.step, objective.batch_grad
        for i, (eta, start) in enumerate(zip(schedule.values(t, len(starts)), starts, strict=True)):
            Xb, yb, sb = rows.take(start, min(start + bs, n))
            gw, gb = grad(Xb, yb, sb, theta[:d, :], theta[d, :])
            theta = step(theta, gw, gb, eta, t + i)
        return unpack(theta)


def _step_w(W: Array, gw: Array, eta: float, alpha: float) -> Array:
    if alpha:
        return max(0.0, 1.0 - eta * alpha) * W - eta * gw
    return W - eta * gw


def divergent_epoch(
    history: list[float], reference: float, eps: float = 0.0, *, ends_above: bool = True
) -> int | None:
    """1-based epoch at which a run diverged, or ``None``.

    A run diverged when a loss is not finite or exceeds ``GROWTH_LIMIT`` times the reference,
    or (with ``ends_above``: a step size the user chose) when it ends worse than the
    reference (worse than where it started and than the zero model) by more than rounding
    (``RESOLUTION * eps`` relative, ``eps`` the dtype's): then the epoch is the first one
    above the reference.
    """
    for i, v in enumerate(history, start=1):
        if not math.isfinite(v) or v > GROWTH_LIMIT * reference > 0:
            return i
    above = reference * (1.0 + RESOLUTION * eps)
    if ends_above and history and reference > 0 and history[-1] > above:
        return next(i for i, v in enumerate(history, start=1) if v > above)
    return None
