"""The textbook forms of ``kernels/reference.py`` against scikit-learn, on every backend.

``tests/test_fastpaths.py`` holds every fast path to these forms; here the forms themselves
are held to independent oracles: scikit-learn's ``LinearRegression``, ``Ridge``,
``SGDRegressor`` and ``SGDClassifier``, NumPy's covariance, and central differences of
scikit-learn's loss functions.
"""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import make_regression
from sklearn.linear_model import LinearRegression, Ridge, SGDClassifier, SGDRegressor
from sklearn.metrics import log_loss, mean_squared_error

from groundup import backends
from groundup.kernels import reference


def _assert_on_case(a, case) -> None:
    be = backends.from_array(a)
    assert be.name == case.backend.name
    assert be.device_name == case.backend.device_name
    assert str(a.dtype).endswith(case.dtype)


def _rtol(case) -> float:
    """float32: the closed forms solve a system with condition number ~10 in float32."""
    return 1e-10 if case.dtype == "float64" else 1e-4


def _data(n=120, d=3, seed=0, weighted=False):
    X, y, _ = make_regression(n=n, d=d, seed=seed)
    X = X * [1.0, 3.0, 0.5][:d] + [0.5, -1.0, 2.0][:d]  # features on different scales
    sw = np.random.default_rng(seed + 1).uniform(0.2, 3.0, size=n) if weighted else None
    return X, y, sw


def _on(case, *arrays):
    return [None if a is None else case.asarray(a) for a in arrays]


# -- the closed forms ------------------------------------------------------------------------
@pytest.mark.parametrize("fit_intercept", [True, False], ids=["intercept", "no-intercept"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_normal_equations_are_least_squares(case, weighted, fit_intercept):
    X, y, sw = _data(weighted=weighted)
    coef, icpt = reference.normal_equations(
        *_on(case, X, y, sw), fit_intercept=fit_intercept, xp=case.xp
    )
    _assert_on_case(coef, case)
    _assert_on_case(icpt, case)
    assert tuple(coef.shape) == (3,)
    assert tuple(icpt.shape) == ()
    sk = LinearRegression(fit_intercept=fit_intercept).fit(X, y, sample_weight=sw)
    rtol = _rtol(case)
    np.testing.assert_allclose(case.to_numpy(coef), sk.coef_, rtol=rtol)
    np.testing.assert_allclose(float(icpt), sk.intercept_, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("fit_intercept", [True, False], ids=["intercept", "no-intercept"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_normal_equations_with_alpha_are_ridge(case, weighted, fit_intercept):
    """½·mean squared error + ½·alpha·‖w‖² is scikit-learn's Ridge with alpha·n (n: total
    weight), the intercept unpenalised."""
    X, y, sw = _data(weighted=weighted)
    alpha = 0.3
    coef, icpt = reference.normal_equations(
        *_on(case, X, y, sw), alpha=alpha, fit_intercept=fit_intercept, xp=case.xp
    )
    n = len(y) if sw is None else sw.sum()
    sk = Ridge(alpha=alpha * n, fit_intercept=fit_intercept, solver="cholesky")
    sk.fit(X, y, sample_weight=sw)
    ols = LinearRegression(fit_intercept=fit_intercept).fit(X, y, sample_weight=sw)
    assert np.abs(sk.coef_ - ols.coef_).max() > 1e-3  # the penalty matters here
    rtol = _rtol(case)
    np.testing.assert_allclose(case.to_numpy(coef), sk.coef_, rtol=rtol)
    np.testing.assert_allclose(float(icpt), sk.intercept_, rtol=rtol, atol=rtol)


def test_covariance_form_with_one_feature_is_cov_over_var(case):
    X, y, _ = _data(d=1)
    slope, icpt = reference.covariance_form(*_on(case, X, y), xp=case.xp)
    _assert_on_case(slope, case)
    x = X[:, 0]
    expected = np.cov(x, y)[0, 1] / np.var(x, ddof=1)
    np.testing.assert_allclose(float(slope[0]), expected, rtol=_rtol(case))
    np.testing.assert_allclose(float(icpt), y.mean() - expected * x.mean(), rtol=_rtol(case))


@pytest.mark.parametrize("fit_intercept", [True, False], ids=["intercept", "no-intercept"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_covariance_form_is_least_squares(case, weighted, fit_intercept):
    """With several features, and without an intercept (second moments about zero)."""
    X, y, sw = _data(weighted=weighted)
    slope, icpt = reference.covariance_form(
        *_on(case, X, y, sw), fit_intercept=fit_intercept, xp=case.xp
    )
    _assert_on_case(slope, case)
    sk = LinearRegression(fit_intercept=fit_intercept).fit(X, y, sample_weight=sw)
    rtol = _rtol(case)
    np.testing.assert_allclose(case.to_numpy(slope), sk.coef_, rtol=rtol)
    np.testing.assert_allclose(float(icpt), sk.intercept_, rtol=rtol, atol=rtol)


# -- the gradient-descent loop -----------------------------------------------------------------
def _zeros(case, d, k=1):
    xp, dev = case.xp, case.backend.device
    dt = case.backend.dtype(case.dtype)
    return xp.zeros((d, k), dtype=dt, device=dev), xp.zeros((k,), dtype=dt, device=dev)


SK_SCHEDULES = {
    "constant": lambda t: 0.01,
    "invscaling": lambda t: 0.01 / t**0.25,
}


@pytest.mark.parametrize("learning_rate", list(SK_SCHEDULES))
@pytest.mark.parametrize("penalty", [None, "l2"])
def test_one_sample_squared_loss_is_sgdregressor(case64, penalty, learning_rate):
    X, y, _ = _data(n=200)
    alpha = 0.01 if penalty else 0.0
    W, b = reference.gradient_descent(
        *_on(case64, X, y),
        None,
        *_zeros(case64, 3),
        loss="squared",
        eta=SK_SCHEDULES[learning_rate],
        epochs=3,
        batch_size=1,
        alpha=alpha,
        xp=case64.xp,
    )
    _assert_on_case(W, case64)
    sk = SGDRegressor(
        learning_rate=learning_rate,
        eta0=0.01,
        power_t=0.25,
        penalty=penalty,
        alpha=alpha,
        max_iter=3,
        tol=None,
        shuffle=False,
    ).fit(X, y)
    np.testing.assert_allclose(case64.to_numpy(W)[:, 0], sk.coef_, rtol=1e-12)
    np.testing.assert_allclose(case64.to_numpy(b), sk.intercept_, rtol=1e-12)


@pytest.mark.parametrize("penalty", [None, "l2"])
def test_one_sample_log_loss_is_sgdclassifier(case64, penalty):
    """scikit-learn's log-loss derivative for labels ±1, ``-y / (1 + exp(y z))``, is
    ``sigmoid(z) - y01``: the same updates."""
    X, y, _ = _data(n=200)
    y01 = (y > np.median(y)).astype(float)
    alpha = 0.01 if penalty else 0.0
    W, b = reference.gradient_descent(
        *_on(case64, X, y01),
        None,
        *_zeros(case64, 3),
        loss="log",
        eta=lambda t: 0.05,
        epochs=3,
        batch_size=1,
        alpha=alpha,
        xp=case64.xp,
    )
    sk = SGDClassifier(
        loss="log_loss",
        learning_rate="constant",
        eta0=0.05,
        penalty=penalty,
        alpha=alpha,
        max_iter=3,
        tol=None,
        shuffle=False,
    ).fit(X, y01)
    np.testing.assert_allclose(case64.to_numpy(W)[:, 0], sk.coef_[0], rtol=1e-12)
    np.testing.assert_allclose(case64.to_numpy(b), sk.intercept_, rtol=1e-12)


def _sk_loss(kind, X, y, sw, W, b):
    """The objective (no penalty) the way scikit-learn writes it."""
    Z = X @ W + b
    if kind == "squared":
        return 0.5 * mean_squared_error(y, Z[:, 0], sample_weight=sw)
    if kind == "binary":
        return log_loss(y, 1.0 / (1.0 + np.exp(-Z[:, 0])), sample_weight=sw, labels=[0, 1])
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    return log_loss(y, P / P.sum(axis=1, keepdims=True), sample_weight=sw, labels=[0, 1, 2])


@pytest.mark.parametrize("kind", ["squared", "binary", "multinomial"])
def test_full_batch_step_is_minus_eta_times_the_gradient(case64, kind):
    """One full-batch step from (W0, b0) with eta = 1 moves by minus the gradient of the mean
    (weighted) loss: compared with central differences of scikit-learn's loss (truncation
    and rounding error ~1e-9 at h = 1e-5)."""
    X, y, sw = _data(n=60, weighted=True)
    sw = sw * len(sw) / sw.sum()  # the estimators' normalisation: mean 1
    k = 3 if kind == "multinomial" else 1
    if kind == "binary":
        y = (y > np.median(y)).astype(float)
    elif kind == "multinomial":
        y = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3])).astype(np.int64)
    rng = np.random.default_rng(3)
    W0, b0 = 0.3 * rng.normal(size=(3, k)), 0.1 * rng.normal(size=k)
    W1, b1 = reference.gradient_descent(
        *_on(case64, X, y, sw, W0, b0),
        loss="squared" if kind == "squared" else "log",
        eta=lambda t: 1.0,
        epochs=1,
        batch_size=len(y),
        xp=case64.xp,
    )
    grad = np.concatenate([(W0 - case64.to_numpy(W1)).ravel(), b0 - case64.to_numpy(b1)])
    theta0 = np.concatenate([W0.ravel(), b0])
    h, numeric = 1e-5, np.empty_like(theta0)
    for i in range(theta0.size):
        up, down = theta0.copy(), theta0.copy()
        up[i] += h
        down[i] -= h
        fu = _sk_loss(kind, X, y, sw, up[: 3 * k].reshape(3, k), up[3 * k :])
        fd = _sk_loss(kind, X, y, sw, down[: 3 * k].reshape(3, k), down[3 * k :])
        numeric[i] = (fu - fd) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("batch_size", [1, 7, 1000])
def test_orders_and_update_numbers(case, batch_size):
    """An epoch in the order ``p`` is an epoch over the rows ``X[p]`` in their order; ``eta``
    is asked for t = 1, 2, ... once per update (ceil(n / batch_size) per epoch)."""
    X, y, _ = _data(n=30)
    perms = [np.random.default_rng(s).permutation(30) for s in range(2)]
    asked = []

    def eta(t):
        asked.append(t)
        return 0.05 / t**0.5

    shuffled = reference.gradient_descent(
        *_on(case, X, y),
        None,
        *_zeros(case, 3),
        loss="squared",
        eta=eta,
        epochs=2,
        batch_size=batch_size,
        orders=[case.backend.asarray(p) for p in perms],
        xp=case.xp,
    )
    per_epoch = -(-30 // min(batch_size, 30))
    assert asked == list(range(1, 2 * per_epoch + 1))
    W, b = _zeros(case, 3)
    for e, p in enumerate(perms):  # the same epochs, one at a time, on the rows in the order
        Xp, yp = _on(case, X[p], y[p])
        W, b = reference.gradient_descent(
            Xp,
            yp,
            None,
            W,
            b,
            loss="squared",
            eta=lambda t, off=e * per_epoch: 0.05 / (t + off) ** 0.5,
            epochs=1,
            batch_size=batch_size,
            xp=case.xp,
        )
    rtol = 1e-13 if case.dtype == "float64" else 1e-6
    for got, want in zip(shuffled, (W, b), strict=True):
        _assert_on_case(got, case)
        np.testing.assert_allclose(case.to_numpy(got), case.to_numpy(want), rtol=rtol)
