"""What trust costs (issue 11, 12), as ratios measured in one run on 1,000,000 x 32 float64,
NumPy backend (``GROUNDUP_BENCH_N`` shrinks it):

- ``eta0="auto"``: a fit with ``eta0="auto"`` against the same fit given the number it
  computed (the share of one fit that reading the curvature costs: the moments' eigenvalue
  for ``batch``, a pass over the row norms for ``sgd`` / ``minibatch``, a Gram pass for
  logistic ``batch``);
- issue 19's gate, what the preconditioning and the certificate cost together: the default
  fit (``precondition="auto"``: the statistics, the scaled copy of X, the model back in the
  data's units; ``tol="auto"``: stopped by its certificate, read every epoch from the
  moments, or one pass once the loss flattens) against the same fit with
  ``precondition=False, tol=None`` for the same epochs (``converged_``'s one certificate is
  in both), at most 1.1. It replaces two partial ratios (the check alone, and the
  preconditioning alone at a fixed ``eta0=1e-3``), neither of them a default fit;
- an L1 fit of real data in its own units (scikit-learn's diabetes), stopped by its
  certificate, against scikit-learn's ``Lasso`` on the same objective: the certificate's
  elastic-net minimiser on the moments, warm-started from its last reading, is most of it;
- float32 Newton with a ``tol`` below float32's resolution (``tol=1e-8``) against scikit-
  learn's lbfgs on the same float32 data (it ran all ``max_iter`` iterations before).
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Lasso
from sklearn.linear_model import LogisticRegression as SkLogistic

import groundup as gu

N_SAMPLES = int(os.environ.get("GROUNDUP_BENCH_N", "1000000"))
N_FEATURES = 32


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Standardised features; a linear target and two classes from it."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N_SAMPLES, N_FEATURES))
    z = X @ rng.standard_normal(N_FEATURES) / np.sqrt(N_FEATURES)
    y = 3.0 + z + 0.1 * rng.standard_normal(N_SAMPLES)
    labels = (rng.random(N_SAMPLES) < 1.0 / (1.0 + np.exp(-2.0 * z))).astype(np.int64)
    return X, y, labels


CASES = [
    ("linear", "batch", {"max_iter": 200}),
    ("linear", "sgd", {"max_iter": 1}),
    ("linear", "minibatch", {"max_iter": 5, "batch_size": 256}),
    ("logistic", "batch", {"max_iter": 20}),
    ("logistic", "minibatch", {"max_iter": 5, "batch_size": 256}),
]


@pytest.mark.parametrize(("model", "method", "extra"), CASES, ids=[f"{m}-{k}" for m, k, _ in CASES])
def test_eta0_auto_vs_the_number_it_finds(
    compare: Any, data: tuple[np.ndarray, ...], model: str, method: str, extra: dict
) -> None:
    X, y, labels = data
    target = y if model == "linear" else labels
    params = {"model": model, "method": method, "tol": None, "random_state": 0, **extra}
    auto = gu.fit(X, target, **params)
    given = {**params, "eta0": auto.eta0_, "precondition": True}  # the same descent
    ratio = compare(
        lambda: gu.fit(X, target, **params),
        lambda: gu.fit(X, target, **given),
        peer_name="the same fit given eta0_",
    )
    np.testing.assert_array_equal(gu.fit(X, target, **given).loss_history_, auto.loss_history_)
    assert ratio > 0


GATE = [
    ("linear", "batch"),
    ("linear", "minibatch"),
    ("linear", "sgd"),
    ("logistic", "batch"),
    ("logistic", "minibatch"),  # (logistic sgd: ~8x SGDClassifier at 1,000,000 rows, too slow)
]


@pytest.mark.parametrize(("model", "method"), GATE, ids=[f"{m}-{k}" for m, k in GATE])
def test_preconditioning_and_certificate_cost_at_most_a_tenth(
    compare: Any, data: tuple[np.ndarray, ...], model: str, method: str
) -> None:
    """Issue 19's gate: the default fit (``precondition``, ``tol`` and ``eta0`` all "auto":
    the statistics, the scaled copy of X, the certificate read by the stopping rule and by
    ``converged_``) against the same fit without the preconditioning or the stopping rule's
    check (``precondition=False, tol=None``, the default fit's epochs, ``eta0="auto"``), on
    the standardised data above, where both descents are alike: ratio <= 1.1."""
    X, y, labels = data
    target = y if model == "linear" else labels
    params = {"model": model, "method": method, "random_state": 0}
    auto = gu.fit(X, target, **params)  # (the warm-up)
    assert auto.stop_reason_ == "tol"  # the certificate stopped it
    assert auto.converged_
    bare = {**params, "precondition": False, "tol": None, "max_iter": auto.n_iter_}
    ratio = compare(
        lambda: gu.fit(X, target, **params),
        lambda: gu.fit(X, target, **bare),
        target=1.1,
        warmup=0,
        peer_name=f"{auto.n_iter_} epochs, precondition=False, tol=None",
    )
    assert ratio > 0


def test_l1_batch_on_diabetes_vs_lasso(compare: Any) -> None:
    """The default ``batch`` fit with ``penalty="l1"`` on diabetes (442 x 10, raw units)
    against ``Lasso`` with the same ``alpha`` (½ MSE + alpha ‖w‖₁ both): no target, a record
    of what the certified L1 fit costs on real data."""
    X, y = load_diabetes(return_X_y=True)
    ours = gu.LinearRegression(method="batch", penalty="l1", alpha=0.01)
    ratio = compare(
        lambda: ours.fit(X, y), lambda: Lasso(alpha=0.01).fit(X, y), peer_name="sklearn.Lasso"
    )
    sk = Lasso(alpha=0.01).fit(X, y)

    def objective(coef: np.ndarray, intercept: float) -> float:
        return 0.5 * np.mean((y - X @ coef - intercept) ** 2) + 0.01 * np.abs(coef).sum()

    assert ours.converged_
    mine, best = objective(ours.coef_, ours.intercept_), objective(sk.coef_, sk.intercept_)
    assert mine <= 1.01 * best  # converged_: within 1 % of the minimum
    assert ratio > 0


def test_float32_newton_vs_lbfgs(compare: Any, data: tuple[np.ndarray, ...]) -> None:
    X, _, labels = data
    X32 = X.astype(np.float32)
    alpha = 1.0 / N_SAMPLES
    ours = gu.LogisticRegression(method="newton", tol=1e-8, penalty="l2", alpha=alpha)
    peer = SkLogistic(tol=1e-8, C=1.0 / (N_SAMPLES * alpha), max_iter=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours.fit(X32, labels)
    ratio = compare(
        lambda: ours.fit(X32, labels),
        lambda: peer.fit(X32, labels),
        peer_name="sklearn LogisticRegression(lbfgs), float32",
    )
    print(f"\nfloat32 newton: {ours.n_iter_} iterations; lbfgs: {int(peer.n_iter_[0])}")
    assert ours.converged_
    assert ratio > 0
