"""Every optimiser against a loop written with ``torch.optim`` (the oracle), on every backend.

The oracle visits the same batches (each epoch's permutation drawn from
``np.random.default_rng(random_state)``, as the estimators draw it), sets each step's
``param_group["lr"]`` from the schedule (``eta0 / t**power_t``), and keeps the intercept in a
parameter group of its own without weight decay. Its loss is the estimators' mean over the
batch (weighted by the sample weights normalised to mean 1): ½·squared residual, the
sigmoid's or the softmax's log-loss. Float64 iterates agree to 1e-12 (relative to the
largest coefficient); float32 to 1e-3: ~100 updates whose every operation rounds at 6e-8,
and Adam/RMSprop divide by square roots of small second moments, which doubles the relative
error of a step.
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from _helpers import assert_on_case, make_classes, make_regression

import groundup as gu
from groundup.kernels.optimizers import OPTIMIZERS

torch = pytest.importorskip("torch")

EPOCHS = 3
ETA0 = {"sgd": 0.05, "momentum": 0.02, "nesterov": 0.02, "adagrad": 0.1, "rmsprop": 0.01}
ETA0 |= {"adam": 0.05, "adamw": 0.05}


def _torch_optimizer(name: str, groups: list[dict], params: dict):
    o = torch.optim
    if name == "sgd":
        return o.SGD(groups, lr=1.0)
    if name in ("momentum", "nesterov"):
        m = params.get("momentum", 0.9)
        return o.SGD(groups, lr=1.0, momentum=m, dampening=0, nesterov=name == "nesterov")
    if name == "adagrad":
        return o.Adagrad(groups, lr=1.0, eps=1e-10, initial_accumulator_value=0.0)
    if name == "rmsprop":
        return o.RMSprop(groups, lr=1.0, alpha=params.get("rho", 0.99), eps=1e-8)
    betas = (params.get("beta_1", 0.9), params.get("beta_2", 0.999))
    eps = params.get("epsilon", 1e-8)
    if name == "adam":
        return o.Adam(groups, lr=1.0, betas=betas, eps=eps)
    return o.AdamW(groups, lr=1.0, betas=betas, eps=eps)


def torch_loop(
    X,
    y,
    sw,
    *,
    optimizer,
    loss,
    k=1,
    batch_size,
    orders,
    eta0,
    power_t=0.25,
    alpha=0.0,
    fit_intercept=True,
    params=None,
    t0=1,
    start=None,
    opt=None,
):
    """``torch.optim`` over the batches of ``orders`` (one permutation per epoch).

    Returns coef (n_features, k), intercept (k,), and the optimiser (to go on from)."""
    params = params or {}
    n, d = X.shape
    Xt, yt = torch.as_tensor(X, dtype=torch.float64), torch.as_tensor(y)
    st = None if sw is None else torch.as_tensor(sw * (n / sw.sum()), dtype=torch.float64)
    if start is None:
        W = torch.zeros((d, k), dtype=torch.float64, requires_grad=True)
        b = torch.zeros((k,), dtype=torch.float64, requires_grad=True)
    else:
        W, b = start
    if opt is None:
        groups = [{"params": [W], "weight_decay": alpha}]
        if fit_intercept:
            groups.append({"params": [b], "weight_decay": 0.0})
        opt = _torch_optimizer(optimizer, groups, params)
    t = t0
    for order in orders:
        order = np.arange(n) if order is None else order
        for s in range(0, n, batch_size):
            idx = torch.as_tensor(order[s : s + batch_size])
            for group in opt.param_groups:
                group["lr"] = eta0 / t**power_t
            opt.zero_grad()
            Z = Xt[idx] @ W + b
            yb = yt[idx]
            if loss == "squared":
                per = 0.5 * (Z[:, 0] - yb) ** 2
            elif k == 1:
                per = torch.nn.functional.softplus(Z[:, 0]) - yb * Z[:, 0]
            else:
                per = torch.logsumexp(Z, dim=1) - Z[torch.arange(len(idx)), yb.long()]
            if st is not None:
                per = per * st[idx]
            (per.sum() / len(idx)).backward()
            opt.step()
            t += 1
    return W, b, opt


def _orders(n, epochs, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.permutation(n) for _ in range(epochs)]


def _close(case, ours, ref, what="", rtol64=1e-12):
    ours = np.asarray(case.to_numpy(ours), dtype=np.float64)
    ref = np.asarray(ref.detach().numpy() if hasattr(ref, "detach") else ref, dtype=np.float64)
    rtol = rtol64 if case.dtype == "float64" else 1e-3
    scale = max(np.abs(ref).max(), 1e-300)
    err = np.abs(ours - ref).max() / scale
    assert err <= rtol, f"{what}: max relative difference {err:.3g} > {rtol:g}"


def _weights(n, seed=3):
    return np.random.default_rng(seed).uniform(0.5, 2.0, size=n)


# -- linear regression: every optimiser, mini-batch, weights, L2 -------------------------------
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_minibatch_linear_equals_torch_optim(case, optimizer):
    X, y, _ = make_regression(n=90, d=3, seed=1)
    sw = _weights(90)
    alpha, bs = 0.05, 16
    est = gu.LinearRegression(
        method="minibatch",
        optimizer=optimizer,
        penalty="l2",
        alpha=alpha,
        eta0=ETA0[optimizer],
        batch_size=bs,
        max_iter=EPOCHS,
        tol=None,
        random_state=0,
    ).fit(case.asarray(X), case.asarray(y), sample_weight=case.asarray(sw))
    W, b, _ = torch_loop(
        X,
        y,
        sw,
        optimizer=optimizer,
        loss="squared",
        batch_size=bs,
        orders=_orders(90, EPOCHS),
        eta0=ETA0[optimizer],
        alpha=alpha,
    )
    assert_on_case(est.coef_, case)
    _close(case, est.coef_, W[:, 0], "coef")
    _close(case, est.intercept_, b[0], "intercept")
    assert est.t_ == 1 + EPOCHS * math.ceil(90 / bs)
    if optimizer != "sgd":
        assert est.optimizer_state_.optimizer.step == EPOCHS * math.ceil(90 / bs)


@pytest.mark.parametrize("optimizer", ["momentum", "nesterov", "rmsprop", "adam", "adamw"])
def test_optimizer_constants_reach_torch(case64, optimizer):
    """Non-default momentum, rho, betas and epsilon are the torch optimiser's."""
    X, y, _ = make_regression(n=60, d=2, seed=4)
    params = {"momentum": 0.5, "rho": 0.9, "beta_1": 0.8, "beta_2": 0.95, "epsilon": 1e-3}
    est = gu.LinearRegression(
        method="minibatch",
        optimizer=optimizer,
        eta0=0.02,
        batch_size=8,
        max_iter=2,
        tol=None,
        random_state=3,
        **params,
    ).fit(case64.asarray(X), case64.asarray(y))
    torch_params = dict(params)
    W, b, _ = torch_loop(
        X,
        y,
        None,
        optimizer=optimizer,
        loss="squared",
        batch_size=8,
        orders=_orders(60, 2, seed=3),
        eta0=0.02,
        params=torch_params,
    )
    if optimizer == "rmsprop":  # the oracle's RMSprop takes eps=1e-8: rebuild with epsilon
        W, b = _rmsprop_eps(X, y, params)
    _close(case64, est.coef_, W[:, 0], "coef")
    _close(case64, est.intercept_, b[0], "intercept")


def _rmsprop_eps(X, y, params):
    W = torch.zeros((X.shape[1], 1), dtype=torch.float64, requires_grad=True)
    b = torch.zeros((1,), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.RMSprop([W, b], lr=1.0, alpha=params["rho"], eps=params["epsilon"])
    torch_loop(
        X,
        y,
        None,
        optimizer="rmsprop",
        loss="squared",
        batch_size=8,
        orders=_orders(60, 2, seed=3),
        eta0=0.02,
        start=(W, b),
        opt=opt,
    )
    return W, b


@pytest.mark.parametrize("optimizer", ["sgd", "nesterov", "adagrad", "adam", "adamw"])
def test_sgd_and_full_batch_linear_equal_torch_optim(case64, optimizer):
    """One sample per update (the optimisers skip the blocked epoch) and full batch (the
    gradient from the moments), without an intercept for full batch."""
    X, y, _ = make_regression(n=40, d=3, seed=2)
    eta0 = ETA0[optimizer] / 2
    sgd = gu.LinearRegression(
        method="sgd", optimizer=optimizer, eta0=eta0, max_iter=2, tol=None, random_state=5
    ).fit(case64.asarray(X), case64.asarray(y))
    W, b, _ = torch_loop(
        X, y, None, optimizer=optimizer, loss="squared", batch_size=1,
        orders=_orders(40, 2, seed=5), eta0=eta0,
    )  # fmt: skip
    _close(case64, sgd.coef_, W[:, 0], "sgd coef")
    _close(case64, sgd.intercept_, b[0], "sgd intercept")
    full = gu.LinearRegression(
        method="batch",
        optimizer=optimizer,
        eta0=eta0,
        max_iter=25,
        tol=None,
        fit_intercept=False,
        penalty="l2",
        alpha=0.1,
    ).fit(case64.asarray(X), case64.asarray(y))
    W, b, _ = torch_loop(
        X, y, None, optimizer=optimizer, loss="squared", batch_size=40, orders=[None] * 25,
        eta0=eta0, fit_intercept=False, alpha=0.1,
    )  # fmt: skip
    _close(case64, full.coef_, W[:, 0], "batch coef")
    assert float(case64.to_numpy(full.intercept_)) == 0.0


# -- logistic regression: binary and multinomial ------------------------------------------------
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("k", [2, 3], ids=["binary", "multinomial"])
def test_logistic_equals_torch_optim(case, optimizer, k):
    X, labels = make_classes(n=80, d=3, k=k, seed=2)
    bs, alpha = 8, 0.01
    est = gu.LogisticRegression(
        method="minibatch",
        optimizer=optimizer,
        penalty="l2",
        alpha=alpha,
        eta0=ETA0[optimizer],
        batch_size=bs,
        max_iter=EPOCHS,
        tol=None,
        random_state=1,
    ).fit(case.asarray(X), labels)
    outputs = 1 if k == 2 else k
    target = labels.astype(np.float64) if k == 2 else labels.astype(np.int64)
    W, b, _ = torch_loop(
        X,
        target,
        None,
        optimizer=optimizer,
        loss="log",
        k=outputs,
        batch_size=bs,
        orders=_orders(80, EPOCHS, seed=1),
        eta0=ETA0[optimizer],
        alpha=alpha,
    )
    assert_on_case(est.coef_, case)
    _close(case, est.coef_, W.T, "coef")
    _close(case, est.intercept_, b, "intercept")


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_logistic_full_batch_equals_torch_optim(case64, optimizer):
    """Full batch: the gradient over all rows is a sum with cancellation (its components
    shrink towards the minimum while the terms do not), so the two sums' rounding differs
    by ~1e-16 of the terms, ~1e-11 of a small component; Adam's step g/sqrt(v) sees a
    component's relative error whatever its size. Momentum (a linear update) holds 1e-12,
    Adam 1e-9."""
    X, labels = make_classes(n=60, d=2, k=3, seed=5)
    est = gu.LogisticRegression(
        method="batch", optimizer=optimizer, eta0=0.05, max_iter=8, tol=None
    ).fit(case64.asarray(X), labels)
    W, b, _ = torch_loop(
        X, labels.astype(np.int64), None, optimizer=optimizer, loss="log", k=3, batch_size=60,
        orders=[None] * 8, eta0=0.05,
    )  # fmt: skip
    rtol = 1e-9 if optimizer == "adam" else 1e-12
    ours = np.concatenate([case64.to_numpy(est.coef_).T, case64.to_numpy(est.intercept_)[None]])
    ref = torch.cat([W, b[None, :]]).detach().numpy()  # the intercepts are ~0: one scale
    _close(case64, case64.asarray(ours), ref, "coef and intercept", rtol)


# -- the state carried: partial_fit, warm_start, pickling, record_path -----------------------
@pytest.mark.parametrize("optimizer", ["momentum", "adagrad", "adam"])
def test_partial_fit_continues_the_optimiser(case64, optimizer):
    """Two ``partial_fit`` calls are one torch loop over two epochs (the same permutation,
    each call's ``Generator`` seeded alike), ``t`` and the state running on."""
    X, y, _ = make_regression(n=50, d=3, seed=6)
    eta0 = ETA0[optimizer]
    est = gu.LinearRegression(
        method="minibatch", optimizer=optimizer, eta0=eta0, batch_size=10, random_state=2,
        record_path=True,
    )  # fmt: skip
    Xc, yc = case64.asarray(X), case64.asarray(y)
    est.partial_fit(Xc, yc)
    first = case64.to_numpy(est.coef_).copy()
    est.partial_fit(Xc, yc)
    perm = _orders(50, 1, seed=2)[0]
    W, b, _ = torch_loop(
        X, y, None, optimizer=optimizer, loss="squared", batch_size=10, orders=[perm, perm],
        eta0=eta0,
    )  # fmt: skip
    _close(case64, est.coef_, W[:, 0], "coef")
    _close(case64, est.intercept_, b[0], "intercept")
    assert est.optimizer_state_.optimizer.step == 10
    assert est.t_ == 11
    assert not np.allclose(first, case64.to_numpy(est.coef_))
    assert len(est.path_) == 1  # each call records its own epoch
    np.testing.assert_allclose(est.path_[0][0], case64.to_numpy(est.coef_), rtol=1e-15)


def test_warm_start_carries_the_optimiser_state():
    """``warm_start``: the weights and the optimiser's state go on; the schedule's ``t``
    starts again at 1 (scikit-learn's ``fit``), as a torch loop whose rates restart."""
    X, y, _ = make_regression(n=40, d=2, seed=7)
    est = gu.LinearRegression(
        method="minibatch", optimizer="adam", eta0=0.05, batch_size=10, max_iter=2, tol=None,
        random_state=4, warm_start=True,
    )  # fmt: skip
    est.fit(X, y)
    est.set_params(max_iter=1)
    est.fit(X, y)
    orders = _orders(40, 2, seed=4)
    W, b, opt = torch_loop(
        X, y, None, optimizer="adam", loss="squared", batch_size=10, orders=orders, eta0=0.05
    )
    torch_loop(
        X, y, None, optimizer="adam", loss="squared", batch_size=10, orders=orders[:1],
        eta0=0.05, start=(W, b), opt=opt,
    )  # fmt: skip
    np.testing.assert_allclose(est.coef_, W[:, 0].detach().numpy(), rtol=1e-12)
    assert est.optimizer_state_.optimizer.step == 12
    cold = gu.LinearRegression(**{**est.get_params(), "warm_start": False}).fit(X, y)
    assert not np.allclose(cold.coef_, est.coef_)


def test_optimizer_state_pickles_and_moves():
    X, y, _ = make_regression(n=30, d=2, seed=8)
    est = gu.LinearRegression(
        method="minibatch", optimizer="rmsprop", eta0=0.01, max_iter=2, tol=None, random_state=0
    ).fit(X, y)
    back = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(
        back.optimizer_state_.optimizer.slots[0], est.optimizer_state_.optimizer.slots[0]
    )
    moved = est.to("torch")
    (sq,) = moved.optimizer_state_.optimizer.slots
    assert isinstance(sq, torch.Tensor)
    assert tuple(sq.shape) == (3, 1)
    assert set(est.optimizer_state_.optimizer.as_dict()) == {"square_avg"}


def test_state_of_another_optimizer_starts_afresh():
    X, y, _ = make_regression(n=30, d=2, seed=9)
    est = gu.LinearRegression(method="minibatch", optimizer="adam", eta0=0.01, random_state=0)
    est.partial_fit(X, y)
    est.set_params(optimizer="momentum")
    est.partial_fit(X, y)
    assert est.optimizer_state_.optimizer.name == "momentum"
    assert est.optimizer_state_.optimizer.step == 1


# -- Dask: the streamed path carries the state across chunks and epochs -----------------------
@pytest.mark.parametrize("model", ["linear", "logistic"])
@pytest.mark.parametrize("optimizer", ["nesterov", "adam"])
def test_dask_stream_equals_in_memory(model, optimizer):
    da = pytest.importorskip("dask.array")
    if model == "linear":
        X, y, _ = make_regression(n=96, d=3, seed=3)
        cls = gu.LinearRegression
    else:
        X, y = make_classes(n=96, d=3, k=3, seed=3)
        cls = gu.LogisticRegression
    params = {"method": "minibatch", "optimizer": optimizer, "eta0": 0.02, "batch_size": 8}
    params |= {"max_iter": 3, "tol": None, "shuffle": False}
    mem = cls(**params).fit(X, y)
    for chunks in (96, 24):  # one chunk; chunks of whole batches (shuffle off)
        lazy = cls(**params).fit(da.from_array(X, chunks=(chunks, -1)), da.from_array(y, chunks))
        np.testing.assert_allclose(lazy.coef_, mem.coef_, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(lazy.intercept_, mem.intercept_, rtol=1e-12, atol=1e-14)
        assert lazy.optimizer_state_.optimizer.step == mem.optimizer_state_.optimizer.step
    one = cls(**{**params, "shuffle": True, "random_state": 1})
    mem = one.fit(X, y).coef_
    lazy = one.fit(da.from_array(X, chunks=(96, -1)), da.from_array(y, 96)).coef_
    np.testing.assert_allclose(lazy, mem, rtol=1e-12, atol=1e-14)


def test_dask_partial_fit_carries_the_state():
    da = pytest.importorskip("dask.array")
    X, y, _ = make_regression(n=40, d=2, seed=4)
    params = {"method": "minibatch", "optimizer": "adam", "eta0": 0.02, "batch_size": 10}
    params |= {"shuffle": False}
    mem, lazy = gu.LinearRegression(**params), gu.LinearRegression(**params)
    Xd, yd = da.from_array(X, chunks=(20, -1)), da.from_array(y, 20)
    for _ in range(2):
        mem.partial_fit(X, y)
        lazy.partial_fit(Xd, yd)
    np.testing.assert_allclose(lazy.coef_, mem.coef_, rtol=1e-12)
    assert lazy.optimizer_state_.optimizer.step == 8
    assert isinstance(lazy.optimizer_state_.optimizer.slots[0], np.ndarray)


# -- bad values ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("param", "value", "match"),
    [
        ("optimizer", "adamax", "Unknown optimizer 'adamax'; choose one of"),
        ("optimizer", None, "Unknown optimizer None"),
        ("momentum", 1.0, r"momentum must be in \[0, 1\)"),
        ("momentum", -0.1, r"momentum must be in \[0, 1\)"),
        ("beta_1", 1.0, r"beta_1 must be in \[0, 1\)"),
        ("beta_2", 1.5, r"beta_2 must be in \[0, 1\)"),
        ("rho", -1.0, r"rho must be in \[0, 1\)"),
        ("epsilon", 0.0, "epsilon must be > 0"),
        ("epsilon", -1e-8, "epsilon must be > 0"),
    ],
)
def test_bad_optimizer_values(param, value, match):
    X, y, _ = make_regression(n=20, d=2)
    with pytest.raises(ValueError, match=match):
        gu.LinearRegression(method="minibatch", **{param: value}).fit(X, y)


def test_unknown_optimizer_lists_the_valid_names():
    X, y, _ = make_regression(n=20, d=2)
    with pytest.raises(ValueError, match="Unknown optimizer 'lbfgs'") as err:
        gu.fit(X, y, method="sgd", optimizer="lbfgs")
    for name in OPTIMIZERS:
        assert repr(name) in str(err.value)


@pytest.mark.parametrize("optimizer", ["adam", "adamw"])
def test_adam_state_is_torchs_exp_avg_and_exp_avg_sq(optimizer):
    """Adam's moments are kept scaled inside (two operations fewer per update); the state a
    user reads (``as_dict``) is torch's ``exp_avg`` / ``exp_avg_sq``, W's rows then b's."""
    X, y, _ = make_regression(n=40, d=3, seed=11)
    params = {"beta_1": 0.8, "beta_2": 0.99}
    est = gu.LinearRegression(
        method="minibatch", optimizer=optimizer, eta0=0.05, batch_size=10, max_iter=3,
        tol=None, random_state=2, **params,
    ).fit(X, y)  # fmt: skip
    W, b, opt = torch_loop(
        X, y, None, optimizer=optimizer, loss="squared", batch_size=10,
        orders=_orders(40, 3, seed=2), eta0=0.05, params=params,
    )  # fmt: skip
    state = est.optimizer_state_.optimizer.as_dict()
    for name in ("exp_avg", "exp_avg_sq"):
        ref = np.concatenate([opt.state[W][name].numpy(), opt.state[b][name].numpy()[None, :]])
        np.testing.assert_allclose(state[name], ref, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(est.coef_, W[:, 0].detach().numpy(), rtol=1e-12)


def test_adam_betas_changed_between_partial_fits_keep_torchs_moments():
    """Moments kept at one pair of betas' scale carry over to another pair as torch's do
    (torch keeps exp_avg, exp_avg_sq and applies the new betas from the next step)."""
    X, y, _ = make_regression(n=40, d=2, seed=12)
    est = gu.LinearRegression(
        method="minibatch", optimizer="adam", eta0=0.05, batch_size=40, shuffle=False
    )
    est.partial_fit(X, y)
    est.set_params(beta_1=0.5, beta_2=0.9)
    est.partial_fit(X, y)
    W, b, opt = torch_loop(
        X, y, None, optimizer="adam", loss="squared", batch_size=40, orders=[None], eta0=0.05
    )
    for group in opt.param_groups:
        group["betas"] = (0.5, 0.9)
    torch_loop(
        X, y, None, optimizer="adam", loss="squared", batch_size=40, orders=[None],
        eta0=0.05, start=(W, b), opt=opt, t0=2,
    )  # fmt: skip
    np.testing.assert_allclose(est.coef_, W[:, 0].detach().numpy(), rtol=1e-12)
    state = est.optimizer_state_.optimizer.as_dict()
    np.testing.assert_allclose(state["exp_avg"][:-1, 0], opt.state[W]["exp_avg"][:, 0].numpy())
