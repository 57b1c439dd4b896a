"""The seams between the estimators and their data: a :class:`DataSource` (validated data
and the passes a fit needs: :class:`InMemory` here, ``groundup/dask/_source.py`` on Dask) and
the :class:`TrainingProblem` of a gradient fit it builds (:class:`EngineProblem`, or the
streamed Dask fit). Both sources offer the same methods, so each algorithm is written once;
in memory NaN / inf in X are looked for only when a result shows them.

Also the change of variables a gradient fit descends in (:class:`Preconditioner`) and the
tools' standardised features (``--scale``, ``scale=True``): scikit-learn's
``StandardScaler(with_mean=center)`` on the (weighted) training rows, computed where the data
live, and :func:`raw_units` to bring the model back to the raw features.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from array_api_compat import device as _device
from sklearn.utils.multiclass import check_classification_targets

from groundup._typing import Array
from groundup._validation import FitData, check_finite
from groundup.backends import Backend
from groundup.kernels import curvature as cv
from groundup.kernels import logistic as lk
from groundup.kernels.closed_form import DataPasses, Moments, moments, scaled_rows, standardized
from groundup.kernels.descent import Certificate, Column, DescentResult, DescentSettings, descend
from groundup.kernels.losses import SquaredLoss
from groundup.kernels.update import UpdateState

__all__ = [
    "DataSource",
    "EngineProblem",
    "InMemory",
    "Preconditioner",
    "Standardization",
    "TrainingProblem",
    "certificate",
    "epoch_orders",
    "fit_standardization",
    "raw_units",
    "standardize",
]


class TrainingProblem(Protocol):
    """A gradient fit's training rows and their objective (as :class:`EngineProblem`'s)."""

    objective: Any  # the kernel objective (on Dask the whole training set's)

    @property
    def rows(self) -> int: ...  # the number of training rows
    def updates_per_epoch(self, batch_size: int) -> int: ...
    def curvature(self, *, batch: bool, fit_intercept: bool) -> float: ...  # for eta0="auto"
    def run(  # the descent of ``column`` from (W, b); its history and reference are floats
        self,
        W: Array,
        b: Array,
        *,
        column: Column,
        settings: DescentSettings,
        rng: np.random.Generator | None,  # the epochs' permutations (None: rows in order)
        t0: int,
        start_loss: Array | None,
        state: UpdateState | None = None,
        certificate: Certificate | None = None,
    ) -> DescentResult: ...


class DataSource(Protocol):
    """Validated training data and the passes a fit needs (as :class:`InMemory`'s).
    ``backend``: where the fitted model lives; ``compute``: where W and b live in the fit."""

    backend: Backend
    compute: Backend
    n: int
    d: int
    dtype: Any
    device: Any

    def raise_nonfinite(self) -> None: ...  # locate NaN / inf in X, if X holds any
    def preconditioned(  # the data in a preconditioned fit's variables, and ``pre``
        self, *, target: bool, center: bool, pre: Any = None, rows: bool = True
    ) -> tuple[DataSource, Any]: ...
    def moments(self, *, fit_intercept: bool) -> Moments: ...
    def least_squares(self, m: Moments) -> Any: ...  # the closed form's further passes
    def squared_problem(self, held: np.ndarray | None, *, batch: bool) -> TrainingProblem: ...
    def labels(self) -> tuple[np.ndarray, np.ndarray]: ...  # the labels, their weights
    def encoded(self, classes: np.ndarray, weights: np.ndarray | None = None) -> DataSource: ...
    def log_loss(self, *, n_classes: int, fit_intercept: bool) -> Any: ...
    def content_sample(self, fraction: float, *, seed: Any) -> Array: ...
    def log_problem(
        self, held: np.ndarray | None, *, n_classes: int, fit_intercept: bool, batch: bool
    ) -> TrainingProblem: ...


@dataclass
class EngineProblem:
    """A gradient fit's training rows and their objective, run by the descent engine. On
    Dask (full batch) ``X`` only gives the number of rows and ``objective`` makes every pass.
    """

    objective: Any
    X: Array
    y: Array
    sample_weight: Array | None
    backend: Backend
    curvature_fn: Callable[[bool, bool], float] | None = None  # Dask's, (batch, fit_intercept)
    stats: Moments | None = None  # the rows' moments where known without a pass
    row_curvature: float | None = None  # max_i w_i (‖x_i‖² + fit_intercept) where known

    def curvature(self, *, batch: bool, fit_intercept: bool) -> float:
        """The bound behind ``eta0="auto"``: the Gram matrix's largest eigenvalue (``batch``),
        else the largest row's ``w_i (‖x_i‖² + fit_intercept)``."""
        if self.curvature_fn is not None:
            return self.curvature_fn(batch, fit_intercept)
        xp = self.backend.xp
        if not batch:
            c, fi = self.row_curvature, xp.finfo(self.X.dtype)
            if c is not None and fi.smallest_normal / fi.eps <= c <= fi.max * fi.eps:
                return c  # else where the squares leave the dtype's range, exactly
            return cv.largest_row(self.X, self.sample_weight, fit_intercept=fit_intercept, xp=xp)
        stats = getattr(self.objective, "stats", None) if self.stats is None else self.stats
        known = None
        if stats is not None:  # the moments of the squared loss's batch fit: no pass
            G = cv.gram_of_moments(stats, fit_intercept=fit_intercept, xp=xp)
            known = cv.largest_eigenvalue(G, xp=xp)
        rows = self.backend.chunk_rows(self.X.shape[1] + 1)
        sw = self.sample_weight
        return cv.gram_curvature(
            self.X, sw, fit_intercept=fit_intercept, chunk_rows=rows, known=known, xp=xp
        )

    @property
    def rows(self) -> int:
        return int(self.X.shape[0])

    def updates_per_epoch(self, batch_size: int) -> int:
        return math.ceil(self.rows / batch_size)

    def run(
        self,
        W: Array,
        b: Array,
        *,
        column: Column,
        settings: DescentSettings,
        rng: np.random.Generator | None,
        t0: int,
        start_loss: Array | None,
        state: UpdateState | None = None,
        certificate: Certificate | None = None,
    ) -> DescentResult:
        """The descent engine over the rows (every epoch's order drawn on the host from
        ``rng``; ``None``: in order); the result's loss history and reference loss are floats."""
        return descend(
            self.objective,
            self.X,
            self.y,
            self.sample_weight,
            W,
            b,
            columns=[column],
            settings=settings,
            orders=epoch_orders(rng, self.rows, self.backend),
            t_start=t0,
            start_loss=start_loss,
            state=state,
            to_host=self.backend.to_floats,
            certificate=certificate,
            xp=self.backend.xp,
        )[0]


def epoch_orders(
    rng: np.random.Generator | None, n: int, backend: Backend
) -> Iterator[Array | None]:
    """The engine's visiting orders, one per epoch: a fresh permutation of the ``n`` rows,
    drawn from ``rng`` on the host as the epoch starts and moved to ``backend``'s device; the
    natural order (``None``) every epoch without ``rng``."""
    if rng is None:
        return itertools.repeat(None)
    return map(backend.asarray, map(rng.permutation, itertools.repeat(n)))


def certificate(
    objective: Any,
    alphas: list[Any],
    *,
    fit_intercept: bool,
    floor: float,
    backend: Backend,
    l1s: list[Any] | None = None,
    pre: Preconditioner | None = None,
) -> Certificate:
    """How far ``objective`` (loss + Σ l1 |w| + ½ Σ alpha w², one ``alphas`` and ``l1s``
    entry per configuration) is above its minimum, relative to it (floored at ``floor`` in the
    data's units: ``floor / loss_factor`` in ``pre``'s variables): for the squared loss from its
    moments (made here in one pass where it has none, and kept in float64: its loss then costs
    O(d²) per epoch, not a pass over X), else from one pass (``groundup.kernels.curvature``)."""
    xp = backend.xp
    if pre is not None:
        floor /= pre.loss_factor
    if isinstance(objective, SquaredLoss):
        m = objective.stats
        if m is None:
            rows = backend.chunk_rows(objective.X.shape[1] + 1)
            m = moments(objective.X, objective.y, objective.sw, chunk_rows=rows, pilot=False, xp=xp)
            if m.syy.dtype == xp.float64:  # float32's keep few digits of the loss near R² = 1
                objective.stats = m
        return cv.SquaredCertificate(
            m, alphas, fit_intercept=fit_intercept, floor=floor, xp=xp, l1s=l1s
        )
    return cv.LogCertificate(objective, alphas, floor=floor, xp=xp, l1s=l1s)


class InMemory:
    """Validated data on the backend's device (``prepare_fit``'s), a :class:`DataSource`;
    ``y_host``: a classifier's labels, on the host."""

    def __init__(self, data: FitData, y_host: np.ndarray | None = None) -> None:
        self.data = data
        self.y_host = y_host
        self.backend = self.compute = data.backend
        self.n, self.d = int(data.X.shape[0]), int(data.X.shape[1])
        self.dtype = data.X.dtype
        self.device = _device(data.X)
        self.chunk_rows = data.backend.chunk_rows(self.d + 1)
        # Known without a pass (preconditioned()'s, the weights normalised to mean 1): the
        # rows' moments and the largest row's w_i (‖x_i‖² + center).
        self.stats: Moments | None = None
        self.row_curvature: float | None = None

    def raise_nonfinite(self) -> None:
        """Raise the error that counts and locates NaN / inf in X, if X holds any."""
        check_finite(self.data.X, "X", self.backend)

    def preconditioned(
        self, *, target: bool, center: bool, pre: Preconditioner | None = None, rows: bool = True
    ) -> tuple[InMemory, Preconditioner | None]:
        """The data in a preconditioned fit's variables and the change of variables: ``pre``
        (a later ``partial_fit``'s), or the rows' own from one moments pass (the two-pass
        statistics where the moments are not finite). The scaled copy of X comes with its
        ``row_curvature`` and ``stats``; ``rows=False`` (least squares ``batch``, which reads
        only the moments) makes no copy: X is a broadcast zero, never read."""
        d, be = self.data, self.backend
        xp = be.xp
        m = None
        if pre is None:
            y = d.y if target else xp.astype(d.y, d.X.dtype, copy=False)  # labels: unused
            m = moments(d.X, y, d.sample_weight, chunk_rows=self.chunk_rows, pilot=False, xp=xp)
            if m.finite(xp=xp):
                pre = Preconditioner.of_moments(m, center=center, target=target, backend=be)
        if pre is None or m is None:  # moments not finite, or a later partial_fit's ``pre``
            X, y, pre = Preconditioner.rows(d, target=target, center=center, pre=pre)
            done = InMemory(FitData(X, y, d.sample_weight, be), self.y_host)
            return (self if pre is None else done), pre
        shift, scale = on_device(pre, d.X, be)
        y = (d.y - pre.y_mean) / pre.y_scale if target else d.y
        sw, top = d.sample_weight, None
        if rows:
            X, top = scaled_rows(
                d.X, shift, 1.0 / scale, sw, ones=float(center), chunk_rows=self.chunk_rows, xp=xp
            )
        else:
            X = xp.broadcast_to(
                xp.zeros((1, self.d), dtype=d.X.dtype, device=self.device), (self.n, self.d)
            )
        weight = 1.0 if sw is None else self.n / m.n  # the training rows' weights have mean 1
        out = InMemory(FitData(X, y, sw, be), self.y_host)
        out.stats = standardized(m, shift, scale, pre.y_mean, pre.y_scale, weight=weight, xp=xp)
        out.row_curvature = None if top is None else float(top) * weight
        return out, pre

    def moments(self, *, fit_intercept: bool) -> Moments:
        """The sufficient statistics in one pass (with the pilot products for refinement)."""
        X, y, sw = self.data.X, self.data.y, self.data.sample_weight
        xp = self.backend.xp
        m = moments(
            X, y, sw, fit_intercept=fit_intercept, chunk_rows=self.chunk_rows, rescale=True, xp=xp
        )
        if not m.finite(xp=xp):
            self.raise_nonfinite()
        return m

    def least_squares(self, m: Moments) -> DataPasses:
        """The closed form's passes over the data (refinement products, QR, SVD)."""
        d = self.data
        return DataPasses(d.X, d.y, m, d.sample_weight, self.chunk_rows, self.backend.xp)

    def training_rows(self, held: np.ndarray | None) -> tuple[FitData, Array | None, Array | None]:
        """The training rows (weights normalised to mean 1) and the held-out X and y
        (``held``: the early-stopping rows)."""
        be = self.backend
        xp = be.xp
        X, y, sw = self.data.X, self.data.y, self.data.sample_weight
        X_val = y_val = None
        if held is not None:
            val, tr = be.asarray(held), be.asarray(np.setdiff1d(np.arange(self.n), held))
            X_val, y_val = xp.take(X, val, axis=0), xp.take(y, val, axis=0)
            X, y = xp.take(X, tr, axis=0), xp.take(y, tr, axis=0)
            sw = None if sw is None else xp.take(sw, tr)
            # NaN / inf in a held-out row would only blur the early-stopping score, silently
            if not bool(xp.all(xp.isfinite(X_val))):
                self.raise_nonfinite()
        if sw is not None:
            sw = sw * (sw.shape[0] / xp.sum(sw))
        return FitData(X, y, sw, be), X_val, y_val

    def squared_problem(self, held: np.ndarray | None, *, batch: bool) -> EngineProblem:
        """The squared loss of the training rows; ``batch`` runs on their moments."""
        be = self.backend
        train, X_val, y_val = self.training_rows(held)
        objective = SquaredLoss(
            train.X, train.y, train.sample_weight, X_val=X_val, y_val=y_val, xp=be.xp,
            use_moments=batch, stats=None if held is not None else self.stats,
            chunk_rows=self.chunk_rows, solve_triangular=be.solve_triangular,
            speculative=be.on_host,
        )  # fmt: skip
        if batch and not objective.stats.finite(xp=be.xp):
            self.raise_nonfinite()  # rows named in the user's X
        top = None if held is not None else self.row_curvature
        return EngineProblem(
            objective, train.X, train.y, train.sample_weight, be, row_curvature=top
        )

    def labels(self) -> tuple[np.ndarray, np.ndarray]:
        """The distinct labels (scikit-learn's target checks on y) and their total weights."""
        y = np.ravel(np.asarray(self.y_host))
        check_classification_targets(y)
        found, codes = np.unique(y, return_inverse=True)
        sw = self.data.sample_weight
        w = None if sw is None else self.backend.to_numpy(sw)
        totals = np.bincount(np.ravel(codes), weights=w, minlength=len(found))
        return found, totals.astype(np.float64)

    def encoded(self, classes: np.ndarray, weights: np.ndarray | None = None) -> InMemory:
        """The data with y encoded on the host for ``classes`` (0/1 in X's dtype for two,
        int32 codes for more), the class ``weights`` multiplied into the sample weights."""
        codes = np.searchsorted(classes, np.ravel(np.asarray(self.y_host)))
        X, be = self.data.X, self.backend
        if len(classes) == 2:
            y = be.asarray((codes == 1).astype(np.float64), dtype=X.dtype)
        else:
            y = be.asarray(codes.astype(np.int32))
        sw = self.data.sample_weight
        if weights is not None:
            rows = be.asarray(np.asarray(weights, dtype=np.float64)[codes], dtype=X.dtype)
            sw = rows if sw is None else sw * rows
        return InMemory(FitData(X, y, sw, be))

    def log_loss(
        self,
        *,
        n_classes: int,
        fit_intercept: bool,
        rows: tuple[FitData, Array | None, Array | None] | None = None,
    ) -> lk.BinaryLogLoss | lk.MultinomialLogLoss:
        """The log-loss of every row (Newton's objective), or of ``rows``
        (:meth:`training_rows`'s training rows and held-out X and y)."""
        data, X_val, y_val = (self.data, None, None) if rows is None else rows
        be, binary = self.backend, n_classes == 2
        return (lk.BinaryLogLoss if binary else lk.MultinomialLogLoss)(
            data.X,
            data.y,
            data.sample_weight,
            X_val=X_val,
            y_val=y_val,
            xp=be.xp,
            fit_intercept=fit_intercept,
            n_classes=n_classes,
            chunk_rows=be.chunk_rows(self.d * (1 if binary else n_classes)),
            solve_triangular=be.solve_triangular,
            speculative=be.on_host,
        )

    def content_sample(self, fraction: float, *, seed: Any) -> Array:
        """About ``fraction`` of the rows, chosen by their content (Newton's warm start)."""
        d, be = self.data, self.backend
        r = np.random.default_rng(seed).standard_normal(self.d + 1)
        rx = be.asarray(r[:-1], dtype=d.X.dtype)
        return lk.content_sample(d.X, d.y, rx, float(r[-1]), fraction, xp=be.xp)

    def log_problem(
        self, held: np.ndarray | None, *, n_classes: int, fit_intercept: bool, batch: bool
    ) -> EngineProblem:
        """The log-loss of the training rows, with the held-out rows for its ``score``
        (``batch`` changes nothing here)."""
        rows = self.training_rows(held)
        train = rows[0]
        mine = held is None  # all the rows: what is known of them holds
        return EngineProblem(
            self.log_loss(n_classes=n_classes, fit_intercept=fit_intercept, rows=rows),
            train.X,
            train.y,
            train.sample_weight,
            self.backend,
            stats=self.stats if mine else None,
            row_curvature=self.row_curvature if mine else None,
        )


@dataclass(frozen=True)
class Standardization:
    """The training rows' statistics, host float64: ``mean`` (zeros unless ``center``,
    StandardScaler's ``with_mean``) and ``scale``, the (weighted) standard deviation, 1 for
    a constant column (scikit-learn's rule)."""

    mean: np.ndarray
    scale: np.ndarray
    center: bool = True

    def to_dict(self, names: Any = None) -> dict[str, Any]:
        """``{"mean": [...], "scale": [...]}`` (by feature name with ``names``), for JSON."""
        pairs = {"mean": self.mean, "scale": self.scale}
        if names is None:
            return {k: v.tolist() for k, v in pairs.items()}
        return {k: dict(zip(map(str, names), map(float, v), strict=True)) for k, v in pairs.items()}


def fit_standardization(
    X: Array, sample_weight: Array | None = None, *, center: bool = True, backend: Backend
) -> Standardization:
    """scikit-learn's ``StandardScaler(with_mean=center).fit(X, sample_weight=...)`` of ``X``
    on ``backend`` (a model without an intercept is scaled only: ``center=False``)."""
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
    m, var = backend.to_numpy(xp.stack([mean, var])).astype(np.float64)
    return Standardization(m if center else np.zeros_like(m), _scale(m, var, total), bool(center))


def _scale(mean: np.ndarray, var: np.ndarray, total: float) -> np.ndarray:
    """The standard deviations, 1 where StandardScaler takes a column for a constant (Chan,
    Golub and LeVeque's bound; ``total``: the number of rows or the total weight)."""
    eps = np.finfo(np.float64).eps
    constant = var <= total * eps * var + (total * mean * eps) ** 2
    return np.where(constant, 1.0, np.sqrt(np.maximum(var, 0.0)))


def on_device(
    stats: Standardization | Preconditioner, like: Array, backend: Backend, shape: Any = (-1,)
) -> tuple[Array, Array]:
    """The statistics' ``mean`` and ``scale`` on ``backend``, in ``like``'s dtype, each of
    ``shape`` (``(-1, 1)``: columns, one row per feature of a model's ``W``), in one transfer."""
    xp = backend.xp
    both = backend.asarray(np.stack([stats.mean, stats.scale]), dtype=like.dtype)
    return xp.reshape(both[0, ...], shape), xp.reshape(both[1, ...], shape)


def standardize(X: Array, std: Standardization, *, backend: Backend) -> Array:
    """``(X - mean) / scale`` on ``X``'s device, in its dtype."""
    mean, scale = on_device(std, X, backend)
    return (X - mean) / scale


def raw_units(
    coef: Array, intercept: Array, std: Standardization, *, backend: Backend | None = None
) -> tuple[Array, Array]:
    """A model fitted on standardised features (``coef`` (n_features,) or (n_classes,
    n_features) on ``backend``, default the host's NumPy) in the raw features' units:
    ``coef / scale`` and ``intercept - (coef / scale) · mean``."""
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

    The objective changes by the factor ``loss_factor = y_scale²``, its minimum stays;
    :meth:`outward` maps the model back, :meth:`penalties` keeps the penalties' meaning on
    the data's coefficients. The statistics are host float64 numbers, kept by the estimator
    so that a later ``partial_fit`` goes on in the same variables.
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
        """StandardScaler's statistics from the rows' centred, weighted moments, for X and
        (``target``) for y."""
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
        """``data``'s rows (in memory or Dask) in the variables of ``pre`` or of their own
        statistics, and the change of variables; the rows as given and None where the
        statistics are not finite."""
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
        return (alpha / scale**2 if alpha else 0.0, l1 / (scale * self.y_scale) if l1 else 0.0)
