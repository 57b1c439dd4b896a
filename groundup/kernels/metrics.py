"""Regression metrics, Array-API (equal to scikit-learn's ``sklearn.metrics``).

Each takes ``y_true`` and ``y_pred`` of shape (n_samples,) on one namespace and returns a
0-d array on the same device.
"""

from __future__ import annotations

from groundup._typing import Array, Namespace


def weighted_mean(v: Array, sample_weight: Array | None, *, xp: Namespace) -> Array:
    """The mean of ``v``, weighted by ``sample_weight`` when given."""
    if sample_weight is None:
        return xp.mean(v)
    return xp.sum(v * sample_weight) / xp.sum(sample_weight)


def mse(
    y_true: Array, y_pred: Array, /, *, sample_weight: Array | None = None, xp: Namespace
) -> Array:
    """Mean squared error."""
    return weighted_mean((y_true - y_pred) ** 2, sample_weight, xp=xp)


def rmse(
    y_true: Array, y_pred: Array, /, *, sample_weight: Array | None = None, xp: Namespace
) -> Array:
    """Root mean squared error."""
    return xp.sqrt(mse(y_true, y_pred, sample_weight=sample_weight, xp=xp))


def mae(
    y_true: Array, y_pred: Array, /, *, sample_weight: Array | None = None, xp: Namespace
) -> Array:
    """Mean absolute error."""
    return weighted_mean(xp.abs(y_true - y_pred), sample_weight, xp=xp)


def median_ae(y_true: Array, y_pred: Array, /, *, xp: Namespace) -> Array:
    """Median absolute error (the mean of the two middle values for an even count)."""
    e = xp.sort(xp.abs(y_true - y_pred))
    n = e.shape[0]
    mid = n // 2
    if n % 2:
        return e[mid]
    return (e[mid - 1] + e[mid]) / 2


def r2(
    y_true: Array, y_pred: Array, /, *, sample_weight: Array | None = None, xp: Namespace
) -> Array:
    """Coefficient of determination R² (scikit-learn's ``r2_score``).

    A constant ``y_true`` gives 1.0 for a perfect prediction and 0.0 otherwise, as
    scikit-learn does with ``force_finite=True``.
    """
    ss_res = weighted_mean((y_true - y_pred) ** 2, sample_weight, xp=xp)
    mean = weighted_mean(y_true, sample_weight, xp=xp)
    ss_tot = weighted_mean((y_true - mean) ** 2, sample_weight, xp=xp)
    zero = ss_tot == 0
    safe = xp.where(zero, xp.ones_like(ss_tot), ss_tot)
    out = 1.0 - ss_res / safe
    perfect = xp.where(ss_res == 0, xp.ones_like(out), xp.zeros_like(out))
    return xp.where(zero, perfect, out)
