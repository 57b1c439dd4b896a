"""Every bad-input case of DESIGN.md: the exception type, and a message that names the
problem (and, where there is one, the fix)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from _helpers import make_regression
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression as SkLinear

import groundup as gu
from groundup import backends
from groundup.linear_model import DivergenceError, RankDeficientWarning

HAS_TORCH = importlib.util.find_spec("torch") is not None
torch_only = pytest.mark.skipif(not HAS_TORCH, reason="torch not installed")


@pytest.fixture
def data():
    X, y, _ = make_regression(n=40, d=3)
    return X, y


def _device_cases():
    """The NumPy (scikit-learn validated) path and a device-array path (groundup's own)."""
    cases = [pytest.param("numpy", id="numpy")]
    if HAS_TORCH:
        cases.append(pytest.param("torch", id="torch"))
    cases.append(pytest.param("array_api_strict", id="array_api_strict"))
    return cases


def _as(lib, a):
    return backends.resolve(lib).asarray(np.asarray(a))


@pytest.mark.parametrize("lib", _device_cases())
def test_X_three_dimensional(lib, data):
    X, y = data
    with pytest.raises(ValueError, match="dim 3"):
        gu.LinearRegression().fit(_as(lib, X.reshape(40, 3, 1)), _as(lib, y))


@pytest.mark.parametrize("lib", _device_cases())
def test_X_one_dimensional_needs_reshape_in_estimator(lib, data):
    X, y = data
    with pytest.raises(ValueError, match="Reshape your data"):
        gu.LinearRegression().fit(_as(lib, X[:, 0]), _as(lib, y))
    # gu.fit takes a 1-D x as simple regression
    assert gu.fit(_as(lib, X[:, 0]), _as(lib, y)).n_features_in_ == 1


@pytest.mark.parametrize("lib", _device_cases())
def test_y_length_mismatch(lib, data):
    X, y = data
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: \[40, 39\]"):
        gu.LinearRegression().fit(_as(lib, X), _as(lib, y[:39]))


@pytest.mark.parametrize("lib", _device_cases())
def test_y_with_two_columns(lib, data):
    X, y = data
    with pytest.raises(ValueError, match="1d array"):
        gu.LinearRegression().fit(_as(lib, X), _as(lib, np.c_[y, y]))


@pytest.mark.parametrize("lib", _device_cases())
@pytest.mark.parametrize("method", ["normal", "beta", "batch", "sgd", "minibatch"])
def test_nan_and_inf_in_X_counted_and_located(lib, method, data):
    X, y = data
    X = X.copy()
    X[5, 1] = np.nan
    X[7, 2] = np.inf
    with pytest.raises(
        ValueError, match=r"NaN or inf: 2 non-finite value\(s\), first at row 5, column 1"
    ):
        gu.LinearRegression(method=method).fit(_as(lib, X), _as(lib, y))


@pytest.mark.parametrize("lib", _device_cases())
@pytest.mark.parametrize("model", [gu.LinearRegression, gu.LogisticRegression])
@pytest.mark.parametrize("method", ["batch", "sgd", "minibatch"])
@pytest.mark.parametrize("where", ["training", "held-out"])
def test_nan_with_early_stopping_named_at_the_users_row(lib, model, method, where):
    """With early stopping a NaN in a training row is named at its row in the user's X (not
    among the training rows), and one in a held-out row is an error too: it would only have
    blurred the validation score, silently."""
    X, y, _ = make_regression(n=200, d=3)
    if model is gu.LogisticRegression:
        y = (y > np.median(y)).astype(int)
    held = np.random.default_rng(0).permutation(200)[:20]  # the split's draw (random_state=0)
    if where == "held-out":
        row = int(held[0])
    else:
        row = next(r for r in range(150, 200) if r not in held)
        assert row - np.count_nonzero(held < row) != row  # counted otherwise among them
    X[row, 2] = np.nan
    est = model(method=method, early_stopping=True, random_state=0, backend=lib)
    match = rf"X contains NaN or inf: 1 non-finite value\(s\), first at row {row}, column 2 "
    with pytest.raises(ValueError, match=match) as err:
        est.fit(_as(lib, X), _as(lib, y))
    assert err.value.__context__ is None  # raised where found, not over another error


@pytest.mark.parametrize("lib", _device_cases())
def test_nan_in_y(lib, data):
    X, y = data
    y = y.copy()
    y[3] = np.nan
    with pytest.raises(
        ValueError, match=r"Input y contains NaN or inf: 1 non-finite value\(s\), first at index 3"
    ):
        gu.LinearRegression().fit(_as(lib, X), _as(lib, y))


@pytest.mark.parametrize("lib", _device_cases())
def test_nan_in_predict(lib, data):
    X, y = data
    est = gu.LinearRegression().fit(_as(lib, X), _as(lib, y))
    X = X.copy()
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN or inf"):
        est.predict(_as(lib, X))


@pytest.mark.parametrize("lib", _device_cases())
def test_empty_input(lib):
    with pytest.raises(ValueError, match="0 sample"):
        gu.LinearRegression().fit(_as(lib, np.empty((0, 3))), _as(lib, np.empty(0)))


@pytest.mark.parametrize("method", ["normal", "beta", "batch", "sgd", "minibatch"])
def test_too_few_samples(method):
    with pytest.raises(ValueError, match=r"n_samples=1.*needs at least 2 samples"):
        gu.LinearRegression(method=method).fit(np.ones((1, 2)), np.ones(1))


def test_non_numeric_and_complex():
    with pytest.raises(ValueError, match="could not convert|argument must be"):
        gu.LinearRegression().fit(np.array([["a", "b"], ["c", "d"]], dtype=object), [1.0, 2.0])
    with pytest.raises(ValueError, match="Complex data not supported"):
        gu.LinearRegression().fit(np.ones((4, 2)) * (1 + 1j), np.ones(4))


@torch_only
def test_device_array_non_numeric_and_complex():
    import torch

    with pytest.raises(ValueError, match="Complex data not supported"):
        gu.LinearRegression().fit(torch.ones((4, 2), dtype=torch.complex64), torch.ones(4))


@torch_only
def test_arrays_from_two_libraries(data):
    import torch

    X, y = data
    with pytest.raises(ValueError, match="X is a torch array on cpu but y is a numpy array"):
        gu.LinearRegression().fit(torch.as_tensor(X), y)


def test_unknown_method_backend_schedule_parameter(data):
    X, y = data
    with pytest.raises(ValueError, match=r"Unknown method 'lbfgs'.*'normal'.*'minibatch'"):
        gu.fit(X, y, method="lbfgs")
    with pytest.raises(ValueError, match=r"Unknown backend 'tensorflow'.*'numpy'.*'torch'"):
        gu.fit(X, y, backend="tensorflow")
    with pytest.raises(ValueError, match=r"Unknown learning_rate 'warmup'.*'cosine_annealing'"):
        gu.fit(X, y, method="sgd", learning_rate="warmup")
    with pytest.raises(ValueError, match=r"Unknown solver 'lu'.*'cholesky'"):
        gu.fit(X, y, solver="lu")
    with pytest.raises(
        TypeError, match=r"unknown parameter\(s\) 'etaa' \(did you mean 'eta0'\?\).*valid names"
    ):
        gu.fit(X, y, etaa=0.1)
    with pytest.raises(ValueError, match="Unknown model"):
        gu.fit(X, y, model="poisson")


def test_float_learning_rate_points_to_eta0(data):
    X, y = data
    with pytest.raises(TypeError, match=r"the step size is eta0 \(eta0=0.05\)"):
        gu.fit(X, y, method="sgd", learning_rate=0.05)


@pytest.mark.parametrize(
    ("param", "value", "match"),
    [
        ("eta0", 0.0, "eta0 must be > 0"),
        ("eta0", -1.0, "eta0 must be > 0"),
        ("batch_size", 0, "batch_size must be >= 1"),
        ("max_iter", 0, "max_iter must be >= 1"),
        ("validation_fraction", 1.0, r"validation_fraction must be in \(0, 1\)"),
        ("validation_fraction", 0.0, r"validation_fraction must be in \(0, 1\)"),
        ("alpha", -1.0, "alpha must be >= 0"),
        ("tol", -1.0, "tol must be >= 0"),
        ("n_iter_no_change", 0, "n_iter_no_change must be >= 1"),
        ("drop", 1.5, r"drop must be in \(0, 1\]"),
        ("epochs_drop", 0, "epochs_drop must be > 0"),
        ("t_max", 0, "t_max must be > 0"),
        ("t1", 0, "t1 must be > 0"),
        ("decay", -0.1, "decay must be >= 0"),
        ("eta_min", -0.1, "eta_min must be >= 0"),
        ("penalty", "l3", "penalty='l3' is not supported"),
    ],
)
def test_out_of_range_parameters(data, param, value, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        gu.fit(X, y, method="minibatch", **{param: value})


def test_optimal_needs_positive_alpha(data):
    X, y = data
    with pytest.raises(ValueError, match="needs alpha > 0"):
        gu.fit(X, y, method="sgd", learning_rate="optimal", alpha=0.0)


def test_backend_not_installed(monkeypatch, data):
    from groundup.backends import _cupy

    monkeypatch.setattr(_cupy.CupyBackend, "installed", classmethod(lambda cls: False))
    X, y = data
    with pytest.raises(ImportError, match=r'pip install "groundup\[cupy\]"'):
        gu.fit(X, y, backend="cupy")


@torch_only
def test_device_not_there(data):
    import torch

    X, y = data
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU; the 'missing device' case needs one without")
    with pytest.raises(
        ValueError, match=r"device='cuda' is not available on the torch backend.*\['cpu'"
    ):
        gu.fit(X, y, backend="torch", device="cuda")
    with pytest.raises(ValueError, match="not available on the numpy backend"):
        gu.fit(X, y, backend="numpy", device="cuda")


def test_predict_before_fit(data):
    X, _ = data
    with pytest.raises(NotFittedError):
        gu.LinearRegression().predict(X)


@pytest.mark.parametrize("lib", _device_cases())
def test_predict_with_other_number_of_features(lib, data):
    X, y = data
    est = gu.LinearRegression().fit(_as(lib, X), _as(lib, y))
    with pytest.raises(ValueError, match="X has 2 features, but LinearRegression is expecting 3"):
        est.predict(_as(lib, X[:, :2]))


@pytest.mark.parametrize("tol", [1e-3, None])
@pytest.mark.parametrize("method", ["batch", "sgd", "minibatch"])
def test_divergence_names_epoch_and_fix(tol, method):
    X, y, _ = make_regression(n=64, d=3)
    X = X * 100  # unscaled features: the step is far too large
    with pytest.raises(
        DivergenceError, match=r"diverged.*at epoch \d+.*Lower eta0 or scale the features"
    ):
        gu.fit(X, y, method=method, eta0=1.0, learning_rate="constant", tol=tol, max_iter=200)


def test_divergence_is_caught_as_value_or_runtime_error():
    assert issubclass(DivergenceError, ValueError)
    assert issubclass(DivergenceError, RuntimeError)


@pytest.mark.parametrize("solver", ["auto", "svd"])
def test_rank_deficient_gives_min_norm_with_warning(solver):
    X, y, _ = make_regression(n=50, d=3)
    X = np.c_[X, X[:, 0] + X[:, 1]]  # collinear column
    with pytest.warns(RankDeficientWarning, match="rank 3 of 4"):
        est = gu.LinearRegression(solver=solver).fit(X, y)
    sk = SkLinear().fit(X, y)  # scikit-learn's minimum-norm solution of the centred problem
    np.testing.assert_allclose(est.coef_, sk.coef_, rtol=1e-8)
    np.testing.assert_allclose(float(est.intercept_), sk.intercept_, rtol=1e-10)


def test_rank_deficient_explicit_cholesky_raises():
    X, y, _ = make_regression(n=50, d=3)
    X = np.c_[X, X[:, 0] + X[:, 1]]
    with pytest.raises(ValueError, match="solver='auto'"):
        gu.LinearRegression(solver="cholesky").fit(X, y)


def test_beta_constant_feature_gives_minimum_norm_with_warning():
    from sklearn.linear_model import LinearRegression as SkLinear

    X, y, _ = make_regression(n=50, d=2)
    X[:, 1] = 3.0
    with pytest.warns(RankDeficientWarning, match="rank 1 of 2.*covariance form"):
        est = gu.LinearRegression(method="beta").fit(X, y)
    ref = SkLinear().fit(X, y)
    np.testing.assert_allclose(est.coef_, ref.coef_, atol=1e-12)
    assert float(est.intercept_) == pytest.approx(ref.intercept_, rel=1e-12)
    assert (est.solver_, est.rank_) == ("svd", 1)


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax not installed")
def test_float64_on_device_without_float64(data):
    import jax

    if jax.config.jax_enable_x64:
        pytest.skip("JAX_ENABLE_X64 is on")
    X, y = data
    with pytest.raises(ValueError, match="no float64 support.*dtype='float32'"):
        gu.fit(X, y, backend="jax")
    assert gu.fit(X, y, backend="jax", dtype="float32").coef_.dtype == jax.numpy.float32


def test_sample_weight_problems(data):
    X, y = data
    with pytest.raises(ValueError, match="Negative values in data passed to sample_weight"):
        gu.fit(X, y, sample_weight=-np.ones(40))
    with pytest.raises(ValueError, match="at least one non-zero|sums to zero"):
        gu.fit(X, y, sample_weight=np.zeros(40))
    with pytest.raises(ValueError, match="sample_weight"):
        gu.fit(X, y, sample_weight=np.ones(39))


def test_early_stopping_needs_samples():
    with pytest.raises(ValueError, match="no training or no validation sample"):
        gu.fit(
            np.random.default_rng(0).normal(size=(2, 1)),
            [1.0, 2.0],
            method="batch",
            early_stopping=True,
            validation_fraction=0.9,
        )


def test_newton_on_a_linear_model_names_the_logistic_model():
    X, y, _ = make_regression(n=30, d=2, seed=1)
    with pytest.raises(ValueError, match=r"for logistic regression: model='logistic'"):
        gu.fit(X, y, method="newton")


def test_divergence_message_gives_eta0_once():
    """A number is shown as given, once (the found value is added only for eta0="auto")."""
    X, y, _ = make_regression(n=60, d=3, seed=1)
    est = gu.LinearRegression(method="batch", eta0=50.0, learning_rate="constant", max_iter=50)
    with pytest.raises(DivergenceError) as err:
        est.fit(X * 100, y)
    assert "eta0=50.0, learning_rate='constant'" in str(err.value)
