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
  sigmoid, ``X.T @ r``: two passes over X): at most 1.2. Both compute the loss too;
- ``sgd``, one epoch of exact one-sample updates (constant 0.01, L2 1e-4, in order), the
  whole fit against scikit-learn ``SGDClassifier(loss="log_loss")``'s, at 100,000 rows and at
  the full size: at most 2 (the same iterates: coefficients equal to 1e-10);
- the multinomial ``sgd`` epoch (three classes, 100,000 rows) against a hand-written NumPy
  loop of the same updates (``SGDClassifier`` is one-vs-rest, another algorithm): reported;
- the ``sgd`` epoch with the elastic net (the cumulative L1 truncation, binary, 100,000
  rows, in order) against ``SGDClassifier``'s: reported (the same iterates to 1e-10).
"""

from __future__ import annotations

import itertools
import os
import warnings
from typing import Any

import numpy as np
import pytest
from scipy.special import expit
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SkLogistic
from sklearn.linear_model import SGDClassifier

import groundup as gu
from groundup import backends
from groundup.kernels.descent import Column, DescentSettings, descend
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
    settings = DescentSettings(batch_size=N_SAMPLES)

    def epoch() -> Any:
        objective._cache = between_epochs
        column = Column(Schedule(name="constant", eta0=ETA), max_iter=1, tol=None)
        (res,) = descend(
            objective, X, yf, None, W0, b0,
            columns=[column], settings=settings, orders=itertools.repeat(None), xp=xp,
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


# One epoch of one-sample SGD, scikit-learn's settings (in order: the same iterates).
SGD = {"learning_rate": "constant", "eta0": 0.01, "penalty": "l2", "alpha": 1e-4}
SGD |= {"max_iter": 1, "tol": None, "shuffle": False}
SGD_ROWS = sorted({min(100_000, N_SAMPLES), N_SAMPLES})


@pytest.mark.parametrize("n", SGD_ROWS, ids=[f"{n}rows" for n in SGD_ROWS])
def test_sgd_epoch_vs_sgd_classifier(
    compare: Any, data: tuple[np.ndarray, np.ndarray], n: int
) -> None:
    X, y = data[0][:n], data[1][:n]
    est = gu.LogisticRegression(method="sgd", **SGD)

    def peer() -> SGDClassifier:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return SGDClassifier(loss="log_loss", **SGD).fit(X, y)

    compare(lambda: est.fit(X, y), peer, target=2.0, peer_name="sklearn.SGDClassifier")
    sk = peer()
    np.testing.assert_allclose(est.coef_, sk.coef_, rtol=0, atol=1e-10 * np.abs(sk.coef_).max())
    np.testing.assert_allclose(est.intercept_, sk.intercept_, rtol=1e-10)


def test_l1_sgd_epoch_vs_sgd_classifier(compare: Any, data: tuple[np.ndarray, np.ndarray]) -> None:
    n = min(100_000, N_SAMPLES)
    X, y = data[0][:n], data[1][:n]
    params = SGD | {"penalty": "elasticnet", "l1_ratio": 0.5}
    est = gu.LogisticRegression(method="sgd", **params)

    def peer() -> SGDClassifier:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return SGDClassifier(loss="log_loss", **params).fit(X, y)

    compare(
        lambda: est.fit(X, y), peer, rounds=1, warmup=0,
        peer_name="sklearn.SGDClassifier(penalty='elasticnet')",
    )  # fmt: skip
    sk = peer()
    np.testing.assert_allclose(est.coef_, sk.coef_, rtol=0, atol=1e-10 * np.abs(sk.coef_).max())
    np.testing.assert_allclose(est.intercept_, sk.intercept_, rtol=1e-10)


@pytest.fixture(scope="module")
def three_classes() -> tuple[np.ndarray, np.ndarray]:
    """100,000 standardised rows (at most), labels drawn from a softmax model of 3 classes."""
    n = min(100_000, N_SAMPLES)
    rng = np.random.default_rng(2)
    X = rng.standard_normal((n, N_FEATURES))
    Z = X @ (0.5 * rng.standard_normal((N_FEATURES, 3)))
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    y = (rng.random((n, 1)) > np.cumsum(P, axis=1)).sum(axis=1)
    return X, y


def _numpy_multinomial_sgd(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The hand-written loop: per sample the margins, the softmax, the L2 decay and the
    update of W (in place) and b; scikit-learn's order (``SGD``'s settings, from zero)."""
    k = int(y.max()) + 1
    eta, decay = SGD["eta0"], 1.0 - SGD["eta0"] * SGD["alpha"]
    W, b, Y = np.zeros((X.shape[1], k)), np.zeros(k), np.eye(k)[y]
    for x, target in zip(X, Y, strict=True):
        z = x @ W + b
        e = np.exp(z - z.max())
        r = eta * (e / e.sum() - target)
        W *= decay
        W -= np.outer(x, r)
        b -= r
    return W, b


def test_multinomial_sgd_epoch_vs_numpy_loop(
    compare: Any, three_classes: tuple[np.ndarray, np.ndarray]
) -> None:
    X, y = three_classes
    est = gu.LogisticRegression(method="sgd", **SGD)
    compare(
        lambda: est.fit(X, y),
        lambda: _numpy_multinomial_sgd(X, y),
        rounds=1,
        peer_name="hand-written NumPy loop (same updates)",
    )
    W, b = _numpy_multinomial_sgd(X, y)
    np.testing.assert_allclose(est.coef_, W.T, rtol=0, atol=1e-10 * np.abs(W).max())
    np.testing.assert_allclose(est.intercept_, b, rtol=0, atol=1e-10 * np.abs(b).max())
