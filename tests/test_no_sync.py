"""No host synchronisation per update on torch.

On the CPU every way a tensor's value reaches Python (``item``, ``tolist``, ``numpy``,
``cpu``, ``float()``, ``int()``, ``bool()``, ``__index__``, ``__array__``) is counted while the
gradient methods run: with ``tol=None`` the count of a whole fit does not grow with the number
of updates or epochs (the descent engine itself makes none), and with ``tol`` set it grows by
at most one per epoch (the convergence check). On a CUDA device the engine runs under
``torch.cuda.set_sync_debug_mode("error")``, which raises at any synchronising call.
"""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import make_regression
from sklearn.exceptions import ConvergenceWarning

import groundup as gu
from groundup.kernels.descent import Column, DescentSettings, descend
from groundup.kernels.losses import SquaredLoss
from groundup.kernels.optimizers import OptimizerSettings
from groundup.kernels.schedules import Schedule
from groundup.kernels.update import UpdateSettings

torch = pytest.importorskip("torch")

SYNC_METHODS = (
    "item",
    "tolist",
    "numpy",
    "cpu",
    "__float__",
    "__int__",
    "__bool__",
    "__index__",
    "__array__",
)
METHODS = {"sgd": 1, "minibatch": 16, "batch": None}  # method: batch_size


@pytest.fixture
def syncs(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts the calls that bring a tensor's value to the host."""
    counter = {"n": 0}
    for name in SYNC_METHODS:
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _original=original, **kwargs):
            counter["n"] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    return counter


def test_the_counter_counts(syncs):
    t = torch.ones(3)
    before = syncs["n"]
    float(t[0]), bool(t[1] > 0), t.tolist(), t.numpy()
    assert syncs["n"] - before == 4


def _fit_count(syncs, method, *, n, epochs, tol, **extra):
    X, y, _ = make_regression(n=n, d=3, seed=2)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    params = {"eta0": 0.01, "max_iter": epochs, "tol": tol, "random_state": 0}
    if METHODS[method] is not None:
        params["batch_size"] = METHODS[method]
    est = gu.LinearRegression(method=method, **params, **extra)
    before = syncs["n"]
    est.fit(Xt, yt)
    count = syncs["n"] - before
    assert est.n_iter_ == epochs
    assert isinstance(est.coef_, torch.Tensor)
    return count


@pytest.mark.parametrize("method", list(METHODS))
def test_fit_without_tol_does_not_sync_per_update_or_epoch(syncs, method):
    small = _fit_count(syncs, method, n=96, epochs=2, tol=None)
    more_epochs = _fit_count(syncs, method, n=96, epochs=6, tol=None)
    more_updates = _fit_count(syncs, method, n=384, epochs=2, tol=None)
    assert more_epochs == small
    assert more_updates == small


@pytest.mark.parametrize("method", list(METHODS))
def test_fit_with_tol_syncs_at_most_once_per_epoch(syncs, method):
    # n_iter_no_change larger than max_iter: every epoch runs (and the fit warns).
    with pytest.warns(ConvergenceWarning):
        two = _fit_count(syncs, method, n=96, epochs=2, tol=1e-12, n_iter_no_change=50)
    with pytest.warns(ConvergenceWarning):
        six = _fit_count(syncs, method, n=96, epochs=6, tol=1e-12, n_iter_no_change=50)
    assert six - two <= 4
    with pytest.warns(ConvergenceWarning):
        bigger = _fit_count(syncs, method, n=384, epochs=2, tol=1e-12, n_iter_no_change=50)
    assert bigger == two


def _engine(method, X, y, *, device, epochs, alpha=0.0, update=None):
    """Objective, settings and precomputed orders for a direct run of the engine."""
    n, d = X.shape
    Xd = torch.as_tensor(X, device=device)
    yd = torch.as_tensor(y, device=device)
    import array_api_compat.torch as xp

    from groundup import backends

    be = backends.resolve("torch", device)
    objective = SquaredLoss(
        Xd, yd, None, use_moments=method == "batch", solve_triangular=be.solve_triangular, xp=xp
    )
    rng = np.random.default_rng(0)
    orders = iter([torch.as_tensor(rng.permutation(n), device=device) for _ in range(epochs)])
    bs = {"sgd": 1, "minibatch": 16, "batch": n}[method]
    settings = DescentSettings(batch_size=bs)
    W = torch.zeros((d, 1), dtype=Xd.dtype, device=device)
    b = torch.zeros((1,), dtype=Xd.dtype, device=device)
    schedule = Schedule("invscaling", 0.01, updates_per_epoch=max(1, n // bs))
    column = Column(schedule, max_iter=epochs, alpha=alpha, tol=None)
    if update is not None:
        column.update = update
    return objective, Xd, yd, W, b, [column], settings, orders, xp


@pytest.mark.parametrize("alpha", [0.0, 1e-3], ids=["no-penalty", "l2"])
@pytest.mark.parametrize("method", list(METHODS))
def test_engine_makes_no_sync_without_tol(syncs, method, alpha):
    X, y, _ = make_regression(n=200, d=3, seed=1)
    obj, Xd, yd, W, b, columns, settings, orders, xp = _engine(
        method, X, y, device="cpu", epochs=3, alpha=alpha
    )
    before = syncs["n"]
    (res,) = descend(
        obj, Xd, yd, None, W, b, columns=columns, settings=settings, orders=orders, xp=xp
    )
    assert syncs["n"] == before
    assert len(res.history) == 3


UPDATES = {
    "adam": UpdateSettings(optimizer=OptimizerSettings("adam")),
    "nesterov": UpdateSettings(optimizer=OptimizerSettings("nesterov")),
    "adagrad": UpdateSettings(optimizer=OptimizerSettings("adagrad")),
    "l1": UpdateSettings(l1=1e-3),
    "average": UpdateSettings(l1=1e-3, average=5),
}


@pytest.mark.parametrize("update", list(UPDATES))
@pytest.mark.parametrize("method", list(METHODS))
def test_optimizers_penalties_and_averaging_make_no_sync(syncs, method, update):
    """The stepper's updates (kernels/update.py) read nothing back, on torch (where the L1
    epoch runs update by update: its windowed form is for host backends)."""
    X, y, _ = make_regression(n=120, d=3, seed=1)
    obj, Xd, yd, W, b, columns, settings, orders, xp = _engine(
        method, X, y, device="cpu", epochs=3, alpha=1e-3, update=UPDATES[update]
    )
    before = syncs["n"]
    (res,) = descend(
        obj, Xd, yd, None, W, b, columns=columns, settings=settings, orders=orders, xp=xp
    )
    assert syncs["n"] == before
    assert res.state is not None
    assert len(res.history) == 3


@pytest.mark.parametrize("optimizer", ["adam", "momentum"])
def test_optimizer_fit_without_tol_does_not_sync_per_update(syncs, optimizer):
    small = _fit_count(syncs, "minibatch", n=96, epochs=2, tol=None, optimizer=optimizer)
    more = _fit_count(syncs, "minibatch", n=384, epochs=6, tol=None, optimizer=optimizer)
    assert more == small


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device for torch")
@pytest.mark.parametrize("alpha", [0.0, 1e-3], ids=["no-penalty", "l2"])
@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("update", [None, "adam", "l1", "average"])
def test_engine_makes_no_sync_on_cuda(method, alpha, update):
    X, y, _ = make_regression(n=300, d=4, seed=1)
    obj, Xd, yd, W, b, columns, settings, orders, xp = _engine(
        method, X, y, device="cuda", epochs=2, alpha=alpha, update=UPDATES.get(update)
    )
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        (res,) = descend(
            obj, Xd, yd, None, W, b, columns=columns, settings=settings, orders=orders, xp=xp
        )
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert res.W.device.type == "cuda"
    np.testing.assert_array_equal(np.isfinite(torch.stack(res.history).cpu().numpy()), True)


class _SyncingLoss(SquaredLoss):
    """A deliberately bad objective: reads a value on the host in every (fused) update."""

    def batch_step(self, Xb, yb, sb, W, b, eta, decay, fit_intercept):
        float(b[0])
        return super().batch_step(Xb, yb, sb, W, b, eta, decay, fit_intercept)


def test_the_check_catches_a_sync_per_update(syncs):
    X, y, _ = make_regression(n=64, d=3, seed=1)
    obj, Xd, yd, W, b, columns, settings, orders, xp = _engine(
        "minibatch", X, y, device="cpu", epochs=2
    )
    bad = _SyncingLoss(Xd, yd, None, xp=xp)
    before = syncs["n"]
    descend(bad, Xd, yd, None, W, b, columns=columns, settings=settings, orders=orders, xp=xp)
    assert syncs["n"] - before == 2 * 64 // 16
