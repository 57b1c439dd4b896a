"""Parameter names, aliases and range checks shared by the estimators and ``gu.fit``."""

from __future__ import annotations

import math
import numbers
from typing import Any

from groundup.kernels.optimizers import OPTIMIZERS
from groundup.kernels.schedules import SCHEDULES

LINEAR_METHODS = ("beta", "normal", "batch", "sgd", "minibatch")
LOGISTIC_METHODS = ("batch", "sgd", "minibatch", "newton")
GRADIENT = ("batch", "sgd", "minibatch")
SOLVERS = ("auto", "cholesky", "qr", "svd")
ALIASES = {
    "beta_estimations": "beta",
    "normal_equation": "normal",
    "gradient_descent_batch": "batch",
    "gradient_descent_stochastic": "sgd",
    "gradient_descent_mini_batch": "minibatch",
    "mini_batch": "minibatch",
    "stochastic": "sgd",
    "irls": "newton",
}


def canonical_method(method: Any, valid: tuple[str, ...], model: str) -> str:
    """The method's canonical name, or a ValueError that lists the valid names."""
    if not isinstance(method, str):
        msg = f"method must be a string, got {method!r}; choose one of {list(valid)}."
        raise TypeError(msg)
    key = ALIASES.get(method.lower(), method.lower())
    if key not in valid:
        hint = ""
        if model == "logistic" and key in ("beta", "normal"):
            hint = " Logistic regression has no closed form: use method='newton' (IRLS)."
        if model == "linear" and key == "newton":
            hint = " Newton's method (IRLS) is for logistic regression: model='logistic'."
        names = list(valid) + [a for a, v in ALIASES.items() if v in valid]
        msg = f"Unknown method {method!r} for {model} regression; choose one of {names}.{hint}"
        raise ValueError(msg)
    return key


PENALTIES = (None, "l2", "l1", "elasticnet")

#: The real-valued parameters' ranges: name -> (low, high, low allowed, high allowed, the
#: range in words). ``tol`` and ``t_max`` may also be None, ``eta0`` and ``tol`` "auto".
_REALS: dict[str, tuple[float, float, bool, bool, str]] = {
    "l1_ratio": (0.0, 1.0, True, True, "in [0, 1]"),
    "momentum": (0.0, 1.0, True, False, "in [0, 1)"),
    "rho": (0.0, 1.0, True, False, "in [0, 1)"),
    "beta_1": (0.0, 1.0, True, False, "in [0, 1)"),
    "beta_2": (0.0, 1.0, True, False, "in [0, 1)"),
    "epsilon": (0.0, math.inf, False, True, "> 0"),
    "alpha": (0.0, math.inf, True, True, ">= 0"),
    "eta0": (0.0, math.inf, False, True, "> 0 or 'auto'"),
    "power_t": (-math.inf, math.inf, True, True, "a real number"),
    "tol": (0.0, math.inf, True, True, ">= 0, 'auto' or None"),
    "validation_fraction": (0.0, 1.0, False, False, "in (0, 1)"),
    "decay": (0.0, math.inf, True, True, ">= 0"),
    "drop": (0.0, 1.0, False, True, "in (0, 1]"),
    "epochs_drop": (0.0, math.inf, False, True, "> 0"),
    "eta_min": (0.0, math.inf, True, True, ">= 0"),
    "t_max": (0.0, math.inf, False, True, "> 0 (epochs) or None"),
    "t1": (0.0, math.inf, False, True, "> 0"),
}
AUTO = ("eta0", "tol")  # parameters that may be "auto"
_COUNTS = ("max_iter", "n_iter_no_change", "batch_size")  # integers >= 1
_FLAGS = ("fit_intercept", "shuffle", "early_stopping", "warm_start")
_CHOICES = {"optimizer": OPTIMIZERS, "learning_rate": SCHEDULES, "solver": SOLVERS}


def check_params(est: Any) -> None:
    """Every parameter's type and range, checked at fit time (scikit-learn's rule: the
    constructor stores what it is given); ``est._method`` is the canonical method."""
    if est.penalty not in PENALTIES:
        msg = f"penalty={est.penalty!r} is not supported; choose one of {list(PENALTIES)}."
        raise ValueError(msg)
    if isinstance(est.learning_rate, numbers.Real) and not isinstance(est.learning_rate, bool):
        msg = (
            f"learning_rate={est.learning_rate!r} is a number, but learning_rate names the "
            f"schedule ({list(SCHEDULES)}); the step size is eta0 (eta0={est.learning_rate})."
        )
        raise TypeError(msg)
    for name, valid in _CHOICES.items():
        v = getattr(est, name, "auto")  # solver: LinearRegression's only
        if not isinstance(v, str) or v not in valid:
            msg = f"Unknown {name} {v!r}; choose one of {list(valid)}."
            raise ValueError(msg)
    if est.l1_ratio is None and est.penalty == "elasticnet":
        msg = "l1_ratio=None is for penalties other than 'elasticnet'; give a number in [0, 1]."
        raise ValueError(msg)
    for name, (low, high, low_in, high_in, words) in _REALS.items():
        v = getattr(est, name)
        # None: tol (no check), t_max (max_iter), l1_ratio unused (scikit-learn 1.8's)
        if v is None and name in ("tol", "t_max", "l1_ratio") or name in AUTO and v == "auto":
            continue
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            msg = f"{name} must be a real number, got {v!r} ({type(v).__name__})."
            raise TypeError(msg)
        if not ((v >= low if low_in else v > low) and (v <= high if high_in else v < high)):
            msg = f"{name} must be {words}, got {v}."
            raise ValueError(msg)
    for name in _COUNTS:
        v = getattr(est, name)
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            msg = f"{name} must be an integer >= 1, got {v!r}."
            raise TypeError(msg)
        if v < 1:
            msg = f"{name} must be >= 1, got {v}."
            raise ValueError(msg)
    v = est.precondition
    if not (isinstance(v, bool) or isinstance(v, str) and v == "auto"):
        msg = f"precondition must be 'auto', True or False, got {est.precondition!r}."
        raise ValueError(msg)
    for name in _FLAGS:
        if not isinstance(getattr(est, name), bool):
            msg = f"{name} must be True or False, got {getattr(est, name)!r}."
            raise TypeError(msg)
    if not isinstance(est.average, numbers.Integral) or est.average < 0:  # bools included
        msg = (
            f"average must be True, False or an integer >= 0 (the update from which "
            f"averaging starts), got {est.average!r}."
        )
        raise ValueError(msg)
    if est.penalty in ("l1", "elasticnet") and est.optimizer != "sgd":
        msg = (
            f"penalty={est.penalty!r} is applied by scikit-learn's cumulative L1 truncation "
            f"(sgd, minibatch) or by proximal steps (batch), which need optimizer='sgd'; got "
            f"optimizer={est.optimizer!r}. Use optimizer='sgd', or penalty='l2'."
        )
        raise ValueError(msg)
    if est.learning_rate == "optimal" and est.alpha <= 0:
        msg = "learning_rate='optimal' needs alpha > 0 (eta = 1 / (alpha * (t + t0)))."
        raise ValueError(msg)
