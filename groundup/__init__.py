"""groundup: classic machine-learning solvers written once against the Array API standard.

>>> import groundup as gu
>>> model = gu.fit(X, y, method="minibatch", backend="torch", device="cuda")  # doctest: +SKIP
"""

from __future__ import annotations

from groundup import backends, metrics
from groundup._api import fit
from groundup.diagnose import diagnose
from groundup.linear_model import LinearRegression, LogisticRegression

__version__ = "0.1.0"

__all__ = [
    "LinearRegression",
    "LogisticRegression",
    "__version__",
    "backends",
    "diagnose",
    "fit",
    "metrics",
]
