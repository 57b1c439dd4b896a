"""Solver edge cases scikit-learn's own tests expose (issue 12): wide X, ridge with every
solver, float32 stopping at the dtype's precision, models on a second device, partial_fit
with early stopping, class labels on the host with X on a device.

Oracles: scikit-learn's ``LinearRegression`` (the minimum-norm solution), ``Ridge`` with
``alpha = n_samples * alpha``, and the same fit on NumPy.
"""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pytest
from _helpers import assert_on_case, make_classes, make_regression
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression as SkLinear
from sklearn.linear_model import Ridge

import groundup as gu
from groundup.exceptions import RankDeficientWarning

SOLVERS = ["auto", "cholesky", "qr", "svd"]


# -- 1. wide X: the minimum-norm solution, with a warning, on every backend ----------------------
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    n=st.integers(2, 12),
    extra=st.integers(0, 14),
    seed=st.integers(0, 2**16),
    method=st.sampled_from(["normal", "beta"]),
    fit_intercept=st.booleans(),
)
def test_wide_X_gives_the_minimum_norm_solution(case, n, extra, seed, method, fit_intercept):
    d = n + extra
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(n, d)), rng.normal(size=n)
    ref = SkLinear(fit_intercept=fit_intercept).fit(X, y)
    deficient = n - int(fit_intercept) < d  # the centred rows span fewer than d dimensions
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = gu.LinearRegression(method=method, fit_intercept=fit_intercept).fit(
            case.asarray(X), case.asarray(y)
        )
    warned = [w for w in caught if issubclass(w.category, RankDeficientWarning)]
    assert bool(warned) == deficient
    assert_on_case(est.coef_, case)
    assert (est.rank_ < d) == deficient
    tol = 1e-8 if case.dtype == "float64" else 2e-3
    scale = 1.0 + np.max(np.abs(ref.coef_))
    np.testing.assert_allclose(case.to_numpy(est.coef_), ref.coef_, atol=tol * scale)
    assert float(case.to_numpy(est.intercept_)) == pytest.approx(ref.intercept_, abs=tol * scale)


def test_the_issues_wide_draws_no_longer_crash():
    """(20, 30) from default_rng(1) and 2 x 3 raised a raw LinAlgError from qr_solve."""
    for shape, seed in (((20, 30), 1), ((20, 30), 2), ((2, 3), 0)):
        rng = np.random.default_rng(seed)
        X, y = rng.normal(size=shape), rng.normal(size=shape[0])
        for solver in ("auto", "qr", "svd"):
            with pytest.warns(RankDeficientWarning):
                est = gu.LinearRegression(solver=solver).fit(X, y)
            np.testing.assert_allclose(est.coef_, SkLinear().fit(X, y).coef_, atol=1e-12)
        with pytest.raises(ValueError, match="solver='auto'") as err:
            gu.LinearRegression(solver="cholesky").fit(X, y)
        assert "n_samples" in str(err.value)


def test_wide_X_on_dask():
    da = pytest.importorskip("dask.array")
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(12, 20)), rng.normal(size=12)
    with pytest.warns(RankDeficientWarning):
        est = gu.LinearRegression().fit(da.from_array(X, chunks=(5, -1)), da.from_array(y, 5))
    np.testing.assert_allclose(est.coef_, SkLinear().fit(X, y).coef_, atol=1e-10)


# -- 2. ridge with every solver equals scikit-learn's Ridge -------------------------------------
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("shape", [(60, 6), (12, 30)], ids=["tall", "wide"])
@pytest.mark.parametrize("alpha", [0.0, 1e-10, 1e-4, 1.0, 1e3])
@pytest.mark.parametrize("weighted", [False, True])
def test_ridge_solvers_equal_sklearn_ridge(solver, shape, alpha, weighted):
    rng = np.random.default_rng(7)
    X, y = rng.normal(size=shape), rng.normal(size=shape[0])
    sw = rng.uniform(0.5, 2.0, size=shape[0]) if weighted else None
    n_eff = shape[0] if sw is None else sw.sum()
    est = gu.LinearRegression(penalty="l2", alpha=alpha, solver=solver)
    wide_unpenalised = shape[0] <= shape[1] and alpha == 0.0
    if solver == "cholesky" and wide_unpenalised:
        with pytest.raises(ValueError, match="solver='auto'") as err:
            est.fit(X, y, sample_weight=sw)
        assert "use solver='cholesky'" not in str(err.value)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RankDeficientWarning)  # alpha=0 on wide X
        est.fit(X, y, sample_weight=sw)
    if alpha == 0.0:
        ref = SkLinear().fit(X, y, sample_weight=sw)
    else:
        ref = Ridge(alpha=n_eff * alpha, solver="svd").fit(X, y, sample_weight=sw)
    scale = 1.0 + np.max(np.abs(ref.coef_))
    np.testing.assert_allclose(est.coef_, ref.coef_, atol=1e-8 * scale)
    assert float(est.intercept_) == pytest.approx(ref.intercept_, abs=1e-8 * scale)
    if solver == "svd":
        assert est.solver_ == "svd"
    if solver == "qr":
        assert est.solver_ in ("qr", "svd")  # QR turns to SVD where R is rank deficient
    if solver == "cholesky":
        assert est.solver_ == "cholesky"


def test_ridge_solver_is_honoured_on_dask():
    da = pytest.importorskip("dask.array")
    rng = np.random.default_rng(8)
    X, y = rng.normal(size=(200, 5)), rng.normal(size=200)
    Xd, yd = da.from_array(X, chunks=(70, -1)), da.from_array(y, 70)
    ref = Ridge(alpha=200 * 0.1, solver="svd").fit(X, y)
    for solver in ("qr", "svd", "cholesky"):
        est = gu.LinearRegression(penalty="l2", alpha=0.1, solver=solver).fit(Xd, yd)
        assert est.solver_ == solver
        np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-10)


# -- 3. float32: stop at the precision the dtype allows --------------------------------------
F32_BACKENDS = ["numpy", "array_api_strict"] + (
    ["torch"] if importlib.util.find_spec("torch") else []
)


@pytest.mark.parametrize("backend", F32_BACKENDS)
def test_float32_newton_stops_at_float32_precision(backend):
    X, y = make_classes(n=3000, d=8, seed=4)
    X32 = X.astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # no "did not converge"
        est = gu.LogisticRegression(
            method="newton", tol=1e-8, penalty="l2", alpha=1e-3, backend=backend
        ).fit(X32, y)
    assert est.converged_
    assert est.n_iter_ <= 20  # it ran all 1000 iterations before (scikit-learn lbfgs: ~20)
    ref = gu.LogisticRegression(method="newton", tol=1e-10, penalty="l2", alpha=1e-3).fit(X, y)
    proba = np.asarray(est.to("numpy").predict_proba(X32), dtype=np.float64)
    np.testing.assert_allclose(proba, ref.predict_proba(X), atol=1e-5)


def test_stop_rule_counts_rounding_as_no_improvement():
    """A float32 loss creeping down by an ulp an epoch is rounding, not progress: with
    float32's eps the rule stops after n_iter_no_change epochs; without it never."""
    from groundup.kernels.descent import StopRule
    from groundup.kernels.schedules import Schedule

    values = 0.25 - np.arange(40) * np.spacing(np.float32(0.25))
    sched = Schedule("constant", 0.1)
    for eps, stops_at in ((float(np.finfo(np.float32).eps), 6), (0.0, None)):
        rule = StopRule(1e-12, 5, False, 1.0, eps=eps)
        stopped = next(
            (i for i, v in enumerate(values, 1) if rule.converged(float(v), sched, i)), None
        )
        assert stopped == stops_at


def test_divergence_check_ignores_rounding_above_the_start():
    from groundup.kernels.descent import divergent_epoch

    eps32 = float(np.finfo(np.float32).eps)
    ref = 0.5
    assert divergent_epoch([0.5 * (1 + eps32)], ref, eps32) is None  # one float32 ulp
    assert divergent_epoch([0.5 * (1 + eps32)], ref) == 1  # float64 sees a rise
    assert divergent_epoch([0.5 * (1 + 1e-3)], ref, eps32) == 1  # a real rise


@pytest.mark.parametrize("backend", F32_BACKENDS)
def test_float32_gradient_fit_with_tol_below_resolution_converges(backend):
    X, y = make_classes(n=800, d=4, seed=0)
    est = gu.LogisticRegression(
        method="minibatch", tol=1e-14, eta0=0.01, learning_rate="constant", max_iter=3000,
        random_state=0, backend=backend,
    ).fit(X.astype(np.float32), y)  # fmt: skip
    assert est.converged_
    assert est.n_iter_ < 3000


# -- 4. a model fitted on a second device predicts there --------------------------------------
def test_second_device_of_array_api_strict():
    xps = pytest.importorskip("array_api_strict")
    dev1 = xps.Device("device1")
    X, y, _ = make_regression(n=120, d=3, seed=2)
    Xc, yc = make_classes(n=120, d=3, seed=2)
    on1 = {"X": xps.asarray(X, device=dev1), "y": xps.asarray(y, device=dev1)}
    for method in ("normal", "minibatch"):
        est = gu.LinearRegression(method=method, random_state=0).fit(on1["X"], on1["y"])
        assert est.coef_.device == dev1
        assert est.device_ == "device1"
        pred = est.predict(on1["X"])
        assert pred.device == dev1
        ref = gu.LinearRegression(method=method, random_state=0).fit(X, y)
        np.testing.assert_allclose(np.asarray(xps.asarray(pred, device=xps.Device("CPU_DEVICE"))),
                                   ref.predict(X), rtol=1e-10)  # fmt: skip
        np.testing.assert_allclose(est.predict(X), ref.predict(X), rtol=1e-10)  # NumPy in
        cpu_in = xps.asarray(X)  # the default device: moved to the model's
        assert est.predict(cpu_in).device == xps.Device("CPU_DEVICE")
        assert est.score(on1["X"], on1["y"]) == pytest.approx(ref.score(X, y), rel=1e-10)
    clf = gu.LogisticRegression(penalty="l2", alpha=1e-2).fit(on1["X"], Xc[:, 0] > 0)
    assert clf.coef_.device == dev1
    assert clf.predict_proba(on1["X"]).device == dev1
    assert clf.predict_proba(X).shape == (120, 2)
    ref = gu.LogisticRegression(penalty="l2", alpha=1e-2).fit(X, Xc[:, 0] > 0)
    assert clf.score(on1["X"], Xc[:, 0] > 0) == pytest.approx(ref.score(X, Xc[:, 0] > 0))
    by_name = gu.LinearRegression(backend="array_api_strict", device="device1").fit(X, y)
    assert by_name.coef_.device == dev1
    np.testing.assert_allclose(by_name.predict(X), SkLinear().fit(X, y).predict(X), rtol=1e-10)
    assert by_name.to(device="cpu").coef_.device == xps.Device("CPU_DEVICE")


@pytest.mark.gpu
def test_second_cuda_device():
    torch = pytest.importorskip("torch")
    if torch.cuda.device_count() < 2:
        pytest.skip("needs two CUDA devices")
    X, y, _ = make_regression(n=200, d=3)
    Xt, yt = torch.as_tensor(X, device="cuda:1"), torch.as_tensor(y, device="cuda:1")
    est = gu.LinearRegression(method="minibatch", random_state=0).fit(Xt, yt)
    assert est.coef_.device == torch.device("cuda:1")
    assert est.predict(Xt).device == torch.device("cuda:1")
    assert est.predict(X).shape == (200,)


# -- 5. partial_fit refuses early_stopping ------------------------------------------------------
@pytest.mark.parametrize("model", ["linear", "logistic"])
@pytest.mark.parametrize("dask", [False, True])
def test_partial_fit_refuses_early_stopping(model, dask):
    X, y = make_classes(n=100, seed=1) if model == "logistic" else make_regression(n=100)[:2]
    if dask:
        da = pytest.importorskip("dask.array")
        X, y = da.from_array(X, chunks=(50, -1)), da.from_array(y, 50)
    cls = gu.LogisticRegression if model == "logistic" else gu.LinearRegression
    est = cls(method="sgd", early_stopping=True)
    extra = {"classes": [0, 1]} if model == "logistic" else {}
    with pytest.raises(ValueError, match="early_stopping=True is not supported by partial_fit"):
        est.partial_fit(X, y, **extra)
    assert not hasattr(est, "coef_")


# -- 6. class labels on the host, X on a device -------------------------------------------------
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # unpenalised
@pytest.mark.parametrize("lib", ["torch", "array_api_strict"])
@pytest.mark.parametrize("method", ["newton", "minibatch"])
def test_host_labels_with_device_X(lib, method):
    mod = pytest.importorskip(lib)
    pd = pytest.importorskip("pandas")
    X, codes = make_classes(n=200, d=3, k=3, seed=6)
    labels = np.array(["cat", "dog", "eel"])[codes]
    Xd = mod.asarray(X)
    ref = gu.LogisticRegression(method=method, random_state=0).fit(X, labels)
    for y in (labels, list(labels), pd.Series(labels)):
        est = gu.LogisticRegression(method=method, random_state=0).fit(Xd, y)
        assert type(est.classes_) is np.ndarray
        np.testing.assert_array_equal(est.classes_, ["cat", "dog", "eel"])
        assert gu.backends.from_array(est.coef_).name == lib
        pred = est.predict(Xd)
        assert type(pred) is np.ndarray  # strings cannot live on a device
        np.testing.assert_array_equal(pred, ref.predict(X))
        assert est.score(Xd, y) == pytest.approx(ref.score(X, labels))
    numeric = gu.LogisticRegression(method=method, random_state=0).fit(Xd, codes)  # host ints
    assert gu.backends.from_array(numeric.predict(Xd)).name == lib  # numbers: X's library
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        gu.LogisticRegression().fit(Xd, labels[:-1])
