"""Vectorised gradient descent for hyper-parameter sweeps: K configurations, one weight matrix.

Configurations that visit the samples in the same order (same method, batch size, seed and
shuffling) train together: ``W`` has shape (n_features, K), one column per configuration, and
each update is one pair of matrix products for all K. Learning rates and L2 decay factors are
per column: (K,) vectors built on the host once per epoch from each column's
:class:`~groundup.kernels.schedules.Schedule` and moved to the device in one transfer.

The per-update arithmetic and the per-epoch bookkeeping (scikit-learn's ``tol`` /
``n_iter_no_change`` rule, the ``adaptive`` schedule, divergence) mirror
:func:`groundup.kernels.descent.descend` exactly; the bookkeeping lives in one place,
:meth:`_Column.after_epoch`. A column that finishes (converged, diverged, or at its own
``max_iter``) leaves ``W`` at that epoch and the others go on, so every column ends where the
single fit of its configuration ends.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from array_api_compat import device as _device

from groundup._typing import Array, Namespace
from groundup.kernels.descent import StopRule, batch_rows, divergent_epoch
from groundup.kernels.logistic import BinaryLogLoss
from groundup.kernels.losses import SquaredLoss
from groundup.kernels.schedules import Schedule

__all__ = [
    "BinaryLogLossColumns",
    "ColumnResult",
    "ColumnSettings",
    "GroupSettings",
    "SquaredLossColumns",
    "descend_columns",
]


@dataclass
class ColumnSettings:
    """What may differ between the columns of one group (scikit-learn's names)."""

    max_iter: int = 1000  # epochs
    alpha: float = 0.0  # L2 strength applied in the update (0 without a penalty)
    tol: float | None = 1e-3  # None: no convergence check for this column
    n_iter_no_change: int = 5


@dataclass
class GroupSettings:
    """What the columns of one group share: the visiting order and the objective."""

    batch_size: int = 32  # rows per update; >= n_samples means full batch
    fit_intercept: bool = True
    early_stopping: bool = False  # compare the validation score (for columns with a tol)


@dataclass
class ColumnResult:
    """What one column (one configuration) of a group produced."""

    coef: Array  # shape (n_features,), on the device
    intercept: Array  # 0-d, on the device
    history: list[float] = field(default_factory=list)  # training loss after each epoch
    n_iter: int = 0  # epochs run
    updates: int = 0  # updates made
    converged: bool = False
    diverged_at: int | None = None  # 1-based epoch at which the run diverged
    reference: float = math.inf  # max(starting loss, loss of the zero model)


class SquaredLossColumns(SquaredLoss):
    """:class:`~groundup.kernels.losses.SquaredLoss` with one loss and score per column.

    ``batch_grad`` and ``full_grad`` already take ``W`` of shape (n_features, K); ``losses``
    and ``scores`` are the column-wise ``loss`` and ``score`` (same formulas, shape (K,)).
    """

    def _mses(self, X: Array, y: Array, sw: Array | None, W: Array, b: Array) -> Array:
        xp = self.xp
        r2 = (X @ W + b - xp.reshape(y, (-1, 1))) ** 2
        if sw is None:
            return xp.mean(r2, axis=0)
        return xp.sum(xp.reshape(sw, (-1, 1)) * r2, axis=0) / xp.sum(sw)

    def losses(self, W: Array, b: Array) -> Array:
        """Training MSE of every column, shape (K,)."""
        if self.stats is not None:
            return self._stats_terms(self.stats, W, b)[2]
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


class BinaryLogLossColumns(BinaryLogLoss):
    """:class:`~groundup.kernels.logistic.BinaryLogLoss` for K binary models, one per column.

    ``y`` holds 0/1 in X's dtype. ``batch_grad`` and ``full_grad`` take ``W`` of shape
    (n_features, K) (the same fused pass as the single model's); ``losses`` is the mean
    log-loss of every column and ``scores`` the validation accuracy of every column, (K,).
    """

    per_column = True

    def losses(self, W: Array, b: Array) -> Array:
        """Training mean log-loss of every column (weighted, no penalty), shape (K,)."""
        return self.loss(W, b)

    def scores(self, W: Array, b: Array) -> Array:
        """Validation accuracy of every column, shape (K,)."""
        xp = self.xp
        dt = self.X_val.dtype
        pred = xp.astype((self.X_val @ W + b) > 0, dt)
        hit = pred == xp.reshape(self.y_val, (-1, 1))
        return xp.mean(xp.astype(hit, dt), axis=0)


class _Column:
    """Host-side state of one column: its schedule and its convergence bookkeeping."""

    def __init__(self, schedule: Schedule, settings: ColumnSettings, early_stopping: bool):
        self.schedule = schedule
        self.s = settings
        self.early_stopping = early_stopping and settings.tol is not None
        # descend's rule; its reference stays inf (nothing checked) until the first epoch
        self.rule = StopRule(settings.tol, settings.n_iter_no_change, self.early_stopping, math.inf)
        self.history: list[float] = []
        self.converged = False
        self.diverged_at: int | None = None

    @property
    def reference(self) -> float:
        return self.rule.reference

    @reference.setter
    def reference(self, value: float) -> None:
        self.rule.reference = value

    def decay(self, eta: float) -> float:
        # The factor of descend's _step_w: max(0, 1 - eta*alpha) * W (1 without a penalty).
        return max(0.0, 1.0 - eta * self.s.alpha) if self.s.alpha else 1.0

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


def descend_columns(
    objective: Any,
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
    to_host: Callable[[Array], list[float]] | None = None,
    on_epoch: Callable[[int, int], None] | None = None,
    xp: Namespace,
) -> list[ColumnResult]:
    """Run gradient descent for K configurations at once, one column of ``W`` each.

    Parameters
    ----------
    objective : object
        Has ``batch_grad(Xb, yb, sb, W, b)`` and ``full_grad(W, b)`` for ``W`` of shape
        (n_features, K), ``losses(W, b)`` (shape (K,)) and, for early stopping,
        ``scores(W, b)`` (shape (K,)); e.g. :class:`SquaredLossColumns`.
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,)
    sample_weight : array of shape (n_samples,) or None
    W : array of shape (n_features, K)
        Starting weights, one column per configuration.
    b : array of shape (K,)
        Starting intercepts.
    schedules : list of Schedule, length K
        Each column's learning-rate schedule (``adaptive`` ones are changed in place).
    columns : list of ColumnSettings, length K
    settings : GroupSettings
    orders : callable
        Returns the next epoch's visiting order (an integer array on the device) or ``None``
        for the natural order; called once per epoch, as ``descend`` calls it.
    t_start : int
        Number of the first update.
    to_host : callable, optional
        Brings a (K,) array to the host as a list of floats in one transfer (the backend's
        fast path); the fallback reads it element by element.
    on_epoch : callable, optional
        Called as ``on_epoch(epoch, n_running)`` after every epoch (progress reports).
    xp : namespace

    Returns
    -------
    list of ColumnResult, length K
        In the order of the columns of ``W``.

    Notes
    -----
    The host reads the (K,) losses once per epoch when some column has a ``tol`` (the
    check); otherwise the losses stay on the device until the end (one transfer), as in
    ``descend``. A column diverged where the estimator would raise ``DivergenceError``:
    in the loop when its loss is not finite or ``GROWTH_LIMIT`` times the reference (the
    larger of its starting loss and the zero model's), after the fit by
    :func:`~groundup.kernels.descent.divergent_epoch`; ``diverged_at`` is that epoch.
    """
    s = settings
    n = X.shape[0]
    K = W.shape[1]
    full = s.batch_size >= n
    bs = n if full else s.batch_size
    per_epoch = 1 if full else math.ceil(n / bs)
    read = to_host if to_host is not None else _host_floats
    cols = [_Column(sch, cs, s.early_stopping) for sch, cs in zip(schedules, columns, strict=True)]
    check = any(cs.tol is not None for cs in columns)
    decays = any(cs.alpha for cs in columns)
    dev, dt = _device(W), W.dtype
    results: list[ColumnResult | None] = [None] * K
    pending: list[tuple[list[int], Array]] = []  # (columns, losses) left on the device
    active = list(range(K))
    # descend's reference: max(starting loss, loss of the zero model), per column.
    zero_loss = getattr(objective, "zero_loss", None)
    zero = (
        zero_loss()
        if zero_loss is not None
        else objective.losses(xp.zeros_like(W), xp.zeros_like(b))
    )
    ref = xp.maximum(objective.losses(W, b), zero)
    if check:
        for c, r in zip(cols, read(ref), strict=True):
            c.reference = r
    t = t_start
    epoch = 0
    while active:
        epoch += 1
        # Rates of this epoch's updates, (K_active, per_epoch): one transfer per epoch.
        rates = [cols[k].schedule.values(t, per_epoch) for k in active]
        eta = xp.asarray(rates, dtype=dt, device=dev)
        dec = None
        if decays:
            factors = [[cols[k].decay(e) for e in r] for k, r in zip(active, rates, strict=True)]
            dec = xp.asarray(factors, dtype=dt, device=dev)
        if full:
            gw, gb = objective.full_grad(W, b)
            W, b = _step(W, b, gw, gb, eta[:, 0], None if dec is None else dec[:, 0], s)
        else:
            order = orders()
            for u, start in enumerate(range(0, n, bs)):
                rows = batch_rows(X, y, sample_weight, order, start, min(start + bs, n), xp=xp)
                Xb, yb, sb = rows
                gw, gb = objective.batch_grad(Xb, yb, sb, W, b)
                W, b = _step(W, b, gw, gb, eta[:, u], None if dec is None else dec[:, u], s)
        t += per_epoch
        losses = objective.losses(W, b)
        if check:
            values = read(losses)
            need_scores = any(cols[k].early_stopping for k in active)
            scores = read(objective.scores(W, b)) if need_scores else values
            done = [
                cols[k].after_epoch(epoch, values[j], scores[j], t) for j, k in enumerate(active)
            ]
        else:
            pending.append((list(active), losses))
            done = [epoch >= cols[k].s.max_iter for k in active]
        if any(done):
            keep = []
            for j, k in enumerate(active):
                if done[j]:
                    results[k] = ColumnResult(
                        coef=W[:, j], intercept=b[j], n_iter=epoch, updates=t - t_start
                    )
                else:
                    keep.append(j)
            active = [active[j] for j in keep]
            if active:
                sel = xp.asarray(keep, device=dev)  # the default integer dtype
                W, b = xp.take(W, sel, axis=1), xp.take(b, sel, axis=0)
        if on_epoch is not None:
            on_epoch(epoch, len(active))
    out: list[ColumnResult] = [r for r in results if r is not None]
    if check:
        for r, c in zip(out, cols, strict=True):
            r.history, r.converged, r.diverged_at = c.history, c.converged, c.diverged_at
            r.reference = c.reference
    else:
        _unpack_pending(pending, ref, out, read, xp=xp)
    for r in out:
        # The estimator's check after the fit (GroundupEstimator._run_descent).
        r.diverged_at = r.diverged_at or divergent_epoch(r.history, r.reference)
    return out


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
