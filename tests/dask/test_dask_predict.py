"""Predicting on Dask (lazily, chunk by chunk), Dask DataFrames, mixed Dask and in-memory
inputs, and bad input met on Dask: the messages of the in-memory path."""

from __future__ import annotations

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from _dask_data import chunked, data, labels, weights  # noqa: E402

import groundup as gu  # noqa: E402
from groundup import backends  # noqa: E402

xnp = backends.resolve("numpy").xp


# -- predict, score, frames, mixed input ----------------------------------------------------
def test_predict_is_lazy_and_answers_in_kind(scheduler):
    X, y = data()
    est = gu.LinearRegression().fit(chunked(X, 300), chunked(y, 300))
    ref = gu.LinearRegression().fit(X, y)
    pred = est.predict(chunked(X, 500))
    assert isinstance(pred, da.Array)
    assert pred.dtype == np.float64
    np.testing.assert_allclose(pred.compute(), ref.predict(X), rtol=1e-10)
    host = est.predict(X)  # NumPy in, NumPy out
    assert type(host) is np.ndarray
    np.testing.assert_allclose(host, ref.predict(X), rtol=1e-10)
    lazy = ref.predict(chunked(X, 500))  # a NumPy-fitted model on Dask input: lazy too
    assert isinstance(lazy, da.Array)
    np.testing.assert_allclose(lazy.compute(), ref.predict(X), rtol=1e-12)
    assert est.score(chunked(X, 500), chunked(y, 500)) == pytest.approx(ref.score(X, y))
    assert est.score(X, y) == pytest.approx(ref.score(X, y))


def test_predict_raises_on_nan_chunk_when_computed():
    X, y = data()
    est = gu.LinearRegression().fit(X, y)
    Xn = X.copy()
    Xn[705, 1] = np.nan
    pred = est.predict(chunked(Xn, 300))  # lazy: no error yet
    with pytest.raises(ValueError, match="row 705, column 1"):
        pred.compute()


@pytest.mark.parametrize("kind", ["binary", "three", "strings"])
def test_logistic_predictions_are_lazy_and_equal_in_memory(scheduler, kind):
    X, _ = data(900, 3)
    y = labels(X, kind)
    sw = weights(900)
    Xd, yd = chunked(X, 250), chunked(y, 250)
    params = {"penalty": "l2", "alpha": 1e-3, "random_state": 0}
    est = gu.LogisticRegression(**params).fit(Xd, yd)
    ref = gu.LogisticRegression(**params).fit(X, y)
    k = len(ref.classes_)
    answers = {
        "predict": (900,),
        "predict_proba": (900, k),
        "predict_log_proba": (900, k),
        "decision_function": (900,) if k == 2 else (900, k),
    }
    for name, shape in answers.items():
        for model in (est, ref):  # a Dask-fitted and a NumPy-fitted model, both lazy
            lazy = getattr(model, name)(Xd)
            assert isinstance(lazy, da.Array), name
            assert lazy.shape == shape
            got, want = lazy.compute(), getattr(model, name)(X)  # in memory: NumPy
            assert got.shape == shape
            if name == "predict":
                np.testing.assert_array_equal(got, want)
            else:
                np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    # two Newton fits stopped by tol=1e-3 (chunked sums on Dask): the same model to ~1e-6
    np.testing.assert_allclose(est.predict_proba(X), ref.predict_proba(X), atol=1e-5)
    assert est.predict(Xd).dtype == ref.classes_.dtype
    assert est.score(Xd, yd) == pytest.approx(est.score(X, y), rel=1e-12)
    weighted = est.score(Xd, yd, sample_weight=chunked(sw, 250))
    assert weighted == pytest.approx(est.score(X, y, sample_weight=sw), rel=1e-12)
    assert weighted != pytest.approx(est.score(X, y), rel=1e-6)  # the weights count
    assert type(est.predict_proba(X)) is np.ndarray  # in-memory input, NumPy answer


def test_logistic_predict_on_dask_is_checked_lazily():
    X, _ = data(600, 3)
    y = labels(X, "binary")
    est = gu.LogisticRegression().fit(X, y)
    Xn = X.copy()
    Xn[433, 2] = np.inf
    pred = est.predict_proba(chunked(Xn, 200))  # lazy: nothing computed, no error yet
    with pytest.raises(ValueError, match="row 433, column 2"):
        pred.compute()
    with pytest.raises(ValueError, match="X has 2 features, but LogisticRegression is expecting 3"):
        est.predict(chunked(X[:, :2], 200))
    with pytest.raises(ValueError, match="never seen in fit"):
        est.score(chunked(X, 200), chunked(np.where(y == 1, 5, 0), 200))


def test_dask_dataframe_input():
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    X, y = data()
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
    X, y = data()
    sw = weights(len(y))
    ref = gu.LinearRegression().fit(X, y, sample_weight=sw)
    # Dask X with y and weights in memory: chunked like X.
    est = gu.LinearRegression().fit(chunked(X, 250), y, sample_weight=list(sw))
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-10)
    # Dask y chunked differently from X: rechunked to X's rows.
    est = gu.LinearRegression().fit(chunked(X, 250), chunked(y, 333), chunked(sw, 100))
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-10)
    # In-memory X, Dask y, backend=None: two libraries, a clear error.
    with pytest.raises(ValueError, match="same library"):
        gu.LinearRegression().fit(X, chunked(y, 250))
    # In-memory data with backend="dask": moved into Dask.
    est = gu.fit(X, y, backend="dask", sample_weight=sw)
    assert est.backend_ == "dask"
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-10)


# -- bad input --------------------------------------------------------------------------------
def test_unknown_chunk_sizes_say_compute_chunk_sizes():
    X, y = data()
    Xd = chunked(X, 300)
    Xu = Xd[Xd[:, 0] > -100]  # boolean indexing: nan chunk sizes
    with pytest.raises(ValueError, match=r"unknown chunk sizes.*compute_chunk_sizes\(\)"):
        gu.LinearRegression().fit(Xu, chunked(y, 300))
    yd = chunked(y, 300)
    with pytest.raises(ValueError, match=r"y has unknown chunk sizes"):
        gu.LinearRegression().fit(Xd, yd[yd > -1e9])
    est = gu.LinearRegression().fit(Xu.compute_chunk_sizes(), yd)  # the fix works
    assert est.coef_.shape == (4,)


def test_column_chunks_say_rechunk():
    X, y = data()
    with pytest.raises(ValueError, match=r"chunked along its columns.*rechunk\(\{1: -1\}\)"):
        gu.LinearRegression().fit(da.from_array(X, chunks=(300, 2)), chunked(y, 300))
    with pytest.raises(ValueError, match=r"rechunk"):
        gu.LinearRegression().fit(X, y).predict(da.from_array(X, chunks=(300, 2)))


@pytest.mark.parametrize("method", ["normal", "minibatch"])
def test_nan_located_across_chunks(method):
    X, y = data()
    X[1000, 2] = np.nan
    X[1100, 0] = np.inf
    with pytest.raises(ValueError, match=r"X contains NaN or inf: 2 .*row 1000, column 2"):
        gu.LinearRegression(method=method).fit(chunked(X, 300), chunked(y, 300))
    X, y = data()
    y[7] = np.nan
    with pytest.raises(ValueError, match=r"y contains NaN or inf: 1 .*index 7"):
        gu.LinearRegression(method=method).fit(chunked(X, 300), chunked(y, 300))


def test_bad_weights_and_shapes():
    X, y = data()
    Xd, yd = chunked(X, 300), chunked(y, 300)
    sw = weights(len(y))
    sw[900] = -1.0
    with pytest.raises(ValueError, match="Negative values"):
        gu.LinearRegression().fit(Xd, yd, chunked(sw, 300))
    with pytest.raises(ValueError, match="sums to zero"):
        gu.LinearRegression().fit(Xd, yd, np.zeros(len(y)))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        gu.LinearRegression().fit(Xd, chunked(y[:-1], 300))
    with pytest.raises(ValueError, match="Reshape your data"):
        gu.LinearRegression().fit(yd, yd)
    with pytest.raises(ValueError, match="expecting 4 features"):
        gu.LinearRegression().fit(Xd, yd).predict(Xd[:, :3])
