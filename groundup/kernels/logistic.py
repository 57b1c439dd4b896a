"""Log-loss objectives for the descent engine and the Newton (IRLS) solver.

``W`` (n_features, k), ``b`` (k,): k = 1 for the sigmoid, n_classes for the softmax. All is
computed from the margins with log-sigmoid / log-sum-exp: margins of ±1e4 give no overflow
or NaN in float32 or float64. ``newton_pass`` is one pass over row chunks for the loss,
gradient and Hessian; :func:`newton_solve` runs Newton's method with a line search on it.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

from array_api_compat import device as _device

from groundup._typing import Array, Namespace
from groundup.kernels.closed_form import cholesky_solve
from groundup.kernels.losses import BlockedEpochObjective
from groundup.kernels.sgd_logistic_blocked import logistic_sgd_epoch
from groundup.kernels.update import pack


# -- numerically stable link functions ---------------------------------------------------
def softplus(z: Array, /, *, xp: Namespace) -> Array:
    """``log(1 + exp(z))`` without overflow: ``max(z, 0) + log1p(exp(-|z|))``."""
    a = xp.abs(z)
    return 0.5 * (z + a) + xp.log1p(xp.exp(-a))


def log_sigmoid(z: Array, /, *, xp: Namespace) -> Array:
    """``log(1 / (1 + exp(-z)))`` without overflow."""
    return -softplus(-z, xp=xp)


def sigmoid(z: Array, /, *, xp: Namespace) -> Array:
    """``1 / (1 + exp(-z))`` without overflow (``exp`` only sees ``-|z|``)."""
    e = xp.exp(-xp.abs(z))
    return xp.where(z >= 0, xp.ones_like(e), e) / (1.0 + e)


def log_softmax(Z: Array, /, *, xp: Namespace) -> Array:
    """Row-wise ``Z - logsumexp(Z)``, shifted by the row maximum, whose term (exactly 1) is
    added by ``log1p``: a confident row keeps its small log-probabilities to full precision."""
    S = Z - xp.max(Z, axis=1, keepdims=True)
    top = S == 0
    rest = xp.sum(xp.where(top, xp.zeros_like(S), xp.exp(S)), axis=1, keepdims=True)
    ties = xp.sum(xp.astype(top, S.dtype), axis=1, keepdims=True) - 1.0
    return S - xp.log1p(ties + rest)


def softmax(Z: Array, /, *, xp: Namespace) -> Array:
    """Row-wise softmax of ``Z`` of shape (n, k), shifted by the row maximum."""
    E = xp.exp(Z - xp.max(Z, axis=1, keepdims=True))
    return E / xp.sum(E, axis=1, keepdims=True)


def one_hot(codes: Array, k: int, dtype: object, /, *, xp: Namespace) -> Array:
    """Integer codes (n,) as a (n, k) indicator matrix of ``dtype`` (a comparison: several
    times faster on PyTorch's CPU than ``array_api_extra.one_hot``)."""
    classes = xp.arange(k, dtype=codes.dtype, device=_device(codes))
    return xp.astype(xp.reshape(codes, (-1, 1)) == xp.reshape(classes, (1, -1)), dtype)


# -- the objectives ------------------------------------------------------------------------
@dataclass
class PassResult:
    """What one pass over the training set computed: the weighted mean log-loss (no
    penalty; 0-d, or (K,) for K configurations), its gradient, the Hessian (parameters packed
    as :func:`flatten`), ``separated`` (0-d: every weighted sample strictly on its own side).
    With ``dual`` (the L1 duality gap of ``curvature.LogCertificate``) the weighted means of
    the entropy ``H(p_i) = loss_i - Σ_k (p_ik - Y_ik) z_ik``, of ``x_i``, ``x_i Y_iᵀ``, ``Y_i``.
    """

    loss: Array
    grad_w: Array | None = None
    grad_b: Array | None = None
    hess: Array | None = None
    separated: Array | None = None
    entropy: Array | None = None
    mean_x: Array | None = None
    mean_xy: Array | None = None
    mean_y: Array | None = None


class LogLoss(BlockedEpochObjective):
    """What the binary and the multinomial log-loss share: the objective of the descent
    engine (one model, or K configurations as columns) and of the Newton solver (one model).

    Sigmoid: ``W`` (n_features, K). Softmax over C classes: ``W`` (n_features, C·K), class by
    class (column ``c·K + k``: class ``c`` of configuration ``k``), the softmax per
    configuration over its C columns. One update is one ``Xb @ W`` and one ``Xbᵀ @ R``.
    Subclasses provide ``residuals`` (``dloss/dZ``), ``terms`` (per-sample losses (m, K) and
    residuals), ``hits`` (m, K), ``_true_margin`` (> 0: right side) and ``_hessian``.

    ``y``: 0/1 in X's dtype (binary), class codes or one-hot rows (multinomial);
    ``chunk_elements``: with ``chunk_rows``, fewer rows per chunk where the margins would
    exceed this many elements (a sweep's wide ``W``: its temporaries stay in cache); the rest
    as :class:`~groundup.kernels.losses.Objective`'s.
    """

    name = "log_loss"
    reads_host = True  # sgd_epoch reads each window's Newton step on the host

    def __init__(
        self,
        X: Array,
        y: Array,
        sample_weight: Array | None,
        /,
        *,
        n_classes: int = 2,
        chunk_elements: int | None = None,
        **common: Any,
    ) -> None:
        super().__init__(X, y, sample_weight, **common)
        self.n_classes, self.chunk_elements = n_classes, chunk_elements
        self.outputs = 1 if n_classes == 2 else n_classes  # columns of W per configuration
        # The last pass (W, b, PassResult): the losses after an epoch and the full gradient at
        # the start of the next one come from one fused pass over X (without, 100 ``batch``
        # epochs took 1.90 x as long; bench_logistic.py::test_batch_epoch_vs_numpy_epoch times
        # one such epoch).
        self._cache: tuple[Array, Array, PassResult] | None = None

    # -- the engine's interface -------------------------------------------------------------
    def batch_residuals(self, Xb: Array, yb: Array, W: Array, b: Array) -> Array:
        return self.residuals(Xb @ W + b, yb)

    epoch_kernel = staticmethod(logistic_sgd_epoch)

    def epoch_targets(self) -> Array:
        return self.epoch_targets_of(self.y, self.X.dtype)

    def epoch_targets_of(self, y: Array, dtype: object) -> Array:
        """(n, k) targets of ``y`` in ``dtype``: 0/1 for the sigmoid, one-hot for the softmax."""
        if self.outputs == 1:
            y = self.xp.reshape(y, (-1, 1))
        elif y.ndim == 1:
            return one_hot(y, self.n_classes, dtype, xp=self.xp)
        return y if y.dtype == dtype else self.xp.astype(y, dtype)

    def _evaluate(self, W: Array, b: Array) -> PassResult:
        c = self._cache
        if c is None or c[0] is not W or c[1] is not b:
            c = (W, b, self.newton_pass(W, b, order=1))
            self._cache = c
        return c[2]

    def full_grad(self, W: Array, b: Array) -> tuple[Array, Array]:
        ev = self._evaluate(W, b)
        return ev.grad_w, ev.grad_b

    def losses(self, W: Array, b: Array) -> Array:
        """Training mean log-loss of every configuration, (K,) (the same pass gives the next
        ``batch`` epoch's gradient)."""
        return self.xp.reshape(self._evaluate(W, b).loss, (-1,))

    def zero_loss(self) -> Array:
        """log(n_classes): the loss at ``W = 0, b = 0``."""
        xp = self.xp
        return xp.asarray(math.log(self.n_classes), dtype=self.X.dtype, device=_device(self.X))

    def accuracies(self, X: Array, y: Array, sw: Array | None, W: Array, b: Array) -> Array:
        """(Weighted) accuracy of every configuration on ``X``, ``y``, (K,)."""
        xp = self.xp
        hit = xp.astype(self.hits(X @ W + b, y), X.dtype)
        if sw is None:
            return xp.mean(hit, axis=0)
        return (sw @ hit) / xp.sum(sw)

    def scores(self, W: Array, b: Array) -> Array:
        return self.accuracies(self.X_val, self.y_val, None, W, b)

    def keep(self, W: Array, b: Array, columns: Array, configs: Array) -> tuple[Array, Array]:
        """``W``, ``b`` restricted to ``columns``; the last pass too, if it was at ``(W, b)``."""
        xp = self.xp
        W2, b2 = xp.take(W, columns, axis=1), xp.take(b, columns, axis=0)
        c = self._cache
        if c is not None and c[0] is W and c[1] is b:
            ev = c[2]
            loss = xp.take(xp.reshape(ev.loss, (-1,)), configs, axis=0)
            grad_w = xp.take(ev.grad_w, columns, axis=1)
            self._cache = (W2, b2, PassResult(loss, grad_w, xp.take(ev.grad_b, columns, axis=0)))
        return W2, b2

    def separated(self, W: Array, b: Array) -> bool:
        """Whether ``(W, b)`` puts every weighted training sample strictly on its own side
        (then, without a penalty, the log-loss has no minimum)."""
        return bool(self.newton_pass(W, b, order=0, check_separated=True).separated)

    # -- one pass over X ---------------------------------------------------------------------
    def newton_pass(
        self,
        W: Array,
        b: Array,
        /,
        *,
        order: int = 2,
        check_separated: bool = False,
        dual: bool = False,
    ) -> PassResult:
        """One pass over row chunks (each read once, no weighted copy of X): loss
        (``order=0``), plus gradient (1) and Hessian (2, one model); ``dual``: the duality
        gap's means too (one model)."""
        xp = self.xp
        X, y, sw = self.X, self.y, self.sw
        n = X.shape[0]
        rows = n if self.chunk_rows is None else self.chunk_rows
        if self.chunk_elements is not None:
            rows = min(rows, max(64, self.chunk_elements // W.shape[1]))
        total = inside = gw = gb = hess = None
        sums: list[Array | None] = [None] * 4  # dual: entropy, x, x Yᵀ, Y
        for start in range(0, n, min(rows, n)):
            stop = min(start + rows, n)
            Xc, yc = X[start:stop, ...], y[start:stop, ...]
            sc = None if sw is None else sw[start:stop]
            Z = Xc @ W + b
            L, R = self.terms(Z, yc)
            if dual:
                sums = self._dual_sums(sums, Xc, yc, sc, Z, L, R)
            if sc is None:
                part = self._column_sums(L)
            else:
                R = R * xp.reshape(sc, (-1, 1))
                part = sc @ L
            total = _add(total, part)
            if check_separated:
                ok = self._true_margin(Z, yc) > 0
                ok = xp.all(ok if sc is None else ok | (sc <= 0))
                inside = ok if inside is None else inside & ok
            if order >= 1:
                gw = _add(gw, Xc.T @ R)
                gb = _add(gb, self._column_sums(R))
            if order >= 2:
                hess = _add(hess, self._hessian(Xc, Z, sc))
        weight = float(n) if sw is None else xp.sum(sw)
        loss = total / weight
        out = PassResult(loss=loss[0] if loss.shape[0] == 1 else loss, separated=inside)
        if order >= 1:
            out.grad_w, out.grad_b = gw / weight, gb / weight
        if order >= 2:
            out.hess = hess / weight
        if dual:
            out.entropy, out.mean_x, out.mean_xy, out.mean_y = (v / weight for v in sums)
        return out

    def _dual_sums(
        self, sums: list[Any], Xc: Array, yc: Array, sc: Array | None, Z: Array, L: Array, R: Array
    ) -> list[Array]:
        """A chunk's weighted sums of the entropy ``L - Σ_k R_k Z_k``, ``x``, ``x Yᵀ``, ``Y``."""
        xp = self.xp
        Y = self.epoch_targets_of(yc, Z.dtype)
        H = L[:, 0] - xp.sum(R * Z, axis=1)
        if sc is None:
            new = [xp.sum(H), xp.sum(Xc, axis=0), Xc.T @ Y, xp.sum(Y, axis=0)]
        else:
            Yw = Y * xp.reshape(sc, (-1, 1))
            new = [xp.sum(sc * H), sc @ Xc, Xc.T @ Yw, xp.sum(Yw, axis=0)]
        return [_add(t, v) for t, v in zip(sums, new, strict=True)]

    def subset(self, rows: Array, /) -> LogLoss:
        """The same objective on the rows ``rows`` (integer indices on the device)."""
        xp = self.xp
        return type(self)(
            xp.take(self.X, rows, axis=0),
            xp.take(self.y, rows, axis=0),
            None if self.sw is None else xp.take(self.sw, rows, axis=0),
            fit_intercept=self.fit_intercept,
            n_classes=self.n_classes,
            chunk_rows=self.chunk_rows,
            solve_triangular=self.solve_triangular,
            speculative=self.speculative,
            xp=xp,
        )


class BinaryLogLoss(LogLoss):
    """Mean binary log-loss of the sigmoid model(s), y in {0, 1}.

    A pass takes the loss and ``sigmoid(z) - y`` from one ``e = exp(-|z|)`` (no overflow). A
    mini-batch update takes ``1 / (1 + exp(-z)) - y`` (``inf`` only where the probability
    underflows to 0): four operations (bench_sweep.py, binary minibatch: 203 ms, not 277).
    """

    def residuals(self, Z: Array, y: Array, /) -> Array:
        return 1.0 / (1.0 + self.xp.exp(-Z)) - self.xp.reshape(y, (-1, 1))

    l1_sgd_epoch = functools.partialmethod(BlockedEpochObjective.windowed_l1_epoch, loss="log")

    def terms(self, Z: Array, y: Array, /) -> tuple[Array, Array]:
        xp = self.xp
        yc = xp.reshape(y, (-1, 1))
        e = xp.exp(-xp.abs(Z))
        inv = 1.0 / (1.0 + e)
        L = xp.maximum(Z, 0.0) - yc * Z + xp.log1p(e)
        return L, xp.where(Z >= 0, inv, e * inv) - yc

    def hits(self, Z: Array, y: Array, /) -> Array:
        return self.xp.astype(Z > 0, Z.dtype) == self.xp.reshape(y, (-1, 1))

    def _true_margin(self, Z: Array, y: Array, /) -> Array:
        return (2.0 * y - 1.0) * Z[:, 0]

    def _hessian(self, Xc: Array, Z: Array, sw: Array | None, /) -> Array:
        xp = self.xp
        e = xp.exp(-xp.abs(Z[:, 0]))
        # p (1 - p) = e / (1 + e)²; its square root scales the rows: XᵀSX = QᵀQ (a SYRK). The
        # intercept's row and column come apart: no concatenated copy of the chunk.
        q = xp.sqrt(e) / (1.0 + e)
        if sw is not None:
            q = q * xp.sqrt(sw)
        Q = Xc * xp.reshape(q, (-1, 1))
        if not self.fit_intercept:
            return Q.T @ Q
        col = xp.reshape(Q.T @ q, (-1, 1))
        bottom = xp.concat([col.T, xp.reshape(xp.sum(q * q), (1, 1))], axis=1)
        return xp.concat([xp.concat([Q.T @ Q, col], axis=1), bottom], axis=0)


class MultinomialLogLoss(LogLoss):
    """Mean multinomial (softmax) log-loss ``logsumexp(z) - z_y``, residuals ``softmax(z) -
    onehot(y)``, per configuration over its C columns, shifted by their maximum."""

    def _softmax_parts(self, Z: Array, y: Array) -> tuple[Array, Array, Array, Array]:
        """Shifted margins S, exp(S), their sums T, the one-hot rows: (m, C, K) (m, C, K)
        (m, 1, K) (m, C, 1)."""
        xp = self.xp
        m, C = Z.shape[0], self.outputs
        Z3 = xp.reshape(Z, (m, C, -1))
        S = Z3 - xp.max(Z3, axis=1, keepdims=True)
        E = xp.exp(S)
        Y = xp.reshape(self.epoch_targets_of(y, Z.dtype), (m, C, 1))
        return S, E, xp.sum(E, axis=1, keepdims=True), Y

    def residuals(self, Z: Array, y: Array, /) -> Array:
        _, E, T, Y = self._softmax_parts(Z, y)
        return self.xp.reshape(E / T - Y, Z.shape)

    def terms(self, Z: Array, y: Array, /) -> tuple[Array, Array]:
        xp = self.xp
        S, E, T, Y = self._softmax_parts(Z, y)
        L = xp.log(T[:, 0, :]) - xp.sum(S * Y, axis=1)
        return L, xp.reshape(E / T - Y, Z.shape)

    def hits(self, Z: Array, y: Array, /) -> Array:
        xp = self.xp
        m = Z.shape[0]
        pred = xp.argmax(xp.reshape(Z, (m, self.outputs, -1)), axis=1)
        truth = xp.argmax(y, axis=1) if y.ndim == 2 else y
        return pred == xp.astype(xp.reshape(truth, (-1, 1)), pred.dtype)

    def _true_margin(self, Z: Array, y: Array, /) -> Array:
        xp = self.xp
        Y = self.epoch_targets_of(y, xp.bool)
        own = xp.sum(xp.where(Y, Z, xp.zeros_like(Z)), axis=1)
        low = xp.full_like(Z, -math.inf)
        other = xp.max(xp.where(Y, low, Z), axis=1)
        return own - other

    def _hessian(self, Xc: Array, Z: Array, sw: Array | None, /) -> Array:
        # H = Σ_i (diag(p_i) - p_i p_iᵀ) ⊗ x_i x_iᵀ, parameters class by class.
        xp = self.xp
        Xt = Xc
        if self.fit_intercept:
            ones = xp.ones((Xc.shape[0], 1), dtype=Xc.dtype, device=_device(Xc))
            Xt = xp.concat([Xc, ones], axis=1)
        P = softmax(Z, xp=xp)
        m, dt = Xt.shape
        k = P.shape[1]
        U = xp.reshape(xp.reshape(P, (m, k, 1)) * xp.reshape(Xt, (m, 1, dt)), (m, k * dt))
        V = U if sw is None else U * xp.reshape(sw, (-1, 1))  # the weight enters once
        blocks = xp.reshape(V.T @ Xt, (k, dt, dt))  # Xtᵀ diag(sw p_a) Xt for each class a
        eye = xp.eye(k, dtype=Xt.dtype, device=_device(Xt))
        diag = xp.reshape(
            xp.reshape(eye, (k, 1, k, 1)) * xp.reshape(blocks, (k, dt, 1, dt)), (k * dt, k * dt)
        )
        return diag - V.T @ U


def _add(total: Array | None, part: Array) -> Array:
    return part if total is None else total + part


# -- parameters packed into one vector -----------------------------------------------------
def flatten(W: Array, b: Array, /, *, fit_intercept: bool, xp: Namespace) -> Array:
    """``(W, b)`` as Newton's one vector, class by class: ``[W[:, 0], b[0], W[:, 1], ...]``."""
    T = pack(W, b, xp=xp) if fit_intercept else W
    return xp.reshape(T.T, (-1,))


def unflatten(
    theta: Array, n_features: int, k: int, /, *, fit_intercept: bool, xp: Namespace
) -> tuple[Array, Array]:
    """Inverse of :func:`flatten`: ``W`` (n_features, k) and ``b`` (k,)."""
    dt = n_features + int(fit_intercept)
    T = xp.reshape(theta, (k, dt)).T
    if fit_intercept:
        return T[:n_features, :], T[n_features, :]
    return T, xp.zeros((k,), dtype=theta.dtype, device=_device(theta))


# -- Newton's method -------------------------------------------------------------------------
@dataclass
class NewtonSettings:
    """What :func:`newton_solve` needs to know besides the objective."""

    alpha: float = 0.0  # L2 strength (0: no penalty)
    tol: float | None = 1e-3  # max |gradient| <= tol, decrement <= (tol/10)² (None: precision)
    max_iter: int = 100  # Newton iterations
    stop_if_separated: bool = False  # stop once every sample is on its own side
    armijo: float = 1e-4  # sufficient-decrease constant of the line search
    max_halvings: int = 30  # backtracking steps before the line search gives up
    record_path: bool = False  # keep (W, b) after every iteration


@dataclass
class NewtonResult:
    """What a run of :func:`newton_solve` produced."""

    W: Array
    b: Array
    history: list[float] = field(default_factory=list)  # loss after each update
    n_iter: int = 0
    converged: bool = False
    separated: bool = False  # stopped because the classes are separable
    stalled: bool = False  # no decrease possible at the working precision
    nonfinite: bool = False  # the loss or the gradient was NaN or inf
    grad_max: float = math.inf  # max |gradient| at the last point where it was computed
    path: list[tuple[Array, Array]] = field(default_factory=list)


# The Newton decrement at which the last step is taken, in units of tol²: the step (quadratic
# there) lands ~1e-7 from the optimum; fits from different starts agree to ~1e-7.
DECREMENT = 1e-2


def newton_solve(
    objective: LogLoss,
    W: Array,
    b: Array,
    /,
    *,
    settings: NewtonSettings,
    fallback: tuple[Array, Array, float] | None = None,
    xp: Namespace,
) -> NewtonResult:
    """Minimise ``loss + ½·alpha·‖W‖²`` by Newton's method (IRLS) with an Armijo line search.

    An iteration is one pass over X (loss, gradient, Hessian) and a solve. Once ``max
    |gradient| <= tol`` and the decrement ``½ gᵀH⁻¹g`` is at most ``DECREMENT tol²`` (floored
    by what the dtype resolves), that last step is still taken, checked by a loss-only pass.
    The softmax's classes are defined up to a common shift: the Hessian is regularised along
    it only, which keeps them centred (as scikit-learn's lbfgs from zero). ``fallback``: a
    safe start ``(W, b, objective value)`` taken when ``(W, b)`` is worse (a poor warm start).
    """
    s = settings
    d, k = W.shape
    fi = objective.fit_intercept
    dt_ = d + int(fi)
    dev = _device(W)
    ones = xp.ones((d, k), dtype=W.dtype, device=dev)
    # 1 on the coefficients, 0 on the intercepts (not penalised)
    mask = flatten(ones, xp.zeros((k,), dtype=W.dtype, device=dev), fit_intercept=fi, xp=xp)
    eye = xp.eye(mask.shape[0], dtype=W.dtype, device=dev)
    tiny = 16.0 * float(xp.finfo(W.dtype).eps)
    res = NewtonResult(W=W, b=b)
    theta = flatten(W, b, fit_intercept=fi, xp=xp)

    def value(ev: PassResult, th: Array) -> float:
        f = float(ev.loss)
        if s.alpha:
            f += 0.5 * s.alpha * float(xp.sum(mask * th * th))
        return f

    def at(th: Array, order: int) -> PassResult:
        Wt, bt = unflatten(th, d, k, fit_intercept=fi, xp=xp)
        return objective.newton_pass(Wt, bt, order=order, check_separated=s.stop_if_separated)

    ev = at(theta, 2)
    f = value(ev, theta)
    if fallback is not None and not f <= fallback[2]:
        theta = flatten(fallback[0], fallback[1], fit_intercept=fi, xp=xp)
        ev = at(theta, 2)
        f = value(ev, theta)
    if not math.isfinite(f):
        res.nonfinite = True
        return res
    # the projector onto the common shift of all classes' parameters: (1/k)·11ᵀ ⊗ I
    shift = xp.tile(xp.eye(dt_, dtype=W.dtype, device=dev), (k, k)) / k if k > 1 else None
    # ``tol`` is raised to the dtype's precision (so float32 does not spin to max_iter): a
    # gradient is a mean of terms of the features' size (rms ~ 2 sqrt(max diag H)) summed
    # with relative rounding ~eps; a decrease below eps |f| cannot be seen.
    eps = float(xp.finfo(W.dtype).eps)
    gfloor = eps * 2.0 * math.sqrt(max(float(xp.max(xp.linalg.diagonal(ev.hess))), 0.0))
    gtol = None if s.tol is None else max(s.tol, gfloor)
    while res.n_iter < s.max_iter:
        if s.stop_if_separated and bool(ev.separated):
            res.separated = True
            break
        g = flatten(ev.grad_w, ev.grad_b, fit_intercept=fi, xp=xp) + s.alpha * mask * theta
        H = ev.hess + s.alpha * (eye * mask) if s.alpha else ev.hess
        if shift is not None:
            H = H + (float(xp.mean(xp.linalg.diagonal(H))) + 1.0) * shift
        gmax = float(xp.max(xp.abs(g)))
        res.grad_max = gmax
        if not math.isfinite(gmax):
            res.nonfinite = True
            break
        step = _newton_step(H, g, xp=xp)
        slope = float(xp.sum(g * step))  # -gᵀH⁻¹g: minus twice the Newton decrement
        if slope >= 0:  # not a descent direction (rounding): fall back to the gradient
            step, slope = -g, -float(xp.sum(g * g))
        close = max(DECREMENT * gtol**2, eps * abs(f)) if gtol is not None else 0.0
        final = gtol is not None and gmax <= gtol and -0.5 * slope <= close
        # Backtracking line search; the first trial also brings the next gradient/Hessian.
        t, accepted = 1.0, None
        for halving in range(s.max_halvings + 1):
            trial = theta + t * step
            ev_t = at(trial, 0 if (final or halving) else 2)
            f_t = value(ev_t, trial)
            if math.isfinite(f_t) and f_t <= f + s.armijo * t * slope + tiny * abs(f):
                accepted = (trial, ev_t, f_t)
                break
            t *= 0.5
            if t * float(xp.max(xp.abs(step))) <= tiny * (1.0 + float(xp.max(xp.abs(theta)))):
                break
        if accepted is None:
            res.stalled = True
            res.converged = final
            break
        no_progress = not accepted[2] < f
        theta, ev, f = accepted
        res.n_iter += 1
        res.history.append(float(ev.loss))
        if s.record_path:
            res.path.append(unflatten(theta, d, k, fit_intercept=fi, xp=xp))
        if final or (s.tol is None and no_progress):  # tol=None: until no step helps
            res.converged = True
            break
        if ev.grad_w is None:  # accepted after backtracking: the next pass needs derivatives
            ev = at(theta, 2)
    if res.stalled and s.tol is None:
        res.converged = True
    res.W, res.b = unflatten(theta, d, k, fit_intercept=fi, xp=xp)
    return res


def content_sample(
    X: Array, y: Array, r: Array, r0: float, fraction: float, /, *, offset: int = 0, xp: Namespace
) -> Array:
    """The indices (plus ``offset``) of the rows with ``frac(c (x · r + y r0)) < fraction``
    (``(r, r0)`` a random direction): equal rows are chosen together, so the subsample does
    not depend on the layout (integer weights or repeated rows, any order or chunking)."""
    u = (X @ r + xp.astype(y, X.dtype) * r0) * 9973.0
    u = u - xp.floor(u)
    return xp.nonzero(u < fraction)[0] + offset


def _newton_step(H: Array, g: Array, /, *, xp: Namespace) -> Array:
    """Solve ``H step = -g`` by Cholesky. Where H is (nearly) singular, the minimum-norm step
    of the equilibrated H (eigenvalues below ``1e-12`` of the largest dropped): continuous in
    H and g, so the same data laid out differently take the same step."""
    step, cond = cholesky_solve(H, -g, xp=xp)
    eps = float(xp.finfo(H.dtype).eps)
    if step is not None and cond < 1e-3 / eps and bool(xp.all(xp.isfinite(step))):
        return step
    diag = xp.linalg.diagonal(H)
    ok = diag > 0
    scale = xp.where(ok, 1.0 / xp.sqrt(xp.where(ok, diag, xp.ones_like(diag))), xp.zeros_like(diag))
    A = H * (scale[:, None] * scale[None, :])
    if not bool(xp.all(xp.isfinite(A))):
        return -g / max(float(xp.max(xp.abs(diag))), 1.0)
    lam, V = xp.linalg.eigh(A)
    top = float(xp.max(lam))
    keep = lam > 1e-12 * top
    inv = xp.where(keep, 1.0 / xp.where(keep, lam, xp.ones_like(lam)), xp.zeros_like(lam))
    return -(((g * scale) @ V) * inv) @ V.T * scale
