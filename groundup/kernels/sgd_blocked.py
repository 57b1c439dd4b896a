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
``v <- D (v - Hr^T r)`` (``D`` scales ``w`` by ``P_B``): the per-sample loop's iterates up to
rounding. A group of blocks' Gram matrices are one batched product; per block, one triangular
solve and two matrix-vector products remain. ``P_{i-1} / P_j`` is bounded only while the
decays stay away from zero: the caller keeps the per-sample loop when ``eta * alpha`` exceeds
:data:`MAX_DECAY_STEP`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from array_api_compat import device as _device

from groundup._typing import Array, Namespace
from groundup.kernels.schedules import EpochRows, Schedule

# Samples per block, and rows per group of blocks (one batched Gram product that stays in
# cache; bench_linear.py::test_sgd_epoch_vs_sklearn: 2.55-2.84 with 1,024, 4.87-4.96 with 4,096).
BLOCK = 64
GROUP_ROWS = 1024
# Every decay factor 1 - eta*alpha >= 1 - MAX_DECAY_STEP: the ratios of the decay products
# within a block stay within 2**BLOCK.
MAX_DECAY_STEP = 0.5

TriangularSolver = Callable[..., Array | None]


def solve_unit_lower(
    L: Array, r: Array, /, *, fast: TriangularSolver | None = None, xp: Namespace
) -> Array:
    """Solve ``(I + tril(L, -1)) x = r`` for ``L`` (..., B, B), ``r`` (..., B) or (..., B, k);
    ``fast``: a backend's ``solve_triangular(a, b, lower=, unit_diagonal=)`` or ``None``."""
    if fast is not None:
        out = fast(L, r, lower=True, unit_diagonal=True)
        if out is not None:
            return out
    n = L.shape[-1]
    a = xp.tril(L, k=-1) + xp.eye(n, dtype=L.dtype, device=_device(L))
    if r.ndim == L.ndim - 1:
        return xp.linalg.solve(a, r[..., None])[..., 0]
    return xp.linalg.solve(a, r)


def largest_rate(schedule: Schedule, t_first: int, count: int) -> float:
    """The largest rate of updates ``t_first .. t_first + count - 1`` (at one end: every
    schedule is monotone)."""
    return max(schedule(t_first), schedule(t_first + count - 1))


def sgd_blocked_epoch(
    rows: EpochRows,
    W: Array,
    b: Array,
    etas: Array,
    /,
    *,
    alpha: float | Array,
    fit_intercept: bool,
    block: int = BLOCK,
    group_rows: int = GROUP_ROWS,
    solve_triangular: TriangularSolver | None = None,
    xp: Namespace,
) -> tuple[Array, Array]:
    """One epoch of exact one-sample SGD on the squared loss, ``block`` samples at a time:
    ``W`` (n_features, 1) and ``b`` (1,) after it. ``rows``: the epoch's rows in visiting
    order (``y`` (n_samples,)), ``etas`` the rate of each update; ``alpha`` the L2 decay, a
    float or one per feature (n_features, 1) (a preconditioned fit's), with ``max(etas) *
    alpha <= MAX_DECAY_STEP``; ``group_rows``: rows per batched Gram product;
    ``solve_triangular``: the backend's fast solve (:func:`solve_unit_lower`)."""
    X = rows.X
    v = xp.concat([W[:, 0], b, xp.ones((1,), dtype=X.dtype, device=_device(X))])
    for Xg, yg, es, eg, bs in groups(rows, etas, block, group_rows):
        yc = -xp.reshape(yg, (-1, 1))
        Hl, HrT, L, decay = block_rows(Xg, es, eg, bs, [yc], alpha, fit_intercept, xp=xp)
        for k in range(Hl.shape[0]):
            r = solve_unit_lower(L[k, ...], Hl[k, ...] @ v, fast=solve_triangular, xp=xp)
            v = v - HrT[k, ...] @ r
            if decay is not None:
                v = v * decay[k, :]
    d = X.shape[1]
    return xp.reshape(v[:d], (d, 1)), v[d : d + 1]


def groups(
    rows: EpochRows, etas: Array, block: int, group_rows: int
) -> Iterator[tuple[Array, Array, Array, Array, int]]:
    """The epoch's rows a group at a time, in whole blocks of ``bs = block`` rows then one
    shorter block: ``X``, ``y``, the steps ``es`` (rate times sample weight), rates ``eg``,
    ``bs``."""
    n = rows.X.shape[0]
    group = max(block, group_rows // block * block)
    for g0 in range(0, n, group):
        g1 = min(g0 + group, n)
        Xg, yg, sg = rows.take(g0, g1)
        eg = etas[g0:g1]
        es = eg if sg is None else eg * sg
        full = (g1 - g0) // block * block
        for a, z, bs in ((0, full, block), (full, g1 - g0, g1 - g0 - full)):
            if z > a:
                yield Xg[a:z, :], yg[a:z, ...], es[a:z], eg[a:z], bs


def block_rows(
    X: Array,
    es: Array,
    eg: Array | None,
    bs: int,
    extra: list[Array],
    alpha: float | Array,
    fit_intercept: bool,
    /,
    *,
    scale: float = 1.0,
    P: Array | None = None,
    xp: Namespace,
) -> tuple[Array, Array, Array, Array | None]:
    """The two scaled copies of blocks of ``bs`` rows, ``Hl = [scale P_{i-1} x_i, scale,
    extra]``, ``Hr = [(e_j / P_j) x_j, [fit_intercept] e_j, 0 per extra]`` (``P``: the
    decays' ``1 - alpha eg`` running products in each block, given or from ``eg``; ``es``
    includes ``scale``). With ``alpha`` per feature ``P`` is too, and ``P_{i-1} / P_j`` is
    still a row's times a column's factor, feature by feature: ``L`` stays one product.

    Returns ``Hl`` (nb, bs, c), ``HrT`` (nb, c, bs), ``L`` the products of their first
    ``d + 1`` columns (nb, bs, bs), and the state's factor after each block (``P_B`` on w, 1
    elsewhere; ``None`` without decay).
    """
    m, d = X.shape
    dt, dev = X.dtype, _device(X)
    nb, col = m // bs, (m, 1)
    zeros = xp.zeros(col, dtype=dt, device=dev)
    per_feature = getattr(alpha, "ndim", 0) > 0
    if P is None and (per_feature or alpha):  # within blocks; one per feature: (..., d)
        a = xp.reshape(alpha, (1, 1, d)) if per_feature else alpha
        P = xp.cumulative_prod(1.0 - a * xp.reshape(eg, (nb, bs, 1)), axis=1)
    if P is None:
        left = X if scale == 1.0 else scale * X
        right = xp.reshape(es, col) * X
    else:
        P = P if P.ndim == 3 else P[:, :, None]  # (nb, bs, 1 or d)
        first = xp.full((nb, 1, P.shape[2]), scale, dtype=dt, device=dev)
        inner = P[:, :-1, :] if scale == 1.0 else scale * P[:, :-1, :]
        left = xp.reshape(xp.concat([first, inner], axis=1), (m, -1)) * X
        right = xp.reshape(xp.reshape(es, (nb, bs, 1)) / P, (m, -1)) * X
    ones = zeros + scale
    Hl = xp.reshape(xp.concat([left, ones, *extra], axis=1), (nb, bs, d + 1 + len(extra)))
    icpt = xp.reshape(es, col) if fit_intercept else zeros
    Hr = xp.concat([right, icpt, *(zeros for _ in extra)], axis=1)
    # Hr^T as its own array: ~1.25x faster batched products than a transposed view (OpenBLAS).
    c = d + 1 + len(extra)
    HrT = xp.reshape(xp.matrix_transpose(xp.reshape(Hr, (nb, bs, c))), (nb, c, bs), copy=True)
    L = Hl[:, :, : d + 1] @ HrT[:, : d + 1, :]
    if P is None:
        return Hl, HrT, L, None
    tail = xp.ones((nb, c - d), dtype=dt, device=dev)
    return Hl, HrT, L, xp.concat([xp.broadcast_to(P[:, -1, :], (nb, d)), tail], axis=1)
