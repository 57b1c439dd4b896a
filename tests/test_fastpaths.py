"""Every fast path against the textbook forms of ``kernels/reference.py``, on every backend x
device x dtype (``test_reference.py`` holds the textbook forms to scikit-learn).

- the blocked exact one-sample epoch (``sgd_blocked.sgd_blocked_epoch``, and the engine's use
  of ``SquaredLoss.sgd_epoch``, an ``ExactSGDEpoch``) against one-sample
  ``reference.gradient_descent``;
- the fused mini-batch step (``SquaredLoss.batch_step``, from
  ``losses.ResidualStep``) against mini-batch ``reference.gradient_descent``;
- full-batch descent on the moments (``SquaredLoss(use_moments=True)``) and on X against the
  full-batch loop;
- the refined closed forms (``closed_form.solve_normal`` with each solver, ``solve_beta``;
  weights, ridge, no intercept, large means) against ``reference.normal_equations`` and
  ``reference.covariance_form``;
- the engine's columns (``descent.descend``, K configurations trained together as a
  sweep trains them, with ``SquaredLoss``, ``BinaryLogLoss``, ``MultinomialLogLoss``): each
  column against the loop of its own configuration;
- the logistic objectives' gradient fits (``logistic.BinaryLogLoss``,
  ``MultinomialLogLoss`` in the engine) against the log-loss loop; a streamed chunk
  (``DescentSettings(chunk=True)``) against one batch of its rows;

then the pieces under them against their own oracles: the one-hot rows, the vectorised
learning rates, the unit lower triangular solve, the one-pass moments. Float64 agrees to
~1e-10 (looser where a comment says why); float32 to its own rounding.
"""

from __future__ import annotations

import itertools
import math

import array_api_extra as xpx
import numpy as np
import pytest
from _helpers import assert_on_case, make_regression
from sklearn.linear_model import SGDRegressor

import groundup as gu
from groundup import backends
from groundup.kernels import closed_form, logistic, reference, sgd_blocked
from groundup.kernels.closed_form import (
    CANCELLATION_LIMIT,
    cancellation,
    intercept_from_means,
    moments,
    solve_beta,
    solve_normal,
)
from groundup.kernels.descent import Column, DescentSettings, descend
from groundup.kernels.logistic import BinaryLogLoss, MultinomialLogLoss
from groundup.kernels.losses import ExactSGDEpoch, SquaredLoss
from groundup.kernels.schedules import SCHEDULES, EpochRows, Schedule

# Schedule parameters that keep one-sample SGD stable on standardised data (eta <= ~1).
SCHEDULE_PARAMS = {
    "optimal": {"alpha": 1.0},  # eta = 1 / t
    "exponential_decay": {"decay": 0.01},
    "time_decay": {"decay": 0.01},
    "step_decay": {"epochs_drop": 1.0},
    "cosine_annealing": {"t_max": 2.0},
}


def _tol(case) -> float:
    return 1e-12 if case.dtype == "float64" else 1e-4


def _close(case, actual, desired, *, rtol=None) -> None:
    """``actual`` equals ``desired`` (same namespace, device, dtype and shape) to ``rtol``,
    relative to the largest entry of ``desired``."""
    rtol = case.rtol if rtol is None else rtol
    scale = float(np.abs(case.to_numpy(desired)).max()) if math.prod(desired.shape) else 0.0
    xpx.testing.assert_close(actual, desired, rtol=rtol, atol=rtol * scale)


def _data(case, n, d=3, *, seed=5, weighted=False, labels=None):
    """Standardised regression data on the case (targets: y, or class codes with ``labels``
    classes, 0/1 in X's dtype when binary); weights of mean 1, as the estimators pass them."""
    X, y, _ = make_regression(n=n, d=d, seed=seed)
    if labels is not None:
        y = np.digitize(y, np.quantile(y, np.arange(1, labels) / labels))
        y = y.astype(float) if labels == 2 else y.astype(np.int32)
    sw = None
    if weighted:
        sw = np.random.default_rng(seed + 1).uniform(0.5, 1.5, size=n)
        sw = sw * (n / sw.sum())
    return [None if a is None else case.asarray(a) for a in (X, y, sw)]


def _start(case, d, k=1, *, value=0.0):
    be = case.backend
    dt = be.dtype(case.dtype)
    W = case.xp.full((d, k), value, dtype=dt, device=be.device)
    return W, case.xp.full((k,), value / 2, dtype=dt, device=be.device)


def _abs_max(case, a):
    return case.xp.max(case.xp.abs(a))


def _perms(case, n, epochs, seed=7):
    rng = np.random.default_rng(seed)
    return [case.backend.asarray(rng.permutation(n)) for _ in range(epochs)]


def _spy(objective, name):
    """Count the engine's calls of ``objective.name`` (the capability stays in place)."""
    calls = []
    real = getattr(objective, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    setattr(objective, name, counted)
    return calls


def _engine(case, objective, X, y, sw, W, b, *, schedule, settings, perms=None):
    """One configuration's run; ``settings``: the keywords of ``DescentSettings`` (the group's)
    and of ``Column`` (the run's) together."""
    group = {k: v for k, v in settings.items() if k in DescentSettings.__dataclass_fields__}
    own = {k: v for k, v in settings.items() if k not in group}
    orders = iter(perms) if perms is not None else None
    return descend(
        objective,
        X,
        y,
        sw,
        W,
        b,
        columns=[Column(schedule, **own)],
        settings=DescentSettings(**group),
        orders=itertools.repeat(None) if orders is None else orders,
        xp=case.xp,
    )[0]


# -- one-sample SGD: the blocked exact epoch ---------------------------------------------------
@pytest.mark.parametrize(("block", "group_rows"), [(8, 24), (5, 5), (1, 7), (64, 4096)])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("per_feature", [False, True], ids=["l2", "l2-per-feature"])
def test_blocked_sgd_epoch_equals_reference(case, block, group_rows, weighted, per_feature):
    """Ragged last blocks and groups, blocks of one, a block larger than the data; the L2
    decay one strength, or one per feature (a preconditioned fit's)."""
    X, y, sw = _data(case, 37, 4, seed=9, weighted=weighted)
    alpha = case.asarray(np.array([[0.02], [0.1], [0.0], [0.3]])) if per_feature else 0.02
    schedule = Schedule("invscaling", 0.05)
    etas = schedule.array(1, 37, dtype=X.dtype, device=case.backend.device, xp=case.xp)
    (order,) = _perms(case, 37, 1)
    W0, b0 = _start(case, 4, value=0.2)
    W, b = sgd_blocked.sgd_blocked_epoch(
        EpochRows(X, y, sw, order, case.xp),
        W0,
        b0,
        etas,
        alpha=alpha,
        fit_intercept=True,
        block=block,
        group_rows=group_rows,
        solve_triangular=case.backend.solve_triangular,
        xp=case.xp,
    )
    Wr, br = reference.gradient_descent(
        X,
        y,
        sw,
        W0,
        b0,
        loss="squared",
        eta=schedule,
        epochs=1,
        batch_size=1,
        alpha=alpha,
        orders=[order],
        xp=case.xp,
    )
    assert_on_case(W, case)
    _close(case, W, Wr)
    _close(case, b, br)


def _sgd_runs(case, *, schedule_name, alpha, fit_intercept, weighted, shuffle, tol=None):
    """Three epochs of the engine with one-sample updates (n = 100: the last block is
    ragged) and of the reference with the same orders; the engine's ``sgd_epoch`` calls."""
    assert 100 % sgd_blocked.BLOCK != 0
    n = 100
    X, y, sw = _data(case, n, weighted=weighted)
    perms = _perms(case, n, 3) if shuffle else None
    params = SCHEDULE_PARAMS.get(schedule_name, {})
    schedule = Schedule(schedule_name, 0.05, updates_per_epoch=n, **params)
    objective = SquaredLoss(X, y, sw, solve_triangular=case.backend.solve_triangular, xp=case.xp)
    assert isinstance(objective, ExactSGDEpoch)
    calls = _spy(objective, "sgd_epoch")
    settings = dict(
        max_iter=3,
        batch_size=1,
        alpha=alpha,
        fit_intercept=fit_intercept,
        tol=tol,
        n_iter_no_change=1,
    )
    W0, b0 = _start(case, 3)
    res = _engine(
        case, objective, X, y, sw, W0, b0, schedule=schedule, settings=settings, perms=perms
    )
    eta = Schedule(schedule_name, 0.05, updates_per_epoch=n, **params)
    if schedule_name == "adaptive":  # see the test below: /5 from the third epoch on
        eta = lambda t: 0.05 / 5.0 ** max(0, (t - 1) // n - 1)  # noqa: E731
    ref = reference.gradient_descent(
        X,
        y,
        sw,
        W0,
        b0,
        loss="squared",
        eta=eta,
        epochs=3,
        batch_size=1,
        alpha=alpha,
        fit_intercept=fit_intercept,
        orders=perms,
        xp=case.xp,
    )
    assert res.updates == 300
    return res, ref, calls


@pytest.mark.parametrize("schedule_name", SCHEDULES)
def test_engine_sgd_every_schedule_equals_reference(case, schedule_name):
    # adaptive: a tol no loss can meet (with n_iter_no_change=1) makes every epoch from the
    # second a stall, after which the engine divides eta by 5.
    tol = 1e9 if schedule_name == "adaptive" else None
    res, (Wr, br), calls = _sgd_runs(
        case,
        schedule_name=schedule_name,
        alpha=0.0,
        fit_intercept=True,
        weighted=False,
        shuffle=True,
        tol=tol,
    )
    assert len(calls) == 3  # every epoch took the blocked path
    assert_on_case(res.W, case)
    _close(case, res.W, Wr)
    _close(case, res.b, br)


@pytest.mark.parametrize("shuffle", [True, False], ids=["shuffled", "in-order"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("alpha", [0.0, 0.05], ids=["no-penalty", "l2"])
@pytest.mark.parametrize("fit_intercept", [True, False], ids=["intercept", "no-intercept"])
def test_engine_sgd_equals_reference(case, fit_intercept, alpha, weighted, shuffle):
    res, (Wr, br), calls = _sgd_runs(
        case,
        schedule_name="invscaling",
        alpha=alpha,
        fit_intercept=fit_intercept,
        weighted=weighted,
        shuffle=shuffle,
    )
    assert len(calls) == 3
    _close(case, res.W, Wr)
    _close(case, res.b, br)
    if not fit_intercept:
        assert float(res.b[0]) == 0.0


def test_large_decay_steps_use_the_per_sample_loop(case):
    """eta * alpha > MAX_DECAY_STEP (scikit-learn clamps the decay at zero): the engine keeps
    the per-sample loop, which still equals the reference."""
    X, y, _ = _data(case, 40, 2, seed=3)
    assert 0.9 * 1.5 > sgd_blocked.MAX_DECAY_STEP
    objective = SquaredLoss(X, y, None, solve_triangular=case.backend.solve_triangular, xp=case.xp)
    calls = _spy(objective, "sgd_epoch")
    settings = dict(max_iter=2, batch_size=1, alpha=1.5, tol=None)
    W0, b0 = _start(case, 2)
    res = _engine(
        case, objective, X, y, None, W0, b0, schedule=Schedule("constant", 0.9), settings=settings
    )
    Wr, br = reference.gradient_descent(
        X,
        y,
        None,
        W0,
        b0,
        loss="squared",
        eta=lambda t: 0.9,
        epochs=2,
        batch_size=1,
        alpha=1.5,
        xp=case.xp,
    )
    assert calls == []
    _close(case, res.W, Wr)
    _close(case, res.b, br)


@pytest.mark.parametrize("shuffle", [False, True])
def test_sgd_reproduces_sklearn_sgdregressor(case64, shuffle):
    """Several groups of blocks (n > GROUP_ROWS), three epochs, constant rate: scikit-learn
    in order; shuffled, the reference with the estimator's permutations."""
    X, y, _ = make_regression(n=5000, d=4, seed=11)
    params = {
        "learning_rate": "constant",
        "eta0": 0.01,
        "penalty": None,
        "tol": None,
        "max_iter": 3,
        "shuffle": shuffle,
        "random_state": 0,
    }
    est = gu.LinearRegression(method="sgd", **params).fit(case64.asarray(X), case64.asarray(y))
    if shuffle:  # groundup draws its own permutations from default_rng(random_state)
        rng = np.random.default_rng(0)
        orders = [case64.backend.asarray(rng.permutation(5000)) for _ in range(3)]
        W, b = reference.gradient_descent(
            case64.asarray(X),
            case64.asarray(y),
            None,
            *_start(case64, 4),
            loss="squared",
            eta=lambda t: 0.01,
            epochs=3,
            batch_size=1,
            orders=orders,
            xp=case64.xp,
        )
        ref_coef, ref_icpt = case64.to_numpy(W)[:, 0], float(b[0])
    else:
        sk = SGDRegressor(**params).fit(X, y)
        ref_coef, ref_icpt = sk.coef_, sk.intercept_[0]
    assert_on_case(est.coef_, case64)
    np.testing.assert_allclose(case64.to_numpy(est.coef_), ref_coef, rtol=1e-10)
    np.testing.assert_allclose(float(est.intercept_), ref_icpt, rtol=1e-10)
    assert est.t_ == 3 * 5000 + 1


# -- mini-batch: the fused step ----------------------------------------------------------------
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("alpha", [0.0, 0.05], ids=["no-penalty", "l2"])
@pytest.mark.parametrize("fit_intercept", [True, False], ids=["intercept", "no-intercept"])
def test_fused_batch_step_equals_reference(case, fit_intercept, alpha, weighted):
    """Mini-batches of 16 (the last one ragged), three shuffled epochs."""
    X, y, sw = _data(case, 90, seed=6, weighted=weighted)
    objective = SquaredLoss(X, y, sw, xp=case.xp)
    calls = _spy(objective, "batch_step")
    perms = _perms(case, 90, 3, seed=0)
    settings = dict(max_iter=3, batch_size=16, alpha=alpha, fit_intercept=fit_intercept, tol=None)
    W0, b0 = _start(case, 3)
    res = _engine(
        case,
        objective,
        X,
        y,
        sw,
        W0,
        b0,
        schedule=Schedule("invscaling", 0.1),
        settings=settings,
        perms=perms,
    )
    Wr, br = reference.gradient_descent(
        X,
        y,
        sw,
        W0,
        b0,
        loss="squared",
        eta=Schedule("invscaling", 0.1),
        epochs=3,
        batch_size=16,
        alpha=alpha,
        fit_intercept=fit_intercept,
        orders=perms,
        xp=case.xp,
    )
    assert len(calls) == res.updates == 3 * 6
    assert_on_case(res.W, case)
    _close(case, res.W, Wr)
    _close(case, res.b, br)


# -- full batch: the moments -------------------------------------------------------------------
@pytest.mark.parametrize("use_moments", [True, False], ids=["moments", "pass-over-X"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("alpha", [0.0, 0.05], ids=["no-penalty", "l2"])
@pytest.mark.parametrize("fit_intercept", [True, False], ids=["intercept", "no-intercept"])
def test_full_batch_equals_reference(case, fit_intercept, alpha, weighted, use_moments):
    """``SquaredLoss.full_grad`` and ``loss`` from XᵀX, Xᵀy (one pass over X, in chunks of
    32 rows), or from X every epoch: the reference's full-batch iterates, and its mean
    squared residual as the last loss."""
    n = 90
    X, y, sw = _data(case, n, seed=4, weighted=weighted)
    objective = SquaredLoss(X, y, sw, use_moments=use_moments, chunk_rows=32, xp=case.xp)
    assert (objective.stats is not None) == use_moments
    calls = _spy(objective, "full_grad")
    settings = dict(max_iter=8, batch_size=n, alpha=alpha, fit_intercept=fit_intercept, tol=None)
    W0, b0 = _start(case, 3)
    res = _engine(
        case, objective, X, y, sw, W0, b0, schedule=Schedule("invscaling", 0.5), settings=settings
    )
    Wr, br = reference.gradient_descent(
        X,
        y,
        sw,
        W0,
        b0,
        loss="squared",
        eta=Schedule("invscaling", 0.5),
        epochs=8,
        batch_size=n,
        alpha=alpha,
        fit_intercept=fit_intercept,
        xp=case.xp,
    )
    assert len(calls) == 8
    _close(case, res.W, Wr)
    _close(case, res.b, br)
    xp = case.xp
    r2 = (X @ Wr[:, 0] + br[0] - y) ** 2
    mse = xp.mean(r2) if sw is None else xp.sum(sw * r2) / xp.sum(sw)
    # The moments' loss is w'Sw - 2 w's + var(y) + delta², which cancels against var(y)
    # (about 10 here, the loss about 1): a few more digits' worth of rounding.
    _close(case, res.history[-1], mse, rtol=1e-9 if case.dtype == "float64" else 1e-3)


# -- the closed forms --------------------------------------------------------------------------
def _closed_data(case, *, weighted, offset=0.0, n=600):
    """Four features on different scales (first chunk of 128 rows: a pilot solution), raw
    weights (the closed forms take them as they come)."""
    rng = np.random.default_rng(6)
    X = rng.normal(size=(n, 4)) * [1.0, 5.0, 0.1, 2.0] + [0.0, 1.0, -2.0, 0.5] + offset
    y = X @ [1.0, -0.2, 3.0, 0.7] + 2.0 + 0.05 * rng.normal(size=n)
    sw = rng.uniform(0.2, 3.0, size=n) if weighted else None
    return [None if a is None else case.asarray(a) for a in (X, y, sw)]


def _weighted_sse(case, X, y, sw, coef, icpt):
    r = y - X @ coef - icpt
    return case.xp.sum(r * r) if sw is None else case.xp.sum(sw * r * r)


def _check_solution(case, sol, m, X, y, sw, ref, *, fit_intercept, rtol=None):
    """Coefficients, intercept (from the means) and the refined residual sum of squares."""
    coef, icpt = ref
    assert_on_case(sol.coef, case)
    _close(case, sol.coef, coef, rtol=rtol)
    if fit_intercept:
        _close(case, intercept_from_means(sol.coef, m, xp=case.xp), icpt, rtol=rtol)
    else:
        assert float(icpt) == 0.0
        assert float(_abs_max(case, m.mean_x)) == 0.0
    sse = _weighted_sse(case, X, y, sw, coef, icpt)
    _close(case, sol.sse, sse, rtol=None if rtol is None else 10 * rtol)


@pytest.mark.parametrize("solver", ["auto", "cholesky", "qr", "svd"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("fit_intercept", [True, False], ids=["intercept", "no-intercept"])
def test_solve_normal_equals_reference(case, solver, weighted, fit_intercept):
    X, y, sw = _closed_data(case, weighted=weighted)
    xp = case.xp
    m = moments(X, y, sw, fit_intercept=fit_intercept, chunk_rows=128, xp=xp)
    assert m.pilot is not None  # the refinement from the moments pass
    sol = solve_normal(X, y, m, sw, solver=solver, chunk_rows=128, xp=xp)
    assert sol.solver == ("cholesky" if solver == "auto" else solver)
    ref = reference.normal_equations(X, y, sw, fit_intercept=fit_intercept, xp=xp)
    _check_solution(case, sol, m, X, y, sw, ref, fit_intercept=fit_intercept)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("fit_intercept", [True, False], ids=["intercept", "no-intercept"])
def test_solve_beta_equals_reference(case, weighted, fit_intercept):
    X, y, sw = _closed_data(case, weighted=weighted)
    xp = case.xp
    m = moments(X, y, sw, fit_intercept=fit_intercept, chunk_rows=128, xp=xp)
    sol = solve_beta(X, y, m, sw, chunk_rows=128, xp=xp)
    ref = reference.covariance_form(X, y, sw, fit_intercept=fit_intercept, xp=xp)
    _check_solution(case, sol, m, X, y, sw, ref, fit_intercept=fit_intercept)


@pytest.mark.parametrize("method", ["normal", "beta"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("fit_intercept", [True, False], ids=["intercept", "no-intercept"])
def test_closed_forms_with_ridge_equal_reference(case, method, weighted, fit_intercept):
    """``ridge = n·alpha`` (n: the total weight), as the estimator passes it: the normal
    equations with alpha (the covariance form is the same system divided by n − 1)."""
    X, y, sw = _closed_data(case, weighted=weighted)
    xp, alpha = case.xp, 0.5
    m = moments(X, y, sw, fit_intercept=fit_intercept, chunk_rows=128, xp=xp)
    solve = solve_normal if method == "normal" else solve_beta
    sol = solve(X, y, m, sw, ridge=m.n * alpha, chunk_rows=128, xp=xp)
    ref = reference.normal_equations(X, y, sw, alpha=alpha, fit_intercept=fit_intercept, xp=xp)
    plain = reference.normal_equations(X, y, sw, fit_intercept=fit_intercept, xp=xp)
    assert float(_abs_max(case, ref[0] - plain[0])) > 1e-3  # the penalty matters
    _check_solution(case, sol, m, X, y, sw, ref, fit_intercept=fit_intercept)


@pytest.mark.parametrize("method", ["normal", "beta"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_closed_forms_with_large_means_equal_reference(case64, method, weighted):
    """Means of 1e4 against spreads of 0.1 to 5: the moments are redone on shifted data. The
    data themselves carry ~12 significant digits about their means (1e4 · eps = 2e-12 against
    0.1), so the reference is as far from the exact solution: rtol 1e-9."""
    X, y, sw = _closed_data(case64, weighted=weighted, offset=1e4)
    xp = case64.xp
    m = moments(X, y, sw, chunk_rows=128, xp=xp)
    assert cancellation(m, xp=xp) > CANCELLATION_LIMIT
    if method == "normal":
        sol = solve_normal(X, y, m, sw, chunk_rows=128, xp=xp)
        ref = reference.normal_equations(X, y, sw, xp=xp)
    else:
        sol = solve_beta(X, y, m, sw, chunk_rows=128, xp=xp)
        ref = reference.covariance_form(X, y, sw, xp=xp)
    _check_solution(case64, sol, m, X, y, sw, ref, fit_intercept=True, rtol=1e-9)


# -- the sweep's columns -----------------------------------------------------------------------
# (schedule, eta0, alpha, max_iter) of three configurations trained together
COLUMN_CONFIGS = [
    ("constant", 0.05, 0.0, 3),
    ("invscaling", 0.1, 0.01, 2),
    ("time_decay", 0.08, 0.05, 3),
]
METHODS = [("sgd", 1), ("minibatch", 16), ("batch", None)]


def _columns(case, objective, X, y, sw, W0, b0, *, batch_size, fit_intercept, perms):
    n = X.shape[0]
    per_epoch = 1 if batch_size is None else -(-n // batch_size)
    orders = iter(perms) if perms is not None else None
    return descend(
        objective,
        X,
        y,
        sw,
        W0,
        b0,
        columns=[
            Column(Schedule(s, e, updates_per_epoch=per_epoch), max_iter=it, alpha=a, tol=None)
            for s, e, a, it in COLUMN_CONFIGS
        ],
        settings=DescentSettings(batch_size=batch_size or n, fit_intercept=fit_intercept),
        orders=itertools.repeat(None) if orders is None else orders,
        xp=case.xp,
    )


def _column_reference(case, X, y, sw, W0, b0, config, *, loss, batch_size, fit_intercept, perms):
    name, eta0, alpha, epochs = config
    n = X.shape[0]
    per_epoch = 1 if batch_size is None else -(-n // batch_size)
    return reference.gradient_descent(
        X,
        y,
        sw,
        W0,
        b0,
        loss=loss,
        eta=Schedule(name, eta0, updates_per_epoch=per_epoch),
        epochs=epochs,
        batch_size=batch_size or n,
        alpha=alpha,
        fit_intercept=fit_intercept,
        orders=None if perms is None else perms[:epochs],
        xp=case.xp,
    )


@pytest.mark.parametrize("fit_intercept", [True, False], ids=["intercept", "no-intercept"])
@pytest.mark.parametrize(("method", "batch_size"), METHODS, ids=[m for m, _ in METHODS])
def test_squared_loss_columns_equal_reference(case, method, batch_size, fit_intercept):
    """Each column (its own schedule, penalty and number of epochs) is the loop of its own
    configuration; ``batch`` from the moments."""
    n, K = 60, len(COLUMN_CONFIGS)
    X, y, sw = _data(case, n, weighted=True)
    objective = SquaredLoss(X, y, sw, use_moments=method == "batch", chunk_rows=16, xp=case.xp)
    perms = None if method == "batch" else _perms(case, n, 3)
    W0, b0 = _start(case, 3, K)
    results = _columns(
        case,
        objective,
        X,
        y,
        sw,
        W0,
        b0,
        batch_size=batch_size,
        fit_intercept=fit_intercept,
        perms=perms,
    )
    for res, config in zip(results, COLUMN_CONFIGS, strict=True):
        Wr, br = _column_reference(
            case,
            X,
            y,
            sw,
            *_start(case, 3),
            config,
            loss="squared",
            batch_size=batch_size,
            fit_intercept=fit_intercept,
            perms=perms,
        )
        assert res.n_iter == config[3]
        assert_on_case(res.W, case)
        _close(case, res.W, Wr)
        _close(case, res.b, br)


@pytest.mark.parametrize("n_classes", [2, 3], ids=["binary", "multinomial"])
@pytest.mark.parametrize(("method", "batch_size"), METHODS, ids=[m for m, _ in METHODS])
def test_log_loss_columns_equal_reference(case, method, batch_size, n_classes):
    """Binary columns (one per configuration) and softmax columns (C per configuration,
    class by class), the passes over X in chunks of 16 rows: each configuration is the
    log-loss loop of its own."""
    n, K = 60, len(COLUMN_CONFIGS)
    X, codes, sw = _data(case, n, weighted=True, labels=n_classes)
    C = 1 if n_classes == 2 else n_classes
    xp = case.xp
    if n_classes == 2:  # y: 0/1 in X's dtype
        Y, objective = codes, BinaryLogLoss(X, codes, sw, chunk_rows=16, xp=xp)
    else:  # y: the one-hot rows (as the sweep gives them)
        Y = xpx.one_hot(codes, n_classes, dtype=X.dtype, xp=xp)
        objective = MultinomialLogLoss(
            X, Y, sw, n_classes=n_classes, chunk_rows=16, chunk_elements=64, xp=xp
        )
    perms = None if method == "batch" else _perms(case, n, 3)
    W0, b0 = _start(case, 3, C * K)
    results = _columns(
        case, objective, X, Y, sw, W0, b0, batch_size=batch_size, fit_intercept=True, perms=perms
    )
    for res, config in zip(results, COLUMN_CONFIGS, strict=True):
        Wr, br = _column_reference(
            case,
            X,
            codes,
            sw,
            *_start(case, 3, C),
            config,
            loss="log",
            batch_size=batch_size,
            fit_intercept=True,
            perms=perms,
        )
        assert res.n_iter == config[3]
        _close(case, res.W, Wr)
        _close(case, res.b, br)


# -- the logistic objectives in the engine ------------------------------------------------------
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("n_classes", [2, 3], ids=["binary", "multinomial"])
@pytest.mark.parametrize(("method", "batch_size"), METHODS, ids=[m for m, _ in METHODS])
def test_log_loss_descent_equals_reference(case, method, batch_size, n_classes, weighted):
    """``BinaryLogLoss`` / ``MultinomialLogLoss`` in the engine: the fused step of every
    batch (``sgd`` too: the blocked ``sgd_epoch`` reads the host, and these objectives are
    not ``speculative``; it has its own tests in ``test_sgd_logistic_blocked.py``); ``batch``
    along ``full_grad``, one chunked pass of 16 rows that also gives the epoch's loss."""
    n = 60
    X, codes, sw = _data(case, n, weighted=weighted, labels=n_classes)
    cls = BinaryLogLoss if n_classes == 2 else MultinomialLogLoss
    objective = cls(X, codes, sw, n_classes=n_classes, chunk_rows=16, xp=case.xp)
    assert isinstance(objective, ExactSGDEpoch)
    calls = _spy(objective, "sgd_epoch")
    k = 1 if n_classes == 2 else n_classes
    epochs = 10 if method == "batch" else 3
    perms = None if method == "batch" else _perms(case, n, epochs)
    settings = dict(max_iter=epochs, batch_size=batch_size or n, alpha=0.01, tol=None)
    W0, b0 = _start(case, 3, k)
    res = _engine(
        case,
        objective,
        X,
        codes,
        sw,
        W0,
        b0,
        schedule=Schedule("invscaling", 0.5),
        settings=settings,
        perms=perms,
    )
    Wr, br = reference.gradient_descent(
        X,
        codes,
        sw,
        W0,
        b0,
        loss="log",
        eta=Schedule("invscaling", 0.5),
        epochs=epochs,
        batch_size=batch_size or n,
        alpha=0.01,
        orders=perms,
        xp=case.xp,
    )
    assert_on_case(res.W, case)
    _close(case, res.W, Wr)
    _close(case, res.b, br)
    assert calls == []  # not speculative: no host reads, the one-sample batches


@pytest.mark.parametrize("kind", ["squared-sgd", "log-one-batch"])
def test_a_streamed_chunk_equals_reference(case, kind):
    """``DescentSettings(chunk=True)`` (the Dask loop's chunks): the updates only, and a
    chunk within one batch is one batch of its rows (the weights here are not of mean 1, so
    the training-set gradient, normalised by the total weight, would differ)."""
    n = 20
    X, y, _ = _data(case, n, labels=2 if kind.startswith("log") else None)
    sw = case.asarray(np.random.default_rng(0).uniform(0.1, 0.5, size=n))
    if kind == "squared-sgd":
        objective = SquaredLoss(X, y, sw, xp=case.xp)
        loss, bs = "squared", 1
    else:
        objective = BinaryLogLoss(X, y, sw, xp=case.xp)
        loss, bs = "log", 32
    settings = dict(max_iter=2, batch_size=bs, tol=None, chunk=True)
    perms = None if bs > n else _perms(case, n, 2)
    W0, b0 = _start(case, 3, value=0.1)
    res = _engine(
        case,
        objective,
        X,
        y,
        sw,
        W0,
        b0,
        schedule=Schedule("constant", 0.2),
        settings=settings,
        perms=perms,
    )
    assert res.history == []
    assert res.reference_loss is None
    assert res.updates == (2 * n if bs == 1 else 2)
    Wr, br = reference.gradient_descent(
        X,
        y,
        sw,
        W0,
        b0,
        loss=loss,
        eta=lambda t: 0.2,
        epochs=2,
        batch_size=bs,
        orders=perms,
        xp=case.xp,
    )
    _close(case, res.W, Wr)
    _close(case, res.b, br)
    if bs > n:  # what the test tells apart
        full, batch = objective.full_grad(W0, b0)[0], objective.batch_grad(X, y, sw, W0, b0)[0]
        assert float(_abs_max(case, full - batch)) > 1e-3 * float(_abs_max(case, batch))
    with pytest.raises(ValueError, match="tol=None"):
        descend(
            objective,
            X,
            y,
            sw,
            W0,
            b0,
            columns=[Column(Schedule("constant", 0.2))],  # tol=1e-3
            settings=DescentSettings(chunk=True),
            orders=itertools.repeat(None),
            xp=case.xp,
        )


# -- one-hot rows -----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float", "bool"])
def test_one_hot_equals_array_api_extra(case, dtype):
    """The multinomial loss's own ``one_hot`` (faster on PyTorch) against array-api-extra's."""
    xp = case.xp
    codes = case.backend.asarray(np.array([2, 0, 1, 1, 2, 0], dtype=np.int32))
    dt = case.backend.dtype(case.dtype) if dtype == "float" else xp.bool
    ours = logistic.one_hot(codes, 3, dt, xp=xp)
    xpx.testing.assert_equal(ours, xpx.one_hot(codes, 3, dtype=dt, xp=xp))
    assert int(xp.sum(xp.astype(ours, xp.int32))) == 6


# -- learning rates ------------------------------------------------------------------------
@pytest.mark.parametrize("name", SCHEDULES)
def test_learning_rates_match_schedule(case, name):
    schedule = Schedule(
        name, 0.05, updates_per_epoch=10, scale=5.0, **SCHEDULE_PARAMS.get(name, {})
    )
    if name == "invscaling":
        schedule.power_t = 0.3  # the general power; 0.25 and 0.5 have their own test below
    be = case.backend
    rates = schedule.array(3, 200, dtype=be.dtype(case.dtype), device=be.device, xp=case.xp)
    assert_on_case(rates, case)
    expected = [schedule(t) for t in range(3, 203)]
    # float32: rounding of t and of the formula, relative to eta0 (cosine's tail cancels).
    rtol = 1e-14 if case.dtype == "float64" else 1e-6
    np.testing.assert_allclose(case.to_numpy(rates), expected, rtol=rtol, atol=rtol * 0.05)


@pytest.mark.parametrize("power_t", [0.25, 0.5])
def test_learning_rates_square_root_powers(power_t):
    import array_api_compat.numpy as xp

    schedule = Schedule("invscaling", 0.01, power_t=power_t)
    rates = schedule.array(1, 100_000, dtype=xp.float64, device="cpu", xp=xp)
    expected = np.array([schedule(t) for t in range(1, 100_001)])
    np.testing.assert_allclose(rates, expected, rtol=4e-16)


@pytest.mark.parametrize("name", SCHEDULES)
@pytest.mark.parametrize("variant", range(3))
def test_every_schedule_is_monotone(name, variant):
    """``largest_rate`` takes the larger end of a range: every schedule must be monotone."""
    params = [
        {"decay": 0.3, "drop": 0.5, "epochs_drop": 2.0, "eta_min": 0.0, "t_max": 3.0, "t1": 5.0},
        {"decay": 1e-4, "drop": 2.0, "epochs_drop": 1.0, "eta_min": 0.5, "t_max": 7.0},
        {"power_t": 0.9, "alpha": 1e-2, "t1": 1.0},
    ][variant]
    schedule = Schedule(name, 0.1, updates_per_epoch=4, **params)
    values = np.array([schedule(t) for t in range(1, 200)])
    steps = np.diff(values)
    assert np.all(steps <= 0) or np.all(steps >= 0)
    assert sgd_blocked.largest_rate(schedule, 5, 100) == values[4:104].max()


# -- triangular solves ---------------------------------------------------------------------
def _unit_lower_problem(seed: int = 0, B: int = 12):
    rng = np.random.default_rng(seed)
    L = rng.normal(size=(B, B)) * 0.3
    r = rng.normal(size=B)
    return L, r


def _forward_substitution(L, r, *, xp):
    """The row-by-row solve of ``(I + tril(L, -1)) x = r`` for one block."""
    x = xp.zeros_like(r)
    for i in range(L.shape[0]):  # x_i = r_i - sum_{j<i} L_ij x_j
        x = xpx.at(x)[i].set(r[i] - L[i, :i] @ x[:i])
    return x


@pytest.mark.parametrize("use_fast", [True, False], ids=["fast-path", "portable"])
def test_solve_unit_lower_against_forward_substitution(case, use_fast):
    L, r = _unit_lower_problem()
    xp, be = case.xp, case.backend
    Ld, rd = case.asarray(L), case.asarray(r)
    fast = be.solve_triangular if use_fast else None
    x = sgd_blocked.solve_unit_lower(Ld, rd, fast=fast, xp=xp)
    oracle = _forward_substitution(Ld, rd, xp=xp)
    assert_on_case(x, case)
    np.testing.assert_allclose(case.to_numpy(x), case.to_numpy(oracle), rtol=100 * _tol(case))
    # and the definition: (I + strictly lower part of L) x = r
    A = np.tril(L, -1) + np.eye(len(r))
    np.testing.assert_allclose(A @ case.to_numpy(x), r, rtol=1e-4, atol=100 * _tol(case))
    # batched right-hand sides and batched systems
    R = np.stack([r, 2 * r], axis=1)
    X2 = sgd_blocked.solve_unit_lower(Ld, case.asarray(R), fast=fast, xp=xp)
    np.testing.assert_allclose(A @ case.to_numpy(X2), R, rtol=1e-4, atol=100 * _tol(case))
    Lb = np.stack([L, 0.5 * L])
    Xb = sgd_blocked.solve_unit_lower(
        case.asarray(Lb), case.asarray(np.stack([r, r])), fast=fast, xp=xp
    )
    Ab = np.tril(Lb, -1) + np.eye(len(r))
    np.testing.assert_allclose(
        np.einsum("kij,kj->ki", Ab, case.to_numpy(Xb)), [r, r], rtol=1e-4, atol=100 * _tol(case)
    )


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("unit", [True, False])
@pytest.mark.parametrize("rhs", ["vector", "matrix"])
def test_numpy_solve_triangular_fast_path_matches_scipy(dtype, order, lower, unit, rhs):
    from scipy.linalg import solve_triangular

    rng = np.random.default_rng(1)
    A = (rng.normal(size=(9, 9)) + 4 * np.eye(9)).astype(dtype)
    A = np.asarray(A, order=order)
    b = rng.normal(size=9 if rhs == "vector" else (9, 3)).astype(dtype)
    be = backends.resolve("numpy")
    x = be.solve_triangular(A, b, lower=lower, unit_diagonal=unit)
    ref = solve_triangular(A, b, lower=lower, unit_diagonal=unit)
    assert x.dtype == np.dtype(dtype)
    assert x.shape == b.shape
    np.testing.assert_allclose(x, ref, rtol=1e-12 if dtype == "float64" else 1e-5)


def test_numpy_solve_triangular_singular_still_raises():
    from scipy.linalg import LinAlgError

    A = np.tril(np.ones((3, 3)))
    A[1, 1] = 0.0
    with pytest.raises(LinAlgError, match="singular"):
        backends.resolve("numpy").solve_triangular(A, np.ones((3, 2)), lower=True)


# -- moments -------------------------------------------------------------------------------
def _two_pass(X, y, sw):
    w = np.ones(len(y)) if sw is None else sw
    mx, my = w @ X / w.sum(), w @ y / w.sum()
    Xc, yc = X - mx, y - my
    return mx, my, (Xc * w[:, None]).T @ Xc, (Xc * w[:, None]).T @ yc, (w * yc) @ yc


@pytest.mark.parametrize("offset", [0.0, 1e4], ids=["centred-data", "large-means"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_moments_match_two_pass(case, offset, weighted):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(500, 3)) * [1.0, 2.0, 0.5] + offset
    y = X @ [1.0, -1.0, 2.0] + rng.normal(size=500)
    sw = rng.uniform(0.1, 2.0, size=500) if weighted else None
    xp = case.xp
    m = moments(
        case.asarray(X),
        case.asarray(y),
        None if sw is None else case.asarray(sw),
        chunk_rows=128,
        xp=xp,
    )
    mx, my, sxx, sxy, syy = _two_pass(X, y, sw)
    assert_on_case(m.sxx, case)
    if case.dtype == "float32":  # against the two-pass moments of the float32 data itself
        X32, y32 = X.astype(np.float32).astype(float), y.astype(np.float32).astype(float)
        mx, my, sxx, sxy, syy = _two_pass(X32, y32, sw)
    rtol = 1e-10 if case.dtype == "float64" else 1e-3
    np.testing.assert_allclose(case.to_numpy(m.mean_x), mx, rtol=rtol * 1e-3)
    np.testing.assert_allclose(case.to_numpy(m.sxx), sxx, rtol=rtol, atol=rtol * np.abs(sxx).max())
    np.testing.assert_allclose(case.to_numpy(m.sxy), sxy, rtol=rtol, atol=rtol * np.abs(sxy).max())
    np.testing.assert_allclose(float(m.syy), syy, rtol=rtol)


def test_uncentred_moments_without_intercept(case):
    rng = np.random.default_rng(8)
    X, y = rng.normal(size=(300, 3)) + 2.0, rng.normal(size=300)
    m = moments(case.asarray(X), case.asarray(y), fit_intercept=False, chunk_rows=64, xp=case.xp)
    assert_on_case(m.sxx, case)
    rtol = 1e-12 if case.dtype == "float64" else 1e-5
    X32 = X if case.dtype == "float64" else X.astype(np.float32).astype(float)
    y32 = y if case.dtype == "float64" else y.astype(np.float32).astype(float)
    np.testing.assert_allclose(case.to_numpy(m.sxx), X32.T @ X32, rtol=rtol)
    np.testing.assert_allclose(case.to_numpy(m.sxy), X32.T @ y32, rtol=rtol)
    np.testing.assert_allclose(float(m.syy), y32 @ y32, rtol=rtol)
    assert float(m.mean_y) == 0.0
    np.testing.assert_array_equal(case.to_numpy(m.mean_x), 0.0)


@pytest.mark.parametrize("offset", [0.0, 1e4], ids=["centred-data", "large-means"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("fit_intercept", [True, False], ids=["intercept", "no-intercept"])
def test_pilot_residual_products_match_their_definition(case64, offset, weighted, fit_intercept):
    """The moments pass also gathers Xc' W r0 and r0' W r0 about the pilot solution."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(600, 3)) * [1.0, 3.0, 0.2] + offset
    y = X @ [0.5, -1.0, 2.0] + 1.0 + 0.3 * rng.normal(size=600)
    sw = rng.uniform(0.2, 2.0, size=600) if weighted else None
    m = moments(
        case64.asarray(X),
        case64.asarray(y),
        None if sw is None else case64.asarray(sw),
        fit_intercept=fit_intercept,
        chunk_rows=64,
        xp=case64.xp,
    )
    assert m.pilot is not None
    w0 = case64.to_numpy(m.pilot.coef)
    w = np.ones(600) if sw is None else sw
    if fit_intercept:
        mx, my = w @ X / w.sum(), w @ y / w.sum()
    else:
        mx, my = np.zeros(3), 0.0
    r0 = (y - my) - (X - mx) @ w0
    g = (X - mx).T @ (w * r0)
    assert_on_case(m.pilot.g, case64)
    # the products of raw (uncentred) data lose sqrt(cancellation) digits: 1e4 * eps
    np.testing.assert_allclose(
        case64.to_numpy(m.pilot.g), g, rtol=1e-9, atol=1e-9 * np.abs(g).max()
    )
    np.testing.assert_allclose(float(m.pilot.sse), w @ r0**2, rtol=1e-10)


@pytest.mark.parametrize("method", ["normal", "beta"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_refinement_from_the_pilot_skips_the_second_pass(case64, monkeypatch, method, weighted):
    rng = np.random.default_rng(6)
    X = rng.normal(size=(2000, 4)) * [1.0, 5.0, 0.1, 2.0] + [0.0, 1.0, -2.0, 0.5]
    y = X @ [1.0, -0.2, 3.0, 0.7] + 2.0 + 0.05 * rng.normal(size=2000)
    sw = rng.uniform(0.5, 1.5, size=2000) if weighted else None
    Xd, yd = case64.asarray(X), case64.asarray(y)
    swd = None if sw is None else case64.asarray(sw)
    passes = []
    real = closed_form.centred_products
    monkeypatch.setattr(
        closed_form, "centred_products", lambda *a, **k: passes.append(1) or real(*a, **k)
    )
    solve = closed_form.solve_normal if method == "normal" else closed_form.solve_beta
    xp = case64.xp
    fast = solve(Xd, yd, moments(Xd, yd, swd, chunk_rows=128, xp=xp), swd, chunk_rows=128, xp=xp)
    assert passes == []
    slow = solve(
        Xd, yd, moments(Xd, yd, swd, chunk_rows=128, pilot=False, xp=xp), swd, chunk_rows=128, xp=xp
    )
    assert passes == [1]
    np.testing.assert_allclose(case64.to_numpy(fast.coef), case64.to_numpy(slow.coef), rtol=1e-13)
    np.testing.assert_allclose(float(fast.sse), float(slow.sse), rtol=1e-12)


def test_a_poor_pilot_falls_back_to_the_second_pass(monkeypatch):
    """The first chunk holds only one regime of the data: its solution is far off, so the
    refinement takes the pass over the data (and the result is the reference's)."""
    import array_api_compat.numpy as xp

    rng = np.random.default_rng(7)
    X = rng.normal(size=(2000, 2))
    y = (
        np.where(np.arange(2000) < 128, -5.0, 1.0) * X[:, 0]
        + X[:, 1]
        + 0.01 * rng.normal(size=2000)
    )
    passes = []
    real = closed_form.centred_products
    monkeypatch.setattr(
        closed_form, "centred_products", lambda *a, **k: passes.append(1) or real(*a, **k)
    )
    m = moments(X, y, chunk_rows=128, xp=xp)
    sol = closed_form.solve_normal(X, y, m, chunk_rows=128, xp=xp)
    assert passes == [1]
    ref, _ = reference.normal_equations(X, y, xp=xp)
    np.testing.assert_allclose(sol.coef, ref, rtol=1e-12)


def test_moments_redo_on_shifted_data_when_centring_cancels():
    """Means of 1e6 against spreads of 1: raw sums would lose ~12 digits when centred; the
    moments still carry the certified-digit accuracy of a two-pass computation."""
    import array_api_compat.numpy as xp

    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 2)) + 1e6
    y = X @ [1.0, 2.0] + rng.normal(size=2000)
    m = moments(X, y, chunk_rows=256, xp=xp)
    assert cancellation(m, xp=xp) > CANCELLATION_LIMIT
    _, _, sxx, sxy, _ = _two_pass(X, y, None)
    np.testing.assert_allclose(m.sxx, sxx, rtol=1e-9)
    np.testing.assert_allclose(m.sxy, sxy, rtol=1e-9)
    # Standardised data: one pass, no cancellation to speak of.
    m0 = moments(X - 1e6, y - y.mean(), chunk_rows=256, xp=xp)
    assert cancellation(m0, xp=xp) < 2.0


def test_nonfinite_input_shows_in_the_moments():
    import array_api_compat.numpy as xp

    X, y, _ = make_regression(n=50, d=2)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf: the estimator's quiet
        X[7, 1] = math.inf
        assert not moments(X, y, xp=xp).finite(xp=xp)
        X[7, 1] = math.nan
        assert not moments(X, y, xp=xp).finite(xp=xp)
