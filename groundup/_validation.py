"""Input validation at the door: the parameters (names, aliases, ranges), then the data
(scikit-learn's checks for host input, the same checks and messages for other libraries'
arrays) and its move to the backend's device."""

from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.exceptions import DataConversionWarning
from sklearn.utils.validation import _check_sample_weight, validate_data

from groundup import backends
from groundup._typing import Array
from groundup.backends import Backend
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

#: name -> (low, high, low allowed, high allowed, the range in words)
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
    """Every parameter's type and range, checked at fit time (scikit-learn's rule)."""
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


FLOAT_NAMES = ("float32", "float64")


@dataclass
class FitData:
    """Validated training data on the backend's device."""

    X: Array
    y: Array
    sample_weight: Array | None
    backend: Backend


def choose_dtype(backend: Backend, X: Any, requested: Any) -> str:
    """Floating X keeps its dtype, other X becomes float64 where the device has it (else
    float32); ``dtype=`` overrides."""
    if requested is not None:
        name = np.dtype(requested).name if not isinstance(requested, str) else requested
        if name not in FLOAT_NAMES:
            msg = f"dtype={requested!r} is not supported; use 'float32' or 'float64'."
            raise ValueError(msg)
    elif getattr(X, "dtype", None) is not None and (
        getattr(X.dtype, "kind", None) == "f" or "float" in str(X.dtype)
    ):
        name = str(X.dtype).rsplit(".", 1)[-1]  # torch.float32 -> float32
        if name not in FLOAT_NAMES:  # float16 and friends
            name = "float64"
    elif (
        getattr(X, "dtype", None) is None
        and getattr(X, "dtypes", None) is not None
        and all(getattr(d, "kind", None) == "f" for d in X.dtypes)
    ):
        name = "float64"  # a pandas DataFrame of floats
    else:
        name = "float64" if backend.has_float64() else "float32"
    if name == "float64" and not backend.has_float64():
        msg = (
            f"The {backend.name} backend on {backend.device_name} has no float64 support "
            "(MPS has none; JAX has it only with JAX_ENABLE_X64=1); pass dtype='float32' "
            "or cast X to float32."
        )
        raise ValueError(msg)
    return name


def locate_nonfinite(a: Array, /, *, xp: Any) -> tuple[int, list[tuple[int, ...]]]:
    """How many entries of ``a`` are NaN or inf, and the indices of up to the first three."""
    bad = ~xp.isfinite(a)
    count = int(xp.count_nonzero(bad))
    if count == 0:
        return 0, []
    flat = xp.reshape(bad, (-1,))
    idx = xp.nonzero(flat)[0][: min(3, count)]
    cols = a.shape[1] if a.ndim == 2 else None
    return count, [divmod(int(k), cols) if cols else (int(k),) for k in idx]


def nonfinite_message(
    name: str,
    count: int,
    first: list[tuple[tuple[int, ...], Any]],
    fix: str = "Remove or impute them (e.g. sklearn.impute.SimpleImputer) before fitting.",
) -> str:
    """The error for NaN/inf in input ``name``: how many, and the first few (index, value)."""
    where = ", ".join(
        (f"row {w[0]}, column {w[1]}" if len(w) == 2 else f"index {w[0]}") + f" ({v})"
        for w, v in first
    )
    return f"Input {name} contains NaN or inf: {count} non-finite value(s), first at {where}. {fix}"


def check_finite(a: Array, name: str, backend: Backend) -> None:
    """Raise a ValueError that says how many NaN/inf values ``a`` holds and where."""
    xp = backend.xp
    if bool(xp.all(xp.isfinite(a))):
        return
    count, where = locate_nonfinite(a, xp=xp)
    host = backend.to_numpy(a)
    raise ValueError(nonfinite_message(name, count, [(w, host[w]) for w in where]))


def _host_y_finite(y: Any) -> None:
    """Count and locate NaN/inf in host ``y`` before scikit-learn's terser check does."""
    try:
        arr = np.reshape(np.asarray(y), (-1,))
    except (TypeError, ValueError):
        return
    if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
        count, where = locate_nonfinite(arr, xp=np)
        fix = "Remove those samples or impute the targets before fitting."
        raise ValueError(nonfinite_message("y", count, [(w, arr[w]) for w in where], fix))


def _check_device_input(est: Any, X: Array, y: Array | None, src: Backend, reset: bool) -> None:
    """scikit-learn's checks and messages for arrays that scikit-learn does not validate."""
    xp = src.xp
    if X.ndim == 1:
        msg = (
            f"Expected 2D array, got 1D array instead: shape={tuple(X.shape)}.\n"
            "Reshape your data either using array.reshape(-1, 1) if your data has a single "
            "feature or array.reshape(1, -1) if it contains a single sample."
        )
        raise ValueError(msg)
    if X.ndim != 2:
        msg = f"Found array with dim {X.ndim}. {type(est).__name__} expected <= 2 (X must be 2-D)."
        raise ValueError(msg)
    if xp.isdtype(X.dtype, "complex floating"):
        msg = "Complex data not supported; pass real-valued X."
        raise ValueError(msg)
    if not xp.isdtype(X.dtype, ("real floating", "integral", "bool")):
        msg = f"X has dtype {X.dtype}, which is not numeric; pass real-valued X."
        raise TypeError(msg)
    n, d = X.shape
    for size, what in ((n, "sample"), (d, "feature")):
        if size == 0:
            msg = (
                f"Found array with 0 {what}(s) (shape={tuple(X.shape)}) while a minimum of 1 "
                "is required."
            )
            raise ValueError(msg)
    if y is not None:
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected. Please change the "
                "shape of y to (n_samples,), for example using ravel().",
                DataConversionWarning,
                stacklevel=4,
            )
        elif y.ndim != 1:
            msg = (
                f"y should be a 1d array, got an array of shape {tuple(y.shape)} instead; "
                "groundup fits one target at a time: pass one column of y."
            )
            raise ValueError(msg)
        if y.shape[0] != n:
            msg = f"Found input variables with inconsistent numbers of samples: [{n}, {y.shape[0]}]"
            raise ValueError(msg)
        if backends.from_array(y).xp.isdtype(y.dtype, "complex floating"):
            msg = "Complex data not supported; pass real-valued y."
            raise ValueError(msg)
    if reset:
        est.n_features_in_ = d
        if hasattr(est, "feature_names_in_"):
            del est.feature_names_in_
    elif d != est.n_features_in_:
        msg = (
            f"X has {d} features, but {type(est).__name__} is expecting "
            f"{est.n_features_in_} features as input."
        )
        raise ValueError(msg)


def prepare_fit(
    est: Any,
    X: Any,
    y: Any,
    sample_weight: Any = None,
    *,
    reset: bool = True,
    y_kind: str = "continuous",
    backend: Backend | None = None,
) -> tuple[FitData, Any]:
    """Validate ``X``, ``y`` and ``sample_weight`` and move them to the backend (``backend``:
    a fitted model's); also returns a classifier's ``y`` labels on the host (else None)."""
    src = backends.from_array(X)
    be = backend or src
    if backend is None and (est.backend is not None or est.device is not None):
        be = backends.resolve(src.name if est.backend is None else est.backend, est.device)
    # Class labels (strings too) may stay on the host whatever X's place: they are encoded
    # there. Otherwise X and y come from one library on one device, or both from the host.
    host_labels = y_kind == "classification" and backends.is_host_input(y)
    if y is not None and not host_labels:
        ysrc = backends.from_array(y)
        if not (src.on_host and ysrc.on_host) and not backends.same_place(src, ysrc):
            msg = (
                f"X is a {src.name} array on {src.device_name} but y is a {ysrc.name} array "
                f"on {ysrc.device_name}; pass both from the same library and device (move "
                "one with its library, or pass NumPy data and choose backend= and device=)."
            )
            raise ValueError(msg)
    if be.lazy:  # the estimators send Dask data to groundup.dask before this point
        msg = (
            f"{type(est).__name__}(method={getattr(est, 'method', None)!r}) has no Dask path "
            "for this call; compute the data into memory first (X.compute()) or use "
            "backend='numpy'."
        )
        raise ValueError(msg)
    dtype_name = choose_dtype(be, X, est.dtype)
    dtype = be.dtype(dtype_name)
    continuous = y_kind == "continuous"
    y_host = yd = None
    if src.on_host or src.name != be.name:
        if not src.on_host:  # another library's array, moved through the host
            X = src.to_numpy(X)
            y = src.to_numpy(y) if not backends.is_host_input(y) else y
        if continuous:
            _host_y_finite(y)
        Xh, yh = validate_data(
            est,
            X,
            y,
            reset=reset,
            dtype=[np.float64, np.float32] if est.dtype is None else dtype_name,
            y_numeric=continuous,
            ensure_all_finite=False,
            multi_output=False,
            # rows contiguous: taking rows of a column-major X (a frame's values) copies it all
            order="C",
        )
        Xd = be.asarray(Xh, dtype=dtype)
        if continuous:
            yd = be.asarray(np.asarray(yh, dtype=dtype_name), dtype=dtype)
        else:
            y_host = yh
    else:
        ys = np.asarray(y) if host_labels else y  # one library: be's, on any of its devices
        _check_device_input(est, X, ys, src, reset)
        Xd = be.asarray(X, dtype=dtype)
        if host_labels:
            y_host = np.ravel(ys)
        else:
            ys = be.xp.reshape(ys, (-1,)) if ys.ndim == 2 else ys
            if not continuous:
                y_host = be.to_numpy(ys)
            elif not be.xp.isdtype(ys.dtype, ("real floating", "integral", "bool")):
                msg = f"y has dtype {ys.dtype}, which is not numeric; pass real-valued y."
                raise ValueError(msg)
            else:
                yd = be.asarray(ys, dtype=dtype)
    if yd is not None:
        check_finite(yd, "y", be)
    sw = None
    if sample_weight is not None:
        if not backends.is_host_input(sample_weight):
            sample_weight = backends.to_numpy(sample_weight)
        swh = _check_sample_weight(sample_weight, np.empty((Xd.shape[0], 1)), dtype=np.float64)
        if not np.all(np.isfinite(swh)):
            msg = "sample_weight contains NaN or inf; pass finite, non-negative weights."
            raise ValueError(msg)
        if np.any(swh < 0):
            msg = "Negative values in data passed to sample_weight; weights must be >= 0."
            raise ValueError(msg)
        if swh.sum() <= 0:
            msg = "sample_weight sums to zero; at least one sample needs a positive weight."
            raise ValueError(msg)
        sw = be.asarray(swh.astype(dtype_name), dtype=dtype)
    return FitData(Xd, yd, sw, be), y_host


def prepare_predict(est: Any, X: Any, model: Backend) -> tuple[Array, Backend]:
    """Validate ``X`` for ``predict``: the array on the model's device, and the backend to
    answer in (the input's)."""
    if getattr(est, "_accepts_1d", False) and np.ndim(X) == 1:
        X = one_column(X)
    src = backends.from_array(X)
    if src.on_host:
        dtypes = [np.float64, np.float32]
        X = validate_data(est, X, reset=False, dtype=dtypes, ensure_all_finite=False)
    else:
        _check_device_input(est, X, None, src, reset=False)
    Xd = backends.move(X, model)
    if Xd.dtype != est.coef_.dtype:
        Xd = model.xp.astype(Xd, est.coef_.dtype)
    check_finite(Xd, "X", model)
    return Xd, src


def one_column(x: Any) -> Any:
    """A 1-D ``x`` (simple regression's one feature) as X of shape (n_samples, 1)."""
    if backends.is_host_input(x):
        return np.reshape(np.asarray(x), (-1, 1))
    return backends.from_array(x).xp.reshape(x, (-1, 1))
