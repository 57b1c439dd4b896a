"""Standardised features inside a fit, and the fitted model back in the data's own units.

``--scale`` on the command line, ``gu.sweep(..., scale=True)`` and
``gu.benchmark(..., scale=True)`` fit on ``(X - mean) / scale``, with the statistics of the
training rows only (weighted by the sample weights where there are any): scikit-learn's
``StandardScaler(with_mean=center)``, computed where the data live (one pass on the device,
2 x n_features numbers brought home). A model fitted on the standardised features is the
model ``coef / scale``, ``intercept - (coef / scale) · mean`` on the raw ones (per class for
a logistic model): :func:`raw_units`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from groundup._typing import Array
from groundup.backends import Backend
from groundup.kernels.closed_form import Moments

__all__ = ["Standardization", "fit_standardization", "raw_units", "standardize"]


@dataclass(frozen=True)
class Standardization:
    """The statistics of the training rows, on the host in float64.

    Attributes
    ----------
    mean : ndarray of shape (n_features,)
        Subtracted from every row (zeros when ``center`` is False).
    scale : ndarray of shape (n_features,)
        Every column divided by it: the (weighted) standard deviation, 1 for a constant
        column (scikit-learn's rule).
    center : bool
        Whether the columns were centred (``with_mean`` of ``StandardScaler``).
    """

    mean: np.ndarray
    scale: np.ndarray
    center: bool = True

    def to_dict(self, names: Any = None) -> dict[str, Any]:
        """``{"mean": [...], "scale": [...]}`` (by feature name with ``names``), for JSON."""
        if names is None:
            return {"mean": self.mean.tolist(), "scale": self.scale.tolist()}
        return {
            "mean": dict(zip(map(str, names), map(float, self.mean), strict=True)),
            "scale": dict(zip(map(str, names), map(float, self.scale), strict=True)),
        }


def fit_standardization(
    X: Array, sample_weight: Array | None = None, *, center: bool = True, backend: Backend
) -> Standardization:
    """scikit-learn's ``StandardScaler(with_mean=center).fit(X, sample_weight=...)``.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        The training rows, on ``backend``.
    sample_weight : array of shape (n_samples,), optional
        Weights the mean and the variance (as ``StandardScaler`` does).
    center : bool, default=True
        Subtract the mean (a model without an intercept is scaled only, so that it keeps
        having none in raw units).
    backend : Backend
        Where ``X`` lives.

    Returns
    -------
    Standardization
    """
    xp = backend.xp
    if sample_weight is None:
        total = float(X.shape[0])
        mean = xp.mean(X, axis=0)
        var = xp.mean((X - mean) ** 2, axis=0)
    else:
        w = xp.reshape(sample_weight, (-1, 1))
        wsum = xp.sum(sample_weight)
        mean = xp.sum(w * X, axis=0) / wsum
        var = xp.sum(w * (X - mean) ** 2, axis=0) / wsum
        total = float(backend.to_numpy(wsum))
    host = backend.to_numpy(xp.stack([mean, var])).astype(np.float64)
    m = host[0]
    return Standardization(
        m if center else np.zeros_like(m), _scale(m, host[1], total), bool(center)
    )


def _scale(mean: np.ndarray, var: np.ndarray, total: float) -> np.ndarray:
    """The standard deviations, with StandardScaler's test for a column indistinguishable
    from a constant (Chan, Golub and LeVeque's bound on the two-pass variance; ``total``:
    the number of rows or the total weight) and a scale of 1 there."""
    eps = np.finfo(np.float64).eps
    constant = var <= total * eps * var + (total * mean * eps) ** 2
    return np.where(constant, 1.0, np.sqrt(np.maximum(var, 0.0)))


def on_device(
    stats: Standardization | Preconditioner, like: Array, backend: Backend, shape: Any = (-1,)
) -> tuple[Array, Array]:
    """The statistics' ``mean`` and ``scale`` on ``backend``, in ``like``'s dtype, each of
    ``shape`` (``(-1, 1)``: columns, one row per feature of a model's ``W``)."""
    xp = backend.xp
    return tuple(
        xp.reshape(backend.asarray(np.ascontiguousarray(a), dtype=like.dtype), shape)
        for a in (stats.mean, stats.scale)
    )


def standardize(X: Array, std: Standardization, *, backend: Backend) -> Array:
    """``(X - mean) / scale`` on ``X``'s device, in its dtype."""
    mean, scale = on_device(std, X, backend)
    return (X - mean) / scale


def raw_units(
    coef: Array, intercept: Array, std: Standardization, *, backend: Backend | None = None
) -> tuple[Array, Array]:
    """A model fitted on standardised features, in the raw features' units.

    Parameters
    ----------
    coef : array of shape (n_features,) or (n_classes, n_features)
    intercept : array of shape () or (n_classes,)
    std : Standardization
    backend : Backend, optional
        Where ``coef`` lives (default: NumPy on the host).

    Returns
    -------
    coef, intercept : arrays of the same shapes, namespace and dtype
        ``coef / scale`` and ``intercept - (coef / scale) · mean``: the same predictions
        on raw ``X`` as the fitted model on the standardised one.
    """
    if backend is None:
        c = np.asarray(coef, dtype=np.float64) / std.scale
        return c, np.asarray(intercept, dtype=np.float64) - c @ std.mean
    xp = backend.xp
    mean, scale = on_device(std, coef, backend)
    c = coef / scale
    return c, intercept - xp.sum(c * mean, axis=-1)


@dataclass(frozen=True)
class Preconditioner:
    """A gradient fit's change of variables (``precondition``): descent on
    ``x' = (x - mean) / scale`` and, for least squares, ``y' = (y - y_mean) / y_scale``.

    The objective is the same up to the factor ``loss_factor = y_scale²`` (least squares),
    so its minimum is the same; the model ``(W', b')`` of the new variables is
    ``W = W' y_scale / scale``, ``b = y_mean + y_scale b' - mean · W`` in the data's units
    (:meth:`outward`). A penalty keeps its meaning on the data's coefficients: the L2
    strength of feature j becomes ``alpha / scale_j²`` and the L1 one
    ``l1 / (scale_j y_scale)``, one per feature (:meth:`penalties`). The statistics are
    the host's float64 numbers (kept by the estimator: a later ``partial_fit`` goes on in
    the same variables, on any device).
    """

    mean: np.ndarray
    scale: np.ndarray
    y_mean: float = 0.0
    y_scale: float = 1.0
    finite: bool = True  # False where the data hold NaN / inf: the fit on them locates them
    loss_factor: float = 1.0  # y_scale²

    @classmethod
    def of(
        cls, X: Array, y: Array, sample_weight: Array | None, *, center: bool, target: bool,
        backend: Backend,
    ) -> Preconditioner:  # fmt: skip
        """The rows' (weighted) statistics; ``target``: least squares' y too."""
        std = fit_standardization(X, sample_weight, center=center, backend=backend)
        y_mean, y_scale = 0.0, 1.0
        if target:  # y's own pass: no copy of X
            column = backend.xp.reshape(y, (-1, 1))
            t = fit_standardization(column, sample_weight, center=center, backend=backend)
            y_mean, y_scale = float(t.mean[0]), float(t.scale[0])
        finite = bool(np.isfinite(np.concatenate([std.mean, std.scale, [y_mean, y_scale]])).all())
        return cls(std.mean, std.scale, y_mean, y_scale, finite, y_scale**2)

    @classmethod
    def of_moments(
        cls, m: Moments, *, center: bool, target: bool, backend: Backend
    ) -> Preconditioner:
        """The statistics from the rows' centred, weighted moments (one pass,
        :func:`~groundup.kernels.closed_form.moments`): StandardScaler's mean, variance and
        constant-column rule, for X and (``target``: least squares) for y."""
        xp = backend.xp
        d = int(m.mean_x.shape[0])
        ends = xp.stack([m.mean_y, m.syy])
        host = backend.to_numpy(xp.concat([m.mean_x, xp.linalg.diagonal(m.sxx), ends]))
        host = host.astype(np.float64)
        mean, var, n = host[:d], host[d : 2 * d] / m.n, float(m.n)
        scale = _scale(mean, var, n)
        y_mean, y_scale = 0.0, 1.0
        if target:
            y_scale = float(_scale(host[2 * d : 2 * d + 1], host[-1:] / m.n, n)[0])
            y_mean = float(host[2 * d]) if center else 0.0
        mean = mean if center else np.zeros_like(mean)
        finite = bool(np.isfinite(host).all())
        return cls(mean, scale, y_mean, y_scale, finite, y_scale**2)

    @classmethod
    def rows(
        cls, data: Any, *, target: bool, center: bool, pre: Preconditioner | None = None
    ) -> tuple[Array, Array, Preconditioner | None]:
        """``data``'s rows (``X``, ``y``, ``sample_weight`` on ``backend``: in memory or
        Dask) in a preconditioned fit's variables, ``X'`` and (``target``: least squares)
        ``y'``, with the change of variables: ``pre``, or the rows' own. NaN / inf in the
        statistics: the rows as given, and None (the fit on them locates them)."""
        be = data.backend
        if pre is None:
            pre = cls.of(
                data.X, data.y, data.sample_weight, center=center, target=target, backend=be
            )
        if not pre.finite:
            return data.X, data.y, None
        mean, scale = on_device(pre, data.X, be)
        X = (data.X - mean) * (1.0 / scale)
        return X, (data.y - pre.y_mean) / pre.y_scale if target else data.y, pre

    def outward(self, W: Array, b: Array, *, backend: Backend) -> tuple[Array, Array]:
        """The model in the data's units, from ``W'`` (n_features, k), ``b'`` (k,)."""
        mean, scale = on_device(self, W, backend, (-1, 1))
        W = W * (self.y_scale / scale)
        return W, self.y_mean + self.y_scale * b - backend.xp.sum(mean * W, axis=0)

    def inward(self, W: Array, b: Array, *, backend: Backend) -> tuple[Array, Array]:
        """The inverse of :meth:`outward` (a warm start's model in the new variables)."""
        mean, scale = on_device(self, W, backend, (-1, 1))
        b = (b + backend.xp.sum(mean * W, axis=0) - self.y_mean) / self.y_scale
        return W * (scale / self.y_scale), b

    def penalties(self, alpha: float, l1: float, like: Array, backend: Backend) -> tuple[Any, Any]:
        """The L2 and L1 strengths per feature, (n_features, 1) each (0.0 where none)."""
        scale = on_device(self, like, backend, (-1, 1))[1]
        return (
            alpha / scale**2 if alpha else 0.0,
            l1 / (scale * self.y_scale) if l1 else 0.0,
        )
