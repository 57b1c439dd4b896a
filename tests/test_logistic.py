"""LogisticRegression on every backend x device x dtype against scikit-learn."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from _helpers import assert_on_case, make_classes
from scipy.special import expit, log_expit, log_softmax, softmax
from sklearn.datasets import load_breast_cancer, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression as SkLogistic
from sklearn.metrics import log_loss as sk_log_loss
from sklearn.preprocessing import StandardScaler

import groundup as gu
from groundup import backends
from groundup.kernels import logistic as lk

GRADIENT = ["batch", "sgd", "minibatch"]
METHODS = ["newton", *GRADIENT]
ALPHA = 1e-2


def _real(load):
    X, y = load(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _oracle(X, y, *, alpha=ALPHA, sample_weight=None, **kw) -> SkLogistic:
    """scikit-learn with the matching penalty: C = 1 / (sum of weights * alpha).

    newton-cholesky with a tight tol reaches the optimum to ~1e-13 (lbfgs stops ~1e-7
    short of it on these problems, through its ftol)."""
    total = len(y) if sample_weight is None else float(np.sum(sample_weight))
    C = np.inf if alpha == 0 else 1.0 / (total * alpha)
    sk = SkLogistic(C=C, solver="newton-cholesky", tol=1e-12, max_iter=1000, **kw)
    return sk.fit(X, y, sample_weight=sample_weight)


# Float32 tolerance: X rounded to float32 (6e-8 relative) and float32 sums over a few hundred
# rows (~1e-6 relative) move the optimum by at most cond(H) times that; the Hessians at the
# optimum here have condition numbers <= 50 (breast cancer 23, iris 36, wine 42 with
# alpha = 1e-2), i.e. <= 5e-5: 1e-4 relative (atol of the same size for the coefficients
# near zero) cannot be missed by rounding alone.
def _rtol(case) -> float:
    return 1e-6 if case.dtype == "float64" else 1e-4


# -- Newton against scikit-learn --------------------------------------------------------------
@pytest.mark.parametrize(
    "load", [load_breast_cancer, load_iris, load_wine], ids=lambda f: f.__name__
)
def test_newton_matches_sklearn_on_real_data(case, load):
    X, y = _real(load)
    sk = _oracle(X, y)
    tol = 1e-10 if case.dtype == "float64" else 1e-5
    est = gu.LogisticRegression(penalty="l2", alpha=ALPHA, tol=tol)
    est.fit(case.asarray(X), case.asarray(y))
    assert_on_case(est.coef_, case)
    assert_on_case(est.intercept_, case)
    k = 1 if len(sk.classes_) == 2 else len(sk.classes_)
    assert tuple(est.coef_.shape) == (k, X.shape[1])
    assert tuple(est.intercept_.shape) == (k,)
    np.testing.assert_array_equal(est.classes_, sk.classes_)
    rtol = _rtol(case)
    scale = np.max(np.abs(sk.coef_))
    np.testing.assert_allclose(case.to_numpy(est.coef_), sk.coef_, rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(
        case.to_numpy(est.intercept_), sk.intercept_, rtol=rtol, atol=rtol * scale
    )
    assert est.converged_
    proba = case.to_numpy(est.predict_proba(case.asarray(X)))
    np.testing.assert_allclose(proba, sk.predict_proba(X), atol=10 * rtol)


def test_newton_without_penalty_matches_sklearn(case):
    X, y = make_classes()
    sk = _oracle(X, y, alpha=0.0)
    tol = 1e-10 if case.dtype == "float64" else 1e-5
    est = gu.LogisticRegression(tol=tol).fit(case.asarray(X), case.asarray(y))
    rtol = _rtol(case)
    np.testing.assert_allclose(case.to_numpy(est.coef_), sk.coef_, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(case.to_numpy(est.intercept_), sk.intercept_, rtol=rtol, atol=rtol)


def test_newton_multinomial_without_penalty_is_centred(case64):
    X, y = make_classes(n=400, d=3, k=3)
    sk = _oracle(X, y, alpha=0.0)
    est = gu.LogisticRegression(tol=1e-10).fit(case64.asarray(X), case64.asarray(y))
    coef, intercept = case64.to_numpy(est.coef_), case64.to_numpy(est.intercept_)
    # Softmax parameters are defined up to a shift common to all classes; both libraries
    # return the centred ones (the rows sum to zero).
    np.testing.assert_allclose(coef.sum(axis=0), 0.0, atol=1e-10)
    np.testing.assert_allclose(intercept.sum(), 0.0, atol=1e-10)
    np.testing.assert_allclose(coef, sk.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(intercept, sk.intercept_, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("k", [2, 3])
def test_newton_sample_weight_and_no_intercept(case64, k):
    X, y = make_classes(n=200, d=3, k=k)
    sw = np.random.default_rng(1).uniform(0.2, 3.0, size=len(y))
    for fit_intercept in (True, False):
        sk = _oracle(X, y, sample_weight=sw, fit_intercept=fit_intercept)
        est = gu.LogisticRegression(
            penalty="l2", alpha=ALPHA, tol=1e-10, fit_intercept=fit_intercept
        ).fit(case64.asarray(X), case64.asarray(y), sample_weight=case64.asarray(sw))
        np.testing.assert_allclose(case64.to_numpy(est.coef_), sk.coef_, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(
            case64.to_numpy(est.intercept_),
            np.broadcast_to(sk.intercept_, (k if k > 2 else 1,)),
            rtol=1e-6,
            atol=1e-9,
        )


def test_newton_subsample_warm_start_reaches_the_optimum(case64):
    # n large enough for the 5 % subsample start (m = max(n/20, 50 * n_params) <= n/4).
    X, y = make_classes(n=6000, d=3)
    sk = _oracle(X, y, alpha=1.0 / 6000)
    est = gu.LogisticRegression(penalty="l2", alpha=1.0 / 6000, random_state=0)
    est.fit(case64.asarray(X), case64.asarray(y))
    np.testing.assert_allclose(case64.to_numpy(est.coef_), sk.coef_, rtol=1e-6)
    assert est.n_iter_ <= 3  # the subsample's solution is already in the quadratic region


def test_newton_falls_back_from_a_poor_start():
    X, y = make_classes(n=300, d=3)
    xp = backends.resolve("numpy").xp
    obj = lk.BinaryLogLoss(X, y.astype(float), None, xp=xp)
    zero_W, zero_b = np.zeros((3, 1)), np.zeros(1)
    bad_W, bad_b = np.full((3, 1), 50.0), np.full(1, -50.0)
    settings = lk.NewtonSettings(alpha=ALPHA, tol=1e-10)
    res = lk.newton_solve(
        obj, bad_W, bad_b, settings=settings, fallback=(zero_W, zero_b, np.log(2.0)), xp=xp
    )
    sk = _oracle(X, y)
    np.testing.assert_allclose(res.W[:, 0], sk.coef_[0], rtol=1e-7)
    assert res.converged


# -- gradient methods ------------------------------------------------------------------------
# batch: constant eta0 = 1 on a problem with L ~ 0.6, mu ~ 0.06: contraction ~0.9 per epoch,
# 1000 epochs reach rounding. sgd / minibatch: scikit-learn's "optimal" schedule
# 1 / (alpha (t + t0)) has expected error O(1 / (alpha t)); with alpha = 1e-2 and ~6e3
# updates that is a few 1e-2, so coefficients are checked to 8 % and the objective to 5e-3.
GD_PARAMS = {
    "batch": {"learning_rate": "constant", "eta0": 1.0, "max_iter": 1000},
    "sgd": {"learning_rate": "optimal", "max_iter": 30},
    "minibatch": {"learning_rate": "optimal", "max_iter": 200, "batch_size": 16},
}


def _objective(coef, intercept, X, y, classes) -> float:
    Z = X @ coef.T + intercept
    P = np.column_stack([expit(-Z[:, 0]), expit(Z[:, 0])]) if Z.shape[1] == 1 else softmax(Z, 1)
    return sk_log_loss(y, P, labels=classes) + 0.5 * ALPHA * np.sum(coef**2)


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("method", GRADIENT)
def test_gradient_methods_approach_sklearn(case, method, k):
    X, y = make_classes(k=k)
    sk = _oracle(X, y)
    est = gu.LogisticRegression(
        method=method, penalty="l2", alpha=ALPHA, tol=None, random_state=0, **GD_PARAMS[method]
    ).fit(case.asarray(X), case.asarray(y))
    assert_on_case(est.coef_, case)
    coef, intercept = case.to_numpy(est.coef_), case.to_numpy(est.intercept_)
    if method == "batch":
        rtol = 1e-6 if case.dtype == "float64" else 1e-4
        np.testing.assert_allclose(coef, sk.coef_, rtol=rtol, atol=rtol)
        np.testing.assert_allclose(intercept, sk.intercept_, rtol=rtol, atol=rtol)
    else:
        scale = np.max(np.abs(sk.coef_))
        assert np.max(np.abs(coef - sk.coef_)) <= 0.08 * scale
        best = _objective(sk.coef_, sk.intercept_, X, y, sk.classes_)
        ours = _objective(coef.astype(float), intercept.astype(float), X, y, sk.classes_)
        assert best <= ours <= best + 5e-3
    assert est.n_iter_ == GD_PARAMS[method]["max_iter"]
    assert est.loss_history_.shape == (est.n_iter_,)


def test_same_seed_same_path_across_backends(case64):
    X, y = make_classes(n=100, d=3, k=3)
    params = {"method": "minibatch", "max_iter": 5, "tol": None, "random_state": 3}
    ref = gu.LogisticRegression(**params).fit(X, y)
    est = gu.LogisticRegression(**params).fit(case64.asarray(X), case64.asarray(y))
    np.testing.assert_allclose(case64.to_numpy(est.coef_), ref.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(est.loss_history_, ref.loss_history_, rtol=1e-10)


@pytest.mark.parametrize("method", METHODS)
def test_loss_history_is_training_log_loss(method):
    X, y = make_classes(n=150, d=3, k=3)
    est = gu.LogisticRegression(method=method, tol=None, max_iter=4, random_state=0).fit(X, y)
    expected = sk_log_loss(y, est.predict_proba(X))
    np.testing.assert_allclose(est.loss_history_[-1], expected, rtol=1e-10)
    assert est.t_ >= est.n_iter_ + 1


def test_partial_fit_equals_fit_epochs():
    X, y = make_classes(n=120, d=3)
    params = {"method": "minibatch", "shuffle": False, "tol": None, "eta0": 0.1}
    full = gu.LogisticRegression(max_iter=3, **params).fit(X, y)
    part = gu.LogisticRegression(**params)
    for _ in range(3):
        part.partial_fit(X, y, classes=[0, 1])
    np.testing.assert_allclose(part.coef_, full.coef_, rtol=1e-12)
    np.testing.assert_allclose(part.loss_history_, full.loss_history_, rtol=1e-12)
    assert part.t_ == full.t_
    assert part.n_iter_ == 3


def test_partial_fit_needs_classes_and_refuses_new_labels():
    X, y = make_classes(n=60, d=2)
    est = gu.LogisticRegression(method="sgd")
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        est.partial_fit(X, y)
    est.partial_fit(X, y, classes=np.array([0, 1]))
    with pytest.raises(ValueError, match="never seen in fit"):
        est.partial_fit(X, np.where(y == 1, 2, 0))
    with pytest.raises(ValueError, match="differs from the classes"):
        est.partial_fit(X, y, classes=[0, 1, 2])
    assert not hasattr(gu.LogisticRegression(method="newton"), "partial_fit")


def test_warm_start_continues():
    X, y = make_classes(n=120, d=3)
    est = gu.LogisticRegression(method="batch", warm_start=True, tol=None, max_iter=5)
    first = est.fit(X, y).loss_history_[-1]
    second = est.fit(X, y).loss_history_[0]
    assert second < first  # started from the first fit's coefficients


def test_early_stopping_scores_validation_accuracy():
    X, y = make_classes(n=400, d=3)
    est = gu.LogisticRegression(
        method="minibatch", early_stopping=True, random_state=0, tol=1e-3, max_iter=200
    ).fit(X, y)
    assert est.stop_reason_ == "tol"  # the validation rule fired (converged_: certified)
    assert est.n_iter_ < 200
    assert est.score(X, y) > 0.7


def test_record_path():
    X, y = make_classes(n=100, d=2, k=3)
    for method in ("newton", "batch"):
        est = gu.LogisticRegression(method=method, record_path=True, tol=None, max_iter=5)
        est.fit(X, y)
        assert len(est.path_) == est.n_iter_
        np.testing.assert_allclose(est.path_[-1][0], est.coef_)
        np.testing.assert_allclose(est.path_[-1][1], est.intercept_)


# -- predictions -------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [2, 3])
def test_predictions_in_the_input_library(case, k):
    X, y = make_classes(k=k)
    est = gu.LogisticRegression(penalty="l2", alpha=ALPHA).fit(case.asarray(X), case.asarray(y))
    Xc = case.asarray(X)
    proba = est.predict_proba(Xc)
    assert_on_case(proba, case)
    assert tuple(proba.shape) == (150, k)
    np.testing.assert_allclose(case.to_numpy(proba).sum(axis=1), 1.0, rtol=_rtol(case))
    log_proba = case.to_numpy(est.predict_log_proba(Xc))
    np.testing.assert_allclose(log_proba, np.log(case.to_numpy(proba)), rtol=1e-4, atol=1e-6)
    dec = case.to_numpy(est.decision_function(Xc))
    assert dec.shape == ((150,) if k == 2 else (150, k))
    pred = est.predict(Xc)
    assert backends.from_array(pred).name == case.name
    expected = est.classes_[np.argmax(case.to_numpy(proba), axis=1)]
    np.testing.assert_array_equal(case.to_numpy(pred), expected)
    pred_np = est.predict(X)  # NumPy in, NumPy out, computed on the model's backend
    assert isinstance(pred_np, np.ndarray)
    np.testing.assert_array_equal(pred_np, expected)
    assert est.score(Xc, case.asarray(y)) == pytest.approx(np.mean(expected == y))


def test_labels_of_any_type():
    X, y = make_classes(n=150, d=3, k=3)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    est = gu.LogisticRegression().fit(X, names)
    np.testing.assert_array_equal(est.classes_, ["setosa", "versicolor", "virginica"])
    codes = gu.LogisticRegression().fit(X, y)
    np.testing.assert_array_equal(est.predict(X), est.classes_[codes.predict(X)])
    assert est.score(X, names) == pytest.approx(codes.score(X, y))
    flags = gu.LogisticRegression().fit(X[y < 2], y[y < 2] == 1)
    assert flags.predict(X).dtype == bool
    np.testing.assert_array_equal(flags.classes_, [False, True])


def test_string_labels_with_device_input(case):
    X, y = make_classes()
    names = np.array(["no", "yes"])[y]
    est = gu.LogisticRegression(backend=case.name, device=case.device, dtype=case.dtype)
    est.fit(X, names)
    pred = est.predict(case.asarray(X))  # strings cannot live on a device: NumPy labels
    assert isinstance(pred, np.ndarray)
    assert set(pred) <= {"no", "yes"}


def test_to_and_pickle(case):
    X, y = make_classes(k=3)
    est = gu.LogisticRegression().fit(case.asarray(X), case.asarray(y))
    moved = est.to("numpy")
    assert isinstance(moved.coef_, np.ndarray)
    assert moved.backend_ == "numpy"
    assert est.backend_ == case.name  # the original is untouched
    np.testing.assert_allclose(
        moved.predict_proba(X), est.predict_proba(X), rtol=_rtol(case), atol=1e-7
    )
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict(X), est.predict(X))
    assert_on_case(again.coef_, case)


@pytest.mark.parametrize("method", METHODS)
def test_pickle_every_method(method):
    X, y = make_classes(n=80, d=2)
    est = gu.LogisticRegression(method=method, random_state=0).fit(X, y)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict_proba(X), est.predict_proba(X))


def test_gu_fit_logistic():
    X, y = _real(load_iris)
    est = gu.fit(X, y, model="logistic", method="newton", penalty="l2", alpha=ALPHA)
    assert isinstance(est, gu.LogisticRegression)
    assert est.score(X, y) > 0.9
    x = X[:, 2]
    simple = gu.fit(x, y == 2, model="logistic")
    assert simple.predict(x).shape == (150,)
    with pytest.raises(TypeError, match="solver"):
        gu.fit(X, y, model="logistic", solver="lbfgs")


# -- numerical stability -------------------------------------------------------------------
@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_links_are_stable_at_huge_margins(case, scale):
    xp = case.xp
    z_np = scale * np.array([1.0, 0.5, 1e-3, 0.0, -1e-3, -0.5, -1.0])
    z = case.asarray(z_np)
    tol = {"rtol": _rtol(case), "atol": 1e-30}
    got = {
        "sigmoid": (lk.sigmoid(z, xp=xp), expit(z_np)),
        "log_sigmoid": (lk.log_sigmoid(z, xp=xp), log_expit(z_np)),
        "softplus": (lk.softplus(z, xp=xp), np.logaddexp(0, z_np)),
    }
    Z_np = np.stack([z_np, -z_np, 0 * z_np], axis=1)
    Z = case.asarray(Z_np)
    got["softmax"] = (lk.softmax(Z, xp=xp), softmax(Z_np, axis=1))
    got["log_softmax"] = (lk.log_softmax(Z, xp=xp), log_softmax(Z_np, axis=1))
    for name, (ours, ref) in got.items():
        ours = case.to_numpy(ours)
        assert np.all(np.isfinite(ours)), name
        np.testing.assert_allclose(ours, ref, **tol, err_msg=name)


@pytest.mark.parametrize("k", [2, 3])
def test_loss_and_gradient_finite_at_huge_margins(case, k):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 2))
    y = rng.integers(0, k, size=50)
    W = np.full((2, 1 if k == 2 else k), 1e4) * np.array([[1.0], [-1.0]])
    obj_cls = lk.BinaryLogLoss if k == 2 else lk.MultinomialLogLoss
    yd = case.asarray(y.astype(float)) if k == 2 else case.asarray(y.astype(np.int32))
    obj = obj_cls(case.asarray(X), yd, None, n_classes=k, xp=case.xp)
    ev = obj.newton_pass(case.asarray(W), case.asarray(np.zeros(W.shape[1])), order=2)
    for part in (ev.loss, ev.grad_w, ev.grad_b, ev.hess):
        assert np.all(np.isfinite(case.to_numpy(part)))
    # Reference in the log domain (scipy): log-loss = -log_sigmoid / -log_softmax.
    Z = X @ W
    LZ = np.column_stack([log_expit(-Z[:, 0]), log_expit(Z[:, 0])]) if k == 2 else log_softmax(Z, 1)
    expected = -np.mean(LZ[np.arange(50), y])
    np.testing.assert_allclose(float(ev.loss), expected, rtol=_rtol(case))


def test_predict_proba_stable_on_scaled_input(case):
    X, y = make_classes()
    est = gu.LogisticRegression(penalty="l2", alpha=ALPHA).fit(case.asarray(X), case.asarray(y))
    big = case.asarray(X * 1e5)  # margins ~1e5
    P = case.to_numpy(est.predict_proba(big))
    L = case.to_numpy(est.predict_log_proba(big))
    assert np.all(np.isfinite(P))
    assert np.all(np.isfinite(L))
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=_rtol(case))


@pytest.mark.parametrize("method", ["newton", "batch"])
def test_separable_data_warns_and_stays_finite(case, method):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 2))
    X = X[np.abs(X[:, 0] + X[:, 1]) > 0.3]  # a gap around the separating line
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    est = gu.LogisticRegression(
        method=method, eta0=1.0, learning_rate="constant", tol=None, max_iter=200
    )
    with pytest.warns(ConvergenceWarning, match=r"separable.*penalty='l2'"):
        est.fit(case.asarray(X), case.asarray(y))
    coef = case.to_numpy(est.coef_)
    assert np.all(np.isfinite(coef))
    assert np.all(np.isfinite(est.loss_history_))
    np.testing.assert_array_equal(case.to_numpy(est.predict(case.asarray(X))), y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gu.LogisticRegression(method=method, penalty="l2", alpha=ALPHA).fit(
            case.asarray(X), case.asarray(y)
        )


# -- bad input ------------------------------------------------------------------------------
def test_single_class_and_one_weighted_class():
    X, y = make_classes(n=30, d=2)
    with pytest.raises(ValueError, match="only one class"):
        gu.LogisticRegression().fit(X, np.ones(30))
    with pytest.raises(ValueError, match="at least two classes with positive weight"):
        gu.LogisticRegression().fit(X, y, sample_weight=(y == 1).astype(float))


def test_unseen_labels_in_score():
    X, y = make_classes(n=60, d=2)
    est = gu.LogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match=r"never seen in fit: \[7\]"):
        est.score(X, np.where(y == 1, 7, 0))
    with pytest.raises(ValueError, match="never seen in fit"):
        est.score(X, np.array(["a"] * 60))


@pytest.mark.parametrize("method", ["beta", "normal", "normal_equation"])
def test_closed_form_methods_point_to_newton(method):
    X, y = make_classes(n=30, d=2)
    with pytest.raises(ValueError, match="method='newton'"):
        gu.LogisticRegression(method=method).fit(X, y)


def test_bad_input(case):
    X, y = make_classes()
    est = gu.LogisticRegression()
    with pytest.raises(NotFittedError):
        est.predict(case.asarray(X))
    Xn = X.copy()
    Xn[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN or inf: 1 non-finite value\(s\), first at row 3"):
        est.fit(case.asarray(Xn), case.asarray(y))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        est.fit(case.asarray(X), case.asarray(y[:-1]))
    with pytest.raises(ValueError, match="Unknown label type"):
        est.fit(X, np.linspace(0, 1, len(y)))  # continuous targets are regression
    with pytest.raises(ValueError, match="Reshape your data"):
        est.fit(case.asarray(X[:, 0]), case.asarray(y))
    est.fit(case.asarray(X), case.asarray(y))
    with pytest.raises(ValueError, match="expecting 3 features"):
        est.predict(case.asarray(X[:, :2]))
    with pytest.raises(ValueError, match="eta0 must be > 0"):
        gu.LogisticRegression(method="sgd", eta0=0).fit(X, y)
    with pytest.raises(ValueError, match="Unknown method"):
        gu.LogisticRegression(method="lbfgs").fit(X, y)


@pytest.mark.parametrize("method", GRADIENT)
def test_nan_in_x_for_gradient_methods(method):
    X, y = make_classes(n=40, d=3)
    X[5, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or inf"):
        gu.LogisticRegression(method=method, tol=None, max_iter=3).fit(X, y)
