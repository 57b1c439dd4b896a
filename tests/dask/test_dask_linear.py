"""LinearRegression on Dask (groundup/dask/_linear.py, _stream.py): the merge of moments,
the closed forms and the gradient methods against scikit-learn, the in-memory fit of the same
data (the same iterates where the documented semantics say so) and a plain reference SGD
loop for the streamed shuffling order."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from _dask_data import chunked, data, stream_order, weights  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

import groundup as gu  # noqa: E402
from groundup import backends  # noqa: E402
from groundup.exceptions import RankDeficientWarning  # noqa: E402
from groundup.kernels.closed_form import Moments, merge_moments, moments  # noqa: E402

xnp = backends.resolve("numpy").xp


# -- the backend ------------------------------------------------------------------------------
def test_backend_registered_and_round_trip():
    info = backends.available()["dask"]
    assert info["installed"]
    assert info["devices"] == ["cpu"]
    assert info["float64"]
    be = backends.resolve("dask")
    X, _ = data(5000, 3)
    Xd = be.asarray(X)
    assert backends.from_array(Xd).name == "dask"
    assert len(Xd.chunks[1]) == 1  # whole rows per chunk
    np.testing.assert_array_equal(be.to_numpy(Xd), X)
    assert be.to_numpy(be.asarray(X, dtype="float32")).dtype == np.float32


def test_backend_cuda_is_refused_without_gpu():
    if "cuda" in backends.available()["dask"]["devices"]:
        pytest.skip("a GPU is here")
    with pytest.raises(ValueError, match="need a CUDA GPU"):
        backends.resolve("dask", "cuda")


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_merge_moments_equals_one_pass(fit_intercept):
    X, y = data(900, 3)
    X = X + 1e3  # large means: the merge must not lose the centred moments
    sw = weights(900)
    parts = [(0, 100), (100, 101), (101, 101), (101, 600), (600, 900)]  # one part empty
    merged = None
    for a, b in parts:
        if b == a:
            z = np.zeros((), dtype=X.dtype)
            m = Moments(0.0, np.zeros(3), z, np.zeros((3, 3)), z, z)
        else:
            m = moments(X[a:b], y[a:b], sw[a:b], fit_intercept=fit_intercept, xp=xnp)
        merged = m if merged is None else merge_moments(merged, m)
    whole = moments(X, y, sw, fit_intercept=fit_intercept, xp=xnp)
    assert merged.n == pytest.approx(whole.n, rel=1e-13)
    for name in ("mean_x", "mean_y", "sxx", "sxy", "syy"):
        np.testing.assert_allclose(getattr(merged, name), getattr(whole, name), rtol=1e-9)


# -- closed forms ---------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["normal", "beta"])
@pytest.mark.parametrize("weighted", [False, True])
def test_closed_forms_match_sklearn(scheduler, method, weighted):
    from sklearn.linear_model import LinearRegression as SkLinear

    X, y = data()
    sw = weights(len(y)) if weighted else None
    ref = SkLinear().fit(X, y, sample_weight=sw)
    est = gu.LinearRegression(method=method).fit(
        chunked(X, 250), chunked(y, 250), None if sw is None else chunked(sw, 250)
    )
    assert est.backend_ == "dask"
    assert est.device_ == "cpu"
    assert type(est.coef_) is np.ndarray
    assert est.coef_.dtype == np.float64
    assert isinstance(est.intercept_, np.ndarray | np.floating)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-10)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-10)
    resid = y - ref.predict(X)
    mse = np.average(resid**2, weights=sw)
    np.testing.assert_allclose(est.loss_history_, [mse], rtol=1e-8)
    assert est.n_iter_ == 1
    assert est.converged_


def test_float32_input_keeps_float32():
    X, y = data()
    est = gu.LinearRegression().fit(chunked(X.astype(np.float32), 300), chunked(y, 300))
    assert est.coef_.dtype == np.float32
    ref = gu.LinearRegression().fit(X.astype(np.float32), y.astype(np.float32))
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=2e-4)


def test_no_intercept_and_ridge_match_sklearn():
    from sklearn.linear_model import LinearRegression as SkLinear
    from sklearn.linear_model import Ridge

    X, y = data()
    Xd, yd = chunked(X, 200), chunked(y, 200)
    est = gu.LinearRegression(fit_intercept=False).fit(Xd, yd)
    np.testing.assert_allclose(est.coef_, SkLinear(fit_intercept=False).fit(X, y).coef_, rtol=1e-10)
    assert float(est.intercept_) == 0.0
    est = gu.LinearRegression(penalty="l2", alpha=0.05).fit(Xd, yd)
    ref = Ridge(alpha=0.05 * len(y)).fit(X, y)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-9)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-9)


@pytest.mark.parametrize("solver", ["qr", "svd"])
def test_tsqr_solvers_match_sklearn(scheduler, solver):
    from sklearn.linear_model import LinearRegression as SkLinear

    X, y = data()
    sw = weights(len(y))
    est = gu.LinearRegression(solver=solver).fit(chunked(X, 150), chunked(y, 150), sw)
    ref = SkLinear().fit(X, y, sample_weight=sw)
    assert est.solver_ == solver
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-10)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-10)
    mse = np.average((y - ref.predict(X)) ** 2, weights=sw)
    np.testing.assert_allclose(est.loss_history_, [mse], rtol=1e-8)


def test_ill_conditioned_turns_to_tsqr_and_matches_in_memory():
    rng = np.random.default_rng(3)
    X, y = data(2000, 3)
    X = np.column_stack([X, X[:, 0] + 1e-7 * rng.normal(size=2000)])  # condition ~ 1e14
    est = gu.LinearRegression().fit(chunked(X, 300), chunked(y, 300))
    ref = gu.LinearRegression().fit(X, y)
    assert est.solver_ == ref.solver_ == "qr"
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-6)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-9)


def test_rank_deficient_gives_minimum_norm_with_warning():
    from sklearn.linear_model import LinearRegression as SkLinear

    X, y = data(600, 3)
    X = np.column_stack([X, X[:, 0] - 2.0 * X[:, 1]])
    with pytest.warns(RankDeficientWarning, match="rank 3 of 4"):
        est = gu.LinearRegression().fit(chunked(X, 100), chunked(y, 100))
    assert est.solver_ == "svd"
    assert est.rank_ == 3
    ref = SkLinear().fit(X, y)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-8, atol=1e-10)
    with pytest.raises(ValueError, match="solver='auto'"):
        gu.LinearRegression(solver="cholesky").fit(chunked(X, 100), chunked(y, 100))
    with pytest.warns(RankDeficientWarning, match="rank 3 of 4.*covariance form"):
        beta = gu.LinearRegression(method="beta").fit(chunked(X, 100), chunked(y, 100))
    np.testing.assert_allclose(beta.coef_, ref.coef_, rtol=1e-8, atol=1e-10)


# -- gradient methods -----------------------------------------------------------------------
BATCH = {"method": "batch", "learning_rate": "constant", "eta0": 0.1, "random_state": 0}


@pytest.mark.parametrize("early_stopping", [False, True])
def test_batch_same_iterates_as_in_memory(scheduler, early_stopping):
    X, y = data()
    sw = weights(len(y))
    params = {**BATCH, "early_stopping": early_stopping}
    ref = gu.LinearRegression(**params).fit(X, y, sample_weight=sw)
    est = gu.LinearRegression(**params).fit(chunked(X, 170), chunked(y, 170), chunked(sw, 170))
    assert est.n_iter_ == ref.n_iter_
    assert est.t_ == ref.t_
    assert (est.converged_, est.stop_reason_) == (ref.converged_, ref.stop_reason_)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-12)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-12)
    np.testing.assert_allclose(est.loss_history_, ref.loss_history_, rtol=1e-10)


STREAM = {"learning_rate": "constant", "eta0": 0.02, "random_state": 0}


@pytest.mark.parametrize(
    ("method", "rows", "extra"),
    [
        ("sgd", 1200, {}),  # one chunk: exactly the in-memory fit, shuffled
        ("minibatch", 1200, {"early_stopping": True}),
        ("sgd", 170, {"shuffle": False}),  # chunks in order = the in-memory order
        ("minibatch", 320, {"shuffle": False}),  # chunks a multiple of batch_size
    ],
)
def test_streaming_same_iterates_as_in_memory(scheduler, method, rows, extra):
    X, y = data()
    sw = weights(len(y))
    # tol=1e-3: scikit-learn's rule, which ends these constant-rate runs on their noise floor
    params = {**STREAM, "tol": 1e-3, "method": method, **extra}
    with warnings.catch_warnings():  # the noise floor is above 1 %: both say so
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = gu.LinearRegression(**params).fit(X, y, sample_weight=sw)
        est = gu.LinearRegression(**params).fit(chunked(X, rows), chunked(y, rows), sw)
    assert (est.converged_, est.stop_reason_) == (ref.converged_, ref.stop_reason_)
    assert est.n_iter_ == ref.n_iter_
    assert est.t_ == ref.t_
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-10)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-10)
    np.testing.assert_allclose(est.loss_history_, ref.loss_history_, rtol=1e-9)


def _reference_stream(X, y, rows, *, batch_size, eta, epochs, seed):
    """The documented order, as a plain loop: w -= eta * mean((x.w + b - y) x)."""
    _, order = stream_order(len(y), rows, batch_size=batch_size, epochs=epochs, seed=seed)
    w, b = np.zeros(X.shape[1]), 0.0
    for i in (i for batches in order for i in batches):
        r = X[i] @ w + b - y[i]
        w, b = w - eta * (X[i].T @ r) / len(i), b - eta * r.mean()
    return w, b


@pytest.mark.parametrize(("method", "batch_size"), [("sgd", 1), ("minibatch", 16)])
def test_streaming_shuffle_order_matches_reference_loop(scheduler, method, batch_size):
    X, y = data(700, 3)
    est = gu.LinearRegression(
        method=method, batch_size=batch_size, max_iter=3, tol=None, **STREAM
    ).fit(chunked(X, 150), chunked(y, 150))
    w, b = _reference_stream(X, y, 150, batch_size=batch_size, eta=0.02, epochs=3, seed=0)
    np.testing.assert_allclose(est.coef_, w, rtol=1e-10)
    np.testing.assert_allclose(est.intercept_, b, rtol=1e-10)
    updates = sum(math.ceil(r / batch_size) for r in (150, 150, 150, 150, 100))
    assert est.t_ == 1 + 3 * updates


@pytest.mark.parametrize("method", ["batch", "minibatch"])
def test_partial_fit_matches_in_memory(method):
    X, y = data()
    params = {**STREAM, "method": method}
    ref, est = gu.LinearRegression(**params), gu.LinearRegression(**params)
    Xd, yd = chunked(X, 1200), chunked(y, 1200)
    for _ in range(2):
        ref.partial_fit(X, y)
        est.partial_fit(Xd, yd)
    assert est.n_iter_ == ref.n_iter_ == 2
    assert est.t_ == ref.t_
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-10)
    np.testing.assert_allclose(est.loss_history_, ref.loss_history_, rtol=1e-9)


def test_partial_fit_of_a_dask_model_continues_on_dask_with_in_memory_data():
    X, y = data()
    params = {**STREAM, "method": "sgd"}
    ref = gu.LinearRegression(**params).partial_fit(X, y).partial_fit(X, y)
    est = gu.LinearRegression(**params).partial_fit(chunked(X, 1200), chunked(y, 1200))
    est.partial_fit(X, y)  # NumPy data, a model fitted on Dask: the next epoch on Dask
    assert est.backend_ == "dask"
    assert est.t_ == ref.t_
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-10)
    np.testing.assert_allclose(est.loss_history_, ref.loss_history_, rtol=1e-9)


def test_warm_start_continues():
    X, y = data()
    params = {**STREAM, "method": "minibatch", "max_iter": 2, "tol": None}
    est = gu.LinearRegression(**params, warm_start=True)
    est.fit(chunked(X, 400), chunked(y, 400))
    first = est.coef_.copy()
    est.fit(chunked(X, 400), chunked(y, 400))
    cold = gu.LinearRegression(**params).fit(chunked(X, 400), chunked(y, 400))
    np.testing.assert_array_equal(cold.coef_, first)
    assert not np.array_equal(est.coef_, first)


def test_streaming_divergence_is_an_error():
    X, y = data(400, 3)
    with pytest.raises(gu.linear_model.DivergenceError, match="diverged"):
        gu.LinearRegression(method="minibatch", learning_rate="constant", eta0=5.0).fit(
            chunked(X * 10, 100), chunked(y, 100)
        )
