"""Public metrics (``gu.metrics.rmse(y_true, y_pred)``) on arrays of any supported library: the
Array-API kernels of :mod:`groundup.kernels.metrics` and ``classification``, a float out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from groundup import backends
from groundup.kernels import classification as _c
from groundup.kernels import metrics as _k

__all__ = [
    "accuracy",
    "adjusted_r2",
    "confusion_matrix",
    "f1",
    "log_loss",
    "mae",
    "median_ae",
    "mse",
    "precision",
    "r2",
    "recall",
    "rmse",
    "roc_auc",
]


def _on(v: Any, be: Any, host_dtype: Any = None, *, flat: bool = True) -> Any:
    """``v`` (any library) as an array of ``be``; host data through NumPy in ``host_dtype``,
    the rest as it is when it lives there already; ``flat``: reshaped to 1-D."""
    if backends.is_host_input(v):
        v = np.asarray(v, dtype=host_dtype)
    arr = backends.move(v, be)
    return be.xp.reshape(arr, (-1,)) if flat else arr


def _prepare(y_true: Any, y_pred: Any, sample_weight: Any = None) -> tuple[Any, ...]:
    a, b = backends.from_array(y_true), backends.from_array(y_pred)
    be = b if a.on_host else a  # compute where the device data live
    yt, yp = _on(y_true, be, np.float64), _on(y_pred, be, np.float64)
    xp = be.xp
    if yt.shape != yp.shape:
        msg = f"y_true and y_pred have different shapes: {tuple(yt.shape)} vs {tuple(yp.shape)}."
        raise ValueError(msg)
    if yt.shape[0] == 0:
        msg = "y_true is empty; metrics need at least one sample."
        raise ValueError(msg)
    if yt.dtype != yp.dtype:
        dt = xp.result_type(yt.dtype, yp.dtype)
        yt, yp = xp.astype(yt, dt), xp.astype(yp, dt)
    sw = None if sample_weight is None else xp.astype(_on(sample_weight, be, np.float64), yt.dtype)
    return yt, yp, sw, xp


def _weighted(kernel: Callable[..., Any], summary: str) -> Callable[..., float]:
    """The public metric of ``kernel`` (``mse``, ``rmse``, ``mae``, ``r2``): one signature."""

    def metric(y_true: Any, y_pred: Any, *, sample_weight: Any = None) -> float:
        yt, yp, sw, xp = _prepare(y_true, y_pred, sample_weight)
        return float(kernel(yt, yp, sample_weight=sw, xp=xp))

    metric.__name__ = metric.__qualname__ = kernel.__name__
    metric.__doc__ = summary
    return metric


mse = _weighted(_k.mse, "Mean squared error (``sklearn.metrics.mean_squared_error``).")
rmse = _weighted(_k.rmse, "Root mean squared error (``sklearn.metrics.root_mean_squared_error``).")
mae = _weighted(_k.mae, "Mean absolute error (``sklearn.metrics.mean_absolute_error``).")
r2 = _weighted(_k.r2, "Coefficient of determination (``sklearn.metrics.r2_score``).")


def fit_scores(y_true: Any, y_pred: Any, y_proba: Any = None) -> dict[str, float]:
    """What a fit's or a benchmark run's table says: R2, RMSE and MAE of a regression's
    predictions; accuracy and log-loss of class labels with their probabilities ``y_proba``."""
    if y_proba is None:
        return {"r2": r2(y_true, y_pred), "rmse": rmse(y_true, y_pred), "mae": mae(y_true, y_pred)}
    return {"accuracy": accuracy(y_true, y_pred), "log_loss": log_loss(y_true, y_proba)}


def median_ae(y_true: Any, y_pred: Any) -> float:
    """Median absolute error (``sklearn.metrics.median_absolute_error``)."""
    yt, yp, _, xp = _prepare(y_true, y_pred)
    return float(_k.median_ae(yt, yp, xp=xp))


def adjusted_r2(
    y_true: Any,
    y_pred: Any,
    *,
    n_features: int | None = None,
    X: Any = None,
    sample_weight: Any = None,
) -> float:
    """Adjusted R², ``1 - (1 - R²) (n - 1) / (n - p - 1)``, with the number of features p
    taken from ``X`` (or given as ``n_features``).

    Parameters
    ----------
    y_true, y_pred : array of shape (n_samples,)
    n_features : int, optional
        Number of predictors p. Required unless ``X`` is given.
    X : array of shape (n_samples, n_features), optional
        The data the predictions came from; p is its number of columns.
    """
    if n_features is None:
        if X is None:
            msg = (
                "adjusted_r2 needs the number of features: pass X=... (the data the "
                "predictions came from) or n_features=..."
            )
            raise TypeError(msg)
        shape = getattr(X, "shape", None) or np.shape(X)
        n_features = 1 if len(shape) == 1 else int(shape[1])
    yt, yp, sw, xp = _prepare(y_true, y_pred, sample_weight)
    n = yt.shape[0]
    if n - n_features - 1 <= 0:
        msg = (
            f"adjusted_r2 needs n_samples > n_features + 1, got n_samples={n} and "
            f"n_features={n_features}; use r2 or more samples."
        )
        raise ValueError(msg)
    r = _k.r2(yt, yp, sample_weight=sw, xp=xp)
    return float(1.0 - (1.0 - r) * (n - 1) / (n - n_features - 1))


def _encode_labels(*ys: Any, labels: Any = None, sample_weight: Any = None) -> tuple[Any, ...]:
    """Labels of any library (strings on the host) as class codes on the backend of the first
    device input (else NumPy): the codes of each, the classes (NumPy), the weights, be, xp."""
    srcs = [backends.from_array(y) for y in ys]
    be = next((s for s in srcs if not s.on_host), srcs[0])
    xp = be.xp
    arrays = [_on(y, be) for y in ys]
    n = arrays[0].shape[0]
    if n == 0:
        msg = "y_true is empty; metrics need at least one sample."
        raise ValueError(msg)
    for a in arrays[1:]:
        if a.shape[0] != n:
            msg = f"Found input variables with inconsistent numbers of samples: [{n}, {a.shape[0]}]"
            raise ValueError(msg)
    classes = xp.unique_values(xp.concat(arrays)) if labels is None else _on(labels, be)
    sorter = xp.argsort(classes)
    codes = []
    for a in arrays:
        pos = xp.searchsorted(xp.take(classes, sorter), a)
        pos = xp.clip(pos, max=classes.shape[0] - 1)
        idx = xp.take(sorter, pos)
        if not bool(xp.all(xp.take(classes, idx) == a)):
            msg = (
                f"y holds labels that are not in labels={be.to_numpy(classes).tolist()}; "
                "pass every label that occurs (or labels=None)."
            )
            raise ValueError(msg)
        codes.append(idx)
    sw = None
    if sample_weight is not None:
        sw = _on(sample_weight, be)
        sw = xp.astype(sw, _c._float(sw, xp=xp))
        if sw.shape[0] != n:
            msg = f"sample_weight has {sw.shape[0]} entries but y_true has {n}."
            raise ValueError(msg)
    return (*codes, be.to_numpy(classes), sw, be, xp)


def accuracy(y_true: Any, y_pred: Any, *, sample_weight: Any = None) -> float:
    """Share of correct predictions (``sklearn.metrics.accuracy_score``); labels of any type."""
    yt, yp, _, sw, _, xp = _encode_labels(y_true, y_pred, sample_weight=sample_weight)
    return float(_c.accuracy(yt, yp, sample_weight=sw, xp=xp))


def confusion_matrix(
    y_true: Any, y_pred: Any, *, labels: Any = None, sample_weight: Any = None
) -> Any:
    """Confusion matrix ``C[i, j]``: samples of class i predicted as j
    (``sklearn.metrics.confusion_matrix``).

    Parameters
    ----------
    y_true, y_pred : array of shape (n_samples,)
        Labels of any type (strings on the host).
    labels : array of shape (n_classes,), optional
        Row/column order; by default the sorted union of the labels. Every label in
        ``y_true`` and ``y_pred`` must be among them.
    sample_weight : array of shape (n_samples,), optional

    Returns
    -------
    array of shape (n_classes, n_classes)
        In the library of the inputs; int64 counts (int32 where the library lacks int64),
        floating with ``sample_weight``.
    """
    yt, yp, classes, sw, be, xp = _encode_labels(
        y_true, y_pred, labels=labels, sample_weight=sample_weight
    )
    cm = _c.confusion_matrix(yt, yp, n_classes=len(classes), sample_weight=sw, xp=xp)
    return cm if sw is not None else xp.astype(cm, yt.dtype)


_AVERAGES = ("binary", "macro")


def _prf(
    y_true: Any, y_pred: Any, average: str, pos_label: Any, sample_weight: Any, zero_division: float
) -> tuple[Any, ...]:
    if average not in _AVERAGES:
        msg = f"average={average!r} is not supported; choose one of {list(_AVERAGES)}."
        raise ValueError(msg)
    yt, yp, classes, sw, _, xp = _encode_labels(y_true, y_pred, sample_weight=sample_weight)
    cm = _c.confusion_matrix(yt, yp, n_classes=len(classes), sample_weight=sw, xp=xp)
    per_class = _c.precision_recall_f1(cm, zero_division=zero_division, xp=xp)
    if average == "macro":
        return tuple(float(xp.mean(v)) for v in per_class)
    if len(classes) > 2:
        msg = (
            f"Target is multiclass ({len(classes)} labels) but average='binary'; pass "
            "average='macro'."
        )
        raise ValueError(msg)
    where = np.flatnonzero(classes == pos_label)
    if where.size == 0:
        if len(classes) == 2:
            msg = f"pos_label={pos_label!r} is not a valid label: it should be one of {classes.tolist()}."
            raise ValueError(msg)
        return (zero_division, zero_division, zero_division)  # pos_label never occurs
    i = int(where[0])
    return tuple(float(v[i]) for v in per_class)


_PRF_PARAMETERS = """
    Parameters
    ----------
    y_true, y_pred : array of shape (n_samples,)
    average : {"binary", "macro"}, default="binary"
        ``"binary"``: of the class ``pos_label``; ``"macro"``: unweighted mean over the
        labels present in ``y_true`` or ``y_pred``.
    pos_label : label, default=1
    sample_weight : array of shape (n_samples,), optional
    zero_division : float, default=0.0
        Value for a class that is never predicted (scikit-learn's value, without its
        warning).
    """


def _prf_score(index: int, name: str, summary: str) -> Callable[..., float]:
    """The public score ``name``: entry ``index`` of :func:`_prf` (precision, recall, F1),
    with the one parameter list and docstring the three share."""

    def score(
        y_true: Any,
        y_pred: Any,
        *,
        average: str = "binary",
        pos_label: Any = 1,
        sample_weight: Any = None,
        zero_division: float = 0.0,
    ) -> float:
        return _prf(y_true, y_pred, average, pos_label, sample_weight, zero_division)[index]

    score.__name__ = score.__qualname__ = name
    score.__doc__ = summary + "\n" + _PRF_PARAMETERS
    return score


precision = _prf_score(
    0, "precision", "Precision tp / (tp + fp) (``sklearn.metrics.precision_score``)."
)
recall = _prf_score(1, "recall", "Recall tp / (tp + fn) (``sklearn.metrics.recall_score``).")
f1 = _prf_score(2, "f1", "F1 = 2 tp / (2 tp + fp + fn) (``sklearn.metrics.f1_score``).")


def _scores(y: Any, be: Any, n: int, sw: Any) -> tuple[Any, Any]:
    """Scores or probabilities on ``be``, floating, of ``n`` rows; ``sw`` in their dtype."""
    arr = _on(y, be, flat=False)
    if arr.shape[0] != n:
        msg = f"Found input variables with inconsistent numbers of samples: [{n}, {arr.shape[0]}]"
        raise ValueError(msg)
    if not be.xp.isdtype(arr.dtype, "real floating"):
        arr = be.xp.astype(arr, _c._float(arr, xp=be.xp))
    return arr, None if sw is None else be.xp.astype(sw, arr.dtype)


def log_loss(y_true: Any, y_proba: Any, *, labels: Any = None, sample_weight: Any = None) -> float:
    """Mean negative log-likelihood (``sklearn.metrics.log_loss``).

    Parameters
    ----------
    y_true : array of shape (n_samples,)
        Labels of any type.
    y_proba : array of shape (n_samples, n_classes) or (n_samples,)
        Probabilities, columns in the order of the sorted labels (``predict_proba``); a
        1-D array is the probability of the greater of two labels.
    labels : array of shape (n_classes,), optional
        All the labels, when ``y_true`` does not show every column's class.
    sample_weight : array of shape (n_samples,), optional
    """
    yt, classes, sw, be, xp = _encode_labels(y_true, labels=labels, sample_weight=sample_weight)
    P, sw = _scores(y_proba, be, yt.shape[0], sw)
    if P.ndim == 1:
        P = xp.stack([1.0 - P, P], axis=1)
    if len(classes) < 2:
        msg = (
            f"y_true holds only the label {classes.tolist()}; pass labels=... with every "
            "class of y_proba's columns."
        )
        raise ValueError(msg)
    if P.shape[1] != len(classes):
        msg = (
            f"y_true and y_proba contain different numbers of classes: {len(classes)} vs "
            f"{P.shape[1]}; pass labels=... with every class (found {classes.tolist()})."
        )
        raise ValueError(msg)
    if bool(xp.any(P < 0)) or bool(xp.any(P > 1)):
        msg = "y_proba holds values outside [0, 1]; pass probabilities (predict_proba)."
        raise ValueError(msg)
    return float(_c.log_loss(yt, P, sample_weight=sw, xp=xp))


def roc_auc(y_true: Any, y_score: Any, *, sample_weight: Any = None) -> float:
    """Area under the ROC curve, binary (``sklearn.metrics.roc_auc_score``).

    Parameters
    ----------
    y_true : array of shape (n_samples,)
        Two distinct labels; the greater one is the positive class.
    y_score : array of shape (n_samples,)
        Scores or probabilities of the positive class (``predict_proba(X)[:, 1]`` or
        ``decision_function(X)``).
    sample_weight : array of shape (n_samples,), optional
    """
    yt, classes, sw, be, xp = _encode_labels(y_true, sample_weight=sample_weight)
    if len(classes) != 2:
        msg = (
            f"roc_auc needs exactly two classes in y_true, found {len(classes)} "
            f"({classes.tolist()[:5]}): ROC AUC is not defined for one class, and this "
            "binary version does not average over more."
        )
        raise ValueError(msg)
    s, sw = _scores(y_score, be, yt.shape[0], sw)
    if s.ndim != 1:
        msg = (
            f"y_score must be 1-D (scores of the class {classes[1]!r}), got shape {tuple(s.shape)}."
        )
        raise ValueError(msg)
    return float(_c.roc_auc(yt == 1, s, sample_weight=sw, xp=xp))
