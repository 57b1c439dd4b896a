"""The streamed gradient fits on Dask data (``sgd`` / ``minibatch``), one loop for linear and
logistic regression (:class:`StreamProblem`, built by ``DaskSource``).

Every epoch the row chunks travel through this process one at a time (the next one loading
meanwhile, :meth:`DaskBackend.stream`); the descent engine makes its updates on each chunk, a
NumPy (or CuPy) array, with the model's own kernel objective; then the epoch's training loss
(and, with ``early_stopping``, the validation score) comes from the model: from the moments
gathered before the first epoch (linear) or one tree reduction over the chunks (logistic).

**Visiting order.** One NumPy ``Generator`` seeded from ``random_state`` first draws the
early-stopping split (the estimator's draw, the in-memory fit's: the held-out rows are the
same ones; here they stay in their chunks, marked by a mask), then, each epoch with
``shuffle=True``:

1. a permutation of the chunks (only when there is more than one);
2. chunk by chunk in that order, a permutation of the chunk's training rows (the rows of the
   chunk that are not held out, in their original order, then permuted), drawn whether or
   not the chunk fills a batch (a chunk without training rows draws nothing).

Batches are consecutive slices of that permutation and never cross chunk boundaries: a
chunk's last batch may be short (it is a batch of its own: the mean gradient over its rows).
``sgd`` is ``batch_size=1``. The learning rate's update counter ``t`` runs on across chunks
and epochs, and the schedule counts ``sum(ceil(rows / batch_size))`` updates per epoch. With
``shuffle=False`` the chunks come in their order and the rows in theirs. Sample weights are
normalised to mean 1 over all training rows (the in-memory fit's normalisation), so one
update is the in-memory update of the same rows.

With one chunk this is exactly the in-memory fit (same draws, same updates); with
``shuffle=False`` and every chunk's training rows a multiple of ``batch_size`` (always for
``sgd``) it is too. The end-of-epoch rule (divergence, ``tol`` / ``n_iter_no_change``,
``adaptive``) is the engine's :class:`StopRule`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from groundup import backends
from groundup._typing import Array
from groundup.backends import Backend
from groundup.dask._data import DaskData, keep_rows
from groundup.kernels.curvature import largest_row
from groundup.kernels.descent import (
    Certificate,
    Column,
    DescentResult,
    DescentSettings,
    StopRule,
    descend,
    l2_penalty,
)
from groundup.kernels.update import UpdateState, unpack

__all__ = ["StreamProblem"]


@dataclass
class StreamProblem:
    """The streamed fit of one model: the estimator's training problem for ``sgd`` and
    ``minibatch`` on Dask data (``rows``, ``updates_per_epoch``, ``run``, ``objective``).

    ``data`` holds X (n, d), the targets the chunk objective takes (n,) and the raw sample
    weights (n,) or ``None``; ``held`` the early-stopping rows (a host boolean mask, or
    ``None``) and ``mask`` the same chunked like X.
    """

    data: DaskData
    held: np.ndarray | None
    mask: Array | None
    #: The kernel objective of one chunk's training rows: ``(X, y, sw, backend)`` in the
    #: chunk's own library -> an ``Objective`` (:mod:`groundup.kernels.losses`).
    chunk_objective: Callable[[Array, Array, Array | None, Backend], Any]
    #: The training loss of the whole training set at ``(W, b)`` (NumPy), as a float.
    loss: Callable[[np.ndarray, np.ndarray], float]
    #: Scale of the sample weights: training rows / their total weight (``None``: no weights).
    factor: float | None
    #: The objective of the whole training set on the host (its zero model's loss, the
    #: early-stopping score, separability, the certificate).
    objective: Any

    @property
    def rows(self) -> int:
        return sum(self.train_rows())

    def updates_per_epoch(self, batch_size: int) -> int:
        return sum(math.ceil(r / batch_size) for r in self.train_rows())

    def curvature(self, *, batch: bool, fit_intercept: bool) -> float:
        """The largest single training row's ``w_i (‖x_i‖² + fit_intercept)`` (one pass, a
        tree reduction): the bound behind ``eta0="auto"`` for sgd / minibatch."""
        fn = functools.partial(_chunk_largest_row, factor=self.factor, fit_intercept=fit_intercept)
        data = self.data
        arrays = [data.X, data.sample_weight, self.mask]
        return float(data.backend.tree_reduce(fn, max, arrays))

    def train_rows(self) -> list[int]:
        """Training rows of every chunk, in the chunks' order."""
        sizes = self.data.backend.row_chunks(self.data.X)
        if self.held is None:
            return list(sizes)
        edges = np.cumsum((0, *sizes))
        return [
            int(np.count_nonzero(~self.held[a:b]))
            for a, b in zip(edges[:-1], edges[1:], strict=True)
        ]

    def run(
        self,
        W: np.ndarray,
        b: np.ndarray,
        *,
        column: Column,
        settings: DescentSettings,
        shuffle: bool,
        rng: np.random.Generator,
        t0: int,
        start_loss: Any = None,
        state: UpdateState | None = None,
        certificate: Certificate | None = None,
    ) -> tuple[DescentResult, np.ndarray, float]:
        """Up to ``column.max_iter`` epochs over the streamed chunks (the order in the
        module's docstring) from ``W`` (n_features, k), ``b`` (k,) on the host; the update's
        ``state`` (an optimiser's, the L1 truncation's, the average) goes from chunk to chunk
        on the host. Returns the engine's result, the loss history and the reference loss
        (the larger of the start's and the zero model's: ``start_loss`` is not needed)."""
        be = self.data.backend
        rows = self.train_rows()
        chunk_settings = dataclasses.replace(
            settings, early_stopping=False, record_path=False, chunk=True
        )
        chunk_column = dataclasses.replace(column, max_iter=1, tol=None)
        reference = max(self.loss(W, b), float(self.objective.zero_loss()))
        tol, early, cut = column.tol, settings.early_stopping, settings.cut_rates
        grow = cut and (settings.batch_size > 1 or self.objective.curvature_varies)
        eps = float(np.finfo(self.data.dtype).eps)
        shrink = cut and settings.batch_size < sum(rows)
        rule = StopRule(
            tol, column.n_iter_no_change, early, reference, eps=eps, reduce=shrink, grow=grow
        )
        res = DescentResult(W=W, b=b, reference_loss=reference)
        history: list[float] = []
        t = t0
        arrays = [self.data.X, self.data.y, self.data.sample_weight, self.mask]
        for epoch in range(1, column.max_iter + 1):
            nb = len(rows)
            order = rng.permutation(nb) if shuffle and nb > 1 else np.arange(nb)
            for chunk in be.stream(arrays, order):
                W, b, t, state = _chunk_epoch(
                    self, chunk, W, b, t, rng, shuffle, chunk_column, chunk_settings, state
                )
            loss = self.loss(W, b)
            history.append(loss)
            res.n_iter = epoch
            if settings.record_path:
                res.path.append(tuple(a.copy() for a in _model(state, column, W, b, t)))
            if rule.diverged(loss):
                res.diverged_at = epoch
                break
            if tol is None:
                continue
            value = float(self.objective.score(W, b)) if early else loss
            Wm, bm = _model(state, column, W, b, t)
            rule.add(Wm, bm)
            Wm, bm = rule.model(Wm, bm)
            stop = rule.converged(
                value,
                column.schedule,
                t,
                None
                if certificate is None
                else functools.partial(certificate.relative_excess, Wm, bm, 0),
                cheap=certificate is not None and certificate.cheap,
                total=loss + float(l2_penalty(W, [column.alpha], W.shape[1], np)[0]),
            )
            res.excess, res.stalled = rule.excess, rule.stalled
            if stop:
                res.converged = True
                break
        res.W, res.b = rule.model(W, b)
        res.updates = t - t0
        res.state = state
        return res, np.asarray(history, dtype=np.float64), reference


def _chunk_largest_row(
    X: Array, sw: Array | None, held: Array | None, *, factor: float | None, fit_intercept: bool
) -> float:
    cb = backends.from_array(X)
    if held is not None:
        X, sw = keep_rows(~held, cb.xp, X, sw)
    if sw is not None and factor is not None:
        sw = sw * factor
    return largest_row(X, sw, fit_intercept=fit_intercept, xp=cb.xp)


def _model(
    state: UpdateState | None, column: Column, W: np.ndarray, b: np.ndarray, t: int
) -> tuple[np.ndarray, np.ndarray]:
    """The model's ``(W, b)`` before update ``t``: the average once an update has been
    averaged, else the running weights (the engine's ``Stepper.model``)."""
    start = column.update.average
    if state is None or not start or start > t - 1:
        return W, b
    return unpack(state.average)


def _chunk_epoch(
    problem: StreamProblem,
    chunk: tuple[Array | None, ...],
    W: np.ndarray,
    b: np.ndarray,
    t: int,
    rng: np.random.Generator,
    shuffle: bool,
    column: Column,
    settings: DescentSettings,
    state: UpdateState | None,
) -> tuple[np.ndarray, np.ndarray, int, UpdateState | None]:
    """The engine's updates over one chunk (its training rows, in a fresh permutation),
    the update's state carried in (in the chunk's library) and out (on the host)."""
    X, y, sw, held = chunk
    cb = backends.from_array(X)
    xp = cb.xp
    if held is not None:
        X, y, sw = keep_rows(~held, xp, X, y, sw)
    n = X.shape[0]
    if n == 0:
        return W, b, t, state
    if sw is not None:
        sw = sw * problem.factor
    perm = rng.permutation(n) if shuffle else None
    run = descend(
        problem.chunk_objective(X, y, sw, cb),
        X,
        y,
        sw,
        cb.asarray(W),
        cb.asarray(b),
        columns=[column],
        settings=settings,
        orders=lambda: None if perm is None else cb.asarray(perm),
        t_start=t,
        state=None if state is None else state.map(cb.asarray),
        xp=xp,
    )[0]
    out = None if run.state is None else run.state.map(cb.to_numpy)
    return cb.to_numpy(run.W), cb.to_numpy(run.b), t + run.updates, out
