"""LogisticRegression on Dask (groundup/dask/_logistic.py, _stream.py): the in-memory path
(Newton, batch, the streamed sgd / minibatch), scikit-learn, and a plain sigmoid / softmax
loop in the documented visiting order."""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from _dask_data import chunked, data, labels, stream_order, weights  # noqa: E402

import groundup as gu  # noqa: E402
from groundup import backends  # noqa: E402
from groundup.kernels.schedules import SCHEDULES  # noqa: E402

xnp = backends.resolve("numpy").xp


# -- logistic regression --------------------------------------------------------------------
LOGISTIC = [
    ("newton", "binary", True, {}),
    ("newton", "three", False, {}),
    ("newton", "strings", False, {"fit_intercept": False}),
    ("batch", "binary", False, {"early_stopping": True}),
    ("batch", "three", True, {"penalty": "l2", "alpha": 1e-3, "tol": None}),
]


@pytest.mark.parametrize(("method", "kind", "weighted", "extra"), LOGISTIC)
def test_logistic_same_path_as_in_memory(scheduler, method, kind, weighted, extra):
    X, _ = data(3000, 4)
    y = labels(X, kind)
    sw = weights(len(y)) if weighted else None
    params = {"method": method, "random_state": 0, **extra}
    if method == "batch":
        params |= {"learning_rate": "constant", "eta0": 0.5, "max_iter": 25}
    ref = gu.LogisticRegression(**params).fit(X, y, sample_weight=sw)
    est = gu.LogisticRegression(**params).fit(
        chunked(X, 400), chunked(y, 400), None if sw is None else chunked(sw, 400)
    )
    assert est.backend_ == "dask"
    assert type(est.coef_) is np.ndarray
    assert est.coef_.shape == ref.coef_.shape
    np.testing.assert_array_equal(est.classes_, ref.classes_)
    assert est.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(est.loss_history_, ref.loss_history_, rtol=1e-10)
    proba = est.predict_proba(chunked(X, 500))
    assert isinstance(proba, da.Array)
    np.testing.assert_allclose(proba.compute(), ref.predict_proba(X), rtol=1e-8, atol=1e-12)
    np.testing.assert_array_equal(np.asarray(est.predict(X)), ref.predict(X))


@pytest.mark.parametrize("kind", ["binary", "three"])
@pytest.mark.parametrize("max_iter", [1, 400])
def test_l1_certificate_on_dask_as_in_memory(scheduler, kind, max_iter):
    """The duality gap of an L1 fit from the tree-reduced pass (the dual means summed over
    the chunks) is the in-memory one: the same stop, the same converged_ and excess."""
    X, _ = data(1500, 4)
    y = labels(X, kind)
    sw = weights(len(y))
    params = {"method": "batch", "penalty": "l1", "alpha": 1e-2, "max_iter": max_iter}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = gu.LogisticRegression(**params).fit(X, y, sample_weight=sw)
        est = gu.LogisticRegression(**params).fit(
            chunked(X, 400), chunked(y, 400), chunked(sw, 400)
        )
    assert (est.n_iter_, est.converged_, est.stop_reason_) == (
        ref.n_iter_,
        ref.converged_,
        ref.stop_reason_,
    )
    assert est.converged_ == (max_iter == 400)
    assert est._excess == pytest.approx(ref._excess, rel=1e-8)


def test_logistic_matches_sklearn_newton():
    from sklearn.linear_model import LogisticRegression as SkLogistic

    X, _ = data(2000, 3)
    y = labels(X, "binary")
    est = gu.LogisticRegression(tol=1e-8, random_state=0).fit(chunked(X, 300), chunked(y, 300))
    ref = SkLogistic(C=np.inf, tol=1e-10, max_iter=1000).fit(X, y)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-5)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-5)


def test_logistic_bad_input_on_dask():
    X, _ = data(1200, 3)
    y = labels(X, "binary")
    Xd, yd = chunked(X, 300), chunked(y, 300)
    with pytest.raises(ValueError, match="only one class"):
        gu.LogisticRegression().fit(Xd, chunked(np.zeros(1200, dtype=int), 300))
    Xn = X.copy()
    Xn[650, 1] = np.nan
    for seed in (0, 3):  # rows counted in the whole data, whether Newton's subsample
        # (200 of the 1200 rows) misses the bad row (seed 0) or holds it (seed 3)
        with pytest.raises(ValueError, match=r"X contains NaN or inf: 1 .*row 650, column 1"):
            gu.LogisticRegression(random_state=seed).fit(chunked(Xn, 300), yd)
    sw = weights(1200)
    sw[3] = -1.0
    with pytest.raises(ValueError, match="Negative values"):
        gu.LogisticRegression().fit(Xd, yd, sample_weight=sw)


@pytest.mark.parametrize("method", ["batch", "sgd", "minibatch"])
@pytest.mark.parametrize("where", ["training", "held-out"])
def test_logistic_nan_located_in_the_users_rows_with_early_stopping(method, where):
    X, _ = data(1200, 3)
    y = labels(X, "binary")
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
        gu.LogisticRegression(**params).fit(chunked(X, 300), chunked(y, 300))
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
    X, _ = data(600, 3)
    y = labels(X, kind)
    sw = weights(len(y)) if weighted else None
    params = {
        "method": method,
        "learning_rate": "constant",
        "eta0": 0.2,
        "max_iter": 40,
        "tol": 1e-3,  # scikit-learn's rule (converged_ is then certified apart)
        "random_state": 0,
        **extra,
    }
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        ref = gu.LogisticRegression(**params).fit(X, y, sample_weight=sw)
        est = gu.LogisticRegression(**params).fit(
            chunked(X, rows), chunked(y, rows), None if sw is None else chunked(sw, rows)
        )
    assert est.backend_ == "dask"
    assert type(est.coef_) is np.ndarray
    assert est.coef_.shape == ref.coef_.shape
    assert est.coef_.dtype == np.float64
    # the rule fired (in-order sgd on three classes stalls, honestly, far from the minimum)
    assert est.stop_reason_ == ref.stop_reason_ in ("tol", "stalled")
    assert est.converged_ == ref.converged_
    assert [str(w.message) for w in said[: len(said) // 2]] == [
        str(w.message) for w in said[len(said) // 2 :]
    ]  # the same warnings, word for word
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
    held, order = stream_order(
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
    X, _ = data(500, 3)
    y = labels(X, kind)
    sw = weights(len(y)) if weighted else None
    est = gu.LogisticRegression(
        method=method,
        batch_size=batch_size,
        learning_rate="invscaling",
        eta0=0.1,
        max_iter=3,
        tol=None,
        random_state=0,
        **extra,
    ).fit(chunked(X, 150), chunked(y, 150), sample_weight=sw)
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
    X, _ = data(300, 3)
    y = labels(X, "binary")
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
    est = gu.LogisticRegression(**params).fit(chunked(X, 300), chunked(y, 300))
    assert (est.n_iter_, est.t_, est.converged_) == (ref.n_iter_, ref.t_, ref.converged_)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(est.loss_history_, ref.loss_history_, rtol=1e-9)


def test_logistic_streaming_warm_start_and_path_as_in_memory():
    X, _ = data(300, 3)
    y = labels(X, "three")
    params = {"method": "sgd", "max_iter": 2, "tol": None, "random_state": 0}
    ref = gu.LogisticRegression(**params, warm_start=True, record_path=True)
    est = gu.LogisticRegression(**params, warm_start=True, record_path=True)
    for _ in range(2):
        ref.fit(X, y)
        est.fit(chunked(X, 300), chunked(y, 300))
        np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-9)
        np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-9, atol=1e-12)
    assert len(est.path_) == 2
    for (cw, cb), (rw, rb) in zip(est.path_, ref.path_, strict=True):
        np.testing.assert_allclose(cw, rw, rtol=1e-9)
        np.testing.assert_allclose(cb, rb, rtol=1e-9, atol=1e-12)
    cold = gu.LogisticRegression(**params).fit(chunked(X, 300), chunked(y, 300))
    assert not np.allclose(cold.coef_, est.coef_)  # the second fit went on from the first


def test_logistic_streaming_warnings_and_errors_as_in_memory():
    from sklearn.exceptions import ConvergenceWarning

    X, _ = data(400, 3)
    y = labels(X, "binary")
    Xd, yd = chunked(X, 400), chunked(y, 400)
    short = {"method": "minibatch", "max_iter": 2, "random_state": 0}
    with pytest.warns(ConvergenceWarning, match="ran max_iter=2 epochs"):
        ref = gu.LogisticRegression(**short).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="ran max_iter=2 epochs"):
        est = gu.LogisticRegression(**short).fit(Xd, yd)
    assert est.n_iter_ == ref.n_iter_ == 2
    assert not est.converged_
    separable = (X[:, 0] > 0).astype(int)
    Xs = X + np.outer(2 * separable - 1, [1.0, 0.0, 0.0])  # a margin of 2 between the classes
    for pair in ((Xs, separable), (chunked(Xs, 100), chunked(separable, 100))):
        with pytest.warns(ConvergenceWarning, match="linearly separable"):
            gu.LogisticRegression(method="sgd", eta0=1.0, max_iter=3, tol=None).fit(*pair)
    wild = {"method": "minibatch", "learning_rate": "constant", "eta0": 10.0, "random_state": 0}
    with pytest.raises(gu.linear_model.DivergenceError) as ref_err:
        gu.LogisticRegression(**wild).fit(X * 1e3, y)
    with pytest.raises(gu.linear_model.DivergenceError) as err:
        gu.LogisticRegression(**wild).fit(chunked(X * 1e3, 400), yd)
    assert str(err.value) == str(ref_err.value)  # same epoch, same loss
    Xn = X.copy()
    Xn[250, 2] = np.nan
    with pytest.raises(ValueError, match=r"X contains NaN or inf: 1 .*row 250, column 2"):
        gu.LogisticRegression(method="sgd", random_state=0).fit(chunked(Xn, 100), yd)


# partial_fit on Dask: one epoch of the same fits from the current state, the class checks
# of the in-memory partial_fit. Each case a sequence of three calls on different rows (the
# second without classes, the third with the same classes again); the orders agree with the
# in-memory ones: one chunk per call, or shuffle=False with every chunk but the last a
# multiple of batch_size.
LOGISTIC_PARTIAL = [
    ("batch", "binary", True, None, {}),
    ("batch", "three", False, 150, {"penalty": "l2", "alpha": 1e-3}),
    ("sgd", "three", True, None, {}),  # one chunk per call: shuffled as in memory
    ("sgd", "binary", False, 130, {"shuffle": False}),
    ("minibatch", "three", True, 160, {"shuffle": False, "batch_size": 16}),
    ("minibatch", "binary", False, None, {"n_iter_no_change": 2}),
]


@pytest.mark.parametrize(("method", "kind", "weighted", "rows", "extra"), LOGISTIC_PARTIAL)
def test_logistic_partial_fit_same_path_as_in_memory(
    scheduler, method, kind, weighted, rows, extra
):
    X, _ = data(600, 3)
    y = labels(X, kind)
    sw = weights(len(y)) if weighted else None
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
            chunked(Xc, size),
            chunked(yc, size),
            classes=cls,
            sample_weight=None if swc is None else chunked(swc, size),
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
    X, _ = data(400, 3)
    y = labels(X, "three")
    Xd, yd = chunked(X, 400), chunked(y, 400)
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
    X, _ = data(300, 3)
    y = labels(X, "binary")
    bad = X[:, 0] if kind == "continuous" else labels(X, kind)
    messages = []
    for wrap in (np.asarray, functools.partial(chunked, rows=100)):
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
