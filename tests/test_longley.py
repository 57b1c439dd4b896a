"""Closed forms on the ill-conditioned Longley data against NIST's certified values."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import groundup as gu

# NIST StRD, Longley: certified coefficients (intercept, x1..x6).
CERTIFIED = np.array(
    [
        -3482258.63459582,
        15.0618722713733,
        -0.358191792925910e-01,
        -2.02022980381683,
        -1.03322686717359,
        -0.511041056535807e-01,
        1829.15146461355,
    ]
)


def _longley():
    datasets = pytest.importorskip("statsmodels.datasets")
    d = datasets.longley.load_pandas()
    return d.exog.to_numpy(dtype=float), d.endog.to_numpy(dtype=float)


def _digits(est, ref):
    return float(-np.log10(np.max(np.abs((est - ref) / ref))))


BACKENDS = ["numpy"] + (["torch"] if importlib.util.find_spec("torch") else [])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("method", "solver"),
    [
        ("normal", "auto"),
        ("normal", "cholesky"),
        ("normal", "qr"),
        ("normal", "svd"),
        ("beta", "auto"),
    ],
)
def test_ten_correct_digits(backend, method, solver):
    X, y = _longley()
    est = gu.LinearRegression(method=method, solver=solver, backend=backend).fit(X, y)
    be = gu.backends.resolve(backend)
    coef = np.concatenate([[float(est.intercept_)], be.to_numpy(est.coef_)])
    assert _digits(coef, CERTIFIED) >= 10


def test_plain_normal_equation_and_pinv_are_worse():
    """The reference points the issue quotes: a plain solve ~7 digits, pinv(X'X) none."""
    X, y = _longley()
    A = np.c_[np.ones(len(X)), X]
    assert _digits(np.linalg.solve(A.T @ A, A.T @ y), CERTIFIED) < 9
    assert _digits(np.linalg.pinv(A.T @ A) @ A.T @ y, CERTIFIED) < 2
