"""scikit-learn compatible estimators: :class:`LinearRegression` and
:class:`LogisticRegression`, on one shared base (``_base.py``: the shared parameters'
docs and checks, the gradient fit's common steps), reading their data through a
source of passes (``groundup._problem.InMemory`` in memory, :mod:`groundup.dask` on Dask)."""

from __future__ import annotations

from groundup.exceptions import DivergenceError, RankDeficientWarning
from groundup.linear_model._labels import class_totals, encode_labels
from groundup.linear_model._linear import LinearRegression
from groundup.linear_model._logistic import LogisticRegression

__all__ = [
    "DivergenceError",
    "LinearRegression",
    "LogisticRegression",
    "RankDeficientWarning",
    "class_totals",
    "encode_labels",
    "estimator_class",
]


def estimator_class(model: str) -> type:
    """The estimator class of ``model``: ``"linear"`` or ``"logistic"``."""
    if model == "linear":
        return LinearRegression
    if model == "logistic":
        return LogisticRegression
    msg = f"Unknown model {model!r}; choose 'linear' or 'logistic'."
    raise ValueError(msg)
