"""Exact one-sample SGD for the squared loss, a block of samples at a time.

One-sample SGD (scikit-learn ``SGDRegressor``'s update, with the L2 decay applied before the
step) visits samples ``1, 2, ...`` of a block in order::

    r_i = x_i . w_{i-1} + b_{i-1} - y_i
    w_i = c_i w_{i-1} - e_i r_i x_i,        c_i = 1 - eta_i alpha   (1 without a penalty)
    b_i = b_{i-1} - [fit_intercept] e_i r_i,  e_i = eta_i s_i      (s_i: sample weight)

With ``P_i = c_1 ... c_i`` (``P_0 = 1``), ``w_k = P_k w_0 - sum_{j<=k} (P_k / P_j) e_j r_j x_j``,
so the residuals of a block solve one unit lower triangular system

    (I + L) r = r0,   r0_i = P_{i-1} x_i . w_0 + b_0 - y_i,
    L_ij = e_j ((P_{i-1} / P_j) x_i . x_j + [fit_intercept])   for j < i,

and then ``w_B = P_B (w_0 - sum_j (e_j / P_j) r_j x_j)``, ``b_B = b_0 - [fit_intercept]
sum_j e_j r_j``. Both products ``L`` are Gram matrices of two scaled copies of the block,

    Hl = [P_{i-1} x_i, 1, -y_i],   Hr = [(e_j / P_j) x_j, [fit_intercept] e_j, 0],

so with the state ``v = [w, b, 1]`` a block is ``r = (I + L)^-1 (Hl v)``,
``v <- D (v - Hr^T r)`` (``D`` scales ``w`` by ``P_B``): the same iterates as the per-sample
loop up to rounding, with matrix products in place of ``B`` tiny updates. The Gram matrices
of a group of blocks come from one batched product; only the triangular solve and two
matrix-vector products per block remain sequential. The ratios ``P_{i-1} / P_j`` are bounded
only while the decay factors stay away from zero, so the caller keeps the per-sample loop when
``eta * alpha`` exceeds :data:`MAX_DECAY_STEP`.
"""

from __future__ import annotations

from collections.abc import Callable

import array_api_extra as xpx
from array_api_compat import device as _device

from groundup._typing import Array, Namespace
from groundup.kernels.rows import EpochRows
from groundup.kernels.schedules import Schedule

# Samples per block and rows per group of blocks (the batched Gram products work a group at a
# time so that it stays in cache). On NumPy/OpenBLAS, 1e6 x 32, two cores: an epoch took
# 0.387 s with blocks of 32 and 0.358 s with blocks of 64 (larger blocks: more flops in the
# Gram products, fewer sequential steps; a GPU prefers them larger still). Groups of 1,024
# rows rather than 4,096: a group's temporaries (~1 MB each at 4,096 rows) went back to the
# system and were faulted in afresh, group after group (gate:
# bench_linear.py::test_sgd_epoch_vs_sklearn, GROUNDUP_BENCH_N=100000, in order, same
# runs: ratio 4.96 and 4.87 with 4,096 rows, 2.55 and 2.84 with 1,024; at 1,000,000 rows
# 3.86 and 3.11 against 3.72 and 2.90 - a busy two-core machine, noisy).
BLOCK = 64
GROUP_ROWS = 1024
# The blocked form needs every decay factor 1 - eta*alpha >= 1 - MAX_DECAY_STEP: the ratios
# of the decay products within a block stay within 2**BLOCK.
MAX_DECAY_STEP = 0.5

TriangularSolver = Callable[..., Array | None]


def solve_unit_lower(
    L: Array, r: Array, /, *, fast: TriangularSolver | None = None, xp: Namespace
) -> Array:
    """Solve ``(I + tril(L, -1)) x = r``; the diagonal and the upper triangle of ``L`` are
    ignored.

    Parameters
    ----------
    L : array of shape (..., B, B)
    r : array of shape (..., B) or (..., B, k)
    fast : callable, optional
        A backend's ``solve_triangular(a, b, lower=, unit_diagonal=)``, which may return
        ``None`` ("no fast path here").
    xp : namespace

    Returns
    -------
    array of the shape of ``r``
    """
    if fast is not None:
        out = fast(L, r, lower=True, unit_diagonal=True)
        if out is not None:
            return out
    n = L.shape[-1]
    a = xp.tril(L, k=-1) + xp.eye(n, dtype=L.dtype, device=_device(L))
    if r.ndim == L.ndim - 1:
        return xp.linalg.solve(a, r[..., None])[..., 0]
    return xp.linalg.solve(a, r)


def forward_substitution(L: Array, r: Array, /, *, xp: Namespace) -> Array:
    """The plain row-by-row solve of ``(I + tril(L, -1)) x = r`` for one block (the oracle
    of :func:`solve_unit_lower`).

    Parameters
    ----------
    L : array of shape (B, B)
    r : array of shape (B,)
    xp : namespace

    Returns
    -------
    array of shape (B,)
    """
    x = xp.zeros_like(r)
    for i in range(L.shape[0]):  # x_i = r_i - sum_{j<i} L_ij x_j
        x = xpx.at(x)[i].set(r[i] - L[i, :i] @ x[:i])
    return x


def largest_rate(schedule: Schedule, t_first: int, count: int) -> float:
    """The largest learning rate of updates ``t_first .. t_first + count - 1``, on the host.

    Every schedule is monotone in ``t`` (the tests check it), so the largest rate is at one
    end of the range.
    """
    return max(schedule(t_first), schedule(t_first + count - 1))


def sgd_blocked_epoch(
    rows: EpochRows,
    W: Array,
    b: Array,
    etas: Array,
    /,
    *,
    alpha: float,
    fit_intercept: bool,
    block: int = BLOCK,
    group_rows: int = GROUP_ROWS,
    solve_triangular: TriangularSolver | None = None,
    xp: Namespace,
) -> tuple[Array, Array]:
    """One epoch of exact one-sample SGD on the squared loss, ``block`` samples at a time.

    Parameters
    ----------
    rows : EpochRows
        The training rows (``y`` of shape (n_samples,)) in the epoch's order.
    W : array of shape (n_features, 1)
    b : array of shape (1,)
    etas : array of shape (n_samples,)
        The learning rate of each update of the epoch, in visiting order.
    alpha : float
        L2 decay (``0`` without a penalty); ``max(etas) * alpha`` must not exceed
        :data:`MAX_DECAY_STEP`.
    fit_intercept : bool
    block : int
        Samples per block.
    group_rows : int
        Rows per batched Gram product (a multiple of ``block`` is used).
    solve_triangular : callable, optional
        The backend's fast triangular solve (see :func:`solve_unit_lower`).
    xp : namespace

    Returns
    -------
    W : array of shape (n_features, 1)
    b : array of shape (1,)
    """
    n, d = rows.X.shape
    dt, dev = rows.X.dtype, _device(rows.X)
    v = xp.concat([W[:, 0], b, xp.ones((1,), dtype=dt, device=dev)])
    group = max(block, group_rows // block * block)
    for g0 in range(0, n, group):
        g1 = min(g0 + group, n)
        Xg, yg, sg = rows.take(g0, g1)
        eg = etas[g0:g1]
        es = eg if sg is None else eg * sg
        full = (g1 - g0) // block * block
        parts = [(0, full, block), (full, g1 - g0, g1 - g0 - full)]
        for a, z, bs in parts:
            if z > a:
                v = _group(
                    Xg[a:z, :],
                    yg[a:z],
                    es[a:z],
                    eg[a:z],
                    v,
                    bs,
                    alpha=alpha,
                    fit_intercept=fit_intercept,
                    fast=solve_triangular,
                    xp=xp,
                )
    return xp.reshape(v[:d], (d, 1)), v[d : d + 1]


def decayed_rows(
    Xg: Array,
    es: Array,
    eg: Array,
    bs: int,
    /,
    *,
    alpha: float,
    left_scale: float = 1.0,
    xp: Namespace,
) -> tuple[Array, Array, Array | None]:
    """The two scaled copies of blocks of ``bs`` consecutive rows that the blocked recursion
    multiplies: ``P_{i-1} x_i`` and ``(e_j / P_j) x_j``, with ``P`` the running product of
    the decay factors ``1 - alpha * eta`` within each block.

    Parameters
    ----------
    Xg : array of shape (m, n_features)
        A whole number of blocks.
    es : array of shape (m,)
        Step of each update (learning rate times sample weight).
    eg : array of shape (m,)
        Learning rate of each update (the decay's).
    bs : int
        Samples per block.
    alpha : float
        L2 decay (``0``: none).
    left_scale : float
        A factor of ``left`` (folded into the decay products: no extra pass over the rows).
    xp : namespace

    Returns
    -------
    left, right : arrays of shape (m, n_features)
    P_B : array of shape (m // bs, 1) or None
        The decay of each whole block (``None`` without decay).
    """
    m = Xg.shape[0]
    if not alpha:
        left = Xg if left_scale == 1.0 else left_scale * Xg
        return left, xp.reshape(es, (m, 1)) * Xg, None
    nb = m // bs
    P = xp.cumulative_prod(xp.reshape(1.0 - alpha * eg, (nb, bs)), axis=1)  # within blocks
    first = xp.full((nb, 1), left_scale, dtype=Xg.dtype, device=_device(Xg))
    P_prev = xp.concat([first, left_scale * P[:, :-1]], axis=1)
    left = xp.reshape(P_prev, (m, 1)) * Xg
    right = xp.reshape(es / xp.reshape(P, (m,)), (m, 1)) * Xg
    return left, right, P[:, -1:]


def _group(
    Xg: Array,
    yg: Array,
    es: Array,
    eg: Array,
    v: Array,
    bs: int,
    *,
    alpha: float,
    fit_intercept: bool,
    fast: TriangularSolver | None,
    xp: Namespace,
) -> Array:
    """Blocks of ``bs`` consecutive samples (``Xg`` holds a whole number of them)."""
    m, d = Xg.shape
    dt, dev = Xg.dtype, _device(Xg)
    nb = m // bs
    ones = xp.ones((m, 1), dtype=dt, device=dev)
    zeros = xp.zeros((m, 1), dtype=dt, device=dev)
    icpt = xp.reshape(es, (m, 1)) if fit_intercept else zeros
    left, right, P_B = decayed_rows(Xg, es, eg, bs, alpha=alpha, xp=xp)
    decay = None
    if P_B is not None:  # D scales w by P_B and leaves b and the constant 1 alone.
        decay = xp.concat(
            [xp.broadcast_to(P_B, (nb, d)), xp.ones((nb, 2), dtype=dt, device=dev)], axis=1
        )
    Hl = xp.reshape(xp.concat([left, ones, -xp.reshape(yg, (m, 1))], axis=1), (nb, bs, d + 2))
    Hr = xp.reshape(xp.concat([right, icpt, zeros], axis=1), (nb, bs, d + 2))
    # Hr^T as its own array: the batched product with a transposed copy ran ~1.25x faster
    # on NumPy/OpenBLAS than with a transposed view (and the copy is cheap next to it).
    HrT = xp.reshape(xp.matrix_transpose(Hr), (nb, d + 2, bs), copy=True)
    L = Hl[:, :, : d + 1] @ HrT[:, : d + 1, :]
    for k in range(nb):
        r = solve_unit_lower(L[k, ...], Hl[k, ...] @ v, fast=fast, xp=xp)
        v = v - HrT[k, ...] @ r
        if decay is not None:
            v = v * decay[k, :]
    return v
