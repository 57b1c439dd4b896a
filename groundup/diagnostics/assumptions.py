"""The assumption tests of ``gu.diagnose``: from the Python floats (sums of squares, ranks,
moments) of :mod:`groundup.kernels.diagnostics` to statistics, ``scipy.stats`` p-values and
one-line verdicts, each a :class:`TestResult` (or one marked not applicable, with the reason)."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

from scipy import stats

from groundup.kernels.diagnostics import AuxFit

HETERO_REMEDY = (
    "use heteroscedasticity-robust standard errors (cov_type='HC3'), transform y "
    "(e.g. log), or weighted least squares"
)
NORMAL_REMEDY = (
    "t and F p-values are only approximate; look for outliers (Cook's distance), "
    "transform y, or rely on large-sample / bootstrap inference"
)
AUTO_REMEDY = "add lagged or trend terms, or use HAC (Newey-West) standard errors / GLS"
FORM_REMEDY = "add polynomial or interaction terms, or transform the variables"


@dataclass
class TestResult:
    """One assumption test.

    Attributes
    ----------
    key, name, assumption : str
        Identifier, display name and what it checks (``"breusch_pagan"``,
        ``"Breusch-Pagan"``, ``"homoscedasticity"``).
    statistic : float or None
        ``None`` when not applicable.
    p_value : float or None
        ``None`` when not applicable or when the test has no p-value (Durbin-Watson).
    df : tuple of float or None
        Degrees of freedom of the reference distribution.
    applicable : bool
    verdict : str
        One line: the conclusion at ``alpha`` and, when the assumption fails, the remedy.
    reason : str
        Why the test is not applicable (empty otherwise).
    rejected : bool or None
        Whether the assumption is rejected at ``alpha`` (``None``: not applicable).
    extra : dict
        Companion statistics (the F form of an LM test, skew and kurtosis, ...).
    """

    key: str
    name: str
    assumption: str
    statistic: float | None
    p_value: float | None
    df: tuple[float, ...] | None
    applicable: bool
    verdict: str
    reason: str = ""
    rejected: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    __test__ = False  # not a pytest test class

    def to_dict(self) -> dict[str, Any]:
        """Plain Python values (JSON-ready)."""
        return {
            "name": self.name,
            "assumption": self.assumption,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "df": list(self.df) if self.df is not None else None,
            "applicable": self.applicable,
            "rejected": self.rejected,
            "verdict": self.verdict,
            "reason": self.reason,
            **self.extra,
        }


#: Each test's name and the assumption it checks, by key.
TESTS: dict[str, tuple[str, str]] = {
    "breusch_pagan": ("Breusch-Pagan", "homoscedasticity"),
    "white": ("White", "homoscedasticity"),
    "goldfeld_quandt": ("Goldfeld-Quandt", "homoscedasticity"),
    "jarque_bera": ("Jarque-Bera", "normality"),
    "omnibus": ("Omnibus (D'Agostino-Pearson)", "normality"),
    "shapiro_wilk": ("Shapiro-Wilk", "normality"),
    "durbin_watson": ("Durbin-Watson", "independence"),
    "breusch_godfrey": ("Breusch-Godfrey", "independence"),
    "reset": ("Ramsey RESET", "linearity"),
}


def skipped(key: str, reason: str) -> TestResult:
    """The test ``key`` marked not applicable on these data, with the reason."""
    return TestResult(
        key, *TESTS[key], None, None, None, False, f"not applicable: {reason}", reason
    )


def too_few(regression: str, k: int, n: int) -> str:
    """Why an auxiliary (or augmented) regression of ``k`` parameters cannot run on ``n``."""
    what = f"the {regression} regression has {k} parameters"
    return f"{what} and needs more than {k} samples (got {n})"


def _decide(
    key: str, stat: float, p: float, df: tuple[float, ...], alpha: float, failed: str,
    remedy: str, passed: str, extra: dict[str, Any] | None = None,
) -> TestResult:  # fmt: skip
    rejected = bool(p < alpha)
    verdict = (
        f"{failed} (p = {p:.3g} < {alpha:g}): {remedy}."
        if rejected
        else f"{passed} (p = {p:.3g} >= {alpha:g})."
    )
    return TestResult(key, *TESTS[key], stat, p, df, True, verdict, "", rejected, extra or {})


LM_FAILED = {
    "breusch_pagan": "heteroscedasticity detected: the residual variance depends on the features",
    "white": (
        "heteroscedasticity detected (variance depends on the features, their squares or products)"
    ),
}


def het_lm(key: str, aux: AuxFit, df: int | None, alpha: float) -> TestResult:
    """A heteroscedasticity LM test, ``n R²`` of the squared residuals' auxiliary regression
    ``aux`` ~ chi²(df) (``None``: its rank − 1), the F form in ``extra``: statsmodels'
    ``het_breuschpagan`` (Koenker's, ``df`` the number of features) or ``het_white``."""
    ssr, ctss, n, rank = float(aux.ssr), float(aux.centered_tss), aux.n, aux.rank
    dfm, dfr = rank - 1, aux.df_resid
    if ctss <= 0:
        return skipped(key, "the auxiliary regression's dependent variable is constant")
    if dfr < 1:
        return skipped(key, too_few("auxiliary", rank, n))
    if dfm < 1:
        return skipped(key, "the auxiliary regression has no regressor besides the constant")
    if ssr <= 0:
        return skipped(key, "the auxiliary regression fits exactly (R² = 1)")
    lm = n * (1.0 - ssr / ctss)
    f = ((ctss - ssr) / dfm) / (ssr / dfr)
    df = dfm if df is None else df
    p = float(stats.chi2.sf(lm, df))
    extra = {"f_statistic": f, "f_p_value": float(stats.f.sf(f, dfm, dfr)), "f_df": [dfm, dfr]}
    return _decide(
        key, lm, p, (float(df),), alpha, LM_FAILED[key], HETERO_REMEDY,
        "no evidence of heteroscedasticity", extra,
    )  # fmt: skip


def goldfeld_quandt(
    first: AuxFit, second: AuxFit, alternative: str, sort_by: str, alpha: float
) -> TestResult:
    """Goldfeld-Quandt: ``F = mse₂ / mse₁`` of the two halves, ~ F(df₂, df₁) (statsmodels
    0.15's one-sided p-values swap them: equal for halves of one size and for two-sided)."""
    ssr1, df1, ssr2, df2 = float(first.ssr), first.df_resid, float(second.ssr), second.df_resid
    if ssr1 <= 0:
        return skipped("goldfeld_quandt", "the first half is fitted exactly (zero residuals)")
    f = (ssr2 / df2) / (ssr1 / df1)
    if alternative == "increasing":
        p = float(stats.f.sf(f, df2, df1))
    elif alternative == "decreasing":
        p = float(stats.f.sf(1.0 / f, df1, df2)) if f > 0 else 0.0
    else:
        p = 2.0 * min(float(stats.f.cdf(f, df2, df1)), float(stats.f.sf(f, df2, df1)))
    extra = {"alternative": alternative, "sorted_by": sort_by}
    return _decide(
        "goldfeld_quandt", f, p, (float(df2), float(df1)), alpha,
        f"residual variance differs between the low and high halves by {sort_by}",
        HETERO_REMEDY, "no evidence that the variance changes between the halves", extra,
    )  # fmt: skip


def skew_kurtosis(
    m2: float, m3: float, m4: float, mean: float, eps: float
) -> tuple[float, float] | None:
    """Biased skewness and (Pearson) kurtosis, or ``None`` when the variance is zero
    (scipy's rule ``m2 <= (eps * mean)²``)."""
    if m2 <= (eps * mean) ** 2 or m2 <= 0:
        return None
    return m3 / m2**1.5, m4 / m2**2


def jarque_bera(skew: float, kurt: float, n: int, alpha: float) -> TestResult:
    """Jarque-Bera (statsmodels' ``jarque_bera``)."""
    jb = n / 6.0 * (skew**2 + 0.25 * (kurt - 3.0) ** 2)
    return _decide(
        "jarque_bera", jb, float(stats.chi2.sf(jb, 2)), (2.0,), alpha,
        "residuals are not normal (skew / kurtosis)", NORMAL_REMEDY,
        "no evidence against normal residuals", {"skew": skew, "kurtosis": kurt},
    )  # fmt: skip


def _skew_z(b2: float, n: float) -> float:
    """D'Agostino's transformed skewness (scipy's ``skewtest``)."""
    y = b2 * math.sqrt(((n + 1) * (n + 3)) / (6.0 * (n - 2)))
    beta2 = (
        3.0 * (n**2 + 27 * n - 70) * (n + 1) * (n + 3) / ((n - 2.0) * (n + 5) * (n + 7) * (n + 9))
    )
    w2 = -1 + math.sqrt(2 * (beta2 - 1))
    delta = 1 / math.sqrt(0.5 * math.log(w2))
    alpha = math.sqrt(2.0 / (w2 - 1))
    y = 1.0 if y == 0 else y
    return delta * math.log(y / alpha + math.sqrt((y / alpha) ** 2 + 1))


def _kurtosis_z(b2: float, n: float) -> float | None:
    """Anscombe-Glynn's transformed kurtosis (scipy's ``kurtosistest``)."""
    e = 3.0 * (n - 1) / (n + 1)
    varb2 = 24.0 * n * (n - 2) * (n - 3) / ((n + 1) * (n + 1.0) * (n + 3) * (n + 5))
    x = (b2 - e) / varb2**0.5
    sqrtbeta1 = 6.0 * (n * n - 5 * n + 2) / ((n + 7) * (n + 9))
    sqrtbeta1 *= ((6.0 * (n + 3) * (n + 5)) / (n * (n - 2) * (n - 3))) ** 0.5
    a = 6.0 + 8.0 / sqrtbeta1 * (2.0 / sqrtbeta1 + (1 + 4.0 / (sqrtbeta1**2)) ** 0.5)
    term1 = 1 - 2 / (9.0 * a)
    denom = 1 + x * (2 / (a - 4.0)) ** 0.5
    if denom == 0:
        return None
    term2 = math.copysign(((1 - 2.0 / a) / abs(denom)) ** (1 / 3), denom)
    return (term1 - term2) / (2 / (9.0 * a)) ** 0.5


OMNIBUS_MIN_N = 8


def omnibus(skew: float, kurt: float, n: int, alpha: float) -> TestResult:
    """D'Agostino-Pearson omnibus test (``scipy.stats.normaltest``, statsmodels'
    ``omni_normtest``), from the skewness and kurtosis alone."""
    if n < OMNIBUS_MIN_N:
        return skipped("omnibus", f"needs at least {OMNIBUS_MIN_N} samples (got {n})")
    zk = _kurtosis_z(kurt, float(n))
    if zk is None:
        return skipped("omnibus", "the kurtosis transform is undefined here (division by zero)")
    zs = _skew_z(skew, float(n))
    k2 = zs * zs + zk * zk
    extra: dict[str, Any] = {"skew_z": zs, "kurtosis_z": zk}
    if n < 20:
        extra["note"] = f"the kurtosis part is approximate with fewer than 20 samples (n = {n})"
    return _decide(
        "omnibus", k2, float(stats.chi2.sf(k2, 2)), (2.0,), alpha, "residuals are not normal",
        NORMAL_REMEDY, "no evidence against normal residuals", extra,
    )  # fmt: skip


def shapiro_wilk(resid_host: Any, alpha: float) -> TestResult:
    """``scipy.stats.shapiro`` of the host residuals over their largest magnitude (W is
    scale-free; scipy's "range zero" check is not: residuals of 1e-20 are not constant)."""
    n = len(resid_host)
    if n < 3:
        return skipped("shapiro_wilk", f"needs at least 3 samples (got {n})")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        top = float(abs(resid_host).max())
        w, p = stats.shapiro(resid_host / top if top > 0 else resid_host)
    extra = {"note": "; ".join(str(c.message) for c in caught)} if caught else {}
    return _decide(
        "shapiro_wilk", float(w), float(p), (float(n),), alpha, "residuals are not normal",
        NORMAL_REMEDY, "no evidence against normal residuals", extra,
    )  # fmt: skip


def durbin_watson(dw: float) -> TestResult:
    """Durbin-Watson: a rule of thumb with no p-value, flagged (``rejected``) outside [1.5, 2.5]."""
    rejected = dw < 1.5 or dw > 2.5
    if rejected:
        sign, bound = ("positive", "< 1.5") if dw < 1.5 else ("negative", "> 2.5")
        verdict = (
            f"{sign} autocorrelation possible by the rule of thumb (DW = {dw:.3f} {bound}; a "
            f"rule with no p-value: Breusch-Godfrey is the test): {AUTO_REMEDY}."
        )
    else:
        verdict = f"no sign of first-order autocorrelation (DW = {dw:.3f}, near 2)."
    return TestResult(
        "durbin_watson", *TESTS["durbin_watson"], dw, None, None, True, verdict, "", rejected
    )


def breusch_godfrey(lags: AuxFit, ssr_r: float, nlags: int, alpha: float) -> TestResult:
    """Breusch-Godfrey LM test (statsmodels' ``acorr_breusch_godfrey``): the residuals on the
    features and their ``nlags`` lags, ``lags``, against ``ssr_r``, on the features alone."""
    ssr_u, ctss, n, df_resid = float(lags.ssr), float(lags.centered_tss), lags.n, lags.df_resid
    if ctss <= 0 or ssr_u <= 0:
        return skipped("breusch_godfrey", "the residuals are fitted exactly by their lags")
    if df_resid < 1:
        return skipped("breusch_godfrey", too_few("auxiliary", lags.rank, n))
    lm = n * (1.0 - ssr_u / ctss)
    f = ((ssr_r - ssr_u) / nlags) / (ssr_u / df_resid)
    extra = {"nlags": nlags, "f_statistic": f, "f_p_value": float(stats.f.sf(f, nlags, df_resid)),
             "f_df": [nlags, df_resid]}  # fmt: skip
    return _decide(
        "breusch_godfrey", lm, float(stats.chi2.sf(lm, nlags)), (float(nlags),), alpha,
        f"residuals are autocorrelated (up to lag {nlags})", AUTO_REMEDY,
        "no evidence of autocorrelation", extra,
    )  # fmt: skip


def reset(augmented: AuxFit, ssr_r: float, q: int, alpha: float) -> TestResult:
    """Ramsey's RESET, statsmodels' ``linear_reset``: the F form, the chi² form in ``extra``."""
    ssr_u, df_resid = float(augmented.ssr), augmented.df_resid
    if ssr_u <= 0:
        return skipped("reset", "the augmented regression fits exactly")
    f = ((ssr_r - ssr_u) / q) / (ssr_u / df_resid)
    extra = {
        "powers": q + 1,
        "chi2_statistic": q * f,
        "chi2_p_value": float(stats.chi2.sf(q * f, q)),
    }
    return _decide(
        "reset", f, float(stats.f.sf(f, q, df_resid)), (float(q), float(df_resid)), alpha,
        "the linear form is misspecified (powers of the fitted values add explanatory power)",
        FORM_REMEDY, "no evidence of a misspecified functional form", extra,
    )  # fmt: skip
