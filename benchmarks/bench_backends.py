"""Every method on every backend x device x dtype, with its peers, side by side.

``pytest benchmarks/bench_backends.py --benchmark-only`` times groundup's closed forms
(``normal``, ``beta``) and gradient loops (``batch`` 100 epochs, ``sgd`` one epoch,
``minibatch`` 5 epochs of 256) on each backend, device and dtype that works here, and the peer
of each method in the same run: scikit-learn ``LinearRegression`` / ``SGDRegressor`` and the
hand-written PyTorch loop of :mod:`groundup.bench.peers` (autograd + ``torch.optim.SGD``, on each
torch device). Each timed call ends with a device synchronisation. Tests are grouped by method
(``benchmark.group``), so pytest-benchmark prints a method's backends and its peers in one
table; ``--benchmark-save`` / ``--benchmark-compare`` compare machines (the ids name backend,
device and dtype). GPU cases are collected everywhere and skip where there is no GPU.

Size: ``GROUNDUP_BENCH_N`` rows (default 20,000) x 16 features; ``GROUNDUP_BENCH_SMALL=1``
shrinks it to 2,000 x 8 for a smoke check (``--benchmark-disable``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import groundup as gu
from groundup import backends
from groundup.bench.peers import peers_for

SMALL = os.environ.get("GROUNDUP_BENCH_SMALL", "") not in ("", "0")
N = 2_000 if SMALL else int(os.environ.get("GROUNDUP_BENCH_N", "20000"))
D = 8 if SMALL else 16
ROUNDS, WARMUP = (1, 0) if SMALL else (3, 1)
# The work of each method, fixed (tol=None) so that every backend does the same updates.
METHODS: dict[str, dict[str, Any]] = {
    "normal": {},
    "beta": {},
    "batch": {"max_iter": 100, "tol": None, "learning_rate": "constant", "eta0": 0.1},
    "sgd": {"max_iter": 1, "tol": None, "shuffle": True},
    "minibatch": {
        "max_iter": 5, "tol": None, "batch_size": 256, "learning_rate": "constant", "eta0": 0.1,
    },
}  # fmt: skip
INFO = backends.available()


@dataclass(frozen=True)
class Place:
    backend: str
    device: str
    dtype: str

    @property
    def id(self) -> str:
        return f"{self.backend}-{self.device}-{self.dtype}"


def _params(places: list[tuple[str, str]]) -> list[Any]:
    out = []
    for name, device in places:
        entry = INFO.get(name, {})
        for dtype in ("float64", "float32"):
            place = Place(name, device, dtype)
            reason = None
            if not entry.get("installed"):
                reason = f"{name} is not installed"
            elif not any(d.split(":")[0] == device for d in entry["devices"]):
                reason = f"no {device} device for {name}"
            elif dtype == "float64" and not entry.get("float64"):
                reason = f"{name} has no float64 here (JAX_ENABLE_X64 unset)"
            marks = [pytest.mark.gpu] if device != "cpu" else []
            if reason:
                marks.append(pytest.mark.skip(reason=reason))
            out.append(pytest.param(place, id=place.id, marks=marks))
    return out


PLACES = _params([
    ("numpy", "cpu"), ("torch", "cpu"), ("jax", "cpu"), ("array_api_strict", "cpu"),
    ("torch", "cuda"), ("cupy", "cuda"), ("jax", "cuda"),
])  # fmt: skip
TORCH_DEVICES = [
    pytest.param(dev, id=f"torch-{dev}", marks=[pytest.mark.gpu] if dev != "cpu" else [])
    for dev in ("cpu", "cuda")
]


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D))
    y = X @ np.linspace(-2.0, 3.0, D) + 4.0 + 0.5 * rng.standard_normal(N)
    return X, y


def _check(coef: np.ndarray, intercept: float, X: np.ndarray, y: np.ndarray, method: str):
    """Every timed fit must also be right: closed forms equal least squares (to float32
    rounding), gradient methods reach a training MSE within 20 % of the least-squares one."""
    A = np.column_stack([np.ones(len(X)), X])
    ref = np.linalg.lstsq(A, y, rcond=None)[0]
    got = np.concatenate([[intercept], np.ravel(coef)]).astype(np.float64)
    if method in ("normal", "beta"):
        np.testing.assert_allclose(got, ref, atol=1e-3)
    else:
        mse, best = np.mean((A @ got - y) ** 2), np.mean((A @ ref - y) ** 2)
        assert mse <= 1.2 * best, f"training MSE {mse:.4g} vs least squares {best:.4g}"


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("place", PLACES)
def test_groundup(benchmark: Any, data: Any, place: Place, method: str) -> None:
    X_host, y_host = data
    be = backends.resolve(place.backend, place.device)
    X = be.asarray(X_host.astype(place.dtype))
    y = be.asarray(y_host.astype(place.dtype))
    be.synchronize(X, y)
    params = {"method": method, "random_state": 0, **METHODS[method]}
    benchmark.group = method
    benchmark.extra_info.update(
        {
            "backend": place.backend,
            "device": be.device_name,
            "dtype": place.dtype,
            "n_samples": N,
            "n_features": D,
            "peer": False,
        }  # fmt: skip
    )

    def fit() -> Any:
        est = gu.LinearRegression(**params).fit(X, y)
        be.synchronize(est.coef_, est.intercept_)  # the work, not just its launch
        return est

    est = benchmark.pedantic(fit, rounds=ROUNDS, warmup_rounds=WARMUP, iterations=1)
    assert est.backend_ == place.backend
    _check(be.to_numpy(est.coef_), float(be.to_numpy(est.intercept_)), X_host, y_host, method)


def _peer(method: str, backend: str) -> Any:
    (peer,) = [p for p in peers_for("linear", method) if p.backend == backend]
    return peer


@pytest.mark.parametrize("method", ["normal", "sgd"])
def test_peer_sklearn(benchmark: Any, data: Any, method: str) -> None:
    X, y = data
    peer = _peer(method, "sklearn")
    fitter = peer.build({"random_state": 0, **METHODS[method]}, "cpu", "float64")
    placed = fitter.place(X, y)
    benchmark.group = method
    benchmark.extra_info.update({"peer": True, "impl": peer.name, "n_samples": N})
    benchmark.pedantic(fitter.fit, args=(placed,), rounds=ROUNDS, warmup_rounds=WARMUP)
    _check(fitter.coef_, float(np.ravel(fitter.intercept_)[0]), X, y, method)


@pytest.mark.parametrize("method", ["batch", "minibatch"])
@pytest.mark.parametrize("device", TORCH_DEVICES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_peer_torch_loop(benchmark: Any, data: Any, method: str, device: str, dtype: str):
    entry = INFO.get("torch", {})
    if not entry.get("installed"):
        pytest.skip("torch is not installed")
    if not any(d.split(":")[0] == device for d in entry["devices"]):
        pytest.skip(f"no {device} device for torch")
    X, y = data
    peer = _peer(method, "torch")
    fitter = peer.build({"random_state": 0, **METHODS[method]}, device, dtype)
    placed = fitter.place(X, y)
    benchmark.group = method
    benchmark.extra_info.update(
        {"peer": True, "impl": peer.name, "device": device, "dtype": dtype, "n_samples": N}
    )
    benchmark.pedantic(fitter.fit, args=(placed,), rounds=ROUNDS, warmup_rounds=WARMUP)
    assert fitter.n_iter_ == METHODS[method]["max_iter"]
    _check(fitter.coef_, float(fitter.intercept_), X, y, method)
