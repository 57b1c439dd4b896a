"""The streamed gradient fits on Dask data (``sgd`` / ``minibatch``), one loop for linear and
logistic regression (``_dask_linear.py`` and ``_dask_logistic.py`` build its
:class:`StreamPlan`).

Every epoch the row chunks travel through this process one at a time (the next one loading
meanwhile, :meth:`DaskBackend.stream`); the descent engine makes its updates on each chunk, a
NumPy (or CuPy) array, with the model's own kernel objective; then the epoch's training loss
(and, with ``early_stopping``, the validation score) comes from the model: from the moments
gathered before the first epoch (linear) or one tree reduction over the chunks (logistic).

**Visiting order.** One NumPy ``Generator`` seeded from ``random_state`` first draws the
early-stopping split (:meth:`GroundupEstimator._validation_draw`, the in-memory fit's draw:
the held-out rows are the same ones; here they stay in their chunks, marked by a mask), then,
each epoch with ``shuffle=True``:

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

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from groundup import backends
from groundup._dask import DaskData, _keep_rows
from groundup._typing import Array
from groundup.backends import Backend
from groundup.kernels.descent import (
    DescentResult,
    DescentSettings,
    StopRule,
    descend,
    divergent_epoch,
)

__all__ = ["StreamPlan", "held_rows", "stream_descent"]


def held_rows(est: Any, data: DaskData, rng: np.random.Generator) -> tuple[Any, Any]:
    """The early-stopping rows (``None`` without ``early_stopping``): a host boolean mask of
    shape (n_samples,) and the same mask as a Dask array chunked like X.

    The draw is the in-memory split's (``est._validation_draw``), the first use of ``rng``.
    """
    if not est.early_stopping:
        return None, None
    held = np.zeros((data.n,), dtype=bool)
    held[est._validation_draw(data.n, rng)[0]] = True
    return held, data.backend.rows_like(held, data.X)


@dataclass
class StreamPlan:
    """What the streamed fit of one model needs besides the estimator's settings.

    ``data`` holds X (n, d), the targets the chunk objective takes (n,) and the raw sample
    weights (n,) or ``None``; ``held``/``mask`` the early-stopping rows (:func:`held_rows`).
    """

    data: DaskData
    held: np.ndarray | None
    mask: Array | None
    #: The kernel objective of one chunk's training rows: ``(X, y, sw, backend)`` in the
    #: chunk's own library -> an ``Objective`` (:mod:`groundup.kernels.objective`).
    chunk_objective: Callable[[Array, Array, Array | None, Backend], Any]
    #: The training loss of the whole training set at ``(W, b)`` (NumPy), as a float.
    loss: Callable[[np.ndarray, np.ndarray], float]
    #: The training loss of the zero model (the reference for divergence, with the start's).
    zero_loss: float
    #: The early-stopping score at ``(W, b)`` (higher is better); ``None`` without it.
    score: Callable[[np.ndarray, np.ndarray], float] | None
    #: Scale of the sample weights: training rows / their total weight (``None``: no weights).
    factor: float | None

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


def stream_descent(
    est: Any,
    plan: StreamPlan,
    W: np.ndarray,
    b: np.ndarray,
    *,
    rng: np.random.Generator,
    max_iter: int,
    tol: float | None,
    t0: int,
) -> tuple[DescentResult, np.ndarray]:
    """Up to ``max_iter`` epochs over the streamed chunks (the order in the module's
    docstring), from ``W`` (n_features, k) and ``b`` (k,) on the host.

    Returns the engine's result (``W``, ``b`` NumPy; ``n_iter``, ``updates``, ``converged``,
    ``path``) and the loss history; raises ``DivergenceError`` as the in-memory fit does.
    """
    data = plan.data
    be = data.backend
    rows = plan.train_rows()
    bs = 1 if est._method == "sgd" else int(est.batch_size)
    schedule = est._schedule(sum(math.ceil(r / bs) for r in rows))
    settings = DescentSettings(
        max_iter=1,
        batch_size=bs,
        alpha=est._penalty_alpha(),
        fit_intercept=est.fit_intercept,
        tol=None,
        chunk=True,  # the engine makes the chunk's updates; the epoch's loss comes from plan
    )
    reference = max(plan.loss(W, b), plan.zero_loss)
    early = est.early_stopping and tol is not None
    rule = StopRule(tol, est.n_iter_no_change, early, reference)
    res = DescentResult(W=W, b=b, reference_loss=reference)
    history: list[float] = []
    t = t0
    arrays = [data.X, data.y, data.sample_weight, plan.mask]
    for epoch in range(1, max_iter + 1):
        nb = len(rows)
        order = rng.permutation(nb) if est.shuffle and nb > 1 else np.arange(nb)
        for chunk in be.stream(arrays, order):
            W, b, t = _chunk_epoch(est, plan, chunk, W, b, t, rng, schedule, settings)
        loss = plan.loss(W, b)
        history.append(loss)
        res.n_iter = epoch
        if est.record_path:
            res.path.append((W.copy(), b.copy()))
        if rule.diverged(loss):
            res.diverged_at = epoch
            break
        if tol is None:
            continue
        value = plan.score(W, b) if early else loss
        if rule.converged(value, schedule, t):
            res.converged = True
            break
    res.W, res.b, res.updates = W, b, t - t0
    epoch = res.diverged_at or divergent_epoch(history, reference)
    if epoch is not None:
        est._raise_divergence(history, reference, epoch)
    return res, np.asarray(history, dtype=np.float64)


def _chunk_epoch(
    est: Any,
    plan: StreamPlan,
    chunk: tuple[Array | None, ...],
    W: np.ndarray,
    b: np.ndarray,
    t: int,
    rng: np.random.Generator,
    schedule: Any,
    settings: DescentSettings,
) -> tuple[np.ndarray, np.ndarray, int]:
    """The engine's updates over one chunk (its training rows, in a fresh permutation)."""
    X, y, sw, held = chunk
    cb = backends.from_array(X)
    xp = cb.xp
    if held is not None:
        X, y, sw = _keep_rows(~held, xp, X, y, sw)
    n = X.shape[0]
    if n == 0:
        return W, b, t
    if sw is not None:
        sw = sw * plan.factor
    perm = rng.permutation(n) if est.shuffle else None
    run = descend(
        plan.chunk_objective(X, y, sw, cb),
        X,
        y,
        sw,
        cb.asarray(W),
        cb.asarray(b),
        schedule=schedule,
        settings=settings,
        orders=lambda: None if perm is None else cb.asarray(perm),
        t_start=t,
        xp=xp,
    )
    return cb.to_numpy(run.W), cb.to_numpy(run.b), t + run.updates
