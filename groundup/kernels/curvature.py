"""The loss's curvature, read from the data: the largest step gradient descent can take
without diverging (``eta0="auto"``), and how far a fit stopped from the minimum (the honest
``converged_``).

Both losses have a Hessian bounded by ``q`` times the (weighted) Gram matrix of ``[X, 1]``
divided by the total weight, ``q = 1`` for the squared loss (the objective is ½ MSE), ``¼``
for the binary log-loss and ``½`` for the multinomial one (the largest eigenvalue of
``diag(p) - p pᵀ``); an L2 penalty adds ``alpha``. Gradient descent on an L-smooth objective
decreases it for every step up to ``2/L`` and converges with ``1/L`` (Nesterov, *Lectures on
Convex Optimization*, 2018, §2.1.5); one-sample and mini-batch updates take scikit-learn's
SAG rule ``1 / (q max_i w_i (‖x_i‖² + fit_intercept) + alpha)`` (Schmidt, Le Roux & Bach,
"Minimizing finite sums with the stochastic average gradient", 2017), the bound of any single
sample's Hessian.
"""

from __future__ import annotations

import math
from typing import Any

from array_api_compat import device as _device

from groundup._typing import Array, Namespace
from groundup.kernels import logistic as lk
from groundup.kernels.closed_form import Moments, exponent_cap


def gram_of_moments(m: Moments, /, *, fit_intercept: bool, xp: Namespace) -> Array:
    """The Gram matrix of ``[X, 1]`` (``X`` alone without an intercept) over the total
    weight, from the moments: ``[[Sxx/n + μμᵀ, μ], [μᵀ, 1]]`` (μ is zero for uncentred
    moments; centred ones serve a fit without an intercept too)."""
    mu = xp.reshape(m.mean_x, (-1, 1))
    G = m.sxx / m.n + mu * xp.reshape(m.mean_x, (1, -1))
    if not fit_intercept:
        return G
    top = xp.concat([G, mu], axis=1)
    one = xp.ones((1, 1), dtype=G.dtype, device=_device(G))
    return xp.concat([top, xp.concat([xp.reshape(m.mean_x, (1, -1)), one], axis=1)], axis=0)


def gram(
    X: Array,
    sample_weight: Array | None,
    /,
    *,
    fit_intercept: bool,
    chunk_rows: int | None = None,
    ones: float = 1.0,
    xp: Namespace,
) -> Array:
    """The (weighted) Gram matrix of ``[X, 1]`` over the total weight, in one pass of row
    chunks (a BLAS-3 product each). ``ones``: the intercept column's value (``2**-e`` for
    ``X`` scaled by ``2**-e``)."""
    n, d = X.shape
    dt, dev = X.dtype, _device(X)
    rows = n if chunk_rows is None or chunk_rows >= n else chunk_rows
    G = xp.zeros((d, d), dtype=dt, device=dev)
    s = xp.zeros((d,), dtype=dt, device=dev)
    for start in range(0, n, rows):
        Xc = X[start : start + rows, :]
        Xw = (
            Xc
            if sample_weight is None
            else Xc * xp.reshape(sample_weight[start : start + rows], (-1, 1))
        )
        G = G + Xw.T @ Xc
        s = s + xp.sum(Xw, axis=0)
    total = float(n) if sample_weight is None else xp.sum(sample_weight)
    G, s = G / total, s * ones / total
    if not fit_intercept:
        return G
    top = xp.concat([G, xp.reshape(s, (-1, 1))], axis=1)
    corner = xp.full((1, 1), ones * ones, dtype=dt, device=dev)
    return xp.concat([top, xp.concat([xp.reshape(s, (1, -1)), corner], axis=1)], axis=0)


def largest_eigenvalue(G: Array, /, *, xp: Namespace) -> float:
    """The largest eigenvalue of a symmetric positive semi-definite matrix (``nan`` where
    ``G`` is not finite: NaN / inf in the data, or overflow)."""
    if not bool(xp.all(xp.isfinite(G))):
        return math.nan
    return float(xp.max(xp.linalg.eigvalsh(G)))


def gram_curvature(
    X: Array,
    sample_weight: Array | None,
    /,
    *,
    fit_intercept: bool,
    chunk_rows: int | None = None,
    known: float | None = None,
    xp: Namespace,
) -> float:
    """The largest eigenvalue of :func:`gram`, kept exact where the squares of X leave the
    dtype's range (:func:`_in_range`). ``known``: that eigenvalue as found already (from
    the moments), for a pass over X only where it is out of range."""

    def value(Xs: Array, ones: float) -> float:
        G = gram(
            Xs, sample_weight, fit_intercept=fit_intercept, chunk_rows=chunk_rows, ones=ones, xp=xp
        )
        return largest_eigenvalue(G, xp=xp)

    return _in_range(value, X, fit_intercept=fit_intercept, known=known, xp=xp)


def largest_row(
    X: Array, sample_weight: Array | None, /, *, fit_intercept: bool, xp: Namespace
) -> float:
    """``max_i w_i (‖x_i‖² + fit_intercept)``: the largest single-sample curvature, kept
    exact where the squares of X leave the dtype's range (:func:`_in_range`)."""

    def value(Xs: Array, ones: float) -> float:
        sq = xp.sum(Xs * Xs, axis=1) + ones * ones
        if sample_weight is not None:
            sq = sq * sample_weight
        return float(xp.max(sq)) if sq.shape[0] else 0.0

    return _in_range(value, X, fit_intercept=fit_intercept, xp=xp)


def _in_range(
    value: Any, X: Array, /, *, fit_intercept: bool, known: float | None = None, xp: Namespace
) -> float:
    """``value(X, ones)``, a curvature (a sum of squares of ``[X, ones]``), as it is, or
    where that left the dtype's range (not finite, or below ``smallest_normal / eps``) from
    ``[X, 1]`` times one power of two ``2**-e`` (``e`` from the largest magnitude of X, and
    the intercept's 1), times ``4**e``: exact. A Python float: ``inf`` beyond float64, at
    least the smallest positive one where positive."""
    ones = float(fit_intercept)
    c = value(X, ones) if known is None else known
    fi = xp.finfo(X.dtype)
    if fi.smallest_normal / fi.eps <= c <= fi.max * fi.eps or X.shape[0] == 0:
        return c
    if known is not None and not math.isfinite(c):
        return c  # the moments a fit runs on overflowed: that fit cannot run
    a = float(xp.max(xp.abs(X)))
    if not math.isfinite(a) or max(a, ones) == 0:  # NaN / inf (said by the caller), zeros
        return c
    cap = exponent_cap(fi)
    e = min(max(math.frexp(max(a, ones))[1], -cap), cap)
    scaled = value(X * 2.0**-e, ones * 2.0**-e)
    try:
        c = math.ldexp(scaled, 2 * e)
    except OverflowError:
        return math.inf
    return max(c, math.ulp(0.0)) if scaled > 0 else c


def hessian_factor(loss: str, n_classes: int = 2) -> float:
    """``q``: the loss's Hessian is at most ``q`` times the Gram matrix of ``[X, 1]`` over
    the weight: 1 for the squared loss (½ MSE), ¼ for the binary log-loss (the sigmoid's
    slope), ½ for the multinomial one (``diag(p) - p pᵀ``'s largest eigenvalue)."""
    if loss == "squared":
        return 1.0
    return 0.25 if n_classes == 2 else 0.5


def safe_rate(curvature: float, *, q: float, alpha: float, top: float = math.inf) -> float:
    """``1 / (q curvature + alpha)``: the step of ``eta0="auto"`` (1 for zero features).
    A clear error where it is beyond ``top`` (the largest number of the fit's dtype) or
    below ``1 / top``: features whose squares leave the dtype's range."""
    L = q * curvature + alpha
    if (curvature == 0 and alpha == 0) or not math.isfinite(L):
        return 1.0
    rate = 1.0 / L if L > 0 else math.inf
    if not 1.0 / top <= rate <= top:
        size = "huge" if rate < 1.0 else "tiny"
        curv = f"{L:.3g}" if L > 1e-300 else "below 1e-300"
        msg = (
            f"eta0='auto' is 1/L = {rate:.3g} for these features (L = {curv}, the loss's "
            f"curvature), beyond the range of the fit's dtype: features of {size} magnitude. "
            "Scale the features (sklearn.preprocessing.StandardScaler) or pass a number as "
            "eta0."
        )
        raise ValueError(msg)
    return rate


class HessianInverse:
    """``½ gᵀ H⁺ g`` for any ``g`` with one ``H`` (decomposed once): the Newton decrement,
    how far above its minimum a smooth convex loss is (exactly so for a quadratic). ``H``
    is equilibrated by its diagonal first and its pseudo-inverse drops directions with
    eigenvalues below ``1e-12`` of the largest, where rounding would dominate (a direction
    of zero curvature, e.g. the common shift of the multinomial model's classes, does not
    count)."""

    def __init__(self, H: Array, /, *, xp: Namespace) -> None:
        diag = xp.linalg.diagonal(H)
        pos = diag > 0
        self.scale = xp.where(pos, 1.0 / xp.sqrt(xp.where(pos, diag, 1.0)), 0.0)
        lam, self.V = xp.linalg.eigh(H * (self.scale[:, None] * self.scale[None, :]))
        top = float(xp.max(lam)) if lam.shape[0] else 0.0
        keep = lam > 1e-12 * top
        self.inv = xp.where(keep, 1.0 / xp.where(keep, lam, 1.0), 0.0)
        self.xp = xp

    def decrement(self, g: Array, /) -> float:
        proj = (g * self.scale) @ self.V
        return 0.5 * float(self.xp.sum(proj * proj * self.inv))


def relative(value: float, excess: float, floor: float) -> float:
    """The excess relative to the minimum ``value - excess``, floored at ``floor`` (an
    objective near zero: ``converged_``'s floor of 1e-3 in the objective's units)."""
    return excess / max(value - excess, floor)


class SquaredCertificate:
    """The squared loss's objective ``½ MSE + ½ Σ alpha w²`` at ``(W, b)`` and how far it is
    above its minimum over the free parameters (the intercept only with ``fit_intercept``):
    exact, from the moments (the loss is quadratic), the Hessian decomposed once per
    configuration. ``alphas``: each configuration's L2 strength, a float or one per feature
    ((n_features, 1), a preconditioned fit's); ``floor``: :func:`relative`'s."""

    cheap = True  # no pass over the rows: tol="auto" reads it every epoch

    def __init__(
        self, m: Moments, alphas: list[Any], /, *, fit_intercept: bool, floor: float, xp: Namespace
    ) -> None:
        self.m, self.alphas, self.fit_intercept, self.floor, self.xp = (
            m,
            alphas,
            fit_intercept,
            floor,
            xp,
        )
        self._inverse: dict[int, HessianInverse] = {}

    def excess(self, W: Array, b: Array, k: int = 0) -> tuple[float, float]:
        """The objective at configuration ``k``'s ``(W, b)`` ((d, 1), (1,)) and its excess."""
        xp, m, alpha = self.xp, self.m, self.alphas[k]
        w = W[:, 0]
        a = alpha if isinstance(alpha, float) else xp.reshape(alpha, (-1,))
        rbar = xp.sum(m.mean_x * w) + b[0] - m.mean_y  # the mean residual
        g = (m.sxx @ w - m.sxy) / m.n + a * w
        if self.fit_intercept:  # about the means the intercept decouples: its share ½ r̄²
            H, extra = m.sxx / m.n, 0.5 * float(rbar * rbar)
        else:
            mu = xp.reshape(m.mean_x, (-1, 1))
            H, extra = m.sxx / m.n + mu * xp.reshape(m.mean_x, (1, -1)), 0.0
            g = g + m.mean_x * rbar
        inverse = self._inverse.get(k)
        if inverse is None:
            eye = xp.eye(w.shape[0], dtype=H.dtype, device=_device(H))
            inverse = self._inverse[k] = HessianInverse(H + eye * a, xp=xp)
        quad = (m.syy - 2.0 * xp.sum(w * m.sxy) + xp.sum(w * (m.sxx @ w))) / m.n
        value = 0.5 * float(quad + rbar * rbar) + 0.5 * float(xp.sum(a * w * w))
        return value, inverse.decrement(g) + extra

    def relative_excess(self, W: Array, b: Array, k: int = 0) -> float:
        return relative(*self.excess(W, b, k), self.floor)


class LogCertificate:
    """The log-loss's objective ``mean log-loss + ½ Σ alpha w²`` at ``(W, b)`` and how far it
    is above its minimum: ``λ² = gᵀH⁻¹g`` from one pass (loss, gradient and Hessian) over the
    rows, twice the quadratic model's ½λ². For a self-concordant objective λ² bounds the
    excess once λ ≤ 0.68 (Boyd & Vandenberghe, *Convex Optimization*, §9.6.3); the log-loss
    is not quite self-concordant, and ½λ² alone was measured 2 % short on iris (1.02 % for
    1.00 %). ``alphas`` and ``floor`` as :class:`SquaredCertificate`'s."""

    cheap = False  # a pass: tol="auto" reads it once the loss has flattened

    def __init__(
        self, objective: Any, alphas: list[Any], /, *, floor: float, xp: Namespace
    ) -> None:
        self.objective, self.alphas, self.floor, self.xp = objective, alphas, floor, xp

    def excess(self, W: Array, b: Array, k: int = 0) -> tuple[float, float]:
        """The objective at configuration ``k``'s ``(W, b)`` and its excess."""
        xp, alpha = self.xp, self.alphas[k]
        fi = self.objective.fit_intercept
        ev = self.objective.newton_pass(W, b, order=2)
        theta = lk.flatten(W, b, fit_intercept=fi, xp=xp)
        pen = lk.flatten(alpha * xp.ones_like(W), xp.zeros_like(b), fit_intercept=fi, xp=xp)
        g = lk.flatten(ev.grad_w, ev.grad_b, fit_intercept=fi, xp=xp) + pen * theta
        H = ev.hess + xp.eye(theta.shape[0], dtype=W.dtype, device=_device(W)) * pen[None, :]
        value = float(ev.loss) + 0.5 * float(xp.sum(pen * theta * theta))
        return value, 2.0 * HessianInverse(H, xp=xp).decrement(g)

    def relative_excess(self, W: Array, b: Array, k: int = 0) -> float:
        return relative(*self.excess(W, b, k), self.floor)
