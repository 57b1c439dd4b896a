"""Trust on real data (issue 11): steps that cannot diverge by default (``eta0="auto"``),
honest ``converged_`` (the stopping rule firing far from the minimum says so), and Newton's
answer independent of the row layout.

Oracles: the formulas of ``eta0="auto"`` (the Gram matrix's largest eigenvalue, scikit-
learn's SAG rule), the least-squares training loss of the normal equations, scikit-learn's
own data sets in their own units (diabetes with ``scaled=False``; statsmodels' ``fair`` and
Longley).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _helpers import make_classes, make_regression
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning

import groundup as gu

GRADIENT = ["batch", "sgd", "minibatch"]


# -- eta0="auto" -----------------------------------------------------------------------------
def _gram(X, sw=None):
    A = np.c_[X, np.ones(len(X))]
    w = np.ones(len(X)) if sw is None else sw
    return (A * w[:, None]).T @ A / w.sum()


@pytest.mark.parametrize("model", ["linear", "binary", "multinomial"])
@pytest.mark.parametrize("method", GRADIENT)
@pytest.mark.parametrize("penalty", [None, "l2"])
def test_eta0_auto_is_the_documented_bound(model, method, penalty):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4)) * [1.0, 10.0, 0.1, 3.0] + [0.0, 5.0, 0.0, -2.0]
    sw = rng.uniform(0.2, 3.0, size=300)
    if model == "linear":
        y, est, q = X @ [1.0, 0.1, 2.0, -0.3] + 1.0, gu.LinearRegression, 1.0
    else:
        k = 2 if model == "binary" else 3
        y, est, q = (
            make_classes(300, 4, k=k, seed=1)[1],
            gu.LogisticRegression,
            (0.25 if k == 2 else 0.5),
        )
    alpha = 1e-2 if penalty else 0.0
    fitted = est(
        method=method, penalty=penalty, alpha=1e-2, max_iter=3, tol=None, precondition=False
    ).fit(X, y, sample_weight=sw)
    w = sw * len(sw) / sw.sum()  # the fits' weights: normalised to mean 1
    if method == "batch":
        L = q * np.linalg.eigvalsh(_gram(X, sw)).max() + alpha
    else:  # scikit-learn's SAG rule, weights scaling the rows
        L = q * np.max(w * ((X * X).sum(axis=1) + 1.0)) + alpha
    assert fitted.eta0_ == pytest.approx(1.0 / L, rel=1e-10)


def test_a_number_as_eta0_is_used_as_it_is():
    X, y, _ = make_regression(n=100)
    assert (
        gu.LinearRegression(method="sgd", eta0=0.05, max_iter=2, tol=None).fit(X, y).eta0_ == 0.05
    )


def test_eta0_auto_on_dask_equals_in_memory():
    da = pytest.importorskip("dask.array")
    X, y, _ = make_regression(n=500, d=3)
    Xc, yc = make_classes(n=500, d=3)
    for est, yy in ((gu.LinearRegression, y), (gu.LogisticRegression, yc)):
        for method in GRADIENT:
            params = {"method": method, "max_iter": 2, "tol": None, "random_state": 0}
            ref = est(**params).fit(X, yy)
            on = est(**params).fit(da.from_array(X, chunks=(180, -1)), da.from_array(yy, 180))
            assert on.eta0_ == pytest.approx(ref.eta0_, rel=1e-12)


# -- real data in its own units ----------------------------------------------------------------
def _diabetes():
    return load_diabetes(return_X_y=True, scaled=False)


def _fair():
    sm = pytest.importorskip("statsmodels.api")
    d = sm.datasets.fair.load_pandas().data
    return d.drop(columns="affairs").to_numpy(float), d["affairs"].to_numpy(float)


def _longley():
    sm = pytest.importorskip("statsmodels.api")
    d = sm.datasets.longley.load_pandas()
    return d.exog.to_numpy(float), d.endog.to_numpy(float)


@pytest.mark.parametrize("load", [_diabetes, _fair, _longley], ids=["diabetes", "fair", "longley"])
@pytest.mark.parametrize("method", GRADIENT)
def test_defaults_on_unscaled_data_end_near_the_minimum_or_say_so(load, method):
    X, y = load()
    least = gu.fit(X, y, method="normal").loss_history_[-1]
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        est = gu.fit(X, y, method=method, random_state=0)  # no DivergenceError
    warned = [w for w in said if issubclass(w.category, ConvergenceWarning)]
    assert np.isfinite(est.loss_history_).all()
    ratio = est.loss_history_[-1] / least  # the objective (no penalty) over its minimum
    if ratio > 1.0101:  # not within 1 % of least squares: it says so
        assert not est.converged_
        assert warned
        assert est.stop_reason_ in ("stalled", "max_iter")
    elif ratio < 1.0099:  # within 1 %: converged_, whatever stopped it, without a warning
        assert est.converged_
        assert not warned


def test_stalled_fit_says_how_far_and_what_to_do():
    X, y = _fair()
    least = gu.fit(X, y, method="normal").loss_history_[-1]
    # the textbook updates on data as they come: short of the minimum, and it says so
    with pytest.warns(ConvergenceWarning, match=r"objective [0-9.]+ % above the minimum") as said:
        est = gu.fit(X, y, method="batch", precondition=False)
    text = str(said[0].message)
    assert "precondition='auto'" in text  # the one remedy not taken
    assert not est.converged_
    assert est.stop_reason_ in ("stalled", "max_iter")
    assert est.loss_history_[-1] > 1.01 * least
    # the defaults (preconditioned) end at the least-squares loss, without a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fitted = gu.fit(X, y, method="batch")
    assert fitted.converged_
    assert fitted.stop_reason_ == "tol"
    assert fitted.loss_history_[-1] < 1.01 * least


def test_stalled_on_dask_as_in_memory():
    da = pytest.importorskip("dask.array")
    X, y = _fair()
    with pytest.warns(ConvergenceWarning, match="above the minimum"):
        ref = gu.fit(X, y, method="batch", precondition=False)
    with pytest.warns(ConvergenceWarning, match="above the minimum"):
        on = gu.fit(
            da.from_array(X, chunks=(2000, -1)),
            da.from_array(y, 2000),
            method="batch",
            precondition=False,
        )
    assert on.stop_reason_ == ref.stop_reason_
    assert not on.converged_


@pytest.mark.parametrize("method", GRADIENT)
@pytest.mark.parametrize("model", ["linear", "binary", "multinomial"])
def test_defaults_fit_well_scaled_data_without_a_warning(method, model):
    if model == "linear":
        X, y, _ = make_regression(n=2000, d=6, noise=0.5)
        est = gu.LinearRegression(method=method, random_state=0)
    else:
        X, y = make_classes(n=2000, d=6, k=2 if model == "binary" else 3)
        # the three classes are nearly separable: alpha=1e-3 gives the minimum some curvature
        alpha = 1e-4 if model == "binary" else 1e-3
        est = gu.LogisticRegression(method=method, random_state=0, penalty="l2", alpha=alpha)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est.fit(X, y)
    assert est.converged_  # certified within 1 % of the minimum
    assert est.stop_reason_ in ("tol", "max_iter")  # (tol="auto" stops at 0.1 %)


def test_the_honest_check_is_the_sweeps_too():
    X, y = _fair()
    result = gu.sweep(X, y, method="batch", grid={"eta0": ["auto", 1e-3]}, max_iter=300)
    for i in range(len(result.table)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            single = gu.LinearRegression(**result.params_of(i)).fit(
                X[result.train_index], y[result.train_index]
            )
        row = result.table.loc[i]
        assert bool(row["converged"]) == single.converged_
        assert row["stop_reason"] == single.stop_reason_


# -- Newton: the same answer for weights as for repeated rows ---------------------------------
@pytest.mark.parametrize("k", [2, 3])
def test_newton_weights_equal_repeated_rows(k):
    X, y = make_classes(n=20000, d=5, k=k, seed=3)  # large: the subsample warm start runs
    sw = np.random.default_rng(4).integers(0, 4, size=len(y))
    rows = np.random.default_rng(5).permutation(int(sw.sum()))
    Xr, yr = np.repeat(X, sw, axis=0)[rows], np.repeat(y, sw)[rows]
    weighted = gu.LogisticRegression(random_state=0).fit(X, y, sample_weight=sw)
    repeated = gu.LogisticRegression(random_state=0).fit(Xr, yr)
    np.testing.assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X), atol=1e-7)
    tight = gu.LogisticRegression(tol=1e-10).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(weighted.predict_proba(X), tight.predict_proba(X), atol=1e-7)


# -- preconditioning: partial_fit goes on in the fit's variables ------------------------------
@pytest.mark.parametrize("model", ["linear", "binary"])
@pytest.mark.parametrize("method", GRADIENT)
def test_partial_fit_after_a_preconditioned_fit_is_its_next_epoch(model, method):
    """A preconditioned fit of 3 epochs and one ``partial_fit`` epoch make the same updates as
    the preconditioned fit of 4 epochs (the statistics, ``eta0_`` and ``t_`` carried on)."""
    X, y = _diabetes()  # features in their own units
    est = gu.LinearRegression
    if model == "binary":
        y, est = (y > np.median(y)).astype(int), gu.LogisticRegression
    params = {"method": method, "tol": None, "shuffle": False, "random_state": 0}
    four = est(max_iter=4, **params).fit(X, y)
    three = est(max_iter=3, **params).fit(X, y)
    three.partial_fit(X, y)
    assert three.t_ == four.t_
    np.testing.assert_allclose(three.coef_, four.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(three.intercept_, four.intercept_, rtol=1e-9, atol=1e-12)
