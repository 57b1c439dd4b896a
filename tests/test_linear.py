"""LinearRegression on every backend x device x dtype against scikit-learn."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from _helpers import assert_on_case, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression as SkLinear
from sklearn.linear_model import Ridge, SGDRegressor

import groundup as gu
from groundup import backends

CLOSED = ["normal", "beta"]
GRADIENT = ["batch", "sgd", "minibatch"]
# Settings that make each gradient method converge on the well-scaled test problem.
GD_PARAMS = {
    "batch": {"learning_rate": "constant", "eta0": 0.5, "max_iter": 300, "tol": None},
    "sgd": {"learning_rate": "invscaling", "eta0": 0.05, "max_iter": 20, "tol": None},
    "minibatch": {
        "learning_rate": "invscaling",
        "eta0": 0.1,
        "power_t": 0.3,
        "max_iter": 100,
        "tol": None,
    },
}


@pytest.mark.parametrize("method", CLOSED)
def test_closed_forms_match_sklearn(case, method):
    X, y, _ = make_regression(n=300, d=4)
    sk = SkLinear().fit(X, y)
    est = gu.LinearRegression(method=method).fit(case.asarray(X), case.asarray(y))
    assert_on_case(est.coef_, case)
    assert_on_case(est.intercept_, case)
    assert tuple(est.coef_.shape) == (4,)
    assert tuple(est.intercept_.shape) == ()
    # float64: rounding-level agreement; float32: the data's own rounding (~1e-7 relative).
    rtol = 1e-10 if case.dtype == "float64" else 1e-4
    np.testing.assert_allclose(case.to_numpy(est.coef_), sk.coef_, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(float(est.intercept_), sk.intercept_, rtol=rtol)
    assert est.n_iter_ == 1
    assert est.converged_
    assert est.loss_history_.shape == (1,)
    mse = np.mean((sk.predict(X) - y) ** 2)
    np.testing.assert_allclose(
        est.loss_history_[0], mse, rtol=1e-6 if case.dtype == "float64" else 1e-3
    )


@pytest.mark.parametrize("solver", ["auto", "cholesky", "qr", "svd"])
def test_normal_solvers_match_sklearn(case64, solver):
    X, y, _ = make_regression(n=120, d=5, seed=3)
    sk = SkLinear().fit(X, y)
    est = gu.LinearRegression(solver=solver).fit(case64.asarray(X), case64.asarray(y))
    np.testing.assert_allclose(case64.to_numpy(est.coef_), sk.coef_, rtol=1e-10)
    assert est.solver_ == ("cholesky" if solver == "auto" else solver)


@pytest.mark.parametrize("method", GRADIENT)
def test_gradient_methods_reach_ols(case, method):
    # Standardised X (eigenvalues of X'X/n near 1) and noise 0.1: batch GD with eta=0.5
    # contracts the error by <= 0.75 per epoch (300 epochs: rounding level); the stochastic
    # methods stop in an O(eta * noise^2) neighbourhood of the optimum, so we check that the
    # training MSE is within 1% of the OLS MSE (0.01) and the coefficients within 0.02.
    X, y, _ = make_regression(n=400, d=3, noise=0.1, seed=1)
    sk = SkLinear().fit(X, y)
    ols_mse = np.mean((sk.predict(X) - y) ** 2)
    est = gu.LinearRegression(method=method, random_state=0, **GD_PARAMS[method])
    est.fit(case.asarray(X), case.asarray(y))
    assert_on_case(est.coef_, case)
    coef = case.to_numpy(est.coef_)
    if method == "batch":
        tol = 1e-9 if case.dtype == "float64" else 1e-4
        np.testing.assert_allclose(coef, sk.coef_, rtol=tol, atol=tol)
        np.testing.assert_allclose(float(est.intercept_), sk.intercept_, rtol=tol)
    else:
        np.testing.assert_allclose(coef, sk.coef_, atol=0.02)
        assert est.loss_history_[-1] <= ols_mse * 1.01
    assert isinstance(est.loss_history_, np.ndarray)
    assert est.loss_history_.shape == (est.n_iter_,)


@pytest.mark.parametrize("learning_rate", ["constant", "invscaling", "optimal"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_sgd_reproduces_sklearn_sgdregressor(case64, learning_rate, fit_intercept):
    X, y, _ = make_regression(n=150, d=3, seed=2)
    kw = {"eta0": 0.01, "learning_rate": learning_rate, "max_iter": 6, "tol": None}
    if learning_rate == "optimal":
        kw["alpha"] = 1.0  # eta = 1/(alpha (t + t0)); alpha=1e-4 would start at eta=10
    sk = SGDRegressor(penalty=None, shuffle=False, fit_intercept=fit_intercept, **kw)
    sk.fit(X, y)
    est = gu.LinearRegression(method="sgd", shuffle=False, fit_intercept=fit_intercept, **kw)
    est.fit(case64.asarray(X), case64.asarray(y))
    np.testing.assert_allclose(case64.to_numpy(est.coef_), sk.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(float(est.intercept_), sk.intercept_[0], rtol=1e-10, atol=1e-12)
    assert est.t_ == sk.t_
    assert est.n_iter_ == sk.n_iter_


def test_sgd_l2_reproduces_sklearn(case64):
    X, y, _ = make_regression(n=150, d=3, seed=4)
    kw = {"eta0": 0.01, "learning_rate": "constant", "max_iter": 5, "tol": None, "alpha": 0.05}
    sk = SGDRegressor(penalty="l2", shuffle=False, **kw).fit(X, y)
    est = gu.LinearRegression(method="sgd", penalty="l2", shuffle=False, **kw)
    est.fit(case64.asarray(X), case64.asarray(y))
    np.testing.assert_allclose(case64.to_numpy(est.coef_), sk.coef_, rtol=1e-10)
    np.testing.assert_allclose(float(est.intercept_), sk.intercept_[0], rtol=1e-10)


@pytest.mark.parametrize("method", ["normal", "beta", "batch"])
def test_l2_penalty_equals_ridge(case64, method):
    X, y, _ = make_regression(n=200, d=4, seed=5)
    alpha = 0.05
    ridge = Ridge(alpha=len(y) * alpha).fit(X, y)
    extra = {"learning_rate": "constant", "eta0": 0.5, "max_iter": 400, "tol": None}
    est = gu.LinearRegression(
        method=method, penalty="l2", alpha=alpha, **(extra if method == "batch" else {})
    ).fit(case64.asarray(X), case64.asarray(y))
    np.testing.assert_allclose(case64.to_numpy(est.coef_), ridge.coef_, rtol=1e-9)
    np.testing.assert_allclose(float(est.intercept_), ridge.intercept_, rtol=1e-9)


@pytest.mark.parametrize("method", ["normal", "beta", "batch"])
def test_sample_weight_matches_sklearn(case64, method):
    X, y, _ = make_regression(n=100, d=3, seed=6)
    w = np.random.default_rng(0).uniform(0.1, 3.0, size=100)
    sk = SkLinear().fit(X, y, sample_weight=w)
    extra = {"learning_rate": "constant", "eta0": 0.5, "max_iter": 400, "tol": None}
    est = gu.LinearRegression(method=method, **(extra if method == "batch" else {}))
    est.fit(case64.asarray(X), case64.asarray(y), sample_weight=case64.asarray(w))
    np.testing.assert_allclose(case64.to_numpy(est.coef_), sk.coef_, rtol=1e-9)
    np.testing.assert_allclose(float(est.intercept_), sk.intercept_, rtol=1e-9)


@pytest.mark.parametrize("method", CLOSED)
def test_no_intercept(case64, method):
    X, y, _ = make_regression(n=100, d=3, seed=7)
    sk = SkLinear(fit_intercept=False).fit(X, y)
    est = gu.LinearRegression(method=method, fit_intercept=False).fit(
        case64.asarray(X), case64.asarray(y)
    )
    np.testing.assert_allclose(case64.to_numpy(est.coef_), sk.coef_, rtol=1e-10)
    assert float(est.intercept_) == 0.0


def test_beta_simple_regression_is_cov_over_var():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 2, size=100)
    y = 4 + 3 * x + rng.normal(size=100)
    est = gu.fit(x, y, method="beta_estimations")
    slope = np.cov(x, y)[0, 1] / np.var(x, ddof=1)
    np.testing.assert_allclose(float(est.coef_[0]), slope, rtol=1e-12)
    np.testing.assert_allclose(float(est.intercept_), y.mean() - slope * x.mean(), rtol=1e-12)
    # a model fitted on a 1-D x predicts from a 1-D x
    np.testing.assert_allclose(est.predict(x), est.intercept_ + slope * x, rtol=1e-12)


@pytest.mark.parametrize(
    ("alias", "method"),
    [
        ("beta_estimations", "beta"),
        ("normal_equation", "normal"),
        ("gradient_descent_batch", "batch"),
        ("gradient_descent_stochastic", "sgd"),
        ("gradient_descent_mini_batch", "minibatch"),
    ],
)
def test_aliases(alias, method):
    X, y, _ = make_regression(n=80, d=2)
    a = gu.fit(X, y, method=alias, random_state=0, max_iter=5, tol=None)
    b = gu.fit(X, y, method=method, random_state=0, max_iter=5, tol=None)
    np.testing.assert_array_equal(a.coef_, b.coef_)


def test_same_seed_same_result_across_backends(case64):
    X, y, _ = make_regression(n=200, d=3, seed=8)
    kw = {"method": "minibatch", "random_state": 42, "max_iter": 4, "tol": None, "batch_size": 16}
    ref = gu.fit(X, y, **kw)
    other = gu.fit(X, y, backend=case64.name, device=case64.device, **kw)
    np.testing.assert_allclose(case64.to_numpy(other.coef_), ref.coef_, rtol=1e-12)
    np.testing.assert_allclose(other.loss_history_, ref.loss_history_, rtol=1e-12)
    different = gu.fit(X, y, **{**kw, "random_state": 7})
    assert not np.allclose(different.coef_, ref.coef_, rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_loss_history_is_training_mse_near_a_perfect_fit(dtype):
    """Without a preconditioner the float64 loss reads the certificate's moments (O(d²) per
    epoch, no pass over X); float32 keeps the pass, as its moments cancel to nothing near
    R² = 1 (read from them, this float32 history was 11 % low; float64's is 2e-9 off: its terms
    are 1e7 times the MSE)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4000, 4)).astype(dtype)
    y = (X @ np.array([1.0, -2.0, 0.5, 3.0]) + 2.0 + 1e-3 * rng.standard_normal(4000)).astype(dtype)
    est = gu.LinearRegression(
        method="minibatch", eta0=0.05, learning_rate="constant", precondition=False, tol=None,
        max_iter=5, record_path=True, dtype=dtype, random_state=0,
    ).fit(X, y)  # fmt: skip
    for k, (coef, b) in enumerate(est.path_):
        mse = np.mean((X.astype(np.float64) @ coef + float(b) - y) ** 2)
        np.testing.assert_allclose(
            est.loss_history_[k], mse, rtol=1e-7 if dtype == "float64" else 1e-2
        )


def test_loss_history_is_training_mse_after_each_epoch():
    X, y, _ = make_regression(n=60, d=2, seed=9)
    est = gu.fit(
        X,
        y,
        method="batch",
        max_iter=3,
        tol=None,
        learning_rate="constant",
        eta0=0.1,
        record_path=True,
    )
    for k, (coef, b) in enumerate(est.path_):
        np.testing.assert_allclose(
            est.loss_history_[k], np.mean((X @ coef + b - y) ** 2), rtol=1e-10
        )
    # plain batch gradient descent on 1/2 MSE, by hand
    w, b = np.zeros(2), 0.0
    for _ in range(3):
        r = X @ w + b - y
        w, b = w - 0.1 * X.T @ r / len(y), b - 0.1 * r.mean()
    np.testing.assert_allclose(est.coef_, w, rtol=1e-12)
    np.testing.assert_allclose(float(est.intercept_), b, rtol=1e-12)


def test_minibatch_matches_plain_loop():
    X, y, _ = make_regression(n=70, d=3, seed=10)
    est = gu.fit(
        X,
        y,
        method="minibatch",
        batch_size=16,
        max_iter=3,
        tol=None,
        eta0=0.05,
        learning_rate="constant",
        random_state=3,
    )
    rng = np.random.default_rng(3)
    w, b = np.zeros(3), 0.0
    for _ in range(3):
        order = rng.permutation(70)
        for s in range(0, 70, 16):
            idx = order[s : s + 16]
            r = X[idx] @ w + b - y[idx]
            w, b = w - 0.05 * X[idx].T @ r / len(idx), b - 0.05 * r.mean()
    np.testing.assert_allclose(est.coef_, w, rtol=1e-12)
    np.testing.assert_allclose(float(est.intercept_), b, rtol=1e-12)
    assert est.t_ == 3 * 5 + 1


def test_tol_stops_and_converged(case):
    X, y, _ = make_regression(n=200, d=3, seed=11)
    est = gu.LinearRegression(method="minibatch", tol=1e-3, random_state=0, max_iter=500)
    with warnings.catch_warnings():  # the rule may fire short of the minimum: it says so
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(case.asarray(X), case.asarray(y))
    assert est.stop_reason_ in ("tol", "stalled")  # the rule fired; converged_ is certified
    assert est.converged_ == (est.stop_reason_ == "tol")
    assert est.n_iter_ < 500
    # sklearn's rule: stop after n_iter_no_change epochs without improving best by tol
    h = est.loss_history_
    n = len(h)
    for k in range(n - 5, n):  # each of the last 5 epochs: no improvement over the best by tol
        assert h[k] > h[:k].min() - 1e-3
    assert not np.all([h[k] > h[:k].min() - 1e-3 for k in range(n - 6, n)])


def test_convergence_warning_when_max_iter_reached():
    from sklearn.exceptions import ConvergenceWarning

    X, y, _ = make_regression(n=100, d=3)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        est = gu.fit(X, y, method="batch", max_iter=3, tol=1e-12)
    assert not est.converged_
    assert est.n_iter_ == 3


def test_early_stopping_uses_validation_r2():
    X, y, _ = make_regression(n=300, d=3, seed=12)
    est = gu.fit(
        X,
        y,
        method="minibatch",
        early_stopping=True,
        validation_fraction=0.2,
        random_state=0,
        max_iter=500,
        tol=1e-4,
    )
    assert est.stop_reason_ == "tol"  # the validation rule fired (converged_: certified)
    assert est.n_iter_ < 500
    assert est.score(X, y) > 0.99


def test_warm_start_and_partial_fit():
    X, y, _ = make_regression(n=100, d=3, seed=13)
    kw = {"method": "batch", "learning_rate": "constant", "eta0": 0.1, "tol": None}
    full = gu.LinearRegression(max_iter=4, **kw).fit(X, y)
    warm = gu.LinearRegression(max_iter=2, warm_start=True, **kw).fit(X, y)
    warm.fit(X, y)
    np.testing.assert_allclose(warm.coef_, full.coef_, rtol=1e-12)
    part = gu.LinearRegression(**kw)
    for _ in range(4):
        part.partial_fit(X, y)
    np.testing.assert_allclose(part.coef_, full.coef_, rtol=1e-12)
    assert part.n_iter_ == 4
    assert part.t_ == 5
    np.testing.assert_allclose(part.loss_history_, full.loss_history_, rtol=1e-12)
    assert not hasattr(gu.LinearRegression(method="normal"), "partial_fit")


def test_input_library_kept_and_to(case):
    X, y, _ = make_regression(n=50, d=2)
    est = gu.LinearRegression().fit(case.asarray(X), case.asarray(y))
    assert est.backend_ == case.name
    pred = est.predict(case.asarray(X))
    assert backends.from_array(pred).name == case.name
    pred_np = est.predict(X)  # NumPy in, NumPy out, computed on the model's backend
    assert isinstance(pred_np, np.ndarray)
    np.testing.assert_allclose(pred_np, case.to_numpy(pred), rtol=1e-6)
    moved = est.to("numpy")
    assert isinstance(moved.coef_, np.ndarray)
    assert moved.backend_ == "numpy"
    np.testing.assert_allclose(moved.coef_, case.to_numpy(est.coef_))
    assert est.backend_ == case.name  # the original is untouched


def test_backend_argument_moves_numpy_input(case):
    X, y, _ = make_regression(n=50, d=2)
    est = gu.fit(X, y, backend=case.name, device=case.device, dtype=case.dtype)
    assert_on_case(est.coef_, case)
    assert isinstance(est.predict(X), np.ndarray)
    assert est.fit_time_ > 0


@pytest.mark.parametrize("method", ["normal", "minibatch"])
def test_pickle_roundtrip(case, method):
    X, y, _ = make_regression(n=50, d=2)
    est = gu.fit(
        case.asarray(X), case.asarray(y), method=method, random_state=0, max_iter=3, tol=None
    )
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict(X), est.predict(X))


def test_pandas_feature_names():
    pd = pytest.importorskip("pandas")
    X, y, _ = make_regression(n=40, d=2)
    df = pd.DataFrame(X, columns=["a", "b"])
    est = gu.fit(df, y)
    assert list(est.feature_names_in_) == ["a", "b"]
    assert est.n_features_in_ == 2


def test_integer_X_becomes_float64_and_float32_is_kept():
    X = np.arange(20).reshape(10, 2) % 7
    y = np.arange(10.0)
    assert gu.fit(X, y).coef_.dtype == np.float64
    assert gu.fit(X.astype(np.float32), y).coef_.dtype == np.float32
    assert gu.fit(X, y, dtype="float32").coef_.dtype == np.float32


def test_score_is_r2(case):
    X, y, _ = make_regression(n=80, d=3)
    est = gu.fit(case.asarray(X), case.asarray(y))
    sk = SkLinear().fit(X, y)
    assert est.score(case.asarray(X), case.asarray(y)) == pytest.approx(sk.score(X, y), rel=1e-5)
