"""The update of the descent engine beyond the plain one: an optimiser, the L1 penalty,
averaging (:class:`Stepper`), and the state they carry between updates, chunks and calls
(:class:`UpdateState`).

The plain update (``optimizer="sgd"``, no L1 part, no averaging) stays the engine's own, with
its fast paths (the blocked one-sample epoch, the fused mini-batch step, full batch on the
moments). Every other configuration takes the stepper's path, one update per batch::

    theta  <- [W; b]                          packed, (n_features + 1, k)
    g      <- [gw; gb]                        the batch's mean gradient (gb = 0 without intercept)
    theta  <- optimiser step                  kernels/optimizers.py (sgd: scikit-learn's decay)
    avg    <- avg + (theta - avg) / N         from update ``average`` on (N = t - average + 1)
    W      <- L1 step of W                    truncation (batches) or soft threshold (full batch)

in scikit-learn ``_plain_sgd``'s order (the average before the truncation, which then moves
the average by scikit-learn's share, :class:`~groundup.kernels.penalties.CumulativeL1`).
Nothing in an update reads a value back to the host: rates, decays and the truncation's ``u``
are host floats known in advance; the arrays stay on the device.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from array_api_compat import device as _device

from groundup._typing import Array, Namespace
from groundup.kernels.optimizers import OptimizerSettings, OptimizerState, optimizer_step
from groundup.kernels.penalties import CumulativeL1, soft_threshold, truncate

__all__ = ["Stepper", "UpdateSettings", "UpdateState"]


@dataclass(frozen=True)
class UpdateSettings:
    """How the engine updates, besides the learning rate and the L2 strength."""

    optimizer: OptimizerSettings = field(default_factory=OptimizerSettings)
    l1: float = 0.0  # L1 strength: alpha·l1_ratio (0: no L1 part)
    average: int = 0  # scikit-learn's ``average``: the first update averaged (0: off)

    @property
    def plain(self) -> bool:
        """The engine's own update (and its fast paths) applies."""
        return self.optimizer.name == "sgd" and not self.l1 and not self.average


@dataclass
class UpdateState:
    """What the updates carry: the optimiser's state and the average (between epochs,
    streamed chunks and ``partial_fit`` calls) and the L1 truncation's (within one call)."""

    optimizer: OptimizerState | None = None
    average: Array | None = None  # packed (n_features + 1, k), from update ``average`` on
    l1: CumulativeL1 | None = None
    # The running (not averaged) weights, packed, where the estimator keeps them between
    # ``partial_fit`` calls (averaging only; the engine's own are its ``W``, ``b``).
    running: Array | None = None

    def map(self, fn: Callable[[Array], Array]) -> UpdateState:
        """The same state with ``fn`` applied to every array (to move it elsewhere)."""

        def opt(a: Array | None) -> Array | None:
            return None if a is None else fn(a)

        return UpdateState(
            optimizer=None if self.optimizer is None else self.optimizer.map(fn),
            average=opt(self.average),
            l1=None if self.l1 is None else replace(self.l1, q=fn(self.l1.q)),
            running=opt(self.running),
        )


def pack(W: Array, b: Array, /, *, xp: Namespace) -> Array:
    """``[W; b]``: (n_features + 1, k)."""
    return xp.concat([W, xp.reshape(b, (1, -1))], axis=0)


def unpack(theta: Array, /) -> tuple[Array, Array]:
    """``W`` (n_features, k) and ``b`` (k,) of ``[W; b]``."""
    d = theta.shape[0] - 1
    return theta[:d, :], theta[d, :]


class Stepper:
    """The stepper's update for one run of the engine (see the module's docstring).

    Parameters
    ----------
    settings : UpdateSettings
    alpha : float
        L2 strength (the penalty's L2 part).
    fit_intercept : bool
    full : bool
        Full-batch updates: the L1 part by soft thresholding (else the truncation).
    state : UpdateState or None
        Where to start (``None``: afresh; a state of another optimiser or shape is
        replaced by a fresh one).
    W : array of shape (n_features, k)
        The starting weights (shape, dtype and device of the state).
    xp : namespace
    """

    def __init__(
        self,
        settings: UpdateSettings,
        *,
        alpha: float,
        fit_intercept: bool,
        full: bool,
        state: UpdateState | None,
        W: Array,
        xp: Namespace,
    ) -> None:
        self.s, self.alpha, self.full, self.xp = settings, alpha, full, xp
        self.fit_intercept = fit_intercept
        d, k = W.shape
        dt, dev = W.dtype, _device(W)
        self.d = d
        rows = xp.reshape(xp.arange(d + 1, device=dev), (d + 1, 1))
        self.coef_rows = xp.astype(rows < d, dt)  # 1 for W's rows, 0 for b's
        self.icpt_rows = 1.0 - self.coef_rows
        self.zero_row = xp.zeros((1, k), dtype=dt, device=dev)
        self.decay_rows = alpha * self.coef_rows if alpha else None
        state = UpdateState() if state is None else replace(state)
        if state.optimizer is not None:  # updated in place: the caller's stays as it was
            state.optimizer = replace(state.optimizer)
        theta = xp.zeros((d + 1, k), dtype=dt, device=dev)
        name = settings.optimizer.name
        if name != "sgd" and (state.optimizer is None or not state.optimizer.fits(name, theta)):
            state.optimizer = OptimizerState.zeros(name, theta, xp=xp)
        if settings.average and (state.average is None or state.average.shape != theta.shape):
            state.average = theta
        if settings.l1 and state.l1 is None:
            eps = float(xp.finfo(dt).eps)
            state.l1 = CumulativeL1(xp.zeros_like(W), threshold=1e-9 if eps < 1e-10 else 1e-6)
        self.state = state
        # an optimiser alone: the shortest way through ``step``
        self.simple = name != "sgd" and not settings.l1 and not settings.average

    def averaging(self, t: int) -> bool:
        """Whether update ``t`` is averaged (scikit-learn's ``0 < average <= t``)."""
        return 0 < self.s.average <= t

    def step(self, theta: Array, gw: Array, gb: Array, eta: float, t: int) -> Array:
        """Update ``t`` of ``theta`` (packed) with the batch's mean gradient ``gw``, ``gb``
        and the learning rate ``eta``."""
        xp, st, s = self.xp, self.state, self.s
        g = xp.concat(
            [gw, xp.reshape(gb, (1, -1)) if self.fit_intercept else self.zero_row], axis=0
        )
        if self.simple:
            return optimizer_step(
                theta, g, st.optimizer, eta, settings=s.optimizer, decay_rows=self.decay_rows, xp=xp
            )
        l1 = st.l1
        if s.optimizer.name == "sgd":  # scikit-learn's update: the decay, then the step
            if self.alpha:
                decay = max(0.0, 1.0 - eta * self.alpha)
                theta = theta * (decay * self.coef_rows + self.icpt_rows) - eta * g
                if l1 is not None:
                    l1.scale(decay)
            else:
                theta = theta - eta * g
        else:
            theta = optimizer_step(
                theta,
                g,
                st.optimizer,
                eta,
                settings=s.optimizer,
                decay_rows=self.decay_rows,
                xp=xp,
            )
        averaged = self.averaging(t)
        if averaged and not self.full:  # before the truncation, as scikit-learn
            st.average = self._average(theta, t)
        if l1 is not None:
            W = theta[: self.d, :]
            if self.full:
                new = soft_threshold(W, eta * s.l1, xp=xp)
            else:
                l1.u += s.l1 * eta
                new, l1.q = truncate(W, l1.q, l1.u, xp=xp)
            theta = xp.concat([new, theta[self.d :, :]], axis=0)
            if averaged and not self.full:
                share = l1.average_share()
                if share:
                    moved = xp.concat([new - W, self.zero_row], axis=0)
                    st.average = st.average + share * moved
        if averaged and self.full:
            st.average = self._average(theta, t)
        return theta

    def _average(self, theta: Array, t: int) -> Array:
        num_seen = t - self.s.average + 1
        if self.state.l1 is not None:
            self.state.l1.averaged(num_seen)
        avg = self.state.average
        return avg + (theta - avg) / float(num_seen)

    def model(self, W: Array, b: Array, t_next: int) -> tuple[Array, Array]:
        """The model's ``(W, b)`` after the updates before ``t_next``: the average once an
        update has been averaged (scikit-learn's ``average <= t_ - 1``), else ``(W, b)``."""
        if self.s.average and self.s.average <= t_next - 1:
            return unpack(self.state.average)
        return W, b
