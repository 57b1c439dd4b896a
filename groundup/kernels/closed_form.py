"""Closed-form least squares: one-pass moments, the covariance ("beta") form and the normal
equations solved by Cholesky (refined once), QR or SVD.

With an intercept the data are centred on the (weighted) means and the intercept recovered
from them, as scikit-learn does. The one pass sums raw products and centres at the end (redone
on shifted data where that cancels digits); it also gathers the residual products about a
pilot solution, so that the refinement step usually needs no second pass.

The moments also give a preconditioned gradient fit its standardised data without a pass
(:func:`standardized`); :func:`scaled_rows` makes the standardised rows themselves.
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
        """False when X or y held NaN or inf (the sums reveal it without a pass of their own;
        one value read from the device)."""
        finite = xp.all(xp.isfinite(self.sxx)) & xp.all(xp.isfinite(self.sxy))
        return bool(finite & xp.isfinite(self.syy))


def chunk_bounds(n: int, rows: int | None) -> list[tuple[int, int]]:
    """``(start, stop)`` of the chunks of ``rows`` rows of ``n`` (``None``: one chunk)."""
    rows = n if rows is None or rows >= n else rows
    return [(i, min(i + rows, n)) for i in range(0, n, rows)]


# The loss of relative accuracy (4 bits) that centring raw sums may cost before the pass is
# redone on data shifted by the means.
CANCELLATION_LIMIT = 16.0
# A pilot comes from the first chunk of rows where it is at most this share of the data.
PILOT_SHARE = 0.5
# The pilot's refinement step is kept when cond * |step| <= PILOT_STEP * |coef| (equilibrated
# variables): its rounding error is then below the Gram matrix's own.
PILOT_STEP = 1e-2


def _sums(
    X: Array,
    y: Array,
    sample_weight: Array | None,
    shift: tuple[Array, Array] | None,
    chunk_rows: int | None,
    *,
    pilot: tuple[Array, Array] | None = None,
    xp: Namespace,
) -> tuple[float, Array, Array, Array]:
    """``(sum w, X'WX, Z'WX, Z'WZ)`` over the rows of ``[X - sx, y - sy]`` in one pass, with the
    stacked targets ``Z = [y, rho, 1]`` (``rho = y - X w0 - c``, the pilot's residuals, only
    with a pilot). Without a shift the chunks are views of X (no copy)."""
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
        sw = None if sample_weight is None else sample_weight[start:stop]
        xw, Zw = (xc, Z) if sw is None else (xc * sw[:, None], Z * sw)
        xx = xx + xw.T @ xc
        zx = zx + Zw @ xc
        zz = zz + Zw @ xp.matrix_transpose(Z)
    wsum = float(n) if sample_weight is None else float(zz[-1, -1])
    return wsum, xx, zx, zz


def _centre(
    sums: tuple[float, Array, Array, Array], shift: tuple[Array, Array] | None, pilot: Array | None
) -> Moments:
    """Moments about the means from :func:`_sums` about ``shift`` (``S - n o o'``)."""
    wsum, xx, zx, zz = sums
    ox, oy = zx[-1, :] / wsum, zz[0, -1] / wsum  # means of the shifted data
    mean_x, mean_y = (ox, oy) if shift is None else (shift[0] + ox, shift[1] + oy)
    m = Moments(
        n=wsum,
        mean_x=mean_x,
        mean_y=mean_y,
        sxx=xx - wsum * (ox[:, None] * ox[None, :]),
        sxy=zx[0, :] - wsum * ox * oy,
        syy=zz[0, 0] - wsum * oy * oy,
    )
    if pilot is not None:
        # r0 = rho - mean(rho): Xc' W r0 = sum w x rho - mean(rho) sum w x (x shifted).
        orho = zz[1, -1] / wsum
        m.pilot = Pilot(pilot, zx[1, :] - orho * zx[-1, :], zz[1, 1] - wsum * orho * orho)
    return m


def _raw_diagonal(m: Moments, *, xp: Namespace) -> tuple[Array, Array]:
    """The centred second moments of X's columns and y, and the same about zero."""
    diag = xp.concat([xp.linalg.diagonal(m.sxx), xp.reshape(m.syy, (1,))])
    means = xp.concat([m.mean_x, xp.reshape(m.mean_y, (1,))])
    return diag, diag + m.n * means * means


def cancellation(m: Moments, *, xp: Namespace) -> float:
    """``max_j (S_jj + n mean_j^2) / S_jj`` over the columns of X and y (``inf`` where
    ``S_jj <= 0``): the factor by which rounding errors of uncentred sums grow when centred."""
    diag, raw = _raw_diagonal(m, xp=xp)
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

    Raw products of row-chunk views are summed and centred at the end; where that cancels
    (:func:`cancellation` above ``CANCELLATION_LIMIT``: means large against the spreads, as in
    Longley's data) the pass is redone on the data shifted by the means just found.

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
        Also gather the residual products about a pilot solved from the first chunk
        (:class:`Pilot`) where that is at most ``PILOT_SHARE`` of the data and solves.
    rescale : bool
        Where the sums show squares of the data near or beyond the dtype's range (1e±300 in
        float64), redo the pass on columns (and y) times exact powers of two
        (:func:`range_exponents`, in ``Moments.exponents``; undone by :func:`data_units`).
    xp : namespace

    Returns
    -------
    Moments
        Non-finite sums (``Moments.finite``) mean non-finite input.
    """
    first = _pilot(X, y, sample_weight, fit_intercept, chunk_rows, xp=xp) if pilot else None
    w0 = None if first is None else first[0]
    wsum, xx, zx, zz = s = _sums(X, y, sample_weight, None, chunk_rows, pilot=first, xp=xp)
    if not fit_intercept:
        zero = xp.zeros((), dtype=X.dtype, device=_device(X))
        m = Moments(wsum, xp.zeros_like(zx[0, :]), zero, xx, zx[0, :], zz[0, 0], centred=False)
        m.pilot = None if first is None else Pilot(w0, zx[1, :], zz[1, 1])
    else:
        m = _centre(s, None, w0)
        if m.finite(xp=xp) and cancellation(m, xp=xp) > CANCELLATION_LIMIT:
            shift = (m.mean_x, m.mean_y)
            s = _sums(X, y, sample_weight, shift, chunk_rows, pilot=first, xp=xp)
            m = _centre(s, shift, w0)
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
    weight times ``weight``, from the centred moments ``m`` of ``(X, y)``: no pass."""
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


def scaled_rows(
    X: Array,
    shift: Array,
    factor: Array,
    sample_weight: Array | None,
    /,
    *,
    ones: float,
    chunk_rows: int | None,
    xp: Namespace,
) -> tuple[Array, Array]:
    """``(X - shift) * factor``, made one chunk of rows at a time (in cache, written once;
    ``chunk_rows=None``: one expression, as on a GPU or for immutable arrays), and the
    largest single-row curvature of the result, ``max_i w_i (‖x_i‖² + ones²)`` (0-d):
    ``eta0="auto"``'s bound for stochastic updates (``curvature.largest_row``) on the way."""
    n = X.shape[0]

    def largest(part: Array, start: int, stop: int) -> Array:
        sq = xp.vecdot(part, part) + ones * ones
        if sample_weight is not None:
            sq = sq * sample_weight[start:stop]
        return xp.max(sq)

    if chunk_rows is None or chunk_rows >= n:
        out = (X - shift) * factor
        return out, largest(out, 0, n)
    out = xp.empty_like(X)
    top = None
    for start in range(0, n, chunk_rows):
        stop = min(start + chunk_rows, n)
        part = X[start:stop, :] - shift
        part *= factor  # in place: one chunk-sized temporary, not two
        out[start:stop, :] = part
        here = largest(part, start, stop)
        top = here if top is None else xp.maximum(top, here)
    return out, top


def _constant_columns(m: Moments, X: Array, *, xp: Namespace) -> None:
    """Columns whose spread is within a few units of rounding of their mean are constant:
    centred on one of their values, their moments exactly zero, not the rounding noise of a
    weighted mean (which solved to slopes of 1e14)."""
    eps = float(xp.finfo(X.dtype).eps)
    const = xp.linalg.diagonal(m.sxx) / m.n <= (4 * eps * m.mean_x) ** 2
    if not bool(xp.any(const)):
        return
    keep = xp.astype(~const, m.sxx.dtype)
    m.mean_x = xp.where(const, X[0, :], m.mean_x)
    m.sxx, m.sxy = m.sxx * (keep[:, None] * keep[None, :]), m.sxy * keep
    m.pilot = None


def _near_range_edge(m: Moments, *, xp: Namespace) -> bool:
    """Whether a column's (or y's) sum of squares about zero is not finite, above ``max * eps``
    (no headroom for the solve) or below ``smallest_normal / eps`` (lost to underflow, or a
    zero column); the other sums are bounded by these (Cauchy-Schwarz)."""
    fi = xp.finfo(m.sxx.dtype)
    raw = _raw_diagonal(m, xp=xp)[1]
    return not bool(xp.all((raw <= fi.max * fi.eps) & (raw >= fi.smallest_normal / fi.eps)))


def range_exponents(X: Array, y: Array, /, *, power: int = 2, xp: Namespace) -> tuple[Array, Array]:
    """Exponents ``e`` (integer-valued floats) that bring the largest magnitude ``a`` of every
    column of X, and of y, to ``a * 2**-e`` in ``[1, 2)`` where any of them lies outside
    ``[(smallest_normal / eps)**(1/power), (max * eps / n)**(1/power)]`` (all zero otherwise):
    their ``power``-th powers and sums then stay in range, the scaling is exact, and the
    columns stay equilibrated (scaling only the extreme ones would leave 1e145 between
    columns, which QR's rank test reads as deficiency). ``|e|`` is capped at
    :func:`exponent_cap`."""
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
    X: Array, y: Array, sw: Array | None, intercept: bool, chunk: int | None, *, xp: Namespace
) -> tuple[Array, Array] | None:
    """Coefficients and intercept solved from the first chunk of rows, or ``None``."""
    n, d = X.shape
    rows = n if chunk is None else max(chunk, 8 * (d + 1))
    if rows > PILOT_SHARE * n:
        return None
    sw = None if sw is None else sw[:rows]
    mp = moments(X[:rows, :], y[:rows], sw, fit_intercept=intercept, pilot=False, xp=xp)
    w0 = cholesky_solve(mp.sxx, mp.sxy, xp=xp)[0] if mp.n > 0 and mp.finite(xp=xp) else None
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
    """``Xc^T W r`` and ``r^T W r`` for ``r = yc - Xc w`` in one pass over row chunks: the
    residual sum of squares from the residuals themselves (no cancellation, unlike ``syy -
    2 w'sxy + w'Sxx w``). Chunks are centred only where :func:`cancellation` calls for it;
    otherwise they are views and the means enter afterwards (``Xc'r = X'r - mean_x sum(r)``).
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
    """``X^T W r``, ``r^T W r``, ``sum W r`` and ``sum W`` for the residuals ``r = y - X w -
    offset`` computed as if in twice the working precision (Ogita, Rump & Oishi, "Accurate sum
    and dot product", SIAM J. Sci. Comput. 26, 2005: every product and sum error-free
    transformed). In working precision each residual carries an error of ``eps |y|``, which
    caps refinement at about ``cond(X) eps |y|`` (~1e-10 on NIST's Wampler1); here it is
    ``eps |r|``, so one refinement step reaches the accuracy the data allow."""
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
    """:meth:`DataPasses.accurate_products`' results from :func:`residual_sums`' sums."""
    if not m.centred:  # no intercept: the residuals about zero
        return xr, rr, offset
    shift = r_sum / total  # mean residual: what the plain offset misses
    g = xr - m.mean_x * r_sum
    return g, rr - shift * r_sum, offset + shift


def _refine(
    coef: Array, g: Array, sse: Array, m: Moments, ridge: float, solve: Any, *, xp: Namespace
) -> tuple[Array, Array]:
    """One step of iterative refinement, the residual sum of squares following it:
    ``|r - Xc dw|^2 = |r|^2 - 2 dw'(Xc'r) + dw' Sxx dw``."""
    rhs = g - ridge * coef if ridge else g
    dw = solve(rhs)
    if dw is None:
        return coef, sse
    sse = sse - 2.0 * xp.sum(dw * g) + xp.sum(dw * (m.sxx @ dw))
    return coef + dw, sse


# Refine against residuals in twice the working precision where the condition number, or the
# cancellation in the intercept, reaches this: there working-precision residuals limit it.
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
    """``sol`` refined once with its factorisation's solve, with its residual sum of squares
    (and intercept, where the residuals were accurate). From the pilot's products where the
    step is small enough (``PILOT_STEP``); else from ``sol.coef`` with a pass, in twice the
    working precision from ``ACCURATE_FROM``. A QR or SVD solution (``cond`` infinite) so
    takes the corrected semi-normal equations (Björck, *Numerical Methods for Least Squares
    Problems*, §6.6)."""
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
    """The passes over the data a closed-form solve needs besides the moments: over arrays in
    memory (:class:`DataPasses`) or, in the Dask layer, as tree reductions over row chunks."""

    def products(self, coef: Array, /) -> tuple[Array, Array]:
        """``Xc^T W r`` and ``r^T W r`` for ``r = yc - Xc coef`` (:func:`centred_products`)."""

    def accurate_products(self, coef: Array, /) -> tuple[Array, Array, Array]:
        """The same in twice the working precision, and ``coef``'s intercept."""

    def qr(self, ridge: float = 0.0) -> Solution | None:
        """:func:`qr_lstsq` of the centred (weighted) data."""

    def svd(self, ridge: float = 0.0, max_rank: int | None = None) -> Solution:
        """:func:`svd_lstsq` of the centred (weighted) data."""


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
        """``Xc^T W r``, ``r^T W r`` (about the mean residual) by :func:`residual_sums`, and
        the intercept ``mean(y - X coef)``, whose terms cancel where the means are large
        (NIST's Wampler1: an intercept of 1 from terms of 1e6)."""
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
        The equilibrated matrix's condition number estimated from the factor's diagonal
        (``inf`` when the factorisation failed).
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
    u = xp.linalg.solve(low.T, xp.linalg.solve(low, (sxy * scale)[:, None]))
    return u[:, 0] * scale, cond


def qr_lstsq(
    A: Array, b: Array, /, *, ridge: float = 0.0, rows: int, dtype: Any, xp: Namespace
) -> Solution | None:
    """``min |A w - b|^2 + ridge |w|^2`` by Householder QR of ``[A; sqrt(ridge) I]`` (Björck,
    *Numerical Methods for Least Squares Problems*, §2.7); ``None`` when R is rank deficient
    (cut-off ``eps * max(rows, d)`` relative, LAPACK's; ``rows``: those of the data)."""
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
    """``min |A w - b|^2 + ridge |w|^2`` by SVD of ``A``: the minimum-norm solution without a
    ridge, ``V diag(s / (s^2 + ridge)) U^T b`` with one (``Ridge(solver="svd")``). Singular
    values below LAPACK's cut-off ``eps * max(rows, d)`` relative count as zero, and so do
    all but the ``max_rank`` largest (centred rows' rounding can leave one just above it)."""
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
    """:func:`normal_solution` (``solver="beta"``: :func:`beta_solution`) for arrays in memory."""
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
    """Least-squares coefficients from the moments (``ridge``: plus ``ridge |w|^2``).

    ``"auto"``: Cholesky of the equilibrated ``Xc^T Xc (+ ridge I)`` refined once against the
    data (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., ch. 12); above a
    condition number of ``1/sqrt(eps)`` QR, and SVD (the minimum-norm solution) where R is
    rank deficient. ``"cholesky"`` gives ``coef=None`` for a singular matrix; ``"qr"`` turns
    to SVD where R is rank deficient. ``rank_bound``: the largest rank the centred data can
    have; below ``d`` the unpenalised Gram matrix is singular and Cholesky is not tried.
    """
    d = m.sxx.shape[0]
    singular = not ridge and rank_bound is not None and rank_bound < d
    if solver in ("auto", "cholesky") and not singular:
        sxx = (
            m.sxx + ridge * xp.eye(d, dtype=m.sxx.dtype, device=_device(m.sxx)) if ridge else m.sxx
        )
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
    sol = passes.qr(ridge) if solver in ("auto", "qr") and not singular else None
    if sol is None:
        sol = passes.svd(ridge, max_rank=rank_bound if singular else None)
    return _refined(sol, passes, m, ridge, xp=xp)


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
    """The covariance ("beta") form ``slope = Cov(X)^-1 Cov(X, y)``, by LU of the equilibrated
    matrix refined once against the data (accurate on Longley). A (numerically) singular
    covariance has no unique solution: the minimum-norm one by SVD; ``rank_bound`` as
    :func:`normal_solution`'s."""
    d = m.sxx.shape[0]
    singular = not ridge and rank_bound is not None and rank_bound < d
    denom = m.n - 1.0 if m.n > 1.0 else 1.0
    cov_xx = m.sxx / denom
    if ridge:
        cov_xx = cov_xx + (ridge / denom) * xp.eye(d, dtype=cov_xx.dtype, device=_device(cov_xx))
    diag = xp.linalg.diagonal(cov_xx)
    if not singular and bool(xp.all(diag > 0)):
        scale = 1.0 / xp.sqrt(diag)
        a = cov_xx * (scale[:, None] * scale[None, :])
        _, cond = cholesky_solve(a, xp.zeros_like(m.sxy), xp=xp)

        def solve(rhs: Array) -> Array:
            return xp.linalg.solve(a, (rhs * scale)[:, None])[:, 0] * scale

        # A numerically singular covariance has no unique covariance-form solution.
        coef = solve(m.sxy / denom) if cond * float(xp.finfo(dtype).eps) <= 1e-2 else None
        if coef is not None and bool(xp.all(xp.isfinite(coef))):
            sol = Solution(coef, "beta", d, d, solve=lambda rhs: solve(rhs / denom))
            return _refined(sol, passes, m, ridge, cond=cond, xp=xp)
    sol = passes.svd(ridge, max_rank=rank_bound if singular else None)
    return _refined(sol, passes, m, ridge, xp=xp)


def intercept_from_means(coef: Array, m: Moments, /, *, xp: Namespace) -> Array:
    """``mean_y - mean_x . coef`` (0-d)."""
    return m.mean_y - xp.sum(m.mean_x * coef)


def exponent_cap(finfo: Any) -> int:
    """The largest ``|e|`` of a scaling ``2**e`` (1022 for float64) that keeps ``2**e``, and
    each half of a sum of two (:func:`times_power_of_two`), a normal number."""
    return math.frexp(float(finfo.max))[1] - 2


def times_power_of_two(a: Array, k: Array, /, *, xp: Namespace) -> Array:
    """``a * 2**k`` for integer-valued ``k`` up to twice :func:`exponent_cap`, by two
    representable powers of two (exact where the result is normal)."""
    half = xp.floor(k / 2.0)
    return a * 2.0**half * 2.0 ** (k - half)


def data_units(sol: Solution, m: Moments, /, *, xp: Namespace) -> Solution:
    """``sol`` (found from ``m``) in the data's units with its intercept (zero without one):
    ``m.exponents`` undone exactly. A coefficient or intercept not finite is a clear error."""
    coef, sse = sol.coef, sol.sse
    b = sol.intercept if sol.intercept is not None else intercept_from_means(coef, m, xp=xp)
    b = b if m.centred else xp.zeros_like(b)
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
    """The moments of the union of two disjoint sets of rows: ``M = Ma + Mb + (na nb / n) d
    d^T``, ``d`` the difference of the means (Chan, Golub & LeVeque, "Algorithms for computing
    the sample variance", *The American Statistician* 37, 1983); pilots are not merged."""
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
