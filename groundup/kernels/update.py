"""The update of the descent engine beyond the plain one: an optimiser, the L1 penalty,
averaging (:class:`Stepper`), and the state they carry between updates, chunks and calls
(:class:`UpdateState`).

The plain update (``optimizer="sgd"``, no L1 part, no averaging) stays the engine's own, with
its fast paths. Every other configuration takes the stepper's path, one update per batch::

    theta  <- [W; b]                          packed, (n_features + 1, k)
    g      <- [gw; gb]                        the batch's mean gradient (gb = 0 without intercept)
    theta  <- optimiser step                  kernels/optimizers.py (sgd: scikit-learn's decay)
    avg    <- avg + (theta - avg) / N         from update ``average`` on (N = t - average + 1)
    W      <- L1 step of W                    truncation (batches) or soft threshold (full batch)

in scikit-learn ``_plain_sgd``'s order (the truncation then moves the average by
scikit-learn's share, :class:`~groundup.kernels.penalties.CumulativeL1`). The same stepper
serves one fit (K = 1, rates as host floats) and a sweep's K configurations (the columns of
``theta``, rates as rows on the device). No update reads a value back to the host.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from array_api_compat import device as _device

from groundup._typing import Array, Namespace
from groundup.kernels.losses import largest
from groundup.kernels.optimizers import OptimizerSettings, OptimizerState, optimizer_step
from groundup.kernels.penalties import CumulativeL1, soft_threshold, truncate

__all__ = ["Stepper", "UpdateSettings", "UpdateState", "decay_factor"]


@dataclass(frozen=True)
class UpdateSettings:
    """How the engine updates, besides the learning rate and the L2 strength."""

    optimizer: OptimizerSettings = field(default_factory=OptimizerSettings)
    l1: float | Array = 0.0  # L1 strength: alpha·l1_ratio (0: none), or one per feature
    average: int = 0  # scikit-learn's ``average``: the first update averaged (0: off)


@dataclass
class UpdateState:
    """What the updates carry between epochs, streamed chunks and ``partial_fit`` calls."""

    optimizer: OptimizerState | None = None
    average: Array | None = None  # packed (n_features + 1, k), from update ``average`` on
    l1: CumulativeL1 | None = None
    # the running (not averaged) weights, packed, between ``partial_fit`` calls (averaging)
    running: Array | None = None

    def map(self, fn: Callable[[Array], Array]) -> UpdateState:
        """The same state with ``fn`` applied to every array (to move it elsewhere)."""
        return UpdateState(
            optimizer=None if self.optimizer is None else self.optimizer.map(fn),
            average=None if self.average is None else fn(self.average),
            l1=None if self.l1 is None else replace(self.l1, q=fn(self.l1.q)),
            running=None if self.running is None else fn(self.running),
        )


def pack(W: Array, b: Array, /, *, xp: Namespace) -> Array:
    """``[W; b]``: (n_features + 1, k)."""
    return xp.concat([W, b[None, :]], axis=0)


def unpack(theta: Array, /) -> tuple[Array, Array]:
    """``W`` (n_features, k) and ``b`` (k,) of ``[W; b]``."""
    d = theta.shape[0] - 1
    return theta[:d, :], theta[d, :]


def decay_factor(eta: float | Array, alpha: float | Array, /, *, xp: Namespace) -> float | Array:
    """scikit-learn's L2 decay of one update, ``max(0, 1 - eta * alpha)``: a float for float
    arguments, else an array (a rate per column or a strength per feature; by ``maximum``:
    ``clip``'s checks took 38 % of a preconditioned ``penalty="l2"`` mini-batch fit)."""
    if isinstance(eta, float) and isinstance(alpha, float):
        return max(0.0, 1.0 - eta * alpha)
    return xp.maximum(1.0 - eta * alpha, 0.0)


class Stepper:
    """The stepper's update for one run of the engine: K configurations (K = 1 for a single
    fit) as the columns of ``W``, each with its own optimiser, L2 and L1 strengths.

    The configurations that share an optimiser form a part, with one
    :class:`~groundup.kernels.optimizers.OptimizerState` over its columns. A single part
    covering every column in order works on ``theta`` as it is; several take their columns
    out and put them back (two gathers per update). Averaging and a carried state: K = 1.

    Parameters
    ----------
    settings : list of UpdateSettings, length K
    alphas : list of float, length K
        Each configuration's L2 strength.
    outputs : int
        Columns of ``W`` per configuration, laid out output by output (column ``c·K + k``).
    fit_intercept : bool
    full : bool
        Full-batch updates: the L1 part by soft thresholding (else the truncation).
    W : array of shape (n_features, outputs·K)
        The starting weights (shape, dtype and device of the state).
    state : UpdateState or None
        Where to start (K = 1; ``None``, or one of another optimiser or shape: afresh).
    xp : namespace
    """

    def __init__(
        self,
        settings: list[UpdateSettings],
        alphas: list[float],
        *,
        outputs: int,
        fit_intercept: bool,
        full: bool,
        W: Array,
        xp: Namespace,
        state: UpdateState | None = None,
    ) -> None:
        K = len(settings)
        self.average = settings[0].average
        if K > 1 and any(s.average for s in settings):
            msg = "Averaging is for one run (average=0 for every configuration of a sweep)."
            raise ValueError(msg)
        self.xp, self.full, self.fit_intercept = xp, full, fit_intercept
        self.d = W.shape[0]
        self.dt, self.dev = W.dtype, _device(W)
        self.single = K == 1
        self.config_of = [k for _ in range(outputs) for k in range(K)]
        self.settings, self.alphas = settings, alphas
        rows = xp.reshape(xp.arange(self.d + 1, device=self.dev), (self.d + 1, 1))
        self.coef_rows = xp.astype(rows < self.d, self.dt)  # 1 for W's rows, 0 for b's
        self.icpt_rows = 1.0 - self.coef_rows
        kinds: dict[OptimizerSettings, list[int]] = {}
        for j, k in enumerate(self.config_of):
            kinds.setdefault(settings[k].optimizer, []).append(j)
        self.parts = [_Part(opt, ids) for opt, ids in kinds.items()]
        self.ids = list(range(len(self.config_of)))  # the columns of theta, by id
        state = UpdateState() if state is None else replace(state)
        for p in self.parts:
            p.start(self, state)
        self.avg = state.average if self.average else None
        if self.average and (self.avg is None or self.avg.shape != (self.d + 1, W.shape[1])):
            self.avg = xp.zeros((self.d + 1, W.shape[1]), dtype=self.dt, device=self.dev)
        self.running = state.running
        self._layout()

    @property
    def state(self) -> UpdateState:
        """What the updates carry to the next run (K = 1)."""
        p = self.parts[0]
        return UpdateState(optimizer=p.state, average=self.avg, l1=p.l1_state, running=self.running)

    def _row(self, values: list[float]) -> float | Array:
        if self.single:
            return values[0]
        return self.xp.reshape(
            self.xp.asarray(values, dtype=self.dt, device=self.dev), (1, len(values))
        )

    def _layout(self) -> None:
        """Each part's positions in ``theta`` and the per-column constants."""
        xp = self.xp
        where = {i: j for j, i in enumerate(self.ids)}
        order: list[int] = []
        for p in self.parts:
            p.pos = [where[i] for i in p.ids]
            order += p.pos
            cfg = [self.config_of[i] for i in p.ids]
            alphas = [self.alphas[k] for k in cfg]
            p.alpha = self._row(alphas) if any(largest(a) for a in alphas) else None
            if p.alpha is not None and not isinstance(p.alpha, float) and self.single:
                # one per feature, (n_features, 1): none for the intercept's row
                p.alpha = xp.concat([p.alpha, xp.zeros((1, 1), dtype=self.dt, device=self.dev)])
            p.decay_rows = None if p.alpha is None else self.coef_rows * p.alpha
            l1 = [self.settings[k].l1 for k in cfg]
            p.l1 = self._row(l1) if any(largest(v) for v in l1) else None
            p.index = xp.asarray(p.pos, device=self.dev)
        self.whole = len(self.parts) == 1 and order == list(range(len(self.ids)))
        self.zero_row = xp.zeros((1, len(self.ids)), dtype=self.dt, device=self.dev)
        inverse = sorted(range(len(order)), key=order.__getitem__)  # the inverse permutation
        self.inverse = xp.asarray(inverse, device=self.dev)

    def keep(self, columns: list[int]) -> None:
        """Keep the columns at positions ``columns`` of ``theta``, with their state."""
        xp, kept = self.xp, {self.ids[j] for j in columns}
        self.ids = [self.ids[j] for j in columns]
        parts = []
        for p in self.parts:
            stay = [j for j, i in enumerate(p.ids) if i in kept]
            if not stay:
                continue
            if len(stay) < len(p.ids):
                sel = xp.asarray(stay, device=self.dev)
                if p.state is not None:
                    p.state = p.state.map(lambda a, sel=sel: xp.take(a, sel, axis=1))
                if (st := p.l1_state) is not None:
                    st.q, st.u = xp.take(st.q, sel, axis=1), xp.take(st.u, sel, axis=1)
                p.ids = [p.ids[j] for j in stay]
            parts.append(p)
        self.parts = parts
        self._layout()

    def step(self, theta: Array, gw: Array, gb: Array, eta: float | Array, t: int) -> Array:
        """Update ``t`` of ``theta`` (packed) with the batch's mean gradient ``gw``, ``gb`` and
        the learning rate ``eta`` (a float, or each column's, (columns,))."""
        xp = self.xp
        g = xp.concat([gw, gb[None, :] if self.fit_intercept else self.zero_row])
        if not self.single:
            eta = xp.reshape(eta, (1, -1))
        if not self.whole:
            new = []
            for p in self.parts:
                cols = [xp.take(a, p.index, axis=1) for a in (theta, g, eta)]
                new.append(p.shrink(self, p.descend(self, *cols), cols[2]))
            return xp.take(xp.concat(new, axis=1), self.inverse, axis=1)
        p = self.parts[0]
        theta = p.descend(self, theta, g, eta)
        if not self.average:  # shrink only with an L1 part: a call fewer per update
            return theta if p.l1 is None else p.shrink(self, theta, eta)
        # scikit-learn's order: the average (from update ``average`` on), then the truncation
        averaged = self.average <= t
        if averaged and not self.full:
            self.avg = self._average(theta, t)
        if p.l1 is not None:
            W = theta[: self.d, :]
            theta = p.shrink(self, theta, eta)
            if averaged and not self.full:
                share = p.l1_state.average_share()
                if share:
                    moved = xp.concat([theta[: self.d, :] - W, self.zero_row], axis=0)
                    self.avg = self.avg + share * moved
        if averaged and self.full:
            self.avg = self._average(theta, t)
        return theta

    def _average(self, theta: Array, t: int) -> Array:
        num_seen = t - self.average + 1
        l1 = self.parts[0].l1_state
        if l1 is not None:
            l1.averaged(num_seen)
        return self.avg + (theta - self.avg) / float(num_seen)

    def model(self, W: Array, b: Array, t_next: int) -> tuple[Array, Array]:
        """The model's ``(W, b)`` after the updates before ``t_next``: the average once an
        update has been averaged (scikit-learn's ``average <= t_ - 1``), else ``(W, b)``."""
        if self.average and self.average <= t_next - 1:
            return unpack(self.avg)
        return W, b


@dataclass(eq=False)
class _Part:
    """The columns of a :class:`Stepper` that share an optimiser."""

    optimizer: OptimizerSettings
    ids: list[int]
    state: OptimizerState | None = None
    pos: list[int] = field(default_factory=list)
    index: Array | None = None
    alpha: float | Array | None = None  # L2 strength (a row for K > 1), None: none
    decay_rows: Array | None = None
    l1: float | Array | None = None  # L1 strength (a row for K > 1), None: none
    l1_state: CumulativeL1 | None = None

    def start(self, owner: Stepper, carried: UpdateState) -> None:
        """The optimiser's and the truncation's state: carried in (K = 1) or afresh."""
        xp = owner.xp
        theta = xp.zeros((owner.d + 1, len(self.ids)), dtype=owner.dt, device=owner.dev)
        name, old = self.optimizer.name, carried.optimizer
        if name != "sgd":
            fits = old is not None and old.fits(name, theta)
            self.state = replace(old) if fits else OptimizerState.zeros(name, theta, xp=xp)
        if any(largest(owner.settings[owner.config_of[i]].l1) for i in self.ids):
            self.l1_state = carried.l1
            if self.l1_state is None:
                eps = float(xp.finfo(owner.dt).eps)
                u = 0.0 if owner.single else xp.zeros_like(theta[:1, :])
                self.l1_state = CumulativeL1(
                    theta[: owner.d, :], u=u, threshold=1e-9 if eps < 1e-10 else 1e-6
                )

    def descend(self, owner: Stepper, theta: Array, g: Array, eta: float | Array) -> Array:
        """The optimiser's step of these columns (``"sgd"``: scikit-learn's decay, then the step)."""
        xp = owner.xp
        if self.state is not None:
            return optimizer_step(
                theta,
                g,
                self.state,
                eta,
                settings=self.optimizer,
                decay_rows=self.decay_rows,
                xp=xp,
            )
        if self.alpha is None:
            return theta - eta * g
        decay = decay_factor(eta, self.alpha, xp=xp)
        if owner.average and self.l1_state is not None:
            self.l1_state.scale(decay)
        return theta * (decay * owner.coef_rows + owner.icpt_rows) - eta * g

    def shrink(self, owner: Stepper, theta: Array, eta: float | Array) -> Array:
        """The L1 step: soft thresholding (full batch) or the cumulative truncation."""
        if self.l1 is None:
            return theta
        xp, d, st = owner.xp, owner.d, self.l1_state
        W = theta[:d, :]
        if owner.full:
            new = soft_threshold(W, eta * self.l1, xp=xp)
        else:
            st.u = st.u + self.l1 * eta
            new, st.q = truncate(W, st.q, st.u, xp=xp)
        return xp.concat([new, theta[d:, :]], axis=0)
