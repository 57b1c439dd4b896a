"""The loss's curvature, read from the data: the largest step gradient descent can take
without diverging (``eta0="auto"``), and how far a fit stopped from the minimum (the honest
``converged_``).

The Hessian is at most ``q`` times the (weighted) Gram matrix of ``[X, 1]`` over the total
weight: ``q = 1`` for the squared loss (½ MSE), ``¼`` for the binary log-loss, ``½`` for the
multinomial one (the largest eigenvalue of ``diag(p) - p pᵀ``); an L2 penalty adds ``alpha``.
Gradient descent on an L-smooth objective converges with the step ``1/L`` (Nesterov,
*Lectures on Convex Optimization*, 2018, §2.1.5); one-sample and mini-batch updates take
scikit-learn's SAG rule ``1 / (q max_i w_i (‖x_i‖² + fit_intercept) + alpha)`` (Schmidt, Le
Roux & Bach, 2017), the bound of any single sample's Hessian.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from array_api_compat import device as _device

from groundup._typing import Array, Namespace
from groundup.kernels import logistic as lk
from groundup.kernels.closed_form import Moments, chunk_bounds, exponent_cap
from groundup.kernels.descent import penalty
from groundup.kernels.losses import largest


def _bordered(G: Array, s: Array, corner: float, *, xp: Namespace) -> Array:
    """``[[G, s], [sᵀ, corner]]``."""
    top = xp.concat([G, xp.reshape(s, (-1, 1))], axis=1)
    c = xp.full((1, 1), corner, dtype=G.dtype, device=_device(G))
    return xp.concat([top, xp.concat([xp.reshape(s, (1, -1)), c], axis=1)], axis=0)


def gram_of_moments(m: Moments, /, *, fit_intercept: bool, xp: Namespace) -> Array:
    """:func:`gram` from the moments: ``[[Sxx/n + μμᵀ, μ], [μᵀ, 1]]`` (``μ`` zero for
    uncentred moments)."""
    G = m.sxx / m.n + xp.reshape(m.mean_x, (-1, 1)) * xp.reshape(m.mean_x, (1, -1))
    return _bordered(G, m.mean_x, 1.0, xp=xp) if fit_intercept else G


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
    G = xp.zeros((d, d), dtype=dt, device=dev)
    s = xp.zeros((d,), dtype=dt, device=dev)
    for start, stop in chunk_bounds(n, chunk_rows):
        Xc = X[start:stop, :]
        Xw = Xc if sample_weight is None else Xc * xp.reshape(sample_weight[start:stop], (-1, 1))
        G = G + Xw.T @ Xc
        s = s + xp.sum(Xw, axis=0)
    total = float(n) if sample_weight is None else xp.sum(sample_weight)
    G, s = G / total, s * ones / total
    return _bordered(G, s, ones * ones, xp=xp) if fit_intercept else G


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
    """The largest eigenvalue of :func:`gram`, exact where the squares of X leave the dtype's
    range (:func:`_in_range`). ``known``: it as found from the moments (a pass only where
    out of range)."""

    def value(Xs: Array, ones: float) -> float:
        G = gram(
            Xs, sample_weight, fit_intercept=fit_intercept, chunk_rows=chunk_rows, ones=ones, xp=xp
        )
        return largest_eigenvalue(G, xp=xp)

    return _in_range(value, X, fit_intercept=fit_intercept, known=known, xp=xp)


def largest_row(
    X: Array, sample_weight: Array | None, /, *, fit_intercept: bool, xp: Namespace
) -> float:
    """``max_i w_i (‖x_i‖² + fit_intercept)``, the largest single-sample curvature
    (:func:`_in_range`)."""

    def value(Xs: Array, ones: float) -> float:
        sq = xp.sum(Xs * Xs, axis=1) + ones * ones
        if sample_weight is not None:
            sq = sq * sample_weight
        return float(xp.max(sq)) if sq.shape[0] else 0.0

    return _in_range(value, X, fit_intercept=fit_intercept, xp=xp)


def _in_range(
    value: Any, X: Array, /, *, fit_intercept: bool, known: float | None = None, xp: Namespace
) -> float:
    """``value(X, ones)``, a sum of squares of ``[X, ones]``, or where that leaves the dtype's
    range, ``4**e value(2**-e X, 2**-e ones)`` (exact; ``e`` from X's largest magnitude) as a
    Python float."""
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
    """The module docstring's ``q``: the loss's Hessian over the Gram matrix of ``[X, 1]``."""
    return 1.0 if loss == "squared" else (0.25 if n_classes == 2 else 0.5)


def safe_rate(curvature: float, *, q: float, alpha: float, top: float = math.inf) -> float:
    """``1 / (q curvature + alpha)``: the step of ``eta0="auto"`` (1 for zero features); a
    clear error beyond ``top`` (the dtype's largest number) or below ``1 / top``."""
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
    """``½ gᵀ H⁺ g`` (the Newton decrement: a quadratic's excess) for any ``g``, ``H``
    equilibrated (a side at a time: ``s_i s_j`` overflows for subnormal diagonals) and
    decomposed once; eigenvalues below ``1e-12`` of the largest, where rounding dominates (e.g.
    the multinomial classes' common shift), are dropped."""

    def __init__(self, H: Array, /, *, xp: Namespace) -> None:
        diag = xp.linalg.diagonal(H)
        pos = diag > 0
        self.scale = xp.where(pos, 1.0 / xp.sqrt(xp.where(pos, diag, 1.0)), 0.0)
        lam, self.V = xp.linalg.eigh((H * self.scale[:, None]) * self.scale[None, :])
        top = float(xp.max(lam)) if lam.shape[0] else 0.0
        keep = lam > 1e-12 * top
        self.inv = xp.where(keep, 1.0 / xp.where(keep, lam, 1.0), 0.0)
        self.xp = xp

    def decrement(self, g: Array, /) -> float:
        proj = (g * self.scale) @ self.V
        return 0.5 * float(self.xp.sum(proj * proj * self.inv))


def relative(value: float, excess: float, floor: float) -> float:
    """The excess relative to the minimum ``value - excess``, floored at ``floor``."""
    return excess / max(value - excess, floor)


def _dual_scale(c: Array, l1: Any, l2: Any, /, *, xp: Namespace) -> float:
    """The largest ``s`` in [0, 1] with ``R*(s c)`` finite, ``R*(c) = Σ max(|c_jk| - l1_j,
    0)² / (2 l2_j)`` the conjugate of the penalty :func:`~groundup.kernels.descent.penalty`
    (infinite beyond ``l1_j`` where ``l2_j = 0``)."""
    a = xp.abs(c)
    over = (a > l1) & (l2 * xp.ones_like(a) == 0)
    ratio = xp.where(over, l1 / xp.where(over, a, 1.0), 1.0)
    return min(float(xp.min(ratio)), 1.0) if ratio.shape[0] else 1.0


def _best_dual(lin: float, quad: float, c: Array, l1: Any, l2: Any, /, *, xp: Namespace) -> float:
    """``max_s s·lin - ½ s² quad - R*(s c)`` for ``s`` up to :func:`_dual_scale`'s. Its
    derivative is piecewise linear, concave and decreasing: Newton's method from the right
    end falls on its root in a few steps, never past it."""
    s = _dual_scale(c, l1, l2, xp=xp)
    a = xp.abs(c)
    pos = l2 * xp.ones_like(a) > 0
    inv = xp.where(pos, 1.0 / xp.where(pos, l2 * xp.ones_like(a), 1.0), 0.0)

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
    over = xp.maximum(s * a - l1, 0.0)
    return s * lin - 0.5 * s * s * quad - 0.5 * float(xp.sum(over * over * inv))


#: The allowance for rounding in an L1 certificate's difference of two values (units of
#: float64's eps times the magnitude of the terms summed).
ROUNDING_ULPS = 64
_EPS = float(np.finfo(np.float64).eps)


def _host(a: Any) -> np.ndarray:
    """``a`` (an array of any backend, or a float) as float64 NumPy on the host."""
    from groundup.backends import to_numpy

    return np.asarray(to_numpy(a) if hasattr(a, "shape") else a, dtype=np.float64)


#: Coordinate updates (sweeps times parameters) a :func:`penalised_quadratic` makes at most:
#: the squared certificate is read every epoch (25 ms a read on 200 correlated features).
MAX_UPDATES = 6_000


def penalised_quadratic(
    A: np.ndarray,
    c: np.ndarray,
    l1: np.ndarray,
    z: np.ndarray,
    /,
    *,
    sweeps: int = 300,
    enough: Callable[[np.ndarray], bool] | None = None,
) -> np.ndarray:
    """An approximate minimiser of ``F(z) = ½ zᵀAz - cᵀz + Σ_j l1_j |z_j|`` (``A`` symmetric
    positive semi-definite), warm-started at ``z``, on the host in float64: cyclic coordinate
    descent (Friedman, Hastie & Tibshirani, JSS 2010), each sweep whose support or signs
    changed followed by :func:`_polish` (the minimiser itself where the support is right).
    Stops there, when a sweep moves nothing by over ``1e-15`` of the largest, when
    ``enough(z)``, or after ``sweeps`` (at most ``MAX_UPDATES / p``). Only a point: the
    callers bound what it is worth."""
    p = z.shape[0]
    z = z.copy()
    diag = np.diagonal(A).copy()
    g = A @ z - c
    free = l1 == 0
    sweeps = min(sweeps, max(MAX_UPDATES // max(p, 1), 10))
    tried = None
    for sweep in range(sweeps + 1):
        pattern = np.sign(z).tobytes()
        if pattern != tried:
            tried = pattern
            polished = _polish(A, c, l1, z, free)
            if polished is not None:
                return polished
        if sweep == sweeps or (sweep and enough is not None and enough(z)):
            break
        moved = 0.0
        for j in range(p):
            a = diag[j]
            if a <= 0.0:
                continue
            old = z[j]
            t = old - g[j] / a
            th = l1[j] / a
            new = t - th if t > th else (t + th if t < -th else 0.0)
            if new != old:
                g += (new - old) * A[j]
                z[j] = new
                moved = max(moved, abs(new - old))
        if moved <= 1e-15 * max(float(np.max(np.abs(z))), 1e-300):
            break
        g = A @ z - c  # the drift of the running updates
    return z


def _polish(
    A: np.ndarray, c: np.ndarray, l1: np.ndarray, z: np.ndarray, free: np.ndarray
) -> np.ndarray | None:
    """The minimiser of ``F`` on ``z``'s support with its signs (one solve) where it keeps
    them and the zeros meet ``|g_j| <= l1_j`` (then it minimises ``F``); else None."""
    sigma = np.sign(z)
    S = (sigma != 0) | free
    if not S.any():  # the gradient at zero is -c
        return z if np.all(np.abs(c) <= l1 * (1.0 + 1e-9)) else None
    AS = A[np.ix_(S, S)]
    rhs = c[S] - l1[S] * sigma[S]
    try:
        zS = np.linalg.solve(AS, rhs)
    except np.linalg.LinAlgError:
        zS = np.linalg.lstsq(AS, rhs, rcond=None)[0]
    if not np.all(np.isfinite(zS)):
        return None
    out = np.zeros_like(z)
    out[S] = zS
    pen = S & ~free
    if np.any(np.sign(zS[pen[S]]) != sigma[pen]):
        return None
    g = A @ out - c
    scale = float(np.max(np.abs(c))) + float(np.max(np.abs(A))) * float(np.max(np.abs(out)))
    slack = 1e-9 * max(scale, 1e-300)
    if np.any(np.abs(g[S] + l1[S] * sigma[S]) > slack):  # a singular A_SS's least squares
        return None
    return out if np.all(np.abs(g[~S]) <= l1[~S] + slack) else None


class SquaredCertificate:
    """The squared loss's objective ``½ MSE + R(w)`` at ``(W, b)`` and its excess over the
    minimum, from the moments (no pass over the rows); with an intercept on the centred
    moments, its exact share ``½ r̄²`` on top. Without an L1 part exact (the Hessian decomposed
    once per configuration). With one, ``P(w) - D`` (Boyd & Vandenberghe, *Convex
    Optimization*, §5.1.6), ``D`` the better dual value at two residuals: ``w``'s and that of
    ``w*``, the elastic net's minimiser on the moments (:func:`penalised_quadratic`), where the
    dual point is optimal and the gap is the excess itself (its rounding, ``ROUNDING_ULPS``,
    on top). At a residual ``r`` (``c = Xᵀr/n``) the dual value is the better of ``max_s (s
    rᵀy/n - ½ s² ‖r‖²/n - R*(s c))`` (:func:`_best_dual`) and scikit-learn's elastic-net point
    (``_cd_fast.pyx``'s gap in means, strengths per feature: ``κ = min(1, min_j l1_j / |c_j -
    l2_j w_j|)``). ``alphas``, ``l1s``: each configuration's L2 and L1 strengths, a float or
    one per feature ((n_features, 1)); ``floor``: :func:`relative`'s."""

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
        self.m, self.alphas, self.floor, self.xp = m, alphas, floor, xp
        self.fit_intercept = fit_intercept
        self.l1s = l1s if l1s is not None else [0.0] * len(alphas)
        # H decomposed once per configuration: tol="auto" reads every epoch (without, the
        # default linear ``batch`` fit took 1.23 x as long: bench_trust.py::
        # test_preconditioning_and_certificate_cost_at_most_a_tenth[linear-batch])
        self._inverse: dict[int, HessianInverse] = {}
        #: The elastic net's minimiser on the moments as far as found: the next reading's start
        #: (from ``w`` each time, the L1 fit of bench_trust.py::
        #: test_l1_batch_on_diabetes_vs_lasso took 3.5 x as long).
        self._minimiser: dict[int, np.ndarray] = {}

    def excess(self, W: Array, b: Array, k: int = 0) -> tuple[float, float]:
        """The objective at configuration ``k``'s ``(W, b)`` ((d, 1), (1,)) and its excess."""
        xp, m, alpha = self.xp, self.m, self.alphas[k]
        w = W[:, 0]
        a = alpha if isinstance(alpha, float) else xp.reshape(alpha, (-1,))
        rbar = xp.sum(m.mean_x * w) + b[0] - m.mean_y  # minus the mean residual
        if largest(self.l1s[k]) > 0.0:
            return self._gap(w, a, rbar, self.l1s[k], k)
        quad = (m.syy - 2.0 * xp.sum(w * m.sxy) + xp.sum(w * (m.sxx @ w))) / m.n
        g = (m.sxx @ w - m.sxy) / m.n + a * w
        if self.fit_intercept:  # about the means the intercept decouples: its share ½ r̄²
            H, extra = m.sxx / m.n, 0.5 * float(rbar * rbar)
        else:
            H, extra = gram_of_moments(m, fit_intercept=False, xp=xp), 0.0
            g = g + m.mean_x * rbar
        inverse = self._inverse.get(k)
        if inverse is None:
            eye = xp.eye(w.shape[0], dtype=H.dtype, device=_device(H))
            inverse = self._inverse[k] = HessianInverse(H + eye * a, xp=xp)
        value = 0.5 * float(quad + rbar * rbar) + 0.5 * float(xp.sum(a * w * w))
        return value, inverse.decrement(g) + extra

    def _quadratic(self) -> tuple[np.ndarray, np.ndarray, float]:
        """``A``, ``c``, ``k`` of the loss ``½ ‖r‖²/n = ½ (wᵀAw - 2 cᵀw + k)`` about the means
        (about zero without an intercept) on the host in float64 (a cache of them saved 2 % of
        an L1 ``batch`` fit, which reads them every epoch: none)."""
        m = self.m
        n = float(_host(m.n))
        A, c, k = _host(m.sxx) / n, _host(m.sxy) / n, float(_host(m.syy)) / n
        if not self.fit_intercept:
            mu, my = _host(m.mean_x), float(_host(m.mean_y))
            A, c, k = A + np.outer(mu, mu), c + mu * my, k + my * my
        return A, c, k

    def _gap(self, w: Array, a: Any, rbar: Array, l1: Any, config: int) -> tuple[float, float]:
        """The objective and ``P(w) - D`` (the class docstring's) of configuration ``config``."""
        A, c, k = self._quadratic()
        d = A.shape[0]
        wh = _host(w)
        ah, l1h = (np.broadcast_to(np.reshape(_host(v), (-1,)), (d,)) for v in (a, l1))
        extra = 0.5 * float(rbar * rbar) if self.fit_intercept else 0.0
        terms = [k, -2.0 * float(c @ wh), float(wh @ (A @ wh)), float(ah @ (wh * wh))]
        value = 0.5 * sum(terms) + float(l1h @ np.abs(wh))
        own = self._dual(wh, A, c, k, ah, l1h)

        def primal(z: np.ndarray) -> float:
            return 0.5 * (
                k - 2.0 * float(c @ z) + float(z @ (A @ z)) + float(ah @ (z * z))
            ) + float(l1h @ np.abs(z))

        def enough(z: np.ndarray) -> bool:  # the dual point's own gap: 1 % of the certificate
            dz = self._dual(z, A, c, k, ah, l1h)
            return primal(z) - dz <= 0.01 * (value - max(own, dz))

        start = self._minimiser.get(config, wh)
        best = self._minimiser[config] = penalised_quadratic(
            A + np.diag(ah), c, l1h, start, enough=enough
        )
        dual = max(own, self._dual(best, A, c, k, ah, l1h))
        # P - D is exact at the minimum: its rounding (of the sums of terms this large) on top
        rounding = ROUNDING_ULPS * _EPS * (sum(map(abs, terms)) + float(l1h @ np.abs(wh)))
        return value + extra, max(value - dual, 0.0) + rounding + extra

    @staticmethod
    def _dual(
        w: np.ndarray, A: np.ndarray, c: np.ndarray, k: float, a: np.ndarray, l1: np.ndarray
    ) -> float:
        """The dual value at ``w``'s residual (the class docstring's), a lower bound of the
        minimum (the intercept's share aside)."""
        Aw = A @ w
        rr = k - 2.0 * float(c @ w) + float(w @ Aw)
        ry = k - float(c @ w)
        xr = c - Aw
        sq = rr + float(a @ (w * w))
        kappa = _dual_scale(xr - a * w, l1, 0.0, xp=np)  # scikit-learn's dual point
        return max(
            kappa * ry - 0.5 * kappa * kappa * sq,
            _best_dual(ry, rr, xr, l1, a, xp=np),  # R*'s, the best scale
        )

    def relative_excess(self, W: Array, b: Array, k: int = 0) -> float:
        return relative(*self.excess(W, b, k), self.floor)


def proximal_decrement(H: Array, g: Array, theta: Array, l1: Array, /, *, pin: int = 0) -> float:
    """``-min_Δ q(Δ)``, ``q(Δ) = gᵀΔ + ½ ΔᵀHΔ + Σ l1_j (|θ_j + Δ_j| - |θ_j|)``: how much the
    local quadratic model of a smooth loss plus the L1 penalty can decrease from ``theta``,
    half the square of the proximal Newton decrement (Lee, Sun & Saunders, SIAM J. Optim.
    2014), by :func:`penalised_quadratic` on ``z = θ + Δ``. ``pin``: the last ``pin``
    parameters held, the multinomial model's last intercept (``H`` is singular along the
    classes' common shift: held, the solver cannot drift along it by rounding)."""
    Hh, gh, th, l1h = _host(H), _host(g), _host(theta), _host(l1)
    if pin:
        Hh, gh, th, l1h = Hh[:-pin, :-pin], gh[:-pin], th[:-pin], l1h[:-pin]
    z = penalised_quadratic(Hh, Hh @ th - gh, l1h, th)
    step = z - th
    q = float(gh @ step) + 0.5 * float(step @ (Hh @ step))
    q += float(l1h @ (np.abs(z) - np.abs(th)))
    return max(-q, 0.0)


class LogCertificate:
    """The log-loss's objective ``mean log-loss + R(w)`` at ``(W, b)`` and its excess over the
    minimum, from one pass over the rows (``alphas``, ``l1s``, ``floor``: as
    :class:`SquaredCertificate`'s).

    Without an L1 part: ``λ² = gᵀH⁻¹g``, twice the quadratic model's ½λ² (λ² bounds the
    excess of a self-concordant objective once λ ≤ 0.68, Boyd & Vandenberghe, *Convex
    Optimization*, §9.6.3; the log-loss is not quite so, and ½λ² fell 2 % short on iris).

    With one: the smaller of twice :func:`proximal_decrement` (second order like the excess:
    measured 1.0 to 2.0 times it on FISTA minima) and a Fenchel duality gap ``P(w, b) - D(v)``
    (§5.1.6: a bound whatever the model, but first order). With ``m_i`` a probability vector
    per row, ``v_i = w_i (m_i - Y_i)/Σw`` has ``D(v) = Σ_i w_i H(m_i)/Σw - R*(-Xᵀv)`` (``H``
    the entropy, ``R*`` :func:`_dual_scale`'s), the intercept asking ``Σ_i v_i = 0``. From
    the pass's sums:

    * the intercept: ``p̃_i = (1 - τ) p_i + τ ρ``, ``τ = max_k (1 - π_k/p̄_k)`` and ``ρ``
      giving ``p̃`` the targets' mean ``π``; then ``Xᵀv = (1 - τ)(g_w - x̄ g_bᵀ) + τ (x̄ πᵀ -
      XᵀYw/Σw)``;
    * the penalty: ``m_i = Y_i + s (p̃_i - Y_i)``, the best ``s`` with ``R*(-s Xᵀv)`` finite
      (:func:`_best_dual`);
    * the entropy: by concavity ``H(m_i) >= s ((1 - τ) H(p_i) + τ H(ρ))``: ``D`` stays a
      lower bound.
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
        self._last: tuple[Array, Array, int, float] | None = None

    def excess(self, W: Array, b: Array, k: int = 0) -> tuple[float, float]:
        """The objective at configuration ``k``'s ``(W, b)`` and its excess."""
        xp, alpha, l1 = self.xp, self.alphas[k], self.l1s[k]
        fi = self.objective.fit_intercept
        ev = self.objective.newton_pass(W, b, order=2, dual=largest(l1) > 0.0)
        theta = lk.flatten(W, b, fit_intercept=fi, xp=xp)
        pen = lk.flatten(alpha * xp.ones_like(W), xp.zeros_like(b), fit_intercept=fi, xp=xp)
        g = lk.flatten(ev.grad_w, ev.grad_b, fit_intercept=fi, xp=xp) + pen * theta
        H = ev.hess + xp.eye(theta.shape[0], dtype=W.dtype, device=_device(W)) * pen[None, :]
        if largest(l1) > 0.0:
            value, gap = self._gap(ev, W, b, alpha, l1)
            l1f = lk.flatten(l1 * xp.ones_like(W), xp.zeros_like(b), fit_intercept=fi, xp=xp)
            pin = int(fi and W.shape[1] > 1)  # the classes' common intercept shift
            return value, min(gap, 2.0 * proximal_decrement(H, g, theta, l1f, pin=pin))
        value = float(ev.loss) + 0.5 * float(xp.sum(pen * theta * theta))
        return value, 2.0 * HessianInverse(H, xp=xp).decrement(g)

    def _gap(self, ev: lk.PassResult, W: Array, b: Array, l2: Any, l1: Any) -> tuple[float, float]:
        """The objective and its duality gap (the class docstring's) from the pass ``ev``."""
        xp = self.xp
        value = float(ev.loss) + float(penalty(W, [l2], [l1], W.shape[1], xp)[0])
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
        """Kept for the same arrays: ``converged_`` reads the stopping rule's last model again
        (a pass with the Hessian; without, the default logistic ``batch`` fit took 1.16 x as
        long: ``bench_trust.py::test_preconditioning_and_certificate_cost_at_most_a_tenth``)."""
        last = self._last
        if last is not None and last[0] is W and last[1] is b and last[2] == k:
            return last[3]
        value = relative(*self.excess(W, b, k), self.floor)
        self._last = (W, b, k, value)
        return value
