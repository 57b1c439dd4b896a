"""Regression diagnostics: the matrix work behind ``gu.diagnose``, pure Array API.

Every least-squares quantity here comes from one decomposition of the design: the columns
of X are centred (when the model has an intercept), scaled to unit norm and factored by an
SVD, ``Xc D⁻¹ = U S Vᵀ``. From it follow, without ever forming ``XᵀX``:

- ``(ZᵀZ)⁻¹`` for ``Z = [1, X]`` (the intercept block through the means, so that a large
  offset in a column such as Longley's ``YEAR`` does not cost accuracy),
- the hat-matrix diagonal ``h = 1/n + rowsum(U²)``,
- the rows of ``pinv(Z)ᵀ`` (the "bread" of the heteroscedasticity-consistent covariances),
- the variance inflation factors ``VIF_j = Σ_k V_jk² / S_k²``,
- the residuals of auxiliary regressions (Breusch–Pagan, White, Breusch–Godfrey, RESET,
  Goldfeld–Quandt), computed explicitly as ``yc − U Uᵀ yc`` rather than by subtraction of
  sums of squares.

All functions take arrays positionally and the namespace as ``xp=``; results stay on the
input's device. Scalars that leave the device (sums of squares, moments) are 0-d arrays the
caller turns into Python floats for their distributions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from array_api_compat import device as _device

from groundup._typing import Array, Namespace

HC_TYPES = ("HC0", "HC1", "HC2", "HC3")


def _eps(dtype: object, *, xp: Namespace) -> float:
    return float(xp.finfo(dtype).eps)


@dataclass
class Design:
    """The SVD of the centred, column-equilibrated design.

    Attributes
    ----------
    n : int
        Number of samples.
    intercept : bool
        Whether the design has a constant column (the data were centred).
    mean : array of shape (n_features,)
        Column means of X (zeros without an intercept).
    scale : array of shape (n_features,)
        Column norms of the centred X (1 for a constant or all-zero column).
    constant : array of shape (n_features,), bool
        Columns that are constant (with an intercept) or all zero (without one).
    u : array of shape (n_samples, k)
        Left singular vectors, ``k = min(n_samples, n_features)``.
    s : array of shape (k,)
        Singular values of ``Xc D⁻¹``, in decreasing order.
    vt : array of shape (k, n_features)
        Right singular vectors.
    rank : int
        Numerical rank of ``Xc D⁻¹`` (NumPy's ``matrix_rank`` cutoff), without the constant.
    """

    n: int
    intercept: bool
    mean: Array
    scale: Array
    constant: Array
    u: Array
    s: Array
    vt: Array
    rank: int

    @property
    def n_params(self) -> int:
        """Rank of the full design ``Z`` (the constant counts one)."""
        return self.rank + int(self.intercept)

    def keep(self, *, xp: Namespace) -> Array:
        """Mask of the singular values above the rank cutoff."""
        idx = xp.arange(self.s.shape[0], device=_device(self.s))
        return idx < self.rank

    def s_inv(self, power: int = 1, *, xp: Namespace) -> Array:
        """``S⁻ᵖ`` on the numerical range, 0 beyond it (pseudo-inverse)."""
        keep = self.keep(xp=xp)
        safe = xp.where(keep, self.s, xp.ones_like(self.s))
        return xp.where(keep, 1.0 / safe**power, xp.zeros_like(self.s))


def constant_columns(X: Array, /, *, xp: Namespace) -> Array:
    """Columns whose every value is the same (statsmodels' ``ptp == 0``).

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    xp : namespace

    Returns
    -------
    array of shape (n_features,), bool
    """
    return xp.max(X, axis=0) == xp.min(X, axis=0)


def decompose(X: Array, /, *, intercept: bool, xp: Namespace) -> Design:
    """Centre (with an intercept), equilibrate and factor the design by SVD.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        The features, without a constant column (the intercept is ``intercept=True``).
    intercept : bool
        Whether the model has an intercept.
    xp : namespace

    Returns
    -------
    Design
    """
    n, d = X.shape
    dt, dev = X.dtype, _device(X)
    if intercept:
        mean = xp.mean(X, axis=0)
        xc = X - mean
        constant = constant_columns(X, xp=xp)
    else:
        mean = xp.zeros((d,), dtype=dt, device=dev)
        xc = X
        constant = xp.all(X == 0, axis=0)
    zero = xp.zeros_like(xc)
    xc = xp.where(constant, zero, xc)
    norm = xp.sqrt(xp.sum(xc * xc, axis=0))
    scale = xp.where(constant | (norm == 0), xp.ones_like(norm), norm)
    u, s, vt = xp.linalg.svd(xc / scale, full_matrices=False)
    if s.shape[0] == 0:
        rank = 0
    else:
        cutoff = float(xp.max(s)) * max(n, d) * _eps(dt, xp=xp)
        rank = int(xp.sum(xp.astype(s > cutoff, xp.int32)))
    return Design(n, intercept, mean, scale, constant, u, s, vt, rank)


def slope_inverse(design: Design, /, *, xp: Namespace) -> Array:
    """``Sxx⁻¹``: the inverse of the centred (uncentred without intercept) ``XᵀX``.

    Returns
    -------
    array of shape (n_features, n_features)
        ``D⁻¹ V S⁻² Vᵀ D⁻¹`` (a pseudo-inverse when X is rank deficient).
    """
    w = design.vt.T * design.s_inv(1, xp=xp)  # V S⁻¹, (d, k)
    m = w @ w.T
    inv_d = 1.0 / design.scale
    return m * (inv_d[:, None] * inv_d[None, :])


def _untransform(block: Array, corner: Array, edge: Array, mean: Array, *, xp: Namespace) -> Array:
    """``T⁻¹ [[corner, edgeᵀ], [edge, block]] T⁻ᵀ`` with ``T⁻¹ = [[1, −meanᵀ], [0, I]]``.

    Moves a (p, p) matrix from the centred coordinates ``[1, Xc]`` to ``[1, X]``.
    """
    bm = block @ mean
    c00 = corner - 2.0 * xp.sum(edge * mean) + xp.sum(mean * bm)
    c01 = edge - bm  # (d,)
    top = xp.concat([xp.reshape(c00, (1,)), c01])
    rest = xp.concat([c01[:, None], block], axis=1)
    return xp.concat([top[None, :], rest], axis=0)


def gram_inverse(design: Design, /, *, xp: Namespace) -> Array:
    """``(ZᵀZ)⁻¹`` in statsmodels' order: the constant first, then the features.

    Returns
    -------
    array of shape (p, p)
        ``p = n_features + 1`` with an intercept, else ``n_features``.
    """
    m11 = slope_inverse(design, xp=xp)
    if not design.intercept:
        return m11
    zero = xp.zeros_like(design.mean)
    corner = xp.asarray(1.0 / design.n, dtype=m11.dtype, device=_device(m11))
    return _untransform(m11, corner, zero, design.mean, xp=xp)


def hat_diagonal(design: Design, /, *, xp: Namespace) -> Array:
    """Leverage: the diagonal of the hat matrix ``Z pinv(Z)``.

    Returns
    -------
    array of shape (n_samples,)
    """
    u = design.u * xp.astype(design.keep(xp=xp), design.u.dtype)
    h = xp.sum(u * u, axis=1)
    return h + 1.0 / design.n if design.intercept else h


def _centred_bread(design: Design, /, *, xp: Namespace) -> Array:
    """``G = U S⁻¹ Vᵀ D⁻¹`` (n, d): row i is ``(Sxx⁻¹ xc_i)ᵀ``."""
    g = (design.u * design.s_inv(1, xp=xp)) @ design.vt
    return g / design.scale


def sandwich(design: Design, weights: Array, /, *, xp: Namespace) -> Array:
    """``pinv(Z) diag(weights) pinv(Z)ᵀ``, in statsmodels' parameter order.

    Parameters
    ----------
    design : Design
    weights : array of shape (n_samples,)
        ``ω_i`` of the heteroscedasticity-consistent estimator (see :func:`hc_weights`).
    xp : namespace

    Returns
    -------
    array of shape (p, p)
    """
    g = _centred_bread(design, xp=xp)
    gw = g * weights[:, None]
    block = g.T @ gw
    if not design.intercept:
        return block
    inv_n = 1.0 / design.n
    corner = xp.sum(weights) * inv_n * inv_n
    edge = xp.sum(gw, axis=0) * inv_n
    return _untransform(block, corner, edge, design.mean, xp=xp)


def hc_weights(
    resid: Array, leverage: Array, kind: str, df_resid: int, /, *, xp: Namespace
) -> Array:
    """The ``ω_i`` of White's (HC0) estimator and MacKinnon–White's corrections.

    Parameters
    ----------
    resid : array of shape (n_samples,)
    leverage : array of shape (n_samples,)
    kind : {"HC0", "HC1", "HC2", "HC3"}
    df_resid : int
        ``n − p`` (HC1's correction ``n / (n − p)``).
    xp : namespace

    Returns
    -------
    array of shape (n_samples,)
    """
    e2 = resid * resid
    if kind == "HC0":
        return e2
    if kind == "HC1":
        return e2 * (resid.shape[0] / df_resid)
    if kind == "HC2":
        return e2 / (1.0 - leverage)
    if kind == "HC3":
        return e2 / (1.0 - leverage) ** 2
    msg = f"Unknown covariance type {kind!r}; choose 'nonrobust' or one of {list(HC_TYPES)}."
    raise ValueError(msg)


def wald_slopes(params: Array, cov: Array, /, *, intercept: bool, xp: Namespace) -> Array:
    """``b_sᵀ V_ss⁻¹ b_s``: the Wald statistic that all slopes are zero (0-d).

    Parameters
    ----------
    params : array of shape (p,)
    cov : array of shape (p, p)
    intercept : bool
        Whether ``params[0]`` is the constant (left out of the test).
    xp : namespace
    """
    b = params[1:] if intercept else params
    v = cov[1:, 1:] if intercept else cov
    return xp.sum(b * xp.linalg.solve(v, b[:, None])[:, 0])


def vif(design: Design, /, *, xp: Namespace) -> Array:
    """Variance inflation factors, ``1 / (1 − R²_j)`` of each feature on the others.

    With an intercept this is the diagonal of the inverse correlation matrix,
    ``Σ_k V_jk² / S_k²`` (statsmodels' ``variance_inflation_factor`` with its default
    standardisation gives the same). Infinite for a feature in an exact collinearity.

    Returns
    -------
    array of shape (n_features,)
    """
    v2 = design.vt.T**2  # (d, k)
    out = v2 @ design.s_inv(2, xp=xp)
    if design.rank < design.vt.shape[1]:
        # Features touched by the null space are not identified: infinite VIF.
        null = xp.astype(~design.keep(xp=xp), v2.dtype)
        tol = 1e3 * _eps(v2.dtype, xp=xp)
        hit = (v2 @ null) > tol
        out = xp.where(hit, xp.full_like(out, math.inf), out)
    return out


def singular_values(X: Array, /, *, intercept: bool, xp: Namespace) -> Array:
    """Singular values of the raw design ``[1, X]`` (``X`` without intercept), decreasing.

    statsmodels' condition number is their ratio, largest over smallest.
    """
    if intercept:
        ones = xp.ones((X.shape[0], 1), dtype=X.dtype, device=_device(X))
        X = xp.concat([ones, X], axis=1)
    return xp.linalg.svdvals(X)


@dataclass
class AuxFit:
    """An auxiliary least-squares regression ``y ~ [1,] Z``.

    Attributes
    ----------
    ssr : 0-d array
        Sum of squared residuals.
    centered_tss : 0-d array
        ``Σ (y − ȳ)²``.
    uncentered_tss : 0-d array
        ``Σ y²``.
    rank : int
        Rank of the full design, the constant included.
    n : int
    """

    ssr: Array
    centered_tss: Array
    uncentered_tss: Array
    rank: int
    n: int

    @property
    def df_resid(self) -> int:
        return self.n - self.rank


def residuals_on(design: Design, y: Array, /, *, xp: Namespace) -> Array:
    """Least-squares residuals of ``y`` on the design (``yc − U Uᵀ yc``)."""
    yc = y - xp.mean(y) if design.intercept else y
    u = design.u * xp.astype(design.keep(xp=xp), design.u.dtype)
    return yc - u @ (yc @ u)


def least_squares(design: Design, y: Array, /, *, xp: Namespace) -> tuple[Array, Array]:
    """The (minimum-norm) least-squares coefficients on the design.

    Returns
    -------
    coef : array of shape (n_features,)
    intercept : 0-d array
        Zero without an intercept.
    """
    yc = y - xp.mean(y) if design.intercept else y
    coef = ((yc @ design.u) * design.s_inv(1, xp=xp)) @ design.vt / design.scale
    if design.intercept:
        return coef, xp.mean(y) - xp.sum(design.mean * coef)
    return coef, xp.zeros((), dtype=y.dtype, device=_device(y))


def aux_regression(Z: Array, y: Array, /, *, intercept: bool = True, xp: Namespace) -> AuxFit:
    """Regress ``y`` on ``Z`` (plus a constant) and return its sums of squares and rank.

    Parameters
    ----------
    Z : array of shape (n_samples, k)
        Regressors, without the constant.
    y : array of shape (n_samples,)
    intercept : bool, default=True
    xp : namespace

    Returns
    -------
    AuxFit
    """
    design = decompose(Z, intercept=intercept, xp=xp)
    r = residuals_on(design, y, xp=xp)
    yc = y - xp.mean(y)
    return AuxFit(
        ssr=xp.sum(r * r),
        centered_tss=xp.sum(yc * yc),
        uncentered_tss=xp.sum(y * y),
        rank=design.n_params,
        n=int(Z.shape[0]),
    )


def white_terms(X: Array, /, *, xp: Namespace) -> Array:
    """White's regressors: the features, their squares and cross products.

    Returns
    -------
    array of shape (n_samples, d + d (d + 1) / 2)
        Columns in statsmodels' order (``triu_indices`` of ``[1, X]``, the constant left out).
    """
    d = X.shape[1]
    cols = [X]
    for i in range(d):
        cols.append(X[:, i : i + 1] * X[:, i:])
    return xp.concat(cols, axis=1)


def lagged(resid: Array, nlags: int, /, *, xp: Namespace) -> Array:
    """Lags 1..nlags of the residuals, zero before the start (statsmodels' ``lagmat``).

    Returns
    -------
    array of shape (n_samples, nlags)
    """
    n = resid.shape[0]
    cols = []
    for j in range(1, nlags + 1):
        head = xp.zeros((min(j, n),), dtype=resid.dtype, device=_device(resid))
        cols.append(xp.concat([head, resid[: max(n - j, 0)]]))
    return xp.stack(cols, axis=1)


def reset_terms(fitted: Array, powers: tuple[int, ...], /, *, xp: Namespace) -> Array:
    """Powers of the fitted values for Ramsey's RESET, scaled by ``max |ŷ|``.

    The scaling changes no fitted value of the augmented regression (it multiplies a
    column) and keeps ``ŷ³`` inside float32's range.

    Returns
    -------
    array of shape (n_samples, len(powers))
    """
    top = xp.max(xp.abs(fitted))
    f = fitted / xp.where(top > 0, top, xp.ones_like(top))
    return xp.stack([f**p for p in powers], axis=1)


@dataclass
class ResidualMoments:
    """Central moments of the residuals (for skew, kurtosis, Jarque–Bera, omnibus)."""

    mean: Array
    m2: Array
    m3: Array
    m4: Array


def residual_moments(resid: Array, /, *, xp: Namespace) -> ResidualMoments:
    """Biased central moments, as ``scipy.stats.skew`` / ``kurtosis`` compute them."""
    mean = xp.mean(resid)
    c = resid - mean
    c2 = c * c
    return ResidualMoments(mean, xp.mean(c2), xp.mean(c2 * c), xp.mean(c2 * c2))


def durbin_watson(resid: Array, /, *, xp: Namespace) -> Array:
    """``Σ (e_t − e_{t−1})² / Σ e_t²`` (0-d)."""
    diff = resid[1:] - resid[:-1]
    return xp.sum(diff * diff) / xp.sum(resid * resid)


@dataclass
class Influence:
    """Per-sample influence measures (statsmodels' ``OLSInfluence``)."""

    leverage: Array
    studentized_internal: Array
    studentized_external: Array
    cooks_distance: Array
    dffits: Array


def influence(
    resid: Array, leverage: Array, ssr: float, df_resid: int, n_params: int, /, *, xp: Namespace
) -> Influence:
    """Studentized residuals, Cook's distance and DFFITS from the residuals and leverage.

    Parameters
    ----------
    resid : array of shape (n_samples,)
    leverage : array of shape (n_samples,)
    ssr : float
        Sum of squared residuals.
    df_resid : int
        ``n − p``; the leave-one-out variance divides by ``df_resid − 1``.
    n_params : int
        ``p``, the number of parameters (the constant included).
    xp : namespace

    Returns
    -------
    Influence
        A point with leverage 1 gets an infinite (or NaN) studentized residual, as in
        statsmodels; the caller reports it.
    """
    one_minus_h = 1.0 - leverage
    scale = ssr / df_resid
    internal = resid / math.sqrt(scale) / xp.sqrt(one_minus_h)
    loo = (ssr - resid * resid / one_minus_h) / (df_resid - 1)
    external = resid / xp.sqrt(loo) / xp.sqrt(one_minus_h)
    ratio = leverage / one_minus_h
    cooks = internal * internal / n_params * ratio
    dffits = external * xp.sqrt(ratio)
    return Influence(leverage, internal, external, cooks, dffits)


@dataclass
class LogitInformation:
    """Fisher information of a binary logistic model at given coefficients."""

    cov: Array
    loglike: Array
    step: Array
    rank: int


def logit_information(Z: Array, y: Array, params: Array, /, *, xp: Namespace) -> LogitInformation:
    """Covariance ``(Zᵀ W Z)⁻¹``, log-likelihood and the Newton step at ``params``.

    Parameters
    ----------
    Z : array of shape (n_samples, p)
        The design, a constant column first when the model has an intercept.
    y : array of shape (n_samples,)
        0/1 labels.
    params : array of shape (p,)
    xp : namespace

    Returns
    -------
    LogitInformation
        ``cov`` (p, p), ``loglike`` (0-d), ``step`` (p,) = ``cov @ score`` (zero at the
        maximum-likelihood estimate), ``rank`` of the weighted design.
    """
    eta = Z @ params
    e = xp.exp(-xp.abs(eta))  # in (0, 1]: no overflow for any eta
    p = xp.where(eta >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    zero = xp.zeros_like(eta)
    softplus = xp.where(eta > 0, eta, zero) + xp.log1p(e)
    loglike = xp.sum(y * eta - softplus)
    w = xp.sqrt(e) / (1.0 + e)  # sqrt(p (1 - p))
    design = decompose(Z * w[:, None], intercept=False, xp=xp)
    cov = slope_inverse(design, xp=xp)
    score = (y - p) @ Z
    return LogitInformation(cov, loglike, cov @ score, design.rank)
