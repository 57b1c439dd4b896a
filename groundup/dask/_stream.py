"""``sgd`` / ``minibatch`` on Dask data, one loop for both models: each epoch the row chunks
pass through this process one at a time, the engine updating on each; the epoch's loss and
score come from the model's own pass.

**Visiting order.** One NumPy ``Generator`` seeded from ``random_state`` first draws the
early-stopping split (the in-memory fit's rows, kept in their chunks by a mask), then each
epoch with ``shuffle=True`` a permutation of the chunks (when there are several) and, chunk
by chunk, a permutation of its training rows (none for a chunk without any). Batches never
cross chunks (a chunk's last batch may be short); ``sgd`` is ``batch_size=1``. The update
counter ``t`` runs on across chunks and epochs, ``sum(ceil(rows / batch_size))`` per epoch.
Sample weights are normalised to mean 1 over all training rows, as in memory, so with one
chunk, or with ``shuffle=False`` and every chunk's training rows a multiple of
``batch_size``, this is exactly the in-memory fit.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
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
    penalty,
)
from groundup.kernels.update import UpdateState, unpack


@dataclass
class StreamProblem:
    """The training problem of ``sgd`` / ``minibatch`` on Dask data: ``data`` (X, the chunk
    objective's targets, the raw weights), the early-stopping rows ``held`` (a host mask or
    ``None``) and ``mask`` (the same chunked like X)."""

    data: DaskData
    held: np.ndarray | None
    mask: Array | None
    #: ``(X, y, sw, chunk_backend)`` of one chunk's training rows -> its kernel objective
    chunk_objective: Callable[[Array, Array, Array | None, Backend], Any]
    #: The whole training set's loss at host ``(W, b)``
    loss: Callable[[np.ndarray, np.ndarray], float]
    #: Training rows / their total weight (``None``: no weights)
    factor: float | None
    #: The whole training set's objective on the host (zero loss, score, certificate)
    objective: Any

    @property
    def rows(self) -> int:
        return sum(self.train_rows())

    def updates_per_epoch(self, batch_size: int) -> int:
        return sum(math.ceil(r / batch_size) for r in self.train_rows())

    def curvature(self, *, batch: bool, fit_intercept: bool) -> float:
        """The largest training row's ``w_i (‖x_i‖² + fit_intercept)`` (one pass): the bound
        behind ``eta0="auto"`` for sgd / minibatch."""
        fn = functools.partial(_chunk_largest_row, factor=self.factor, fit_intercept=fit_intercept)
        data = self.data
        arrays = [data.X, data.sample_weight, self.mask]
        return float(data.backend.tree_reduce(fn, max, arrays))

    def train_rows(self) -> list[int]:
        sizes = self.data.backend.row_chunks(self.data.X)
        if self.held is None:
            return list(sizes)
        chunks = np.split(self.held, np.cumsum(sizes)[:-1])
        return [int(np.count_nonzero(~held)) for held in chunks]

    def run(
        self,
        W: np.ndarray,
        b: np.ndarray,
        *,
        column: Column,
        settings: DescentSettings,
        rng: np.random.Generator | None,
        t0: int,
        start_loss: Any = None,
        state: UpdateState | None = None,
        certificate: Certificate | None = None,
    ) -> DescentResult:
        """Up to ``column.max_iter`` epochs over the chunks from host ``W`` (n_features, k),
        ``b`` (k,), the update's ``state`` carried from chunk to chunk on the host. The
        result's history and reference loss (the larger of the start's and the zero model's;
        ``start_loss`` is not needed) are floats."""
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
        t = t0
        arrays = [self.data.X, self.data.y, self.data.sample_weight, self.mask]
        nb = len(rows)
        for epoch in range(1, column.max_iter + 1):
            order = rng.permutation(nb) if rng is not None and nb > 1 else np.arange(nb)
            for chunk in be.stream(arrays, order):
                W, b, t, state = _chunk_epoch(
                    self, chunk, W, b, t, rng, chunk_column, chunk_settings, state
                )
            loss = self.loss(W, b)
            res.history.append(loss)
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
            cheap, certify = certificate is not None and certificate.cheap, None
            if certificate is not None:
                certify = functools.partial(certificate.relative_excess, Wm, bm, 0)
            R = penalty(W, [column.alpha], [column.update.l1], W.shape[1], np)
            total = loss + float(R[0])
            stop = rule.converged(value, column.schedule, t, certify, cheap=cheap, total=total)
            res.excess, res.stalled = rule.excess, rule.stalled
            if stop:
                res.converged = True
                break
        res.W, res.b = rule.model(W, b)
        res.updates, res.state = t - t0, state
        return res


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
    """``(W, b)`` before update ``t``: the average once one is averaged (``Stepper.model``)."""
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
    rng: np.random.Generator | None,
    column: Column,
    settings: DescentSettings,
    state: UpdateState | None,
) -> tuple[np.ndarray, np.ndarray, int, UpdateState | None]:
    """The engine's updates over one chunk's training rows (in a fresh permutation)."""
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
    perm = None if rng is None else rng.permutation(n)
    run = descend(
        problem.chunk_objective(X, y, sw, cb),
        X,
        y,
        sw,
        cb.asarray(W),
        cb.asarray(b),
        columns=[column],
        settings=settings,
        orders=itertools.repeat(None if perm is None else cb.asarray(perm)),
        t_start=t,
        state=None if state is None else state.map(cb.asarray),
        xp=xp,
    )[0]
    out = None if run.state is None else run.state.map(cb.to_numpy)
    return cb.to_numpy(run.W), cb.to_numpy(run.b), t + run.updates, out
