"""``gu.diagnose``: checks the options, the model and ``y``, moves ``X`` to the model's backend
and device, and hands over to the linear or the logistic report."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from groundup import backends
from groundup._validation import prepare_predict
from groundup.diagnostics.linear import linear_report
from groundup.diagnostics.logistic import logit_report
from groundup.diagnostics.report import DiagnosticReport
from groundup.kernels import diagnostics as K

__all__ = ["COV_TYPES", "GQ_ALTERNATIVES", "diagnose"]

COV_TYPES = ("nonrobust", *K.HC_TYPES)
GQ_ALTERNATIVES = ("increasing", "decreasing", "two-sided")


def _not_a(value: Any, kind: type) -> bool:
    """Whether ``value`` is not a ``kind`` (``numbers.Real``, ...); a bool is no number here."""
    return isinstance(value, bool) or not isinstance(value, kind)


def _check_options(
    alpha: Any, cov_type: Any, use_t: Any, bg_nlags: Any, reset_power: Any,
    gq_drop: Any, gq_alternative: Any,
) -> str:  # fmt: skip
    if _not_a(alpha, numbers.Real) or not 0 < alpha < 1:
        msg = f"alpha must be a significance level in (0, 1), got {alpha!r} (e.g. alpha=0.05)."
        raise ValueError(msg)
    names = {c.lower(): c for c in COV_TYPES}
    if not isinstance(cov_type, str) or cov_type.lower() not in names:
        msg = f"Unknown cov_type {cov_type!r}; choose one of {list(COV_TYPES)}."
        raise ValueError(msg)
    if use_t is not None and not isinstance(use_t, bool):
        msg = f"use_t must be True, False or None, got {use_t!r}."
        raise TypeError(msg)
    if bg_nlags is not None and (_not_a(bg_nlags, numbers.Integral) or bg_nlags < 1):
        msg = f"bg_nlags must be a positive integer or None, got {bg_nlags!r}."
        raise ValueError(msg)
    if _not_a(reset_power, numbers.Integral) or reset_power < 2:
        msg = f"reset_power must be an integer >= 2, got {reset_power!r}."
        raise ValueError(msg)
    if gq_drop is not None and (_not_a(gq_drop, numbers.Real) or gq_drop < 0):
        msg = f"gq_drop must be None, a fraction in (0, 1) or a number of samples, got {gq_drop!r}."
        raise ValueError(msg)
    if gq_alternative not in GQ_ALTERNATIVES:
        msg = f"Unknown gq_alternative {gq_alternative!r}; choose one of {list(GQ_ALTERNATIVES)}."
        raise ValueError(msg)
    return names[cov_type.lower()]


def _model_kind(model: Any) -> str:
    if isinstance(model, type) or not hasattr(model, "fit") or not hasattr(model, "predict"):
        msg = (
            f"diagnose needs a fitted estimator (gu.LinearRegression or gu.LogisticRegression), "
            f"got {type(model).__name__}."
        )
        raise TypeError(msg)
    check_is_fitted(model)
    coef = getattr(model, "coef_", None)
    if coef is None or not hasattr(model, "intercept_"):
        msg = (
            f"{type(model).__name__} is not a linear model (it has no coef_ / intercept_); "
            "diagnose explains linear and logistic regressions: fit gu.LinearRegression or "
            "gu.LogisticRegression."
        )
        raise TypeError(msg)
    if hasattr(model, "classes_"):
        return "logistic"
    if len(getattr(coef, "shape", ())) != 1:
        msg = (
            f"{type(model).__name__}.coef_ has shape {tuple(coef.shape)}; diagnose needs one "
            "target (coef_ of shape (n_features,))."
        )
        raise ValueError(msg)
    return "linear"


def _feature_names(model: Any, X: Any, d: int) -> list[str]:
    names = getattr(model, "feature_names_in_", None)
    if names is None and hasattr(X, "columns"):
        names = [str(c) for c in X.columns]
    if names is None or len(names) != d:
        return [f"x{i + 1}" for i in range(d)]
    return [str(c) for c in names]


def _check_target_shape(y: Any, n: int, what: str) -> None:
    """``y`` has one column (a column vector counts) and ``n`` rows."""
    shape = tuple(np.shape(y))
    if len(shape) == 2 and shape[1] == 1:
        shape = shape[:1]
    if len(shape) != 1:
        msg = f"y should be a 1d array{what}, got an array of shape {shape} instead."
        raise ValueError(msg)
    if shape[0] != n:
        msg = f"Found input variables with inconsistent numbers of samples: [{n}, {shape[0]}]"
        raise ValueError(msg)


def diagnose(
    model: Any,
    X: Any,
    y: Any,
    *,
    alpha: float = 0.05,
    cov_type: str = "nonrobust",
    use_t: bool | None = None,
    bg_nlags: int | None = None,
    reset_power: int = 3,
    gq_sort: Any = "fitted",
    gq_drop: float | None = None,
    gq_alternative: str = "two-sided",
) -> DiagnosticReport:
    """Inference, assumption tests, influence and collinearity for a fitted linear model.

    Every number equals statsmodels' (``OLS``, ``het_breuschpagan``, ``het_white``,
    ``het_goldfeldquandt``, ``jarque_bera``, ``omni_normtest``, ``durbin_watson``,
    ``acorr_breusch_godfrey``, ``linear_reset``, ``OLSInfluence``,
    ``variance_inflation_factor``, ``Logit``) and scipy's ``shapiro``, computed on the
    model's backend and device.

    Parameters
    ----------
    model : fitted estimator
        A :class:`~groundup.LinearRegression` fitted by any method (or a scikit-learn linear
        regressor), or a binary logistic regression (``coef_`` of shape (1, n_features),
        ``classes_``). Its ``coef_`` and ``intercept_`` are used as they are; when they are
        not the least-squares optimum of ``X``, ``y`` (a gradient method stopped early, a
        penalty, sample weights: the diagnostics are those of the unweighted fit) the
        report says so and by how much.
    X : array of shape (n_samples, n_features)
        Any supported library; moved to the model's backend and device.
    y : array of shape (n_samples,)
        Targets (linear) or class labels (logistic).
    alpha : float, default=0.05
        Significance level of the verdicts; the confidence intervals are ``1 − alpha``.
    cov_type : {"nonrobust", "HC0", "HC1", "HC2", "HC3"}, default="nonrobust"
        Covariance of the coefficients: classical, or White / MacKinnon-White
        heteroscedasticity-consistent (linear models).
    use_t : bool or None, default=None
        Student's t (True) or the normal distribution (False) for coefficient p-values and
        intervals. ``None`` follows statsmodels' ``OLS.fit``: t for ``"nonrobust"``, normal
        for the HC types (statsmodels' ``get_robustcov_results`` keeps t: pass True).
    bg_nlags : int or None, default=None
        Lags of the Breusch-Godfrey test; ``None``: ``min(10, n_samples // 5)``.
    reset_power : int, default=3
        Highest power of the fitted values in Ramsey's RESET (powers 2..reset_power).
    gq_sort : "fitted", int, str or None, default="fitted"
        Goldfeld-Quandt orders the samples by the fitted values, by a feature (index or
        name) or, with ``None``, keeps the data order (statsmodels' default).
    gq_drop : float or None, default=None
        Samples left out between the two halves (a fraction in (0, 1) or a count).
    gq_alternative : {"two-sided", "increasing", "decreasing"}, default="two-sided"

    Returns
    -------
    DiagnosticReport
        ``summary()``, ``to_frame()``, ``to_dict()``, ``plot()``.

    Raises
    ------
    NotFittedError
        The model is not fitted.
    TypeError
        The model is not a linear or logistic regression.
    ValueError
        Bad input (shape, NaN, a constant feature next to the intercept, collinear
        features, too few samples, a perfect fit); the message names the fix.
    """
    cov_type = _check_options(
        alpha, cov_type, use_t, bg_nlags, reset_power, gq_drop, gq_alternative
    )
    kind = _model_kind(model)
    if hasattr(model, "backend_") and hasattr(model, "_model_backend"):
        be = model._model_backend()
    else:
        be = backends.from_array(model.coef_)
    Xd, _ = prepare_predict(model, X, be)
    names = _feature_names(model, X, Xd.shape[1])
    target = getattr(y, "name", None)
    target = target if isinstance(target, str) and target else "y"
    if kind == "logistic":
        if cov_type != "nonrobust":
            msg = f"cov_type={cov_type!r} applies to linear models; logistic inference is 'nonrobust'."
            raise ValueError(msg)
        _check_target_shape(y, Xd.shape[0], " of class labels")
        return logit_report(model, Xd, y, be, names, alpha=float(alpha), target=target)
    _check_target_shape(y, Xd.shape[0], "")
    opts = {
        "alpha": float(alpha), "cov_type": cov_type, "use_t": use_t, "bg_nlags": bg_nlags,
        "reset_power": int(reset_power), "gq_sort": gq_sort, "gq_drop": gq_drop,
        "gq_alternative": gq_alternative,
    }  # fmt: skip
    return linear_report(model, Xd, y, be, names, target, opts)
