"""Linear regression on the NumPy backend against its peers, as ratios measured in one run.

The problem is 1,000,000 x 32 float64 (``GROUNDUP_BENCH_N`` shrinks it for smoke runs, e.g.
``GROUNDUP_BENCH_N=20000 pytest benchmarks/bench_linear.py --benchmark-disable``). Each test
times the whole groundup fit (validation included) and its peer with the same warm-up and
rounds, and records ``ours / peer`` with the issue's target (see ``conftest.compare``):

- ``normal``: at most 0.1 x scikit-learn ``LinearRegression().fit``;
- ``batch``, 1,000 epochs: at most 3 x one ``normal`` fit;
- ``minibatch`` (256 rows, shuffled), 5 epochs with the loss history: at most 1.25 x a
  hand-written NumPy loop making the same updates;
- ``sgd``, one epoch of exact one-sample updates: at most 1.5 x scikit-learn
  ``SGDRegressor``'s epoch (same schedule, same shuffling setting).
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression as SkLinearRegression
from sklearn.linear_model import SGDRegressor

import groundup as gu

N_SAMPLES = int(os.environ.get("GROUNDUP_BENCH_N", "1000000"))
N_FEATURES = 32


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    """Standardised features, a linear target with intercept 3 and noise 0.1."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N_SAMPLES, N_FEATURES))
    w = rng.standard_normal(N_FEATURES)
    y = X @ w + 3.0 + 0.1 * rng.standard_normal(N_SAMPLES)
    return X, y


def test_normal_vs_sklearn(compare: Any, data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    ratio = compare(
        lambda: gu.LinearRegression(method="normal").fit(X, y),
        lambda: SkLinearRegression().fit(X, y),
        target=0.1,
        peer_name="sklearn.LinearRegression",
    )
    ours, peer = gu.LinearRegression().fit(X, y), SkLinearRegression().fit(X, y)
    np.testing.assert_allclose(ours.coef_, peer.coef_, rtol=1e-9, atol=1e-12)
    assert ratio > 0


def test_batch_1000_epochs_vs_normal(compare: Any, data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    batch = gu.LinearRegression(
        method="batch", max_iter=1000, tol=None, learning_rate="constant", eta0=0.5
    )
    compare(
        lambda: batch.fit(X, y),
        lambda: gu.LinearRegression(method="normal").fit(X, y),
        target=3.0,
        peer_name="groundup normal (one fit)",
    )
    assert batch.n_iter_ == 1000
    assert batch.loss_history_.shape == (1000,)


def _numpy_minibatch(
    X: np.ndarray, y: np.ndarray, *, epochs: int, batch_size: int, eta0: float, power_t: float
) -> tuple[np.ndarray, float, list[float]]:
    """The hand-written loop: per epoch a permutation from a NumPy Generator (seed 0, as
    ``random_state=0``), per update ``np.take`` of the rows, two products and one update with
    ``eta0 / t**power_t``; the training MSE after each epoch."""
    rng = np.random.default_rng(0)
    n = X.shape[0]
    w, b, t = np.zeros(X.shape[1]), 0.0, 1
    history = []
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            Xb, yb = np.take(X, idx, axis=0), np.take(y, idx)
            r = (Xb @ w + b - yb) * (eta0 / t**power_t / len(idx))
            w = w - Xb.T @ r
            b = b - r.sum()
            t += 1
        history.append(float(np.mean((X @ w + b - y) ** 2)))
    return w, b, history


def test_minibatch_vs_numpy_loop(compare: Any, data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    params = {"epochs": 5, "batch_size": 256, "eta0": 0.01, "power_t": 0.25}
    est = gu.LinearRegression(
        method="minibatch",
        batch_size=params["batch_size"],
        max_iter=params["epochs"],
        tol=None,
        learning_rate="invscaling",
        eta0=params["eta0"],
        power_t=params["power_t"],
        random_state=0,
    )
    compare(
        lambda: est.fit(X, y),
        lambda: _numpy_minibatch(X, y, **params),
        target=1.25,
        peer_name="hand-written NumPy loop",
    )
    w, b, history = _numpy_minibatch(X, y, **params)
    np.testing.assert_allclose(est.coef_, w, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(est.loss_history_, history, rtol=1e-9)


def sgd_epoch_vs_sgd_regressor(
    compare: Any,
    X: np.ndarray,
    y: np.ndarray,
    *,
    shuffle: bool,
    penalty: dict[str, Any],
    **timing: Any,
) -> gu.LinearRegression:
    """One epoch of groundup's exact ``sgd`` against ``SGDRegressor``'s, with the same
    settings (``penalty``: its ``penalty`` and ``alpha``) and invscaling from 0.01; in the
    same visiting order (``shuffle=False``) the same iterates. ``timing``: for ``compare``.
    Returns groundup's fitted estimator."""
    common = {"max_iter": 1, "tol": None, "shuffle": shuffle, "random_state": 0}
    common |= {"learning_rate": "invscaling", "eta0": 0.01, "power_t": 0.25, **penalty}
    est = gu.LinearRegression(method="sgd", **common)

    def peer() -> SGDRegressor:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return SGDRegressor(**common).fit(X, y)

    compare(lambda: est.fit(X, y), peer, target=1.5, **timing)
    if not shuffle:  # the same visiting order: the same iterates
        np.testing.assert_allclose(est.coef_, peer().coef_, rtol=1e-8, atol=1e-10)
    return est


@pytest.mark.parametrize("shuffle", [True, False], ids=["shuffled", "in-order"])
def test_sgd_epoch_vs_sklearn(
    compare: Any, data: tuple[np.ndarray, np.ndarray], shuffle: bool
) -> None:
    X, y = data
    est = sgd_epoch_vs_sgd_regressor(
        compare, X, y, shuffle=shuffle, penalty={"penalty": None},
        peer_name="sklearn.SGDRegressor",
    )  # fmt: skip
    assert est.t_ == N_SAMPLES + 1


def test_column_major_input_vs_row_major(compare: Any) -> None:
    """A pandas frame's values are column-major: one-sample and mini-batch fits on them take
    as long as on the same numbers in row order (the rows are validated contiguous, as
    ``SGDRegressor`` validates them; gathering the rows of a column-major X copied the whole
    array per update). ``fair``'s shape (6,366 x 8), ``sgd`` with RMSprop, 2 epochs."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((6366, 8))
    y = X @ rng.standard_normal(8) + rng.standard_normal(6366)
    est = gu.LinearRegression(
        method="sgd", optimizer="rmsprop", max_iter=2, tol=None, random_state=0
    )
    Xf = np.asfortranarray(X)
    compare(lambda: est.fit(Xf, y), lambda: est.fit(X, y), target=1.1, peer_name="C-ordered X")
    np.testing.assert_array_equal(est.fit(Xf, y).coef_, est.fit(X, y).coef_)
