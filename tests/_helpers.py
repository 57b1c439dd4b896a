"""Helpers the test modules share: synthetic data and the check that a fitted array lives
where its case says (namespace, device, dtype)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit

from groundup import backends


def make_regression(
    n: int = 200, d: int = 3, noise: float = 0.1, seed: int = 0, intercept: float = 4.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Well-scaled synthetic regression data: X, y and the true coefficients."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w = np.linspace(-2.0, 3.0, d)
    y = X @ w + intercept + noise * rng.normal(size=n)
    return X, y, w


def make_classes(
    n: int = 150, d: int = 3, k: int = 2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Well-scaled, overlapping classes (not separable): X and integer labels 0..k-1."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    z = X @ np.linspace(1.0, -1.5, d) + 0.5 * rng.normal(size=n)
    if k == 2:
        return X, (rng.random(n) < expit(z + 0.3)).astype(np.int64)
    return X, np.digitize(z, np.quantile(z, np.linspace(0, 1, k + 1)[1:-1]))


def assert_on_case(a: Any, case: Any) -> None:
    """The array lives in the case's namespace, on its device, in its dtype."""
    be = backends.from_array(a)
    assert be.name == case.backend.name
    assert be.device_name == case.backend.device_name
    assert str(a.dtype).endswith(case.dtype)
