"""Class labels of any type (ints, strings, bools), checked and encoded on the host in
NumPy: only the codes move to where X is."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.multiclass import check_classification_targets

from groundup import backends


def encode_labels(y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Sorted classes and integer codes of host labels (scikit-learn's target checks); at
    least two classes."""
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


def class_totals(classes: np.ndarray, codes: np.ndarray, sw: np.ndarray | None) -> np.ndarray:
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


def codes_of(y: Any, classes: np.ndarray) -> np.ndarray:
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


def partial_classes(classes: Any, known: np.ndarray | None) -> np.ndarray:
    """The classes of a ``partial_fit`` call: ``classes`` is required on the first call
    (``known`` is ``None``), equal to ``known`` (or ``None``) on later ones."""
    given = None if classes is None else np.unique(np.ravel(backends.to_numpy(classes)))
    if known is None:
        if given is None:
            msg = (
                "classes must be passed on the first call to partial_fit: every label y "
                "can take, e.g. classes=np.unique(y_all)."
            )
            raise ValueError(msg)
        known = given
    elif given is not None and not np.array_equal(given, known):
        msg = (
            f"classes={list(given)} differs from the classes of the "
            f"earlier calls, {list(known)}; pass the same classes (or none)."
        )
        raise ValueError(msg)
    if len(known) < 2:
        msg = f"classes={list(known)} has only one class; logistic regression needs two."
        raise ValueError(msg)
    return known


def n_outputs(classes: np.ndarray) -> int:
    """Columns of W: one for two classes (the second is the positive one), else one each."""
    return 1 if len(classes) == 2 else len(classes)


def class_weights(
    class_weight: Any, classes: np.ndarray, totals: np.ndarray | None
) -> np.ndarray | None:
    """The weight of each class (in the order of ``classes``), or ``None`` without
    ``class_weight``: scikit-learn's ``compute_class_weight`` on the classes' total sample
    weights ``totals`` (``None``: ``partial_fit``, which refuses ``"balanced"``)."""
    if class_weight is None:
        return None
    if isinstance(class_weight, str) and class_weight == "balanced":
        if totals is None:
            msg = (
                "class_weight='balanced' is not supported by partial_fit: one batch does not "
                "show the class frequencies. Compute the weights once with "
                "sklearn.utils.class_weight.compute_class_weight('balanced', classes=classes, "
                "y=y) on (a large sample of) the training targets and pass them as a dict."
            )
            raise ValueError(msg)
        totals = np.asarray(totals, dtype=np.float64)
        with np.errstate(divide="ignore"):
            weights = np.sum(totals) / (len(classes) * totals)
        return np.where(totals > 0, weights, 0.0)
    if not isinstance(class_weight, dict):
        msg = (
            f"class_weight must be None, 'balanced' or a dict {{label: weight}}, got "
            f"{class_weight!r}."
        )
        raise ValueError(msg)
    known = classes.tolist()
    absent = [key for key in class_weight if key not in known]
    if absent:
        msg = (
            f"class_weight names label(s) {absent} that are not classes of y; the classes "
            f"are {known}. Use the labels of y as the keys."
        )
        raise ValueError(msg)
    weights = np.ones(len(classes), dtype=np.float64)
    for i, c in enumerate(known):
        w = class_weight.get(c, 1.0)  # classes it does not name weigh 1
        if isinstance(w, bool) or not np.isscalar(w) or not np.isfinite(w) or w < 0:
            msg = f"class_weight[{c!r}] must be a finite number >= 0, got {w!r}."
            raise ValueError(msg)
        weights[i] = float(w)
    return weights
