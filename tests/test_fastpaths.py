"""Fast paths against their oracles, on every backend x device x dtype.

- the blocked one-sample SGD epoch (``SquaredLoss.sgd_epoch``) against the plain per-sample
  loop of the descent engine (an objective without ``sgd_epoch``);
- the vectorised learning rates against ``Schedule.__call__``;
- the unit lower triangular solve (backend fast path, portable fallback) against row-by-row
  forward substitution; NumPy's direct BLAS/LAPACK call against SciPy;
- the one-pass moments (raw sums, redone on shifted data when centring would cancel digits)
  against a two-pass NumPy computation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import make_regression
from sklearn.linear_model import SGDRegressor

import groundup as gu
from groundup import backends
from groundup.kernels import closed_form, sgd_blocked
from groundup.kernels.closed_form import CANCELLATION_LIMIT, cancellation, moments
from groundup.kernels.descent import DescentSettings, descend
from groundup.kernels.losses import SquaredLoss
from groundup.kernels.schedules import SCHEDULES, Schedule

# Schedule parameters that keep one-sample SGD stable on standardised data (eta <= ~1).
SCHEDULE_PARAMS = {
    "optimal": {"alpha": 1.0},  # eta = 1 / t
    "exponential_decay": {"decay": 0.01},
    "time_decay": {"decay": 0.01},
    "step_decay": {"epochs_drop": 1.0},
    "cosine_annealing": {"t_max": 2.0},
}


class PerSampleLoss(SquaredLoss):
    """The oracle: without ``sgd_epoch`` (and ``batch_step``) the engine makes one plain
    ``batch_grad`` step per row."""

    sgd_epoch = None
    batch_step = None


def _tol(case) -> float:
    return 1e-12 if case.dtype == "float64" else 1e-4


def _assert_on_case(a, case) -> None:
    be = case.backend
    assert backends.from_array(a).name == be.name
    assert backends.from_array(a).device_name == be.device_name
    assert str(a.dtype).endswith(case.dtype)


def _descend(case, cls, X, y, sw, *, schedule, alpha, fit_intercept, shuffle, epochs, tol=None):
    """Run the engine with one-sample updates; the same permutations for both objectives."""
    be, xp = case.backend, case.xp
    n, d = X.shape
    Xd, yd = case.asarray(X), case.asarray(y)
    swd = None if sw is None else case.asarray(sw)
    rng = np.random.default_rng(7)
    orders = (lambda: be.asarray(rng.permutation(n))) if shuffle else (lambda: None)
    objective = cls(Xd, yd, swd, solve_triangular=be.solve_triangular, xp=xp)
    settings = DescentSettings(
        max_iter=epochs,
        batch_size=1,
        alpha=alpha,
        fit_intercept=fit_intercept,
        tol=tol,
        n_iter_no_change=1,
    )
    W0 = xp.zeros((d, 1), dtype=Xd.dtype, device=be.device)
    b0 = xp.zeros((1,), dtype=Xd.dtype, device=be.device)
    res = descend(
        objective, Xd, yd, swd, W0, b0, schedule=schedule, settings=settings, orders=orders, xp=xp
    )
    return res


def _params(res, case) -> np.ndarray:
    return np.concatenate([case.to_numpy(res.W)[:, 0], case.to_numpy(res.b)])


def _compare_epochs(case, *, schedule_name, alpha, fit_intercept, weighted, shuffle, tol=None):
    assert 100 % sgd_blocked.BLOCK != 0
    # n = 100 is not a multiple of the block size: the last block is ragged.
    X, y, _ = make_regression(n=100, d=3, seed=5)
    sw = np.random.default_rng(2).uniform(0.5, 1.5, size=100) if weighted else None
    if sw is not None:
        sw = sw * (100 / sw.sum())  # the estimator normalises weights to mean 1
    out = []
    for cls in (PerSampleLoss, SquaredLoss):
        schedule = Schedule(
            schedule_name, 0.05, updates_per_epoch=100, **SCHEDULE_PARAMS.get(schedule_name, {})
        )
        res = _descend(
            case,
            cls,
            X,
            y,
            sw,
            schedule=schedule,
            alpha=alpha,
            fit_intercept=fit_intercept,
            shuffle=shuffle,
            epochs=3,
            tol=tol,
        )
        out.append((res, schedule))
    (plain, s_plain), (blocked, s_blocked) = out
    _assert_on_case(blocked.W, case)
    _assert_on_case(blocked.b, case)
    np.testing.assert_allclose(
        _params(blocked, case),
        _params(plain, case),
        rtol=_tol(case),
        atol=_tol(case) * np.abs(_params(plain, case)).max(),
    )
    hist_p = np.array([float(v) for v in plain.history])
    hist_b = np.array([float(v) for v in blocked.history])
    np.testing.assert_allclose(hist_b, hist_p, rtol=10 * _tol(case))
    assert blocked.updates == plain.updates == 300
    assert s_blocked.scale == s_plain.scale
    if not fit_intercept:
        assert float(blocked.b[0]) == 0.0


@pytest.mark.parametrize("schedule_name", SCHEDULES)
def test_blocked_sgd_equals_per_sample_loop_every_schedule(case, schedule_name):
    # adaptive: a tol no loss can meet makes the engine divide eta by 5 after every epoch.
    tol = 1e9 if schedule_name == "adaptive" else None
    _compare_epochs(
        case,
        schedule_name=schedule_name,
        alpha=0.0,
        fit_intercept=True,
        weighted=False,
        shuffle=True,
        tol=tol,
    )


@pytest.mark.parametrize("shuffle", [True, False], ids=["shuffled", "in-order"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("alpha", [0.0, 0.05], ids=["no-penalty", "l2"])
@pytest.mark.parametrize("fit_intercept", [True, False], ids=["intercept", "no-intercept"])
def test_blocked_sgd_equals_per_sample_loop(case, fit_intercept, alpha, weighted, shuffle):
    _compare_epochs(
        case,
        schedule_name="invscaling",
        alpha=alpha,
        fit_intercept=fit_intercept,
        weighted=weighted,
        shuffle=shuffle,
    )


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("alpha", [0.0, 0.05], ids=["no-penalty", "l2"])
@pytest.mark.parametrize("fit_intercept", [True, False], ids=["intercept", "no-intercept"])
def test_fused_batch_step_equals_batch_grad_update(case, fit_intercept, alpha, weighted):
    """Mini-batches of 16 (ragged last one): ``batch_step`` against ``batch_grad`` + update."""
    be, xp = case.backend, case.xp
    X, y, _ = make_regression(n=90, d=3, seed=6)
    sw = np.random.default_rng(3).uniform(0.5, 1.5, size=90) if weighted else None
    out = []
    for cls in (PerSampleLoss, SquaredLoss):
        rng = np.random.default_rng(0)
        Xd, yd = case.asarray(X), case.asarray(y)
        swd = None if sw is None else case.asarray(sw)
        res = descend(
            cls(Xd, yd, swd, xp=xp),
            Xd,
            yd,
            swd,
            xp.zeros((3, 1), dtype=Xd.dtype, device=be.device),
            xp.zeros((1,), dtype=Xd.dtype, device=be.device),
            schedule=Schedule("invscaling", 0.1),
            settings=DescentSettings(
                max_iter=3, batch_size=16, alpha=alpha, fit_intercept=fit_intercept, tol=None
            ),
            orders=lambda rng=rng: be.asarray(rng.permutation(90)),
            xp=xp,
        )
        out.append(res)
    _assert_on_case(out[1].W, case)
    np.testing.assert_allclose(
        _params(out[1], case), _params(out[0], case), rtol=_tol(case), atol=_tol(case)
    )
    assert out[0].updates == out[1].updates == 3 * 6


@pytest.mark.parametrize(("block", "group_rows"), [(8, 24), (5, 5), (1, 7), (64, 4096)])
def test_blocked_kernel_block_and_group_sizes(case, block, group_rows):
    """Ragged last blocks and groups, blocks of one, a block larger than the data."""
    xp = case.xp
    X, y, _ = make_regression(n=37, d=4, seed=9)
    etas_h = np.array([Schedule("invscaling", 0.05)(t) for t in range(1, 38)])
    order = np.random.default_rng(0).permutation(37)
    Xd, yd = case.asarray(X), case.asarray(y)
    W0 = case.asarray(np.full((4, 1), 0.1))
    b0 = case.asarray(np.array([0.5]))
    W, b = sgd_blocked.sgd_blocked_epoch(
        Xd,
        yd,
        None,
        case.backend.asarray(order),
        W0,
        b0,
        case.asarray(etas_h),
        alpha=0.02,
        fit_intercept=True,
        block=block,
        group_rows=group_rows,
        solve_triangular=case.backend.solve_triangular,
        xp=xp,
    )
    _assert_on_case(W, case)
    # The per-sample update written out (scikit-learn's order: decay, then the step).
    w, c = np.full(4, 0.1), 0.5
    for t, i in enumerate(order):
        r = X[i] @ w + c - y[i]
        w = (1 - etas_h[t] * 0.02) * w - etas_h[t] * r * X[i]
        c = c - etas_h[t] * r
    np.testing.assert_allclose(case.to_numpy(W)[:, 0], w, rtol=_tol(case), atol=_tol(case))
    np.testing.assert_allclose(case.to_numpy(b), [c], rtol=_tol(case))


def test_large_decay_steps_use_the_per_sample_loop(case):
    """eta * alpha > MAX_DECAY_STEP (scikit-learn clamps the decay at zero): the engine keeps
    the per-sample loop, so the result is still the oracle's."""
    X, y, _ = make_regression(n=40, d=2, seed=3)
    schedule = Schedule("constant", 0.9)
    runs = [
        _descend(
            case,
            cls,
            X,
            y,
            None,
            schedule=schedule,
            alpha=1.5,
            fit_intercept=True,
            shuffle=False,
            epochs=2,
        )
        for cls in (PerSampleLoss, SquaredLoss)
    ]
    assert 0.9 * 1.5 > sgd_blocked.MAX_DECAY_STEP
    np.testing.assert_allclose(_params(runs[1], case), _params(runs[0], case), rtol=_tol(case))


@pytest.mark.parametrize("shuffle", [False, True])
def test_sgd_reproduces_sklearn_sgdregressor(case64, shuffle):
    """Several groups of blocks (n > GROUP_ROWS), three epochs, constant rate."""
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
    if shuffle:  # groundup draws its own permutations: the per-sample loop with the same ones
        rng, w, c = np.random.default_rng(0), np.zeros(4), 0.0
        for _ in range(3):
            for i in rng.permutation(5000):
                r = X[i] @ w + c - y[i]
                w, c = w - 0.01 * r * X[i], c - 0.01 * r
        ref_coef, ref_icpt = w, c
    else:
        sk = SGDRegressor(**params).fit(X, y)
        ref_coef, ref_icpt = sk.coef_, sk.intercept_[0]
    _assert_on_case(est.coef_, case64)
    np.testing.assert_allclose(case64.to_numpy(est.coef_), ref_coef, rtol=1e-10)
    np.testing.assert_allclose(float(est.intercept_), ref_icpt, rtol=1e-10)
    assert est.t_ == 3 * 5000 + 1


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
    _assert_on_case(rates, case)
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


@pytest.mark.parametrize("use_fast", [True, False], ids=["fast-path", "portable"])
def test_solve_unit_lower_against_forward_substitution(case, use_fast):
    L, r = _unit_lower_problem()
    xp, be = case.xp, case.backend
    Ld, rd = case.asarray(L), case.asarray(r)
    fast = be.solve_triangular if use_fast else None
    x = sgd_blocked.solve_unit_lower(Ld, rd, fast=fast, xp=xp)
    oracle = sgd_blocked.forward_substitution(Ld, rd, xp=xp)
    _assert_on_case(x, case)
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
    _assert_on_case(m.sxx, case)
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
    _assert_on_case(m.sxx, case)
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
    _assert_on_case(m.pilot.g, case64)
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
    refinement takes the pass over the data (and the result is as accurate)."""
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
    Xc = np.c_[np.ones(2000), X]
    ref = np.linalg.lstsq(Xc, y, rcond=None)[0][1:]
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
