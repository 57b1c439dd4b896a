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
from groundup.kernels.update import largest


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


def penalty(W: Array, l1: Any, l2: Any, /, *, xp: Namespace) -> float:
    """``R(W) = Σ_jk l1_j |w_jk| + ½ l2_j w_jk²`` (strengths floats or one per feature)."""
    return float(xp.sum(l1 * xp.abs(W) + 0.5 * l2 * W * W))


def _has(strength: Any) -> bool:
    return largest(strength) > 0.0


def _dual_scale(c: Array, l1: Any, l2: Any, /, *, xp: Namespace) -> float:
    """The largest ``s`` in [0, 1] with ``R*(s c)`` finite: ``|s c_jk| <= l1_j`` where
    ``l2_j = 0``. ``R*(c) = Σ max(|c_jk| - l1_j, 0)² / (2 l2_j)`` is the convex conjugate of
    :func:`penalty` (infinite beyond ``l1_j`` where ``l2_j = 0``)."""
    a = xp.abs(c)
    over = (a > l1) & (l2 * xp.ones_like(a) == 0)
    ratio = xp.where(over, l1 / xp.where(over, a, 1.0), 1.0)
    return min(float(xp.min(ratio)), 1.0) if ratio.shape[0] else 1.0


def _best_dual(lin: float, quad: float, c: Array, l1: Any, l2: Any, /, *, xp: Namespace) -> float:
    """``max_s s·lin - ½ s² quad - R*(s c)`` over ``0 <= s <= `` the largest ``s`` with a
    finite ``R*`` (:func:`_dual_scale`): a concave function, whose derivative
    ``lin - s quad - Σ |c_jk| max(s |c_jk| - l1_j, 0) / l2_j`` is piecewise linear, concave and
    decreasing; Newton's method from the right end falls on its root in a few steps, never
    past it."""
    s = _dual_scale(c, l1, l2, xp=xp)
    a = xp.abs(c)
    pos = l2 * xp.ones_like(a) > 0
    inv = xp.where(pos, 1.0 / xp.where(pos, l2 * xp.ones_like(a), 1.0), 0.0)

    def value(s: float) -> float:
        over = xp.maximum(s * a - l1, 0.0)
        return s * lin - 0.5 * s * s * quad - 0.5 * float(xp.sum(over * over * inv))

    for _ in range(20):
        active = (s * a > l1) & pos
        slope = lin - s * quad - float(xp.sum(xp.where(active, a * (s * a - l1) * inv, 0.0)))
        curve = quad + float(xp.sum(xp.where(active, a * a * inv, 0.0)))
        if slope >= 0.0 or curve <= 0.0:
            break
        step = slope / curve  # < 0
        s = max(s + step, 0.0)
        if -step <= 1e-12 * s or s == 0.0:
            break
    return value(s)


class SquaredCertificate:
    """The squared loss's objective ``½ MSE + R(w)`` at ``(W, b)`` and how far it is above
    its minimum over the free parameters (the intercept only with ``fit_intercept``), from
    the moments (no pass over the rows). Without an L1 part exact (the loss is quadratic),
    the Hessian decomposed once per configuration. With one, a duality gap (Boyd &
    Vandenberghe, *Convex Optimization*, §5.1.6) at the residual ``r`` scaled by ``s``: with
    ``c = Xᵀr/n``, ``P(w) - max_s (s rᵀy/n - ½ s² ‖r‖²/n - R*(s c))`` (:func:`_best_dual`),
    or where better scikit-learn's elastic-net gap (``enet_coordinate_descent`` in
    ``sklearn/linear_model/_cd_fast.pyx``: the lasso on the data augmented by ``√l2 I``), in
    means and with strengths per feature: with ``c' = c - l2 w`` and ``κ = min(1, min_j
    l1_j / |c'_j|)``,

        gap = ½ (‖r‖²/n + Σ l2 w²)(1 + κ²) + Σ l1 |w| - κ rᵀy/n  >=  P(w) - min P;

    on the centred moments with an intercept, whose exact share ``½ r̄²`` comes on top.
    ``alphas`` and ``l1s``: each configuration's L2 and L1 strengths, a float or one per
    feature ((n_features, 1), a preconditioned fit's); ``floor``: :func:`relative`'s."""

    cheap = True  # no pass over the rows: tol="auto" reads it every epoch

    def __init__(
        self,
        m: Moments,
        alphas: list[Any],
        /,
        *,
        fit_intercept: bool,
        floor: float,
        xp: Namespace,
        l1s: list[Any] | None = None,
    ) -> None:
        self.m, self.alphas, self.fit_intercept, self.floor, self.xp = (
            m,
            alphas,
            fit_intercept,
            floor,
            xp,
        )
        self.l1s = l1s if l1s is not None else [0.0] * len(alphas)
        self._inverse: dict[int, HessianInverse] = {}

    def excess(self, W: Array, b: Array, k: int = 0) -> tuple[float, float]:
        """The objective at configuration ``k``'s ``(W, b)`` ((d, 1), (1,)) and its excess."""
        xp, m, alpha = self.xp, self.m, self.alphas[k]
        w = W[:, 0]
        a = alpha if isinstance(alpha, float) else xp.reshape(alpha, (-1,))
        rbar = xp.sum(m.mean_x * w) + b[0] - m.mean_y  # minus the mean residual
        quad = (m.syy - 2.0 * xp.sum(w * m.sxy) + xp.sum(w * (m.sxx @ w))) / m.n
        if _has(self.l1s[k]):
            return self._gap(w, a, rbar, quad, self.l1s[k])
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
        value = 0.5 * float(quad + rbar * rbar) + 0.5 * float(xp.sum(a * w * w))
        return value, inverse.decrement(g) + extra

    def _gap(self, w: Array, a: Any, rbar: Array, quad: Array, l1: Any) -> tuple[float, float]:
        """The objective and its elastic-net duality gap (the class docstring's)."""
        xp, m = self.xp, self.m
        l1 = l1 if isinstance(l1, float) else xp.reshape(l1, (-1,))
        rr = quad  # ‖r‖²/n, rᵀy/n and Xᵀr/n, about the means
        ry = (m.syy - xp.sum(w * m.sxy)) / m.n
        xr = (m.sxy - m.sxx @ w) / m.n
        extra = 0.5 * float(rbar * rbar)
        if not self.fit_intercept:  # the raw sums: the mean residual -r̄ is the model's
            rr, ry, xr, extra = rr + rbar * rbar, ry - rbar * m.mean_y, xr - m.mean_x * rbar, 0.0
        sq = float(rr) + float(xp.sum(a * w * w))
        value = 0.5 * sq + float(xp.sum(l1 * xp.abs(w)))
        kappa = _dual_scale(xr - a * w, l1, 0.0, xp=xp)  # scikit-learn's dual point
        dual = max(
            kappa * float(ry) - 0.5 * kappa * kappa * sq,
            _best_dual(float(ry), float(rr), xr, l1, a, xp=xp),  # R*'s, the best scale
        )
        return value + extra, max(value - dual, 0.0) + extra

    def relative_excess(self, W: Array, b: Array, k: int = 0) -> float:
        return relative(*self.excess(W, b, k), self.floor)


class LogCertificate:
    """The log-loss's objective ``mean log-loss + R(w)`` at ``(W, b)`` and how far it is
    above its minimum, from one pass over the rows. ``alphas``, ``l1s`` and ``floor`` as
    :class:`SquaredCertificate`'s.

    Without an L1 part: ``λ² = gᵀH⁻¹g`` from the loss, gradient and Hessian, twice the
    quadratic model's ½λ². For a self-concordant objective λ² bounds the excess once
    λ ≤ 0.68 (Boyd & Vandenberghe, *Convex Optimization*, §9.6.3); the log-loss is not quite
    self-concordant, and ½λ² alone was measured 2 % short on iris (1.02 % for 1.00 %).

    With one: a Fenchel duality gap ``P(w, b) - D(v)`` (Boyd & Vandenberghe §5.1.6), which
    bounds the excess whatever the model. With ``m_i`` a probability vector per row (the
    model's ``p_i``, one class's for the sigmoid), the dual point ``v_i = w_i (m_i - Y_i)/Σw``
    has ``D(v) = Σ_i w_i H(m_i)/Σw - R*(-Xᵀv)``, the entropy ``H`` (the log-loss's conjugate)
    and ``R*`` the penalty's (:func:`_dual_scale`), where the unpenalised intercept asks
    ``Σ_i v_i = 0``. From the pass's sums, no second pass:

    * the intercept: ``p̃_i = (1 - τ) p_i + τ ρ`` with the one ``τ ∈ [0, 1)`` and
      probability vector ``ρ`` that give ``p̃`` the targets' mean ``π`` (``τ = max_k (1 -
      π_k/p̄_k)``, zero at the minimum, where ``p̄ = π``); ``Xᵀv`` is then ``(1 - τ)(g_w -
      x̄ g_bᵀ) + τ (x̄ πᵀ - XᵀYw/Σw)`` (``g``: the loss's gradient);
    * the penalty: ``m_i = Y_i + s (p̃_i - Y_i)`` (in the simplex), ``s ∈ [0, 1]`` at most
      where ``R*(-s Xᵀv)`` is finite (``|s (Xᵀv)_jk| <= l1_j`` where ``l2_j = 0``), the best
      such (:func:`_best_dual`);
    * the entropy: by concavity ``H(m_i) >= s H(p̃_i) >= s ((1 - τ) H(p_i) + τ H(ρ))``
      (``H(Y_i) = 0``), which keeps ``D`` a lower bound of the dual's value.

    Like :class:`SquaredCertificate`'s gap it is first order in the distance to the minimum
    where the excess is second order: an upper bound that is honest, not tight (measured on
    600 rows: minibatch fits' noise floors 3.8e-6 and 5.9e-6 relative above the minimum
    certified as 2.1 % (least squares) and 5.7 % (log-loss); a batch fit's 3.5e-9 as 0.09 %).
    """

    cheap = False  # a pass: tol="auto" reads it once the loss has flattened

    def __init__(
        self,
        objective: Any,
        alphas: list[Any],
        /,
        *,
        floor: float,
        xp: Namespace,
        l1s: list[Any] | None = None,
    ) -> None:
        self.objective, self.alphas, self.floor, self.xp = objective, alphas, floor, xp
        self.l1s = l1s if l1s is not None else [0.0] * len(alphas)

    def excess(self, W: Array, b: Array, k: int = 0) -> tuple[float, float]:
        """The objective at configuration ``k``'s ``(W, b)`` and its excess."""
        xp, alpha = self.xp, self.alphas[k]
        if _has(self.l1s[k]):
            return self._gap(W, b, alpha, self.l1s[k])
        fi = self.objective.fit_intercept
        ev = self.objective.newton_pass(W, b, order=2)
        theta = lk.flatten(W, b, fit_intercept=fi, xp=xp)
        pen = lk.flatten(alpha * xp.ones_like(W), xp.zeros_like(b), fit_intercept=fi, xp=xp)
        g = lk.flatten(ev.grad_w, ev.grad_b, fit_intercept=fi, xp=xp) + pen * theta
        H = ev.hess + xp.eye(theta.shape[0], dtype=W.dtype, device=_device(W)) * pen[None, :]
        value = float(ev.loss) + 0.5 * float(xp.sum(pen * theta * theta))
        return value, 2.0 * HessianInverse(H, xp=xp).decrement(g)

    def _gap(self, W: Array, b: Array, l2: Any, l1: Any) -> tuple[float, float]:
        """The objective and its duality gap (the class docstring's)."""
        xp = self.xp
        ev = self.objective.newton_pass(W, b, order=1, dual=True)
        value = float(ev.loss) + penalty(W, l1, l2, xp=xp)
        c, entropy = ev.grad_w, float(ev.entropy)
        if self.objective.fit_intercept:
            pi, gb = ev.mean_y, ev.grad_b
            if W.shape[1] == 1:  # the sigmoid's two classes
                pi, gb = xp.concat([pi, 1.0 - pi]), xp.concat([gb, -gb])
            mean_p = pi + gb
            pos = mean_p > 0
            tau = max(float(xp.max(xp.where(pos, 1.0 - pi / xp.where(pos, mean_p, 1.0), 0.0))), 0.0)
            t = xp.maximum(pi - (1.0 - tau) * mean_p, 0.0)  # τ ρ
            inside = t > 0
            t_log = xp.where(inside, t * xp.log(xp.where(inside, t, 1.0) / max(tau, 1e-300)), 0.0)
            entropy = (1.0 - tau) * entropy - float(xp.sum(t_log))
            mx = xp.reshape(ev.mean_x, (-1, 1))
            null = mx * xp.reshape(ev.mean_y, (1, -1)) - ev.mean_xy  # Xᵀv at p_i = π
            c = (1.0 - tau) * (c - mx * xp.reshape(ev.grad_b, (1, -1))) + tau * null
        dual = _best_dual(entropy, 0.0, c, l1, l2, xp=xp)
        return value, max(value - dual, 0.0)

    def relative_excess(self, W: Array, b: Array, k: int = 0) -> float:
        return relative(*self.excess(W, b, k), self.floor)
