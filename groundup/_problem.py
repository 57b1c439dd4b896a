"""A gradient fit's training problem as the descent engine runs it: the estimators' common
interface to a fit over rows (``rows``, ``updates_per_epoch``, ``run``, ``objective``), which
the streamed Dask fit (``groundup/dask/_stream.py``) offers too."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from groundup._typing import Array
from groundup.backends import Backend
from groundup.kernels.descent import DescentResult, DescentSettings, descend
from groundup.kernels.schedules import Schedule
from groundup.kernels.update import UpdateState

__all__ = ["EngineProblem"]


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
        schedule: Schedule,
        settings: DescentSettings,
        shuffle: bool,
        rng: np.random.Generator,
        t0: int,
        start_loss: Array | None,
        state: UpdateState | None = None,
    ) -> tuple[DescentResult, np.ndarray, float]:
        """The descent engine over the rows, every epoch's order drawn on the host from
        ``rng`` (the same order on every backend); the history comes home in one sync.
        Returns the result, the loss history and the reference loss (for divergence).
        ``state``: where the optimiser, the average and the L1 truncation start."""
        be, xp = self.backend, self.backend.xp
        n = self.rows
        res = descend(
            self.objective,
            self.X,
            self.y,
            self.sample_weight,
            W,
            b,
            schedule=schedule,
            settings=settings,
            orders=(lambda: be.asarray(rng.permutation(n))) if shuffle else (lambda: None),
            t_start=t0,
            start_loss=start_loss,
            state=state,
            xp=xp,
        )
        values = be.to_numpy(xp.stack([*res.history, res.reference_loss])).astype(np.float64)
        return res, values[:-1], float(values[-1])
