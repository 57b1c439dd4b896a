"""The textbook forms: what the fast code in ``kernels/`` computes, written the plain way.

Start reading here: one formula per function, with its source, in the Array API standard
only. The fast forms give the same numbers to rounding (``tests/test_fastpaths.py``):
``closed_form`` adds one-pass moments, Cholesky and one step of iterative refinement (Higham,
*Accuracy and Stability of Numerical Algorithms*, 2nd ed., ch. 12); ``descent``, ``losses``
and ``sgd_blocked`` make the same updates as :func:`gradient_descent`, fewer at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import array_api_extra as xpx
from array_api_compat import device as _device

from groundup._typing import Array, Namespace


def _weights_and_means(
    X: Array, y: Array, sample_weight: Array | None, fit_intercept: bool, /, *, xp: Namespace
) -> tuple[Array, Array, Array]:
    """Weights (ones if None), weighted means ``x̄``, ``ȳ`` (zero without an intercept)."""
    dt, dev = X.dtype, _device(X)
    w = xp.ones((X.shape[0],), dtype=dt, device=dev) if sample_weight is None else sample_weight
    if not fit_intercept:
        return w, xp.zeros((X.shape[1],), dtype=dt, device=dev), xp.zeros((), dtype=dt, device=dev)
    return w, (w @ X) / xp.sum(w), xp.sum(w * y) / xp.sum(w)


def normal_equations(
    X: Array,
    y: Array,
    sample_weight: Array | None = None,
    /,
    *,
    alpha: float = 0.0,
    fit_intercept: bool = True,
    xp: Namespace,
) -> tuple[Array, Array]:
    """Least squares (ridge with ``alpha > 0``) by the normal equations on centred data::

        (Xcᵀ W Xc + n·alpha·I) w = Xcᵀ W yc,    intercept = ȳ − x̄·w

    with ``Xc = X − x̄``, ``yc = y − ȳ`` (weighted means; none without an intercept),
    ``W = diag(sample_weight)`` and ``n`` the total weight. ``alpha`` is the engine's L2
    strength: this minimises ½·weighted mean of squared residuals + ½·alpha·‖w‖².

    Sources: Björck, *Numerical Methods for Least Squares Problems* (SIAM 1996), ch. 2, the
    method of normal equations; Hastie, Tibshirani & Friedman, *The Elements of Statistical
    Learning*, 2nd ed., §3.4.1 (ridge: centre the inputs, leave the intercept unpenalised).

    Returns ``coef`` of shape (n_features,) and a 0-d ``intercept``.
    """
    w, mean_x, mean_y = _weights_and_means(X, y, sample_weight, fit_intercept, xp=xp)
    Xc, yc = X - mean_x, y - mean_y
    A = Xc.T @ (Xc * w[:, None])  # Xcᵀ W Xc
    A = A + alpha * xp.sum(w) * xp.eye(X.shape[1], dtype=X.dtype, device=_device(X))
    coef = xp.linalg.solve(A, ((w * yc) @ Xc)[:, None])[:, 0]  # right-hand side Xcᵀ W yc
    return coef, mean_y - xp.sum(mean_x * coef)


def covariance_form(
    X: Array,
    y: Array,
    sample_weight: Array | None = None,
    /,
    *,
    fit_intercept: bool = True,
    xp: Namespace,
) -> tuple[Array, Array]:
    """The covariance ("beta") form: slope = Cov(X)⁻¹ Cov(X, y), intercept ȳ − x̄·slope.

    One feature: ``slope = Cov(x, y) / Var(x)``. (Weighted) sample covariances, divided by
    ``n − 1``; without an intercept the second moments about zero, ``E[x xᵀ]⁻¹ E[x y]``
    (divided by ``n``). The divisor cancels; it is there to show the statistics.

    Source: Wasserman, *All of Statistics* (2004), ch. 13 (the least-squares slope as a ratio
    of covariances); the multivariate form is the normal equations divided by n − 1.

    Returns ``coef`` of shape (n_features,) and a 0-d ``intercept``.
    """
    w, mean_x, mean_y = _weights_and_means(X, y, sample_weight, fit_intercept, xp=xp)
    Xc, yc = X - mean_x, y - mean_y
    dof = xp.sum(w) - 1.0 if fit_intercept else xp.sum(w)
    cov_xx = Xc.T @ (Xc * w[:, None]) / dof
    cov_xy = (w * yc) @ Xc / dof
    slope = xp.linalg.solve(cov_xx, cov_xy[:, None])[:, 0]
    return slope, mean_y - xp.sum(mean_x * slope)


def residuals(loss: str, Z: Array, y: Array, /, *, xp: Namespace) -> Array:
    """``dloss/dz`` of each sample at its margins ``Z`` (m, k).

    - ``"squared"``, ½(z − y)²: ``z − y`` (k = 1);
    - ``"log"`` with k = 1, the sigmoid's log-loss (y in {0, 1}): ``σ(z) − y``,
      σ(z) = 1 / (1 + e^−z) (Hastie et al., *ESL* §4.4);
    - ``"log"`` with k > 1, the softmax's log-loss (y integer codes): ``softmax(z) − onehot(y)``
      (Bishop, *Pattern Recognition and Machine Learning*, §4.3.4), shifted by the row maximum.
    """
    if loss == "squared":
        return Z - y[:, None]
    if Z.shape[1] == 1:
        return 1.0 / (1.0 + xp.exp(-Z)) - y[:, None]
    E = xp.exp(Z - xp.max(Z, axis=1, keepdims=True))
    return E / xp.sum(E, axis=1, keepdims=True) - xpx.one_hot(y, Z.shape[1], dtype=Z.dtype, xp=xp)


def gradient_descent(
    X: Array,
    y: Array,
    sample_weight: Array | None,
    W: Array,
    b: Array,
    /,
    *,
    loss: str,
    eta: Callable[[int], float],
    epochs: int,
    batch_size: int,
    alpha: float | Array = 0.0,
    fit_intercept: bool = True,
    orders: Sequence[Array | None] | None = None,
    l1: float | Array = 0.0,
    xp: Namespace,
) -> tuple[Array, Array]:
    """Plain gradient descent from ``W`` (n_features, k), ``b`` (k,) for ``epochs`` epochs.

    Each epoch visits the rows in its order (``orders[epoch]``, an integer array; ``None``:
    the natural order), ``batch_size`` rows per update (1: one-sample SGD; ≥ n_samples: full
    batch; the last batch of an epoch may be shorter). Update ``t`` (1 at the first, as in
    scikit-learn) with the rows B, m = |B|, and ``R = residuals(loss, X_B W + b, y_B)``
    times the sample weights::

        W <- max(0, 1 − eta(t)·alpha)·W − eta(t)·X_Bᵀ R / m
        b <- b − eta(t)·Σ_i R_i / m                       (only with fit_intercept)

    One sample, squared loss: scikit-learn ``SGDRegressor``'s ``w -= eta·(x·w + b − y)·x``,
    its L2 rescaling first (Bottou, "Large-Scale Machine Learning with Stochastic Gradient
    Descent", COMPSTAT 2010; "Stochastic Gradient Descent Tricks", 2012). The estimators
    normalise sample weights to mean 1, so ``/ m`` is the weighted mean.

    ``alpha`` and ``l1`` may be one strength or one per feature ((n_features, 1), a
    preconditioned fit's). With ``l1``, after each update scikit-learn's cumulative L1
    truncation (Tsuruoka, Tsujii & Ananiadou, ACL 2009; ``l1penalty`` in
    ``sklearn/linear_model/_sgd_fast.pyx``), each weight ``w_jk`` with its own threshold::

        u_j <- u_j + eta(t)·l1_j
        w_jk > 0: w_jk <- max(0, w_jk − (u_j + q_jk));  w_jk < 0: min(0, w_jk + (u_j − q_jk))
        q_jk <- q_jk + (new − old)

    Returns ``W``, ``b``.
    """
    n = X.shape[0]
    bs = min(batch_size, n)
    t = 1
    q, u = xp.zeros_like(W), 0.0 * l1  # the truncation's state (l1 > 0)
    truncating = bool(xp.any(xp.asarray(l1) > 0)) if hasattr(l1, "shape") else l1 > 0
    for epoch in range(epochs):
        order = None if orders is None else orders[epoch]
        if order is None:
            order = xp.arange(n, device=_device(X))
        for start in range(0, n, bs):
            rows = order[start : min(start + bs, n)]
            Xb, yb = xp.take(X, rows, axis=0), xp.take(y, rows, axis=0)
            R = residuals(loss, Xb @ W + b, yb, xp=xp)
            if sample_weight is not None:
                R = R * xp.take(sample_weight, rows)[:, None]
            rate, m = eta(t), Xb.shape[0]
            decay = xp.clip(1.0 - rate * alpha, min=0.0) if hasattr(alpha, "shape") else None
            W = (max(0.0, 1.0 - rate * alpha) if decay is None else decay) * W
            W = W - rate * (Xb.T @ R) / m
            if fit_intercept:
                b = b - rate * xp.sum(R, axis=0) / m
            if truncating:
                u = u + rate * l1
                down = xp.clip(W - (u + q), min=0.0)
                up = xp.clip(W + (u - q), max=0.0)
                new = xp.where(W > 0, down, xp.where(W < 0, up, W))
                q = q + (new - W)
                W = new
            t += 1
    return W, b
