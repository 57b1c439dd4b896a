"""``gu.fit``: build an estimator from keyword parameters and fit it in one call."""

from __future__ import annotations

import difflib
import inspect
from typing import Any

import numpy as np

from groundup._validation import one_column
from groundup.linear_model import estimator_class


def fit(X: Any, y: Any, *, model: str = "linear", sample_weight: Any = None, **params: Any):
    """Build the estimator for ``model`` with ``params`` and fit it.

    Parameters
    ----------
    X : array of shape (n_samples, n_features) or (n_samples,)
        A 1-D ``x`` is simple regression (one feature); the fitted model then also takes a
        1-D ``x`` in ``predict``.
    y : array of shape (n_samples,)
    model : {"linear", "logistic"}, default="linear"
    sample_weight : array of shape (n_samples,), optional
    **params
        Any parameter of :class:`~groundup.LinearRegression` /
        :class:`~groundup.LogisticRegression` (``method``, ``backend``, ``device``,
        ``eta0``, ``learning_rate``, ``max_iter``, ``batch_size``, ``random_state``, ...).

    Returns
    -------
    estimator
        The fitted estimator.

    Raises
    ------
    TypeError
        An unknown keyword (the message lists the valid names).
    """
    cls = estimator_class(model)
    valid = sorted(inspect.signature(cls).parameters)
    unknown = {k: difflib.get_close_matches(k, valid, n=1) for k in params if k not in valid}
    if unknown:
        hints = [f"{k!r} (did you mean {c[0]!r}?)" if c else repr(k) for k, c in unknown.items()]
        msg = (
            f"fit() got unknown parameter(s) {', '.join(hints)} for model={model!r}; "
            f"valid names: {valid} (plus model and sample_weight)."
        )
        raise TypeError(msg)
    est = cls(**params)
    simple = np.ndim(X) == 1
    est.fit(one_column(X) if simple else X, y, sample_weight=sample_weight)
    est._accepts_1d = simple
    return est
