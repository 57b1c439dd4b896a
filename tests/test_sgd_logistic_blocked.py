"""The blocked exact log-loss SGD epoch (``kernels/sgd_logistic_blocked.py``).

- the epoch equals the one-sample reference loop (``kernels/reference.py``) on every case
  (NumPy, array-api-strict, torch), binary and multinomial, with and without sample weights,
  decay and intercept, ragged windows and groups;
- windows that do not settle are split (forced here by allowing one Newton step), and
  strongly coupled windows (a large step) settle or split: the same iterates either way;
- the engine takes ``sgd_epoch`` for one-sample epochs of the logistic objectives;
- ``LogisticRegression(method="sgd")`` equals ``SGDClassifier(loss="log_loss")`` (binary,
  ``shuffle=False``) to 1e-10, and class weights enter as sample weights.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _helpers import assert_on_case
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from test_fastpaths import _close, _data, _engine, _perms, _spy, _start

import groundup as gu
from groundup.kernels import reference, sgd_logistic_blocked
from groundup.kernels.logistic import BinaryLogLoss, MultinomialLogLoss
from groundup.kernels.losses import ExactSGDEpoch
from groundup.kernels.schedules import EpochRows, Schedule

# OpenBLAS's float32 kernels now and then leave the "invalid" flag set after a product of
# finite numbers (seen once in ~10 runs of the whole suite, never alone), which NumPy reports
# as a RuntimeWarning; the results are compared with the reference loop all the same, so a
# NaN would fail the comparison.
pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered in matmul:RuntimeWarning")


def _objective(case, n, n_classes, *, weighted, d=4, seed=9, scale=1.0):
    X, codes, sw = _data(case, n, d, seed=seed, weighted=weighted, labels=n_classes)
    cls = BinaryLogLoss if n_classes == 2 else MultinomialLogLoss
    objective = cls(
        scale * X,
        codes,
        sw,
        n_classes=n_classes,
        solve_triangular=case.backend.solve_triangular,
        speculative=case.backend.on_host,
        xp=case.xp,
    )
    return objective, codes


def _targets(objective):
    """``y`` as the blocked epoch takes it: (n, 1) 0/1 targets, or the one-hot rows."""
    if objective.outputs == 1:
        return objective.xp.reshape(objective.y, (-1, 1))
    return objective.epoch_targets_of(objective.y, objective.X.dtype)


def _reference(case, objective, codes, W0, b0, schedule, *, alpha, fit_intercept, order):
    return reference.gradient_descent(
        objective.X,
        codes,
        objective.sw,
        W0,
        b0,
        loss="log",
        eta=schedule,
        epochs=1,
        batch_size=1,
        alpha=alpha,
        fit_intercept=fit_intercept,
        orders=[order],
        xp=case.xp,
    )


@pytest.mark.parametrize(("block", "group_rows"), [(8, 24), (5, 5), (1, 7), (64, 4096)])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("n_classes", [2, 3], ids=["binary", "multinomial"])
def test_blocked_epoch_equals_reference(case, n_classes, weighted, block, group_rows):
    """Ragged last windows and groups, windows of one, a window larger than the data."""
    n = 37
    objective, codes = _objective(case, n, n_classes, weighted=weighted)
    k = 1 if n_classes == 2 else n_classes
    schedule = Schedule("invscaling", 0.3)
    etas = schedule.array(1, n, dtype=objective.X.dtype, device=case.backend.device, xp=case.xp)
    (order,) = _perms(case, n, 1)
    W0, b0 = _start(case, 4, k, value=0.2)
    rows = EpochRows(objective.X, _targets(objective), objective.sw, order, case.xp)
    W, b = sgd_logistic_blocked.logistic_sgd_epoch(
        rows,
        W0,
        b0,
        etas,
        alpha=0.02,
        fit_intercept=True,
        block=block,
        group_rows=group_rows,
        solve_triangular=case.backend.solve_triangular,
        xp=case.xp,
    )
    Wr, br = _reference(
        case, objective, codes, W0, b0, schedule, alpha=0.02, fit_intercept=True, order=order
    )
    assert_on_case(W, case)
    assert tuple(W.shape) == (4, k)
    assert tuple(b.shape) == (k,)
    _close(case, W, Wr)
    _close(case, b, br)


@pytest.mark.parametrize("fit_intercept", [True, False], ids=["intercept", "no-intercept"])
@pytest.mark.parametrize("alpha", [0.0, 0.05, None], ids=["no-penalty", "l2", "l2-per-feature"])
@pytest.mark.parametrize("n_classes", [2, 4], ids=["binary", "multinomial"])
def test_sgd_epoch_equals_reference(case, n_classes, alpha, fit_intercept):
    """``objective.sgd_epoch`` (the engine's entry) over 300 weighted samples, 5 windows;
    ``None``: one L2 strength per feature (a preconditioned fit's), each weight decayed by
    its own factor every update."""
    n = 300
    if alpha is None:
        alpha = case.asarray(np.array([[0.01], [0.05], [0.2], [0.0]]))
    objective, codes = _objective(case, n, n_classes, weighted=True, seed=2)
    k = 1 if n_classes == 2 else n_classes
    schedule = Schedule("constant", 0.05)
    etas = schedule.array(1, n, dtype=objective.X.dtype, device=case.backend.device, xp=case.xp)
    W0, b0 = _start(case, 4, k, value=0.1)
    W, b = objective.sgd_epoch(None, W0, b0, etas, alpha, fit_intercept)
    Wr, br = _reference(
        case,
        objective,
        codes,
        W0,
        b0,
        schedule,
        alpha=alpha,
        fit_intercept=fit_intercept,
        order=None,
    )
    _close(case, W, Wr)
    _close(case, b, br)
    if not fit_intercept:
        np.testing.assert_array_equal(case.to_numpy(b), case.to_numpy(b0))


@pytest.mark.parametrize("max_steps", [1, 2], ids=["one-step", "two-steps"])
@pytest.mark.parametrize("n_classes", [2, 3], ids=["binary", "multinomial"])
def test_unsettled_windows_are_split(case64, monkeypatch, n_classes, max_steps):
    """With too few Newton steps allowed, windows split (down to single samples, which need
    no solve): still the reference's iterates."""
    monkeypatch.setattr(sgd_logistic_blocked, "MAX_STEPS", max_steps)
    case = case64
    n = 150
    objective, codes = _objective(case, n, n_classes, weighted=True, seed=4)
    k = 1 if n_classes == 2 else n_classes
    schedule = Schedule("constant", 0.1)
    etas = schedule.array(1, n, dtype=objective.X.dtype, device=case.backend.device, xp=case.xp)
    W0, b0 = _start(case, 4, k)
    calls = _spy_newton(monkeypatch, n_classes)
    W, b = objective.sgd_epoch(None, W0, b0, etas, 0.01, True)
    Wr, br = _reference(
        case, objective, codes, W0, b0, schedule, alpha=0.01, fit_intercept=True, order=None
    )
    assert len(calls) > n // sgd_logistic_blocked.BLOCK + 1  # windows were split
    _close(case, W, Wr)
    _close(case, b, br)


def _spy_newton(monkeypatch, n_classes):
    name = "sigmoid_newton" if n_classes == 2 else "softmax_newton"
    real = getattr(sgd_logistic_blocked, name)
    calls = []

    def counted(*args):
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(sgd_logistic_blocked, name, counted)
    return calls


@pytest.mark.parametrize("n_classes", [2, 3], ids=["binary", "multinomial"])
def test_strongly_coupled_windows_equal_reference(case64, n_classes):
    """Large steps on large features (margins in the tens, saturated probabilities): the
    windows take more Newton steps or split, and still give the reference's iterates."""
    n = 200
    objective, codes = _objective(case64, n, n_classes, weighted=False, seed=6, scale=3.0)
    k = 1 if n_classes == 2 else n_classes
    schedule = Schedule("invscaling", 1.0)
    etas = schedule.array(1, n, dtype=objective.X.dtype, device=case64.backend.device, xp=case64.xp)
    W0, b0 = _start(case64, 4, k)
    W, b = objective.sgd_epoch(None, W0, b0, etas, 0.0, True)
    Wr, br = _reference(
        case64, objective, codes, W0, b0, schedule, alpha=0.0, fit_intercept=True, order=None
    )
    assert float(case64.xp.max(case64.xp.abs(W))) > 1.0  # far from the start: real coupling
    _close(case64, W, Wr)
    _close(case64, b, br)


@pytest.mark.parametrize("n_classes", [2, 3], ids=["binary", "multinomial"])
def test_engine_takes_the_blocked_epoch(case, n_classes):
    """Three shuffled one-sample epochs of the engine: every epoch is one ``sgd_epoch``
    call, and the result is the reference's."""
    n = 100
    objective, codes = _objective(case, n, n_classes, weighted=True, seed=3)
    assert isinstance(objective, ExactSGDEpoch)
    calls = _spy(objective, "sgd_epoch")
    k = 1 if n_classes == 2 else n_classes
    perms = _perms(case, n, 3)
    settings = dict(max_iter=3, batch_size=1, alpha=0.01, tol=None)
    W0, b0 = _start(case, 4, k)
    res = _engine(
        case,
        objective,
        objective.X,
        codes,
        objective.sw,
        W0,
        b0,
        schedule=Schedule("invscaling", 0.2, updates_per_epoch=n),
        settings=settings,
        perms=perms,
    )
    Wr, br = reference.gradient_descent(
        objective.X,
        codes,
        objective.sw,
        W0,
        b0,
        loss="log",
        eta=Schedule("invscaling", 0.2, updates_per_epoch=n),
        epochs=3,
        batch_size=1,
        alpha=0.01,
        orders=perms,
        xp=case.xp,
    )
    # the blocked epoch reads the host per window: taken on host backends only
    assert len(calls) == (3 if case.backend.on_host else 0)
    _close(case, res.W, Wr)
    _close(case, res.b, br)


def _quiet_fit(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **kw)


def test_sgd_equals_sgd_classifier(case64):
    """The issue's setting: constant 0.01, L2 1e-4, one epoch in order, 2,000 x 8."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2000, 8))
    y = (rng.random(2000) < 1.0 / (1.0 + np.exp(-(X @ rng.standard_normal(8) + 0.3)))).astype(int)
    common = {"learning_rate": "constant", "eta0": 0.01, "penalty": "l2", "alpha": 1e-4}
    common |= {"max_iter": 1, "tol": None, "shuffle": False}
    sk = _quiet_fit(SGDClassifier(loss="log_loss", **common), X, y)
    est = gu.LogisticRegression(method="sgd", **common).fit(case64.asarray(X), y)
    assert_on_case(est.coef_, case64)
    coef, icpt = case64.to_numpy(est.coef_), case64.to_numpy(est.intercept_)
    np.testing.assert_allclose(coef, sk.coef_, rtol=0, atol=1e-10 * np.abs(sk.coef_).max())
    np.testing.assert_allclose(icpt, sk.intercept_, rtol=1e-10)


def test_class_weights_are_sample_weights(case64):
    """``class_weight`` enters the blocked epoch as per-sample weights: the same fit as the
    per-class weights given as ``sample_weight``."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((300, 3))
    y = rng.integers(0, 3, 300)
    weights = {0: 2.0, 1: 0.5, 2: 1.0}
    common = {"learning_rate": "constant", "eta0": 0.05, "max_iter": 2, "tol": None}
    common |= {"shuffle": False, "penalty": "l2", "alpha": 1e-3}
    a = gu.LogisticRegression(method="sgd", class_weight=weights, **common)
    a.fit(case64.asarray(X), y)
    sw = np.array([weights[c] for c in y])
    b = gu.LogisticRegression(method="sgd", **common).fit(case64.asarray(X), y, sample_weight=sw)
    _close(case64, a.coef_, b.coef_, rtol=1e-12)
    _close(case64, a.intercept_, b.intercept_, rtol=1e-12)
