"""scikit-learn's own estimator checks, for every method of both estimators."""

from __future__ import annotations

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

import groundup as gu

LINEAR_METHODS = ["normal", "beta", "batch", "sgd", "minibatch"]
LOGISTIC_METHODS = ["newton", "batch", "sgd", "minibatch"]
GRADIENT = ("batch", "sgd", "minibatch")

# Each expected failure, with its reason. Nothing else may fail (xfail_strict).
_STOCHASTIC_WEIGHTS = (
    "stochastic updates visit each sample once per epoch, so integer weights are not "
    "equivalent to repeated rows (scikit-learn marks SGDRegressor the same way)"
)


def _expected_failures(est: gu.LinearRegression) -> dict[str, str]:
    failures: dict[str, str] = {}
    if est.method == "sgd":
        failures["check_sample_weight_equivalence_on_dense_data"] = _STOCHASTIC_WEIGHTS
    return failures


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.filterwarnings("ignore:X is rank deficient")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
@parametrize_with_checks(
    [gu.LinearRegression(method=m) for m in LINEAR_METHODS],
    expected_failed_checks=_expected_failures,
)
def test_linear_regression_checks(estimator, check):
    check(estimator)


# -- LogisticRegression ----------------------------------------------------------
_STOCHASTIC_WEIGHTS_LOGISTIC = (
    "one-sample updates visit each sample once per epoch, so integer weights are not "
    "equivalent to repeated rows (scikit-learn marks SGDClassifier the same way)"
)


def _expected_logistic_failures(est: gu.LogisticRegression) -> dict[str, str]:
    failures: dict[str, str] = {}
    if est.method == "sgd":
        failures["check_sample_weight_equivalence_on_dense_data"] = _STOCHASTIC_WEIGHTS_LOGISTIC
    return failures


# The checks' toy data (blobs) are separable: without a penalty every fit warns so.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
@parametrize_with_checks(
    [gu.LogisticRegression(method=m, random_state=0) for m in LOGISTIC_METHODS]
    + [gu.LogisticRegression(method="newton", penalty="l2")],
    expected_failed_checks=_expected_logistic_failures,
)
def test_logistic_regression_checks(estimator, check):
    check(estimator)
