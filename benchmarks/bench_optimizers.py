"""The optimisers and the L1 penalty on the NumPy backend against their peers, as ratios
measured in one run.

The problem is 1,000,000 x 32 float64 (``GROUNDUP_BENCH_N`` shrinks it for smoke runs, e.g.
``GROUNDUP_BENCH_N=20000 pytest benchmarks/bench_optimizers.py --benchmark-disable``). Each
test times the whole groundup fit (validation included) and its peer with the same warm-up
and rounds, and records ``ours / peer`` with the issue's target (see ``conftest.compare``):

- each optimiser's ``minibatch`` fit (256 rows, shuffled, 5 epochs, the loss history kept): at
  most 1.3 x the plain mini-batch fit (``optimizer="sgd"``) of the same data;
- the same fit against a hand-written PyTorch loop on the CPU with ``torch.optim`` (the same
  permutations, ``index_select`` of the rows, the loss's ``backward``, ``step``; the epoch's
  training loss after each epoch): at most 0.5 x;
- one ``sgd`` epoch with ``penalty="l1"``: at most 1.5 x scikit-learn
  ``SGDRegressor(penalty="l1")``'s epoch (same schedule, same shuffling setting).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest
from bench_linear import sgd_epoch_vs_sgd_regressor

import groundup as gu
from groundup.kernels.optimizers import OPTIMIZERS

N_SAMPLES = int(os.environ.get("GROUNDUP_BENCH_N", "1000000"))
N_FEATURES = 32
EPOCHS, BATCH = 5, 256
ETA0 = {"sgd": 0.01, "momentum": 0.01, "nesterov": 0.01, "adagrad": 0.05, "rmsprop": 0.001}
ETA0 |= {"adam": 0.001, "adamw": 0.001}


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    """Standardised features, a linear target with intercept 3 and noise 0.1."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N_SAMPLES, N_FEATURES))
    w = rng.standard_normal(N_FEATURES)
    y = X @ w + 3.0 + 0.1 * rng.standard_normal(N_SAMPLES)
    return X, y


def _minibatch(optimizer: str, **extra: Any) -> gu.LinearRegression:
    return gu.LinearRegression(
        method="minibatch",
        optimizer=optimizer,
        batch_size=BATCH,
        max_iter=EPOCHS,
        tol=None,
        learning_rate="invscaling",
        eta0=ETA0[optimizer],
        random_state=0,
        **extra,
    )


@pytest.mark.parametrize("optimizer", [o for o in OPTIMIZERS if o != "sgd"])
def test_optimizer_vs_plain_minibatch(
    compare: Any, data: tuple[np.ndarray, np.ndarray], optimizer: str
) -> None:
    X, y = data
    est, plain = _minibatch(optimizer), _minibatch("sgd")
    compare(
        lambda: est.fit(X, y),
        lambda: plain.fit(X, y),
        target=1.3,
        peer_name="groundup minibatch, optimizer='sgd'",
    )
    assert est.optimizer_state_.optimizer.step == EPOCHS * -(-N_SAMPLES // BATCH)
    assert est.loss_history_[-1] < est.loss_history_[0]


def _torch_loop(X: Any, y: Any, optimizer: str) -> tuple[Any, list[float]]:
    """The hand-written PyTorch loop, on X's device: per epoch a permutation from a NumPy Generator (seed
    0, as ``random_state=0``), per update ``index_select`` of the rows, the mean squared
    loss's ``backward`` and the ``torch.optim`` step with ``eta0 / t**0.25``; the training
    MSE after each epoch."""
    import torch

    o, kw = torch.optim, {"dtype": X.dtype, "device": X.device, "requires_grad": True}
    n, d = X.shape
    W, b = torch.zeros((d, 1), **kw), torch.zeros((1,), **kw)
    make = {
        "momentum": lambda p: o.SGD(p, lr=1.0, momentum=0.9),
        "nesterov": lambda p: o.SGD(p, lr=1.0, momentum=0.9, nesterov=True),
        "adagrad": lambda p: o.Adagrad(p, lr=1.0, eps=1e-10),
        "rmsprop": lambda p: o.RMSprop(p, lr=1.0, alpha=0.99),
        "adam": lambda p: o.Adam(p, lr=1.0),
        "adamw": lambda p: o.AdamW(p, lr=1.0, weight_decay=0.0),
    }
    opt = make[optimizer]([W, b])
    rng = np.random.default_rng(0)
    eta0, t, history = ETA0[optimizer], 1, []
    for _ in range(EPOCHS):
        order = torch.as_tensor(rng.permutation(n), device=X.device)
        for start in range(0, n, BATCH):
            idx = order[start : start + BATCH]
            for group in opt.param_groups:
                group["lr"] = eta0 / t**0.25
            opt.zero_grad()
            r = torch.index_select(X, 0, idx) @ W + b - torch.index_select(y, 0, idx)[:, None]
            (0.5 * (r * r).mean()).backward()
            opt.step()
            t += 1
        with torch.no_grad():
            history.append(float(((X @ W + b)[:, 0] - y).pow(2).mean()))
    return W, history


@pytest.mark.parametrize("optimizer", [o for o in OPTIMIZERS if o != "sgd"])
def test_optimizer_vs_torch_optim(
    compare: Any, data: tuple[np.ndarray, np.ndarray], optimizer: str
) -> None:
    torch = pytest.importorskip("torch")
    X, y = data
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    est = _minibatch(optimizer)
    compare(
        lambda: est.fit(X, y),
        lambda: _torch_loop(Xt, yt, optimizer),
        target=0.5,
        rounds=1,
        peer_name="hand-written torch.optim loop (CPU)",
    )
    W, history = _torch_loop(Xt, yt, optimizer)
    np.testing.assert_allclose(est.coef_, W.detach().numpy()[:, 0], rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(est.loss_history_, history, rtol=1e-9)


@pytest.mark.parametrize("shuffle", [True, False], ids=["shuffled", "in-order"])
def test_l1_sgd_epoch_vs_sklearn(
    compare: Any, data: tuple[np.ndarray, np.ndarray], shuffle: bool
) -> None:
    X, y = data
    est = sgd_epoch_vs_sgd_regressor(
        compare, X, y, shuffle=shuffle, penalty={"penalty": "l1", "alpha": 1e-4}, rounds=1,
        warmup=0, peer_name="sklearn.SGDRegressor(penalty='l1')",
    )  # fmt: skip
    assert est.t_ == N_SAMPLES + 1
