"""Vectorised sweeps over 16 learning rates against one fit and 16 separate fits, same run.

Target (issue 6): the sweep costs at most 3x ONE fit of the same configuration on NumPy.
``extra_info`` records the ratio against one fit (``ratio``, the target's) and against the 16
separate fits it replaces (``ratio_vs_16_fits``).

Cases (every run does the same work: ``tol=None``):

* linear regression, mini-batches of 32, 3 epochs;
* logistic regression, binary and 4-class multinomial, mini-batches of 32, 3 epochs;
* binary logistic regression, full batch, 20 epochs. A full-batch epoch is one pass of
  elementwise work (margins, log-sigmoid, residuals) per configuration: the sweep does K
  times the single fit's elementwise work, so this case has no 3x target; its ratio says
  how much of the K x the vectorised pass saves.

Size: ``GROUNDUP_BENCH_N`` rows (default 100,000) x 32 float64 features;
``GROUNDUP_BENCH_SMALL=1`` shrinks it to 2,000 x 8 for a smoke check.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
from _timing import median_time  # noqa: I001 - benchmarks/ is on sys.path (conftest)
from sklearn.exceptions import ConvergenceWarning

import groundup as gu
from groundup import backends
from groundup.sweeps import sweep

SMALL = os.environ.get("GROUNDUP_BENCH_SMALL", "") not in ("", "0")
N, D = (2_000, 8) if SMALL else (int(os.environ.get("GROUNDUP_BENCH_N", "100000")), 32)
ETAS = [float(v) for v in np.geomspace(1e-4, 0.05, 16)]
MINIBATCH = {"method": "minibatch", "batch_size": 32, "max_iter": 3}
BATCH = {"method": "batch", "max_iter": 20}
ROUNDS, WARMUP = (1, 0) if SMALL else (3, 1)

# id -> (model, classes (0: regression), method settings, target ratio against one fit)
CASES = {
    "linear-minibatch": ("linear", 0, MINIBATCH, 3.0),
    "logistic-minibatch": ("logistic", 2, MINIBATCH, 3.0),
    "multinomial4-minibatch": ("logistic", 4, MINIBATCH, 3.0),
    "logistic-batch": ("logistic", 2, BATCH, None),
}


def _installed(name: str) -> bool:
    return backends.available()[name]["installed"]


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D))
    y = X @ rng.standard_normal(D) + 4.0 + rng.standard_normal(N)
    return X, y


def _targets(X: np.ndarray, y: np.ndarray, classes: int) -> np.ndarray:
    """Regression targets, or overlapping classes drawn from the same features."""
    if classes == 0:
        return y
    if classes == 2:
        return (y > np.median(y)).astype(np.int64)
    logits = X[:, :classes] + np.random.default_rng(1).standard_normal((X.shape[0], classes))
    return np.argmax(logits, axis=1)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize(
    ("backend", "device"),
    [
        pytest.param("numpy", "cpu", id="numpy-cpu"),
        pytest.param(
            "torch",
            "cpu",
            id="torch-cpu",
            marks=pytest.mark.skipif(not _installed("torch"), reason="torch not installed"),
        ),
    ],
)
def test_sweep_16_learning_rates_vs_one_fit(compare, benchmark, data, case, backend, device):
    model, classes, settings, target = CASES[case]
    common = {**settings, "tol": None, "learning_rate": "invscaling"}
    X_host, y_host = data
    be = backends.resolve(backend, device)
    X, y = be.asarray(X_host), be.asarray(_targets(X_host, y_host, classes))
    first = sweep(X, y, model=model, grid={"eta0": ETAS}, random_state=0, **common)
    assert not first.table["diverged"].any()
    assert first.table["group"].nunique() == 1  # one weight matrix for the 16 runs
    rows = be.asarray(first.train_index)
    X_train, y_train = be.xp.take(X, rows, axis=0), be.xp.take(y, rows, axis=0)
    cls = gu.LinearRegression if model == "linear" else gu.LogisticRegression

    def ours():
        return sweep(X, y, model=model, grid={"eta0": ETAS}, random_state=0, **common)

    def fit(eta0: float):
        est = cls(eta0=eta0, random_state=0, **common)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X_train, y_train)
        be.synchronize(est.coef_)
        return est

    def one_fit():
        return fit(ETAS[len(ETAS) // 2])

    def sixteen_fits():
        for eta0 in ETAS:
            fit(eta0)

    # The vectorised runs are the single fits (checked on the largest learning rate).
    last = fit(ETAS[-1])
    np.testing.assert_allclose(
        be.to_numpy(first.coefs[-1]).reshape(-1),
        be.to_numpy(last.coef_).reshape(-1),
        rtol=1e-8,
        atol=1e-10,
    )
    sixteen = median_time(sixteen_fits, ROUNDS, WARMUP)
    target = target if backend == "numpy" else None
    ratio = compare(ours, one_fit, target=target, rounds=ROUNDS, warmup=WARMUP, peer_name="one fit")
    ours_median = benchmark.extra_info["ours_median_s"]
    epochs = common["max_iter"]
    what = "full batch" if common["method"] == "batch" else "batch_size 32"
    benchmark.extra_info.update(
        {
            "size": f"{N} x {D} float64, {case}, {what}, {epochs} epochs, 16 learning rates",
            "ratio_vs_one_fit": ratio,
            "sixteen_fits_median_s": sixteen,
            "ratio_vs_16_fits": ours_median / sixteen,
            "speedup_vs_16_fits": sixteen / ours_median,
        }
    )
