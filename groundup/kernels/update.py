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

__all__ = ["ColumnStepper", "Stepper", "UpdateSettings", "UpdateState"]


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
    return xp.concat([W, b[None, :]], axis=0)


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
        g = xp.concat([gw, gb[None, :] if self.fit_intercept else self.zero_row], axis=0)
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


class ColumnStepper:
    """The stepper's update for the K configurations of a sweep group (the columns of
    ``W``, :func:`groundup.kernels.sweep.descend_columns`), each with its own optimiser,
    L2 and L1 strengths and state.

    The configurations that share an optimiser (and its constants) form a part; each part
    keeps one :class:`~groundup.kernels.optimizers.OptimizerState` over its columns only
    (so one optimiser's state never sees another's columns) and takes
    :func:`~groundup.kernels.optimizers.optimizer_step` with a learning rate per column.
    The update of every column is :class:`Stepper`'s, in the same order (averaging aside:
    ``average`` is not supported here). A single part covering every column in order
    works on ``theta`` as it is; several take their columns out and put them back (two
    gathers per update, no host sync).

    Parameters
    ----------
    settings : list of UpdateSettings, length K
        Each configuration's update (``average`` must be 0).
    alphas : list of float, length K
        Each configuration's L2 strength.
    outputs : int
        Columns of ``W`` per configuration, laid out output by output (column ``c·K + k``).
    fit_intercept : bool
    full : bool
        Full-batch updates: the L1 part by soft thresholding (else the truncation).
    W : array of shape (n_features, outputs·K)
        The starting weights (shape, dtype and device of the state).
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
    ) -> None:
        if any(s.average for s in settings):
            msg = "ColumnStepper does not average (average=0 for every configuration)."
            raise ValueError(msg)
        self.xp, self.full, self.fit_intercept = xp, full, fit_intercept
        self.d = W.shape[0]
        self.dt, self.dev = W.dtype, _device(W)
        K = len(settings)
        # every column's configuration, output by output
        self.config_of = [k for _ in range(outputs) for k in range(K)]
        self.settings, self.alphas = settings, alphas
        kinds: dict[OptimizerSettings, list[int]] = {}
        for j, k in enumerate(self.config_of):
            kinds.setdefault(settings[k].optimizer, []).append(j)
        # the parts: optimiser settings, the columns (ids) they own, their state
        self.parts = [
            _Part(opt, ids, None if opt.name == "sgd" else OptimizerState(opt.name))
            for opt, ids in kinds.items()
        ]
        self.ids = list(range(len(self.config_of)))  # the columns of theta, by id
        rows = xp.reshape(xp.arange(self.d + 1, device=self.dev), (self.d + 1, 1))
        self.coef_rows = xp.astype(rows < self.d, self.dt)
        self.icpt_rows = 1.0 - self.coef_rows
        self.any_l1 = any(s.l1 for s in settings)
        for p in self.parts:
            p.state_zeros(self, xp)
        self._layout()

    def _row(self, values: list[float]) -> Array:
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
            p.alpha = self._row(alphas) if any(alphas) else None
            p.decay_rows = None if p.alpha is None else self.coef_rows * p.alpha
            l1 = [self.settings[k].l1 for k in cfg]
            p.l1 = self._row(l1) if any(l1) else None
            p.index = xp.asarray(p.pos, device=self.dev)
        self.whole = len(self.parts) == 1 and order == list(range(len(self.ids)))
        inverse = [0] * len(order)
        for j, pos in enumerate(order):
            inverse[pos] = j
        self.inverse = xp.asarray(inverse, device=self.dev)
        self.eta_index = xp.asarray(order, device=self.dev)

    def keep(self, columns: list[int]) -> None:
        """Keep the columns at positions ``columns`` of ``theta`` (the configurations that
        go on), with their state."""
        kept = {self.ids[j] for j in columns}
        self.ids = [self.ids[j] for j in columns]
        parts = []
        for p in self.parts:
            stay = [j for j, i in enumerate(p.ids) if i in kept]
            if not stay:
                continue
            if len(stay) < len(p.ids):
                p.take(stay, self.xp, self.dev)
                p.ids = [p.ids[j] for j in stay]
            parts.append(p)
        self.parts = parts
        self._layout()

    def step(self, theta: Array, gw: Array, gb: Array, eta: Array, t: int) -> Array:
        """Update ``t`` of ``theta`` (packed, (n_features + 1, columns)) with the batch's
        mean gradient ``gw``, ``gb`` and each column's learning rate ``eta`` (columns,)."""
        xp = self.xp
        zero = xp.zeros((1, gw.shape[1]), dtype=self.dt, device=self.dev)
        g = xp.concat([gw, gb[None, :] if self.fit_intercept else zero], axis=0)
        eta = xp.reshape(eta, (1, -1))
        if self.whole:
            return self.parts[0].step(self, theta, g, eta)
        new = [
            p.step(
                self,
                xp.take(theta, p.index, axis=1),
                xp.take(g, p.index, axis=1),
                xp.take(eta, p.index, axis=1),
            )
            for p in self.parts
        ]
        return xp.take(xp.concat(new, axis=1), self.inverse, axis=1)


@dataclass(eq=False)
class _Part:
    """The columns of a :class:`ColumnStepper` that share an optimiser."""

    optimizer: OptimizerSettings
    ids: list[int]
    state: OptimizerState | None
    pos: list[int] = field(default_factory=list)
    index: Array | None = None
    alpha: Array | None = None  # (1, columns) L2 strengths, None: none
    decay_rows: Array | None = None
    l1: Array | None = None  # (1, columns) L1 strengths, None: none
    q: Array | None = None  # the truncation's q, (n_features, columns)
    u: Array | None = None  # the truncation's u, (1, columns), on the device

    def state_zeros(self, owner: ColumnStepper, xp: Namespace) -> None:
        shape = (owner.d + 1, len(self.ids))
        theta = xp.zeros(shape, dtype=owner.dt, device=owner.dev)
        if self.state is not None:
            self.state = OptimizerState.zeros(self.optimizer.name, theta, xp=xp)
        if any(owner.settings[owner.config_of[i]].l1 for i in self.ids):
            self.q = xp.zeros((owner.d, len(self.ids)), dtype=owner.dt, device=owner.dev)
            self.u = xp.zeros((1, len(self.ids)), dtype=owner.dt, device=owner.dev)

    def take(self, stay: list[int], xp: Namespace, device: object) -> None:
        sel = xp.asarray(stay, device=device)
        if self.state is not None:
            self.state = self.state.map(lambda a: xp.take(a, sel, axis=1))
        if self.q is not None and self.u is not None:
            self.q, self.u = xp.take(self.q, sel, axis=1), xp.take(self.u, sel, axis=1)

    def step(self, owner: ColumnStepper, theta: Array, g: Array, eta: Array) -> Array:
        """:meth:`Stepper.step` for these columns (``eta`` (1, columns))."""
        xp = owner.xp
        if self.state is None:  # scikit-learn's update: the decay, then the step
            if self.alpha is not None:
                decay = xp.clip(1.0 - eta * self.alpha, min=0.0)
                theta = theta * (decay * owner.coef_rows + owner.icpt_rows) - eta * g
            else:
                theta = theta - eta * g
        else:
            theta = optimizer_step(
                theta,
                g,
                self.state,
                eta,  # type: ignore[arg-type]  # one rate per column, broadcast
                settings=self.optimizer,
                decay_rows=self.decay_rows,
                xp=xp,
            )
        if self.l1 is None:
            return theta
        d = owner.d
        W = theta[:d, :]
        if owner.full:
            new = soft_threshold(W, eta * self.l1, xp=xp)  # type: ignore[arg-type]
        else:
            self.u = self.u + self.l1 * eta
            new, self.q = truncate(W, self.q, self.u, xp=xp)  # type: ignore[arg-type]
        return xp.concat([new, theta[d:, :]], axis=0)
