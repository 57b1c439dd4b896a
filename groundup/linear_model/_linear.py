"""Least-squares linear regression: :class:`LinearRegression`, fitted five ways."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils._available_if import available_if
from sklearn.utils.validation import check_is_fitted

from groundup import backends
from groundup import dask as dask_layer
from groundup._problem import DataSource, TrainingProblem
from groundup._typing import Array
from groundup._validation import GRADIENT, LINEAR_METHODS, prepare_predict
from groundup.exceptions import RankDeficientWarning
from groundup.kernels import metrics as mk
from groundup.kernels.closed_form import beta_solution, data_units, normal_solution
from groundup.linear_model._base import (
    SHARED_ATTRIBUTES,
    SHARED_PARAMETERS,
    GroundupEstimator,
    Run,
)

__all__ = ["LinearRegression"]


class LinearRegression(RegressorMixin, GroundupEstimator):
    __doc__ = (
        """Least-squares linear regression, fitted five ways on any Array-API backend.

    Minimises ½·mean((X w + b − y)²) (+ ½·alpha·‖w‖² with ``penalty="l2"``, which equals
    scikit-learn ``Ridge(alpha=n_samples * alpha)``).

    Parameters
    ----------
    method : {"normal", "beta", "batch", "sgd", "minibatch"}, default="normal"
        ``"normal"``: closed-form least squares (see ``solver``). ``"beta"``: the covariance
        form, slope = Cov(X)⁻¹ Cov(X, y), intercept from the means. ``"batch"``: full-batch
        gradient descent (run on the sufficient statistics XᵀX, Xᵀy: one pass over X).
        ``"sgd"``: one sample per update (scikit-learn ``SGDRegressor``'s update).
        ``"minibatch"``: ``batch_size`` samples per update. The ground-up-ml names
        ``beta_estimations``, ``normal_equation``, ``gradient_descent_batch``,
        ``gradient_descent_stochastic`` and ``gradient_descent_mini_batch`` are aliases.
    solver : {"auto", "cholesky", "qr", "svd"}, default="auto"
        Closed-form solver for ``method="normal"``. ``"auto"``: Cholesky refined once, QR
        when ill conditioned, SVD (minimum norm, with a warning) when rank deficient.
"""
        + SHARED_PARAMETERS
        + """
    Attributes
    ----------
    coef_ : array of shape (n_features,)
        On the backend's device, in its namespace.
    intercept_ : 0-d array
    loss_history_ : ndarray of shape (n_iter_,)
        Training MSE after each epoch (NumPy). Closed forms: one entry.
    n_iter_ : int
        Epochs run (1 for closed forms).
"""
        + SHARED_ATTRIBUTES
        + """\
    solver_ : str
        The closed-form solver actually used.
    rank_ : int
        Numerical rank of the centred X (closed forms).
    path_ : list of (coef, intercept)
        With ``record_path=True``: the parameters after each epoch, as NumPy arrays.
    """
    )

    _model: ClassVar[str] = "linear"
    _methods: ClassVar[tuple[str, ...]] = LINEAR_METHODS
    _zero_start: ClassVar[bool] = True

    def __init__(
        self,
        method="normal",
        *,
        solver="auto",
        fit_intercept=True,
        penalty=None,
        alpha=1e-4,
        l1_ratio=0.15,
        learning_rate="invscaling",
        eta0="auto",
        power_t=0.25,
        optimizer="sgd",
        momentum=0.9,
        rho=0.99,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        average=False,
        max_iter=1000,
        tol="auto",
        precondition="auto",
        n_iter_no_change=5,
        early_stopping=False,
        validation_fraction=0.1,
        shuffle=True,
        random_state=None,
        warm_start=False,
        batch_size=32,
        backend=None,
        device=None,
        dtype=None,
        decay=1e-3,
        drop=0.5,
        epochs_drop=10,
        eta_min=0.0,
        t_max=None,
        t1=50,
        record_path=False,
    ):
        self.method = method
        self.solver = solver
        self.fit_intercept = fit_intercept
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.optimizer = optimizer
        self.momentum = momentum
        self.rho = rho
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.average = average
        self.max_iter = max_iter
        self.tol = tol
        self.precondition = precondition
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.shuffle = shuffle
        self.random_state = random_state
        self.warm_start = warm_start
        self.batch_size = batch_size
        self.backend = backend
        self.device = device
        self.dtype = dtype
        self.decay = decay
        self.drop = drop
        self.epochs_drop = epochs_drop
        self.eta_min = eta_min
        self.t_max = t_max
        self.t1 = t1
        self.record_path = record_path

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LinearRegression:
        """Fit the model.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            NumPy, pandas, list, or an array of any supported library (a Dask array or
            DataFrame fits on Dask: :mod:`groundup.dask`).
        y : array of shape (n_samples,)
        sample_weight : array of shape (n_samples,), optional
            Non-negative weights (normalised to mean 1 for the gradient methods).

        Returns
        -------
        self
        """
        self._check_params()
        source = self._source(X, y, sample_weight, reset=True, labels=False, partial=False)
        self._check_n_samples(source.n)
        self._remember_backend(source.backend)
        with self._fitting(source):
            if self._method in GRADIENT:
                warm = self.warm_start and hasattr(self, "coef_")
                self._fit_gradient(source, Run(self.max_iter, self.tol, warm=warm))
                self.solver_, self.rank_ = self._method, None
            else:
                self._check_closed_penalty()
                self._fit_closed(source)
        return self

    @available_if(GroundupEstimator._has_partial_fit)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> LinearRegression:
        """One epoch of the gradient method over ``X``, continuing from the current state.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        y : array of shape (n_samples,)
        sample_weight : array of shape (n_samples,), optional

        Returns
        -------
        self
        """
        self._check_partial_params()
        first = not hasattr(self, "coef_")
        source = self._source(X, y, sample_weight, reset=first, labels=False, partial=True)
        self._partial_fit(source, first)
        self.solver_, self.rank_ = self._method, None
        return self

    def _check_n_samples(self, n: int) -> None:
        need = 2 if (self.fit_intercept or self._method == "beta") else 1
        if n < need:
            msg = (
                f"Found n_samples={n}: method={self._method!r} needs at least {need} "
                f"samples (got {n} sample); pass more data."
            )
            raise ValueError(msg)

    def _fit_closed(self, source: DataSource) -> None:
        """``beta`` / ``normal``: the moments in one pass, the solve on them (refined once
        against the data; QR / SVD from the data when ill conditioned)."""
        xp, dt, n, d = source.compute.xp, source.dtype, source.n, source.d
        m = source.moments(fit_intercept=self.fit_intercept)
        passes = source.least_squares(m)
        # Ridge in closed form: (Sxx + n alpha I) w = Sxy, the intercept unpenalised.
        ridge = m.n * self._l2
        bound = n - int(self.fit_intercept)  # the centred rows span at most this many
        if self._method == "beta":
            sol = beta_solution(m, passes, ridge=ridge, rank_bound=bound, dtype=dt, xp=xp)
        else:
            sol = normal_solution(
                m, passes, solver=self.solver, ridge=ridge, rank_bound=bound, dtype=dt, xp=xp
            )
        if sol.coef is None:  # only an explicit solver="cholesky" gives up
            msg = (
                "XᵀX is singular or not numerically positive definite (X is rank deficient, "
                f"n_samples={n} <= n_features={d}, or too ill-conditioned for "
                "solver='cholesky'); use solver='auto' (or 'svd') for the minimum-norm "
                "solution, or penalty='l2'."
            )
            raise ValueError(msg)
        if sol.rank < d and not ridge:
            form = "the covariance form has no unique solution" if self._method == "beta" else ""
            warnings.warn(
                f"X is rank deficient (rank {sol.rank} of {d} features after centring"
                + (f", n_samples={n}" if n <= d else "")
                + f"){': ' + form if form else ''}: returning the minimum-norm least-squares "
                "solution, as scikit-learn does. Drop or combine collinear features for a "
                "unique solution, or use penalty='l2'.",
                RankDeficientWarning,
                stacklevel=4,
            )
        sol = data_units(sol, m, xp=xp)  # the data's units; a clear error where not finite
        self.solver_, self.rank_ = sol.solver, sol.rank
        self.coef_, self.intercept_ = sol.coef, xp.reshape(xp.asarray(sol.intercept), ())
        self.loss_history_ = np.asarray([max(float(sol.sse) / m.n, 0.0)])
        self.n_iter_, self.t_, self.converged_, self.stop_reason_ = 1, 1, True, "exact"
        if self.record_path:
            host = source.compute.to_numpy
            self.path_ = [(host(self.coef_), host(self.intercept_))]

    def _problem(self, source: DataSource, held: np.ndarray | None) -> TrainingProblem:
        """The squared loss of the training rows (``batch`` on their moments; on Dask
        ``sgd`` / ``minibatch`` stream)."""
        return source.squared_problem(held, batch=self._method == "batch")

    def _coef_of(self, W: Array, b: Array) -> tuple[Array, Array]:
        """The engine's ``W`` (n_features, 1) and ``b`` (1,) as ``coef_``, ``intercept_``."""
        return W[:, 0], b[0]

    def predict(self, X: Any) -> Any:
        """Predict ``X @ coef_ + intercept_``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Any supported library; computed on the model's backend and device (a Dask
            array: lazily, chunk by chunk).

        Returns
        -------
        array of shape (n_samples,)
            In the input's library (NumPy in, NumPy out; Dask in, a lazy Dask array out).
        """
        check_is_fitted(self)
        if self._lazy_input(X):
            if not dask_layer.is_dask(X):  # a Dask-fitted model, in-memory input
                return self.to("numpy").predict(X)
            return self._lazy_model().apply(X)
        Xd, src = prepare_predict(self, X, self._model_backend())
        return backends.move(Xd @ self.coef_ + self.intercept_, src)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """R² of :meth:`predict` against ``y``, weighted by ``sample_weight`` if given: a
        float, computed on the model's backend (on Dask input, by Dask)."""
        check_is_fitted(self)
        if self._lazy_input(X):
            if not dask_layer.is_dask(X):
                return self.to("numpy").score(X, y, sample_weight)
            return self._lazy_model().r2(X, y, sample_weight)
        be = self._model_backend()
        xp = be.xp
        pred = prepare_predict(self, X, be)[0] @ self.coef_ + self.intercept_

        def vector(a: Any) -> Array:  # any library's, on the model's backend
            return xp.astype(xp.reshape(backends.move(a, be), (-1,)), pred.dtype)

        sw = None if sample_weight is None else vector(sample_weight)
        return float(mk.r2(vector(y), pred, sample_weight=sw, xp=xp))
