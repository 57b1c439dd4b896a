"""A vectorised sweep over 16 learning rates against one fit and 16 separate fits, same run.

Target (issue 6): the sweep costs at most 3x ONE fit of the same configuration on NumPy.
``extra_info`` records the ratio against one fit (``ratio``, the target's) and against the 16
separate fits it replaces (``ratio_vs_16_fits``).

Full size: 100,000 x 32 float64, mini-batches of 32, 3 epochs (``tol=None``: every run does
the same work). ``GROUNDUP_BENCH_SMALL=1`` shrinks it to 2,000 x 8 for a smoke check.
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
N, D = (2_000, 8) if SMALL else (100_000, 32)
ETAS = [float(v) for v in np.geomspace(1e-4, 0.05, 16)]
COMMON = {
    "method": "minibatch",
    "batch_size": 32,
    "max_iter": 3,
    "tol": None,
    "learning_rate": "invscaling",
}
ROUNDS, WARMUP = (1, 0) if SMALL else (3, 1)


def _installed(name: str) -> bool:
    return backends.available()[name]["installed"]


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D))
    y = X @ rng.standard_normal(D) + 4.0 + rng.standard_normal(N)
    return X, y


@pytest.mark.parametrize(
    ("backend", "device", "target"),
    [
        pytest.param("numpy", "cpu", 3.0, id="numpy-cpu"),
        pytest.param(
            "torch",
            "cpu",
            None,
            id="torch-cpu",
            marks=pytest.mark.skipif(not _installed("torch"), reason="torch not installed"),
        ),
    ],
)
def test_sweep_16_learning_rates_vs_one_fit(compare, benchmark, data, backend, device, target):
    X_host, y_host = data
    be = backends.resolve(backend, device)
    X, y = be.asarray(X_host), be.asarray(y_host)
    first = sweep(X, y, grid={"eta0": ETAS}, random_state=0, **COMMON)
    assert not first.table["diverged"].any()
    rows = be.asarray(first.train_index)
    X_train, y_train = be.xp.take(X, rows, axis=0), be.xp.take(y, rows, axis=0)

    def ours():
        return sweep(X, y, grid={"eta0": ETAS}, random_state=0, **COMMON)

    def fit(eta0: float):
        est = gu.LinearRegression(eta0=eta0, random_state=0, **COMMON)
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
        be.to_numpy(first.coefs[-1]), be.to_numpy(last.coef_), rtol=1e-8, atol=1e-10
    )
    sixteen = median_time(sixteen_fits, ROUNDS, WARMUP)
    ratio = compare(ours, one_fit, target=target, rounds=ROUNDS, warmup=WARMUP, peer_name="one fit")
    ours_median = benchmark.extra_info["ours_median_s"]
    benchmark.extra_info.update(
        {
            "size": f"{N} x {D} float64, batch_size 32, 3 epochs, 16 learning rates",
            "ratio_vs_one_fit": ratio,
            "sixteen_fits_median_s": sixteen,
            "ratio_vs_16_fits": ours_median / sixteen,
            "speedup_vs_16_fits": sixteen / ours_median,
        }
    )
