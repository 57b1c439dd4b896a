"""``gu.diagnose``: inference and assumption checks for a fitted linear or logistic model,
equal to statsmodels, on the model's backend and device.

>>> import groundup as gu
>>> model = gu.LinearRegression().fit(X, y)                       # doctest: +SKIP
>>> report = gu.diagnose(model, X, y)                             # doctest: +SKIP
>>> print(report.summary())                                       # doctest: +SKIP
"""

from groundup.diagnostics.assumptions import TestResult
from groundup.diagnostics.report import DiagnosticReport
from groundup.diagnostics.runner import diagnose

__all__ = ["DiagnosticReport", "TestResult", "diagnose"]
