"""What each epoch of the descent walks through: the learning rates of its updates
(:class:`Schedule`, ``eta(t)`` for the update number ``t``, 1 at the first update) and the
training rows in its visiting order (:class:`EpochRows`, what the gradient loops and the exact
one-sample epochs read).

Spans of time (``epochs_drop``, ``t_max``) are given in epochs and turned into updates with
the number of updates per epoch. Every schedule is a plain function of ``t`` except
``adaptive``, which the descent engine divides by 5 when the loss stops improving
(scikit-learn's rule).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from groundup._typing import Array, Namespace

SCHEDULES: tuple[str, ...] = (
    "constant",
    "invscaling",
    "optimal",
    "adaptive",
    "time_decay",
    "exponential_decay",
    "step_decay",
    "cosine_annealing",
    "inverse_sqrt",
    "reciprocal",
)


def optimal_t0(alpha: float) -> float:
    """scikit-learn's offset for ``learning_rate="optimal"`` (Léon Bottou's heuristic):
    ``eta = 1 / (alpha * (t + t0))``, ``t0 = 1/(typw*alpha) - 1``, ``typw = alpha**-0.25``
    (scikit-learn's ``eta_init = typw / max(1, dloss(-typw, 1))`` is ``typw`` for the squared
    and the log loss, whose ``dloss(-typw, 1) < 0``)."""
    typw = math.sqrt(1.0 / math.sqrt(alpha))
    return 1.0 / (typw * alpha) - 1.0


@dataclass
class Schedule:
    """A learning-rate schedule (its parameters as ``LinearRegression``'s docstring gives them)."""

    name: str  # one of SCHEDULES
    eta0: float  # the initial learning rate
    updates_per_epoch: int = 1  # turns the epoch spans epochs_drop and t_max into updates
    power_t: float = 0.25  # invscaling: eta0 / t**power_t
    alpha: float = 1e-4  # optimal: 1 / (alpha * (t + t0))
    decay: float = 1e-3  # time_decay, exponential_decay
    drop: float = 0.5  # step_decay: factor per epochs_drop epochs
    epochs_drop: float = 10.0  # step_decay: epochs between drops
    eta_min: float = 0.0  # cosine_annealing: floor
    t_max: float = 100.0  # cosine_annealing: epochs to reach eta_min
    t1: float = 50.0  # reciprocal: eta0 * t1 / (t + t1)
    # the divisor of every rate, raised by the engine's stopping rule (adaptive, tol="auto")
    scale: float = 1.0

    def __post_init__(self) -> None:
        self._t0 = optimal_t0(self.alpha) if self.name == "optimal" else 0.0

    def _eta(self, t: Any, ops: Any) -> Any:
        """The formulas, once: ``t`` is a number (``ops`` = ``math``) or an array of update
        numbers (``ops`` = the array namespace)."""
        name, eta0 = self.name, self.eta0
        if name in ("constant", "adaptive"):
            return eta0
        if name == "invscaling":
            # t**0.25 and t**0.5 by square roots: several times faster than pow on arrays.
            if self.power_t == 0.5:
                return eta0 / ops.sqrt(t)
            if self.power_t == 0.25:
                return eta0 / ops.sqrt(ops.sqrt(t))
            return eta0 / t**self.power_t
        if name == "optimal":
            return 1.0 / (self.alpha * (t + self._t0))
        if name == "time_decay":
            return eta0 / (1.0 + self.decay * t)
        if name == "exponential_decay":
            return eta0 * ops.exp(-self.decay * t)
        if name == "step_decay":
            return eta0 * self.drop ** ops.floor(t / (self.epochs_drop * self.updates_per_epoch))
        if name == "cosine_annealing":
            span = self.t_max * self.updates_per_epoch
            t = min(t, span) if ops is math else ops.clip(t, max=span)
            return self.eta_min + 0.5 * (eta0 - self.eta_min) * (1.0 + ops.cos(math.pi * t / span))
        if name == "inverse_sqrt":
            return eta0 / (1.0 + ops.sqrt(t))
        if name == "reciprocal":
            return eta0 * self.t1 / (t + self.t1)
        msg = f"Unknown learning_rate {name!r}; choose one of {list(SCHEDULES)}."
        raise ValueError(msg)

    def __call__(self, t: float) -> float:
        """Learning rate of update ``t`` (``t`` = 1 at the first update)."""
        return float(self._eta(t, math)) / self.scale

    def values(self, t_first: int, count: int) -> list[float]:
        """Learning rates of the updates ``t_first, ..., t_first + count - 1``."""
        return list(map(self, range(t_first, t_first + count)))

    def array(
        self, t_first: int, count: int, /, *, dtype: Any, device: Any, xp: Namespace
    ) -> Array:
        """The same learning rates as one array on the device (no Python loop per update)."""
        t = xp.arange(t_first, t_first + count, dtype=dtype, device=device)
        out = self._eta(t, xp)
        if isinstance(out, float):
            return xp.full((count,), out / self.scale, dtype=dtype, device=device)
        return out if self.scale == 1.0 else out / self.scale


@dataclass(frozen=True)
class EpochRows:
    """The rows of one epoch in visiting order."""

    X: Array  # (n_samples, n_features)
    y: Array  # (n_samples,) or (n_samples, k)
    sample_weight: Array | None  # (n_samples,)
    order: Array | None  # the visiting order, integers on the device (None: natural order)
    xp: Namespace

    def take(self, start: int, stop: int) -> tuple[Array, Array, Array | None]:
        """Rows ``start .. stop - 1`` of the order, gathered with ``xp.take`` (a plain slice
        in the natural order)."""
        xp, sw = self.xp, self.sample_weight
        if self.order is None:
            sb = None if sw is None else sw[start:stop]
            return self.X[start:stop, ...], self.y[start:stop, ...], sb
        idx = self.order[start:stop]
        sb = None if sw is None else xp.take(sw, idx)
        return xp.take(self.X, idx, axis=0), xp.take(self.y, idx, axis=0), sb

    def weights(self) -> Array | None:
        """The sample weights in visiting order (``None`` without weights)."""
        sw = self.sample_weight
        if sw is None or self.order is None:
            return sw
        return self.xp.take(sw, self.order)
