"""The Dask backend and the Dask fit paths of LinearRegression (groundup/_dask.py).

Oracles: scikit-learn, the in-memory NumPy fit of the same data (the same iterates where the
documented semantics say so), the one-pass ``moments`` kernel and a plain reference SGD loop
for the streamed shuffling order. Most tests run twice: on Dask's local threaded scheduler
and on a ``dask.distributed`` LocalCluster (two in-process workers). The out-of-core test
starts its own cluster of two worker processes with a memory limit far below the data.
"""

from __future__ import annotations

import functools
import importlib
import math
import pathlib
import tracemalloc

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import groundup as gu  # noqa: E402
from groundup import backends  # noqa: E402
from groundup.kernels.closed_form import Moments, merge_moments, moments  # noqa: E402
from groundup.kernels.schedules import SCHEDULES  # noqa: E402
from groundup.linear_model import RankDeficientWarning  # noqa: E402

xnp = backends.resolve("numpy").xp


def _data(n: int = 1200, d: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = X @ np.linspace(-2.0, 3.0, d) + 4.0 + 0.1 * rng.normal(size=n)
    return X, y


def _weights(n: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.2, 2.0, size=n)


def _chunked(a: np.ndarray, rows: int) -> da.Array:
    return da.from_array(a, chunks=(rows,) + a.shape[1:])


# -- schedulers -------------------------------------------------------------------------------
# dashboard_address=":0": a free port. With None the scheduler still serves its HTTP
# endpoints on 8787, and a second cluster (this file has two) warns that the port is taken.
@pytest.fixture(scope="module")
def cluster():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
    )
    yield cluster
    cluster.close()


@pytest.fixture(params=["threads", "distributed"])
def scheduler(request: pytest.FixtureRequest):
    """Dask's local threaded scheduler, or a Client on the two-worker LocalCluster."""
    if request.param == "threads":
        yield None
        return
    client = distributed.Client(request.getfixturevalue("cluster"))
    yield client
    client.close()


# -- the backend ------------------------------------------------------------------------------
def test_backend_registered_and_round_trip():
    info = backends.available()["dask"]
    assert info["installed"]
    assert info["devices"] == ["cpu"]
    assert info["float64"]
    be = backends.resolve("dask")
    X, _ = _data(5000, 3)
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
    X, y = _data(900, 3)
    X = X + 1e3  # large means: the merge must not lose the centred moments
    sw = _weights(900)
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

    X, y = _data()
    sw = _weights(len(y)) if weighted else None
    ref = SkLinear().fit(X, y, sample_weight=sw)
    est = gu.LinearRegression(method=method).fit(
        _chunked(X, 250), _chunked(y, 250), None if sw is None else _chunked(sw, 250)
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
    X, y = _data()
    est = gu.LinearRegression().fit(_chunked(X.astype(np.float32), 300), _chunked(y, 300))
    assert est.coef_.dtype == np.float32
    ref = gu.LinearRegression().fit(X.astype(np.float32), y.astype(np.float32))
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=2e-4)


def test_no_intercept_and_ridge_match_sklearn():
    from sklearn.linear_model import LinearRegression as SkLinear
    from sklearn.linear_model import Ridge

    X, y = _data()
    Xd, yd = _chunked(X, 200), _chunked(y, 200)
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

    X, y = _data()
    sw = _weights(len(y))
    est = gu.LinearRegression(solver=solver).fit(_chunked(X, 150), _chunked(y, 150), sw)
    ref = SkLinear().fit(X, y, sample_weight=sw)
    assert est.solver_ == solver
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-10)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-10)
    mse = np.average((y - ref.predict(X)) ** 2, weights=sw)
    np.testing.assert_allclose(est.loss_history_, [mse], rtol=1e-8)


def test_ill_conditioned_turns_to_tsqr_and_matches_in_memory():
    rng = np.random.default_rng(3)
    X, y = _data(2000, 3)
    X = np.column_stack([X, X[:, 0] + 1e-7 * rng.normal(size=2000)])  # condition ~ 1e14
    est = gu.LinearRegression().fit(_chunked(X, 300), _chunked(y, 300))
    ref = gu.LinearRegression().fit(X, y)
    assert est.solver_ == ref.solver_ == "qr"
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-6)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-9)


def test_rank_deficient_gives_minimum_norm_with_warning():
    from sklearn.linear_model import LinearRegression as SkLinear

    X, y = _data(600, 3)
    X = np.column_stack([X, X[:, 0] - 2.0 * X[:, 1]])
    with pytest.warns(RankDeficientWarning, match="rank 3 of 4"):
        est = gu.LinearRegression().fit(_chunked(X, 100), _chunked(y, 100))
    assert est.solver_ == "svd"
    assert est.rank_ == 3
    ref = SkLinear().fit(X, y)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-8, atol=1e-10)
    with pytest.raises(ValueError, match="solver='auto'"):
        gu.LinearRegression(solver="cholesky").fit(_chunked(X, 100), _chunked(y, 100))
    with pytest.raises(ValueError, match="Cov"):
        gu.LinearRegression(method="beta").fit(_chunked(X, 100), _chunked(y, 100))


# -- gradient methods -----------------------------------------------------------------------
BATCH = {"method": "batch", "learning_rate": "constant", "eta0": 0.1, "random_state": 0}


@pytest.mark.parametrize("early_stopping", [False, True])
def test_batch_same_iterates_as_in_memory(scheduler, early_stopping):
    X, y = _data()
    sw = _weights(len(y))
    params = {**BATCH, "early_stopping": early_stopping}
    ref = gu.LinearRegression(**params).fit(X, y, sample_weight=sw)
    est = gu.LinearRegression(**params).fit(_chunked(X, 170), _chunked(y, 170), _chunked(sw, 170))
    assert est.n_iter_ == ref.n_iter_
    assert est.t_ == ref.t_
    assert est.converged_
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
    X, y = _data()
    sw = _weights(len(y))
    params = {**STREAM, "method": method, **extra}
    ref = gu.LinearRegression(**params).fit(X, y, sample_weight=sw)
    est = gu.LinearRegression(**params).fit(_chunked(X, rows), _chunked(y, rows), sw)
    assert est.n_iter_ == ref.n_iter_
    assert est.t_ == ref.t_
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-10)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-10)
    np.testing.assert_allclose(est.loss_history_, ref.loss_history_, rtol=1e-9)


def _stream_order(n, rows, *, batch_size, epochs, seed, validation_fraction=None):
    """The documented visiting order (groundup/_dask_stream.py) as a plain loop: the
    early-stopping rows drawn first (the in-memory split's draw), then each epoch a
    permutation of the chunks and, chunk by chunk, of the chunk's training rows; batches
    within a chunk. Returns the held-out mask and, per epoch, the batches' row indices."""
    rng = np.random.default_rng(seed)
    held = np.zeros(n, dtype=bool)
    if validation_fraction is not None:
        held[rng.permutation(n)[: math.ceil(validation_fraction * n)]] = True
    starts = list(range(0, n, rows))
    epochs_out = []
    for _ in range(epochs):
        batches = []
        for c in rng.permutation(len(starts)):
            idx = np.arange(starts[c], min(starts[c] + rows, n))
            idx = idx[~held[idx]]
            perm = idx[rng.permutation(len(idx))]
            batches += [perm[s : s + batch_size] for s in range(0, len(perm), batch_size)]
        epochs_out.append(batches)
    return held, epochs_out


def _reference_stream(X, y, rows, *, batch_size, eta, epochs, seed):
    """The documented order, as a plain loop: w -= eta * mean((x.w + b - y) x)."""
    _, order = _stream_order(len(y), rows, batch_size=batch_size, epochs=epochs, seed=seed)
    w, b = np.zeros(X.shape[1]), 0.0
    for i in (i for batches in order for i in batches):
        r = X[i] @ w + b - y[i]
        w, b = w - eta * (X[i].T @ r) / len(i), b - eta * r.mean()
    return w, b


@pytest.mark.parametrize(("method", "batch_size"), [("sgd", 1), ("minibatch", 16)])
def test_streaming_shuffle_order_matches_reference_loop(scheduler, method, batch_size):
    X, y = _data(700, 3)
    est = gu.LinearRegression(
        method=method, batch_size=batch_size, max_iter=3, tol=None, **STREAM
    ).fit(_chunked(X, 150), _chunked(y, 150))
    w, b = _reference_stream(X, y, 150, batch_size=batch_size, eta=0.02, epochs=3, seed=0)
    np.testing.assert_allclose(est.coef_, w, rtol=1e-10)
    np.testing.assert_allclose(est.intercept_, b, rtol=1e-10)
    updates = sum(math.ceil(r / batch_size) for r in (150, 150, 150, 150, 100))
    assert est.t_ == 1 + 3 * updates


@pytest.mark.parametrize("method", ["batch", "minibatch"])
def test_partial_fit_matches_in_memory(method):
    X, y = _data()
    params = {**STREAM, "method": method}
    ref, est = gu.LinearRegression(**params), gu.LinearRegression(**params)
    Xd, yd = _chunked(X, 1200), _chunked(y, 1200)
    for _ in range(2):
        ref.partial_fit(X, y)
        est.partial_fit(Xd, yd)
    assert est.n_iter_ == ref.n_iter_ == 2
    assert est.t_ == ref.t_
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-10)
    np.testing.assert_allclose(est.loss_history_, ref.loss_history_, rtol=1e-9)


def test_partial_fit_of_a_dask_model_continues_on_dask_with_in_memory_data():
    X, y = _data()
    params = {**STREAM, "method": "sgd"}
    ref = gu.LinearRegression(**params).partial_fit(X, y).partial_fit(X, y)
    est = gu.LinearRegression(**params).partial_fit(_chunked(X, 1200), _chunked(y, 1200))
    est.partial_fit(X, y)  # NumPy data, a model fitted on Dask: the next epoch on Dask
    assert est.backend_ == "dask"
    assert est.t_ == ref.t_
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-10)
    np.testing.assert_allclose(est.loss_history_, ref.loss_history_, rtol=1e-9)


def test_warm_start_continues():
    X, y = _data()
    params = {**STREAM, "method": "minibatch", "max_iter": 2, "tol": None}
    est = gu.LinearRegression(**params, warm_start=True)
    est.fit(_chunked(X, 400), _chunked(y, 400))
    first = est.coef_.copy()
    est.fit(_chunked(X, 400), _chunked(y, 400))
    cold = gu.LinearRegression(**params).fit(_chunked(X, 400), _chunked(y, 400))
    np.testing.assert_array_equal(cold.coef_, first)
    assert not np.array_equal(est.coef_, first)


def test_streaming_divergence_is_an_error():
    X, y = _data(400, 3)
    with pytest.raises(gu.linear_model.DivergenceError, match="diverged"):
        gu.LinearRegression(method="minibatch", learning_rate="constant", eta0=5.0).fit(
            _chunked(X * 10, 100), _chunked(y, 100)
        )


# -- predict, score, frames, mixed input ----------------------------------------------------
def test_predict_is_lazy_and_answers_in_kind(scheduler):
    X, y = _data()
    est = gu.LinearRegression().fit(_chunked(X, 300), _chunked(y, 300))
    ref = gu.LinearRegression().fit(X, y)
    pred = est.predict(_chunked(X, 500))
    assert isinstance(pred, da.Array)
    assert pred.dtype == np.float64
    np.testing.assert_allclose(pred.compute(), ref.predict(X), rtol=1e-10)
    host = est.predict(X)  # NumPy in, NumPy out
    assert type(host) is np.ndarray
    np.testing.assert_allclose(host, ref.predict(X), rtol=1e-10)
    lazy = ref.predict(_chunked(X, 500))  # a NumPy-fitted model on Dask input: lazy too
    assert isinstance(lazy, da.Array)
    np.testing.assert_allclose(lazy.compute(), ref.predict(X), rtol=1e-12)
    assert est.score(_chunked(X, 500), _chunked(y, 500)) == pytest.approx(ref.score(X, y))
    assert est.score(X, y) == pytest.approx(ref.score(X, y))


def test_predict_raises_on_nan_chunk_when_computed():
    X, y = _data()
    est = gu.LinearRegression().fit(X, y)
    Xn = X.copy()
    Xn[705, 1] = np.nan
    pred = est.predict(_chunked(Xn, 300))  # lazy: no error yet
    with pytest.raises(ValueError, match="row 705, column 1"):
        pred.compute()


def test_dask_dataframe_input():
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    X, y = _data()
    cols = ["a", "b", "c", "d"]
    ddf = dd.from_pandas(pd.DataFrame(X, columns=cols), npartitions=3)
    ys = dd.from_pandas(pd.Series(y), npartitions=3)
    est = gu.LinearRegression().fit(ddf, ys)
    ref = gu.LinearRegression().fit(X, y)
    assert est.backend_ == "dask"
    assert list(est.feature_names_in_) == cols
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-10)
    np.testing.assert_allclose(est.predict(ddf).compute(), ref.predict(X), rtol=1e-10)
    with pytest.raises(ValueError, match="feature names should match"):
        est.predict(ddf.rename(columns={"a": "z"}))


def test_mixed_dask_and_in_memory_inputs():
    X, y = _data()
    sw = _weights(len(y))
    ref = gu.LinearRegression().fit(X, y, sample_weight=sw)
    # Dask X with y and weights in memory: chunked like X.
    est = gu.LinearRegression().fit(_chunked(X, 250), y, sample_weight=list(sw))
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-10)
    # Dask y chunked differently from X: rechunked to X's rows.
    est = gu.LinearRegression().fit(_chunked(X, 250), _chunked(y, 333), _chunked(sw, 100))
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-10)
    # In-memory X, Dask y, backend=None: two libraries, a clear error.
    with pytest.raises(ValueError, match="same library"):
        gu.LinearRegression().fit(X, _chunked(y, 250))
    # In-memory data with backend="dask": moved into Dask.
    est = gu.fit(X, y, backend="dask", sample_weight=sw)
    assert est.backend_ == "dask"
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-10)


# -- bad input --------------------------------------------------------------------------------
def test_unknown_chunk_sizes_say_compute_chunk_sizes():
    X, y = _data()
    Xd = _chunked(X, 300)
    Xu = Xd[Xd[:, 0] > -100]  # boolean indexing: nan chunk sizes
    with pytest.raises(ValueError, match=r"unknown chunk sizes.*compute_chunk_sizes\(\)"):
        gu.LinearRegression().fit(Xu, _chunked(y, 300))
    yd = _chunked(y, 300)
    with pytest.raises(ValueError, match=r"y has unknown chunk sizes"):
        gu.LinearRegression().fit(Xd, yd[yd > -1e9])
    est = gu.LinearRegression().fit(Xu.compute_chunk_sizes(), yd)  # the fix works
    assert est.coef_.shape == (4,)


def test_column_chunks_say_rechunk():
    X, y = _data()
    with pytest.raises(ValueError, match=r"chunked along its columns.*rechunk\(\{1: -1\}\)"):
        gu.LinearRegression().fit(da.from_array(X, chunks=(300, 2)), _chunked(y, 300))
    with pytest.raises(ValueError, match=r"rechunk"):
        gu.LinearRegression().fit(X, y).predict(da.from_array(X, chunks=(300, 2)))


@pytest.mark.parametrize("method", ["normal", "minibatch"])
def test_nan_located_across_chunks(method):
    X, y = _data()
    X[1000, 2] = np.nan
    X[1100, 0] = np.inf
    with pytest.raises(ValueError, match=r"X contains NaN or inf: 2 .*row 1000, column 2"):
        gu.LinearRegression(method=method).fit(_chunked(X, 300), _chunked(y, 300))
    X, y = _data()
    y[7] = np.nan
    with pytest.raises(ValueError, match=r"y contains NaN or inf: 1 .*index 7"):
        gu.LinearRegression(method=method).fit(_chunked(X, 300), _chunked(y, 300))


def test_bad_weights_and_shapes():
    X, y = _data()
    Xd, yd = _chunked(X, 300), _chunked(y, 300)
    sw = _weights(len(y))
    sw[900] = -1.0
    with pytest.raises(ValueError, match="Negative values"):
        gu.LinearRegression().fit(Xd, yd, _chunked(sw, 300))
    with pytest.raises(ValueError, match="sums to zero"):
        gu.LinearRegression().fit(Xd, yd, np.zeros(len(y)))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        gu.LinearRegression().fit(Xd, _chunked(y[:-1], 300))
    with pytest.raises(ValueError, match="Reshape your data"):
        gu.LinearRegression().fit(yd, yd)
    with pytest.raises(ValueError, match="expecting 4 features"):
        gu.LinearRegression().fit(Xd, yd).predict(Xd[:, :3])


# -- logistic regression --------------------------------------------------------------------
def _labels(X: np.ndarray, kind: str, seed: int = 2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    z = X @ np.linspace(1.0, -1.5, X.shape[1]) + 0.2
    if kind == "three":
        return np.digitize(z + rng.normal(size=len(z)), [-1.0, 1.0])
    y = (rng.uniform(size=len(z)) < 1.0 / (1.0 + np.exp(-z))).astype(int)
    return np.array(["no", "yes"])[y] if kind == "strings" else y


LOGISTIC = [
    ("newton", "binary", True, {}),
    ("newton", "three", False, {}),
    ("newton", "strings", False, {"fit_intercept": False}),
    ("batch", "binary", False, {"early_stopping": True}),
    ("batch", "three", True, {"penalty": "l2", "alpha": 1e-3, "tol": None}),
]


@pytest.mark.parametrize(("method", "kind", "weighted", "extra"), LOGISTIC)
def test_logistic_same_path_as_in_memory(scheduler, method, kind, weighted, extra):
    X, _ = _data(3000, 4)
    y = _labels(X, kind)
    sw = _weights(len(y)) if weighted else None
    params = {"method": method, "random_state": 0, **extra}
    if method == "batch":
        params |= {"learning_rate": "constant", "eta0": 0.5, "max_iter": 25}
    ref = gu.LogisticRegression(**params).fit(X, y, sample_weight=sw)
    est = gu.LogisticRegression(**params).fit(
        _chunked(X, 400), _chunked(y, 400), None if sw is None else _chunked(sw, 400)
    )
    assert est.backend_ == "dask"
    assert type(est.coef_) is np.ndarray
    assert est.coef_.shape == ref.coef_.shape
    np.testing.assert_array_equal(est.classes_, ref.classes_)
    assert est.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(est.loss_history_, ref.loss_history_, rtol=1e-10)
    proba = est.predict_proba(_chunked(X, 500))
    assert isinstance(proba, da.Array)
    np.testing.assert_allclose(proba.compute(), ref.predict_proba(X), rtol=1e-8, atol=1e-12)
    np.testing.assert_array_equal(np.asarray(est.predict(X)), ref.predict(X))


def test_logistic_matches_sklearn_newton():
    from sklearn.linear_model import LogisticRegression as SkLogistic

    X, _ = _data(2000, 3)
    y = _labels(X, "binary")
    est = gu.LogisticRegression(tol=1e-8, random_state=0).fit(_chunked(X, 300), _chunked(y, 300))
    ref = SkLogistic(C=np.inf, tol=1e-10, max_iter=1000).fit(X, y)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-5)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-5)


def test_logistic_bad_input_on_dask():
    X, _ = _data(1200, 3)
    y = _labels(X, "binary")
    Xd, yd = _chunked(X, 300), _chunked(y, 300)
    with pytest.raises(ValueError, match="only one class"):
        gu.LogisticRegression().fit(Xd, _chunked(np.zeros(1200, dtype=int), 300))
    Xn = X.copy()
    Xn[650, 1] = np.nan
    for seed in (0, 3):  # rows counted in the whole data, whether Newton's subsample
        # (200 of the 1200 rows) misses the bad row (seed 0) or holds it (seed 3)
        with pytest.raises(ValueError, match=r"X contains NaN or inf: 1 .*row 650, column 1"):
            gu.LogisticRegression(random_state=seed).fit(_chunked(Xn, 300), yd)
    sw = _weights(1200)
    sw[3] = -1.0
    with pytest.raises(ValueError, match="Negative values"):
        gu.LogisticRegression().fit(Xd, yd, sample_weight=sw)


@pytest.mark.parametrize("method", ["batch", "sgd", "minibatch"])
@pytest.mark.parametrize("where", ["training", "held-out"])
def test_logistic_nan_located_in_the_users_rows_with_early_stopping(method, where):
    X, _ = _data(1200, 3)
    y = _labels(X, "binary")
    held = np.random.default_rng(0).permutation(1200)[:120]  # the split's draw (seed 0)
    if where == "held-out":  # it would only have blurred the accuracy, silently
        row = int(held[0])
    else:
        row = 650
        assert row not in held  # a training row ...
        assert row - np.count_nonzero(held < row) != row  # ... counted otherwise among them
    X[row, 1] = np.nan
    params = {"method": method, "early_stopping": True, "random_state": 0}
    match = rf"X contains NaN or inf: 1 non-finite value\(s\), first at row {row}, column 1 "
    with pytest.raises(ValueError, match=match) as err:
        gu.LogisticRegression(**params).fit(_chunked(X, 300), _chunked(y, 300))
    with pytest.raises(ValueError, match=match) as ref:
        gu.LogisticRegression(**params).fit(X, y)
    assert str(err.value) == str(ref.value)


# Streamed sgd / minibatch (groundup/_dask_stream.py): the in-memory path where the orders
# agree, else a plain loop with the sigmoid / softmax updates written out.
LOGISTIC_STREAM = [
    ("sgd", "binary", True, 600, {}),  # one chunk: exactly the in-memory fit, shuffled
    ("minibatch", "three", True, 600, {"early_stopping": True}),
    ("sgd", "three", False, 170, {"shuffle": False}),  # chunks in order = in-memory order
    (
        "minibatch",
        "binary",
        False,
        160,  # chunks a multiple of batch_size
        {"shuffle": False, "batch_size": 16, "penalty": "l2", "alpha": 1e-3},
    ),
]


@pytest.mark.parametrize(("method", "kind", "weighted", "rows", "extra"), LOGISTIC_STREAM)
def test_logistic_streaming_same_path_as_in_memory(scheduler, method, kind, weighted, rows, extra):
    X, _ = _data(600, 3)
    y = _labels(X, kind)
    sw = _weights(len(y)) if weighted else None
    params = {
        "method": method,
        "learning_rate": "constant",
        "eta0": 0.2,
        "max_iter": 40,
        "random_state": 0,
        **extra,
    }
    ref = gu.LogisticRegression(**params).fit(X, y, sample_weight=sw)
    est = gu.LogisticRegression(**params).fit(
        _chunked(X, rows), _chunked(y, rows), None if sw is None else _chunked(sw, rows)
    )
    assert est.backend_ == "dask"
    assert type(est.coef_) is np.ndarray
    assert est.coef_.shape == ref.coef_.shape
    assert est.coef_.dtype == np.float64
    assert est.converged_
    assert ref.converged_
    assert est.n_iter_ == ref.n_iter_ < 40
    assert est.t_ == ref.t_
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(est.loss_history_, ref.loss_history_, rtol=1e-9)


def _reference_logistic_stream(X, y, sw, rows, *, k, batch_size, epochs, seed, **kw):
    """Per-batch sigmoid (k=1) or softmax updates in the documented order, weights normalised
    to mean 1 over the training rows, ``eta = eta0 / t**power_t`` and the L2 decay of the
    engine. Returns W (d, k), b (k,) and the training log-loss after every epoch."""
    eta0, power_t, alpha, fraction = kw["eta0"], kw["power_t"], kw["alpha"], kw["fraction"]
    held, order = _stream_order(
        len(y), rows, batch_size=batch_size, epochs=epochs, seed=seed, validation_fraction=fraction
    )
    train = ~held
    w = np.ones(len(y)) if sw is None else sw * (train.sum() / sw[train].sum())
    Y = (y == 1).astype(float)[:, None] if k == 1 else np.eye(k)[y]

    def margins_and_residuals(i, W, b):
        Z = X[i] @ W + b
        P = 1.0 / (1.0 + np.exp(-Z)) if k == 1 else np.exp(Z) / np.exp(Z).sum(1, keepdims=True)
        return Z, (P - Y[i]) * w[i][:, None]

    W, b, t, losses = np.zeros((X.shape[1], k)), np.zeros(k), 1, []
    for batches in order:
        for i in batches:
            _, R = margins_and_residuals(i, W, b)
            eta = eta0 / t**power_t
            W = max(0.0, 1.0 - eta * alpha) * W - eta * X[i].T @ R / len(i)
            b, t = b - eta * R.sum(0) / len(i), t + 1
        Z = X[train] @ W + b
        if k == 1:
            per_row = np.logaddexp(0.0, Z[:, 0]) - Y[train, 0] * Z[:, 0]
        else:
            per_row = np.log(np.exp(Z).sum(1)) - (Z * Y[train]).sum(1)
        losses.append(np.average(per_row, weights=w[train]))
    return W, b, np.asarray(losses), t


@pytest.mark.parametrize(
    ("method", "kind", "batch_size", "weighted", "extra"),
    [
        ("sgd", "binary", 1, True, {"early_stopping": True, "power_t": 0.25}),
        ("minibatch", "three", 16, False, {"penalty": "l2", "alpha": 1e-2, "power_t": 0.0}),
    ],
)
def test_logistic_streaming_shuffle_order_matches_reference_loop(
    scheduler, method, kind, batch_size, weighted, extra
):
    X, _ = _data(500, 3)
    y = _labels(X, kind)
    sw = _weights(len(y)) if weighted else None
    est = gu.LogisticRegression(
        method=method,
        batch_size=batch_size,
        learning_rate="invscaling",
        eta0=0.1,
        max_iter=3,
        tol=None,
        random_state=0,
        **extra,
    ).fit(_chunked(X, 150), _chunked(y, 150), sample_weight=sw)
    W, b, losses, t = _reference_logistic_stream(
        X,
        y,
        sw,
        150,
        k=1 if kind == "binary" else 3,
        batch_size=batch_size,
        epochs=3,
        seed=0,
        eta0=0.1,
        power_t=extra["power_t"],
        alpha=extra.get("alpha", 0.0),
        fraction=0.1 if extra.get("early_stopping") else None,
    )
    np.testing.assert_allclose(est.coef_, W.T, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(est.intercept_, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(est.loss_history_, losses, rtol=1e-9)
    assert est.t_ == t
    assert est.n_iter_ == 3


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("schedule", SCHEDULES)
def test_logistic_streaming_every_schedule_as_in_memory(schedule):
    X, _ = _data(300, 3)
    y = _labels(X, "binary")
    params = {
        "method": "minibatch",
        "learning_rate": schedule,
        "eta0": 0.2,
        "penalty": "l2",
        "alpha": 1e-3,
        "epochs_drop": 2,
        "tol": 1e-2,
        "n_iter_no_change": 2,
        "max_iter": 8,
        "random_state": 1,
    }
    ref = gu.LogisticRegression(**params).fit(X, y)
    est = gu.LogisticRegression(**params).fit(_chunked(X, 300), _chunked(y, 300))
    assert (est.n_iter_, est.t_, est.converged_) == (ref.n_iter_, ref.t_, ref.converged_)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(est.loss_history_, ref.loss_history_, rtol=1e-9)


def test_logistic_streaming_warm_start_and_path_as_in_memory():
    X, _ = _data(300, 3)
    y = _labels(X, "three")
    params = {"method": "sgd", "max_iter": 2, "tol": None, "random_state": 0}
    ref = gu.LogisticRegression(**params, warm_start=True, record_path=True)
    est = gu.LogisticRegression(**params, warm_start=True, record_path=True)
    for _ in range(2):
        ref.fit(X, y)
        est.fit(_chunked(X, 300), _chunked(y, 300))
        np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-9)
        np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-9, atol=1e-12)
    assert len(est.path_) == 2
    for (cw, cb), (rw, rb) in zip(est.path_, ref.path_, strict=True):
        np.testing.assert_allclose(cw, rw, rtol=1e-9)
        np.testing.assert_allclose(cb, rb, rtol=1e-9, atol=1e-12)
    cold = gu.LogisticRegression(**params).fit(_chunked(X, 300), _chunked(y, 300))
    assert not np.allclose(cold.coef_, est.coef_)  # the second fit went on from the first


def test_logistic_streaming_warnings_and_errors_as_in_memory():
    from sklearn.exceptions import ConvergenceWarning

    X, _ = _data(400, 3)
    y = _labels(X, "binary")
    Xd, yd = _chunked(X, 400), _chunked(y, 400)
    short = {"method": "minibatch", "max_iter": 2, "random_state": 0}
    with pytest.warns(ConvergenceWarning, match="Maximum number of iteration"):
        ref = gu.LogisticRegression(**short).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="Maximum number of iteration"):
        est = gu.LogisticRegression(**short).fit(Xd, yd)
    assert est.n_iter_ == ref.n_iter_ == 2
    assert not est.converged_
    separable = (X[:, 0] > 0).astype(int)
    Xs = X + np.outer(2 * separable - 1, [1.0, 0.0, 0.0])  # a margin of 2 between the classes
    for data in ((Xs, separable), (_chunked(Xs, 100), _chunked(separable, 100))):
        with pytest.warns(ConvergenceWarning, match="linearly separable"):
            gu.LogisticRegression(method="sgd", eta0=1.0, max_iter=3, tol=None).fit(*data)
    wild = {"method": "minibatch", "learning_rate": "constant", "eta0": 10.0, "random_state": 0}
    with pytest.raises(gu.linear_model.DivergenceError) as ref_err:
        gu.LogisticRegression(**wild).fit(X * 1e3, y)
    with pytest.raises(gu.linear_model.DivergenceError) as err:
        gu.LogisticRegression(**wild).fit(_chunked(X * 1e3, 400), yd)
    assert str(err.value) == str(ref_err.value)  # same epoch, same loss
    Xn = X.copy()
    Xn[250, 2] = np.nan
    with pytest.raises(ValueError, match=r"X contains NaN or inf: 1 .*row 250, column 2"):
        gu.LogisticRegression(method="sgd", random_state=0).fit(_chunked(Xn, 100), yd)


# partial_fit on Dask: one epoch of the same fits from the current state, the class checks
# of the in-memory partial_fit. Each case a sequence of three calls on different rows (the
# second without classes, the third with the same classes again); the orders agree with the
# in-memory ones: one chunk per call, or shuffle=False with every chunk but the last a
# multiple of batch_size.
LOGISTIC_PARTIAL = [
    ("batch", "binary", True, None, {}),
    ("batch", "three", False, 150, {"early_stopping": True, "penalty": "l2", "alpha": 1e-3}),
    ("sgd", "three", True, None, {}),  # one chunk per call: shuffled as in memory
    ("sgd", "binary", False, 130, {"shuffle": False}),
    ("minibatch", "three", True, 160, {"shuffle": False, "batch_size": 16}),
    ("minibatch", "binary", False, None, {"early_stopping": True}),
]


@pytest.mark.parametrize(("method", "kind", "weighted", "rows", "extra"), LOGISTIC_PARTIAL)
def test_logistic_partial_fit_same_path_as_in_memory(
    scheduler, method, kind, weighted, rows, extra
):
    X, _ = _data(600, 3)
    y = _labels(X, kind)
    sw = _weights(len(y)) if weighted else None
    params = {"method": method, "learning_rate": "constant", "eta0": 0.2, "random_state": 0}
    ref = gu.LogisticRegression(**params, **extra)
    est = gu.LogisticRegression(**params, **extra)
    classes = np.unique(y)
    calls = [(slice(0, 400), classes), (slice(400, 600), None), (slice(0, 400), classes)]
    for rows_of_call, cls in calls:
        Xc, yc = X[rows_of_call], y[rows_of_call]
        swc = None if sw is None else sw[rows_of_call]
        size = len(yc) if rows is None else rows
        ref.partial_fit(Xc, yc, classes=cls, sample_weight=swc)
        est.partial_fit(
            _chunked(Xc, size),
            _chunked(yc, size),
            classes=cls,
            sample_weight=None if swc is None else _chunked(swc, size),
        )
        assert est.t_ == ref.t_
        np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-9, atol=1e-12)
    assert est.backend_ == "dask"
    assert type(est.coef_) is np.ndarray
    assert est.coef_.dtype == np.float64
    assert est.coef_.shape == ref.coef_.shape
    np.testing.assert_array_equal(est.classes_, classes)
    assert est.n_iter_ == ref.n_iter_ == 3
    assert est.t_ > 3
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(est.loss_history_, ref.loss_history_, rtol=1e-9)


def test_logistic_partial_fit_continues_fits_in_memory_and_on_dask():
    X, _ = _data(400, 3)
    y = _labels(X, "three")
    Xd, yd = _chunked(X, 400), _chunked(y, 400)
    params = {"method": "sgd", "max_iter": 2, "tol": None, "random_state": 0}
    ref = gu.LogisticRegression(**params).fit(X, y)
    ref.partial_fit(X, y)
    on_dask = gu.LogisticRegression(**params).fit(Xd, yd)
    on_dask.partial_fit(Xd, yd)
    from_memory = gu.LogisticRegression(**params).fit(X, y)  # continued with Dask data
    from_memory.partial_fit(Xd, yd)
    to_memory = gu.LogisticRegression(**params).fit(Xd, yd)  # a Dask model stays on Dask
    to_memory.partial_fit(X, y)
    for model in (on_dask, from_memory, to_memory):
        assert model.backend_ == "dask"
        assert type(model.coef_) is np.ndarray
        assert model.n_iter_ == ref.n_iter_ == 3
        assert model.t_ == ref.t_ == 1 + 3 * 400
        np.testing.assert_allclose(model.coef_, ref.coef_, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(model.intercept_, ref.intercept_, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(model.loss_history_, ref.loss_history_, rtol=1e-9)


# (classes of the calls before, the refused call's labels, its classes, the message)
LOGISTIC_PARTIAL_BAD = {
    "no-classes": ([], "binary", None, "classes must be passed on the first call"),
    "one-class": ([], "binary", [1], "has only one class"),
    "label-outside-classes": ([], "three", [0, 1], r"never seen in fit: \[2\]"),
    "continuous": ([], "continuous", [0, 1], "Unknown label type: continuous"),
    "other-classes": ([[0, 1]], "binary", [0, 1, 2], "differs from the classes of the earlier"),
    "new-label-later": ([[0, 1]], "three", None, r"never seen in fit: \[2\]"),
}


@pytest.mark.parametrize("method", ["batch", "sgd", "minibatch"])
@pytest.mark.parametrize("case", list(LOGISTIC_PARTIAL_BAD))
def test_logistic_partial_fit_bad_input_as_in_memory(method, case):
    earlier, kind, classes, match = LOGISTIC_PARTIAL_BAD[case]
    X, _ = _data(300, 3)
    y = _labels(X, "binary")
    bad = X[:, 0] if kind == "continuous" else _labels(X, kind)
    messages = []
    for wrap in (np.asarray, functools.partial(_chunked, rows=100)):
        est = gu.LogisticRegression(method=method, random_state=0)
        for cls in earlier:
            est.partial_fit(wrap(X), wrap(y), classes=cls)
        state = (est.coef_.copy(), est.t_, est.n_iter_) if earlier else None
        with pytest.raises(ValueError, match=match) as err:
            est.partial_fit(wrap(X), wrap(bad), classes=classes)
        messages.append(str(err.value))
        if state is None:
            assert not hasattr(est, "classes_")
        else:  # a refused call leaves the model as it was
            np.testing.assert_array_equal(est.coef_, state[0])
            assert (est.t_, est.n_iter_) == state[1:]
    assert messages[0] == messages[1]  # the in-memory message, word for word


# -- out of core ----------------------------------------------------------------------------
# Two worker processes, each with a memory limit of its own baseline (Python, NumPy, SciPy,
# scikit-learn, distributed and groundup imported and BLAS warmed up: ~220 MB on this
# machine, more elsewhere) plus OOC_HEADROOM, fit data 1.5 times that limit (6 times in the
# slow variant), generated chunk by chunk. The baseline is measured first on an unlimited
# probe worker, because it depends on the machine (CPU-specific BLAS buffers, library
# builds): a fixed limit that leaves 60 MB for data here left too little on another machine.
# A worker that held its share of the data would be killed by its nanny (terminate at
# 95 %); spilling and pausing are off, so nothing hides data on disk or stalls near the
# baseline. Each worker's peak RSS (VmHWM, reset after the warm-up) is checked as well.
OOC_COLS, OOC_CHUNK = 31, 25_000
OOC_CHUNK_BYTES = OOC_CHUNK * (OOC_COLS + 1) * 8
OOC_HEADROOM = 20 * OOC_CHUNK_BYTES  # 128 MB: the nanny kills at 19 chunks, the test fails at 12
OOC_SETTINGS = {
    "distributed.worker.memory.target": False,
    "distributed.worker.memory.spill": False,
    "distributed.worker.memory.pause": False,
    "distributed.worker.memory.terminate": 0.95,
    # Large arrays straight from and back to the OS, so that RSS follows the live data
    # (glibc otherwise keeps freed chunk-sized blocks in its heap).
    "distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_": 65536,
}


def _process_cluster(memory_limit: int, n_workers: int) -> distributed.Client:
    cluster = distributed.LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        memory_limit=memory_limit,
        dashboard_address=":0",
    )
    return distributed.Client(cluster)


def _warm_up(client) -> None:
    """Import groundup's Dask path and run one chunk-sized BLAS product in every worker."""
    client.run(importlib.import_module, "groundup.dask")
    block = np.random.default_rng(0).standard_normal((OOC_CHUNK, OOC_COLS + 1))
    client.run(np.matmul, block.T, block)


@pytest.fixture(scope="module")
def small_workers():
    import dask

    with dask.config.set(OOC_SETTINGS):
        probe = _process_cluster(memory_limit=0, n_workers=1)  # no limit: only measures
        try:
            _warm_up(probe)
            baseline = max(_status(probe, "VmRSS").values())
        finally:
            probe.close()
            probe.cluster.close()
        client = _process_cluster(memory_limit=baseline + OOC_HEADROOM, n_workers=2)
        _warm_up(client)
        yield client, baseline + OOC_HEADROOM
        client.close()
        client.cluster.close()


def _lazy_problem(rows: int):
    rng = da.random.default_rng(42)
    X = rng.standard_normal((rows, OOC_COLS), chunks=(OOC_CHUNK, OOC_COLS))
    noise = rng.standard_normal((rows,), chunks=(OOC_CHUNK,))
    y = X @ np.linspace(-1.0, 1.0, OOC_COLS) + 2.0 + 0.5 * noise
    return X, y


def _status(client, field: str) -> dict[str, int]:
    """A field of each worker process's /proc/self/status, in bytes (Linux)."""
    read = functools.partial(pathlib.Path.read_text, pathlib.Path("/proc/self/status"))
    out = {}
    for key, text in client.run(read).items():
        line = next(ln for ln in text.splitlines() if ln.startswith(field + ":"))
        out[key] = int(line.split()[1]) * 1024
    return out


def _reset_peaks(client) -> None:
    """Reset each worker's peak RSS (VmHWM) to its current RSS (Linux: clear_refs 5)."""
    write = functools.partial(pathlib.Path.write_text, pathlib.Path("/proc/self/clear_refs"))
    client.run(functools.partial(write, "5"))


STREAMED = {"method": "minibatch", "batch_size": 250, "shuffle": False, "max_iter": 1}


@pytest.mark.skipif(
    not pathlib.Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc memory stats"
)
@pytest.mark.parametrize("times", [1.5, pytest.param(6.0, marks=pytest.mark.slow, id="6x")])
def test_out_of_core_fit_on_small_workers(small_workers, times):
    client, limit = small_workers
    rows = OOC_CHUNK * math.ceil(times * limit / OOC_CHUNK_BYTES)  # data = times the limit
    X, y = _lazy_problem(rows)
    data_bytes = X.nbytes + y.nbytes
    _reset_peaks(client)
    before = _status(client, "VmRSS")
    normal = gu.LinearRegression().fit(X, y)
    tracemalloc.start()
    stream = gu.LinearRegression(**STREAMED, tol=None, eta0=0.01).fit(X, y)
    _, client_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    after = _status(client, "VmHWM")
    assert after.keys() == before.keys()  # no worker was killed and restarted
    share = data_bytes / len(after)  # what each worker went through
    for key, peak in after.items():
        assert peak < limit < data_bytes / 1.4
        # A few chunks above the worker's baseline (~5 seen), whatever the data's size.
        assert peak - before[key] < 12 * OOC_CHUNK_BYTES < share / 2
    # The streamed fit held a few chunks in this process (the current one, the next one
    # loading, their transfer buffers) and, here, the LocalCluster scheduler's bookkeeping
    # (~0.1 MB per chunk): never the data.
    assert OOC_CHUNK * OOC_COLS * 8 <= client_peak < data_bytes / 8
    # The same data in memory (generated here, without the cluster): the same answers.
    import dask

    Xh, yh = dask.compute(X, y, scheduler="threads")
    ref = gu.LinearRegression().fit(Xh, yh)
    np.testing.assert_allclose(normal.coef_, ref.coef_, rtol=1e-9)
    np.testing.assert_allclose(normal.intercept_, ref.intercept_, rtol=1e-9)
    ref = gu.LinearRegression(**STREAMED, tol=None, eta0=0.01).fit(Xh, yh)
    np.testing.assert_allclose(stream.coef_, ref.coef_, rtol=1e-9)
    np.testing.assert_allclose(stream.loss_history_, ref.loss_history_, rtol=1e-8)
