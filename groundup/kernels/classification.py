"""Classification metrics, Array-API (equal to scikit-learn's ``sklearn.metrics``), on
integer class codes 0 .. n_classes-1 (:mod:`groundup.metrics` encodes any labels); results
stay on the labels' device."""

from __future__ import annotations

from array_api_compat import device as _device

from groundup._typing import Array, Namespace
from groundup.kernels.metrics import weighted_mean


def accuracy(
    y_true: Array, y_pred: Array, /, *, sample_weight: Array | None = None, xp: Namespace
) -> Array:
    """Share of exact matches (``sklearn.metrics.accuracy_score``), a float 0-d array."""
    dtype = sample_weight.dtype if sample_weight is not None else _float(y_true, xp=xp)
    return weighted_mean(xp.astype(y_true == y_pred, dtype), sample_weight, xp=xp)


def _float(a: Array, /, *, xp: Namespace) -> object:
    """float64 where the device has it (exact counts up to 2**53), else float32."""
    try:
        xp.zeros((1,), dtype=xp.float64, device=_device(a))
    except Exception:  # noqa: BLE001 - MPS and friends refuse float64
        return xp.float32
    return xp.float64


def confusion_matrix(
    y_true: Array,
    y_pred: Array,
    /,
    *,
    n_classes: int,
    sample_weight: Array | None = None,
    dtype: object = None,
    xp: Namespace,
) -> Array:
    """``C[i, j]``: the (weighted) number of samples of class i predicted as class j, as
    ``onehot(y_true)ᵀ @ onehot(y_pred)`` in ``dtype`` (float64 where the device has it)."""
    dtype = dtype if dtype is not None else _float(y_true, xp=xp)
    classes = xp.arange(n_classes, dtype=y_true.dtype, device=_device(y_true))
    T = xp.astype(xp.reshape(y_true, (-1, 1)) == classes, dtype)
    P = xp.astype(xp.reshape(xp.astype(y_pred, y_true.dtype), (-1, 1)) == classes, dtype)
    if sample_weight is not None:
        T = T * xp.reshape(xp.astype(sample_weight, dtype), (-1, 1))
    return T.T @ P


def _ratio(num: Array, den: Array, zero_division: float, /, *, xp: Namespace) -> Array:
    safe = xp.where(den == 0, xp.ones_like(den), den)
    return xp.where(den == 0, xp.full_like(den, zero_division), num / safe)


def precision_recall_f1(
    cm: Array, /, *, zero_division: float = 0.0, xp: Namespace
) -> tuple[Array, Array, Array]:
    """Per-class precision, recall and F1 (each of shape (n_classes,)) from a confusion
    matrix; a zero denominator gives ``zero_division`` (scikit-learn's value, 0.0)."""
    tp = xp.linalg.diagonal(cm)
    predicted = xp.sum(cm, axis=0)
    actual = xp.sum(cm, axis=1)
    precision = _ratio(tp, predicted, zero_division, xp=xp)
    recall = _ratio(tp, actual, zero_division, xp=xp)
    f1 = _ratio(2.0 * tp, predicted + actual, zero_division, xp=xp)
    return precision, recall, f1


def log_loss(
    y_true: Array, proba: Array, /, *, sample_weight: Array | None = None, xp: Namespace
) -> Array:
    """Mean ``-log p[i, y_i]`` of the class codes ``y_true`` and ``proba`` (n_samples,
    n_classes), ``p`` clipped to [eps, 1 - eps] (scikit-learn's rule)."""
    eps = float(xp.finfo(proba.dtype).eps)
    P = xp.clip(proba, min=eps, max=1.0 - eps)
    classes = xp.arange(proba.shape[1], dtype=y_true.dtype, device=_device(y_true))
    Y = xp.astype(xp.reshape(y_true, (-1, 1)) == classes, proba.dtype)
    loss = -xp.sum(Y * xp.log(P), axis=1)
    return weighted_mean(loss, sample_weight, xp=xp)


def roc_auc(
    positive: Array, score: Array, /, *, sample_weight: Array | None = None, xp: Namespace
) -> Array:
    """Area under the ROC curve (``sklearn.metrics.roc_auc_score``) of the bool mask
    ``positive``: the Mann-Whitney form, the (weighted) probability that a positive scores
    above a negative, ties counting one half (two ``searchsorted`` on the sorted negatives)."""
    dtype = score.dtype
    w = xp.ones_like(score) if sample_weight is None else xp.astype(sample_weight, dtype)
    neg_score, neg_w = score[~positive], w[~positive]
    pos_score, pos_w = score[positive], w[positive]
    order = xp.argsort(neg_score)
    neg_sorted = xp.take(neg_score, order)
    zero = xp.zeros((1,), dtype=dtype, device=_device(score))
    cum = xp.concat([zero, xp.cumulative_sum(xp.take(neg_w, order))])
    below = xp.take(cum, xp.searchsorted(neg_sorted, pos_score, side="left"))
    upto = xp.take(cum, xp.searchsorted(neg_sorted, pos_score, side="right"))
    wins = xp.sum(pos_w * (below + 0.5 * (upto - below)))
    return wins / (xp.sum(pos_w) * xp.sum(neg_w))
