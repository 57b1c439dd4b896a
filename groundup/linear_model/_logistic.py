"""Logistic regression (binary sigmoid and multinomial softmax) on any Array-API backend:
Newton's method (IRLS) or the shared gradient-descent engine."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._available_if import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from groundup import _dask as dask_path  # Dask hook: data that outgrow one machine
from groundup import backends
from groundup._estimator import GroundupEstimator
from groundup._params import GRADIENT, LOGISTIC_METHODS, canonical_method
from groundup._typing import Array
from groundup._validation import FitData, answer_in, check_finite, prepare_fit, prepare_predict
from groundup.backends import Backend
from groundup.exceptions import DivergenceError
from groundup.kernels import classification as ck
from groundup.kernels import logistic as lk
from groundup.kernels.descent import DescentResult

__all__ = ["LogisticRegression"]


class LogisticRegression(ClassifierMixin, GroundupEstimator):
    """Logistic regression, binary (sigmoid) or multinomial (softmax), on any backend.

    Minimises the mean log-loss + ½·alpha·‖W‖² (``penalty="l2"``; the intercept is not
    penalised). This is scikit-learn ``LogisticRegression(C=C)`` with
    ``C = 1 / (n_samples * alpha)`` (with sample weights: ``1 / (sum(sample_weight) *
    alpha)``); ``penalty=None`` is ``C=np.inf``. Two classes give one coefficient row (the
    second class in ``classes_`` is the positive one), more classes the softmax model with
    one row per class (centred: the rows sum to zero, as scikit-learn's).

    Parameters
    ----------
    method : {"newton", "batch", "sgd", "minibatch"}, default="newton"
        ``"newton"``: Newton's method (iteratively reweighted least squares) with a
        backtracking line search; each iteration is one pass over X that builds the
        gradient and the Hessian over row chunks; on large data it starts from the solution
        on a 5 % subsample. ``"batch"``: full-batch gradient descent (one fused pass over X
        per epoch). ``"sgd"``: one sample per update. ``"minibatch"``: ``batch_size``
        samples per update. The gradient methods use the same engine, schedules, early
        stopping and history as :class:`~groundup.LinearRegression`. The ground-up-ml names
        (``gradient_descent_batch``, ...) and ``"irls"`` are aliases. ``"beta"`` and
        ``"normal"`` are linear-regression closed forms: logistic regression has none.
    fit_intercept : bool, default=True
    penalty : {None, "l2"}, default=None
        L2 penalty ½·alpha·‖W‖². Without it, separable classes have no finite solution:
        the fit stops with a ``ConvergenceWarning`` that says so.
    alpha : float, default=1e-4
        Penalty strength; also the ``"optimal"`` schedule's constant.
    learning_rate : str, default="invscaling"
        Schedule of the gradient methods: ``constant``, ``invscaling``, ``optimal``,
        ``adaptive``, ``time_decay``, ``exponential_decay``, ``step_decay``,
        ``cosine_annealing``, ``inverse_sqrt``, ``reciprocal``.
    eta0 : float, default=0.01
        Initial learning rate (gradient methods).
    power_t : float, default=0.25
        Exponent of ``invscaling``: eta0 / t**power_t.
    max_iter : int, default=1000
        Maximum number of epochs (gradient methods) or Newton iterations.
    tol : float or None, default=1e-3
        Gradient methods: stop when the training log-loss (validation accuracy with
        ``early_stopping``) has not improved by ``tol`` for ``n_iter_no_change`` epochs;
        ``None`` runs ``max_iter`` epochs with no host synchronisation per epoch.
        ``"newton"``: stop once max |gradient of the objective| <= ``tol`` (scikit-learn's
        ``tol`` for lbfgs) and the Newton decrement ½·gᵀH⁻¹g (the predicted distance to
        the minimum of the objective) <= ``tol``²; the Newton step computed there is still
        taken (Newton converges quadratically there). ``None``: iterate until no step
        decreases the objective at the working precision.
    n_iter_no_change : int, default=5
        Epochs without improvement before stopping (or, for ``adaptive``, dividing eta by 5).
    early_stopping : bool, default=False
        Gradient methods: hold out ``validation_fraction`` of the data and stop on its
        accuracy (scikit-learn ``SGDClassifier``'s rule; the split is not stratified).
    validation_fraction : float, default=0.1
        Share of the data held out for early stopping, in (0, 1).
    shuffle : bool, default=True
        Shuffle the samples every epoch (``sgd``, ``minibatch``).
    random_state : int, Generator or None, default=None
        Seeds the NumPy ``Generator`` that draws every permutation (and Newton's subsample)
        on the host: the same seed gives the same path on every backend.
    warm_start : bool, default=False
        Start from the previous ``coef_`` and ``intercept_`` (same classes and features).
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
        Keep ``coef_`` and ``intercept_`` after every epoch / Newton iteration in ``path_``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels, sorted (NumPy, any type: ints, strings, bools).
    coef_ : array of shape (1, n_features) or (n_classes, n_features)
        On the backend's device, in its namespace.
    intercept_ : array of shape (1,) or (n_classes,)
    loss_history_ : ndarray of shape (n_iter_,)
        Training mean log-loss (weighted, without the penalty) after each epoch or Newton
        iteration (NumPy). A Newton fit that made no step holds the loss at its start.
    n_iter_ : int
        Epochs or Newton iterations on the full data (the subsample's are not counted).
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
    path_ : list of (coef, intercept)
        With ``record_path=True``: the parameters after each epoch / iteration (NumPy).

    Notes
    -----
    There is no ``solver`` parameter: ``method`` chooses the algorithm. ``predict`` returns
    labels in the input's library where they are numbers; string labels come back as NumPy.
    ``score`` and ``partial_fit`` refuse labels that are not in ``classes_``.
    """

    def __init__(
        self,
        method: str = "newton",
        *,
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
        self._method = canonical_method(self.method, LOGISTIC_METHODS, "logistic")
        super()._check_params()

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LogisticRegression:
        """Fit the model.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            NumPy, pandas, list, or an array of any supported library.
        y : array of shape (n_samples,)
            Labels of any type (at least two distinct ones).
        sample_weight : array of shape (n_samples,), optional
            Non-negative weights; at least two classes need a positive total weight.

        Returns
        -------
        self
        """
        self._check_params()
        if dask_path.wanted(self, X):  # Dask hook: groundup/_dask.py
            return dask_path.fit_logistic(self, X, y, sample_weight)
        data, y_host = prepare_fit(self, X, y, sample_weight, y_kind="classification")
        classes, codes = _encode_labels(y_host)
        be = data.backend
        sw_host = None if data.sample_weight is None else be.to_numpy(data.sample_weight)
        freq = _class_weights(classes, codes, sw_host)
        d = data.X.shape[1]
        warm = (
            self.warm_start
            and hasattr(self, "coef_")
            and np.array_equal(self.classes_, classes)
            and tuple(self.coef_.shape) == (_n_outputs(classes), d)
        )
        self.classes_ = classes
        self._remember_backend(be)
        data = FitData(data.X, _targets(codes, classes, be, data.X), data.sample_weight, be)
        start = self._timer_start()
        with be.quiet_floating_point():
            if self._method in GRADIENT:
                self._fit_gradient(
                    data, max_iter=self.max_iter, tol=self.tol, warm=warm, t0=1, final=True
                )
            else:
                self._fit_newton(data, freq, warm=warm)
        self._finish_timing(start, be, self.coef_, self.intercept_)
        return self

    def _has_partial_fit(self) -> bool:
        try:
            return canonical_method(self.method, LOGISTIC_METHODS, "logistic") in GRADIENT
        except (TypeError, ValueError):
            return False

    @available_if(_has_partial_fit)
    def partial_fit(
        self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None
    ) -> LogisticRegression:
        """One epoch of the gradient method over ``X``, continuing from the current state.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        y : array of shape (n_samples,)
        classes : array of shape (n_classes,), optional
            Every label ``y`` can take. Required on the first call (as scikit-learn's),
            optional later (it must then equal ``classes_``).
        sample_weight : array of shape (n_samples,), optional

        Returns
        -------
        self
        """
        self._check_params()
        if dask_path.wanted(self, X, partial=True):  # Dask hook: groundup/_dask.py
            return dask_path.fit_logistic(self, X, y, sample_weight, partial=True, classes=classes)
        known, first = self._partial_classes(classes)
        if first:
            data, y_host = prepare_fit(self, X, y, sample_weight, y_kind="classification")
        else:
            be = self._model_backend()
            data, y_host = prepare_fit(
                self, X, y, sample_weight, reset=False, y_kind="classification", backend=be
            )
        codes = _known_codes(y_host, known)
        be = data.backend
        if first:
            self.classes_ = known
            self._remember_backend(be)
        data = FitData(data.X, _targets(codes, known, be, data.X), data.sample_weight, be)
        start = self._timer_start()
        old_hist = None if first else self.loss_history_
        t0 = 1 if first else int(self.t_)
        with be.quiet_floating_point():
            self._fit_gradient(data, max_iter=1, tol=None, warm=not first, t0=t0, final=False)
        if old_hist is not None:
            self.loss_history_ = np.concatenate([old_hist, self.loss_history_])
            self.n_iter_ = len(self.loss_history_)
        self._finish_timing(start, be, self.coef_, self.intercept_)
        return self

    def _partial_classes(self, classes: Any) -> tuple[np.ndarray, bool]:
        """The classes of a ``partial_fit`` call and whether it is the first: ``classes`` is
        required on the first call and must equal ``classes_`` on later ones (or be
        ``None``); two classes at least. Checked before the data (in memory and on Dask)."""
        first = not hasattr(self, "classes_")
        if first:
            if classes is None:
                msg = (
                    "classes must be passed on the first call to partial_fit: every label y "
                    "can take, e.g. classes=np.unique(y_all)."
                )
                raise ValueError(msg)
            known = _unique_labels(classes)
        else:
            known = self.classes_
            if classes is not None and not np.array_equal(_unique_labels(classes), known):
                msg = (
                    f"classes={list(_unique_labels(classes))} differs from the classes of the "
                    f"earlier calls, {list(known)}; pass the same classes (or none)."
                )
                raise ValueError(msg)
        if len(known) < 2:
            msg = f"classes={list(known)} has only one class; logistic regression needs two."
            raise ValueError(msg)
        return known, first

    def _objective(
        self, data: FitData, *, X_val: Array | None = None, y_val: Array | None = None
    ) -> lk.BinaryLogLoss | lk.MultinomialLogLoss:
        if dask_path.is_dask(data.X):  # Dask hook: one tree reduction per pass over X
            return dask_path.log_loss(self, data, X_val=X_val, y_val=y_val)
        k = len(self.classes_)
        cls = lk.BinaryLogLoss if k == 2 else lk.MultinomialLogLoss
        return cls(
            data.X,
            data.y,
            data.sample_weight,
            X_val=X_val,
            y_val=y_val,
            fit_intercept=self.fit_intercept,
            n_classes=k,
            chunk_rows=data.backend.chunk_rows(data.X.shape[1] * _n_outputs(self.classes_)),
            xp=data.backend.xp,
        )

    def _start(self, data: FitData, warm: bool) -> tuple[Array, Array]:
        """Starting ``W`` (n_features, k) and ``b`` (k,): zeros, or the previous fit."""
        be, xp = data.backend, data.backend.xp
        d, k = data.X.shape[1], _n_outputs(self.classes_)
        dt = data.X.dtype
        if warm:
            W = be.asarray(self._host(self.coef_).T.copy(), dtype=dt)
            b = be.asarray(self._host(self.intercept_), dtype=dt)
            return W, b
        dev = _dev(data.X)
        return xp.zeros((d, k), dtype=dt, device=dev), xp.zeros((k,), dtype=dt, device=dev)

    def _fit_gradient(
        self,
        data: FitData,
        *,
        max_iter: int,
        tol: float | None,
        warm: bool,
        t0: int,
        final: bool,
    ) -> None:
        be, xp = data.backend, data.backend.xp
        rng = np.random.default_rng(self.random_state)
        train, X_val, y_val = self._split(data, rng)
        sw = self._normalised_weights(train.sample_weight, xp=xp)
        train = FitData(train.X, train.y, sw, be)
        objective = self._objective(train, X_val=X_val, y_val=y_val)
        W, b = self._start(train, warm)
        res, history = self._run_descent(
            objective,
            train,
            W,
            b,
            rng=rng,
            max_iter=max_iter,
            tol=tol,
            t_start=t0,
            whole_X=data.X,  # NaN / inf named at its row in the user's X
        )
        self._set_descent_state(
            res, history, objective, be, t0=t0, max_iter=max_iter, tol=tol, final=final
        )

    def _set_descent_state(
        self,
        res: DescentResult,
        history: np.ndarray,
        objective: lk.BinaryLogLoss | lk.MultinomialLogLoss,
        be: Backend,
        *,
        t0: int,
        max_iter: int,
        tol: float | None,
        final: bool,
    ) -> None:
        """The fitted state after ``max_iter`` epochs at most from update ``t0`` (the engine
        in memory, the streamed loop on Dask), then the warning: linearly separable classes
        (a ``final`` fit without a penalty, decided by one more pass of ``objective`` over
        the training rows), else not converged."""
        self.coef_, self.intercept_ = res.W.T, res.b
        self.loss_history_ = history
        self.n_iter_ = res.n_iter
        self.t_ = t0 + res.updates
        self.converged_ = res.converged
        if self.record_path:
            self.path_ = [(be.to_numpy(w).T, be.to_numpy(c)) for w, c in res.path]
        if final and self._penalty_alpha() == 0 and objective.separated(res.W, res.b):
            self._warn_separable(f"{res.n_iter} epoch(s)", stacklevel=5)
        else:
            self._warn_not_converged(res, max_iter, tol)

    def _fit_newton(self, data: FitData, freq: np.ndarray, *, warm: bool) -> None:
        be, xp = data.backend, data.backend.xp
        objective = self._objective(data)
        alpha = self._penalty_alpha()
        settings = lk.NewtonSettings(
            alpha=alpha,
            tol=None if self.tol is None else float(self.tol),
            max_iter=int(self.max_iter),
            stop_if_separated=alpha == 0,
            record_path=self.record_path,
        )
        fallback = None
        if warm:
            W, b = self._start(data, warm=True)
        else:
            W, b, f0 = self._cold_start(data, freq)
            rows = self._subsample(data)
            if rows is not None:
                fallback = (W, b, f0)
                sub_settings = lk.NewtonSettings(
                    alpha=alpha,
                    tol=1e-4 if self.tol is None else min(float(self.tol), 1e-4),
                    max_iter=min(int(self.max_iter), 20),
                    stop_if_separated=alpha == 0,
                )
                sub = lk.newton_start(objective, W, b, rows, settings=sub_settings, xp=xp)
                if not sub.nonfinite:
                    W, b = sub.W, sub.b
        res = lk.newton_solve(objective, W, b, settings=settings, fallback=fallback, xp=xp)
        if res.nonfinite:
            check_finite(data.X, "X", be)
            msg = (
                "Newton's method met a non-finite loss or gradient (overflow with features "
                "of huge magnitude). Scale the features (sklearn.preprocessing.StandardScaler) "
                "or use penalty='l2'."
            )
            raise DivergenceError(msg)
        self.coef_, self.intercept_ = res.W.T, res.b
        history = res.history or [float(objective.newton_pass(res.W, res.b, order=0).loss)]
        self.loss_history_ = np.asarray(history, dtype=np.float64)
        self.n_iter_ = res.n_iter
        self.t_ = res.n_iter + 1
        self.converged_ = res.converged
        if self.record_path:
            self.path_ = [(be.to_numpy(w).T, be.to_numpy(c)) for w, c in res.path]
        if res.separated:
            self._warn_separable(f"{res.n_iter} Newton iteration(s)")
        elif not res.converged and self.tol is not None:
            warnings.warn(
                f"Newton's method did not converge in {res.n_iter} iteration(s) (max_iter="
                f"{self.max_iter}, tol={self.tol}; max |gradient| = {res.grad_max:.3g}). "
                "Increase max_iter, scale the features or use penalty='l2'.",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _cold_start(self, data: FitData, freq: np.ndarray) -> tuple[Array, Array, float]:
        """Zero coefficients and the intercept of the class frequencies, with their loss
        (known without a pass over X: the entropy of the frequencies)."""
        be = data.backend
        W, b = self._start(data, warm=False)
        p = freq / freq.sum()
        if not self.fit_intercept:
            return W, b, math.log(len(p))
        logp = np.log(np.clip(p, 1e-300, None))
        b0 = np.asarray([logp[1] - logp[0]]) if len(p) == 2 else logp - logp.mean()
        b = be.asarray(b0, dtype=data.X.dtype)
        return W, b, float(-np.sum(p * logp))

    def _subsample(self, data: FitData) -> Array | None:
        """Rows for Newton's warm start: 5 % of a large X (at least 50 per parameter)."""
        n, d = data.X.shape
        p = (d + int(self.fit_intercept)) * _n_outputs(self.classes_)
        m = max(n // 20, 50 * p)
        if 4 * m > n:
            return None
        rng = np.random.default_rng(self.random_state)
        return data.backend.asarray(np.sort(rng.choice(n, size=m, replace=False)))

    def _warn_separable(self, spent: str, stacklevel: int = 4) -> None:
        warnings.warn(
            "The classes are linearly separable: without a penalty the log-loss has no "
            "minimum (the coefficients would grow without bound), so the fit stopped at a "
            f"separating solution after {spent}. Pass penalty='l2' (alpha > 0) for finite, "
            "unique coefficients.",
            ConvergenceWarning,
            stacklevel=stacklevel,
        )

    # -- predict ------------------------------------------------------------------------
    def _margins(self, X: Any) -> tuple[Array, Backend, Backend]:
        check_is_fitted(self)
        be = self._model_backend()
        Xd, src = prepare_predict(self, X, be)
        return Xd @ self.coef_.T + self.intercept_, be, src

    def decision_function(self, X: Any) -> Any:
        """Margins ``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)

        Returns
        -------
        array of shape (n_samples,) (two classes: positive for ``classes_[1]``) or
        (n_samples, n_classes), in the input's library.
        """
        Z, be, src = self._margins(X)
        return answer_in(Z[:, 0] if Z.shape[1] == 1 else Z, be, src)

    def predict_proba(self, X: Any) -> Any:
        """Class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)

        Returns
        -------
        array of shape (n_samples, n_classes), in the input's library.
        """
        Z, be, src = self._margins(X)
        xp = be.xp
        if Z.shape[1] == 1:
            z = Z[:, 0]
            P = xp.stack([lk.sigmoid(-z, xp=xp), lk.sigmoid(z, xp=xp)], axis=1)
        else:
            P = lk.softmax(Z, xp=xp)
        return answer_in(P, be, src)

    def predict_log_proba(self, X: Any) -> Any:
        """Logarithm of :meth:`predict_proba`, computed without underflow.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)

        Returns
        -------
        array of shape (n_samples, n_classes), in the input's library.
        """
        Z, be, src = self._margins(X)
        xp = be.xp
        if Z.shape[1] == 1:
            z = Z[:, 0]
            L = xp.stack([lk.log_sigmoid(-z, xp=xp), lk.log_sigmoid(z, xp=xp)], axis=1)
        else:
            L = lk.log_softmax(Z, xp=xp)
        return answer_in(L, be, src)

    def _predict_codes(self, X: Any) -> tuple[Array, Backend, Backend]:
        Z, be, src = self._margins(X)
        xp = be.xp
        if Z.shape[1] == 1:
            return xp.astype(Z[:, 0] > 0, xp.int32), be, src
        return xp.astype(xp.argmax(Z, axis=1), xp.int32), be, src

    def predict(self, X: Any) -> Any:
        """Predicted labels.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)

        Returns
        -------
        array of shape (n_samples,)
            Labels from ``classes_``: in the input's library and device when they are
            numbers or booleans, a NumPy array otherwise (strings cannot live on a device).
        """
        codes, be, src = self._predict_codes(X)
        classes = self.classes_
        if src.name == "numpy" or classes.dtype.kind not in "biuf":
            return classes[be.to_numpy(codes)]
        if classes.dtype.kind == "f" and not src.has_float64():
            classes = classes.astype(np.float32)
        labels = src.asarray(classes)
        return src.xp.take(labels, answer_in(codes, be, src), axis=0)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Accuracy of :meth:`predict`, computed on the model's backend.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        y : array of shape (n_samples,)
            True labels; every one must be in ``classes_``.
        sample_weight : array of shape (n_samples,), optional

        Returns
        -------
        float
        """
        codes, be, _ = self._predict_codes(X)
        y_host = np.ravel(_host_array(y))
        if y_host.shape[0] != codes.shape[0]:
            msg = (
                f"Found input variables with inconsistent numbers of samples: "
                f"[{codes.shape[0]}, {y_host.shape[0]}]"
            )
            raise ValueError(msg)
        truth = be.asarray(_codes_of(y_host, self.classes_).astype(np.int32))
        sw = None
        if sample_weight is not None:
            sw = be.asarray(np.ravel(_host_array(sample_weight)).astype(np.float64))
            sw = be.xp.astype(sw, self.coef_.dtype)
        return float(ck.accuracy(truth, codes, sample_weight=sw, xp=be.xp))

    def __sklearn_tags__(self):  # noqa: ANN204 - scikit-learn's Tags
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


# -- labels ---------------------------------------------------------------------------------
def _host_array(a: Any) -> np.ndarray:
    if backends.is_host_input(a):
        return np.asarray(a)
    return backends.from_array(a).to_numpy(a)


def _unique_labels(labels: Any) -> np.ndarray:
    return np.unique(np.ravel(_host_array(labels)))


def _encode_labels(y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Sorted classes and integer codes of host labels; at least two classes."""
    y = np.ravel(np.asarray(y))
    check_classification_targets(y)
    classes = np.unique(y)
    if classes.shape[0] < 2:
        msg = (
            f"Classifier can't train when only one class is present: y holds only the "
            f"class {classes[0]!r}, but logistic regression needs samples of at least two "
            "classes."
        )
        raise ValueError(msg)
    return classes, np.searchsorted(classes, y)


def _codes_of(y: Any, classes: np.ndarray) -> np.ndarray:
    """Codes of ``y`` in the known ``classes``; labels never seen are an error."""
    y = np.ravel(np.asarray(y))
    try:
        idx = np.clip(np.searchsorted(classes, y), 0, len(classes) - 1)
        known = classes[idx] == y
    except TypeError:  # labels of another type than the classes
        idx, known = None, np.zeros(y.shape, dtype=bool)
    if not np.all(known):
        unseen = list(dict.fromkeys(y[~np.asarray(known, dtype=bool)].tolist()))
        msg = (
            f"y contains label(s) never seen in fit: {unseen[:5]}; the model knows "
            f"classes_={classes.tolist()}. Refit with all the classes."
        )
        raise ValueError(msg)
    return idx


def _known_codes(y: Any, classes: np.ndarray) -> np.ndarray:
    """``partial_fit``'s labels: scikit-learn's target check, then their codes in the known
    ``classes`` (labels outside them are an error). Dask passes the distinct labels."""
    check_classification_targets(y)
    return _codes_of(y, classes)


def _class_weights(classes: np.ndarray, codes: np.ndarray, sw: np.ndarray | None) -> np.ndarray:
    """Total (weighted) count of each class; two classes need a positive weight."""
    totals = np.bincount(codes, weights=sw, minlength=len(classes)).astype(np.float64)
    present = totals > 0
    if present.sum() < 2:
        msg = (
            f"Only the class {classes[present].tolist()} has a positive sample_weight; "
            "logistic regression needs samples of at least two classes with positive weight."
        )
        raise ValueError(msg)
    return totals


def _n_outputs(classes: np.ndarray) -> int:
    return 1 if len(classes) == 2 else len(classes)


def _targets(codes: np.ndarray, classes: np.ndarray, be: Backend, X: Array) -> Array:
    """Binary: 0/1 in X's dtype; multinomial: int32 class codes. Encoded on the host."""
    if len(classes) == 2:
        return be.asarray((codes == 1).astype(np.float64), dtype=X.dtype)
    return be.asarray(codes.astype(np.int32))


def _dev(x: Array) -> Any:
    from array_api_compat import device

    return device(x)
