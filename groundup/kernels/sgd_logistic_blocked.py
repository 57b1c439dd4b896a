"""Exact one-sample SGD for the log-loss, a window of samples at a time.

One-sample SGD on the log-loss (scikit-learn ``SGDClassifier(loss="log_loss")``'s update,
the L2 decay applied before the step) visits samples ``1, 2, ...`` of a window in order. With
``K`` outputs (``K = 1``: the sigmoid, ``y`` 0/1; ``K > 1``: the softmax, ``y`` one-hot)::

    z_i = W_{i-1}^T x_i + b_{i-1},      r_i = g(z_i) - y_i            (K,)
    W_i = c_i W_{i-1} - e_i x_i r_i^T,  b_i = b_{i-1} - [fit_intercept] e_i r_i

with ``c_i = 1 - eta_i alpha`` and ``e_i = eta_i s_i`` (``s_i``: sample weight; class weights
are in it). Exactly as in :mod:`groundup.kernels.sgd_blocked` (``P_i = c_1 ... c_i``), the
margins of a window depend on its earlier updates only through the window's Gram matrix::

    z_i = z0_i - sum_{j<i} L_ij r_j,     z0_i = P_{i-1} W_0^T x_i + b_0,
    L_ij = e_j ((P_{i-1} / P_j) x_i . x_j + [fit_intercept])      (j < i),

``L`` the strictly lower triangle of ``Hl Hr^T``, ``Hl = [P_{i-1} x_i, 1]``,
``Hr = [(e_j / P_j) x_j, [fit_intercept] e_j]`` (one batched product for a group of
windows). For the squared loss ``r`` is linear in ``z`` and the window is one triangular
solve; here the window's margins ``Z`` (B, K) solve the nonlinear triangular system

    F(Z) = Z - Z0 + L R(Z) = 0,        R(Z) = g(Z) - Y.

Newton's method solves it: its Jacobian ``I + L (x) S_j`` (``S_j = dg/dz`` at ``z_j``:
``p (1 - p)`` for the sigmoid, ``diag(p) - p p^T`` for the softmax) is unit lower triangular
(``L_jj = 0``: the diagonal blocks are the identity), so a step is one triangular solve of
B·K unknowns; and because it is triangular, a step from margins whose first ``k`` samples
are exact makes sample ``k + 1`` exact too: Newton ends in at most B steps from any start (in
exact arithmetic), and from ``Z0`` it converges quadratically (standardised features,
``eta = 0.01``, B = 64: steps of 0.4, 2e-3, 8e-9, then rounding). A few fixed-point sweeps
``Z <- Z0 - L R(Z)`` first (one product each, no solve) bring the start closer, and save
a Newton step (:data:`SWEEPS`). A window is settled when
the step predicted to follow, ``d_k^3 / d_{k-1}^2`` from the last two steps' largest
entries, is below the dtype's rounding (or the step itself is). A window that has not
settled within :data:`MAX_STEPS` steps is split in halves (their ``L`` are diagonal blocks
of ``L``, the second half's ``Z0`` comes from the state after the first), down to single
samples, which need no solve: the result is the one-at-a-time iterates either way. Then,
as for the squared loss, ``W_B = P_B (W_0 - Hr_W^T R)``, ``b_B = b_0 - Hr_b^T R``.

The sigmoid's steps work on ``h = z / 2`` and ``t = tanh(h)``, ``g(z) - y = t / 2 + (1/2 -
y)``: then ``h = h0 - A t(h)`` with ``A = L / 4``, ``h0 = z0 / 2 - 2 A (1/2 - y)`` and the
Jacobian ``I + A diag(1 - t^2)``, and the state moves by ``Hr^T R = (Hr / 2)^T t + Hr^T (1/2
- y)``: the terms in ``y`` are computed for a group of windows at once, and a step is ten
array operations. Each step reads its size on the host (one number), as the L1 epoch's
windows read a flag: cheap on host backends, a synchronisation per step on an accelerator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from array_api_compat import device as _device

from groundup._typing import Array, Namespace
from groundup.kernels.rows import EpochRows
from groundup.kernels.sgd_blocked import (
    BLOCK,
    TriangularSolver,
    block_rows,
    groups,
    solve_unit_lower,
)

__all__ = ["GROUP_ROWS", "MAX_STEPS", "SWEEPS", "logistic_sgd_epoch", "softmax_block"]

# Rows per group of windows (one batched Gram product): smaller than the squared loss's, as
# the Newton steps between products are slower and temporaries below ~150 KB are reused
# (NumPy, 100,000 x 32, an epoch: 112-123 ms with 512 rows, 161 ms with 1,024).
GROUP_ROWS = 512
# Newton steps a window may take before it is split in halves (2 on standardised data).
MAX_STEPS = 8
# Fixed-point sweeps before Newton (``h <- h0 - Lq t(h)``: a product each, no solve): each
# brings standardised margins ~25 times closer and saves a Newton step (gates
# bench_logistic.py::test_sgd_epoch_vs_sgd_classifier: 0.90-0.94 of the time without;
# test_multinomial_sgd_epoch_vs_numpy_loop: 0.68-0.71 against 0.84-0.85).
SWEEPS = 2
# A window is settled when the next step is predicted below ROUNDING * eps (or this step is
# below ROUNDING * eps * (1 + max |z|): the margins' own rounding).
ROUNDING = 4.0
# Steps (in margin units) below this are taken to be in Newton's quadratic regime: 2e-3 at
# the second step on standardised data; a first step of 1e17 followed by one of 800 is not.
QUADRATIC = 0.1


def logistic_sgd_epoch(
    rows: EpochRows,
    W: Array,
    b: Array,
    etas: Array,
    /,
    *,
    alpha: float | Array,
    fit_intercept: bool,
    block: int | None = None,
    group_rows: int = GROUP_ROWS,
    solve_triangular: TriangularSolver | None = None,
    xp: Namespace,
) -> tuple[Array, Array]:
    """One epoch of exact one-sample SGD on the log-loss, ``block`` samples at a time: the
    parameters and results of :func:`~groundup.kernels.sgd_blocked.sgd_blocked_epoch`, with
    K outputs: ``rows.y`` (n_samples, K), 0/1 for the sigmoid (K = 1), one-hot for the
    softmax (K > 1), in X's dtype; ``W`` (n_features, K), ``b`` (K,); ``block`` by default
    ``BLOCK`` for the sigmoid, :func:`softmax_block` for the softmax."""
    d, k = W.shape
    if block is None:
        block = BLOCK if k == 1 else softmax_block(k)
    eps = float(xp.finfo(W.dtype).eps)
    ctx = _Context(fit_intercept, alpha, solve_triangular, ROUNDING * eps, xp)
    # The state [W; b]: (d + 1, K), or (d + 1,) for the sigmoid (vectors all through).
    U = xp.concat([W, xp.reshape(b, (1, k))], axis=0)
    if k == 1:
        U = U[:, 0]
    for Xg, Yg, es, eg, bs in groups(rows, etas, block, group_rows):
        U = _group(Xg, Yg, es, eg, U, bs, ctx)
    if k == 1:
        return xp.reshape(U[:d], (d, 1)), U[d:]
    return U[:d, :], U[d, :]


def softmax_block(k: int) -> int:
    """Samples per window for the softmax over ``k`` classes: its Newton steps solve B·k
    unknowns, so the window shrinks with k (B·k near 96). On NumPy, 3 classes, 32 features,
    CPU time per sample: 8.6 us with windows of 16, 7.2 us with 32, 12.3 us with 64."""
    return max(8, 96 // k)


@dataclass(frozen=True)
class _Context:
    """What every window needs besides its rows."""

    fit_intercept: bool
    alpha: float | Array
    fast: TriangularSolver | None
    tol: float  # ROUNDING * eps of the dtype
    xp: Namespace
    masks: dict[tuple[int, float], Array] = field(default_factory=dict)

    def mask(self, bs: int, value: float, like: Array) -> Array:
        """``value`` on the strictly lower triangle of a (bs, bs) matrix, zero elsewhere
        (made once per epoch and size)."""
        key = (bs, value)
        if key not in self.masks:
            xp = self.xp
            ones = xp.ones((bs, bs), dtype=like.dtype, device=_device(like))
            self.masks[key] = value * xp.tril(ones, k=-1)
        return self.masks[key]


@dataclass(frozen=True)
class _Windows:
    """The arrays of one window, or of a group of them (leading axis: windows).

    ``Lq = L / 4``; the rows ``Hl`` and ``HrT`` (``Hr^T``; both halved for the sigmoid, so
    that ``Hl U = z0 / 2``); the targets ``Y``: one-hot for the softmax, ``2 (1/2 - y)`` for
    the sigmoid, whose margins start from ``h0 = z0 / 2 - C``, ``C = Lq Y`` (``None`` for the
    softmax), and whose state moves by ``HrT (t + Y)``.
    """

    Lq: Array
    Hl: Array
    HrT: Array
    Y: Array
    C: Array | None

    @classmethod
    def of(cls, Lq: Array, Hl: Array, HrT: Array, Y: Array) -> _Windows:
        if Y.ndim == Lq.ndim:  # softmax: Y (..., B, K)
            return cls(Lq, Hl, HrT, Y, None)
        return cls(Lq, Hl, HrT, Y, (Lq @ Y[..., None])[..., 0])

    def at(self, i: int) -> _Windows:
        """Window ``i`` of a group (indexing: several times faster than NumPy's unstack)."""
        C = None if self.C is None else self.C[i, ...]
        return _Windows(self.Lq[i, ...], self.Hl[i, ...], self.HrT[i, ...], self.Y[i, ...], C)

    def part(self, a: int, z: int) -> _Windows:
        """Samples ``a .. z - 1`` of a window, as a window of their own."""
        return _Windows.of(self.Lq[a:z, a:z], self.Hl[a:z, :], self.HrT[:, a:z], self.Y[a:z, ...])

    def advance(self, U: Array, ctx: _Context) -> Array:
        """The state after the window's updates: Newton on the whole window, else on each
        half in turn."""
        if self.C is None:  # softmax
            R = softmax_newton(self.Lq, self.Hl @ U, self.Y, ctx)
            if R is not None:
                return U - self.HrT @ R
        else:
            t = sigmoid_newton(self.Lq, self.Hl @ U - self.C, ctx)
            if t is not None:
                # (HrT (t + Y): no Hr^T (1/2 - y) per group, ~3 % of the 100,000-row
                # epoch's CPU time, bench_logistic.py::test_sgd_epoch_vs_sgd_classifier)
                return U - self.HrT @ (t + self.Y)
        h = self.Lq.shape[0] // 2
        return self.part(h, self.Lq.shape[0]).advance(self.part(0, h).advance(U, ctx), ctx)


def _group(Xg: Array, Yg: Array, es: Array, eg: Array, U: Array, bs: int, ctx: _Context) -> Array:
    """Windows of ``bs`` consecutive samples (``Xg`` holds a whole number of them)."""
    xp = ctx.xp
    m, d = Xg.shape
    k = Yg.shape[1]
    nb = m // bs
    # The sigmoid's Hl and Hr are halved (h0 = Hl' U - C; the state moves by (Hr / 2)^T t +
    # D): L / 4 = Hl' Hr'^T, the halving folded into the decay products (no pass of its own;
    # gate bench_logistic.py::test_sgd_epoch_vs_sgd_classifier: 0.93-0.97 of the time).
    scale = 0.5 if k == 1 else 1.0
    Hl, HrT, L, decay = block_rows(
        Xg, scale * es, eg, bs, [], ctx.alpha, ctx.fit_intercept, scale=scale, xp=xp
    )
    Lq = L * ctx.mask(bs, 0.25 if k > 1 else 1.0, Xg)
    Y = xp.reshape(1.0 - 2.0 * Yg, (nb, bs)) if k == 1 else xp.reshape(Yg, (nb, bs, k))
    group = _Windows.of(Lq, Hl, HrT, Y)
    if decay is not None and k > 1:
        decay = xp.reshape(decay, (nb, d + 1, 1))
    for i in range(nb):
        U = group.at(i).advance(U, ctx)
        if decay is not None:
            U = U * decay[i, ...]
    return U


def sigmoid_newton(Lq: Array, V0: Array, ctx: _Context, /) -> Array | None:
    """``t = tanh(h)`` (B,) at the solution of ``h = V0 - Lq t(h)`` (``Lq = L / 4`` (B, B),
    its strictly lower triangle used) by Newton's method from ``V0`` after :data:`SWEEPS`
    fixed-point sweeps, or ``None`` if it has not settled within :data:`MAX_STEPS` steps."""
    xp = ctx.xp
    V = V0
    for _ in range(SWEEPS):
        V = V0 - Lq @ xp.tanh(V)
    prev, settled = 0.0, False
    for _ in range(MAX_STEPS):
        t = xp.tanh(V)
        if settled:
            return t
        J = Lq * (1.0 - t * t)  # the Jacobian's strictly lower triangle
        F = V - V0 + Lq @ t
        delta = solve_unit_lower(J, F, fast=ctx.fast, xp=xp)
        V = V - delta
        settled, prev = _settled(delta, V, prev, ctx)
    return xp.tanh(V) if settled else None


def softmax_newton(Lq: Array, Z0: Array, Y: Array, ctx: _Context, /) -> Array | None:
    """``R = softmax(Z) - Y`` (B, K) at the solution of ``Z = Z0 - 4 Lq R(Z)`` (``Z0``, ``Y``
    (B, K); ``Lq`` as :func:`sigmoid_newton`'s) by Newton's method from ``Z0`` after
    :data:`SWEEPS` fixed-point sweeps, or ``None`` if it has not settled within
    :data:`MAX_STEPS` steps."""
    xp = ctx.xp
    B, k = Z0.shape
    eye = xp.eye(k, dtype=Z0.dtype, device=_device(Z0))
    L4 = (4.0 * Lq)[:, None, :, None]  # new axes by indexing: cheaper than reshapes
    Z = Z0
    for _ in range(SWEEPS):
        E = xp.exp(Z - xp.max(Z, axis=1, keepdims=True))
        Z = Z0 - 4.0 * (Lq @ (E / xp.sum(E, axis=1, keepdims=True) - Y))
    prev, settled = 0.0, False
    for step in range(MAX_STEPS + 1):
        E = xp.exp(Z - xp.max(Z, axis=1, keepdims=True))
        P = E / xp.sum(E, axis=1, keepdims=True)
        if settled:
            return P - Y
        if step == MAX_STEPS:
            return None
        # J[(i, a), (j, c)] = L_ij S_j[a, c], S_j = diag(p_j) - p_j p_j^T
        # S[a, j, c] = P[j, a] (eye[a, c] - P[j, c]), built in the order J needs
        S = xp.matrix_transpose(P)[:, :, None] * (eye[:, None, :] - P[None, :, :])
        J = xp.reshape(L4 * S[None, ...], (B * k, B * k))
        F = xp.reshape(Z - Z0 + 4.0 * (Lq @ (P - Y)), (B * k,))
        delta = solve_unit_lower(J, F, fast=ctx.fast, xp=xp)
        Z = Z - xp.reshape(delta, (B, k))
        settled, prev = _settled(delta, Z, prev, ctx)
    return None  # pragma: no cover (the loop returns)


def _settled(delta: Array, V: Array, prev: float, ctx: _Context) -> tuple[bool, float]:
    """Whether the Newton step ``delta`` (a vector) leaves the iterate ``V`` settled, and its
    size: in the quadratic regime (the last two steps small: ``prev``, the last step's size,
    at most :data:`QUADRATIC`, this one at most ``50 sqrt(tol)``) the next step, predicted
    from the rate ``|d_k|^3 / |d_{k-1}|^2``, is below ``tol``; or the step is at the
    iterate's rounding. A step that is not finite settles too: overflowing margins give
    what the per-sample loop gives, no better."""
    size = math.sqrt(float(delta @ delta))
    tol = ctx.tol
    settled = (
        not math.isfinite(size)
        or (prev <= QUADRATIC and size <= 50.0 * math.sqrt(tol) and size**3 <= tol * prev * prev)
        or (size <= 1e3 * tol and size <= tol * (1.0 + float(ctx.xp.max(ctx.xp.abs(V)))))
    )
    return settled, size
