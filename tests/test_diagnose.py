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

import warnings

import numpy as np
import pytest
import statsmodels.api as sm
from conftest import CASES
from scipy import stats
from sklearn.datasets import load_diabetes
from statsmodels.stats import diagnostic as smd
from statsmodels.stats.outliers_influence import variance_inflation_factor
from statsmodels.stats.stattools import durbin_watson, jarque_bera, omni_normtest

import groundup as gu
from groundup import backends
from groundup.kernels import diagnostics as K

RTOL = 1e-8
# float32 carries ~7 digits (eps 1.2e-7). The diabetes design is well conditioned after
# centring (condition number of the equilibrated design ~ 40, VIF <= 60), so sums of
# squares, statistics and standard errors keep ~1e-5 relative (measured: <= 3e-5).
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


def statsmodels_reference(X, y, *, intercept=True, cov_type="nonrobust", nlags=None):
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
    infl = base.get_influence()
    ref["hat"] = infl.hat_matrix_diag
    ref["internal"] = infl.resid_studentized_internal
    ref["external"] = infl.resid_studentized_external
    ref["cooks"] = infl.cooks_distance[0]
    ref["dffits"] = infl.dffits[0]
    ref["vif"] = np.array(
        [_quiet(variance_inflation_factor, Zc, j) for j in range(1, Zc.shape[1])]
    )
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


def _assert_on_case(a, case):
    be = case.backend
    assert backends.from_array(a).name == be.name
    assert backends.from_array(a).device_name == be.device_name
    assert str(a.dtype).endswith(case.dtype)


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
        _close([w.statistic, w.extra["f_statistic"]], [ref["white"][0], ref["white"][2]], rtol, "White")
        _close_p([w.p_value, w.extra["f_p_value"]], [ref["white"][1], ref["white"][3]], rtol, "White p")
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
    _close([rs.statistic, rs.extra["chi2_statistic"]], [ref["reset"][0], ref["reset"][2]], rtol, "RESET")
    _close_p([rs.p_value, rs.extra["chi2_p_value"]], [ref["reset"][1], ref["reset"][3]], rtol, "RESET p")
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
    compare_with_statsmodels(report, statsmodels_reference(X, y), RTOL)
    for key in ("fitted", "residual", "leverage", "cooks_distance", "dffits"):
        _assert_on_case(report.influence[key], case64)
    assert report.stat_label == "t"
    if dataset == "longley":  # 16 samples, 28 White regressors
        white = report.tests["white"]
        assert not white.applicable and white.statistic is None
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
    _assert_on_case(report.influence["studentized_external"], case)
    compare_with_statsmodels(report, statsmodels_reference(X, y), F32_RTOL)


@pytest.mark.parametrize("cov_type", list(K.HC_TYPES))
def test_robust_covariance_equals_statsmodels(case64, cov_type):
    X, y, _ = _diabetes()
    model, Xd, yd = _fit_on(case64, X, y)
    # statsmodels' OLS.fit(cov_type=...) uses the normal distribution and a robust Wald F.
    report = gu.diagnose(model, Xd, yd, cov_type=cov_type)
    ref = statsmodels_reference(X, y, cov_type=cov_type)
    assert ref["use_t"] is False and report.stat_label == "z"
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
    assert report.names[0] == "x1" and not report.fit["r_squared_centered"]
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
    ref = statsmodels_reference(X, y)
    if method in ("normal", "beta"):
        compare_with_statsmodels(report, ref, RTOL)
        assert not any("least-squares optimum" in note for note in report.notes)
    else:
        assert report.fit["ssr_excess_over_ols"] > 1e-3
        assert any("not the least-squares optimum" in note for note in report.notes)
        assert "not the least-squares optimum" in report.summary()
        assert report.fit["max_coef_gap_in_se"] > 0.1
        _close(report.fit["ols_ssr"], ref["llf"] * 0 + sm.OLS(y, sm.add_constant(X)).fit().ssr,
               RTOL, "closed-form SSR")  # fmt: skip


def test_sklearn_linear_model_is_accepted():
    from sklearn.linear_model import LinearRegression as SkLinear

    X, y, _ = _diabetes()
    report = gu.diagnose(SkLinear().fit(X, y), X, y)
    assert report.backend == "numpy"
    compare_with_statsmodels(report, statsmodels_reference(X, y), RTOL)

