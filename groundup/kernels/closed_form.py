"""Closed-form least squares: one-pass moments, the covariance ("beta") form and the normal
equations solved by Cholesky (refined once), QR or SVD.

Data are centred on the (weighted) column means when there is an intercept, so the intercept
never enters the linear system; the intercept is recovered from the means, as scikit-learn
does. The moments are accumulated in a single pass over row chunks, each chunk shifted by
the first row of X so that the sums stay small, then corrected to the means.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from array_api_compat import device as _device

from groundup._typing import Array, Namespace


@dataclass
class Moments:
    """Sufficient statistics of a (weighted) least-squares problem.

    Attributes
    ----------
    n : float
        Sum of the sample weights (the number of samples without weights).
    mean_x : array of shape (n_features,)
        Weighted column means of X (zeros without an intercept).
    mean_y : 0-d array
        Weighted mean of y (zero without an intercept).
    sxx : array of shape (n_features, n_features)
        ``sum_i w_i (x_i - mean_x)(x_i - mean_x)^T``.
    sxy : array of shape (n_features,)
        ``sum_i w_i (x_i - mean_x)(y_i - mean_y)``.
    syy : 0-d array
        ``sum_i w_i (y_i - mean_y)^2``.
    """

    n: float
    mean_x: Array
    mean_y: Array
    sxx: Array
    sxy: Array
    syy: Array

    def finite(self, *, xp: Namespace) -> bool:
        """False when X or y held NaN or inf (the sums reveal it without a pass of their own)."""
        return bool(xp.all(xp.isfinite(self.sxx)) and xp.all(xp.isfinite(self.sxy))) and bool(
            xp.isfinite(self.syy)
        )


def _chunks(n: int, rows: int | None) -> list[tuple[int, int]]:
    rows = n if rows is None or rows >= n else rows
    return [(i, min(i + rows, n)) for i in range(0, n, rows)]


def moments(
    X: Array,
    y: Array,
    sample_weight: Array | None = None,
    /,
    *,
    fit_intercept: bool = True,
    chunk_rows: int | None = None,
    xp: Namespace,
) -> Moments:
    """Accumulate the sufficient statistics of ``y ~ X`` in one pass over row chunks.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,)
    sample_weight : array of shape (n_samples,), optional
    fit_intercept : bool
        Centre on the means (True) or use the uncentred second moments (False).
    chunk_rows : int, optional
        Rows per chunk (``None``: the whole array at once, as on a GPU).
    xp : namespace

    Returns
    -------
    Moments
    """
    n, d = X.shape
    dt = X.dtype
    dev = _device(X)
    # Augmented rows z = [x, y]; one Gram of z gives XtX, Xty and yty together.
    if fit_intercept:
        shift = xp.concat([X[0, :], xp.reshape(y[0], (1,))])
    else:
        shift = xp.zeros((d + 1,), dtype=dt, device=dev)
    gram = xp.zeros((d + 1, d + 1), dtype=dt, device=dev)
    total = xp.zeros((d + 1,), dtype=dt, device=dev)
    wsum = 0.0 if sample_weight is not None else float(n)
    for start, stop in _chunks(n, chunk_rows):
        z = xp.concat([X[start:stop, :], xp.reshape(y[start:stop], (-1, 1))], axis=1)
        if fit_intercept:
            z = z - shift
        if sample_weight is None:
            gram = gram + z.T @ z
            total = total + xp.sum(z, axis=0)
        else:
            zw = z * xp.reshape(sample_weight[start:stop], (-1, 1))
            gram = gram + zw.T @ z
            total = total + xp.sum(zw, axis=0)
    if sample_weight is not None:
        wsum = float(xp.sum(sample_weight))
    if fit_intercept:
        offset = total / wsum  # mean of the shifted data
        gram = gram - wsum * (offset[:, None] * offset[None, :])
        mean = shift + offset
    else:
        mean = xp.zeros((d + 1,), dtype=dt, device=dev)
    return Moments(
        n=wsum,
        mean_x=mean[:d],
        mean_y=mean[d],
        sxx=gram[:d, :d],
        sxy=gram[:d, d],
        syy=gram[d, d],
    )


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
    residuals themselves (no cancellation, unlike ``syy - 2 w'sxy + w'Sxx w``).
    """
    g = xp.zeros_like(w)
    sse = xp.zeros((), dtype=w.dtype, device=_device(w))
    for start, stop in _chunks(X.shape[0], chunk_rows):
        xc = X[start:stop, :] - m.mean_x
        r = (y[start:stop] - m.mean_y) - xc @ w
        rw = r if sample_weight is None else r * sample_weight[start:stop]
        g = g + rw @ xc
        sse = sse + xp.sum(rw * r)
    return g, sse


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


def _weighted_centred(
    X: Array, y: Array, m: Moments, sample_weight: Array | None, *, xp: Namespace
) -> tuple[Array, Array]:
    xc = X - m.mean_x
    yc = y - m.mean_y
    if sample_weight is not None:
        s = xp.sqrt(sample_weight)
        xc = xc * xp.reshape(s, (-1, 1))
        yc = yc * s
    return xc, yc


def _eps(dtype: object, *, xp: Namespace) -> float:
    return float(xp.finfo(dtype).eps)


@dataclass
class Solution:
    """A closed-form solution: coefficients, the solver that produced them, and the rank."""

    coef: Array
    solver: str
    rank: int
    n_features: int
    sse: Array | None = None  # residual sum of squares (weighted), 0-d


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


def qr_solve(
    X: Array, y: Array, m: Moments, sample_weight: Array | None = None, /, *, xp: Namespace
) -> Solution | None:
    """Householder QR of the centred (weighted) data; ``None`` when R is rank deficient."""
    xc, yc = _weighted_centred(X, y, m, sample_weight, xp=xp)
    q, r = xp.linalg.qr(xc, mode="reduced")
    rd = xp.abs(xp.linalg.diagonal(r))
    tol = _eps(X.dtype, xp=xp) * max(X.shape) * float(xp.max(rd))
    if not bool(xp.all(rd > tol)):
        return None
    qty = yc @ q
    coef = xp.linalg.solve(r, qty[:, None])[:, 0]
    res = yc - xc @ coef
    return Solution(coef, "qr", X.shape[1], X.shape[1], xp.sum(res * res))


def svd_solve(
    X: Array, y: Array, m: Moments, sample_weight: Array | None = None, /, *, xp: Namespace
) -> Solution:
    """Minimum-norm least squares by SVD of the centred (weighted) data (LAPACK's cutoff)."""
    xc, yc = _weighted_centred(X, y, m, sample_weight, xp=xp)
    u, s, vt = xp.linalg.svd(xc, full_matrices=False)
    cutoff = _eps(X.dtype, xp=xp) * max(X.shape) * float(xp.max(s)) if s.shape[0] else 0.0
    keep = s > cutoff
    rank = int(xp.sum(xp.astype(keep, xp.int32)))
    s_inv = xp.where(keep, 1.0 / xp.where(keep, s, xp.ones_like(s)), xp.zeros_like(s))
    coef = ((yc @ u) * s_inv) @ vt
    res = yc - xc @ coef
    return Solution(coef, "svd", rank, X.shape[1], xp.sum(res * res))


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
    """Least-squares coefficients from the moments, by the chosen solver.

    ``ridge`` adds ``ridge * I`` to ``Xc^T Xc`` (an L2 penalty; Cholesky only).

    ``"auto"``: Cholesky of the equilibrated ``Xc^T Xc`` with one step of iterative
    refinement against the data; when the factor shows the problem is ill conditioned
    (condition number above ``1/sqrt(eps)``) it turns to QR, and to SVD when QR shows X is
    rank deficient. ``"cholesky"`` returns ``None``-free results or raises upstream when the
    matrix is singular (the caller turns that into a clear error).
    """
    d = X.shape[1]
    sxx = m.sxx
    if ridge:
        sxx = sxx + ridge * xp.eye(d, dtype=sxx.dtype, device=_device(sxx))
        solver = "cholesky"
    if solver in ("auto", "cholesky"):
        coef, cond = cholesky_solve(sxx, m.sxy, xp=xp)
        eps = _eps(X.dtype, xp=xp)
        # auto keeps Cholesky while it is accurate; an explicit "cholesky" only refuses a
        # numerically singular matrix.
        limit = 1.0 / math.sqrt(eps) if solver == "auto" else 1.0 / (100.0 * eps)
        if coef is not None and cond < limit:
            g, sse = centred_products(X, y, coef, m, sample_weight, chunk_rows=chunk_rows, xp=xp)
            coef, sse = _refine(
                coef, g, sse, m, ridge, lambda rhs: cholesky_solve(sxx, rhs, xp=xp)[0], xp=xp
            )
            return Solution(coef, "cholesky", d, d, sse)
        if solver == "cholesky":
            return Solution(None, "cholesky", -1, d)
    if solver in ("auto", "qr"):
        sol = qr_solve(X, y, m, sample_weight, xp=xp)
        if sol is not None or solver == "qr":
            return sol if sol is not None else svd_solve(X, y, m, sample_weight, xp=xp)
    return svd_solve(X, y, m, sample_weight, xp=xp)


def solve_beta(
    X: Array,
    y: Array,
    m: Moments,
    sample_weight: Array | None = None,
    /,
    *,
    ridge: float = 0.0,
    chunk_rows: int | None = None,
    xp: Namespace,
) -> Solution:
    """The covariance ("beta") form: ``slope = Cov(X)^-1 Cov(X, y)``.

    With one feature this is ``Cov(x, y) / Var(x)``. The covariance matrix is solved by LU
    (``xp.linalg.solve``) on the equilibrated matrix and refined once against the data,
    which keeps ill-conditioned problems (Longley) accurate.
    """
    d = X.shape[1]
    denom = m.n - 1.0 if m.n > 1.0 else 1.0
    cov_xx = m.sxx / denom
    if ridge:
        cov_xx = cov_xx + (ridge / denom) * xp.eye(d, dtype=cov_xx.dtype, device=_device(cov_xx))
    cov_xy = m.sxy / denom
    diag = xp.linalg.diagonal(cov_xx)
    if not bool(xp.all(diag > 0)):
        return Solution(None, "beta", -1, d)
    scale = 1.0 / xp.sqrt(diag)
    a = cov_xx * (scale[:, None] * scale[None, :])
    # Singular (or numerically singular) covariance: no unique covariance-form solution.
    _, cond = cholesky_solve(a, xp.zeros_like(cov_xy), xp=xp)
    if cond * _eps(X.dtype, xp=xp) > 1e-2:
        return Solution(None, "beta", -1, d)

    def solve(rhs: Array) -> Array:
        return xp.linalg.solve(a, (rhs * scale)[:, None])[:, 0] * scale

    coef = solve(cov_xy)
    if not bool(xp.all(xp.isfinite(coef))):
        return Solution(None, "beta", -1, d)
    g, sse = centred_products(X, y, coef, m, sample_weight, chunk_rows=chunk_rows, xp=xp)
    coef, sse = _refine(coef, g, sse, m, ridge, lambda rhs: solve(rhs / denom), xp=xp)
    return Solution(coef, "beta", d, d, sse)


def intercept_from_means(coef: Array, m: Moments, /, *, xp: Namespace) -> Array:
    """``mean_y - mean_x . coef`` (0-d)."""
    return m.mean_y - xp.sum(m.mean_x * coef)


def locate_nonfinite(a: Array, /, *, xp: Namespace) -> tuple[int, list[tuple[int, ...]]]:
    """How many entries of ``a`` are NaN or inf, and the indices of up to the first three."""
    bad = ~xp.isfinite(a)
    count = int(xp.sum(xp.astype(bad, xp.int64)))
    if count == 0:
        return 0, []
    flat = xp.reshape(bad, (-1,))
    idx = xp.nonzero(flat)[0][: min(3, count)]
    shape = a.shape
    where: list[tuple[int, ...]] = []
    for k in [int(i) for i in idx]:
        if len(shape) == 2:
            where.append((k // shape[1], k % shape[1]))
        else:
            where.append((k,))
    return count, where
