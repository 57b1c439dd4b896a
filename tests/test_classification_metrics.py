"""Classification metrics (kernels and ``gu.metrics`` wrappers) against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

import groundup as gu
from groundup import backends
from groundup.kernels import classification as ck


def _labels(n=200, k=3, seed=0):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, k, size=n)
    noise = rng.integers(0, k, size=n)
    y_pred = np.where(rng.random(n) < 0.7, y_true, noise)
    weight = rng.uniform(0.1, 2.0, size=n)
    return y_true, y_pred, weight


def _proba(n=200, k=3, seed=0):
    rng = np.random.default_rng(seed)
    P = rng.random((n, k)) ** 3 + 1e-12
    return P / P.sum(axis=1, keepdims=True)


def _rtol(case) -> float:
    # float64: rounding; float32 scores/probabilities: ~1e-7 relative per term, summed.
    return 1e-10 if case.dtype == "float64" else 1e-5


@pytest.mark.parametrize("weighted", [False, True])
def test_accuracy(case, weighted):
    yt, yp, w = _labels()
    sw = w if weighted else None
    got = gu.metrics.accuracy(
        case.asarray(yt), case.asarray(yp), sample_weight=None if sw is None else case.asarray(sw)
    )
    assert isinstance(got, float)
    np.testing.assert_allclose(got, skm.accuracy_score(yt, yp, sample_weight=sw), rtol=_rtol(case))


@pytest.mark.parametrize("weighted", [False, True])
def test_confusion_matrix(case, weighted):
    yt, yp, w = _labels(k=4)
    sw = case.asarray(w) if weighted else None
    got = gu.metrics.confusion_matrix(case.asarray(yt), case.asarray(yp), sample_weight=sw)
    assert backends.from_array(got).name == case.name
    expected = skm.confusion_matrix(yt, yp, sample_weight=w if weighted else None)
    if weighted:
        np.testing.assert_allclose(case.to_numpy(got), expected, rtol=_rtol(case))
    else:
        np.testing.assert_array_equal(case.to_numpy(got), expected)


def test_confusion_matrix_labels_order_and_strings():
    yt = np.array(["cat", "dog", "dog", "bird", "cat"])
    yp = np.array(["dog", "dog", "cat", "bird", "cat"])
    labels = ["dog", "cat", "bird"]
    np.testing.assert_array_equal(
        gu.metrics.confusion_matrix(yt, yp, labels=labels),
        skm.confusion_matrix(yt, yp, labels=labels),
    )
    with pytest.raises(ValueError, match="not in labels"):
        gu.metrics.confusion_matrix(yt, yp, labels=["dog", "cat"])


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name", ["precision", "recall", "f1"])
def test_precision_recall_f1_macro(case, name, weighted):
    yt, yp, w = _labels(k=4)
    sw = w if weighted else None
    ours = getattr(gu.metrics, name)
    sk = {"precision": skm.precision_score, "recall": skm.recall_score, "f1": skm.f1_score}[name]
    got = ours(
        case.asarray(yt),
        case.asarray(yp),
        average="macro",
        sample_weight=None if sw is None else case.asarray(sw),
    )
    np.testing.assert_allclose(got, sk(yt, yp, average="macro", sample_weight=sw), rtol=_rtol(case))


@pytest.mark.parametrize("name", ["precision", "recall", "f1"])
def test_precision_recall_f1_binary(case, name):
    yt, yp, w = _labels(k=2, seed=3)
    ours = getattr(gu.metrics, name)
    sk = {"precision": skm.precision_score, "recall": skm.recall_score, "f1": skm.f1_score}[name]
    for pos_label in (1, 0):
        got = ours(case.asarray(yt), case.asarray(yp), pos_label=pos_label)
        np.testing.assert_allclose(got, sk(yt, yp, pos_label=pos_label), rtol=_rtol(case))
    got = ours(case.asarray(yt), case.asarray(yp), sample_weight=case.asarray(w))
    np.testing.assert_allclose(got, sk(yt, yp, sample_weight=w), rtol=_rtol(case))


def test_zero_division_and_string_labels():
    yt = np.array(["a", "a", "b", "c"])
    yp = np.array(["a", "a", "a", "c"])  # "b" is never predicted: its precision is 0/0
    with pytest.warns(skm._classification.UndefinedMetricWarning):
        expected = skm.precision_score(yt, yp, average="macro")
    assert gu.metrics.precision(yt, yp, average="macro") == pytest.approx(expected)
    assert gu.metrics.f1(yt == "a", yp == "a", pos_label=True) == pytest.approx(
        skm.f1_score(yt == "a", yp == "a")
    )


def test_binary_average_errors():
    yt, yp, _ = _labels(k=3)
    with pytest.raises(ValueError, match="average='macro'"):
        gu.metrics.precision(yt, yp)
    with pytest.raises(ValueError, match="pos_label=5 is not a valid label"):
        gu.metrics.recall(yt % 2, yp % 2, pos_label=5)
    with pytest.raises(ValueError, match="average='micro' is not supported"):
        gu.metrics.f1(yt, yp, average="micro")


@pytest.mark.parametrize("weighted", [False, True])
def test_log_loss(case, weighted):
    yt, _, w = _labels(k=3)
    P = _proba(k=3)
    sw = w if weighted else None
    got = gu.metrics.log_loss(
        case.asarray(yt), case.asarray(P), sample_weight=None if sw is None else case.asarray(sw)
    )
    expected = skm.log_loss(yt, P, sample_weight=sw)
    np.testing.assert_allclose(got, expected, rtol=_rtol(case))


def test_log_loss_binary_1d_labels_and_clipping(case):
    yt, _, _ = _labels(k=2)
    p = _proba(k=2)[:, 1]
    p[:3] = [0.0, 1.0, 0.5]  # clipped to [eps, 1 - eps] as scikit-learn does
    got = gu.metrics.log_loss(case.asarray(yt), case.asarray(p))
    # float32 clips at its own eps (1.2e-7, -log = 15.9) vs float64's (2.2e-16, 36): compare
    # with scikit-learn given the same dtype.
    expected = skm.log_loss(yt, p.astype(case.dtype))
    np.testing.assert_allclose(got, expected, rtol=1e-5 if case.dtype == "float32" else 1e-10)
    y3 = np.array([0, 2, 2])
    P3 = _proba(n=3, k=3)
    assert gu.metrics.log_loss(y3, P3, labels=[0, 1, 2]) == pytest.approx(
        skm.log_loss(y3, P3, labels=[0, 1, 2])
    )
    with pytest.raises(ValueError, match="different numbers of classes"):
        gu.metrics.log_loss(y3, P3)


@pytest.mark.parametrize("weighted", [False, True])
def test_roc_auc_with_ties(case, weighted):
    rng = np.random.default_rng(0)
    yt = rng.integers(0, 2, size=300)
    score = np.round(yt * 0.4 + rng.random(300), 1)  # many ties
    w = rng.uniform(0.1, 2.0, size=300) if weighted else None
    got = gu.metrics.roc_auc(
        case.asarray(yt), case.asarray(score), sample_weight=None if w is None else case.asarray(w)
    )
    expected = skm.roc_auc_score(yt, score.astype(case.dtype), sample_weight=w)
    np.testing.assert_allclose(got, expected, rtol=_rtol(case))


def test_roc_auc_labels_and_errors():
    yt = np.array(["no", "yes", "yes", "no", "yes"])
    s = np.array([0.1, 0.8, 0.3, 0.4, 0.9])
    assert gu.metrics.roc_auc(yt, s) == pytest.approx(skm.roc_auc_score(yt == "yes", s))
    with pytest.raises(ValueError, match="exactly two classes"):
        gu.metrics.roc_auc(np.ones(5), s)
    with pytest.raises(ValueError, match="must be 1-D"):
        gu.metrics.roc_auc(yt, np.stack([1 - s, s], axis=1))


def test_inconsistent_lengths():
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        gu.metrics.accuracy([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="empty"):
        gu.metrics.accuracy([], [])


def test_kernels_on_array_api_strict_codes():
    """The kernels take class codes in any namespace; the result stays on it."""
    xps = backends.resolve("array_api_strict")
    yt, yp, w = _labels(k=3)
    t, p, sw = xps.asarray(yt), xps.asarray(yp), xps.asarray(w)
    cm = ck.confusion_matrix(t, p, n_classes=3, sample_weight=sw, xp=xps.xp)
    assert backends.from_array(cm).name == "array_api_strict"
    np.testing.assert_allclose(xps.to_numpy(cm), skm.confusion_matrix(yt, yp, sample_weight=w))
    prec, rec, f1 = ck.precision_recall_f1(cm, xp=xps.xp)
    np.testing.assert_allclose(
        xps.to_numpy(f1), skm.f1_score(yt, yp, average=None, sample_weight=w), rtol=1e-12
    )
