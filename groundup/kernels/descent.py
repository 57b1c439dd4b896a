"""The one gradient-descent engine: batch, mini-batch and one-sample SGD for any objective,
for one fit or for K configurations trained together as the columns of one weight matrix.

A single fit is the case K = 1 of :func:`descend`, a sweep's group K > 1 (one
:class:`Column` each, the same loop). ``W`` has shape (n_features, outputs·K), output by
output (column ``c·K + k`` is output ``c`` of configuration ``k``; ``outputs`` is C for a
softmax over C classes, else 1). Per update the engine gathers a contiguous slice of the
epoch's permutation with ``xp.take`` and updates every column; it talks to the host at most
once per epoch (the convergence check, where a ``tol`` is set).

The plain update is scikit-learn's, ``W <- max(0, 1 - eta*alpha) * W - eta * grad`` and
``b <- b - eta * grad_b`` (the intercept is not penalised), so one-sample steps with the
squared loss are exactly ``SGDRegressor``'s; an optimiser, L1 or averaging go through the
:class:`~groundup.kernels.update.Stepper`. The epoch's kind is chosen once, before the loop,
from the update and the objective's capabilities (:mod:`groundup.kernels.losses`): the
stepper's, a full batch (``full_grad``), the exact one-sample epoch or the fused mini-batch
step. A configuration that finishes leaves ``W`` at that epoch while the others go on, so
each ends where its single fit ends. :func:`groundup.kernels.reference.gradient_descent` is
the same loop without the fast paths (the tests' oracle).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from array_api_compat import device as _device

from groundup._typing import Array, Namespace
from groundup.kernels.losses import ExactL1SGDEpoch, ExactSGDEpoch, Objective, largest
from groundup.kernels.schedules import EpochRows, Schedule
from groundup.kernels.sgd_blocked import MAX_DECAY_STEP, largest_rate
from groundup.kernels.update import Stepper, UpdateSettings, UpdateState, decay_factor, pack, unpack


@dataclass
class DescentSettings:
    """What the configurations trained together share (scikit-learn's names); each
    :class:`Column` has the rest."""

    batch_size: int = 32  # rows per update; >= n_samples means full batch
    fit_intercept: bool = True
    early_stopping: bool = False  # compare the validation score instead of the loss
    record_path: bool = False  # keep (W, b) after every epoch (K = 1)
    # X is one chunk of a streamed epoch (the Dask loop): only the updates, no loss (``tol``
    # must be None), and a chunk in one batch takes ``batch_grad``, not ``full_grad``
    chunk: bool = False
    # tol="auto" may divide the rates of a stuck run (StopRule.reduce): the engine's own
    # rates (eta0="auto"), not a textbook run's
    cut_rates: bool = True


@dataclass
class Column:
    """One configuration's run (scikit-learn's names): a single fit is one column."""

    schedule: Schedule  # its rates (``scale`` is changed in place by the stopping rule)
    max_iter: int = 1000  # epochs
    # L2 strength (0 without a penalty), or one per feature, (n_features, 1) (preconditioned)
    alpha: float | Array = 0.0
    # "auto": the certificate's rule (StopRule); None: no convergence check, no host sync
    tol: float | str | None = 1e-3
    n_iter_no_change: int = 5
    # optimiser, L1 part of the penalty, averaging (kernels/update.py); default: plain update
    update: UpdateSettings = field(default_factory=UpdateSettings)


@dataclass
class DescentResult:
    """What one configuration's run produced."""

    W: Array  # (n_features, outputs)
    b: Array  # (outputs,)
    # one loss per epoch: 0-d arrays on the device, or floats where the caller gave ``to_host``
    history: list[Any] = field(default_factory=list)
    n_iter: int = 0  # epochs run
    updates: int = 0  # updates made
    converged: bool = False
    diverged_at: int | None = None  # 1-based epoch whose loss was not finite
    path: list[tuple[Array, Array]] = field(default_factory=list)
    # max(loss at the start, loss of the zero model); None for a chunk (settings.chunk)
    reference_loss: Any = None
    state: UpdateState | None = None  # what the stepper carries on (None: plain update)
    stalled: bool = False  # the rule fired far from the minimum
    excess: float | None = None  # tol="auto": the last certified relative excess
    # the caller's verdict after its honest check (``linear_model._base.certified``)
    stop_reason: str | None = None

    def in_data_units(self, factor: float, eps: float, *, auto: bool) -> None:
        """The history and the reference loss of a finished run (floats) times ``factor``
        (the data's units of a preconditioned descent), and ``diverged_at`` by
        :func:`divergent_epoch`. With ``auto`` (``eta0="auto"``) the step cannot diverge: a
        loss that ends above its start is a stochastic fit stopped on a plateau, not a
        blow-up (the caller's certificate says so)."""
        self.history = [v * factor for v in self.history]
        self.reference_loss *= factor
        self.diverged_at = self.diverged_at or divergent_epoch(
            self.history, self.reference_loss, eps, ends_above=not auto
        )


class Certificate(Protocol):
    """``relative_excess(W, b, k)``: how far configuration ``k``'s model is above its
    objective's minimum (loss + penalty), relative to it (:mod:`groundup.kernels.curvature`).
    ``cheap``: no pass over the rows (least squares' moments), so ``tol="auto"`` reads it
    every epoch; else only once the loss has flattened."""

    cheap: bool

    def relative_excess(self, W: Array, b: Array, k: int = 0, /) -> float: ...


# Relative changes below this many machine epsilons are rounding (StopRule, divergent_epoch).
RESOLUTION = 4.0

# tol="auto" (StopRule; AUTO_TOL: a tenth of ``converged_``'s 1 %, TAIL: the tail average's
# η). The bold driver (GROW) took the twelve real data sets of tests/_real_data.py from 130
# to 144 of 144 batch fits within 1 % in 1,000 epochs.
AUTO_TOL = 1e-3
FLAT = 1e-4
CUT = 5.0
MAX_CUTS = 12
GROW = 1.1
GROW_CAP = 1e3
TAIL = 3.0

# A loss this many times the reference (the larger of the starting loss and the zero model's)
# means the iterates are running away even while still finite.
GROWTH_LIMIT = 1e4

RateTable = Callable[[list[Schedule], int, int], Array]
"""``rate_table(schedules, t, count)``: the rates of updates ``t .. t + count - 1`` of each
schedule, an array of shape (count, len(schedules)) on the device."""


def descend(
    objective: Objective,
    X: Array,
    y: Array,
    sample_weight: Array | None,
    W: Array,
    b: Array,
    /,
    *,
    columns: list[Column],
    settings: DescentSettings,
    orders: Iterator[Array | None],
    t_start: int = 1,
    start_loss: Array | None = None,
    state: UpdateState | None = None,
    rate_table: RateTable | None = None,
    to_host: Callable[[Array], list[float]] | None = None,
    on_epoch: Callable[[int, int], None] | None = None,
    certificate: Certificate | None = None,
    xp: Namespace,
) -> list[DescentResult]:
    """Run gradient descent for K configurations at once, ``objective.outputs`` columns of
    ``W`` each, until each has converged, diverged or run its ``max_iter`` epochs.

    Parameters
    ----------
    objective : Objective
        The loss, and its capabilities (:mod:`groundup.kernels.losses`).
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,) or (n_samples, k)
    sample_weight : array of shape (n_samples,) or None
    W : array of shape (n_features, outputs·K)
    b : array of shape (outputs·K,)
    columns : list of Column, length K
        One configuration each (a single fit: one).
    settings : DescentSettings
    orders : iterator
        The epochs' visiting orders, an integer array on the device or ``None`` for the
        natural order, one taken as each epoch over batches starts (a full batch takes
        none): e.g. ``itertools.repeat(None)``, or ``_problem.epoch_orders``' permutations.
    t_start : int
        Number of the first update (1 for a fresh fit; continues for ``partial_fit``).
    start_loss : array of shape (K,) or 0-d, optional
        The losses at the starting ``(W, b)`` where the caller knows them.
    state : UpdateState, optional
        Where the stepper starts (K = 1): the last run's ``DescentResult.state``. The
        result's ``W``, ``b`` are then the running weights, ``path`` holds the model's.
    rate_table : callable, optional
        K > 1: ``rate_table(schedules, t, count)`` -> (count, len(schedules)) rates on the
        device (default: ``Schedule.array`` on the device).
    to_host : callable, optional
        Brings a 1-d array to the host as floats in one transfer: the histories and the
        references then come home as floats (default: they stay 0-d arrays on the device).
    on_epoch : callable, optional
        Called as ``on_epoch(epoch, n_running)`` after every epoch (progress reports).
    certificate : Certificate, optional
        What the columns' ``tol="auto"`` rule reads (without one, "auto" stops where the
        loss has flattened).
    xp : namespace

    Returns
    -------
    list of DescentResult, length K, in the order of ``columns``
    """
    s, K, C = settings, len(columns), objective.outputs
    if s.chunk and any(c.tol is not None for c in columns):
        msg = "DescentSettings(chunk=True) computes no loss: it needs tol=None."
        raise ValueError(msg)
    n = X.shape[0]
    full = s.batch_size >= n
    bs = n if full else s.batch_size
    per_epoch = 1 if full else -(-n // bs)
    stepper = None
    ups = [c.update for c in columns]
    if any(u.optimizer.name != "sgd" or largest(u.l1) or u.average for u in ups):
        stepper = Stepper(
            ups,
            [c.alpha for c in columns],
            outputs=C,
            fit_intercept=s.fit_intercept,
            full=full and not s.chunk,  # a streamed chunk in one batch is a batch
            W=W,
            xp=xp,
            state=state,
        )
    decays_on = stepper is None and any(largest(c.alpha) for c in columns)  # else the stepper's
    full_grad = (  # the gradient over all the rows; a streamed chunk's rows are one batch
        functools.partial(objective.batch_grad, X, y, sample_weight)
        if s.chunk
        else objective.full_grad
    )
    loop = _Loop(
        objective, X, y, sample_weight, s, bs, orders, stepper, columns, rate_table, decays_on,
        full_grad, xp,
    )  # fmt: skip
    if stepper is not None:
        epoch_fn = loop.stepped
    elif full:
        epoch_fn = loop.full
    elif (
        K == 1
        and bs == 1
        and isinstance(objective, ExactSGDEpoch)
        and (objective.speculative or not objective.reads_host)
    ):
        epoch_fn = loop.one_sample
    else:
        epoch_fn = loop.batches
    rules = [
        StopRule(
            c.tol,
            c.n_iter_no_change,
            s.early_stopping,
            math.inf,
            eps=float(xp.finfo(W.dtype).eps),
            reduce=s.cut_rates and not full,
            grow=s.cut_rates and (bs > 1 or objective.curvature_varies),
        )
        for c in columns
    ]

    def pick(Wa: Array, ba: Array, j: int) -> tuple[Array, Array]:  # position j of the active
        if len(active) == 1:
            return Wa, ba
        sel = xp.asarray(_columns_of([j], len(active), C), device=_device(W))
        return xp.take(Wa, sel, axis=1), xp.take(ba, sel, axis=0)

    def model(j: int) -> tuple[Array, Array]:
        return pick(*((W, b) if stepper is None else stepper.model(W, b, t)), j)

    def certify(j: int, k: int) -> float:
        return certificate.relative_excess(*rules[k].model(*model(j)), k)

    check = any(c.tol is not None for c in columns)
    grow = check and any(r.grow for r in rules)
    read = to_host or (lambda v: [float(v[i]) for i in range(v.shape[0])])
    results = [DescentResult(W=W, b=b) for _ in columns]
    pending: list[tuple[list[int], Array]] = []  # (configurations, losses) left on the device
    ref = None
    if not s.chunk:  # max(starting loss, loss of the zero model), per configuration
        start = objective.losses(W, b) if start_loss is None else start_loss
        ref = xp.maximum(start, objective.zero_loss()) + xp.zeros_like(b[:K])
        if check:
            for rule, r in zip(rules, read(ref), strict=True):
                rule.reference = r
    active = list(range(K))
    t, epoch = t_start, 0
    while active:
        epoch += 1
        W, b = epoch_fn(W, b, t, active)
        t += per_epoch
        done = [epoch >= columns[k].max_iter for k in active]
        if not s.chunk:
            losses = objective.losses(W, b)
            pending.append((list(active), losses))
            if s.record_path:
                results[0].path.append((W, b) if stepper is None else stepper.model(W, b, t))
        if check:  # one host transfer: the losses (and the validation scores)
            m = len(active)
            both = xp.concat([losses, objective.scores(W, b)]) if s.early_stopping else losses
            if grow:  # the bold driver reads the objective: the loss + the penalty
                on = [columns[k] for k in active]
                R = penalty(W, [c.alpha for c in on], [c.update.l1 for c in on], C, xp)
                both = xp.concat([both, losses + R])
            values = read(both)
            for j, k in enumerate(active):
                rule, res = rules[k], results[k]
                if rule.tol is None:
                    continue
                if rule.averaging:
                    rule.add(*model(j))
                if rule.diverged(values[j]):
                    res.diverged_at, done[j] = epoch, True
                elif rule.converged(
                    values[j + m] if s.early_stopping else values[j],
                    columns[k].schedule,
                    t,
                    None if certificate is None else functools.partial(certify, j, k),
                    cheap=certificate is not None and certificate.cheap,
                    total=values[len(values) - m + j] if grow else None,
                ):
                    res.converged = done[j] = True
                res.excess, res.stalled = rule.excess, rule.stalled
        if any(done):  # record those that stop (a tail's average where averaged); keep the rest
            ka = len(active)
            for j, k in enumerate(active):
                if done[j]:
                    res = results[k]
                    res.W, res.b = rules[k].model(*pick(W, b, j))
                    res.n_iter, res.updates = epoch, t - t_start
            kept = [j for j in range(ka) if not done[j]]
            if kept:
                configs = xp.asarray(kept, device=_device(W))  # the default integer dtype
                cols = kept if C == 1 else _columns_of(kept, ka, C)
                sel = configs if C == 1 else xp.asarray(cols, device=_device(W))
                W, b = objective.keep(W, b, sel, configs)
                if stepper is not None:
                    stepper.keep(cols)
            active = [active[j] for j in kept]
        if on_epoch is not None:
            on_epoch(epoch, len(active))
    if ref is not None:  # the histories: 0-d arrays on the device, or floats in one transfer
        flat = iter(to_host(xp.concat([ref, *(v for _, v in pending)]))) if to_host else None
        for j, r in enumerate(results):
            r.reference_loss = next(flat) if flat else ref[j]
        for ids, v in pending:
            for j, k in enumerate(ids):
                results[k].history.append(next(flat) if flat else v[j])
    if K == 1 and stepper is not None:
        results[0].state = stepper.state
    return results


@dataclass
class StopRule:
    """scikit-learn's end-of-epoch rule, kept in one place for every loop that runs epochs.

    A run diverges when its loss is not finite or exceeds ``GROWTH_LIMIT`` times the
    reference. With a number as ``tol`` it has converged when ``n_iter_no_change`` epochs in
    a row did not improve on the best value by ``tol`` (the training loss, lower is better;
    or, with ``early_stopping``, the validation score, higher is better); the ``adaptive``
    schedule first divides its rate by 5 and goes on while the rate is above 1e-6. ``tol`` is
    floored at ``RESOLUTION * eps * |best|`` (``eps``: the dtype's): below it is rounding.

    ``tol="auto"`` stops when the certified relative excess (:class:`Certificate`) is at most
    ``AUTO_TOL``, read every epoch where the certificate is ``cheap``, else once the loss has
    flattened (its best improved by less than ``FLAT``, relative, for ``n_iter_no_change``
    epochs; the wait doubles after each reading not yet close enough). A stuck run that
    ``reduce``s (stochastic updates: the noise floor is proportional to the step) first
    averages its epochs' last models (:meth:`add`; the certificate then reads the average and
    the run returns it), then divides its rate by ``CUT``, at most ``MAX_CUTS`` times before
    it stops ``stalled``. Full-batch descent goes on flattened to ``max_iter`` (momentum's
    oscillation and a slow valley are not a minimum). Until a run averages, where it may
    ``grow`` its rate follows Battiti's "bold driver" on ``total`` (the objective: the loss +
    the L2 and L1 penalties): times ``GROW`` after an epoch that lowered it, halved after one
    that raised it (the safe step ``1/L`` is far below the curvature near a log-loss's
    minimum, and no bound for the adaptive optimisers). With ``early_stopping``, "auto" is a
    ``tol`` of ``FLAT`` on the validation score.
    """

    tol: float | None
    n_iter_no_change: int
    early_stopping: bool
    reference: float
    eps: float = 0.0
    reduce: bool = False  # tol="auto": a flattened run divides its rate by CUT
    grow: bool = False  # tol="auto": the bold driver steers the rate (until it averages)
    last: float = math.inf
    averaging: bool = False  # tol="auto", stochastic: the model is the tail's average
    tail: list[Any] | None = None  # [W, b, count]: the tail's average since averaging began
    no_improve: int = 0
    best: float = field(init=False)
    excess: float | None = None  # tol="auto": the last certified relative excess
    stalled: bool = False
    cuts: int = 0
    best_excess: float = math.inf
    since_best: int = 0  # readings since best_excess

    def __post_init__(self) -> None:
        self.best = -math.inf if self.early_stopping else math.inf
        self.auto = self.tol == "auto"
        if self.auto and self.early_stopping:
            self.tol, self.auto = FLAT, False
        self.wait = self.n_iter_no_change

    def add(self, W: Array, b: Array) -> None:
        """Once averaging: the epoch's last model joins the tail average with the weight
        (η + 1)/(count + η), η = TAIL: polynomial-decay averaging (Shamir & Zhang 2013),
        which forgets the tail's first iterates (still on their way down)."""
        if not self.averaging:
            return
        if self.tail is None:
            self.tail = [W, b, 1]
            return
        aW, ab, count = self.tail
        c = (TAIL + 1.0) / (count + 1 + TAIL)
        self.tail = [aW + c * (W - aW), ab + c * (b - ab), count + 1]

    def model(self, W: Array, b: Array) -> tuple[Array, Array]:
        """The run's model: the tail's average once there is one, else ``(W, b)``."""
        return (W, b) if self.tail is None else (self.tail[0], self.tail[1])

    def diverged(self, loss: float) -> bool:
        return not math.isfinite(loss) or loss > GROWTH_LIMIT * self.reference > 0

    def converged(
        self,
        value: float,
        schedule: Schedule,
        t: int,
        certify: Callable[[], float] | None = None,
        *,
        cheap: bool = False,
        total: float | None = None,
    ) -> bool:
        """Record one epoch's loss (or validation score); True when the run should stop.
        ``certify()``: the model's certified relative excess (``tol="auto"``)."""
        if self.tol is None:
            return False
        if not self.auto:
            tol = float(self.tol)
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
        if self.grow and total is not None and not self.averaging:
            schedule.scale *= 1.0 / GROW if total < self.last else 2.0
            schedule.scale = max(schedule.scale, 1.0 / GROW_CAP)
            self.last = total
        flat = value > self.best - FLAT * abs(self.best) if math.isfinite(self.best) else False
        self.no_improve = self.no_improve + 1 if flat else 0
        self.best = min(self.best, value)
        ready = self.no_improve >= self.wait
        if certify is None:  # no certificate given: the loss has flattened
            return ready
        if not (cheap or ready):
            return False
        self.excess = excess = certify()
        if excess <= AUTO_TOL:
            return True
        # stuck: no reading below the best one for n_iter_no_change epochs (cheap) or since
        # the last reading: the noise floor, or the oscillation of the step
        if excess < self.best_excess:
            self.best_excess, self.since_best = excess, 0
        else:
            self.since_best += 1
        stuck = self.since_best >= (self.n_iter_no_change if cheap else 1)
        if not cheap:
            self.no_improve = 0
        if not stuck:
            return False
        if not self.reduce:
            if not cheap:  # the next pass-costly reading after twice the wait
                self.wait *= 2
            return False
        self.since_best, self.best_excess = 0, math.inf
        if not self.averaging:  # the noise floor: average the iterates from here on
            self.averaging = True
            return False
        if self.cuts == MAX_CUTS:
            self.stalled = True
            return True
        schedule.scale *= CUT  # the average stuck too: a smaller step, the tail goes on
        self.cuts += 1
        return False


def penalty(W: Array, alphas: list[Any], l1s: list[Any], C: int, xp: Namespace) -> Array:
    """``R(w) = ½ Σ alpha w² + Σ l1 |w|`` of each configuration (its ``C`` columns of ``W``,
    output by output), (K,): one ``alphas`` and ``l1s`` entry each, a float or one per
    feature, (d, 1)."""
    d, m = W.shape[0], len(alphas)
    ones = xp.ones((d, 1), dtype=W.dtype, device=_device(W))
    A = xp.concat([xp.reshape(a * ones, (d, 1)) for a in alphas], axis=1)
    total = 0.5 * xp.sum(A * xp.sum(xp.reshape(W * W, (d, C, m)), axis=1), axis=0)
    if not any(map(largest, l1s)):
        return total
    L = xp.concat([xp.reshape(v * ones, (d, 1)) for v in l1s], axis=1)
    return total + xp.sum(L * xp.sum(xp.reshape(xp.abs(W), (d, C, m)), axis=1), axis=0)


def _columns_of(configs: list[int], k: int, outputs: int) -> list[int]:
    """Columns of W of the configurations at positions ``configs`` of a group of ``k``."""
    return [c * k + j for c in range(outputs) for j in configs]


@dataclass
class _Loop:
    """The four kinds of epoch; :func:`descend` picks one before its loop."""

    objective: Any
    X: Array
    y: Array
    sw: Array | None
    s: DescentSettings
    bs: int
    orders: Iterator[Array | None]
    stepper: Stepper | None
    columns: list[Column]
    rate_table: RateTable | None
    decays_on: bool  # the plain update's L2 decays (the stepper makes its own)
    full_grad: Callable[[Array, Array], tuple[Array, Array]]  # (W, b) -> the gradient, all rows
    xp: Namespace

    def rates(self, t: int, count: int, active: list[int]) -> tuple[list[Any], list[Any] | None]:
        """The rates (and ``max(0, 1 - eta·alpha)`` decays, ``None`` without them) of updates
        ``t .. t + count - 1``: floats for one configuration; for several, one row
        (outputs·K,) on the device per update, from one table per epoch."""
        xp, columns = self.xp, self.columns
        if len(columns) == 1:
            c = columns[0]
            etas = c.schedule.values(t, count)
            decays = [decay_factor(e, c.alpha, xp=xp) for e in etas] if self.decays_on else None
            return etas, decays
        dt, dev, C = self.X.dtype, _device(self.X), self.objective.outputs
        schedules = [columns[k].schedule for k in active]
        if self.rate_table is not None:
            eta = self.rate_table(schedules, t, count)
        else:
            eta = xp.stack(
                [sc.array(t, count, dtype=dt, device=dev, xp=xp) for sc in schedules], axis=1
            )
        if C > 1:
            eta = xp.tile(eta, (1, C))
        dec = None
        if self.decays_on:
            alpha = xp.asarray([columns[k].alpha for k in active] * C, dtype=dt, device=dev)
            table = decay_factor(eta, alpha, xp=xp)  # 1 where alpha = 0
            dec = [table[u, ...] for u in range(count)]
        return [eta[u, ...] for u in range(count)], dec

    def exact_rates(self, c: Column, t: int) -> Array | None:
        """The exact one-sample epoch's rates on the device, or ``None`` where the decay is
        too large for it (``alpha * eta > MAX_DECAY_STEP``)."""
        n = self.X.shape[0]
        if largest(c.alpha) * largest_rate(c.schedule, t, n) > MAX_DECAY_STEP:
            return None
        return c.schedule.array(t, n, dtype=self.X.dtype, device=_device(self.X), xp=self.xp)

    def full(self, W: Array, b: Array, t: int, active: list[int]) -> tuple[Array, Array]:
        """One full-batch plain update."""
        (eta,), decays = self.rates(t, 1, active)
        gw, gb = self.full_grad(W, b)
        W = W - eta * gw if decays is None else decays[0] * W - eta * gw
        if self.s.fit_intercept:
            b = b - eta * gb
        return W, b

    def batches(self, W: Array, b: Array, t: int, active: list[int]) -> tuple[Array, Array]:
        """Mini-batch updates by the objective's fused step (no host synchronisation)."""
        rows = EpochRows(self.X, self.y, self.sw, next(self.orders), self.xp)
        n, bs, step, fi = self.X.shape[0], self.bs, self.objective.batch_step, self.s.fit_intercept
        etas, decays = self.rates(t, -(-n // bs), active)
        for u, start in enumerate(range(0, n, bs)):
            Xb, yb, sb = rows.take(start, min(start + bs, n))
            W, b = step(Xb, yb, sb, W, b, etas[u], None if decays is None else decays[u], fi)
        return W, b

    def one_sample(self, W: Array, b: Array, t: int, active: list[int]) -> tuple[Array, Array]:
        """The exact one-sample epoch (the objective's ``sgd_epoch``) where the decay allows
        it, else one-sample batches."""
        c = self.columns[0]
        etas = self.exact_rates(c, t)
        if etas is None:
            return self.batches(W, b, t, active)
        return self.objective.sgd_epoch(
            next(self.orders), W, b, etas, c.alpha, self.s.fit_intercept
        )

    def stepped(self, W: Array, b: Array, t: int, active: list[int]) -> tuple[Array, Array]:
        """The stepper's updates (:mod:`groundup.kernels.update`) on the objective's batch
        gradients."""
        xp, stepper, objective = self.xp, self.stepper, self.objective
        n, c, p = self.X.shape[0], self.columns[active[0]], stepper.parts[0]
        if self.bs >= n:  # full batch: the gradient at the engine's own (W, b)
            gw, gb = self.full_grad(W, b)
            eta = self.rates(t, 1, active)[0][0]
            return unpack(stepper.step(pack(W, b, xp=xp), gw, gb, eta, t))
        order = next(self.orders)
        if (
            self.bs == 1
            and stepper.single
            and p.l1 is not None
            and p.state is None
            and not stepper.average
            and isinstance(objective, ExactL1SGDEpoch)
            and objective.speculative
            and (etas := self.exact_rates(c, t)) is not None
        ):  # the exact one-sample epoch, a window at a time
            fi = self.s.fit_intercept
            return objective.l1_sgd_epoch(order, W, b, etas, c.alpha, fi, p.l1, p.l1_state)
        rows = EpochRows(self.X, self.y, self.sw, order, xp)
        etas = self.rates(t, -(-n // self.bs), active)[0]
        theta = pack(W, b, xp=xp)
        d, grad = W.shape[0], objective.batch_grad
        for u, start in enumerate(range(0, n, self.bs)):
            Xb, yb, sb = rows.take(start, min(start + self.bs, n))
            gw, gb = grad(Xb, yb, sb, theta[:d, :], theta[d, :])
            theta = stepper.step(theta, gw, gb, etas[u], t + u)
        return unpack(theta)


def divergent_epoch(
    history: list[float], reference: float, eps: float = 0.0, *, ends_above: bool = True
) -> int | None:
    """1-based epoch at which a run diverged (a loss not finite or above ``GROWTH_LIMIT``
    times the reference), or ``None``. With ``ends_above`` (a step size the user chose), a
    run that ends above the reference by more than rounding (``RESOLUTION * eps``, relative)
    diverged too, at the first epoch above it."""
    for i, v in enumerate(history, start=1):
        if not math.isfinite(v) or v > GROWTH_LIMIT * reference > 0:
            return i
    above = reference * (1.0 + RESOLUTION * eps)
    if ends_above and history and reference > 0 and history[-1] > above:
        return next(i for i, v in enumerate(history, start=1) if v > above)
    return None
