"""Parameter names, aliases and range checks shared by the estimators and ``gu.fit``."""

from __future__ import annotations

import numbers
from typing import Any

from groundup.kernels.optimizers import OPTIMIZERS
from groundup.kernels.schedules import SCHEDULES

LINEAR_METHODS = ("beta", "normal", "batch", "sgd", "minibatch")
LOGISTIC_METHODS = ("batch", "sgd", "minibatch", "newton")
CLOSED_FORM = ("beta", "normal", "newton")
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
        names = list(valid) + [a for a, v in ALIASES.items() if v in valid]
        msg = f"Unknown method {method!r} for {model} regression; choose one of {names}.{hint}"
        raise ValueError(msg)
    return key


def _real(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        msg = f"{name} must be a real number, got {value!r} ({type(value).__name__})."
        raise TypeError(msg)
    return float(value)


def _int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        msg = f"{name} must be an integer >= {low}, got {value!r}."
        raise TypeError(msg)
    if value < low:
        msg = f"{name} must be >= {low}, got {value}."
        raise ValueError(msg)
    return int(value)


PENALTIES = (None, "l2", "l1", "elasticnet")


def _unit(name: str, value: Any, *, closed: bool) -> float:
    """A real number in [0, 1) (``closed``: [0, 1])."""
    v = _real(name, value)
    if not (0.0 <= v <= 1.0 if closed else 0.0 <= v < 1.0):
        msg = f"{name} must be in [0, 1{']' if closed else ')'}, got {value!r}."
        raise ValueError(msg)
    return v


def check_average(value: Any) -> int:
    """scikit-learn's ``average``: False/0 (off), True (from the first update) or an int >= 1
    (from that update on); returns the first update averaged, 0 when off."""
    if isinstance(value, bool):
        return int(value)
    if not isinstance(value, numbers.Integral) or value < 0:
        msg = (
            f"average must be True, False or an integer >= 0 (the update from which "
            f"averaging starts), got {value!r}."
        )
        raise ValueError(msg)
    return int(value)


def check_optimizer(est: Any) -> None:
    """The optimiser's name and constants, and the penalties it can apply."""
    if not isinstance(est.optimizer, str) or est.optimizer not in OPTIMIZERS:
        msg = f"Unknown optimizer {est.optimizer!r}; choose one of {list(OPTIMIZERS)}."
        raise ValueError(msg)
    _unit("momentum", est.momentum, closed=False)
    _unit("rho", est.rho, closed=False)
    _unit("beta_1", est.beta_1, closed=False)
    _unit("beta_2", est.beta_2, closed=False)
    if _real("epsilon", est.epsilon) <= 0:
        msg = f"epsilon must be > 0, got {est.epsilon!r}."
        raise ValueError(msg)
    if est.penalty in ("l1", "elasticnet") and est.optimizer != "sgd":
        msg = (
            f"penalty={est.penalty!r} is applied by scikit-learn's cumulative L1 truncation "
            f"(sgd, minibatch) or by proximal steps (batch), which need optimizer='sgd'; got "
            f"optimizer={est.optimizer!r}. Use optimizer='sgd', or penalty='l2'."
        )
        raise ValueError(msg)


def check_common(est: Any) -> None:
    """Range checks for the gradient-descent and shared parameters (at fit time)."""
    if est.penalty not in PENALTIES:
        msg = f"penalty={est.penalty!r} is not supported; choose one of {list(PENALTIES)}."
        raise ValueError(msg)
    if est.l1_ratio is None and est.penalty == "elasticnet":
        msg = "l1_ratio=None is for penalties other than 'elasticnet'; give a number in [0, 1]."
        raise ValueError(msg)
    if est.l1_ratio is not None:  # None: unused (scikit-learn 1.8's, penalty not elasticnet)
        _unit("l1_ratio", est.l1_ratio, closed=True)
    check_optimizer(est)
    check_average(est.average)
    if _real("alpha", est.alpha) < 0:
        msg = f"alpha must be >= 0, got {est.alpha}."
        raise ValueError(msg)
    if isinstance(est.learning_rate, numbers.Real) and not isinstance(est.learning_rate, bool):
        msg = (
            f"learning_rate={est.learning_rate!r} is a number, but learning_rate names the "
            f"schedule ({list(SCHEDULES)}); the step size is eta0 (eta0={est.learning_rate})."
        )
        raise TypeError(msg)
    if est.learning_rate not in SCHEDULES:
        msg = f"Unknown learning_rate {est.learning_rate!r}; choose one of {list(SCHEDULES)}."
        raise ValueError(msg)
    if not (isinstance(est.eta0, str) and est.eta0 == "auto") and _real("eta0", est.eta0) <= 0:
        msg = f"eta0 must be > 0 or 'auto', got {est.eta0}."
        raise ValueError(msg)
    _real("power_t", est.power_t)
    _int("max_iter", est.max_iter, 1)
    if est.tol is not None and _real("tol", est.tol) < 0:
        msg = f"tol must be >= 0 or None, got {est.tol}."
        raise ValueError(msg)
    _int("n_iter_no_change", est.n_iter_no_change, 1)
    _int("batch_size", est.batch_size, 1)
    vf = _real("validation_fraction", est.validation_fraction)
    if not 0.0 < vf < 1.0:
        msg = f"validation_fraction must be in (0, 1), got {vf}."
        raise ValueError(msg)
    if est.learning_rate == "optimal" and est.alpha <= 0:
        msg = "learning_rate='optimal' needs alpha > 0 (eta = 1 / (alpha * (t + t0)))."
        raise ValueError(msg)
    if _real("decay", est.decay) < 0:
        msg = f"decay must be >= 0, got {est.decay}."
        raise ValueError(msg)
    if not 0.0 < _real("drop", est.drop) <= 1.0:
        msg = f"drop must be in (0, 1], got {est.drop}."
        raise ValueError(msg)
    if _real("epochs_drop", est.epochs_drop) <= 0:
        msg = f"epochs_drop must be > 0, got {est.epochs_drop}."
        raise ValueError(msg)
    if _real("eta_min", est.eta_min) < 0:
        msg = f"eta_min must be >= 0, got {est.eta_min}."
        raise ValueError(msg)
    if est.t_max is not None and _real("t_max", est.t_max) <= 0:
        msg = f"t_max must be > 0 (epochs) or None, got {est.t_max}."
        raise ValueError(msg)
    if _real("t1", est.t1) <= 0:
        msg = f"t1 must be > 0, got {est.t1}."
        raise ValueError(msg)
    for flag in ("fit_intercept", "shuffle", "early_stopping", "warm_start"):
        if not isinstance(getattr(est, flag), bool):
            msg = f"{flag} must be True or False, got {getattr(est, flag)!r}."
            raise TypeError(msg)
