"""Logistic regression on the NumPy backend against its peers, as ratios measured in one run.

The problem is 1,000,000 x 32 float64, binary, overlapping classes (``GROUNDUP_BENCH_N``
shrinks it for smoke runs, e.g. ``GROUNDUP_BENCH_N=20000 pytest benchmarks/bench_logistic.py
--benchmark-disable``). Ratios ``ours / peer`` with the issue's targets (see
``conftest.compare``):

- ``newton``, the whole fit (validation and label encoding included) against scikit-learn
  ``LogisticRegression()`` (lbfgs, C=1, tol=1e-4) with the same objective (``penalty="l2"``,
  ``alpha = 1 / n_samples``): at most 1.0, and the final objective must not be above
  lbfgs's by more than 1e-8;
- ``batch``, one epoch of the descent engine in its steady state (the state a fit is in
  between two epochs: the loss of the last epoch is known, and with it the gradient that the
  same fused pass over X computed), against a hand-written NumPy epoch (``z = X @ w + b``,
  sigmoid, ``X.T @ r``: two passes over X): at most 1.2. Both compute the loss too.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest
from scipy.special import expit
from sklearn.linear_model import LogisticRegression as SkLogistic

import groundup as gu
from groundup import backends
from groundup.kernels.descent import DescentSettings, descend
from groundup.kernels.logistic import BinaryLogLoss
from groundup.kernels.schedules import Schedule

N_SAMPLES = int(os.environ.get("GROUNDUP_BENCH_N", "1000000"))
N_FEATURES = 32
ETA = 0.5


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    """Standardised features and labels drawn from a logistic model (not separable)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N_SAMPLES, N_FEATURES))
    w = 0.5 * rng.standard_normal(N_FEATURES)
    y = (rng.random(N_SAMPLES) < expit(X @ w + 0.3)).astype(np.int64)
    return X, y


def _objective(coef: np.ndarray, intercept: float, X: np.ndarray, y: np.ndarray) -> float:
    """Mean log-loss + ½ alpha ‖w‖² with alpha = 1 / n (scikit-learn's C = 1)."""
    z = X @ coef + intercept
    loss = np.mean(np.logaddexp(0.0, z) - y * z)
    return float(loss + 0.5 / X.shape[0] * coef @ coef)


def test_newton_vs_sklearn_lbfgs(compare: Any, data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    n = X.shape[0]
    ours = gu.LogisticRegression(method="newton", penalty="l2", alpha=1.0 / n, random_state=0)
    peer = SkLogistic()  # lbfgs, C = 1: the same objective
    compare(
        lambda: ours.fit(X, y),
        lambda: peer.fit(X, y),
        target=1.0,
        peer_name="sklearn.LogisticRegression(lbfgs)",
    )
    f_ours = _objective(ours.coef_[0], float(ours.intercept_[0]), X, y)
    f_peer = _objective(peer.coef_[0], float(peer.intercept_[0]), X, y)
    assert f_ours <= f_peer + 1e-8, (f_ours, f_peer)
    assert ours.converged_


def _numpy_epoch(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float) -> tuple[Any, ...]:
    """A hand-written full-batch epoch: margins, loss, sigmoid, gradient, update."""
    z = X @ w + b
    loss = np.mean(np.logaddexp(0.0, z) - y * z)
    r = expit(z) - y
    w = w - ETA * (X.T @ r) / X.shape[0]
    return w, b - ETA * r.mean(), loss


def test_batch_epoch_vs_numpy_epoch(compare: Any, data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    be = backends.resolve("numpy")
    xp = be.xp
    yf = y.astype(np.float64)
    objective = BinaryLogLoss(X, yf, None, chunk_rows=be.chunk_rows(N_FEATURES + 1), xp=xp)
    rng = np.random.default_rng(1)
    W0, b0 = 0.01 * rng.standard_normal((N_FEATURES, 1)), np.array([0.1])
    objective.loss(W0, b0)  # the previous epoch's pass: loss and gradient at (W0, b0)
    between_epochs = objective._cache
    settings = DescentSettings(max_iter=1, batch_size=N_SAMPLES, tol=None)

    def epoch() -> Any:
        objective._cache = between_epochs
        schedule = Schedule(name="constant", eta0=ETA, updates_per_epoch=1)
        res = descend(
            objective, X, yf, None, W0, b0,
            schedule=schedule, settings=settings, orders=lambda: None, xp=xp,
        )  # fmt: skip
        return res.W, res.b, res.history[-1]

    compare(
        epoch,
        lambda: _numpy_epoch(X, yf, W0[:, 0], float(b0[0])),
        target=1.2,
        peer_name="hand-written NumPy epoch (two passes)",
    )
    W, b, _ = epoch()
    w_ref, b_ref, _ = _numpy_epoch(X, yf, W0[:, 0], float(b0[0]))
    np.testing.assert_allclose(W[:, 0], w_ref, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(b[0], b_ref, rtol=1e-10)
    est = gu.LogisticRegression(method="batch", learning_rate="constant", eta0=ETA, tol=None)
    est.set_params(max_iter=1).fit(X, y)  # the estimator runs the same engine
    assert est.n_iter_ == 1
