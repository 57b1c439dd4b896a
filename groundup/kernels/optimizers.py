"""The optimisers of the gradient methods, each update ``torch.optim``'s.

An optimiser gets the packed parameters ``theta`` (n_features + 1, k) (``W``'s rows, then
``b``), the gradient ``g`` of that shape (last row zero without an intercept), the step's
learning rate (a float on the host) and ``alpha`` on the coefficient rows (``decay_rows``:
the intercept is never penalised nor decayed). Its memory (:class:`OptimizerState`) stays on
the device, the step count on the host: no update reads a value back. Each update is
``torch.optim``'s (PyTorch 2.x, ``_single_tensor_*``), the same operations in the same order:

- ``"sgd"``: ``theta -= lr * (g + alpha w)`` (the engine's own plain update is
  scikit-learn's ``W <- max(0, 1 - lr alpha) W - lr g``);
- ``"momentum"`` / ``"nesterov"``: ``SGD(momentum=momentum, dampening=0, nesterov=...)``;
- ``"adagrad"``: ``Adagrad(eps=1e-10, initial_accumulator_value=0, lr_decay=0)``;
- ``"rmsprop"``: ``RMSprop(alpha=rho, eps=epsilon, momentum=0, centered=False)``;
- ``"adam"``: ``Adam(betas=(beta_1, beta_2), eps=epsilon)``, L2 added to the gradient;
- ``"adamw"``: ``AdamW(..., weight_decay=alpha)``: ``theta *= 1 - lr alpha`` first.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from groundup._typing import Array, Namespace

__all__ = ["OPTIMIZERS", "OptimizerSettings", "OptimizerState", "optimizer_step"]

#: The optimiser names, ``"sgd"`` (the plain update) first.
OPTIMIZERS: tuple[str, ...] = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")

#: ``torch.optim.Adagrad``'s default ``eps``.
ADAGRAD_EPS = 1e-10

#: The state arrays of each optimiser (each the shape of ``theta``).
SLOTS: dict[str, tuple[str, ...]] = {
    "sgd": (),
    "momentum": ("momentum_buffer",),
    "nesterov": ("momentum_buffer",),
    "adagrad": ("sum",),
    "rmsprop": ("square_avg",),
    "adam": ("exp_avg", "exp_avg_sq"),
    "adamw": ("exp_avg", "exp_avg_sq"),
}


@dataclass(frozen=True)
class OptimizerSettings:
    """An optimiser and its constants (scikit-learn MLP's names)."""

    name: str = "sgd"
    momentum: float = 0.9  # momentum, nesterov
    rho: float = 0.99  # rmsprop: decay of the squared-gradient average (torch's alpha)
    beta_1: float = 0.9  # adam, adamw
    beta_2: float = 0.999  # adam, adamw
    epsilon: float = 1e-8  # adam, adamw, rmsprop (adagrad: torch's 1e-10)


@dataclass
class OptimizerState:
    """An optimiser's memory: its state arrays (``SLOTS[name]``, each ``theta``'s shape, on
    its device) and the number of steps made (on the host: Adam's bias correction)."""

    name: str
    slots: tuple[Array, ...] = ()
    step: int = 0
    #: Adam's slots are kept divided by these, ``(1 - beta_1, 1 - beta_2)`` (two array
    #: operations fewer per update); ``None`` while they are torch's own (fresh zeros).
    scales: tuple[float, float] | None = None

    @classmethod
    def zeros(cls, name: str, theta: Array, /, *, xp: Namespace) -> OptimizerState:
        """A fresh state for ``theta`` (torch's: zero buffers, zero steps)."""
        return cls(name, tuple(xp.zeros_like(theta) for _ in SLOTS[name]))

    def fits(self, name: str, theta: Array) -> bool:
        """Whether this state belongs to optimiser ``name`` and parameters like ``theta``."""
        return self.name == name and all(tuple(s.shape) == tuple(theta.shape) for s in self.slots)

    def map(self, fn: Callable[[Array], Array]) -> OptimizerState:
        """The same state with ``fn`` applied to every array (to move it elsewhere)."""
        return replace(self, slots=tuple(fn(s) for s in self.slots))

    def as_dict(self) -> dict[str, Array]:
        """The state arrays by torch's names and with torch's values."""
        slots = self.slots
        if self.scales is not None:
            slots = tuple(k * a for k, a in zip(self.scales, slots, strict=True))
        return dict(zip(SLOTS[self.name], slots, strict=True))


def optimizer_step(
    theta: Array,
    g: Array,
    state: OptimizerState,
    lr: float,
    /,
    *,
    settings: OptimizerSettings,
    decay_rows: Array | None,
    xp: Namespace,
) -> Array:
    """``theta`` after one update by ``state.name`` (``torch.optim``'s), ``state`` updated in
    place. ``g``: the mean gradient of the loss (no penalty); ``decay_rows`` (n_features + 1,
    1): ``alpha`` on the coefficient rows, 0 on the intercept's (``None``: no penalty), added
    as ``decay_rows * theta`` to the gradient, or AdamW's decoupled decay."""
    s = settings
    name = state.name
    state.step += 1
    if decay_rows is not None:
        if name == "adamw":
            theta = theta * (1.0 - lr * decay_rows)
        else:
            g = g + decay_rows * theta
    if name in ("adam", "adamw"):
        # torch: m <- m + (1 - beta_1)(g - m), v <- beta_2 v + (1 - beta_2) g^2, then
        # theta - lr / (1 - beta_1^t) * m / (sqrt(v) / sqrt(1 - beta_2^t) + eps). Kept as
        # M = m / (1 - beta_1), V = v / (1 - beta_2): two array operations fewer.
        M, V = state.slots
        k1, k2 = scales = (1.0 - s.beta_1, 1.0 - s.beta_2)
        if state.scales != scales:  # torch's values (or other betas') to these scales
            old = state.scales or (1.0, 1.0)
            M, V = M * (old[0] / k1), V * (old[1] / k2)
            state.scales = scales
        M = s.beta_1 * M + g
        V = s.beta_2 * V + g * g
        state.slots = (M, V)
        root = math.sqrt((1.0 - s.beta_2**state.step) / k2)
        step_size = lr * root * k1 / (1.0 - s.beta_1**state.step)
        return theta - step_size * M / (xp.sqrt(V) + s.epsilon * root)
    if name == "sgd":
        return theta - lr * g
    if name in ("momentum", "nesterov"):
        (buf,) = state.slots
        buf = s.momentum * buf + g  # dampening 0; the first buffer is g itself
        state.slots = (buf,)
        return theta - lr * (g + s.momentum * buf if name == "nesterov" else buf)
    if name in ("adagrad", "rmsprop"):
        (sq,) = state.slots
        sq = sq + g * g if name == "adagrad" else s.rho * sq + (1.0 - s.rho) * (g * g)
        state.slots = (sq,)
        return theta - lr * g / (xp.sqrt(sq) + (ADAGRAD_EPS if name == "adagrad" else s.epsilon))
    msg = f"Unknown optimizer {name!r}; choose one of {list(OPTIMIZERS)}."
    raise ValueError(msg)
