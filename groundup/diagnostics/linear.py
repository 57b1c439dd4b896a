"""The report of a linear regression, equal to statsmodels ``OLS`` and its diagnostics:
coefficient inference (classical or HC covariance), fit statistics, the assumption tests,
influence and collinearity. The matrix work runs on the model's device
(:mod:`groundup.kernels.diagnostics`); scalars come to the host for their distributions."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
from array_api_compat import device as _device
from scipy import stats

import groundup.diagnostics.assumptions as T
from groundup import backends
from groundup._typing import Array
from groundup._validation import check_finite
from groundup.backends import Backend, to_numpy
from groundup.diagnostics.report import DiagnosticReport
from groundup.kernels import diagnostics as K
from groundup.kernels.closed_form import range_exponents, times_power_of_two

__all__ = ["linear_report"]

WHITE_MAX_TERMS = 2000  # White's regressors: d + d (d + 1) / 2


def host(a: Any) -> np.ndarray:
    """An array of any library as a float64 NumPy array (a copy: writable)."""
    return to_numpy(a).astype(np.float64)


def _target(y: Any, be: Backend, dtype: Any) -> Array:
    """``y`` (its shape checked by ``diagnose``) validated as scikit-learn does, 1-D on ``be``."""
    if backends.is_host_input(y):
        from sklearn.utils.validation import column_or_1d

        yh = np.asarray(column_or_1d(np.asarray(y), warn=True))
        if yh.dtype.kind not in "biuf":
            msg = f"y has dtype {yh.dtype}, which is not numeric; pass real-valued y."
            raise ValueError(msg)
        y = yh.astype(np.float64)
    yd = be.xp.reshape(be.xp.astype(backends.move(y, be), dtype), (-1,))
    check_finite(yd, "y", be)
    return yd


def vif_by_name(design: K.Design, names: list[str], xp: Any) -> dict[str, float | None]:
    """The VIF of each feature (``None`` for a constant one) of a design with an intercept."""
    vif = host(K.vif(design, xp=xp))
    return {
        name: None if bool(design.constant[i]) else float(vif[i]) for i, name in enumerate(names)
    }


def _check_design(design: K.Design, names: list[str], xp: Any) -> None:
    d = len(names)
    constant = [names[i] for i in range(d) if bool(design.constant[i])]
    if constant and design.intercept:
        msg = (
            f"Feature(s) {constant} are constant: with an intercept they are collinear with "
            "it, so their coefficients and standard errors are not defined. Drop them."
        )
        raise ValueError(msg)
    if constant:
        msg = f"Feature(s) {constant} are all zero: their coefficients are not defined. Drop them."
        raise ValueError(msg)
    if design.rank < d:
        inf = xp.isinf(K.vif(design, xp=xp))
        involved = [names[i] for i in range(d) if bool(inf[i])]
        msg = (
            f"X is rank deficient (rank {design.rank} of {d} features"
            f"{' after centring' if design.intercept else ''}): features {involved} are "
            "exactly collinear, so their coefficients and standard errors are not defined. "
            "Drop or combine them."
        )
        raise ValueError(msg)


def linear_report(
    model: Any, X: Array, y: Any, be: Backend, names: list[str], target: str, opts: dict
) -> DiagnosticReport:
    """The report of a linear model (``coef_`` (n_features,), ``intercept_`` 0-d) on ``X``
    (on the model's device) and ``y`` (any library; one column of ``len(X)`` rows)."""
    xp = be.xp
    y = _target(y, be, X.dtype)
    # Columns (and y) whose fourth powers (the kurtosis) would leave the dtype's range are
    # scaled by powers of two (exact) and the results brought back (:func:`_data_units`).
    ex, ey = range_exponents(X, y, power=4, xp=xp)
    scaled = bool(xp.any(ex != 0)) or bool(ey != 0)
    if scaled:
        X, y = X * 2.0**-ex, y * 2.0**-ey
    n = X.shape[0]
    dt = X.dtype
    eps = float(xp.finfo(dt).eps)
    fit_intercept = bool(getattr(model, "fit_intercept", True))
    design = K.decompose(X, intercept=fit_intercept, xp=xp)
    _check_design(design, names, xp)
    p = design.n_params
    df_resid = n - p
    if df_resid < 1:
        msg = (
            f"Found n_samples={n}: inference on {p} parameters needs at least {p + 1} "
            "samples (one residual degree of freedom); pass more data."
        )
        raise ValueError(msg)
    coef = xp.astype(backends.move(model.coef_, be), dt)
    zero = xp.zeros((), dtype=dt, device=_device(X))
    intercept = xp.astype(backends.move(model.intercept_, be), dt) if fit_intercept else zero
    if not bool(xp.all(xp.isfinite(coef))) or not bool(xp.isfinite(intercept)):
        msg = (
            "The model's coef_ or intercept_ is not finite: there is nothing to diagnose. "
            "Refit it (scaling X or y first where its answer lies beyond the dtype's range)."
        )
        raise ValueError(msg)
    if scaled:
        coef, intercept = times_power_of_two(coef, ex - ey, xp=xp), intercept * 2.0**-ey
    fitted = X @ coef + intercept
    resid = y - fitted
    ssr = float(xp.sum(resid * resid))
    yc = y - xp.mean(y)
    tss = float(xp.sum(yc * yc)) if fit_intercept else float(xp.sum(y * y))
    if ssr <= (1e3 * eps) ** 2 * tss or tss == 0:
        msg = (
            "Perfect fit: the residuals are zero up to rounding (y is an exact linear function "
            "of X, or constant), so standard errors, p-values and assumption tests are not "
            "defined; there is nothing to diagnose."
        )
        raise ValueError(msg)
    notes: list[str] = []
    ols_resid = K.residuals_on(design, y, xp=xp)
    ssr_ols = float(xp.sum(ols_resid * ols_resid))

    # coefficients and their covariance
    params = xp.concat([xp.reshape(intercept, (1,)), coef]) if fit_intercept else coef
    leverage = K.hat_diagonal(design, xp=xp)
    cov_type = opts["cov_type"]
    if cov_type == "nonrobust":
        cov = K.gram_inverse(design, xp=xp) * (ssr / df_resid)
    else:
        w = K.hc_weights(resid, leverage, cov_type, df_resid, xp=xp)
        cov = K.sandwich(design, w, xp=xp)
    use_t = opts["use_t"] if opts["use_t"] is not None else cov_type == "nonrobust"
    params_h = host(params)
    cov_h = host(cov)
    table = coef_table(params_h, cov_h, use_t, df_resid, opts["alpha"])
    # how far the coefficients are from the least-squares optimum of these data
    c, b0 = K.least_squares(design, y, xp=xp)
    ols = np.concatenate([[float(b0)], host(c)]) if fit_intercept else host(c)
    excess = (ssr - ssr_ols) / ssr_ols if ssr_ols > 0 else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        gap_se = float(np.max(np.abs(params_h - ols) / table["std_err"]))
    if excess > math.sqrt(eps):
        notes.append(
            f"The coefficients are not the least-squares optimum of these data (method "
            f"{getattr(model, 'method', type(model).__name__)!r}): the sum of squared residuals "
            f"is {100 * excess:.3g}% above the closed form's and the coefficients differ from it "
            f"by up to {gap_se:.3g} standard errors. Standard errors and tests below are "
            "evaluated at the model's coefficients but assume least squares; refit with "
            "method='normal' for exact inference."
        )

    # fit statistics
    k_const = int(fit_intercept)
    df_model = p - k_const
    r2 = 1.0 - ssr / tss
    if cov_type == "nonrobust":
        fstat = ((tss - ssr) / df_model) / (ssr / df_resid)
    else:
        fstat = float(K.wald_slopes(params, cov, intercept=fit_intercept, xp=xp)) / df_model
    llf = -n / 2.0 * math.log(2 * math.pi) - n / 2.0 * math.log(ssr / n) - n / 2.0
    sv = host(K.singular_values(X, intercept=fit_intercept, xp=xp))
    eig_min = float(sv[-1] ** 2)
    cond = float(np.sqrt(sv[0] ** 2 / eig_min)) if eig_min > 0 else math.inf
    fit = {
        "n_samples": n, "n_params": p, "df_model": df_model, "df_resid": df_resid,
        "r_squared": r2, "adj_r_squared": 1.0 - (n - k_const) / df_resid * (1.0 - r2),
        "r_squared_centered": fit_intercept, "f_statistic": fstat,
        "f_p_value": float(stats.f.sf(fstat, df_model, df_resid)), "log_likelihood": llf,
        "aic": -2 * llf + 2 * p, "bic": -2 * llf + math.log(n) * p, "scale": ssr / df_resid,
        "ssr": ssr, "condition_number": cond, "min_eigenvalue": eig_min,
        "ols_ssr": ssr_ols, "ssr_excess_over_ols": excess, "max_coef_gap_in_se": gap_se,
    }  # fmt: skip
    if not fit_intercept:
        notes.append("R² is uncentered: the model has no intercept (as statsmodels reports).")
    if eig_min < 1e-10:
        notes.append(
            f"The smallest eigenvalue of ZᵀZ is {eig_min:.3g}: strong multicollinearity or a "
            "nearly singular design."
        )
    elif cond > 1000:
        notes.append(
            f"The condition number is large, {cond:.3g} (statsmodels' rule: > 1000): strong "
            "multicollinearity, or features on very different scales / far from zero."
        )

    # influence and collinearity (on the device)
    with np.errstate(divide="ignore", invalid="ignore"):  # leverage 1: explained below
        infl = K.influence(resid, leverage, ssr, df_resid, p, xp=xp)
    influence = {"fitted": fitted, "residual": resid, **infl}
    if df_resid < 2:
        notes.append(
            "Externally studentized residuals and DFFITS need n_samples >= n_params + 2 "
            f"(got {n} for {p}): they are NaN."
        )
    if float(xp.max(leverage)) >= 1.0 - 1e3 * eps:
        notes.append(
            "Some observations have leverage 1 (each alone determines a parameter): their "
            "studentized residuals, Cook's distance and DFFITS are not defined (inf/NaN)."
        )

    tests = _linear_tests(X, y, design, resid, fitted, ssr_ols, be, names, opts)
    if scaled:
        _data_units(table, cov_h, fit, influence, to_numpy(ex), float(ey), fit_intercept, notes)
    vif_design = design if fit_intercept else K.decompose(X, intercept=True, xp=xp)
    return report(
        "linear", model, target, be, dt, names, fit_intercept, table=table, fit=fit, tests=tests,
        stat_label="t" if use_t else "z", vif=vif_by_name(vif_design, names, xp),
        influence=influence, notes=notes, alpha=opts["alpha"], cov_type=cov_type, cov=cov_h,
    )  # fmt: skip


def report(
    kind: str, model: Any, target: str, be: Backend, dt: Any, names: list[str],
    fit_intercept: bool, **rest: Any,
) -> DiagnosticReport:  # fmt: skip
    """The report of ``model`` on ``be`` in dtype ``dt``, with ``rest`` (its numbers)."""
    method, solver = getattr(model, "method", None), getattr(model, "solver_", None)
    if not isinstance(method, str):
        method = type(model).__name__
    elif solver and solver != method:
        method = f"{method} ({solver})"
    return DiagnosticReport(
        kind=kind, model_name=type(model).__name__, method=method,
        names=(["const"] if fit_intercept else []) + names, backend=be.name,
        device=be.device_name, dtype="float32" if dt == be.xp.float32 else "float64",
        target=target, **rest,
    )  # fmt: skip


SCALED_NOTE = (
    "Some features or the target are too large or too small for their powers to stay in "
    "the dtype's range: the statistics were computed on them multiplied by powers of two "
    "(exact, and undone on the results); the condition number and smallest eigenvalue are "
    "those of that scaled design."
)


def table_units(table: dict, cov: np.ndarray, k: np.ndarray) -> None:
    """Coefficients, standard errors, intervals and their covariance times ``2**k`` (per
    parameter), in place (``np.ldexp``: exact, ``inf`` where beyond float64)."""
    k = np.asarray(k, dtype=int)
    with np.errstate(over="ignore", under="ignore"):
        for key in ("coef", "std_err", "ci_low", "ci_high"):
            table[key] = np.ldexp(table[key], k)
        cov[...] = np.ldexp(cov, k[:, None] + k[None, :])


def _data_units(
    table: dict, cov: np.ndarray, fit: dict, influence: dict, ex: np.ndarray, ey: float,
    fit_intercept: bool, notes: list[str],
) -> None:  # fmt: skip
    """The report of the data scaled by ``2**-ex`` (columns) and ``2**-ey`` (y), in place, in
    the data's own units."""
    table_units(table, cov, np.concatenate([[ey], ey - ex] if fit_intercept else [ey - ex]))
    with np.errstate(over="ignore"):
        for key in ("ssr", "ols_ssr", "scale"):
            fit[key] = float(np.ldexp(fit[key], 2 * int(ey)))
    shift = fit["n_samples"] * ey * math.log(2.0)
    fit["log_likelihood"] -= shift
    fit["aic"], fit["bic"] = fit["aic"] + 2 * shift, fit["bic"] + 2 * shift
    for key in ("fitted", "residual"):
        influence[key] = influence[key] * 2.0**ey
    notes.append(SCALED_NOTE)


def coef_table(
    params: np.ndarray, cov: np.ndarray, use_t: bool, df_resid: int, alpha: float
) -> dict[str, np.ndarray]:
    bse = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    dist = stats.t(df_resid) if use_t else stats.norm()
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = params / bse
    pval = 2.0 * dist.sf(np.abs(stat))
    q = dist.ppf(1.0 - alpha / 2.0)
    return {
        "coef": params, "std_err": bse, "statistic": stat, "p_value": pval,
        "ci_low": params - q * bse, "ci_high": params + q * bse,
    }  # fmt: skip


def _linear_tests(
    X: Array, y: Array, design: K.Design, resid: Array, fitted: Array, ssr_ols: float,
    be: Backend, names: list[str], opts: dict,
) -> dict[str, T.TestResult]:  # fmt: skip
    xp = be.xp
    n, d = X.shape
    alpha = opts["alpha"]
    p = design.n_params
    fi = design.intercept
    out: dict[str, T.TestResult] = {}

    # homoscedasticity
    e2 = resid * resid
    bp = K.aux_regression(X, e2, xp=xp)
    out["breusch_pagan"] = T.het_lm("breusch_pagan", bp, d, alpha)
    n_white = d + d * (d + 1) // 2
    if n <= n_white + 1:
        out["white"] = T.skipped(
            "white",
            f"White's regression has {n_white + 1} terms (constant, {d} features, their "
            f"squares and cross products) and needs more than {n_white + 1} samples (got {n})",
        )
    elif n_white > WHITE_MAX_TERMS:
        out["white"] = T.skipped(
            "white",
            f"{n_white} squares and cross products of {d} features is too many "
            f"(limit {WHITE_MAX_TERMS}); Breusch-Pagan covers the linear part",
        )
    else:
        wt = K.white_terms(X - design.mean if fi else X - xp.mean(X, axis=0), xp=xp)
        wf = K.aux_regression(wt, e2, xp=xp)
        out["white"] = T.het_lm("white", wf, None, alpha)
    out["goldfeld_quandt"] = _goldfeld_quandt(X, y, fitted, fi, p, names, opts, xp)

    # normality
    mean, m2, m3, m4 = (float(m) for m in K.residual_moments(resid, xp=xp))
    sk = T.skew_kurtosis(m2, m3, m4, mean, float(xp.finfo(X.dtype).eps))
    if sk is None:
        for key in ("jarque_bera", "omnibus"):
            out[key] = T.skipped(key, "the residuals have zero variance")
    else:
        out["jarque_bera"] = T.jarque_bera(*sk, n, alpha)
        out["omnibus"] = T.omnibus(*sk, n, alpha)
    out["shapiro_wilk"] = T.shapiro_wilk(host(resid), alpha)

    # independence
    out["durbin_watson"] = T.durbin_watson(float(K.durbin_watson(resid, xp=xp)))
    nlags = opts["bg_nlags"] if opts["bg_nlags"] is not None else min(10, n // 5)
    if nlags < 1:
        out["breusch_godfrey"] = T.skipped(
            "breusch_godfrey",
            f"the default number of lags, min(10, n // 5), is 0 for n = {n}: needs at least "
            "5 samples (or pass bg_nlags)",
        )
    else:
        lags = K.lagged(resid, nlags, xp=xp)
        unres = K.aux_regression(xp.concat([X, lags], axis=1), resid, xp=xp)
        res_r = K.aux_regression(X, resid, xp=xp)
        out["breusch_godfrey"] = T.breusch_godfrey(unres, float(res_r.ssr), nlags, alpha)

    # functional form
    powers = tuple(range(2, opts["reset_power"] + 1))
    q = len(powers)
    aug = K.reset_terms(fitted, powers, xp=xp)
    if n <= p + q:
        out["reset"] = T.skipped("reset", T.too_few("augmented", p + q, n))
    else:
        ures = K.aux_regression(xp.concat([X, aug], axis=1), y, intercept=fi, xp=xp)
        if ures.rank < p + q:
            out["reset"] = T.skipped(
                "reset",
                "the powers of the fitted values are collinear with the features "
                "(e.g. constant fitted values)",
            )
        else:
            out["reset"] = T.reset(ures, ssr_ols, q, alpha)
    return out


def _goldfeld_quandt(
    X: Array, y: Array, fitted: Array, fi: bool, p: int, names: list[str], opts: dict, xp: Any
) -> T.TestResult:
    n = X.shape[0]
    sort = opts["gq_sort"]
    if sort is None:
        label = "data order"
    elif isinstance(sort, str) and sort == "fitted":
        label = "fitted values"
        order = xp.argsort(fitted, stable=True)
    else:
        j = names.index(sort) if isinstance(sort, str) and sort in names else sort
        if isinstance(j, bool) or not isinstance(j, numbers.Integral) or not 0 <= j < len(names):
            msg = (
                f"gq_sort={sort!r} is not 'fitted', None, a feature index in [0, {len(names)}) "
                f"or a feature name ({names})."
            )
            raise ValueError(msg)
        label = names[int(j)]
        order = xp.argsort(X[:, int(j)], stable=True)
    if sort is not None:
        X, y = xp.take(X, order, axis=0), xp.take(y, order, axis=0)
    split = n // 2
    drop = opts["gq_drop"]
    start2 = split if drop is None else split + (int(n * drop) if 0 < drop < 1 else int(drop))
    n1, n2 = split, n - start2
    if min(n1, n2) <= p:
        return T.skipped(
            "goldfeld_quandt",
            f"each half needs more than {p} samples (the number of parameters); the halves "
            f"have {n1} and {n2} of n = {n}",
        )
    first = K.aux_regression(X[:split, :], y[:split], intercept=fi, xp=xp)
    second = K.aux_regression(X[start2:, :], y[start2:], intercept=fi, xp=xp)
    return T.goldfeld_quandt(first, second, opts["gq_alternative"], label, opts["alpha"])
