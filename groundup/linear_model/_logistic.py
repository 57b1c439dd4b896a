"""Logistic regression (binary sigmoid and multinomial softmax) on any Array-API backend:
Newton's method (IRLS) or the shared gradient-descent engine."""

from __future__ import annotations

import dataclasses
import functools
import math
import warnings
from typing import Any, ClassVar

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._available_if import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from groundup import backends
from groundup import dask as dask_layer
from groundup._problem import DataSource, TrainingProblem
from groundup._typing import Array
from groundup._validation import GRADIENT, LOGISTIC_METHODS, prepare_predict
from groundup.backends import Backend
from groundup.exceptions import DivergenceError
from groundup.kernels import classification as ck
from groundup.kernels import logistic as lk
from groundup.linear_model._base import (
    SHARED_ATTRIBUTES,
    SHARED_PARAMETERS,
    GroundupEstimator,
    Run,
)
from groundup.linear_model._labels import (
    class_totals,
    class_weights,
    codes_of,
    encode_labels,
    n_outputs,
    partial_classes,
)

__all__ = ["LogisticRegression"]


class LogisticRegression(ClassifierMixin, GroundupEstimator):
    __doc__ = (
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
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into the sample weights (scikit-learn's):
        ``{label: weight}`` (classes not named weigh 1; a label that is not a class is an
        error), or ``"balanced"``: n_samples / (n_classes · count of the class), with the
        counts weighted by ``sample_weight``. Every method; ``partial_fit`` takes a dict
        only. The penalty's scale follows the weights, as scikit-learn's ``C``: ``C = 1 /
        (sum of the combined weights · alpha)``.
"""
        + SHARED_PARAMETERS
        + """
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
"""
        + SHARED_ATTRIBUTES
        + """\
    path_ : list of (coef, intercept)
        With ``record_path=True``: the parameters after each epoch / iteration (NumPy).

    Notes
    -----
    There is no ``solver`` parameter: ``method`` chooses the algorithm. ``predict`` returns
    labels in the input's library where they are numbers; string labels come back as NumPy.
    ``score`` and ``partial_fit`` refuse labels that are not in ``classes_``.
    """
    )

    _model: ClassVar[str] = "logistic"
    _methods: ClassVar[tuple[str, ...]] = LOGISTIC_METHODS

    def __init__(
        self,
        method="newton",
        *,
        class_weight=None,
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
        self.class_weight = class_weight
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

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LogisticRegression:
        """Fit the model.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            NumPy, pandas, list, or an array of any supported library (a Dask array or
            DataFrame fits on Dask: :mod:`groundup.dask`).
        y : array of shape (n_samples,)
            Labels of any type (at least two distinct ones).
        sample_weight : array of shape (n_samples,), optional
            Non-negative weights; at least two classes need a positive total weight.

        Returns
        -------
        self
        """
        self._check_params()
        source = self._source(X, y, sample_weight, reset=True, labels=True, partial=False)
        found, totals = source.labels()
        classes, _ = encode_labels(found)  # scikit-learn's target checks; two classes+
        freq = class_totals(classes, np.arange(len(classes)), totals)
        weights = class_weights(self.class_weight, classes, freq)
        if weights is not None:
            freq = freq * weights
        warm = (
            self.warm_start
            and hasattr(self, "coef_")
            and np.array_equal(self.classes_, classes)
            and tuple(self.coef_.shape) == (n_outputs(classes), source.d)
        )
        self.classes_ = classes
        self._remember_backend(source.backend)
        source = source.encoded(classes, weights)
        with self._fitting(source):
            if self._method in GRADIENT:
                self._fit_gradient(source, Run(self.max_iter, self.tol, warm=warm))
            else:
                self._check_closed_penalty()
                self._fit_newton(source, freq, warm=warm)
        return self

    @available_if(GroundupEstimator._has_partial_fit)
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
        self._check_partial_params()
        first = not hasattr(self, "classes_")
        known = partial_classes(classes, None if first else self.classes_)
        source = self._source(X, y, sample_weight, reset=first, labels=True, partial=True)
        found, _ = source.labels()
        check_classification_targets(found)
        codes_of(found, known)  # labels outside the classes are an error
        weights = class_weights(self.class_weight, known, None)
        self.classes_ = known
        self._partial_fit(source.encoded(known, weights), first)
        return self

    def _coef_of(self, W: Array, b: Array) -> tuple[Array, Array]:
        """``W`` (n_features, k), ``b`` (k,) as ``coef_``, ``intercept_``."""
        return W.T, b

    def _problem(self, source: DataSource, held: np.ndarray | None) -> TrainingProblem:
        return source.log_problem(
            held,
            n_classes=len(self.classes_),
            fit_intercept=self.fit_intercept,
            batch=self._method == "batch",
        )

    def _fit_newton(self, source: DataSource, freq: np.ndarray, *, warm: bool) -> None:
        """Newton's method (IRLS). A cold start is zero coefficients and the intercept of the
        class frequencies ``freq`` (its loss, their entropy, known without a pass over X); on
        large data Newton then starts from the solution on a 5 % subsample, whose optimum
        (error ~ 1/sqrt(rows)) is inside the full problem's quadratic region."""
        xp = source.compute.xp
        objective = source.log_loss(n_classes=len(self.classes_), fit_intercept=self.fit_intercept)
        # tol="auto": max |gradient| <= 1e-4, where the last step lands ~1e-8 from the optimum.
        tol = None if self.tol is None else 1e-4 if self.tol == "auto" else float(self.tol)
        settings = lk.NewtonSettings(
            alpha=self._l2,
            tol=tol,
            max_iter=int(self.max_iter),
            stop_if_separated=self._l2 == 0,
            record_path=self.record_path,
        )
        W, b = self._start(source, warm=warm)
        fallback = None
        if not warm:
            total = float(freq.sum())
            p = freq / total
            f0 = math.log(len(p))
            if self.fit_intercept:
                logp = np.log(np.clip(p, 1e-300, None))
                b0 = np.asarray([logp[1] - logp[0]]) if len(p) == 2 else logp - logp.mean()
                b = source.compute.asarray(b0, dtype=source.dtype)
                f0 = float(-np.sum(p * logp))
            # The subsample: ~5 % of a large X, at least 50 rows per parameter, chosen by their
            # content (the same data as weights or as repeated rows: the same Newton path).
            params = (source.d + int(self.fit_intercept)) * n_outputs(self.classes_)
            m = max(int(total) // 20, 50 * params)
            if 4 * m <= total:
                fallback = (W, b, f0)
                rows = source.content_sample(m / total, seed=self.random_state)
                sub_settings = dataclasses.replace(
                    settings,
                    tol=1e-4 if tol is None else min(tol, 1e-4),
                    max_iter=min(int(self.max_iter), 20),
                    record_path=False,
                )
                sub = lk.newton_solve(objective.subset(rows), W, b, settings=sub_settings, xp=xp)
                if not sub.nonfinite:
                    W, b = sub.W, sub.b
        res = lk.newton_solve(objective, W, b, settings=settings, fallback=fallback, xp=xp)
        if res.nonfinite:
            source.raise_nonfinite()
            msg = (
                "Newton's method met a non-finite loss or gradient (overflow with features "
                "of huge magnitude). Scale the features (sklearn.preprocessing.StandardScaler) "
                "or use penalty='l2'."
            )
            raise DivergenceError(msg)
        self.coef_, self.intercept_ = self._coef_of(res.W, res.b)
        history = res.history or [float(objective.newton_pass(res.W, res.b, order=0).loss)]
        self.loss_history_ = np.asarray(history, dtype=np.float64)
        self.n_iter_, self.t_, self.converged_ = res.n_iter, res.n_iter + 1, res.converged
        self.stop_reason_ = "separable" if res.separated else "tol" if res.converged else "max_iter"
        if self.record_path:
            host = source.compute.to_numpy
            self.path_ = [self._coef_of(host(w), host(c)) for w, c in res.path]
        if res.separated:
            self._warn_separable(f"{res.n_iter} Newton iteration(s)", stacklevel=4)
        elif not res.converged and self.tol is not None:
            warnings.warn(
                f"Newton's method did not converge in {res.n_iter} iteration(s) (max_iter="
                f"{self.max_iter}, tol={self.tol}; max |gradient| = {res.grad_max:.3g}). "
                "Increase max_iter, scale the features or use penalty='l2'.",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _margins(self, X: Any) -> tuple[Array, Backend, Backend]:
        be = self._model_backend()
        Xd, src = prepare_predict(self, X, be)
        return Xd @ self.coef_.T + self.intercept_, be, src

    def _answer(
        self, X: Any, then: Any, *, name: str, columns: int | None, dtype: Any = None
    ) -> Any:
        """``then(margins, backend)`` of ``X`` on the model's backend, in the input's library;
        Dask input lazily, chunk by chunk (a Dask-fitted model answers in-memory input by
        its NumPy copy's method ``name``)."""
        if self._lazy_input(X):
            if not dask_layer.is_dask(X):
                return getattr(self.to("numpy"), name)(X)
            return self._lazy_model().apply(X, then, columns=columns, dtype=dtype)
        Z, be, src = self._margins(X)
        return backends.move(then(Z, be), src)

    def decision_function(self, X: Any) -> Any:
        """Margins ``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)

        Returns
        -------
        array of shape (n_samples,) (two classes: positive for ``classes_[1]``) or
        (n_samples, n_classes), in the input's library (Dask input: a lazy Dask array).
        """
        check_is_fitted(self)
        binary = len(self.classes_) == 2
        return self._answer(
            X,
            lambda Z, be: Z[:, 0] if binary else Z,
            name="decision_function",
            columns=None if binary else len(self.classes_),
        )

    def predict_proba(self, X: Any) -> Any:
        """Class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)

        Returns
        -------
        array of shape (n_samples, n_classes), in the input's library (Dask input: lazy).
        """
        check_is_fitted(self)
        return self._answer(X, _probabilities, name="predict_proba", columns=len(self.classes_))

    def predict_log_proba(self, X: Any) -> Any:
        """Logarithm of :meth:`predict_proba` (same input, same shape of answer), computed
        from the margins with log-sigmoid / log-softmax: no underflow to ``-inf``."""
        check_is_fitted(self)
        return self._answer(
            X,
            functools.partial(_probabilities, log=True),
            name="predict_log_proba",
            columns=len(self.classes_),
        )

    def predict(self, X: Any) -> Any:
        """Predicted labels.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)

        Returns
        -------
        array of shape (n_samples,)
            Labels from ``classes_``: in the input's library and device when they are
            numbers or booleans, a NumPy array otherwise (strings cannot live on a device);
            for Dask input a lazy Dask array of labels.
        """
        check_is_fitted(self)
        classes = self.classes_
        if self._lazy_input(X):
            labels = functools.partial(_labels_of_margins, classes=classes)
            return self._answer(X, labels, name="predict", columns=None, dtype=classes.dtype)
        Z, be, src = self._margins(X)
        codes = _codes(Z, be)
        if src.on_host or classes.dtype.kind not in "biuf":
            return classes[be.to_numpy(codes)]
        if classes.dtype.kind == "f" and not src.has_float64():
            classes = classes.astype(np.float32)
        return src.xp.take(src.asarray(classes), backends.move(codes, src), axis=0)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Accuracy of :meth:`predict` against the true labels ``y`` (every one must be in
        ``classes_``), weighted by ``sample_weight`` if given: a float, computed on the
        model's backend (on Dask input, by Dask)."""
        check_is_fitted(self)
        if self._lazy_input(X):
            if not dask_layer.is_dask(X):
                return self.to("numpy").score(X, y, sample_weight)
            encode = functools.partial(codes_of, classes=self.classes_)
            return self._lazy_model().hits(X, y, sample_weight, _codes, encode)
        Z, be, _ = self._margins(X)
        xp, codes = be.xp, _codes(Z, be)
        y_host = np.ravel(backends.to_numpy(y))
        if y_host.shape[0] != codes.shape[0]:
            msg = (
                f"Found input variables with inconsistent numbers of samples: "
                f"[{codes.shape[0]}, {y_host.shape[0]}]"
            )
            raise ValueError(msg)
        truth = be.asarray(codes_of(y_host, self.classes_).astype(np.int32))
        if sample_weight is not None:
            sample_weight = xp.astype(xp.reshape(backends.move(sample_weight, be), (-1,)), Z.dtype)
        return float(ck.accuracy(truth, codes, sample_weight=sample_weight, xp=xp))


def _probabilities(Z: Array, be: Backend, *, log: bool = False) -> Array:
    """Class probabilities (their logarithms with ``log``) from the margins."""
    xp = be.xp
    if Z.shape[1] == 1:
        z = Z[:, 0]
        f = lk.log_sigmoid if log else lk.sigmoid
        return xp.stack([f(-z, xp=xp), f(z, xp=xp)], axis=1)
    return (lk.log_softmax if log else lk.softmax)(Z, xp=xp)


def _codes(Z: Array, be: Backend) -> Array:
    """The predicted class codes (int32) from the margins."""
    xp = be.xp
    return xp.astype(Z[:, 0] > 0 if Z.shape[1] == 1 else xp.argmax(Z, axis=1), xp.int32)


def _labels_of_margins(Z: Array, be: Backend, *, classes: np.ndarray) -> Array:
    """One Dask chunk's predicted labels: numbers in its library, strings in NumPy."""
    codes = _codes(Z, be)
    if classes.dtype.kind not in "biuf":
        return classes[be.to_numpy(codes)]
    return be.xp.take(be.asarray(classes), codes, axis=0)
