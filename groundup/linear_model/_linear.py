"""scikit-learn compatible estimators: :class:`LinearRegression` (and, from
``groundup._logistic``, :class:`LogisticRegression`)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils._available_if import available_if
from sklearn.utils.validation import check_is_fitted

from groundup import _dask as dask_path  # Dask hook: data that outgrow one machine
from groundup._estimator import GroundupEstimator
from groundup._params import GRADIENT, LINEAR_METHODS, SOLVERS, canonical_method
from groundup._typing import Array
from groundup._validation import FitData, answer_in, check_finite, prepare_fit, prepare_predict
from groundup.exceptions import DivergenceError, RankDeficientWarning
from groundup.kernels import metrics as mk
from groundup.kernels.closed_form import (
    intercept_from_means,
    moments,
    solve_beta,
    solve_normal,
)
from groundup.kernels.losses import SquaredLoss

__all__ = [
    "DivergenceError",
    "LinearRegression",
    "LogisticRegression",
    "RankDeficientWarning",
    "class_totals",
    "encode_labels",
    "estimator_class",
]


class LinearRegression(RegressorMixin, GroundupEstimator):
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
    fit_intercept : bool, default=True
        Fit an intercept (the data are centred; the intercept comes from the means).
    penalty : {None, "l2"}, default=None
        L2 penalty ½·alpha·‖w‖² (the intercept is not penalised).
    alpha : float, default=1e-4
        Penalty strength; also the ``"optimal"`` schedule's constant.
    learning_rate : str, default="invscaling"
        The schedule: ``constant``, ``invscaling``, ``optimal``, ``adaptive``,
        ``time_decay``, ``exponential_decay``, ``step_decay``, ``cosine_annealing``,
        ``inverse_sqrt``, ``reciprocal``.
    eta0 : float, default=0.01
        Initial learning rate.
    power_t : float, default=0.25
        Exponent of ``invscaling``: eta0 / t**power_t.
    max_iter : int, default=1000
        Maximum number of epochs.
    tol : float or None, default=1e-3
        Stop when the training loss (validation R² with ``early_stopping``) has not improved
        by ``tol`` for ``n_iter_no_change`` epochs. ``None``: run ``max_iter`` epochs, with
        no host synchronisation per epoch.
    n_iter_no_change : int, default=5
        Epochs without improvement before stopping (or, for ``adaptive``, dividing eta by 5).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data and stop on its R².
    validation_fraction : float, default=0.1
        Share of the data held out for early stopping, in (0, 1).
    shuffle : bool, default=True
        Shuffle the samples every epoch (``sgd``, ``minibatch``).
    random_state : int, Generator or None, default=None
        Seeds the NumPy ``Generator`` that draws every permutation on the host: the same
        seed visits the samples in the same order on every backend.
    warm_start : bool, default=False
        Start gradient methods from the previous ``coef_`` and ``intercept_``.
    batch_size : int, default=32
        Samples per update for ``minibatch``.
    backend : str or None, default=None
        ``"numpy"``, ``"torch"``, ``"cupy"``, ``"jax"``, ``"array_api_strict"``; ``None``
        takes the input's own library and device.
    device : str or None, default=None
        ``"cpu"``, ``"cuda"`` / ``"gpu"``, ``"mps"`` or the library's own spelling.
    dtype : {None, "float32", "float64"}, default=None
        ``None``: floating X keeps its dtype, other X becomes float64 (float32 on devices
        without float64).
    decay : float, default=1e-3
        ``time_decay`` (eta0 / (1 + decay·t)) and ``exponential_decay`` (eta0·e^(−decay·t)).
    drop : float, default=0.5
        ``step_decay`` factor: eta0·drop^⌊t / epochs_drop⌋.
    epochs_drop : float, default=10
        ``step_decay`` span, in epochs.
    eta_min : float, default=0.0
        ``cosine_annealing`` floor.
    t_max : float or None, default=None
        ``cosine_annealing`` span in epochs (``None``: ``max_iter``).
    t1 : float, default=50
        ``reciprocal``: eta0·t1 / (t + t1).
    record_path : bool, default=False
        Keep ``coef_`` and ``intercept_`` after every epoch in ``path_`` (for plots of the
        optimiser's path).

    Attributes
    ----------
    coef_ : array of shape (n_features,)
        On the backend's device, in its namespace.
    intercept_ : 0-d array
    loss_history_ : ndarray of shape (n_iter_,)
        Training MSE after each epoch (NumPy). Closed forms: one entry.
    n_iter_ : int
        Epochs run (1 for closed forms).
    t_ : int
        Updates made plus one (scikit-learn's convention).
    converged_ : bool
    fit_time_ : float
        Seconds, device synchronised.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only for pandas input with string column names.
    backend_, device_ : str
        Where ``coef_`` lives.
    solver_ : str
        The closed-form solver actually used.
    rank_ : int
        Numerical rank of the centred X (closed forms).
    path_ : list of (coef, intercept)
        With ``record_path=True``: the parameters after each epoch, as NumPy arrays.
    """

    def __init__(
        self,
        method: str = "normal",
        *,
        solver: str = "auto",
        fit_intercept: bool = True,
        penalty: str | None = None,
        alpha: float = 1e-4,
        learning_rate: str = "invscaling",
        eta0: float = 0.01,
        power_t: float = 0.25,
        max_iter: int = 1000,
        tol: float | None = 1e-3,
        n_iter_no_change: int = 5,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        shuffle: bool = True,
        random_state: Any = None,
        warm_start: bool = False,
        batch_size: int = 32,
        backend: str | None = None,
        device: Any = None,
        dtype: Any = None,
        decay: float = 1e-3,
        drop: float = 0.5,
        epochs_drop: float = 10,
        eta_min: float = 0.0,
        t_max: float | None = None,
        t1: float = 50,
        record_path: bool = False,
    ) -> None:
        self.method = method
        self.solver = solver
        self.fit_intercept = fit_intercept
        self.penalty = penalty
        self.alpha = alpha
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.max_iter = max_iter
        self.tol = tol
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

    # -- fit ------------------------------------------------------------------------------
    def _check_params(self) -> None:
        self._method = canonical_method(self.method, LINEAR_METHODS, "linear")
        if self.solver not in SOLVERS:
            msg = f"Unknown solver {self.solver!r}; choose one of {list(SOLVERS)}."
            raise ValueError(msg)
        super()._check_params()

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LinearRegression:
        """Fit the model.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            NumPy, pandas, list, or an array of any supported library.
        y : array of shape (n_samples,)
        sample_weight : array of shape (n_samples,), optional
            Non-negative weights (normalised to mean 1 for the gradient methods).

        Returns
        -------
        self
        """
        self._check_params()
        if dask_path.wanted(self, X):  # Dask hook: groundup/_dask.py
            return dask_path.fit(self, X, y, sample_weight)
        data, _ = prepare_fit(self, X, y, sample_weight)
        self._remember_backend(data.backend)
        self._check_n_samples(data.X.shape[0])
        start = self._timer_start()
        with data.backend.quiet_floating_point():
            if self._method in GRADIENT:
                warm = self.warm_start and hasattr(self, "coef_")
                self._fit_gradient(data, max_iter=self.max_iter, tol=self.tol, warm=warm, t0=1)
            else:
                self._fit_closed(data)
        self._finish_timing(start, data.backend, self.coef_, self.intercept_)
        return self

    def _has_partial_fit(self) -> bool:
        try:
            return canonical_method(self.method, LINEAR_METHODS, "linear") in GRADIENT
        except (TypeError, ValueError):
            return False

    @available_if(_has_partial_fit)
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
        self._check_params()
        if self._method not in GRADIENT:
            msg = (
                f"partial_fit needs a gradient method ('batch', 'sgd', 'minibatch'), "
                f"got method={self.method!r}; use fit for closed forms."
            )
            raise ValueError(msg)
        if dask_path.wanted(self, X, partial=True):  # Dask hook: groundup/_dask.py
            return dask_path.fit(self, X, y, sample_weight, partial=True)
        first = not hasattr(self, "coef_")
        if not first:
            be = self._model_backend()
            data, _ = prepare_fit(self, X, y, sample_weight, reset=False, backend=be)
        else:
            data, _ = prepare_fit(self, X, y, sample_weight)
            self._remember_backend(data.backend)
        start = self._timer_start()
        old_hist = None if first else self.loss_history_
        t0 = 1 if first else int(self.t_)
        with data.backend.quiet_floating_point():
            self._fit_gradient(data, max_iter=1, tol=None, warm=not first, t0=t0)
        if old_hist is not None:
            self.loss_history_ = np.concatenate([old_hist, self.loss_history_])
            self.n_iter_ = len(self.loss_history_)
        self._finish_timing(start, data.backend, self.coef_, self.intercept_)
        return self

    def _check_n_samples(self, n: int) -> None:
        need = 2 if (self.fit_intercept or self._method == "beta") else 1
        if n < need:
            msg = (
                f"Found n_samples={n}: method={self._method!r} needs at least {need} "
                f"samples (got {n} sample); pass more data."
            )
            raise ValueError(msg)

    def _fit_closed(self, data: FitData) -> None:
        be, xp = data.backend, data.backend.xp
        X, y, sw = data.X, data.y, data.sample_weight
        chunk = be.chunk_rows(X.shape[1] + 1)
        m = moments(X, y, sw, fit_intercept=self.fit_intercept, chunk_rows=chunk, xp=xp)
        if not m.finite(xp=xp):
            check_finite(X, "X", be)
        d = X.shape[1]
        # Ridge in closed form: (Sxx + n alpha I) w = Sxy, the intercept unpenalised.
        ridge = m.n * self._penalty_alpha()
        if self._method == "beta":
            sol = solve_beta(X, y, m, sw, ridge=ridge, chunk_rows=chunk, xp=xp)
            if sol.coef is None:
                why = (
                    f"n_samples={X.shape[0]} <= n_features={d}"
                    if X.shape[0] <= d
                    else "a constant or collinear feature"
                )
                msg = (
                    f"Cov(X) is singular ({why}): the covariance form has no unique "
                    "solution; use method='normal' (minimum-norm solution) or drop the "
                    "collinear features."
                )
                raise ValueError(msg)
        else:
            sol = solve_normal(
                X, y, m, sw, solver=self.solver, ridge=ridge, chunk_rows=chunk, xp=xp
            )
            if sol.coef is None:
                msg = (
                    "XᵀX is singular or not numerically positive definite (X is rank "
                    "deficient or too ill-conditioned for solver='cholesky'); use "
                    "solver='auto' for the minimum-norm solution."
                )
                raise ValueError(msg)
            if sol.rank < d:
                warnings.warn(
                    f"X is rank deficient (rank {sol.rank} of {d} features after centring): "
                    "returning the minimum-norm least-squares solution, as scikit-learn "
                    "does. Drop or combine collinear features for a unique solution.",
                    RankDeficientWarning,
                    stacklevel=3,
                )
        coef = sol.coef
        self.solver_, self.rank_ = sol.solver, sol.rank
        self.coef_ = coef
        self.intercept_ = (
            intercept_from_means(coef, m, xp=xp)
            if self.fit_intercept
            else xp.zeros((), dtype=X.dtype, device=_dev(X))
        )
        self.loss_history_ = np.asarray([max(float(sol.sse) / m.n, 0.0)])
        self.n_iter_, self.t_, self.converged_ = 1, 1, True
        if self.record_path:
            self.path_ = [(self._host(self.coef_), self._host(self.intercept_))]

    def _fit_gradient(
        self, data: FitData, *, max_iter: int, tol: float | None, warm: bool, t0: int
    ) -> None:
        be, xp = data.backend, data.backend.xp
        rng = np.random.default_rng(self.random_state)
        train, X_val, y_val = self._split(data, rng)
        sw = self._normalised_weights(train.sample_weight, xp=xp)
        train = FitData(train.X, train.y, sw, be)
        d = train.X.shape[1]
        use_moments = self._method == "batch"
        objective = SquaredLoss(
            train.X,
            train.y,
            sw,
            X_val=X_val,
            y_val=y_val,
            use_moments=use_moments,
            chunk_rows=be.chunk_rows(d + 1),
            solve_triangular=be.solve_triangular,
            xp=xp,
        )
        if use_moments and not objective.stats.finite(xp=xp):
            check_finite(data.X, "X", be)  # rows named in the user's X
        dt, dev = train.X.dtype, _dev(train.X)
        if warm:
            W = xp.reshape(be.asarray(self._host(self.coef_), dtype=dt), (d, 1))
            b = xp.reshape(be.asarray(self._host(self.intercept_), dtype=dt), (1,))
        else:
            W = xp.zeros((d, 1), dtype=dt, device=dev)
            b = xp.zeros((1,), dtype=dt, device=dev)
        res, history = self._run_descent(
            objective,
            train,
            W,
            b,
            rng=rng,
            max_iter=max_iter,
            tol=tol,
            t_start=t0,
            start_loss=None if warm else objective.zero_loss(),  # no pass over X for W = 0
            whole_X=data.X,  # NaN / inf named at its row in the user's X
        )
        self.coef_ = res.W[:, 0]
        self.intercept_ = res.b[0]
        self.loss_history_ = history
        self.n_iter_ = res.n_iter
        self.t_ = t0 + res.updates
        self.converged_ = res.converged
        self.solver_, self.rank_ = self._method, None
        if self.record_path:
            self.path_ = [(be.to_numpy(w[:, 0]), be.to_numpy(c[0])) for w, c in res.path]
        self._warn_not_converged(res, max_iter, tol)

    # -- predict ------------------------------------------------------------------------
    def predict(self, X: Any) -> Any:
        """Predict ``X @ coef_ + intercept_``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Any supported library; computed on the model's backend and device.

        Returns
        -------
        array of shape (n_samples,)
            In the input's library (NumPy in, NumPy out).
        """
        check_is_fitted(self)
        if dask_path.wanted_predict(self, X):  # Dask hook: lazy on Dask input
            return dask_path.predict(self, X)
        be = self._model_backend()
        Xd, src = prepare_predict(self, X, be)
        return answer_in(self._decision(Xd), be, src)

    def _decision(self, Xd: Array) -> Array:
        return Xd @ self.coef_ + self.intercept_

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """R² of the prediction, computed on the model's backend.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        y : array of shape (n_samples,)
        sample_weight : array of shape (n_samples,), optional

        Returns
        -------
        float
        """
        check_is_fitted(self)
        if dask_path.wanted_predict(self, X):  # Dask hook: groundup/_dask.py
            return dask_path.score(self, X, y, sample_weight)
        be = self._model_backend()
        xp = be.xp
        Xd, src = prepare_predict(self, X, be)
        pred = self._decision(Xd)
        yd = _to_model(y, be, pred.dtype)
        swd = None if sample_weight is None else _to_model(sample_weight, be, pred.dtype)
        return float(mk.r2(yd, pred, sample_weight=swd, xp=xp))

    def __sklearn_tags__(self):  # noqa: ANN204 - scikit-learn's Tags
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


def _dev(x: Array) -> Any:
    from array_api_compat import device

    return device(x)


def _to_model(a: Any, be: Any, dtype: Any) -> Array:
    from groundup import backends

    src = backends.from_array(a)
    host = src.to_numpy(a) if src.name != be.name else a
    if src.name == "numpy":
        host = np.ravel(np.asarray(a, dtype=np.float64))
    out = be.asarray(host)
    return be.xp.astype(be.xp.reshape(out, (-1,)), dtype)


from groundup._logistic import LogisticRegression  # noqa: E402 - defined in its own module
from groundup._logistic import _class_weights as class_totals  # noqa: E402
from groundup._logistic import _encode_labels as encode_labels  # noqa: E402


def estimator_class(model: str) -> type:
    """The estimator class of ``model``: ``"linear"`` or ``"logistic"``."""
    if model == "linear":
        return LinearRegression
    if model == "logistic":
        return LogisticRegression
    msg = f"Unknown model {model!r}; choose 'linear' or 'logistic'."
    raise ValueError(msg)
