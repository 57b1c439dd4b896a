"""Regression diagnostics: the matrix work behind ``gu.diagnose``, pure Array API.

Every least-squares quantity comes from one SVD of the design, its columns centred (with an
intercept) and scaled to unit norm, ``Xc D⁻¹ = U S Vᵀ``, never from ``XᵀX``: ``(ZᵀZ)⁻¹`` for
``Z = [1, X]`` (the intercept block through the means, so that a large offset such as
Longley's ``YEAR`` costs no accuracy), the leverages ``1/n + rowsum(U²)``, the rows of
``pinv(Z)ᵀ`` (the HC "bread"), the VIFs ``Σ_k V_jk² / S_k²`` and the residuals of auxiliary
regressions, ``yc − U Uᵀ yc`` (not a difference of sums of squares). Results stay on the
input's device; scalars are 0-d arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from array_api_compat import device as _device

from groundup._typing import Array, Namespace

HC_TYPES = ("HC0", "HC1", "HC2", "HC3")


@dataclass
class Design:
    """The SVD ``Xc D⁻¹ = U S Vᵀ`` of the centred (with an intercept), equilibrated design.

    ``mean``: the column means (zeros without an intercept); ``scale``: the column norms D
    (1 for a constant or all-zero column); ``constant``: the constant columns (statsmodels'
    ``ptp == 0``; without an intercept, the all-zero ones); ``u`` is zero beyond ``rank``
    (NumPy's ``matrix_rank`` cutoff, the constant not counted).
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
        return xp.arange(self.s.shape[0], device=_device(self.s)) < self.rank

    def s_inv(self, power: int = 1, *, xp: Namespace) -> Array:
        """``S⁻ᵖ`` on the numerical range, 0 beyond it (pseudo-inverse)."""
        keep = self.keep(xp=xp)
        safe = xp.where(keep, self.s, xp.ones_like(self.s))
        return xp.where(keep, 1.0 / safe**power, xp.zeros_like(self.s))


def decompose(X: Array, /, *, intercept: bool, xp: Namespace) -> Design:
    """Centre (with an intercept), equilibrate and factor ``X`` (n_samples, n_features),
    given without a constant column, by SVD."""
    n, d = X.shape
    if intercept:
        mean = xp.mean(X, axis=0)
        xc = X - mean
        constant = xp.max(X, axis=0) == xp.min(X, axis=0)
    else:
        mean = xp.zeros((d,), dtype=X.dtype, device=_device(X))
        xc = X
        constant = xp.all(X == 0, axis=0)
    xc = xp.where(constant, xp.zeros_like(xc), xc)
    norm = xp.sqrt(xp.sum(xc * xc, axis=0))
    scale = xp.where(constant | (norm == 0), xp.ones_like(norm), norm)
    u, s, vt = xp.linalg.svd(xc / scale, full_matrices=False)
    rank = 0
    if s.shape[0] > 0:
        cutoff = float(xp.max(s)) * max(n, d) * float(xp.finfo(X.dtype).eps)
        rank = int(xp.sum(xp.astype(s > cutoff, xp.int32)))
    design = Design(n, intercept, mean, scale, constant, u, s, vt, rank)
    design.u = u * xp.astype(design.keep(xp=xp), u.dtype)
    return design


def slope_inverse(design: Design, /, *, xp: Namespace) -> Array:
    """``Sxx⁻¹ = D⁻¹ V S⁻² Vᵀ D⁻¹`` (n_features, n_features): the inverse of the centred
    (uncentred without intercept) ``XᵀX``, a pseudo-inverse when X is rank deficient."""
    w = design.vt.T * design.s_inv(1, xp=xp)  # V S⁻¹, (d, k)
    inv_d = 1.0 / design.scale
    return (w @ w.T) * (inv_d[:, None] * inv_d[None, :])


def _untransform(block: Array, corner: Array, edge: Array, mean: Array, *, xp: Namespace) -> Array:
    """``T⁻¹ [[corner, edgeᵀ], [edge, block]] T⁻ᵀ`` with ``T⁻¹ = [[1, −meanᵀ], [0, I]]``:
    a (p, p) matrix moved from the centred coordinates ``[1, Xc]`` to ``[1, X]``."""
    bm = block @ mean
    c00 = corner - 2.0 * xp.sum(edge * mean) + xp.sum(mean * bm)
    c01 = edge - bm  # (d,)
    top = xp.concat([xp.reshape(c00, (1,)), c01])
    rest = xp.concat([c01[:, None], block], axis=1)
    return xp.concat([top[None, :], rest], axis=0)


def gram_inverse(design: Design, /, *, xp: Namespace) -> Array:
    """``(ZᵀZ)⁻¹`` (p, p) in statsmodels' order: the constant first, then the features."""
    m11 = slope_inverse(design, xp=xp)
    if not design.intercept:
        return m11
    corner = xp.asarray(1.0 / design.n, dtype=m11.dtype, device=_device(m11))
    return _untransform(m11, corner, xp.zeros_like(design.mean), design.mean, xp=xp)


def hat_diagonal(design: Design, /, *, xp: Namespace) -> Array:
    """Leverage (n_samples,): the diagonal of the hat matrix ``Z pinv(Z)``."""
    h = xp.sum(design.u * design.u, axis=1)
    return h + 1.0 / design.n if design.intercept else h


def sandwich(design: Design, weights: Array, /, *, xp: Namespace) -> Array:
    """``pinv(Z) diag(weights) pinv(Z)ᵀ`` (p, p), in statsmodels' parameter order, with the
    ``ω_i`` of :func:`hc_weights` as ``weights`` (n_samples,)."""
    # G = U S⁻¹ Vᵀ D⁻¹ (n, d): row i is (Sxx⁻¹ xc_i)ᵀ
    g = (design.u * design.s_inv(1, xp=xp)) @ design.vt / design.scale
    gw = g * weights[:, None]
    block = g.T @ gw
    if not design.intercept:
        return block
    inv_n = 1.0 / design.n
    corner = xp.sum(weights) * inv_n * inv_n
    return _untransform(block, corner, xp.sum(gw, axis=0) * inv_n, design.mean, xp=xp)


def hc_weights(
    resid: Array, leverage: Array, kind: str, df_resid: int, /, *, xp: Namespace
) -> Array:
    """The ``ω_i`` (n_samples,) of White's (HC0) estimator and MacKinnon–White's corrections
    (``kind`` one of :data:`HC_TYPES`; HC1 scales by ``n / df_resid``)."""
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
    """``b_sᵀ V_ss⁻¹ b_s`` (0-d): the Wald statistic that all slopes are zero (the constant,
    ``params[0]`` with an intercept, left out)."""
    b = params[1:] if intercept else params
    v = cov[1:, 1:] if intercept else cov
    return xp.sum(b * xp.linalg.solve(v, b[:, None])[:, 0])


def vif(design: Design, /, *, xp: Namespace) -> Array:
    """Variance inflation factors (n_features,), ``1 / (1 − R²_j)`` of each feature on the
    others (with an intercept, statsmodels' ``variance_inflation_factor``); infinite for a
    feature in an exact collinearity."""
    v2 = design.vt.T**2  # (d, k)
    out = v2 @ design.s_inv(2, xp=xp)
    if design.rank < design.vt.shape[1]:
        null = xp.astype(~design.keep(xp=xp), v2.dtype)
        hit = (v2 @ null) > 1e3 * float(xp.finfo(v2.dtype).eps)
        out = xp.where(hit, xp.full_like(out, math.inf), out)
    return out


def singular_values(X: Array, /, *, intercept: bool, xp: Namespace) -> Array:
    """Singular values of the raw design ``[1, X]`` (``X`` without intercept), decreasing;
    statsmodels' condition number is their ratio, largest over smallest."""
    if intercept:
        ones = xp.ones((X.shape[0], 1), dtype=X.dtype, device=_device(X))
        X = xp.concat([ones, X], axis=1)
    return xp.linalg.svdvals(X)


@dataclass
class AuxFit:
    """An auxiliary regression ``y ~ [1,] Z``: SSR, ``Σ (y − ȳ)²`` (0-d), rank of ``[1, Z]``."""

    ssr: Array
    centered_tss: Array
    rank: int
    n: int

    @property
    def df_resid(self) -> int:
        return self.n - self.rank


def residuals_on(design: Design, y: Array, /, *, xp: Namespace) -> Array:
    """Least-squares residuals of ``y`` on the design (``yc − U Uᵀ yc``)."""
    yc = y - xp.mean(y) if design.intercept else y
    return yc - design.u @ (yc @ design.u)


def least_squares(design: Design, y: Array, /, *, xp: Namespace) -> tuple[Array, Array]:
    """The (minimum-norm) least-squares ``coef`` (n_features,) and intercept (0-d, zero
    without one) on the design."""
    yc = y - xp.mean(y) if design.intercept else y
    coef = ((yc @ design.u) * design.s_inv(1, xp=xp)) @ design.vt / design.scale
    if design.intercept:
        return coef, xp.mean(y) - xp.sum(design.mean * coef)
    return coef, xp.zeros((), dtype=y.dtype, device=_device(y))


def aux_regression(Z: Array, y: Array, /, *, intercept: bool = True, xp: Namespace) -> AuxFit:
    """Regress ``y`` (n_samples,) on ``Z`` (n_samples, k), given without the constant, plus
    a constant (``intercept``)."""
    design = decompose(Z, intercept=intercept, xp=xp)
    r = residuals_on(design, y, xp=xp)
    yc = y - xp.mean(y)
    return AuxFit(xp.sum(r * r), xp.sum(yc * yc), design.n_params, int(Z.shape[0]))


def white_terms(X: Array, /, *, xp: Namespace) -> Array:
    """White's regressors (n_samples, d + d (d + 1) / 2): the features, their squares and
    cross products, in statsmodels' order (``triu_indices`` of ``[1, X]``, no constant)."""
    cols = [X] + [X[:, i : i + 1] * X[:, i:] for i in range(X.shape[1])]
    return xp.concat(cols, axis=1)


def lagged(resid: Array, nlags: int, /, *, xp: Namespace) -> Array:
    """Lags 1..nlags of the residuals (n_samples, nlags), zero before the start
    (statsmodels' ``lagmat``)."""
    n = resid.shape[0]
    cols = []
    for j in range(1, nlags + 1):
        head = xp.zeros((min(j, n),), dtype=resid.dtype, device=_device(resid))
        cols.append(xp.concat([head, resid[: max(n - j, 0)]]))
    return xp.stack(cols, axis=1)


def reset_terms(fitted: Array, powers: tuple[int, ...], /, *, xp: Namespace) -> Array:
    """Powers of the fitted values for Ramsey's RESET (n_samples, len(powers)), scaled by
    ``max |ŷ|``: that changes no fitted value of the augmented regression (it multiplies a
    column) and keeps ``ŷ³`` inside float32's range."""
    top = xp.max(xp.abs(fitted))
    f = fitted / xp.where(top > 0, top, xp.ones_like(top))
    return xp.stack([f**p for p in powers], axis=1)


def residual_moments(resid: Array, /, *, xp: Namespace) -> tuple[Array, Array, Array, Array]:
    """The mean and the biased central moments m2, m3, m4 of the residuals, as
    ``scipy.stats.skew`` / ``kurtosis`` compute them."""
    mean = xp.mean(resid)
    c = resid - mean
    c2 = c * c
    return mean, xp.mean(c2), xp.mean(c2 * c), xp.mean(c2 * c2)


def durbin_watson(resid: Array, /, *, xp: Namespace) -> Array:
    """``Σ (e_t − e_{t−1})² / Σ e_t²`` (0-d)."""
    diff = resid[1:] - resid[:-1]
    return xp.sum(diff * diff) / xp.sum(resid * resid)


def influence(
    resid: Array, leverage: Array, ssr: float, df_resid: int, n_params: int, /, *, xp: Namespace
) -> dict[str, Array]:
    """statsmodels' ``OLSInfluence`` per sample: ``leverage``, ``studentized_internal``,
    ``studentized_external``, ``cooks_distance``, ``dffits`` (inf/NaN at leverage 1, as there)."""
    one_minus_h = 1.0 - leverage
    internal = resid / math.sqrt(ssr / df_resid) / xp.sqrt(one_minus_h)
    loo = (ssr - resid * resid / one_minus_h) / (df_resid - 1)
    external = resid / xp.sqrt(loo) / xp.sqrt(one_minus_h)
    ratio = leverage / one_minus_h
    return {
        "leverage": leverage, "studentized_internal": internal,
        "studentized_external": external, "cooks_distance": internal * internal / n_params * ratio,
        "dffits": external * xp.sqrt(ratio),
    }  # fmt: skip


def logit_information(
    Z: Array, y: Array, params: Array, /, *, xp: Namespace
) -> tuple[Array, Array, Array, int]:
    """A binary logistic model at ``params`` (p,) on the design ``Z`` (the constant column
    first, if any) and 0/1 labels ``y``: ``(Zᵀ W Z)⁻¹``, the log-likelihood, the Newton step
    (zero at the MLE) and the rank of the weighted design."""
    eta = Z @ params
    e = xp.exp(-xp.abs(eta))  # in (0, 1]: no overflow for any eta
    p = xp.where(eta >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    softplus = xp.where(eta > 0, eta, xp.zeros_like(eta)) + xp.log1p(e)
    w = xp.sqrt(e) / (1.0 + e)  # sqrt(p (1 - p))
    design = decompose(Z * w[:, None], intercept=False, xp=xp)
    cov = slope_inverse(design, xp=xp)
    return cov, xp.sum(y * eta - softplus), cov @ ((y - p) @ Z), design.rank
