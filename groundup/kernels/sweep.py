"""Vectorised gradient descent for hyper-parameter sweeps: K configurations, one weight matrix.

Configurations that visit the samples in the same order (same method, batch size, seed and
shuffling) train together: ``W`` has shape (n_features, outputs·K), ``outputs`` columns per
configuration (1 for linear and binary logistic models, C for a softmax over C classes, laid
out output by output: column ``c·K + k`` is output ``c`` of configuration ``k``), and each
update is one pair of matrix products for all K. Learning rates and L2 decay factors are per
configuration: each epoch's (updates, K) table of rates comes from the configurations'
:class:`~groundup.kernels.schedules.Schedule` in one go (``Schedule.array``; the caller may
compute it on the host and move it in one transfer) and is read one row per update.

The per-update arithmetic and the per-epoch bookkeeping (scikit-learn's ``tol`` /
``n_iter_no_change`` rule, the ``adaptive`` schedule, divergence) mirror
:func:`groundup.kernels.descent.descend` exactly; the bookkeeping lives in one place,
:meth:`_Column.after_epoch`. An update other than the plain one (optimisers, the L1
penalties) goes through a :class:`~groundup.kernels.update.ColumnStepper` (``update=``): one
gradient product for every column (``batch_grad`` or ``full_grad``), then each
column's own update with its own state, as :class:`~groundup.kernels.update.Stepper` makes
it for one fit. A configuration that finishes (converged, diverged, or at its own
``max_iter``) leaves ``W`` at that epoch and the others go on, so every configuration ends
where the single fit of its configuration ends. The logistic objectives live in
:mod:`groundup.kernels.sweep_logistic`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from array_api_compat import device as _device

from groundup._typing import Array, Namespace
from groundup.kernels.descent import StopRule, divergent_epoch
from groundup.kernels.losses import SquaredLoss
from groundup.kernels.objective import ColumnObjective
from groundup.kernels.rows import EpochRows
from groundup.kernels.schedules import Schedule
from groundup.kernels.update import ColumnStepper, pack, unpack

__all__ = [
    "ColumnResult",
    "ColumnSettings",
    "GroupSettings",
    "RateTable",
    "SquaredLossColumns",
    "descend_columns",
    "device_rate_table",
]


@dataclass
class ColumnSettings:
    """What may differ between the configurations of one group (scikit-learn's names)."""

    max_iter: int = 1000  # epochs
    alpha: float = 0.0  # L2 strength applied in the update (0 without a penalty)
    tol: float | None = 1e-3  # None: no convergence check for this configuration
    n_iter_no_change: int = 5
    ends_above: bool = True  # ending above the start counts as divergence (a chosen eta0)


@dataclass
class GroupSettings:
    """What the configurations of one group share: the visiting order and the objective."""

    batch_size: int = 32  # rows per update; >= n_samples means full batch
    fit_intercept: bool = True
    early_stopping: bool = False  # compare the validation score (for columns with a tol)


@dataclass
class ColumnResult:
    """What one configuration of a group produced."""

    coef: Array  # (n_features,), or (n_features, outputs) when outputs > 1; on the device
    intercept: Array  # 0-d, or (outputs,) when outputs > 1
    history: list[float] = field(default_factory=list)  # training loss after each epoch
    n_iter: int = 0  # epochs run
    updates: int = 0  # updates made
    converged: bool = False
    diverged_at: int | None = None  # 1-based epoch at which the run diverged
    reference: float = math.inf  # max(starting loss, loss of the zero model)
    stalled: bool = False  # the rule fired far from the minimum (set by the caller)


class SquaredLossColumns(SquaredLoss):
    """:class:`~groundup.kernels.losses.SquaredLoss` with one loss and score per column.

    ``batch_grad`` and ``full_grad`` already take ``W`` of shape (n_features, K); ``losses``
    and ``scores`` are the column-wise ``loss`` and ``score`` (same formulas, shape (K,));
    ``batch_step`` takes a learning rate and a decay factor per column.
    """

    outputs = 1

    def keep(self, W: Array, b: Array, columns: Array, configs: Array) -> tuple[Array, Array]:
        """``W``, ``b`` restricted to ``columns``; the moments' terms at ``(W, b)`` with them."""
        xp = self.xp
        W2, b2 = xp.take(W, columns, axis=1), xp.take(b, columns, axis=0)
        last = self._last
        if last is not None and last[0] is W and last[1] is b:
            sw, delta, mse = last[2]
            terms = (xp.take(sw, columns, axis=1), xp.take(delta, columns), xp.take(mse, columns))
            self._last = (W2, b2, terms)
        return W2, b2

    def _mses(self, X: Array, y: Array, sw: Array | None, W: Array, b: Array) -> Array:
        xp = self.xp
        r2 = (X @ W + b - xp.reshape(y, (-1, 1))) ** 2
        if sw is None:
            return xp.mean(r2, axis=0)
        return xp.sum(xp.reshape(sw, (-1, 1)) * r2, axis=0) / xp.sum(sw)

    def losses(self, W: Array, b: Array) -> Array:
        """Training MSE of every column, shape (K,)."""
        if self.stats is not None:
            return self._train_terms(W, b)[2]
        return self._mses(self.X, self.y, self.sw, W, b)

    def scores(self, W: Array, b: Array) -> Array:
        """Validation R² of every column, shape (K,)."""
        xp = self.xp
        if self.val_stats is not None:
            st = self.val_stats
            return 1.0 - self._stats_terms(st, W, b)[2] / (st.syy / st.n)
        yv = self.y_val
        mse = self._mses(self.X_val, yv, None, W, b)
        return 1.0 - mse / xp.mean((yv - xp.mean(yv)) ** 2)


class _Column:
    """Host-side state of one configuration: its schedule and its convergence bookkeeping."""

    def __init__(
        self, schedule: Schedule, settings: ColumnSettings, early_stopping: bool, eps: float
    ):
        self.schedule = schedule
        self.s = settings
        self.early_stopping = early_stopping and settings.tol is not None
        # descend's rule; its reference stays inf (nothing checked) until the first epoch
        self.rule = StopRule(
            settings.tol, settings.n_iter_no_change, self.early_stopping, math.inf, eps=eps
        )
        self.history: list[float] = []
        self.converged = False
        self.diverged_at: int | None = None

    @property
    def reference(self) -> float:
        return self.rule.reference

    @reference.setter
    def reference(self, value: float) -> None:
        self.rule.reference = value

    def after_epoch(self, epoch: int, value: float, score: float, t: int) -> bool:
        """Record the epoch's loss (and validation score); True when this column stops here.

        The same rule, in the same order, as the per-epoch check of ``descend``.
        """
        self.history.append(value)
        if self.s.tol is None:
            return epoch >= self.s.max_iter
        if self.rule.diverged(value):
            self.diverged_at = epoch
            return True
        if self.rule.converged(score if self.early_stopping else value, self.schedule, t):
            self.converged = True
            return True
        return epoch >= self.s.max_iter


def _host_floats(v: Array) -> list[float]:
    return [float(v[i]) for i in range(v.shape[0])]


RateTable = Callable[[list[Schedule], int, int], Array]
"""``rate_table(schedules, t, count)``: the rates of updates ``t .. t + count - 1`` of each
schedule, an array of shape (count, len(schedules)) on the device."""


def device_rate_table(dtype: Any, device: Any, xp: Namespace) -> RateTable:
    """The rate table computed on the device, one ``Schedule.array`` per configuration."""

    def table(schedules: list[Schedule], t: int, count: int) -> Array:
        return xp.stack(
            [sch.array(t, count, dtype=dtype, device=device, xp=xp) for sch in schedules], axis=1
        )

    return table


class _Rates:
    """Each epoch's learning rates and decay factors, (updates, outputs·K) on the device."""

    def __init__(
        self,
        cols: list[_Column],
        outputs: int,
        table: RateTable,
        dtype: Any,
        device: Any,
        xp: Namespace,
    ) -> None:
        self.cols, self.outputs, self.table = cols, outputs, table
        self.dtype, self.device, self.xp = dtype, device, xp
        self.decays = any(c.s.alpha for c in cols)

    def _per_column(self, table: Array) -> Array:
        """(updates, K) -> (updates, outputs·K): each configuration's value on its columns."""
        return table if self.outputs == 1 else self.xp.tile(table, (1, self.outputs))

    def epoch(self, active: list[int], t: int, count: int) -> tuple[Array, Array | None]:
        """Rates (and ``max(0, 1 - eta·alpha)`` factors, or ``None``) of updates ``t ..
        t + count - 1`` for the ``active`` configurations."""
        xp = self.xp
        eta = self.table([self.cols[k].schedule for k in active], t, count)
        dec = None
        if self.decays:
            alpha = [self.cols[k].s.alpha for k in active]
            alpha_d = xp.asarray(alpha, dtype=self.dtype, device=self.device)
            dec = self._per_column(xp.clip(1.0 - eta * alpha_d, min=0.0))  # 1 where alpha = 0
        return self._per_column(eta), dec


def _columns_of(configs: list[int], k: int, outputs: int) -> list[int]:
    """Columns of W (output by output) that hold the configurations at positions
    ``configs`` of a group of ``k``."""
    return [c * k + j for c in range(outputs) for j in configs]


def descend_columns(
    objective: ColumnObjective,
    X: Array,
    y: Array,
    sample_weight: Array | None,
    W: Array,
    b: Array,
    /,
    *,
    schedules: list[Schedule],
    columns: list[ColumnSettings],
    settings: GroupSettings,
    orders: Callable[[], Array | None],
    t_start: int = 1,
    start_losses: Array | None = None,
    rate_table: RateTable | None = None,
    to_host: Callable[[Array], list[float]] | None = None,
    on_epoch: Callable[[int, int], None] | None = None,
    update: ColumnStepper | None = None,
    xp: Namespace,
) -> list[ColumnResult]:
    """Run gradient descent for K configurations at once, ``outputs`` columns of ``W`` each.

    Parameters
    ----------
    objective : ColumnObjective
        Has ``outputs`` (columns per configuration), ``batch_step(Xb, yb, sb, W, b, eta,
        decay, fit_intercept)`` (one mini-batch update of every column; ``eta`` and
        ``decay`` of shape (outputs·K,)), ``full_grad(W, b)``, ``losses(W, b)`` (shape (K,)),
        ``scores(W, b)`` (shape (K,), for early stopping), ``zero_loss()`` and ``keep(W, b,
        columns, configs)`` (restrict ``W``, ``b`` and what the objective keeps about them
        to the configurations that go on): :class:`~groundup.kernels.objective.
        ColumnObjective`. E.g. :class:`SquaredLossColumns`,
        :class:`~groundup.kernels.sweep_logistic.BinaryLogLossColumns`.
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,) or (n_samples, n_targets)
    sample_weight : array of shape (n_samples,) or None
    W : array of shape (n_features, outputs·K)
        Starting weights, output by output: configuration ``k`` in columns ``k, K + k, ...,
        (outputs - 1)·K + k``.
    b : array of shape (outputs·K,)
        Starting intercepts, laid out as the columns of ``W``.
    schedules : list of Schedule, length K
        Each configuration's learning-rate schedule (``adaptive`` ones are changed in place).
    columns : list of ColumnSettings, length K
    settings : GroupSettings
    orders : callable
        Returns the next epoch's visiting order (an integer array on the device) or ``None``
        for the natural order; called once per epoch, as ``descend`` calls it.
    t_start : int
        Number of the first update.
    start_losses : array of shape (K,) or 0-d, optional
        The losses at the starting ``(W, b)`` where the caller knows them (a fresh start at
        zero: ``objective.zero_loss()``), which saves a pass over the data.
    rate_table : callable, optional
        ``rate_table(schedules, t, count)`` -> (count, len(schedules)) array of learning
        rates on the device (e.g. computed on the host and moved in one transfer); the
        default computes them on the device (:func:`device_rate_table`).
    to_host : callable, optional
        Brings a 1-d array to the host as a list of floats in one transfer (the backend's
        fast path); the fallback reads it element by element.
    on_epoch : callable, optional
        Called as ``on_epoch(epoch, n_running)`` after every epoch (progress reports).
    update : ColumnStepper, optional
        Every column's optimiser and L1 part (:class:`~groundup.kernels.update.
        ColumnStepper`, built for this ``W``): each update is then the objective's
        ``batch_grad`` (or ``full_grad``) for all columns, one product, followed by the
        stepper's update of each column with its own state; the ``alpha`` of ``columns``
        is then the stepper's business (give the stepper the L2 strengths). ``None``: the
        plain update of every column.

    Returns
    -------
    list of ColumnResult, length K
        In the order of the configurations.

    Notes
    -----
    The host reads the (K,) losses (and the scores, in the same transfer) once per epoch
    when some configuration has a ``tol`` (the check); otherwise the losses stay on the
    device until the end (one transfer), as in ``descend``. A configuration diverged where
    the estimator would raise ``DivergenceError``: in the loop when its loss is not finite
    or ``GROWTH_LIMIT`` times the reference (the larger of its starting loss and the zero
    model's), after the fit by :func:`~groundup.kernels.descent.divergent_epoch`;
    ``diverged_at`` is that epoch.
    """
    s = settings
    n = X.shape[0]
    C = objective.outputs
    K = W.shape[1] // C
    full = s.batch_size >= n
    bs = n if full else s.batch_size
    per_epoch = 1 if full else math.ceil(n / bs)
    read = to_host if to_host is not None else _host_floats
    eps = float(xp.finfo(W.dtype).eps)
    cols = [
        _Column(sch, cs, s.early_stopping, eps) for sch, cs in zip(schedules, columns, strict=True)
    ]
    check = any(cs.tol is not None for cs in columns)
    dev, dt = _device(W), W.dtype
    table = rate_table if rate_table is not None else device_rate_table(dt, dev, xp)
    rates = _Rates(cols, C, table, dt, dev, xp)
    if update is not None:
        rates.decays = False  # the stepper applies each column's L2 strength
    results: list[ColumnResult | None] = [None] * K
    pending: list[tuple[list[int], Array]] = []  # (configurations, losses) left on the device
    active = list(range(K))
    # descend's reference: max(starting loss, loss of the zero model), per configuration.
    start = objective.losses(W, b) if start_losses is None else start_losses
    ref = xp.maximum(start, objective.zero_loss()) + xp.zeros((K,), dtype=dt, device=dev)
    if check:
        for c, r in zip(cols, read(ref), strict=True):
            c.reference = r
    t = t_start
    epoch = 0
    while active:
        epoch += 1
        eta, dec = rates.epoch(active, t, per_epoch)
        if update is not None:
            W, b = _stepped_epoch(
                objective, update, X, y, sample_weight, W, b, eta, t, full, bs, orders, xp=xp
            )
        elif full:
            gw, gb = objective.full_grad(W, b)
            W, b = _step(W, b, gw, gb, eta[0, :], None if dec is None else dec[0, :], s)
        else:
            rows = EpochRows(X, y, sample_weight, orders(), xp)
            for u, first in enumerate(range(0, n, bs)):
                Xb, yb, sb = rows.take(first, min(first + bs, n))
                W, b = objective.batch_step(
                    Xb, yb, sb, W, b, eta[u, :], None if dec is None else dec[u, :], s.fit_intercept
                )
        t += per_epoch
        losses = objective.losses(W, b)
        if check:
            need_scores = any(cols[k].early_stopping for k in active)
            if need_scores:
                both = read(xp.concat([losses, objective.scores(W, b)]))
                values, scores = both[: len(active)], both[len(active) :]
            else:
                values = scores = read(losses)
            done = [
                cols[k].after_epoch(epoch, values[j], scores[j], t) for j, k in enumerate(active)
            ]
        else:
            pending.append((list(active), losses))
            done = [epoch >= cols[k].s.max_iter for k in active]
        if any(done):
            ka = len(active)
            kept = []
            for j, k in enumerate(active):
                if done[j]:
                    results[k] = ColumnResult(
                        *_parameters_of(W, b, j, ka, C, xp=xp),
                        n_iter=epoch,
                        updates=t - t_start,
                    )
                else:
                    kept.append(j)
            active = [active[j] for j in kept]
            if active:
                configs = xp.asarray(kept, device=dev)  # the default integer dtype
                sel = configs if C == 1 else xp.asarray(_columns_of(kept, ka, C), device=dev)
                W, b = objective.keep(W, b, sel, configs)
                if update is not None:
                    update.keep(kept if C == 1 else _columns_of(kept, ka, C))
        if on_epoch is not None:
            on_epoch(epoch, len(active))
    out: list[ColumnResult] = [r for r in results if r is not None]
    if check:
        for r, c in zip(out, cols, strict=True):
            r.history, r.converged, r.diverged_at = c.history, c.converged, c.diverged_at
            r.reference = c.reference
    else:
        _unpack_pending(pending, ref, out, read, xp=xp)
    for r, cs in zip(out, columns, strict=True):
        # The estimator's check after the fit (GroundupEstimator._descend).
        r.diverged_at = r.diverged_at or divergent_epoch(
            r.history, r.reference, eps, ends_above=cs.ends_above
        )
    return out


def _parameters_of(
    W: Array, b: Array, j: int, k: int, outputs: int, *, xp: Namespace
) -> tuple[Array, Array]:
    """Configuration ``j`` of ``k``: coefficients (n_features,) and a 0-d intercept, or
    (n_features, outputs) and (outputs,)."""
    if outputs == 1:
        return W[:, j], b[j]
    sel = xp.asarray(_columns_of([j], k, outputs), device=_device(W))
    return xp.take(W, sel, axis=1), xp.take(b, sel, axis=0)


def _stepped_epoch(
    objective: Any,
    update: ColumnStepper,
    X: Array,
    y: Array,
    sample_weight: Array | None,
    W: Array,
    b: Array,
    eta: Array,
    t: int,
    full: bool,
    bs: int,
    orders: Callable[[], Array | None],
    *,
    xp: Namespace,
) -> tuple[Array, Array]:
    """One epoch of the stepper's updates (``descend``'s ``_stepped``, K columns): per
    update one gradient for every column, then each column's own update."""
    if full:
        gw, gb = objective.full_grad(W, b)
        return unpack(update.step(pack(W, b, xp=xp), gw, gb, eta[0, :], t))
    n, d = X.shape[0], W.shape[0]
    rows = EpochRows(X, y, sample_weight, orders(), xp)
    theta = pack(W, b, xp=xp)
    for u, first in enumerate(range(0, n, bs)):
        Xb, yb, sb = rows.take(first, min(first + bs, n))
        gw, gb = objective.batch_grad(Xb, yb, sb, theta[:d, :], theta[d, :])
        theta = update.step(theta, gw, gb, eta[u, :], t + u)
    return unpack(theta)


def _step(
    W: Array, b: Array, gw: Array, gb: Array, eta: Array, dec: Array | None, s: GroupSettings
) -> tuple[Array, Array]:
    """``descend``'s update with a learning rate (and a decay factor) per column."""
    W = W - eta * gw if dec is None else dec * W - eta * gw
    if s.fit_intercept:
        b = b - eta * gb
    return W, b


def _unpack_pending(
    pending: list[tuple[list[int], Array]],
    ref: Array,
    out: list[ColumnResult],
    read: Callable[[Array], list[float]],
    *,
    xp: Namespace,
) -> None:
    """Bring the histories and the references home in one transfer."""
    values = read(xp.concat([ref, *(v for _, v in pending)]))
    for r, v in zip(out, values[: len(out)], strict=True):
        r.reference = v
    pos = len(out)
    for ids, _ in pending:
        for k in ids:
            out[k].history.append(values[pos])
            pos += 1
