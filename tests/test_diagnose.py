"""gu.diagnose against statsmodels (and scipy's Shapiro-Wilk), on every backend.

float64 (``case64``): every number equals statsmodels' to 1e-8 relative, on scikit-learn's
diabetes data and statsmodels' Longley data. On Longley statsmodels' own pseudo-inverse is
off the exact answer by up to ~1e-8 (its residuals by ~1e-9 relative, its HC2/HC3 matrices
by ~1e-8 relative on small off-diagonal entries); a 50-digit mpmath oracle shows groundup's
numbers are within 1e-10 of the exact ones, so covariance matrices are compared entry by
entry on the correlation scale (``|ΔV_ij| <= rtol * sqrt(V_ii V_jj)``).

float32: the same quantities to ``F32_RTOL``; the reasoning is at the constant.
"""

from __future__ import annotations

import argparse
import functools
import json
import warnings

import numpy as np
import pytest
import statsmodels.api as sm
from _cases import CASES
from _helpers import assert_on_case
from scipy import stats
from sklearn.datasets import load_diabetes
from sklearn.exceptions import NotFittedError
from statsmodels.stats import diagnostic as smd
from statsmodels.stats.outliers_influence import variance_inflation_factor
from statsmodels.stats.stattools import durbin_watson, jarque_bera, omni_normtest

import groundup as gu
from groundup.cli import diagnose as diagnose_cli
from groundup.kernels import diagnostics as K

RTOL = 1e-8
# float32 carries ~7 digits (eps 1.2e-7). The diabetes design is well conditioned after
# centring (condition number of the equilibrated design 22, VIF <= 60), so sums of squares,
# statistics and standard errors keep ~1e-5 relative; the largest error measured is 9e-5
# (Cook's distance, torch), a tenth of the tolerance.
# A p-value p inherits |d log p / d stat| * stat times the statistic's error: for the
# smallest p here (F = 46, p ~ 1e-62) that is ~150x, so p-values are compared on the
# log scale with the same 1e-3 relative tolerance.
F32_RTOL = 1e-3


# -- data -----------------------------------------------------------------------------------


def _diabetes() -> tuple[np.ndarray, np.ndarray, list[str]]:
    data = load_diabetes()
    return data.data, data.target, list(data.feature_names)


def _longley() -> tuple[np.ndarray, np.ndarray, list[str]]:
    d = sm.datasets.longley.load_pandas()
    return d.exog.to_numpy(float), d.endog.to_numpy(float), list(d.exog.columns)


DATASETS = {"diabetes": _diabetes, "longley": _longley}


def _fit_on(case, X, y, **params):
    Xd, yd = case.asarray(X), case.asarray(y)
    return gu.LinearRegression(**params).fit(Xd, yd), Xd, yd


def _quiet(fn, *args, **kwargs):
    """Run a statsmodels / scipy oracle, silencing its small-sample warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


@functools.cache
def cached_reference(dataset: str, cov_type: str = "nonrobust"):
    """statsmodels_reference for a named data set, computed once per test session."""
    X, y, _ = DATASETS[dataset]()
    return statsmodels_reference(X, y, cov_type=cov_type)


def statsmodels_reference(
    X, y, *, intercept=True, cov_type="nonrobust", nlags=None, influence=True
):
    """Every number diagnose reports, from statsmodels (and scipy for Shapiro-Wilk)."""
    Z = sm.add_constant(X, has_constant="add") if intercept else X
    Zc = sm.add_constant(X, has_constant="add")
    base = sm.OLS(y, Z).fit()
    res = base if cov_type == "nonrobust" else sm.OLS(y, Z).fit(cov_type=cov_type)
    resid = base.resid
    n = len(y)
    ref = {
        "params": res.params, "bse": res.bse, "tvalues": res.tvalues, "pvalues": res.pvalues,
        "ci": res.conf_int(0.05), "r2": res.rsquared, "adj_r2": res.rsquared_adj,
        "f": res.fvalue, "f_p": res.f_pvalue, "llf": res.llf, "aic": res.aic,
        "bic": res.bic, "cond": res.condition_number, "cov": res.cov_params(),
        "use_t": res.use_t,
    }  # fmt: skip
    lm, lmp, f, fp = smd.het_breuschpagan(resid, Zc)
    ref["bp"] = (lm, lmp, f, fp)
    if n > X.shape[1] + X.shape[1] * (X.shape[1] + 1) // 2 + 1:
        ref["white"] = _quiet(smd.het_white, resid, Zc)  # sex² is collinear: rank 65 of 66
    order = np.argsort(base.fittedvalues, kind="stable")
    ref["gq"] = smd.het_goldfeldquandt(
        y[order], Z[order], alternative="two-sided", result_object=False
    )[:2]
    jb, jbp, skew, kurt = jarque_bera(resid)
    ref["jb"] = (jb, jbp, skew, kurt)
    ref["omni"] = tuple(_quiet(omni_normtest, resid))
    ref["shapiro"] = tuple(stats.shapiro(resid))
    ref["dw"] = durbin_watson(resid)
    ref["bg"] = smd.acorr_breusch_godfrey(base, nlags=nlags, result_object=False)
    ref["reset"] = _reset_reference(base, y, Z)
    if not influence:
        return ref
    infl = base.get_influence()
    ref["hat"] = infl.hat_matrix_diag
    ref["internal"] = infl.resid_studentized_internal
    ref["external"] = infl.resid_studentized_external
    ref["cooks"] = infl.cooks_distance[0]
    ref["dffits"] = infl.dffits[0]
    ref["vif"] = np.array([_quiet(variance_inflation_factor, Zc, j) for j in range(1, Zc.shape[1])])
    return ref


def _reset_reference(base, y, Z, power=3):
    """Ramsey's RESET as statsmodels computes it (``linear_reset``'s Wald test), run on
    ŷ / max|ŷ| instead of ŷ: the same columns up to scale, hence the same test.

    Raw powers of ŷ make statsmodels' pseudo-inverse lose digits: without an intercept on
    diabetes its F is off the exact value by 6e-9 (p by 2e-8; groundup's agrees with
    40-digit arithmetic to 1e-14), and on Longley (ŷ³ ~ 3e14) it drops a rank and is
    wrong (see test_longley_reset_statsmodels_is_rank_deficient).
    ``test_reset_equals_linear_reset`` compares with ``linear_reset`` itself on diabetes.
    """
    f = base.fittedvalues / np.max(np.abs(base.fittedvalues))
    aug = np.column_stack([Z] + [f**k for k in range(2, power + 1)])
    res = sm.OLS(y, aug).fit()
    r_mat = np.eye(power - 1, aug.shape[1], k=aug.shape[1] - (power - 1))
    rf = res.wald_test(r_mat, use_f=True, scalar=True)
    rc = res.wald_test(r_mat, use_f=False, scalar=True)
    return float(rf.fvalue), float(rf.pvalue), float(rc.statistic), float(rc.pvalue)


def _close(actual, expected, rtol, what):
    np.testing.assert_allclose(
        np.asarray(actual, float), np.asarray(expected, float), rtol=rtol, atol=0, err_msg=what
    )


def _close_p(actual, expected, rtol, what):
    """p-values: relative in float64, on the log scale in float32 (see F32_RTOL)."""
    a, e = np.asarray(actual, float), np.asarray(expected, float)
    if rtol <= 1e-6:
        _close(a, e, rtol, what)
    else:
        _close(np.log(a), np.log(e), rtol, what)


def _close_cov(actual, expected, rtol, what):
    scale = np.sqrt(np.outer(np.diag(expected), np.diag(expected)))
    err = np.max(np.abs(np.asarray(actual) - expected) / scale)
    assert err <= rtol, f"{what}: correlation-scale error {err:.3g} > {rtol}"


def compare_with_statsmodels(report, ref, rtol):
    t = report.table
    _close(t["coef"], ref["params"], rtol, "params")
    _close(t["std_err"], ref["bse"], rtol, "bse")
    _close(t["statistic"], ref["tvalues"], rtol, "t")
    _close_p(t["p_value"], ref["pvalues"], rtol, "p")
    _close(t["ci_low"], ref["ci"][:, 0], rtol, "ci low")
    _close(t["ci_high"], ref["ci"][:, 1], rtol, "ci high")
    _close_cov(report.cov, ref["cov"], rtol, "cov_params")
    f = report.fit
    for key, name in [("r_squared", "r2"), ("adj_r_squared", "adj_r2"), ("f_statistic", "f"),
                      ("log_likelihood", "llf"), ("aic", "aic"), ("bic", "bic"),
                      ("condition_number", "cond")]:  # fmt: skip
        _close(f[key], ref[name], rtol, key)
    _close_p(f["f_p_value"], ref["f_p"], rtol, "F p-value")
    tests = report.tests
    bp = tests["breusch_pagan"]
    _close([bp.statistic, bp.extra["f_statistic"]], [ref["bp"][0], ref["bp"][2]], rtol, "BP")
    _close_p([bp.p_value, bp.extra["f_p_value"]], [ref["bp"][1], ref["bp"][3]], rtol, "BP p")
    if "white" in ref:
        w = tests["white"]
        _close(
            [w.statistic, w.extra["f_statistic"]], [ref["white"][0], ref["white"][2]], rtol, "White"
        )
        _close_p(
            [w.p_value, w.extra["f_p_value"]], [ref["white"][1], ref["white"][3]], rtol, "White p"
        )
    gq = tests["goldfeld_quandt"]
    _close(gq.statistic, ref["gq"][0], rtol, "GQ")
    _close_p(gq.p_value, ref["gq"][1], rtol, "GQ p")
    jb = tests["jarque_bera"]
    _close([jb.statistic, jb.extra["skew"], jb.extra["kurtosis"]],
           [ref["jb"][0], ref["jb"][2], ref["jb"][3]], rtol, "JB")  # fmt: skip
    _close_p(jb.p_value, ref["jb"][1], rtol, "JB p")
    om = tests["omnibus"]
    _close(om.statistic, ref["omni"][0], rtol, "omnibus")
    _close_p(om.p_value, ref["omni"][1], rtol, "omnibus p")
    sw = tests["shapiro_wilk"]
    # W is close to 1: compare 1 - W, which carries the information.
    _close(1 - sw.statistic, 1 - ref["shapiro"][0], rtol, "1 - W")
    _close_p(sw.p_value, ref["shapiro"][1], rtol, "SW p")
    _close(tests["durbin_watson"].statistic, ref["dw"], rtol, "DW")
    bg = tests["breusch_godfrey"]
    _close([bg.statistic, bg.extra["f_statistic"]], [ref["bg"][0], ref["bg"][2]], rtol, "BG")
    _close_p([bg.p_value, bg.extra["f_p_value"]], [ref["bg"][1], ref["bg"][3]], rtol, "BG p")
    rs = tests["reset"]
    _close(
        [rs.statistic, rs.extra["chi2_statistic"]],
        [ref["reset"][0], ref["reset"][2]],
        rtol,
        "RESET",
    )
    _close_p(
        [rs.p_value, rs.extra["chi2_p_value"]], [ref["reset"][1], ref["reset"][3]], rtol, "RESET p"
    )
    for key, name in [("leverage", "hat"), ("studentized_internal", "internal"),
                      ("studentized_external", "external"), ("cooks_distance", "cooks"),
                      ("dffits", "dffits")]:  # fmt: skip
        _close(report.influence_host(key), ref[name], rtol, key)
    _close(list(report.vif.values()), ref["vif"], rtol, "VIF")


# -- agreement with statsmodels ---------------------------------------------------------------


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_float64_equals_statsmodels(case64, dataset):
    X, y, names = DATASETS[dataset]()
    model, Xd, yd = _fit_on(case64, X, y)
    report = gu.diagnose(model, Xd, yd)
    compare_with_statsmodels(report, cached_reference(dataset), RTOL)
    for key in ("fitted", "residual", "leverage", "cooks_distance", "dffits"):
        assert_on_case(report.influence[key], case64)
    assert report.stat_label == "t"
    if dataset == "longley":  # 16 samples, 28 White regressors
        white = report.tests["white"]
        assert not white.applicable
        assert white.statistic is None
        assert "needs more than 28 samples (got 16)" in white.reason
        assert "fewer than 20" in report.tests["omnibus"].extra["note"]


@pytest.fixture(params=[c for c in CASES if c.values[0].dtype == "float32"])
def case32(request):
    """Every installed backend x device, float32 only."""
    return request.param


def test_float32_close_to_statsmodels(case32):
    case = case32
    X, y, _ = _diabetes()
    model, Xd, yd = _fit_on(case, X, y)
    report = gu.diagnose(model, Xd, yd)
    assert report.dtype == "float32"
    assert_on_case(report.influence["studentized_external"], case)
    compare_with_statsmodels(report, cached_reference("diabetes"), F32_RTOL)


@pytest.mark.parametrize("cov_type", list(K.HC_TYPES))
def test_robust_covariance_equals_statsmodels(case64, cov_type):
    X, y, _ = _diabetes()
    model, Xd, yd = _fit_on(case64, X, y)
    # statsmodels' OLS.fit(cov_type=...) uses the normal distribution and a robust Wald F.
    report = gu.diagnose(model, Xd, yd, cov_type=cov_type)
    ref = cached_reference("diabetes", cov_type)
    assert ref["use_t"] is False
    assert report.stat_label == "z"
    compare_with_statsmodels(report, ref, RTOL)
    # get_robustcov_results keeps Student's t: use_t=True.
    rob = sm.OLS(y, sm.add_constant(X)).fit().get_robustcov_results(cov_type)
    rep_t = gu.diagnose(model, Xd, yd, cov_type=cov_type.lower(), use_t=True)
    _close(rep_t.table["p_value"], rob.pvalues, RTOL, "robust t p-values")
    _close(rep_t.table["ci_low"], rob.conf_int()[:, 0], RTOL, "robust t CI")
    _close(rep_t.fit["f_statistic"], rob.fvalue, RTOL, "robust F")


def test_longley_reset_statsmodels_is_rank_deficient():
    """statsmodels' RESET on Longley loses a rank; groundup's equals exact arithmetic."""
    mp = pytest.importorskip("mpmath")
    from statsmodels.tools.sm_exceptions import SingularMatrixWarning

    mp.mp.dps = 60
    X, y, _ = _longley()
    Z = sm.add_constant(X)
    base = sm.OLS(y, Z).fit()
    with pytest.warns(SingularMatrixWarning):
        wrong = smd.linear_reset(base, power=3, use_f=True)
    assert wrong.df_denom == 8  # should be 16 - 9 = 7

    def exact_ssr(A, v):
        Am, vm = mp.matrix(A), mp.matrix(v.tolist())
        r = vm - Am * ((Am.T * Am) ** -1 * (Am.T * vm))
        return sum(x**2 for x in r), r

    ssr_r, res = exact_ssr(Z.tolist(), y)
    fitted = [mp.mpf(float(v)) - res[i] for i, v in enumerate(y)]
    aug = [list(map(mp.mpf, Z[i])) + [fitted[i] ** 2, fitted[i] ** 3] for i in range(len(y))]
    ssr_u, _ = exact_ssr(aug, y)
    f_exact = float(((ssr_r - ssr_u) / 2) / (ssr_u / 7))
    reset = gu.diagnose(gu.LinearRegression().fit(X, y), X, y).tests["reset"]
    assert reset.df == (2.0, 7.0)
    _close(reset.statistic, f_exact, 1e-9, "RESET F vs exact arithmetic")
    assert abs(float(wrong.fvalue) - f_exact) > 1.0


def test_longley_against_exact_arithmetic():
    """On Longley (condition number 4.9e9) groundup is within 1e-10 of 50-digit arithmetic."""
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 50
    X, y, _ = _longley()
    model = gu.LinearRegression().fit(X, y)
    Z = np.column_stack([np.ones(len(y)), X])
    Zm, ym = mp.matrix(Z.tolist()), mp.matrix(y.tolist())
    gi = (Zm.T * Zm) ** -1
    beta = gi * (Zm.T * ym)
    res = ym - Zm * beta
    n, p = Z.shape
    h = [(Zm[i, :] * gi * Zm[i, :].T)[0] for i in range(n)]
    pinv = gi * Zm.T
    for cov_type in ("nonrobust", "HC3"):
        report = gu.diagnose(model, X, y, cov_type=cov_type)
        if cov_type == "nonrobust":
            cov = gi * (sum(r**2 for r in res) / (n - p))
        else:
            cov = mp.matrix(p, p)
            for i in range(n):
                cov += (res[i] / (1 - h[i])) ** 2 * pinv[:, i] * pinv[:, i].T
        bse = np.array([float(mp.sqrt(cov[j, j])) for j in range(p)])
        _close(report.table["std_err"], bse, 1e-10, f"{cov_type} standard errors")
    _close(report.table["coef"], [float(b) for b in beta], 1e-10, "coefficients")
    _close(report.influence_host("leverage"), [float(v) for v in h], 1e-10, "leverage")
    _close(report.influence_host("residual"), [float(r) for r in res], 1e-9, "residuals")


@pytest.mark.parametrize("method", ["normal", "beta"])
def test_no_intercept_equals_statsmodels(method):
    X, y, _ = _diabetes()
    X = X + 0.05  # away from zero mean, so that centring matters
    model = gu.LinearRegression(method=method, fit_intercept=False).fit(X, y)
    report = gu.diagnose(model, X, y)
    ref = statsmodels_reference(X, y, intercept=False)
    assert report.names[0] == "x1"
    assert not report.fit["r_squared_centered"]
    compare_with_statsmodels(report, ref, RTOL)
    assert any("uncentered" in note for note in report.notes)


def test_goldfeld_quandt_options_equal_statsmodels():
    frame = load_diabetes(as_frame=True)
    Xf, y = frame.data, frame.target.to_numpy()
    X, names = Xf.to_numpy(), list(Xf.columns)
    model = gu.LinearRegression().fit(Xf, y)  # pandas: feature names
    Z = sm.add_constant(X)
    # (alternative, drop): one-sided p-values with equal halves (n = 442, no drop), because
    # statsmodels 0.15 evaluates them as F(df1, df2) while F = mse2 / mse1 ~ F(df2, df1);
    # two-sided (which statsmodels evaluates as F(df2, df1)) also with unequal halves.
    settings = [("increasing", None), ("decreasing", None), ("two-sided", None),
                ("two-sided", 0.2)]  # fmt: skip
    for sort, idx in (("bmi", 2), (3, 3)):
        order = np.argsort(X[:, idx], kind="stable")
        for alt, drop in settings:
            rep = gu.diagnose(model, Xf, y, gq_sort=sort, gq_alternative=alt, gq_drop=drop)
            gq = rep.tests["goldfeld_quandt"]
            f, p, _ = smd.het_goldfeldquandt(
                y[order], Z[order], drop=drop, alternative=alt, result_object=False
            )
            _close([gq.statistic, gq.p_value], [f, p], RTOL, f"GQ by {sort}, {alt}, drop={drop}")
            assert gq.extra["sorted_by"] == names[idx]
    rep = gu.diagnose(model, Xf, y, gq_alternative="increasing", gq_drop=0.2)
    gq = rep.tests["goldfeld_quandt"]
    assert gq.df == (442.0 - 309 - 11, 221.0 - 11)
    _close(gq.p_value, stats.f.sf(gq.statistic, *gq.df), RTOL, "GQ one-sided p from F(df2, df1)")


def test_breusch_godfrey_lags_equal_statsmodels():
    X, y, _ = _diabetes()
    model = gu.LinearRegression().fit(X, y)
    base = sm.OLS(y, sm.add_constant(X)).fit()
    for nlags in (1, 4):
        bg = gu.diagnose(model, X, y, bg_nlags=nlags).tests["breusch_godfrey"]
        ref = smd.acorr_breusch_godfrey(base, nlags=nlags, result_object=False)
        _close([bg.statistic, bg.p_value, bg.extra["f_statistic"], bg.extra["f_p_value"]],
               ref, RTOL, f"BG nlags={nlags}")  # fmt: skip


def test_reset_equals_linear_reset():
    X, y, _ = _diabetes()
    model = gu.LinearRegression().fit(X, y)
    base = sm.OLS(y, sm.add_constant(X)).fit()
    rs = gu.diagnose(model, X, y).tests["reset"]
    rf = smd.linear_reset(base, power=3, use_f=True)
    rc = smd.linear_reset(base, power=3, use_f=False)
    _close([rs.statistic, rs.p_value, rs.extra["chi2_statistic"], rs.extra["chi2_p_value"]],
           [rf.fvalue, rf.pvalue, rc.statistic, rc.pvalue], RTOL, "RESET")  # fmt: skip


def test_reset_power_equals_statsmodels():
    X, y, _ = _diabetes()
    model = gu.LinearRegression().fit(X, y)
    base = sm.OLS(y, sm.add_constant(X)).fit()
    rs = gu.diagnose(model, X, y, reset_power=4).tests["reset"]
    # ŷ⁴ ~ 1e9: statsmodels' linear_reset loses ~5e-8 of p to its pseudo-inverse here, so
    # the same Wald test runs on ŷ / max|ŷ| (see _reset_reference).
    ref = _reset_reference(base, y, sm.add_constant(X), power=4)
    _close([rs.statistic, rs.p_value, rs.extra["chi2_statistic"], rs.extra["chi2_p_value"]],
           ref, RTOL, "RESET power 4")  # fmt: skip
    assert rs.df == (3.0, float(len(y) - 11 - 3))


# -- any fitting method -----------------------------------------------------------------------


@pytest.mark.parametrize("method", ["normal", "beta", "batch", "sgd", "minibatch"])
def test_any_method(method):
    X, y, _ = _diabetes()
    X = (X - X.mean(0)) / X.std(0)
    if method in ("normal", "beta"):
        params = {}
    else:  # a short run that stops well before the optimum
        params = {"learning_rate": "constant", "eta0": 0.01, "max_iter": 3, "tol": None,
                  "random_state": 0}  # fmt: skip
    model = gu.LinearRegression(method=method, **params).fit(X, y)
    report = gu.diagnose(model, X, y)
    _close(report.table["coef"][1:], model.coef_, 0, "the model's own coefficients")
    if method in ("normal", "beta"):
        compare_with_statsmodels(report, statsmodels_reference(X, y), RTOL)
        assert not any("least-squares optimum" in note for note in report.notes)
    else:
        assert report.fit["ssr_excess_over_ols"] > 1e-3
        assert any("not the least-squares optimum" in note for note in report.notes)
        assert "not the least-squares optimum" in report.summary()
        assert report.fit["max_coef_gap_in_se"] > 0.1
        ols_ssr = sm.OLS(y, sm.add_constant(X)).fit().ssr
        _close(report.fit["ols_ssr"], ols_ssr, RTOL, "closed-form SSR")


def test_sklearn_linear_model_is_accepted():
    from sklearn.linear_model import LinearRegression as SkLinear

    X, y, _ = _diabetes()
    report = gu.diagnose(SkLinear().fit(X, y), X, y)
    assert report.backend == "numpy"
    compare_with_statsmodels(report, cached_reference("diabetes"), RTOL)


# -- each test detects what it is for ------------------------------------------------------------


def _synthetic(
    kind: str, n: int = 442, d: int = 10, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """y = 1 + 2 x1 - x2 + 0.5 (x3 + ... + xd) + e, with e built to break one assumption.

    The default shape is diabetes' (442 x 10): JAX compiles each operation once per shape,
    so the synthetic cases reuse the float32 diabetes run's compilations.
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    mean = 1.0 + 2.0 * X[:, 0] - X[:, 1] + 0.5 * X[:, 2:].sum(axis=1)
    if kind == "well_behaved":
        e = rng.normal(size=n)
    elif kind == "heteroscedastic":  # sd grows with x1 (and so with the fitted values)
        e = rng.normal(size=n) * np.exp(0.8 * X[:, 0])
    elif kind == "heavy_tailed":  # Student t with 2 degrees of freedom
        e = rng.standard_t(2, size=n)
    elif kind == "autocorrelated":  # AR(1), rho = 0.8, in the data's order
        z = rng.normal(size=n)
        e = np.empty(n)
        e[0] = z[0]
        for t in range(1, n):
            e[t] = 0.8 * e[t - 1] + z[t]
    elif kind == "curved":  # a quadratic term the linear model misses
        e = 0.8 * X[:, 0] ** 2 + 0.5 * rng.normal(size=n)
    else:  # pragma: no cover - test data names
        raise AssertionError(kind)
    return X, mean + e


DETECTS = {
    "heteroscedastic": ["breusch_pagan", "white", "goldfeld_quandt"],
    "heavy_tailed": ["jarque_bera", "omnibus", "shapiro_wilk"],
    "autocorrelated": ["durbin_watson", "breusch_godfrey"],
    "curved": ["reset"],
}


@pytest.mark.parametrize("kind", list(DETECTS))
def test_each_test_detects_its_violation(case, kind):
    X, y = _synthetic(kind)
    model, Xd, yd = _fit_on(case, X, y)
    report = gu.diagnose(model, Xd, yd)
    for key in DETECTS[kind]:
        t = report.tests[key]
        assert t.applicable
        assert t.rejected, f"{t.name} missed the {kind} errors: {t.verdict}"
        assert "[!!]" in report.summary()
        if t.p_value is not None:
            assert t.p_value < 1e-3
    # The float64 statistics are statsmodels' (spot check on the targeted tests).
    if case.dtype == "float64":
        ref = statsmodels_reference(X, y, influence=False)
        pairs = {"breusch_pagan": ref["bp"][0], "jarque_bera": ref["jb"][0],
                 "durbin_watson": ref["dw"], "breusch_godfrey": ref["bg"][0],
                 "reset": ref["reset"][0], "goldfeld_quandt": ref["gq"][0]}  # fmt: skip
        for key in DETECTS[kind]:
            if key in pairs:
                _close(report.tests[key].statistic, pairs[key], RTOL, key)


def test_well_behaved_data_passes_every_test(case):
    # Nine tests at alpha = 0.01 on one fixed draw; the same draw on every backend.
    X, y = _synthetic("well_behaved")
    model, Xd, yd = _fit_on(case, X, y)
    report = gu.diagnose(model, Xd, yd, alpha=0.01)
    for t in report.tests.values():
        assert t.applicable, t.reason
        assert not t.rejected, f"{t.name} fired on well-behaved data: {t.verdict}"
    assert "[!!] Homoscedasticity" not in report.summary()


# -- bad input ------------------------------------------------------------------------------------


def test_not_fitted():
    X, y, _ = _diabetes()
    with pytest.raises(NotFittedError):
        gu.diagnose(gu.LinearRegression(), X, y)


def test_not_a_linear_model():
    from sklearn.tree import DecisionTreeRegressor

    X, y, _ = _diabetes()
    with pytest.raises(TypeError, match="not a linear model"):
        gu.diagnose(DecisionTreeRegressor(max_depth=2).fit(X, y), X, y)
    with pytest.raises(TypeError, match="needs a fitted estimator"):
        gu.diagnose("model", X, y)
    with pytest.raises(TypeError, match="needs a fitted estimator"):
        gu.diagnose(gu.LinearRegression, X, y)


def test_constant_feature_is_named():
    from groundup.exceptions import RankDeficientWarning

    X, y, names = _diabetes()
    X = X.copy()
    X[:, 4] = 0.3
    with pytest.warns(RankDeficientWarning):
        model = gu.LinearRegression().fit(X, y)
    with pytest.raises(ValueError, match=r"Feature\(s\) \['x5'\] are constant.*Drop them"):
        gu.diagnose(model, X, y)


def test_collinear_features_are_named():
    from groundup.exceptions import RankDeficientWarning

    X, y, _ = _diabetes()
    X = np.column_stack([X[:, :3], X[:, 0] - 2 * X[:, 2]])
    with pytest.warns(RankDeficientWarning):
        model = gu.LinearRegression().fit(X, y)
    with pytest.raises(ValueError, match=r"rank deficient \(rank 3 of 4.*\['x1', 'x3', 'x4'\]"):
        gu.diagnose(model, X, y)


def test_perfect_fit(case64):
    X, _, _ = _diabetes()
    y = X @ np.arange(1.0, 11.0) + 5.0
    model, Xd, yd = _fit_on(case64, X, y)
    with pytest.raises(ValueError, match="Perfect fit"):
        gu.diagnose(model, Xd, yd)


def test_too_few_samples_for_inference():
    X, y = _synthetic("well_behaved", n=3, d=2)
    model = gu.LinearRegression().fit(X, y)
    with pytest.raises(ValueError, match="3 parameters needs at least 4 samples"):
        gu.diagnose(model, X, y)


def test_too_few_samples_marks_tests_not_applicable():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 1))
    y = 2.0 * x[:, 0] + rng.normal(size=4)
    report = gu.diagnose(gu.LinearRegression().fit(x, y), x, y)
    expected = {
        "omnibus": "needs at least 8 samples (got 4)",
        "breusch_godfrey": "needs at least 5 samples",
        "goldfeld_quandt": "each half needs more than 2 samples",
        "reset": "needs more than 4 samples (got 4)",
    }
    for key, reason in expected.items():
        t = report.tests[key]
        assert not t.applicable
        assert reason in t.reason
        assert t.statistic is None
        assert t.p_value is None
        assert t.verdict.startswith("not applicable")
    for key in ("breusch_pagan", "jarque_bera", "shapiro_wilk", "durbin_watson"):
        assert report.tests[key].applicable
    frame = report.to_frame("tests")
    applicable = frame["applicable"].astype(bool)
    assert not frame.loc[applicable, "p_value"].drop("durbin_watson").isna().any()
    assert json.dumps(report.to_dict())  # not-applicable values are None, not NaN
    assert "[n/a]" in report.summary()


def test_leverage_one_is_explained():
    rng = np.random.default_rng(2)
    X = np.column_stack([rng.normal(size=30), np.eye(30)[0]])  # a dummy for row 0 alone
    y = X @ [1.0, 2.0] + rng.normal(size=30)
    report = gu.diagnose(gu.LinearRegression().fit(X, y), X, y)
    assert report.influence_host("leverage")[0] == pytest.approx(1.0)
    assert any("leverage 1" in note for note in report.notes)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"alpha": 1.5}, "alpha must be a significance level"),
        ({"cov_type": "HC5"}, "Unknown cov_type 'HC5'"),
        ({"reset_power": 1}, "reset_power must be an integer >= 2"),
        ({"bg_nlags": 0}, "bg_nlags must be a positive integer"),
        ({"gq_alternative": "up"}, "Unknown gq_alternative"),
        ({"gq_sort": "nope"}, "gq_sort='nope' is not"),
    ],
)
def test_bad_options(kwargs, match):
    X, y = _synthetic("well_behaved", n=50, d=2)
    model = gu.LinearRegression().fit(X, y)
    with pytest.raises(ValueError, match=match):
        gu.diagnose(model, X, y, **kwargs)


def test_bad_data():
    X, y = _synthetic("well_behaved", n=50, d=2)
    model = gu.LinearRegression().fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features"):
        gu.diagnose(model, np.column_stack([X, X[:, 0]]), y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        gu.diagnose(model, X, y[:-1])
    y_nan = y.copy()
    y_nan[7] = np.nan
    with pytest.raises(ValueError, match="y contains NaN"):
        gu.diagnose(model, X, y_nan)


# -- output -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def diabetes_report():
    frame = load_diabetes(as_frame=True)
    model = gu.LinearRegression().fit(frame.data, frame.target)
    return gu.diagnose(model, frame.data, frame.target, cov_type="HC3")


def test_summary_text(diabetes_report):
    text = diabetes_report.summary()
    for piece in ("OLS Regression Results", "Dep. Variable:", "target", "Covariance Type:",
                  "HC3", "P>|z|", "bmi", "Breusch-Pagan", "White", "Goldfeld-Quandt",
                  "Jarque-Bera", "Omnibus", "Shapiro-Wilk", "Durbin-Watson",
                  "Breusch-Godfrey", "Ramsey RESET", "Verdicts:", "Cook's distance",
                  "VIF (largest): s1 59.2", "cov_type='HC3'"):  # fmt: skip
        assert piece in text, piece
    assert str(diabetes_report) == text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_frames_and_dict(diabetes_report):
    coefs = diabetes_report.to_frame()
    assert list(coefs.index) == [
        "const",
        "age",
        "sex",
        "bmi",
        "bp",
        "s1",
        "s2",
        "s3",
        "s4",
        "s5",
        "s6",
    ]
    assert list(coefs.columns) == ["coef", "std_err", "z", "p_value", "ci_low", "ci_high"]
    assert len(diabetes_report.to_frame("tests")) == 9
    infl = diabetes_report.to_frame("influence")
    assert infl.shape == (442, 7)
    assert diabetes_report.to_frame("vif").loc["s1", "vif"] == pytest.approx(59.2, abs=0.05)
    assert "r_squared" in diabetes_report.to_frame("fit").index
    with pytest.raises(ValueError, match="Unknown what"):
        diabetes_report.to_frame("everything")
    d = diabetes_report.to_dict()
    assert json.loads(json.dumps(d))["coefficients"]["bmi"]["coef"] == pytest.approx(
        519.8459, rel=1e-6
    )
    assert len(d["influence"]["cooks_distance"]) == 442
    assert "influence" not in diabetes_report.to_dict(influence=False)


def test_plot_four_panels(diabetes_report, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "diag.png"
    fig = diabetes_report.plot(path)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [
        "Residuals vs Fitted",
        "Normal Q-Q",
        "Scale-Location",
        "Residuals vs Leverage",
    ]
    assert path.stat().st_size > 10_000
    # The Q-Q panel plots the sorted internally studentized residuals.
    qq = fig.axes[1].collections[0].get_offsets()
    std = diabetes_report.influence_host("studentized_internal")
    np.testing.assert_allclose(np.sort(std), qq[:, 1])
    # Its labels name the data rows of the three largest |standardized residuals|.
    labels = {int(t.get_text()) for t in fig.axes[1].texts}
    assert labels == set(np.argsort(-np.abs(std))[:3].tolist())


# -- command line ----------------------------------------------------------------------------------


def _cli():
    parser = argparse.ArgumentParser(prog="groundup")
    diagnose_cli.add_parser(parser.add_subparsers(dest="command", required=True))
    return parser


def test_cli_writes_the_report(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    frame = load_diabetes(as_frame=True).frame
    csv = tmp_path / "diabetes.csv"
    frame.to_csv(csv, index=False)
    out = tmp_path / "out"
    args = _cli().parse_args(["diagnose", str(csv), "--target", "target", "--out", str(out)])
    assert args.func(args) == 0
    text = capsys.readouterr().out
    assert "OLS Regression Results" in text
    for name in ("summary.txt", "report.json", "coefficients.csv", "tests.csv", "influence.csv",
                 "diagnostics.png"):  # fmt: skip
        assert (out / name).stat().st_size > 0, name
    report = json.loads((out / "report.json").read_text())
    ref = sm.OLS(frame["target"], sm.add_constant(frame.drop(columns="target"))).fit()
    _close(report["coefficients"]["bmi"]["std_err"], ref.bse["bmi"], RTOL, "CLI bse")


def test_cli_method_and_errors(tmp_path, capsys):
    frame = load_diabetes(as_frame=True).frame
    csv = tmp_path / "d.csv"
    frame.to_csv(csv, index=False)
    parser = _cli()
    args = parser.parse_args(["diagnose", str(csv), "--target", "target", "--method", "sgd",
                              "--max-iter", "2", "--eta0", "0.01", "--random-state", "0",
                              "--features", "bmi", "bp", "s5"])  # fmt: skip
    assert args.func(args) == 0  # the older flags, hidden from --help, still work
    captured = capsys.readouterr()
    assert "not the least-squares optimum" in captured.out
    assert "refit with --method normal" in " ".join(captured.out.split())  # CLI words
    assert "method='normal'" not in captured.out
    # the library's warning, relayed once in the command line's words
    assert captured.err.count("groundup diagnose: warning: The gradient fit ran") == 1
    assert "--param tol=" in captured.err
    args = parser.parse_args(["diagnose", str(csv), "--target", "nope"])
    assert args.func(args) == 2
    assert "no column 'nope'" in capsys.readouterr().err
    args = parser.parse_args(["diagnose", str(tmp_path / "missing.csv"), "--target", "y"])
    assert args.func(args) == 2
    assert "cannot read" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(["diagnose", str(csv)])  # --target is required


def test_cli_param_significance_and_out(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    frame = load_diabetes(as_frame=True).frame.rename(columns={"bmi": "bmi[kg/m2]"})
    csv = tmp_path / "d.csv"
    frame.to_csv(csv, index=False)
    parser = _cli()
    base = ["diagnose", str(csv), "--target", "target", "--features", "bmi[kg/m2]", "s5"]
    args = parser.parse_args([*base, "--significance", "0.1", "--param", "penalty=l2",
                              "--param", "alpha=0.001"])  # fmt: skip
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "Assumption tests (significance level = 0.1)" in out
    assert "bmi[kg/m2]" in out
    args = parser.parse_args([*base, "--alpha", "0.1"])  # the deprecated spelling
    assert args.func(args) == 0
    captured = capsys.readouterr()
    assert "--alpha is deprecated" in captured.err
    assert "use --significance" in captured.err
    assert "(significance level = 0.1)" in captured.out
    args = parser.parse_args([*base, "--significance", "2"])
    assert args.func(args) == 2
    assert "--significance must be in (0, 1), got 2.0" in capsys.readouterr().err
    args = parser.parse_args([*base, "--param", "etaa=1"])
    assert args.func(args) == 2
    assert "unknown --param etaa" in capsys.readouterr().err
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "keep.txt").write_text("x")
    args = parser.parse_args([*base, "--out", str(out_dir)])
    assert args.func(args) == 2
    assert "already holds files (keep.txt)" in capsys.readouterr().err
    assert sorted(p.name for p in out_dir.iterdir()) == ["keep.txt"]
    args = parser.parse_args([*base, "--out", str(out_dir), "--force"])
    assert args.func(args) == 0
    assert (out_dir / "diagnostics.png").stat().st_size > 0
    assert "--force: writing into" in capsys.readouterr().err


def test_durbin_watson_is_a_rule_of_thumb_not_a_rejection():
    """Longley: DW = 2.559 lies outside 1.5-2.5 while Breusch-Godfrey (the test) is ok:
    the summary flags DW as a rule with no p-value, never REJECTED (issue 21.8)."""
    X, y, _ = _longley()
    report = _quiet(gu.diagnose, gu.fit(X, y), X, y)
    dw, bg = report.tests["durbin_watson"], report.tests["breusch_godfrey"]
    assert dw.statistic == pytest.approx(durbin_watson(y - gu.fit(X, y).predict(X)))
    assert dw.p_value is None
    assert dw.rejected  # flagged by the rule ...
    assert not bg.rejected  # ... that the test does not confirm
    line = next(s for s in report.summary().splitlines() if s.startswith("Durbin-Watson"))
    assert line.split()[-2:] == ["(rule)", "flagged"]
    assert "REJECTED" not in line
    assert "rule of thumb" in dw.verdict
    assert "Breusch-Godfrey is the test" in dw.verdict


def test_plot_returns_a_figure_like_the_sweep(diabetes_report):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    fig = diabetes_report.plot()
    assert isinstance(fig, Figure)
    assert fig._repr_png_().startswith(b"\x89PNG")  # a notebook shows it inline


# -- logistic regression ------------------------------------------------------------------------------


def _logit_data(n: int = 500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    eta = 0.5 + X @ np.array([1.0, -0.5, 0.25])
    y = np.where(rng.random(n) < 1.0 / (1.0 + np.exp(-eta)), "yes", "no")
    return X, y


def _logit_reference(X, y01, params):
    """statsmodels ``Logit`` evaluated at ``params`` (the model's coefficients), plus its
    constant-only log-likelihood and its own maximum-likelihood fit."""
    Z = sm.add_constant(X)
    mod = sm.Logit(y01, Z)
    fitted = mod.fit(disp=0, tol=1e-12, maxiter=100)
    cov = np.linalg.inv(-mod.hessian(params))
    bse = np.sqrt(np.diag(cov))
    llf = mod.loglike(params)
    q = stats.norm.ppf(0.975)
    return {
        "fitted": fitted, "cov": cov, "bse": bse, "z": params / bse,
        "p": 2 * stats.norm.sf(np.abs(params / bse)), "ci_low": params - q * bse,
        "ci_high": params + q * bse, "llf": llf, "llnull": fitted.llnull,
        "prsquared": 1 - llf / fitted.llnull, "llr": 2 * (llf - fitted.llnull),
        "llr_p": stats.chi2.sf(2 * (llf - fitted.llnull), fitted.df_model),
        "aic": -2 * (llf - len(params)), "bic": -2 * llf + np.log(len(y01)) * len(params),
    }  # fmt: skip


def compare_logit(report, ref, rtol):
    t, f = report.table, report.fit
    _close(t["std_err"], ref["bse"], rtol, "Wald SE")
    _close(t["statistic"], ref["z"], rtol, "z")
    _close_p(t["p_value"], ref["p"], rtol, "p")
    _close(t["ci_low"], ref["ci_low"], rtol, "CI low")
    _close(t["ci_high"], ref["ci_high"], rtol, "CI high")
    _close_cov(report.cov, ref["cov"], rtol, "cov")
    _close(f["log_likelihood"], ref["llf"], rtol, "llf")
    _close(f["ll_null"], ref["llnull"], rtol, "llnull")
    _close(f["pseudo_r_squared"], ref["prsquared"], rtol, "McFadden R²")
    _close(f["deviance"], -2 * ref["llf"], rtol, "deviance")
    _close(f["llr"], ref["llr"], rtol, "LLR")
    _close_p(f["llr_p_value"], ref["llr_p"], rtol, "LLR p")
    _close([f["aic"], f["bic"]], [ref["aic"], ref["bic"]], rtol, "AIC, BIC")


def test_logistic_sklearn_equals_statsmodels_logit():
    from sklearn.linear_model import LogisticRegression as SkLogistic

    X, y = _logit_data()
    model = SkLogistic(C=np.inf, solver="newton-cholesky", tol=1e-12, max_iter=1000).fit(X, y)
    report = gu.diagnose(model, X, y)
    y01 = (y == "yes").astype(float)
    params = np.concatenate([model.intercept_, model.coef_[0]])
    ref = _logit_reference(X, y01, params)
    compare_logit(report, ref, RTOL)
    # scikit-learn's and statsmodels' maximum-likelihood fits agree, and so do the reports.
    fitted = ref["fitted"]
    _close(report.table["coef"], fitted.params, 1e-7, "coef vs Logit MLE")
    _close(report.table["std_err"], fitted.bse, 1e-7, "Wald SE vs Logit")
    _close(report.fit["pseudo_r_squared"], fitted.prsquared, 1e-7, "McFadden vs Logit")
    Zc = sm.add_constant(X)
    vif = [_quiet(variance_inflation_factor, Zc, j) for j in range(1, 4)]
    _close(list(report.vif.values()), vif, RTOL, "VIF")
    assert report.kind == "logistic"
    assert report.stat_label == "z"
    assert report.fit["at_mle"]
    text = report.summary()
    assert "Logit Regression Results" in text
    assert "P>|z|" in text
    assert "Pseudo R-squ." in text


needs_gu_logistic = pytest.mark.skipif(
    not hasattr(gu, "LogisticRegression"), reason="gu.LogisticRegression is not there yet"
)


@needs_gu_logistic
def test_gu_logistic_equals_statsmodels_logit(case64):
    X, y = _logit_data()
    y01 = (y == "yes").astype(float)
    model = gu.LogisticRegression(method="newton", tol=None).fit(
        case64.asarray(X), case64.asarray(y01)
    )
    report = gu.diagnose(model, case64.asarray(X), case64.asarray(y01))
    assert report.backend == case64.name
    params = report.table["coef"]
    compare_logit(report, _logit_reference(X, y01, params), RTOL)
    fitted = _logit_reference(X, y01, params)["fitted"]
    _close(params, fitted.params, 1e-8, "Newton MLE vs statsmodels' Logit")
    _close(report.table["std_err"], fitted.bse, RTOL, "Wald SE vs Logit")
    _close(report.fit["pseudo_r_squared"], fitted.prsquared, RTOL, "McFadden vs Logit")
    _close(report.fit["llr_p_value"], fitted.llr_pvalue, RTOL, "LLR p vs Logit")


@needs_gu_logistic
def test_gu_logistic_float32(case32):
    X, y = _logit_data()
    y01 = (y == "yes").astype(float)
    model = gu.LogisticRegression(method="newton").fit(case32.asarray(X), case32.asarray(y01))
    report = gu.diagnose(model, case32.asarray(X), y01)
    assert report.dtype == "float32"
    fitted = _logit_reference(X, y01, np.asarray(report.table["coef"], float))["fitted"]
    _close(report.table["std_err"], fitted.bse, F32_RTOL, "Wald SE (float32)")
    _close(report.fit["pseudo_r_squared"], fitted.prsquared, F32_RTOL, "McFadden (float32)")


@needs_gu_logistic
def test_gu_logistic_not_at_mle_is_said():
    X, y = _logit_data()
    model = gu.LogisticRegression(
        method="batch", learning_rate="constant", eta0=0.1, max_iter=3, tol=None
    ).fit(X, y)
    report = gu.diagnose(model, X, y)
    assert not report.fit["at_mle"]
    assert "not the maximum-likelihood estimate" in report.summary()
    # Still statsmodels' numbers, evaluated at the model's coefficients.
    y01 = (y == "yes").astype(float)
    compare_logit(report, _logit_reference(X, y01, report.table["coef"]), RTOL)


def test_logistic_bad_input():
    from sklearn.linear_model import LogisticRegression as SkLogistic

    X, y = _logit_data()
    model = SkLogistic(C=np.inf, solver="newton-cholesky").fit(X, y)
    with pytest.raises(ValueError, match="does not know"):
        gu.diagnose(model, X, np.where(y == "yes", "yes", "maybe"))
    with pytest.raises(ValueError, match="applies to linear models"):
        gu.diagnose(model, X, y, cov_type="HC1")
    three = np.where(X[:, 0] > 0.5, "c", y)
    multi = SkLogistic(C=np.inf, solver="newton-cholesky").fit(X, three)
    with pytest.raises(ValueError, match="binary logistic regression; this model has 3"):
        gu.diagnose(multi, X, three)
    with pytest.raises(ValueError, match="single class"):
        gu.diagnose(model, X[:50], np.full(50, "yes"))


@needs_gu_logistic
def test_cli_logistic(tmp_path, capsys):
    import pandas as pd

    X, y = _logit_data(n=300)
    csv = tmp_path / "l.csv"
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "label": y}).to_csv(csv, index=False)
    args = _cli().parse_args(["diagnose", str(csv), "--target", "label", "--model", "logistic"])
    assert args.func(args) == 0
    text = capsys.readouterr().out
    assert "Logit Regression Results" in text
    fitted = sm.Logit((y == "yes").astype(float), sm.add_constant(X)).fit(disp=0)
    assert f"{fitted.prsquared:.4f}" in text
