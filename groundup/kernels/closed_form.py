"""Closed-form least squares: one-pass moments, the covariance ("beta") form and the normal
equations solved by Cholesky (refined once), QR or SVD.

Data are centred on the (weighted) column means when there is an intercept, so the intercept
never enters the linear system; the intercept is recovered from the means, as scikit-learn
does. The moments are accumulated in a single pass over row-chunk views and centred at the
end; where that would cancel digits (means large against the spreads) the pass is redone on
the data shifted by the means. The same pass gathers the residual products about a pilot
solution (from the first chunk of rows), so that the one step of iterative refinement
usually needs no second pass over the data.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Protocol

from array_api_compat import device as _device

from groundup._typing import Array, Namespace


@dataclass
class Pilot:
    """Residual products about a pilot solution, gathered in the moments pass."""

    coef: Array  # w0, solved from the first chunk of rows, (n_features,)
    g: Array  # Xc^T W r0 for the centred residuals r0 = yc - Xc w0, (n_features,)
    sse: Array  # r0^T W r0, 0-d


@dataclass
class Moments:
    """Sufficient statistics of a (weighted) least-squares problem."""

    n: float  # the sum of the sample weights (the number of samples without weights)
    mean_x: Array  # weighted column means of X, (n_features,) (zeros without an intercept)
    mean_y: Array  # weighted mean of y, 0-d (zero without an intercept)
    sxx: Array  # sum_i w_i (x_i - mean_x)(x_i - mean_x)^T, (n_features, n_features)
    sxy: Array  # sum_i w_i (x_i - mean_x)(y_i - mean_y), (n_features,)
    syy: Array  # sum_i w_i (y_i - mean_y)^2, 0-d
    pilot: Pilot | None = None  # residual products about a pilot solution
    centred: bool = True  # about the means (an intercept); False: uncentred, means zero
    #: ``(ex, ey)``: the sums are those of ``X * 2**-ex`` and ``y * 2**-ey`` (columns whose
    #: squares would leave the dtype's range; :func:`range_exponents`), else ``None``.
    exponents: tuple[Array, Array] | None = None

    def finite(self, *, xp: Namespace) -> bool:
        """False when X or y held NaN or inf (the sums reveal it without a pass of their own)."""
        return all(bool(xp.all(xp.isfinite(a))) for a in (self.sxx, self.sxy, self.syy))


def chunk_bounds(n: int, rows: int | None) -> list[tuple[int, int]]:
    """``(start, stop)`` of the chunks of ``rows`` rows of ``n`` (``None``: one chunk)."""
    rows = n if rows is None or rows >= n else rows
    return [(i, min(i + rows, n)) for i in range(0, n, rows)]


# Largest loss of relative accuracy (a factor, here 4 bits) that the sums of raw,
# uncentred products may suffer through cancellation before the pass is redone on data
# shifted by the means (see ``moments``).
CANCELLATION_LIMIT = 16.0


# A pilot solution comes from the first chunk of rows when that chunk is at most this share
# of the data (otherwise the second pass it saves costs about as much as the pilot).
PILOT_SHARE = 0.5
# The refinement step from the pilot is kept when cond * |step| <= PILOT_STEP * |coef| (in
# the equilibrated variables): its rounding error is then below the Gram matrix's own.
PILOT_STEP = 1e-2


@dataclass
class _Sums:
    """Raw weighted sums over the rows of ``[x - sx, y - sy]`` (one pass), and of the pilot
    residuals ``rho = (y - sy) - (x - sx) . w0 - c`` when there is a pilot."""

    wsum: float
    xx: Array  # (d, d)
    xy: Array  # (d,)
    x: Array  # (d,)
    y: Array  # 0-d
    yy: Array  # 0-d
    rx: Array | None = None  # (d,)  sum w rho x
    r: Array | None = None  # 0-d   sum w rho
    rr: Array | None = None  # 0-d   sum w rho^2


def _sums(
    X: Array,
    y: Array,
    sample_weight: Array | None,
    shift: tuple[Array, Array] | None,
    chunk_rows: int | None,
    *,
    pilot: tuple[Array, Array] | None = None,
    xp: Namespace,
) -> _Sums:
    """One pass over row chunks. Without a shift the chunks are views of X (no copy): per
    chunk one Gram product and two small products with the stacked targets ``Z = [y, rho, 1]``
    give every sum."""
    n, d = X.shape
    dt, dev = X.dtype, _device(X)
    k = 3 if pilot is not None else 2
    xx = xp.zeros((d, d), dtype=dt, device=dev)
    zx = xp.zeros((k, d), dtype=dt, device=dev)  # rows: sum w y x, (sum w rho x), sum w x
    zz = xp.zeros((k, k), dtype=dt, device=dev)  # sums of products of y, (rho), 1
    if pilot is not None:
        w0, c = pilot
        if shift is not None:  # the same residuals in shifted coordinates
            c = c + xp.sum(shift[0] * w0) - shift[1]
    chunks = chunk_bounds(n, chunk_rows)
    ones = xp.ones((chunks[0][1],), dtype=dt, device=dev)
    for start, stop in chunks:
        xc, yc = X[start:stop, :], y[start:stop]
        if shift is not None:
            xc, yc = xc - shift[0], yc - shift[1]
        rows = [yc, ones[: stop - start]]
        if pilot is not None:
            rows.insert(1, yc - xc @ w0 - c)
        Z = xp.stack(rows)
        if sample_weight is None:
            xw, Zw = xc, Z
        else:
            sw = sample_weight[start:stop]
            xw, Zw = xc * sw[:, None], Z * sw
        xx = xx + xw.T @ xc
        zx = zx + Zw @ xc
        zz = zz + Zw @ xp.matrix_transpose(Z)
    wsum = float(n) if sample_weight is None else float(zz[-1, -1])
    out = _Sums(wsum, xx, zx[0, :], zx[-1, :], zz[0, -1], zz[0, 0])
    if pilot is not None:
        out.rx, out.r, out.rr = zx[1, :], zz[1, -1], zz[1, 1]
    return out


def _centre(
    s: _Sums, shift: tuple[Array, Array] | None, pilot: Array | None, *, xp: Namespace
) -> Moments:
    """Moments about the means from sums about ``shift`` (``sum (z-s)(z-s)' - n o o'``)."""
    ox, oy = s.x / s.wsum, s.y / s.wsum  # means of the shifted data
    mean_x, mean_y = (ox, oy) if shift is None else (shift[0] + ox, shift[1] + oy)
    m = Moments(
        n=s.wsum,
        mean_x=mean_x,
        mean_y=mean_y,
        sxx=s.xx - s.wsum * (ox[:, None] * ox[None, :]),
        sxy=s.xy - s.wsum * ox * oy,
        syy=s.yy - s.wsum * oy * oy,
    )
    if pilot is not None:
        # r0 = rho - mean(rho): Xc' W r0 = sum w x rho - mean(rho) sum w x (x shifted).
        orho = s.r / s.wsum
        m.pilot = Pilot(pilot, s.rx - orho * s.x, s.rr - s.wsum * orho * orho)
    return m


def cancellation(m: Moments, *, xp: Namespace) -> float:
    """How much larger the raw second moments about zero are than the centred ones: the
    factor by which rounding errors of uncentred sums grow when they are centred.

    ``max_j (S_jj + n mean_j^2) / S_jj`` over the columns of X and y (``inf`` for a column
    whose centred moment is not positive).
    """
    diag = xp.concat([xp.linalg.diagonal(m.sxx), xp.reshape(m.syy, (1,))])
    means = xp.concat([m.mean_x, xp.reshape(m.mean_y, (1,))])
    raw = diag + m.n * means * means
    ok = diag > 0
    ratio = xp.where(ok, raw / xp.where(ok, diag, xp.ones_like(diag)), xp.full_like(diag, math.inf))
    return float(xp.max(ratio))


def moments(
    X: Array,
    y: Array,
    sample_weight: Array | None = None,
    /,
    *,
    fit_intercept: bool = True,
    chunk_rows: int | None = None,
    pilot: bool = True,
    rescale: bool = False,
    xp: Namespace,
) -> Moments:
    """Accumulate the sufficient statistics of ``y ~ X`` in one pass over row chunks.

    The pass sums raw products of row-chunk views (a Gram product per chunk, no copy of X)
    and centres the sums at the end. Centring raw sums loses accuracy when the means are
    large against the spreads (Longley's data); the loss is measured from the result
    (:func:`cancellation`) and, when it exceeds ``CANCELLATION_LIMIT``, the pass is redone
    on the data shifted by the means just found, chunk by chunk, which is accurate.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,)
    sample_weight : array of shape (n_samples,), optional
    fit_intercept : bool
        Centre on the means (True) or use the uncentred second moments (False).
    chunk_rows : int, optional
        Rows per chunk (``None``: the whole array at once, as on a GPU).
    pilot : bool
        Also gather the residual products about a pilot solution solved from the first
        chunk (:class:`Pilot`), for a refinement without a second pass. Only where the first
        chunk is at most ``PILOT_SHARE`` of the data and its least-squares problem solves.
    rescale : bool
        Where the sums show squares of the data near or beyond the dtype's range (values of
        1e±300 in float64, 1e±38 in float32), redo the pass on columns (and y) multiplied by
        exact powers of two (:func:`range_exponents`, in ``Moments.exponents``; the solution
        comes back by :func:`data_units`). Finite input is then never lost to overflow or
        underflow; the max-abs pass this costs is made only where the sums call for it.
    xp : namespace

    Returns
    -------
    Moments
        Non-finite sums (``Moments.finite``) mean non-finite input.
    """
    first = _pilot(X, y, sample_weight, fit_intercept, chunk_rows, xp=xp) if pilot else None
    w0 = None if first is None else first[0]
    s = _sums(X, y, sample_weight, None, chunk_rows, pilot=first, xp=xp)
    if not fit_intercept:
        zero = xp.zeros((), dtype=X.dtype, device=_device(X))
        m = Moments(s.wsum, xp.zeros_like(s.xy), zero, s.xx, s.xy, s.yy, centred=False)
        m.pilot = None if first is None else Pilot(w0, s.rx, s.rr)
    else:
        m = _centre(s, None, w0, xp=xp)
        if m.finite(xp=xp) and cancellation(m, xp=xp) > CANCELLATION_LIMIT:
            shift = (m.mean_x, m.mean_y)
            s = _sums(X, y, sample_weight, shift, chunk_rows, pilot=first, xp=xp)
            m = _centre(s, shift, w0, xp=xp)
            _constant_columns(m, X, xp=xp)
    if rescale and _near_range_edge(m, xp=xp):
        ex, ey = range_exponents(X, y, xp=xp)
        if bool(xp.any(ex != 0)) or bool(ey != 0):  # not only zero or constant columns
            Xs, ys = X * 2.0**-ex, y * 2.0**-ey
            m = moments(
                Xs, ys, sample_weight, fit_intercept=fit_intercept, chunk_rows=chunk_rows, xp=xp
            )
            m.exponents = (ex, ey)
    return m


def standardized(
    m: Moments,
    shift_x: Array,
    scale_x: Array,
    shift_y: float,
    scale_y: float,
    /,
    *,
    weight: float = 1.0,
    xp: Namespace,
) -> Moments:
    """The moments of ``((X - shift_x) / scale_x, (y - shift_y) / scale_y)``, every sample
    weight times ``weight``, from the centred moments ``m`` of ``(X, y)``: no pass. With
    ``D = diag(1 / scale_x)``: ``mean_x' = D (mean_x - shift_x)``, ``sxx' = D sxx D``,
    ``sxy' = D sxy / scale_y``, ``syy' = syy / scale_y²`` (times ``weight``, as ``n``)."""
    ix = 1.0 / scale_x
    iy = 1.0 / scale_y
    return Moments(
        n=m.n * weight,
        mean_x=(m.mean_x - shift_x) * ix,
        mean_y=(m.mean_y - shift_y) * iy,
        sxx=m.sxx * (xp.reshape(ix, (-1, 1)) * (weight * ix)),
        sxy=m.sxy * (ix * (weight * iy)),
        syy=m.syy * (weight * iy * iy),
    )


def _constant_columns(m: Moments, X: Array, *, xp: Namespace) -> None:
    """Columns whose spread is within a few units of rounding of their mean are constant:
    centred on one of their values, their moments exactly zero (the minimum-norm
    coefficient 0), not the rounding noise of a weighted mean (which solved to slopes of
    1e14). Found where the shift pass ran."""
    eps = float(xp.finfo(X.dtype).eps)
    const = xp.linalg.diagonal(m.sxx) / m.n <= (4 * eps * m.mean_x) ** 2
    if not bool(xp.any(const)):
        return
    keep = xp.astype(~const, m.sxx.dtype)
    m.mean_x = xp.where(const, X[0, :], m.mean_x)
    m.sxx, m.sxy = m.sxx * (keep[:, None] * keep[None, :]), m.sxy * keep
    m.pilot = None


def _near_range_edge(m: Moments, *, xp: Namespace) -> bool:
    """Whether the sums show squares of the data near or beyond the dtype's range: a
    column's (or y's) sum of squares about zero not finite, above ``max * eps`` (no
    headroom left for the solve) or below ``smallest_normal / eps`` (its terms lost to
    underflow, or zero: a zero column, told apart by :func:`range_exponents`). The other
    sums are bounded by these (Cauchy-Schwarz). One host sync."""
    fi = xp.finfo(m.sxx.dtype)
    diag = xp.concat([xp.linalg.diagonal(m.sxx), xp.reshape(m.syy, (1,))])
    means = xp.concat([m.mean_x, xp.reshape(m.mean_y, (1,))])
    raw = diag + m.n * means * means
    return not bool(xp.all((raw <= fi.max * fi.eps) & (raw >= fi.smallest_normal / fi.eps)))


def range_exponents(X: Array, y: Array, /, *, power: int = 2, xp: Namespace) -> tuple[Array, Array]:
    """Exponents ``e`` (integer-valued floats) that bring the largest magnitude ``a`` of
    every column of X, and of y, to ``a * 2**-e`` in ``[1, 2)`` where any of them lies
    outside ``[(smallest_normal / eps)**(1/power), (max * eps / n)**(1/power)]`` (all zero
    otherwise): their squares (``power``-th powers) and sums then stay inside the dtype's
    range, multiplying by ``2**-e`` is exact, and the columns stay equilibrated (scaling
    only the extreme ones would leave 1e145 between columns, which QR's rank test reads
    as deficiency). ``|e|`` is capped at :func:`exponent_cap` (subnormal data then land
    near ``2**-52``, still far inside the range)."""
    fi = xp.finfo(X.dtype)
    a = xp.concat([xp.max(xp.abs(X), axis=0), xp.reshape(xp.max(xp.abs(y)), (1,))])
    lo = (fi.smallest_normal / fi.eps) ** (1.0 / power)
    hi = (fi.max * fi.eps / X.shape[0]) ** (1.0 / power)
    none = (a == 0) | ~xp.isfinite(a)  # zeros stay; NaN / inf are said elsewhere
    if bool(xp.all(none | ((a >= lo) & (a <= hi)))):
        none = xp.ones_like(none)
    e = xp.floor(xp.log2(xp.where(none, xp.ones_like(a), a)))
    cap = float(exponent_cap(fi))
    e = xp.clip(e, -cap, cap)
    return e[:-1], e[-1]


def _pilot(
    X: Array,
    y: Array,
    sample_weight: Array | None,
    fit_intercept: bool,
    chunk_rows: int | None,
    *,
    xp: Namespace,
) -> tuple[Array, Array] | None:
    """Coefficients and intercept solved from the first chunk of rows, or ``None``."""
    n, d = X.shape
    rows = n if chunk_rows is None else max(chunk_rows, 8 * (d + 1))
    if rows > PILOT_SHARE * n:
        return None
    sw = None if sample_weight is None else sample_weight[:rows]
    mp = moments(X[:rows, :], y[:rows], sw, fit_intercept=fit_intercept, pilot=False, xp=xp)
    if mp.n <= 0 or not mp.finite(xp=xp):
        return None
    w0, _ = cholesky_solve(mp.sxx, mp.sxy, xp=xp)
    if w0 is None or not bool(xp.all(xp.isfinite(w0))):
        return None
    return w0, mp.mean_y - xp.sum(mp.mean_x * w0)


def centred_products(
    X: Array,
    y: Array,
    w: Array,
    m: Moments,
    sample_weight: Array | None = None,
    /,
    *,
    chunk_rows: int | None = None,
    xp: Namespace,
) -> tuple[Array, Array]:
    """``Xc^T W r`` and ``r^T W r`` for ``r = yc - Xc w``, in one pass over row chunks.

    The first refines a solve; the second is the residual sum of squares, computed from the
    residuals themselves (no cancellation, unlike ``syy - 2 w'sxy + w'Sxx w``). Where the
    means are small against the spreads (:func:`cancellation`) the chunks are used as views
    and the means enter afterwards (``Xc^T r = X^T r - mean_x sum(r)``); otherwise each
    chunk is centred first.
    """
    g = xp.zeros_like(w)
    sse = xp.zeros((), dtype=w.dtype, device=_device(w))
    total = xp.zeros((), dtype=w.dtype, device=_device(w))
    centre_rows = cancellation(m, xp=xp) > CANCELLATION_LIMIT
    offset = m.mean_y - xp.sum(m.mean_x * w)  # r = y - X w - offset
    for start, stop in chunk_bounds(X.shape[0], chunk_rows):
        if centre_rows:
            xc = X[start:stop, :] - m.mean_x
            r = (y[start:stop] - m.mean_y) - xc @ w
        else:
            xc = X[start:stop, :]
            r = y[start:stop] - xc @ w - offset
        rw = r if sample_weight is None else r * sample_weight[start:stop]
        g = g + rw @ xc
        sse = sse + xp.sum(rw * r)
        if not centre_rows:
            total = total + xp.sum(rw)
    if not centre_rows:
        g = g - m.mean_x * total
    return g, sse


# Dekker's splitting constant for float64 (2^27 + 1) and float32 (2^12 + 1).
_SPLIT = {8: 134217729.0, 4: 4097.0}


def _two_sum(a: Array, b: Array) -> tuple[Array, Array]:
    """``a + b = s + e`` exactly (Knuth's TwoSum)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _two_product(a: Array, b: Array, split: float) -> tuple[Array, Array]:
    """``a * b = p + e`` exactly (Dekker's TwoProduct, by splitting each factor in halves)."""
    p = a * b
    ca, cb = split * a, split * b
    ah = ca - (ca - a)
    bh = cb - (cb - b)
    al, bl = a - ah, b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def residual_sums(
    X: Array, y: Array, w: Array, offset: Array, sample_weight: Array | None, /, *, xp: Namespace
) -> tuple[Array, Array, Array, Array]:
    """Sums over the rows of the residuals ``r = y - X w - offset`` computed as if in twice
    the working precision (Ogita, Rump & Oishi, "Accurate sum and dot product", SIAM J. Sci.
    Comput. 26, 2005: every product and sum error-free transformed, the errors added at the
    end): ``X^T W r``, ``r^T W r``, ``sum W r`` and ``sum W``.

    The residuals of a good fit are small differences of large numbers; in working precision
    they carry an error of ``eps |y|`` each, which bounds the accuracy any refinement step
    reaches (about ``cond(X) eps |y|``, ~1e-10 on NIST's Wampler1). Here their error is
    ``eps |r|``, so one refinement step against them reaches the accuracy the data allow.
    """
    split = _SPLIT[xp.finfo(X.dtype).bits // 8]
    s = y
    e = xp.zeros_like(y)
    P, E = _two_product(X, -w, split)  # X * (-w) = P + E, elementwise
    for j in range(X.shape[1]):
        s, err = _two_sum(s, P[:, j])
        e = e + (err + E[:, j])
    s, err = _two_sum(s, -offset * xp.ones_like(s))
    r = s + (e + err)
    rw = r if sample_weight is None else r * sample_weight
    total = float(r.shape[0]) if sample_weight is None else xp.sum(sample_weight)
    return rw @ X, xp.sum(rw * r), xp.sum(rw), total


def finish_accurate(
    xr: Array, rr: Array, r_sum: Array, total: Any, offset: Array, m: Moments, /, *, xp: Namespace
) -> tuple[Array, Array, Array]:
    """:meth:`DataPasses.accurate_products`' results from the sums of :func:`residual_sums`
    (the Dask layer adds the sums up over its chunks)."""
    if not m.centred:  # no intercept: the residuals about zero
        return xr, rr, offset
    shift = r_sum / total  # mean residual: what the plain offset misses
    g = xr - m.mean_x * r_sum
    return g, rr - shift * r_sum, offset + shift


def _refine(
    coef: Array, g: Array, sse: Array, m: Moments, ridge: float, solve: Any, *, xp: Namespace
) -> tuple[Array, Array]:
    """One step of iterative refinement; the residual sum of squares follows the step exactly:
    ``|r - Xc dw|^2 = |r|^2 - 2 dw'(Xc'r) + dw' Sxx dw``."""
    rhs = g - ridge * coef if ridge else g
    dw = solve(rhs)
    if dw is None:
        return coef, sse
    sse = sse - 2.0 * xp.sum(dw * g) + xp.sum(dw * (m.sxx @ dw))
    return coef + dw, sse


# Refine against residuals in twice the working precision where the equilibrated Gram
# matrix's condition number, or the cancellation in the intercept (its terms against
# itself), reaches this: there the working-precision residuals limit the accuracy.
ACCURATE_FROM = 1e3


def _refined(
    sol: Solution,
    passes: LeastSquaresPasses,
    m: Moments,
    ridge: float,
    *,
    cond: float = math.inf,
    xp: Namespace,
) -> Solution:
    """``sol`` refined once with its factorisation's solve, with the residual sum of squares
    after it, and the intercept that goes with it where the residuals were accurate.

    From the pilot, with the residual products of the moments pass, when the step is small
    enough for its rounding error not to matter (``cond * |step| <= PILOT_STEP * |coef|`` in
    the equilibrated variables); otherwise from ``sol.coef``, with a pass over the data, its
    residuals in twice the working precision where ``cond`` or the cancellation in the
    intercept reaches ``ACCURATE_FROM`` (:meth:`LeastSquaresPasses.accurate_products`). A QR
    or SVD solution (``cond`` infinite: ill conditioned, by how it was reached) so takes the
    corrected semi-normal equations (Björck, *Numerical Methods for Least Squares Problems*,
    §6.6).
    """
    coef, p = sol.coef, m.pilot
    accurate = cond >= ACCURATE_FROM
    if not accurate and m.centred:
        terms = float(xp.abs(m.mean_y)) + float(xp.sum(xp.abs(m.mean_x * coef)))
        accurate = terms > ACCURATE_FROM * abs(float(intercept_from_means(coef, m, xp=xp)))
    if p is not None and not accurate:
        new, sse = _refine(p.coef, p.g, p.sse, m, ridge, sol.solve, xp=xp)
        scale = xp.sqrt(xp.abs(xp.linalg.diagonal(m.sxx)))
        step = float(xp.linalg.vector_norm((new - p.coef) * scale))
        size = float(xp.linalg.vector_norm(new * scale))
        if math.isfinite(step) and cond * step <= PILOT_STEP * size:
            return Solution(new, sol.solver, sol.rank, sol.n_features, sse)
    if accurate:
        g, sse, intercept = passes.accurate_products(coef)
    else:
        (g, sse), intercept = passes.products(coef), None
    new, sse = _refine(coef, g, sse, m, ridge, sol.solve, xp=xp)
    if intercept is not None:
        intercept = intercept - xp.sum(m.mean_x * (new - coef))
    return Solution(new, sol.solver, sol.rank, sol.n_features, sse, intercept)


@dataclass
class Solution:
    """A closed-form solution: coefficients, the solver that produced them, and the rank."""

    coef: Array
    solver: str
    rank: int
    n_features: int
    sse: Array | None = None  # residual sum of squares (weighted), 0-d
    intercept: Array | None = None  # where computed with the accurate residuals
    solve: Any = None  # rhs -> the factorisation's solve of (Xc^T Xc + ridge I) dw = rhs


class LeastSquaresPasses(Protocol):
    """The passes over the data that a closed-form solve needs besides the moments.

    :class:`DataPasses` makes them over arrays in memory; the Dask layer makes the same
    passes as tree reductions over row chunks (and its QR from a tall-and-skinny QR), so
    :func:`normal_solution` and :func:`beta_solution` are written once for both.
    """

    def products(self, coef: Array, /) -> tuple[Array, Array]:
        """``Xc^T W r`` and ``r^T W r`` for ``r = yc - Xc coef`` (:func:`centred_products`)."""

    def accurate_products(self, coef: Array, /) -> tuple[Array, Array, Array]:
        """The same with residuals in twice the working precision, and the intercept that
        goes with ``coef`` (:meth:`DataPasses.accurate_products`)."""

    def qr(self, ridge: float = 0.0) -> Solution | None:
        """Least squares (``+ ridge |w|^2``) by QR of the centred (weighted) data; ``None``
        if R is rank deficient (:func:`qr_lstsq`)."""

    def svd(self, ridge: float = 0.0, max_rank: int | None = None) -> Solution:
        """The minimum-norm least-squares solution (``+ ridge |w|^2``) by SVD of the
        centred (weighted) data (:func:`svd_lstsq`; ``max_rank``: the rank it cannot
        exceed)."""


@dataclass
class DataPasses:
    """:class:`LeastSquaresPasses` over arrays in memory (chunks of ``chunk_rows`` rows)."""

    X: Array
    y: Array
    m: Moments
    sample_weight: Array | None
    chunk_rows: int | None
    xp: Namespace

    def __post_init__(self) -> None:
        if self.m.exponents is not None:  # the moments are those of the scaled data
            ex, ey = self.m.exponents
            self.X, self.y = self.X * 2.0**-ex, self.y * 2.0**-ey

    def products(self, coef: Array, /) -> tuple[Array, Array]:
        return centred_products(
            self.X, self.y, coef, self.m, self.sample_weight, chunk_rows=self.chunk_rows, xp=self.xp
        )

    def accurate_products(self, coef: Array, /) -> tuple[Array, Array, Array]:
        """:func:`centred_products` with the residuals of :func:`residual_sums`, and the
        intercept that goes with ``coef``: ``mean(y - X coef)``, whose terms cancel to a small
        number where the means are large (NIST's Wampler1: an intercept of 1 from terms of
        1e6).

        Returns ``Xc^T W r``, ``r^T W r`` (about the mean residual) and the intercept.
        """
        xp, m, sample_weight = self.xp, self.m, self.sample_weight
        offset = m.mean_y - xp.sum(m.mean_x * coef)
        sums = None
        for start, stop in chunk_bounds(self.X.shape[0], self.chunk_rows):
            sw = None if sample_weight is None else sample_weight[start:stop]
            part = residual_sums(self.X[start:stop, :], self.y[start:stop], coef, offset, sw, xp=xp)
            sums = part if sums is None else [a + b for a, b in zip(sums, part, strict=True)]
        return finish_accurate(*sums, offset, m, xp=xp)

    def _centred(self) -> tuple[Array, Array]:
        """The centred data, each row times the square root of its weight."""
        xp, sw = self.xp, self.sample_weight
        xc, yc = self.X - self.m.mean_x, self.y - self.m.mean_y
        if sw is None:
            return xc, yc
        s = xp.sqrt(sw)
        return xc * xp.reshape(s, (-1, 1)), yc * s

    def qr(self, ridge: float = 0.0) -> Solution | None:
        n, dt = self.X.shape[0], self.X.dtype
        return qr_lstsq(*self._centred(), ridge=ridge, rows=n, dtype=dt, xp=self.xp)

    def svd(self, ridge: float = 0.0, max_rank: int | None = None) -> Solution:
        n, dt = self.X.shape[0], self.X.dtype
        return svd_lstsq(
            *self._centred(), ridge=ridge, rows=n, max_rank=max_rank, dtype=dt, xp=self.xp
        )


def cholesky_solve(sxx: Array, sxy: Array, /, *, xp: Namespace) -> tuple[Array | None, float]:
    """Solve ``sxx w = sxy`` by Cholesky on the equilibrated matrix.

    Returns
    -------
    w : array or None
        ``None`` when the matrix is not numerically positive definite.
    cond : float
        Estimate of the condition number of the equilibrated matrix (from the factor's
        diagonal); ``inf`` when the factorisation failed.
    """
    diag = xp.linalg.diagonal(sxx)
    if not bool(xp.all(diag > 0)):
        return None, math.inf
    scale = 1.0 / xp.sqrt(diag)
    a = sxx * (scale[:, None] * scale[None, :])
    try:
        low = xp.linalg.cholesky(a)
    except Exception:  # noqa: BLE001 - each library names its own LinAlgError
        return None, math.inf
    ld = xp.linalg.diagonal(low)
    if not bool(xp.all(xp.isfinite(ld))) or not bool(xp.all(ld > 0)):
        return None, math.inf
    cond = float(xp.max(ld) / xp.min(ld)) ** 2
    rhs = sxy * scale
    z = xp.linalg.solve(low, rhs[:, None])
    u = xp.linalg.solve(low.T, z)
    return u[:, 0] * scale, cond


def qr_lstsq(
    A: Array, b: Array, /, *, ridge: float = 0.0, rows: int, dtype: Any, xp: Namespace
) -> Solution | None:
    """``min |A w - b|^2 + ridge |w|^2`` by Householder QR of ``[A; sqrt(ridge) I]`` (the
    augmented system of ridge regression; Björck, *Numerical Methods for Least Squares
    Problems*, §2.7); ``None`` when R is rank deficient (so also for a wide ``A`` without a
    ridge). ``rows`` is the number of rows of the data ``A`` stands for (the cut-off is
    ``eps * max(rows, d)`` relative, LAPACK's)."""
    d = A.shape[1]
    Aa, ba = A, b
    if ridge:
        dev = _device(A)
        Aa = xp.concat([A, math.sqrt(ridge) * xp.eye(d, dtype=A.dtype, device=dev)], axis=0)
        ba = xp.concat([b, xp.zeros((d,), dtype=b.dtype, device=dev)])
    if Aa.shape[0] < d:
        return None
    q, r = xp.linalg.qr(Aa, mode="reduced")
    rd = xp.abs(xp.linalg.diagonal(r))
    if not bool(xp.all(rd > float(xp.finfo(dtype).eps) * max(rows, d) * float(xp.max(rd)))):
        return None
    coef = xp.linalg.solve(r, (ba @ q)[:, None])[:, 0]
    res = b - A @ coef

    def solve(rhs: Array) -> Array:  # (R^T R) dw = rhs, R^T R = A^T A + ridge I
        return xp.linalg.solve(r, xp.linalg.solve(r.T, rhs[:, None]))[:, 0]

    return Solution(coef, "qr", d, d, xp.sum(res * res), solve=solve)


def svd_lstsq(
    A: Array,
    b: Array,
    /,
    *,
    ridge: float = 0.0,
    rows: int,
    max_rank: int | None = None,
    dtype: Any,
    xp: Namespace,
) -> Solution:
    """``min |A w - b|^2 + ridge |w|^2`` by SVD of ``A``: the minimum-norm least-squares
    solution without a ridge (singular values below LAPACK's cut-off ``eps * max(rows, d)``
    relative count as zero, and so do all but the ``max_rank`` largest where the rank is
    known not to exceed it: centred rows, whose rounding can leave a singular value just
    above the cut-off), ``V diag(s / (s^2 + ridge)) U^T b`` with one (scikit-learn's
    ``Ridge(solver="svd")``). ``rank`` is A's numerical rank."""
    d = A.shape[1]
    u, s, vt = xp.linalg.svd(A, full_matrices=False)
    cutoff = float(xp.finfo(dtype).eps) * max(rows, d) * float(xp.max(s)) if s.shape[0] else 0.0
    keep = s > cutoff
    if max_rank is not None:
        keep = keep & (xp.arange(s.shape[0], device=_device(s)) < max_rank)
    rank = int(xp.sum(xp.astype(keep, xp.int32)))
    safe = xp.where(keep, s, xp.ones_like(s))
    factor = s / (s * s + ridge) if ridge else 1.0 / safe
    factor = xp.where(keep, factor, xp.zeros_like(s))
    coef = ((b @ u) * factor) @ vt
    res = b - A @ coef
    inverse = xp.where(keep, 1.0 / (safe * safe + ridge), xp.zeros_like(s))

    def solve(rhs: Array) -> Array:  # (A^T A + ridge I) dw = rhs on A's row space
        return ((rhs @ vt.T) * inverse) @ vt

    return Solution(coef, "svd", rank, d, xp.sum(res * res), solve=solve)


def solve_normal(
    X: Array,
    y: Array,
    m: Moments,
    sample_weight: Array | None = None,
    /,
    *,
    solver: str = "auto",
    ridge: float = 0.0,
    chunk_rows: int | None = None,
    xp: Namespace,
) -> Solution:
    """:func:`normal_solution` (``solver="beta"``: :func:`beta_solution`) for arrays in
    memory."""
    passes = DataPasses(X, y, m, sample_weight, chunk_rows, xp)
    if solver == "beta":
        return beta_solution(m, passes, ridge=ridge, dtype=X.dtype, xp=xp)
    return normal_solution(m, passes, solver=solver, ridge=ridge, dtype=X.dtype, xp=xp)


solve_beta = functools.partial(solve_normal, solver="beta")


def normal_solution(
    m: Moments,
    passes: LeastSquaresPasses,
    /,
    *,
    solver: str = "auto",
    ridge: float = 0.0,
    rank_bound: int | None = None,
    dtype: Any,
    xp: Namespace,
) -> Solution:
    """Least-squares coefficients from the moments, by the chosen solver.

    ``ridge`` adds ``ridge * I`` to ``Xc^T Xc`` (an L2 penalty, scikit-learn's ``Ridge``):
    Cholesky solves ``(Xc^T Xc + ridge I) w = Xc^T yc``, QR and SVD the augmented system
    ``[Xc; sqrt(ridge) I] w = [yc; 0]``.

    ``"auto"``: Cholesky of the equilibrated ``Xc^T Xc (+ ridge I)`` with one step of
    iterative refinement against the data (``passes.products``; Higham, *Accuracy and
    Stability of Numerical Algorithms*, 2nd ed., ch. 12); when the factor shows the problem
    is ill conditioned (condition number above ``1/sqrt(eps)``) it turns to QR, and to SVD
    when QR shows X is rank deficient (a wide X among them: the minimum-norm solution).
    ``"cholesky"`` returns ``coef=None`` when the matrix is singular (the caller turns that
    into a clear error); ``"qr"`` turns to SVD where R is rank deficient. ``rank_bound``:
    the largest rank the centred data can have (rows, minus one with an intercept); below
    ``d`` the unpenalised Gram matrix is singular whatever its rounding says, and Cholesky
    is not tried.
    """
    d = m.sxx.shape[0]
    if not ridge and rank_bound is not None and rank_bound < d:  # singular
        if solver == "cholesky":
            return Solution(None, "cholesky", -1, d)
        return _refined(passes.svd(max_rank=rank_bound), passes, m, ridge, xp=xp)
    sxx = m.sxx + ridge * xp.eye(d, dtype=m.sxx.dtype, device=_device(m.sxx)) if ridge else m.sxx
    if solver in ("auto", "cholesky"):
        coef, cond = cholesky_solve(sxx, m.sxy, xp=xp)
        eps = float(xp.finfo(dtype).eps)
        # auto keeps Cholesky while it is accurate; an explicit "cholesky" only refuses a
        # numerically singular matrix.
        limit = 1.0 / math.sqrt(eps) if solver == "auto" else 1.0 / (100.0 * eps)
        if coef is not None and cond < limit:
            sol = Solution(
                coef, "cholesky", d, d, solve=lambda rhs: cholesky_solve(sxx, rhs, xp=xp)[0]
            )
            return _refined(sol, passes, m, ridge, cond=cond, xp=xp)
        if solver == "cholesky":
            return Solution(None, "cholesky", -1, d)
    sol = passes.qr(ridge) if solver in ("auto", "qr") else None
    return _refined(sol if sol is not None else passes.svd(ridge), passes, m, ridge, xp=xp)


def beta_solution(
    m: Moments,
    passes: LeastSquaresPasses,
    /,
    *,
    ridge: float = 0.0,
    rank_bound: int | None = None,
    dtype: Any,
    xp: Namespace,
) -> Solution:
    """The covariance ("beta") form: ``slope = Cov(X)^-1 Cov(X, y)``.

    With one feature this is ``Cov(x, y) / Var(x)``. The covariance matrix is solved by LU
    (``xp.linalg.solve``) on the equilibrated matrix and refined once against the data,
    which keeps ill-conditioned problems (Longley) accurate. Where the covariance is
    singular (or numerically so) the form has no unique solution: the minimum-norm one of
    the same centred least-squares problem, by SVD (``solver`` ``"svd"``, ``rank`` below d);
    ``rank_bound`` as :func:`normal_solution`'s.
    """
    d = m.sxx.shape[0]
    if not ridge and rank_bound is not None and rank_bound < d:
        return _refined(passes.svd(max_rank=rank_bound), passes, m, ridge, xp=xp)
    denom = m.n - 1.0 if m.n > 1.0 else 1.0
    cov_xx = m.sxx / denom
    if ridge:
        cov_xx = cov_xx + (ridge / denom) * xp.eye(d, dtype=cov_xx.dtype, device=_device(cov_xx))
    cov_xy = m.sxy / denom
    diag = xp.linalg.diagonal(cov_xx)
    if not bool(xp.all(diag > 0)):
        return _refined(passes.svd(ridge), passes, m, ridge, xp=xp)
    scale = 1.0 / xp.sqrt(diag)
    a = cov_xx * (scale[:, None] * scale[None, :])
    # Singular (or numerically singular) covariance: no unique covariance-form solution.
    _, cond = cholesky_solve(a, xp.zeros_like(cov_xy), xp=xp)
    if cond * float(xp.finfo(dtype).eps) > 1e-2:
        return _refined(passes.svd(ridge), passes, m, ridge, xp=xp)

    def solve(rhs: Array) -> Array:
        return xp.linalg.solve(a, (rhs * scale)[:, None])[:, 0] * scale

    coef = solve(cov_xy)
    if not bool(xp.all(xp.isfinite(coef))):
        return _refined(passes.svd(ridge), passes, m, ridge, xp=xp)
    sol = Solution(coef, "beta", d, d, solve=lambda rhs: solve(rhs / denom))
    return _refined(sol, passes, m, ridge, cond=cond, xp=xp)


def intercept_from_means(coef: Array, m: Moments, /, *, xp: Namespace) -> Array:
    """``mean_y - mean_x . coef`` (0-d)."""
    return m.mean_y - xp.sum(m.mean_x * coef)


def exponent_cap(finfo: Any) -> int:
    """The largest ``|e|`` of a scaling power of two ``2**e``: 1022 for float64, 126 for
    float32, so that ``2**e``, and each half of a sum of two (:func:`times_power_of_two`),
    is a normal number."""
    return math.frexp(float(finfo.max))[1] - 2


def times_power_of_two(a: Array, k: Array, /, *, xp: Namespace) -> Array:
    """``a * 2**k`` for integer-valued ``k`` as large as twice the exponents of
    :func:`range_exponents`: by two powers of two that are each representable (exact where
    the result is a normal number)."""
    half = xp.floor(k / 2.0)
    return a * 2.0**half * 2.0 ** (k - half)


def data_units(sol: Solution, m: Moments, /, *, xp: Namespace) -> Solution:
    """``sol`` (found from ``m``) in the data's own units, with its intercept (zero without
    one): the powers of two of ``m.exponents`` undone, exactly (``coef_j 2**(ey - ex_j)``,
    :func:`times_power_of_two`). A coefficient or intercept beyond
    the dtype's range (or not finite for any other reason) is a clear error naming it."""
    coef, sse = sol.coef, sol.sse
    b = sol.intercept if sol.intercept is not None else intercept_from_means(coef, m, xp=xp)
    if not m.centred:
        b = xp.zeros_like(b)
    if m.exponents is not None:
        ex, ey = m.exponents
        coef = times_power_of_two(coef, ey - ex, xp=xp)
        b, sse = b * 2.0**ey, sse * 2.0**ey * 2.0**ey
    if not bool(xp.all(xp.isfinite(coef)) & xp.isfinite(b)):
        finite = xp.isfinite(xp.concat([coef, xp.reshape(b, (1,))]))
        bad = [j for j in range(coef.shape[0]) if not bool(finite[j])]
        names = [f"X[:, {j}]" for j in bad] + ([] if bool(finite[-1]) else ["the intercept"])
        kind = f"float{xp.finfo(coef.dtype).bits}"
        what = (  # with exponents, the solve was in range: the answer itself is not
            f"are beyond {kind}'s range (about |y| / |x_j| for X and y as given)"
            if m.exponents is not None
            else f"are not finite: the sums of squares of X and y left {kind}'s range"
        )
        msg = (
            f"The least-squares coefficients of {', '.join(names)} {what}; divide y, or "
            "multiply those columns, by a power of ten before fitting (or standardise them: "
            "sklearn.preprocessing.StandardScaler) and undo it on the coefficients."
        )
        raise ValueError(msg)
    return Solution(coef, sol.solver, sol.rank, sol.n_features, sse, b, sol.solve)


def merge_moments(a: Moments, b: Moments, /) -> Moments:
    """The moments of the union of two disjoint sets of rows (Chan, Golub & LeVeque,
    "Algorithms for computing the sample variance", *The American Statistician* 37, 1983).

    ``M = Ma + Mb + (na nb / n) d d^T`` with ``d`` the difference of the means, for the
    cross-products of X, of X and y, and of y; the means combine as weighted averages.
    Moments without an intercept (means zero) simply add. Empty sets (``n == 0``) are the
    identity. (The pilot products are not merged.)
    """
    if b.n == 0:
        return a
    if a.n == 0:
        return b
    n = a.n + b.n
    dx, dy = b.mean_x - a.mean_x, b.mean_y - a.mean_y
    f = a.n * b.n / n
    return Moments(
        n=n,
        mean_x=a.mean_x + dx * (b.n / n),
        mean_y=a.mean_y + dy * (b.n / n),
        sxx=a.sxx + b.sxx + f * (dx[:, None] * dx[None, :]),
        sxy=a.sxy + b.sxy + f * (dx * dy),
        syy=a.syy + b.syy + f * (dy * dy),
        centred=a.centred,
    )
