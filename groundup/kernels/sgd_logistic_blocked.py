"""Exact one-sample SGD for the log-loss, a window of samples at a time.

One-sample SGD on the log-loss (``SGDClassifier(loss="log_loss")``'s update, the L2 decay
before the step) with ``K`` outputs (``K = 1``: the sigmoid, ``y`` 0/1; ``K > 1``: the
softmax, ``y`` one-hot) is :mod:`groundup.kernels.sgd_blocked`'s recursion with the residuals
``r_i = g(z_i) - y_i`` (K,) of the margins ``z_i = W_{i-1}^T x_i + b_{i-1}`` (``e_i = eta_i
s_i``, ``s_i`` the sample times class weight). So a window's margins depend on its earlier
updates only through its Gram matrix::

    z_i = z0_i - sum_{j<i} L_ij r_j,     z0_i = P_{i-1} W_0^T x_i + b_0,

``L`` as there (the strictly lower triangle of ``Hl Hr^T``, ``Hl = [P_{i-1} x_i, 1]``, ``Hr =
[(e_j / P_j) x_j, [fit_intercept] e_j]``). But ``r`` is not linear in ``z``: the margins ``Z``
(B, K) solve the nonlinear triangular system

    F(Z) = Z - Z0 + L R(Z) = 0,        R(Z) = g(Z) - Y.

Its Jacobian ``I + L (x) S_j`` (``S_j = dg/dz`` at ``z_j``: ``p (1 - p)``, or ``diag(p) - p
p^T``) is unit lower triangular, so a Newton step is one triangular solve of B·K unknowns, and
a step from margins whose first ``k`` samples are exact makes sample ``k + 1`` exact: Newton
ends within B steps (exactly), and from ``Z0`` converges quadratically (standardised data,
``eta = 0.01``, B = 64: steps of 0.4, 2e-3, 8e-9). :data:`SWEEPS` fixed-point sweeps ``Z <- Z0
- L R(Z)`` first save a Newton step. A window is settled when the next step, predicted as
``d_k^3 / d_{k-1}^2``, is below the dtype's rounding (or the step itself is). One that has not
within :data:`MAX_STEPS` steps is split in halves (diagonal blocks of ``L``; the second's
``Z0`` from the state after the first), down to single samples: the one-at-a-time iterates
either way. Then ``W_B = P_B (W_0 - Hr_W^T R)``, ``b_B = b_0 - Hr_b^T R``.

The sigmoid's steps work on ``h = z / 2``, ``t = tanh(h)``, ``g(z) - y = t / 2 + (1/2 - y)``:
``h = h0 - A t(h)`` with ``A = L / 4``, ``h0 = z0 / 2 - 2 A (1/2 - y)``, Jacobian ``I + A
diag(1 - t^2)``; the state moves by ``(Hr / 2)^T t + Hr^T (1/2 - y)``, the terms in ``y`` for
a group of windows at once. Each step reads its size on the host: cheap on host backends, a
synchronisation per step on an accelerator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from array_api_compat import device as _device

from groundup._typing import Array, Namespace
from groundup.kernels.schedules import EpochRows
from groundup.kernels.sgd_blocked import (
    BLOCK,
    TriangularSolver,
    block_rows,
    groups,
    solve_unit_lower,
)

__all__ = ["GROUP_ROWS", "MAX_STEPS", "SWEEPS", "logistic_sgd_epoch", "softmax_block"]

# Rows per group of windows (one batched Gram product): temporaries below ~150 KB are reused
# (NumPy, 100,000 x 32, an epoch: 112-123 ms with 512 rows, 161 ms with 1,024).
GROUP_ROWS = 512
# Newton steps a window may take before it is split in halves (2 on standardised data).
MAX_STEPS = 8
# Fixed-point sweeps before Newton (a product each, no solve): each brings standardised margins
# ~25 times closer (bench_logistic.py::test_sgd_epoch_vs_sgd_classifier: 0.90-0.94 of the time
# without; test_multinomial_sgd_epoch_vs_numpy_loop: 0.68-0.71 against 0.84-0.85).
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
    """One epoch of exact one-sample SGD on the log-loss: ``sgd_blocked_epoch``'s parameters
    with K outputs: ``rows.y`` (n_samples, K) 0/1 (K = 1) or one-hot, in X's dtype; ``W``
    (n_features, K), ``b`` (K,); ``block`` by default ``BLOCK``, or :func:`softmax_block`."""
    d, k = W.shape
    if block is None:
        block = BLOCK if k == 1 else softmax_block(k)
    eps = float(xp.finfo(W.dtype).eps)
    ctx = _Context(fit_intercept, alpha, solve_triangular, ROUNDING * eps, xp)
    # The state [W; b]: (d + 1, K), or (d + 1,) for the sigmoid (vectors all through).
    U = xp.concat([W, xp.reshape(b, (1, k))], axis=0)
    if k == 1:
        U = U[:, 0]
    # L's factor (1/4 for the softmax) on the strictly lower triangle, once for the epoch
    ones = xp.ones((block, block), dtype=W.dtype, device=_device(W))
    lower = (0.25 if k > 1 else 1.0) * xp.tril(ones, k=-1)
    for Xg, Yg, es, eg, bs in groups(rows, etas, block, group_rows):
        U = _group(Xg, Yg, es, eg, U, bs, lower[:bs, :bs], ctx)
    if k == 1:
        return xp.reshape(U[:d], (d, 1)), U[d:]
    return U[:d, :], U[d, :]


def softmax_block(k: int) -> int:
    """Samples per window for the softmax over ``k`` classes: B·k unknowns near 96 (NumPy, 3
    classes, 32 features, per sample: 8.6 us with windows of 16, 7.2 with 32, 12.3 with 64)."""
    return max(8, 96 // k)


@dataclass(frozen=True)
class _Context:
    """What every window needs besides its rows."""

    fit_intercept: bool
    alpha: float | Array
    fast: TriangularSolver | None
    tol: float  # ROUNDING * eps of the dtype
    xp: Namespace


def _advance(
    Lq: Array, Hl: Array, HrT: Array, Y: Array, C: Array | None, U: Array, ctx: _Context
) -> Array:
    """The state after a window: Newton on all of it, else on each half in turn. ``Lq = L /
    4``; ``Hl``, ``HrT`` (both halved for the sigmoid: ``Hl U = z0 / 2``); ``Y`` one-hot, or the
    sigmoid's ``2 (1/2 - y)``, which starts from ``h0 = z0 / 2 - C``, ``C = Lq Y`` (``None``
    for the softmax), and whose state moves by ``HrT (t + Y)``."""
    if C is None:  # softmax
        R = softmax_newton(Lq, Hl @ U, Y, ctx)
        if R is not None:
            return U - HrT @ R
    else:
        t = sigmoid_newton(Lq, Hl @ U - C, ctx)
        if t is not None:
            return U - HrT @ (t + Y)
    B = Lq.shape[0]
    for a, z in ((0, B // 2), (B // 2, B)):
        Lp, Yp = Lq[a:z, a:z], Y[a:z, ...]
        Cp = None if C is None else (Lp @ Yp[..., None])[..., 0]
        U = _advance(Lp, Hl[a:z, :], HrT[:, a:z], Yp, Cp, U, ctx)
    return U


def _group(
    Xg: Array, Yg: Array, es: Array, eg: Array, U: Array, bs: int, lower: Array, ctx: _Context
) -> Array:
    """Windows of ``bs`` consecutive samples (``Xg`` holds a whole number of them); ``lower``:
    L's factor on the strictly lower triangle, (bs, bs)."""
    xp = ctx.xp
    m, d = Xg.shape
    k = Yg.shape[1]
    nb = m // bs
    # The sigmoid's Hl and Hr are halved (L / 4 = Hl' Hr'^T), folded into the decay products
    # (bench_logistic.py::test_sgd_epoch_vs_sgd_classifier: 0.93-0.97 of the time).
    scale = 0.5 if k == 1 else 1.0
    Hl, HrT, L, decay = block_rows(
        Xg, scale * es, eg, bs, [], ctx.alpha, ctx.fit_intercept, scale=scale, xp=xp
    )
    Lq = L * lower
    Y = xp.reshape(1.0 - 2.0 * Yg, (nb, bs)) if k == 1 else xp.reshape(Yg, (nb, bs, k))
    C = None if k > 1 else (Lq @ Y[..., None])[..., 0]  # the terms in y, for the group
    if decay is not None and k > 1:
        decay = xp.reshape(decay, (nb, d + 1, 1))
    for i in range(nb):
        Ci = None if C is None else C[i, ...]
        U = _advance(Lq[i, ...], Hl[i, ...], HrT[i, ...], Y[i, ...], Ci, U, ctx)
        if decay is not None:
            U = U * decay[i, ...]
    return U


def sigmoid_newton(Lq: Array, V0: Array, ctx: _Context, /) -> Array | None:
    """``t = tanh(h)`` (B,) at the solution of ``h = V0 - Lq t(h)`` (``Lq = L / 4``, strictly
    lower) by Newton after :data:`SWEEPS` sweeps; ``None`` if unsettled after :data:`MAX_STEPS`."""
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
    """``R = softmax(Z) - Y`` (B, K) at the solution of ``Z = Z0 - 4 Lq R(Z)``, as
    :func:`sigmoid_newton`."""
    xp = ctx.xp
    B, k = Z0.shape
    eye = xp.eye(k, dtype=Z0.dtype, device=_device(Z0))
    L4 = (4.0 * Lq)[:, None, :, None]  # new axes by indexing: cheaper than reshapes

    def probs(Z: Array) -> Array:
        E = xp.exp(Z - xp.max(Z, axis=1, keepdims=True))
        return E / xp.sum(E, axis=1, keepdims=True)

    Z = Z0
    for _ in range(SWEEPS):
        Z = Z0 - 4.0 * (Lq @ (probs(Z) - Y))
    prev, settled = 0.0, False
    for _ in range(MAX_STEPS):
        P = probs(Z)
        if settled:
            return P - Y
        # J[(i, a), (j, c)] = L_ij S_j[a, c], S_j = diag(p_j) - p_j p_j^T
        # S[a, j, c] = P[j, a] (eye[a, c] - P[j, c]), built in the order J needs
        S = xp.matrix_transpose(P)[:, :, None] * (eye[:, None, :] - P[None, :, :])
        J = xp.reshape(L4 * S[None, ...], (B * k, B * k))
        F = xp.reshape(Z - Z0 + 4.0 * (Lq @ (P - Y)), (B * k,))
        delta = solve_unit_lower(J, F, fast=ctx.fast, xp=xp)
        Z = Z - xp.reshape(delta, (B, k))
        settled, prev = _settled(delta, Z, prev, ctx)
    return probs(Z) - Y if settled else None


def _settled(delta: Array, V: Array, prev: float, ctx: _Context) -> tuple[bool, float]:
    """Whether the Newton step ``delta`` leaves ``V`` settled, and its size: in the quadratic
    regime (``prev`` <= :data:`QUADRATIC`, this step <= ``50 sqrt(tol)``) the predicted next
    step ``|d_k|^3 / |d_{k-1}|^2`` is below ``tol``; or the step is at ``V``'s rounding; or it
    is not finite (overflowing margins: the per-sample loop's result, no better)."""
    size = math.sqrt(float(delta @ delta))
    tol = ctx.tol
    settled = (
        not math.isfinite(size)
        or (prev <= QUADRATIC and size <= 50.0 * math.sqrt(tol) and size**3 <= tol * prev * prev)
        or (size <= 1e3 * tol and size <= tol * (1.0 + float(ctx.xp.max(ctx.xp.abs(V)))))
    )
    return settled, size
