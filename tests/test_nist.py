"""Closed forms against NIST's Statistical Reference Datasets (StRD) for linear regression:
at least 10 correct digits (NIST's log relative error) of every certified coefficient, on
NumPy and torch, float64, with every solver.

Longley (statsmodels' copy), Norris (the StRD file, in tests/data), and Wampler1 / Wampler2,
which NIST defines by exact polynomials (y = 1 + x + ... + x^5; y = 1 + 0.1 x + ... +
1e-5 x^5, x = 0..20): their data are built here from the definitions. Wampler1's intercept
of 1 comes from terms of 1e6: it needs the residuals refined in twice the working precision
(``kernels.closed_form.residual_sums``); a plain normal-equation solve gets about 7 digits.
"""

from __future__ import annotations

import importlib.util
import pathlib
import warnings

import numpy as np
import pytest

import groundup as gu

# NIST StRD, Longley: certified coefficients (intercept, x1..x6).
LONGLEY = np.array(
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
NORRIS = np.array([-0.262323073774029, 1.00211681802045])


def _longley():
    datasets = pytest.importorskip("statsmodels.datasets")
    d = datasets.longley.load_pandas()
    return d.exog.to_numpy(dtype=float), d.endog.to_numpy(dtype=float), LONGLEY


def _norris():
    lines = (pathlib.Path(__file__).parent / "data" / "Norris.dat").read_text().splitlines()
    data = np.array([[float(v) for v in line.split()] for line in lines[60:96]])
    return data[:, 1:], data[:, 0], NORRIS


def _wampler(coefs):
    x = np.arange(21.0)
    X = np.column_stack([x**p for p in range(1, 6)])
    return X, np.polyval(np.asarray(coefs)[::-1], x), np.asarray(coefs, dtype=float)


SETS = {
    "longley": _longley,
    "norris": _norris,
    "wampler1": lambda: _wampler([1.0] * 6),
    "wampler2": lambda: _wampler([1.0, 0.1, 0.01, 0.001, 1e-4, 1e-5]),
}


def _digits(est, ref):
    """NIST's log relative error, the smallest over the coefficients."""
    return float(-np.log10(np.max(np.abs((est - ref) / ref)) + 1e-300))


BACKENDS = ["numpy"] + (["torch"] if importlib.util.find_spec("torch") else [])
SOLVERS = [
    ("normal", "auto"),
    ("normal", "cholesky"),
    ("normal", "qr"),
    ("normal", "svd"),
    ("beta", "auto"),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("method", "solver"), SOLVERS)
@pytest.mark.parametrize("name", list(SETS))
def test_ten_correct_digits(name, backend, method, solver):
    X, y, certified = SETS[name]()
    est = gu.LinearRegression(method=method, solver=solver, backend=backend).fit(X, y)
    be = gu.backends.resolve(backend)
    coef = np.concatenate([[float(est.intercept_)], be.to_numpy(est.coef_)])
    assert _digits(coef, certified) >= 10


@pytest.mark.parametrize("name", list(SETS))
def test_on_dask_too(name):
    pytest.importorskip("dask.array")
    import dask.array as da

    X, y, certified = SETS[name]()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = gu.LinearRegression().fit(da.from_array(X, chunks=(7, -1)), da.from_array(y, 7))
    assert _digits(np.r_[float(est.intercept_), est.coef_], certified) >= 10


def test_plain_normal_equation_and_pinv_are_worse():
    """The reference points: a plain solve gets ~7 digits on Longley, pinv(X'X) none, and
    on Wampler1 the plain Cholesky refined in working precision ~10 (what torch got)."""
    X, y, _ = _longley()
    A = np.c_[np.ones(len(X)), X]
    assert _digits(np.linalg.solve(A.T @ A, A.T @ y), LONGLEY) < 9
    assert _digits(np.linalg.pinv(A.T @ A) @ A.T @ y, LONGLEY) < 2
    X, y, certified = SETS["wampler1"]()
    A = np.c_[np.ones(len(X)), X]
    assert _digits(np.linalg.solve(A.T @ A, A.T @ y), certified) < 9
