"""The seams between the estimators and their data: a :class:`DataSource` (the validated
data and the passes a fit needs: ``groundup/linear_model/_memory.py`` in memory,
``groundup/dask/_source.py`` on Dask) and the :class:`TrainingProblem` of a gradient fit that
it builds: :class:`EngineProblem` (the descent engine over rows in memory, or full batch on
Dask) or the streamed Dask fit (``groundup/dask/_stream.py``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from groundup._typing import Array
from groundup.backends import Backend
from groundup.kernels import curvature as cv
from groundup.kernels.closed_form import Moments, moments
from groundup.kernels.descent import Certificate, Column, DescentResult, DescentSettings, descend
from groundup.kernels.losses import SquaredLoss
from groundup.kernels.update import UpdateState

__all__ = ["DataSource", "EngineProblem", "TrainingProblem", "certificate"]


class TrainingProblem(Protocol):
    """A gradient fit's training rows and their objective, as the estimators run them (the
    methods as :class:`EngineProblem`'s)."""

    #: The kernel objective of the training rows (``kernels.objective.Objective``; on
    #: Dask, the whole training set's): ``zero_loss``, and for the log-loss ``separated``.
    objective: Any
    #: The descent, with :meth:`EngineProblem.run`'s arguments: the engine's result, the
    #: loss history and the reference loss.
    run: Callable[..., tuple[DescentResult, np.ndarray, float]]

    @property
    def rows(self) -> int: ...  # the number of training rows
    def updates_per_epoch(self, batch_size: int) -> int: ...
    def curvature(self, *, batch: bool, fit_intercept: bool) -> float: ...  # for eta0="auto"


class DataSource(Protocol):
    """Validated training data and the passes a fit needs, wherever the data live (the
    methods as ``InMemory``'s). ``backend`` is where the fitted model lives, ``compute``
    where ``W`` and ``b`` live during the fit (the data's backend in memory; the host's
    NumPy on Dask)."""

    backend: Backend
    compute: Backend
    n: int
    d: int
    dtype: Any
    device: Any

    def raise_nonfinite(self) -> None: ...  # locate NaN / inf in X, if X holds any
    def preconditioned(  # the data in a preconditioned fit's variables, and ``pre``
        self, *, target: bool, center: bool, pre: Any = None, rows: bool = True
    ) -> tuple[DataSource, Any]: ...
    def moments(self, *, fit_intercept: bool) -> Moments: ...
    def least_squares(self, m: Moments) -> Any: ...  # the closed form's further passes
    def squared_problem(self, held: np.ndarray | None, *, batch: bool) -> TrainingProblem: ...
    def labels(self) -> tuple[np.ndarray, np.ndarray]: ...  # the labels, their weights
    def encoded(self, classes: np.ndarray, weights: np.ndarray | None = None) -> DataSource: ...
    def log_loss(self, *, n_classes: int, fit_intercept: bool) -> Any: ...
    def content_sample(self, fraction: float, *, seed: Any) -> Array: ...
    def log_problem(
        self, held: np.ndarray | None, *, n_classes: int, fit_intercept: bool, batch: bool
    ) -> TrainingProblem: ...


@dataclass
class EngineProblem:
    """A gradient fit's training rows and their objective, run by the descent engine.

    In memory the rows are the data; on Dask (full-batch descent) ``X`` only gives the
    number of rows and ``objective`` makes every pass (from the moments, or a tree
    reduction over the chunks), with ``backend`` the host's NumPy.
    """

    objective: Any
    X: Array
    y: Array
    sample_weight: Array | None
    backend: Backend
    #: The curvature where the rows are not in memory (Dask): ``(batch, fit_intercept)``.
    curvature_fn: Callable[[bool, bool], float] | None = None
    #: The rows' moments where known without a pass (the preconditioner's): the Gram
    #: matrix's curvature from them (the squared loss's own ``stats`` serve it as well).
    stats: Moments | None = None
    #: ``max_i w_i (‖x_i‖² + fit_intercept)`` where known (read while the rows were made).
    row_curvature: float | None = None

    def curvature(self, *, batch: bool, fit_intercept: bool) -> float:
        """The largest eigenvalue of the rows' Gram matrix of ``[X, 1]`` over their weight
        (``batch``), else the largest single row's ``w_i (‖x_i‖² + fit_intercept)``: the
        bounds behind ``eta0="auto"`` (:mod:`groundup.kernels.curvature`)."""
        if self.curvature_fn is not None:
            return self.curvature_fn(batch, fit_intercept)
        xp = self.backend.xp
        if not batch:
            c, fi = self.row_curvature, xp.finfo(self.X.dtype)
            if c is not None and fi.smallest_normal / fi.eps <= c <= fi.max * fi.eps:
                return c  # else where the squares leave the dtype's range, exactly
            return cv.largest_row(self.X, self.sample_weight, fit_intercept=fit_intercept, xp=xp)
        stats = getattr(self.objective, "stats", None) if self.stats is None else self.stats
        known = None
        if stats is not None:  # the moments of the squared loss's batch fit: no pass
            G = cv.gram_of_moments(stats, fit_intercept=fit_intercept, xp=xp)
            known = cv.largest_eigenvalue(G, xp=xp)
        rows = self.backend.chunk_rows(self.X.shape[1] + 1)
        sw = self.sample_weight
        return cv.gram_curvature(
            self.X, sw, fit_intercept=fit_intercept, chunk_rows=rows, known=known, xp=xp
        )

    @property
    def rows(self) -> int:
        return int(self.X.shape[0])

    def updates_per_epoch(self, batch_size: int) -> int:
        return math.ceil(self.rows / batch_size)

    def run(
        self,
        W: Array,
        b: Array,
        *,
        column: Column,
        settings: DescentSettings,
        shuffle: bool,
        rng: np.random.Generator,
        t0: int,
        start_loss: Array | None,
        state: UpdateState | None = None,
        certificate: Certificate | None = None,
    ) -> tuple[DescentResult, np.ndarray, float]:
        """The descent engine over the rows, every epoch's order drawn on the host from
        ``rng`` (the same order on every backend); the history comes home in one sync.
        Returns the result, the loss history and the reference loss (for divergence).
        ``state``: where the optimiser, the average and the L1 truncation start;
        ``certificate``: what ``tol="auto"`` reads."""
        be, n = self.backend, self.rows
        res = descend(
            self.objective,
            self.X,
            self.y,
            self.sample_weight,
            W,
            b,
            columns=[column],
            settings=settings,
            orders=(lambda: be.asarray(rng.permutation(n))) if shuffle else (lambda: None),
            t_start=t0,
            start_loss=start_loss,
            state=state,
            to_host=be.to_floats,
            certificate=certificate,
            xp=be.xp,
        )[0]
        return res, np.asarray(res.history, dtype=np.float64), float(res.reference_loss)


def certificate(
    objective: Any,
    alphas: list[Any],
    *,
    fit_intercept: bool,
    floor: float,
    backend: Backend,
    l1s: list[Any] | None = None,
) -> Certificate:
    """How far ``objective`` (loss + Σ l1 |w| + ½ Σ alpha w², ``alphas`` and ``l1s`` one L2
    and one L1 strength per configuration) at a model is above its minimum, relative to it
    (floored at ``floor``, in the objective's units), from the moments for the squared loss
    (a pass to gather them where the fit had none): exactly, or with an L1 part by the dual
    point of the elastic net's minimum on the moments; else from one pass: the Newton
    decrement, or with an L1 part the proximal Newton decrement, at most a Fenchel duality
    gap (:mod:`groundup.kernels.curvature`)."""
    xp = backend.xp
    if isinstance(objective, SquaredLoss):
        m = objective.stats
        if m is None:
            rows = backend.chunk_rows(objective.X.shape[1] + 1)
            m = moments(objective.X, objective.y, objective.sw, chunk_rows=rows, pilot=False, xp=xp)
        check = cv.SquaredCertificate(
            m, alphas, fit_intercept=fit_intercept, floor=floor, xp=xp, l1s=l1s
        )
    else:
        check = cv.LogCertificate(objective, alphas, floor=floor, xp=xp, l1s=l1s)
    return Certificate(check.relative_excess, cheap=check.cheap)
