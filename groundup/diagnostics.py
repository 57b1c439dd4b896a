"""``gu.diagnose``: inference and assumption checks for a fitted linear model, equal to
statsmodels, on the model's backend and device.

>>> import groundup as gu
>>> model = gu.LinearRegression().fit(X, y)                       # doctest: +SKIP
>>> report = gu.diagnose(model, X, y)                             # doctest: +SKIP
>>> print(report.summary())                                       # doctest: +SKIP

The matrix work (one SVD of the centred design, auxiliary regressions, influence) runs in
:mod:`groundup.kernels.diagnostics` on the model's device; sums of squares, ranks and
moments come to the host as Python floats for their distributions (``scipy.stats``). The
exception is Shapiro-Wilk, whose algorithm needs the sorted residuals: they are copied to
the host for that one test.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
from array_api_compat import device as _device
from scipy import stats
from sklearn.utils.validation import check_is_fitted

from groundup import _diagnostic_tests as T
from groundup import backends
from groundup._diagnostic_report import DiagnosticReport
from groundup._typing import Array
from groundup._validation import check_finite, prepare_predict
from groundup.backends import Backend
from groundup.kernels import diagnostics as K

__all__ = ["DiagnosticReport", "diagnose", "register_cli"]

COV_TYPES = ("nonrobust", *K.HC_TYPES)
GQ_ALTERNATIVES = ("increasing", "decreasing", "two-sided")
WHITE_MAX_TERMS = 2000  # White's regressors: d + d (d + 1) / 2


# -- options ------------------------------------------------------------------------------


def _check_options(
    alpha: Any, cov_type: Any, use_t: Any, bg_nlags: Any, reset_power: Any,
    gq_drop: Any, gq_alternative: Any,
) -> str:  # fmt: skip
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < alpha < 1:
        msg = f"alpha must be a significance level in (0, 1), got {alpha!r} (e.g. alpha=0.05)."
        raise ValueError(msg)
    names = {c.lower(): c for c in COV_TYPES}
    if not isinstance(cov_type, str) or cov_type.lower() not in names:
        msg = f"Unknown cov_type {cov_type!r}; choose one of {list(COV_TYPES)}."
        raise ValueError(msg)
    if use_t is not None and not isinstance(use_t, bool):
        msg = f"use_t must be True, False or None, got {use_t!r}."
        raise TypeError(msg)
    if bg_nlags is not None and (
        isinstance(bg_nlags, bool) or not isinstance(bg_nlags, numbers.Integral) or bg_nlags < 1
    ):
        msg = f"bg_nlags must be a positive integer or None, got {bg_nlags!r}."
        raise ValueError(msg)
    if (
        isinstance(reset_power, bool)
        or not isinstance(reset_power, numbers.Integral)
        or reset_power < 2
    ):
        msg = f"reset_power must be an integer >= 2, got {reset_power!r}."
        raise ValueError(msg)
    if gq_drop is not None and (
        isinstance(gq_drop, bool) or not isinstance(gq_drop, numbers.Real) or gq_drop < 0
    ):
        msg = f"gq_drop must be None, a fraction in (0, 1) or a number of samples, got {gq_drop!r}."
        raise ValueError(msg)
    if gq_alternative not in GQ_ALTERNATIVES:
        msg = f"Unknown gq_alternative {gq_alternative!r}; choose one of {list(GQ_ALTERNATIVES)}."
        raise ValueError(msg)
    return names[cov_type.lower()]


# -- the model ----------------------------------------------------------------------------


def _model_kind(model: Any) -> str:
    if isinstance(model, type) or not hasattr(model, "fit") or not hasattr(model, "predict"):
        msg = (
            f"diagnose needs a fitted estimator (gu.LinearRegression or gu.LogisticRegression), "
            f"got {type(model).__name__}."
        )
        raise TypeError(msg)
    check_is_fitted(model)
    coef = getattr(model, "coef_", None)
    if coef is None or not hasattr(model, "intercept_"):
        msg = (
            f"{type(model).__name__} is not a linear model (it has no coef_ / intercept_); "
            "diagnose explains linear and logistic regressions: fit gu.LinearRegression or "
            "gu.LogisticRegression."
        )
        raise TypeError(msg)
    if hasattr(model, "classes_"):
        return "logistic"
    if len(getattr(coef, "shape", ())) != 1:
        msg = (
            f"{type(model).__name__}.coef_ has shape {tuple(coef.shape)}; diagnose needs one "
            "target (coef_ of shape (n_features,))."
        )
        raise ValueError(msg)
    return "linear"


def _model_backend(model: Any) -> Backend:
    if hasattr(model, "backend_") and hasattr(model, "_model_backend"):
        return model._model_backend()
    return backends.from_array(model.coef_)


def _on(be: Backend, a: Any, dtype: Any) -> Array:
    """A model attribute (``coef_``, ``intercept_``) as an array of ``be`` in ``dtype``."""
    src = backends.from_array(a)
    arr = a if backends.same_place(src, be) else be.asarray(np.asarray(src.to_numpy(a)))
    return be.xp.astype(be.asarray(arr), dtype)


def _feature_names(model: Any, X: Any, d: int) -> list[str]:
    names = getattr(model, "feature_names_in_", None)
    if names is None and hasattr(X, "columns"):
        names = [str(c) for c in X.columns]
    if names is None or len(names) != d:
        return [f"x{i + 1}" for i in range(d)]
    return [str(c) for c in names]


def _target_name(y: Any) -> str:
    name = getattr(y, "name", None)
    return str(name) if isinstance(name, str) and name else "y"


def _target(y: Any, be: Backend, dtype: Any, n: int) -> Array:
    """``y`` as a 1-D array on the model's device, validated like scikit-learn's."""
    src = backends.from_array(y)
    if backends.is_host_input(y):
        from sklearn.utils.validation import column_or_1d

        yh = np.asarray(column_or_1d(np.asarray(y), warn=True))
        if yh.dtype.kind not in "biuf":
            msg = f"y has dtype {yh.dtype}, which is not numeric; pass real-valued y."
            raise ValueError(msg)
        yd = be.asarray(yh.astype(np.float64))
    else:
        yd = y if backends.same_place(src, be) else be.asarray(src.to_numpy(y))
        if yd.ndim == 2 and yd.shape[1] == 1:
            yd = be.xp.reshape(yd, (-1,))
        if yd.ndim != 1:
            msg = f"y should be a 1d array, got an array of shape {tuple(yd.shape)} instead."
            raise ValueError(msg)
    if yd.shape[0] != n:
        msg = f"Found input variables with inconsistent numbers of samples: [{n}, {yd.shape[0]}]"
        raise ValueError(msg)
    yd = be.xp.astype(yd, dtype)
    check_finite(yd, "y", be)
    return yd


# -- the public entry -----------------------------------------------------------------------


def diagnose(
    model: Any,
    X: Any,
    y: Any,
    *,
    alpha: float = 0.05,
    cov_type: str = "nonrobust",
    use_t: bool | None = None,
    bg_nlags: int | None = None,
    reset_power: int = 3,
    gq_sort: Any = "fitted",
    gq_drop: float | None = None,
    gq_alternative: str = "two-sided",
) -> DiagnosticReport:
    """Inference, assumption tests, influence and collinearity for a fitted linear model.

    Every number equals statsmodels' (``OLS``, ``het_breuschpagan``, ``het_white``,
    ``het_goldfeldquandt``, ``jarque_bera``, ``omni_normtest``, ``durbin_watson``,
    ``acorr_breusch_godfrey``, ``linear_reset``, ``OLSInfluence``,
    ``variance_inflation_factor``, ``Logit``) and scipy's ``shapiro``, computed on the
    model's backend and device.

    Parameters
    ----------
    model : fitted estimator
        A :class:`~groundup.LinearRegression` fitted by any method (or a scikit-learn linear
        regressor), or a binary logistic regression (``coef_`` of shape (1, n_features),
        ``classes_``). Its ``coef_`` and ``intercept_`` are used as they are; when they are
        not the least-squares optimum of ``X``, ``y`` (a gradient method stopped early, a
        penalty, sample weights: the diagnostics are those of the unweighted fit) the
        report says so and by how much.
    X : array of shape (n_samples, n_features)
        Any supported library; moved to the model's backend and device.
    y : array of shape (n_samples,)
        Targets (linear) or class labels (logistic).
    alpha : float, default=0.05
        Significance level of the verdicts; the confidence intervals are ``1 − alpha``.
    cov_type : {"nonrobust", "HC0", "HC1", "HC2", "HC3"}, default="nonrobust"
        Covariance of the coefficients: classical, or White / MacKinnon-White
        heteroscedasticity-consistent (linear models).
    use_t : bool or None, default=None
        Student's t (True) or the normal distribution (False) for coefficient p-values and
        intervals. ``None`` follows statsmodels' ``OLS.fit``: t for ``"nonrobust"``, normal
        for the HC types (statsmodels' ``get_robustcov_results`` keeps t: pass True).
    bg_nlags : int or None, default=None
        Lags of the Breusch-Godfrey test; ``None``: ``min(10, n_samples // 5)``.
    reset_power : int, default=3
        Highest power of the fitted values in Ramsey's RESET (powers 2..reset_power).
    gq_sort : "fitted", int, str or None, default="fitted"
        Goldfeld-Quandt orders the samples by the fitted values, by a feature (index or
        name) or, with ``None``, keeps the data order (statsmodels' default).
    gq_drop : float or None, default=None
        Samples left out between the two halves (a fraction in (0, 1) or a count).
    gq_alternative : {"two-sided", "increasing", "decreasing"}, default="two-sided"

    Returns
    -------
    DiagnosticReport
        ``summary()``, ``to_frame()``, ``to_dict()``, ``plot()``.

    Raises
    ------
    NotFittedError
        The model is not fitted.
    TypeError
        The model is not a linear or logistic regression.
    ValueError
        Bad input (shape, NaN, a constant feature next to the intercept, collinear
        features, too few samples, a perfect fit); the message names the fix.
    """
    cov_type = _check_options(
        alpha, cov_type, use_t, bg_nlags, reset_power, gq_drop, gq_alternative
    )
    kind = _model_kind(model)
    be = _model_backend(model)
    Xd, _ = prepare_predict(model, X, be)
    names = _feature_names(model, X, Xd.shape[1])
    if kind == "logistic":
        if cov_type != "nonrobust":
            msg = f"cov_type={cov_type!r} applies to linear models; logistic inference is 'nonrobust'."
            raise ValueError(msg)
        from groundup._diagnose_logit import logit_report

        return logit_report(model, Xd, y, be, names, alpha=float(alpha), target=_target_name(y))
    yd = _target(y, be, Xd.dtype, Xd.shape[0])
    opts = {
        "alpha": float(alpha), "cov_type": cov_type, "use_t": use_t, "bg_nlags": bg_nlags,
        "reset_power": int(reset_power), "gq_sort": gq_sort, "gq_drop": gq_drop,
        "gq_alternative": gq_alternative,
    }  # fmt: skip
    return _linear_report(model, Xd, yd, be, names, _target_name(y), opts)


# -- linear models ------------------------------------------------------------------------


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


def _host(a: Array) -> np.ndarray:
    return np.asarray(backends.from_array(a).to_numpy(a), dtype=np.float64)


def _linear_report(
    model: Any, X: Array, y: Array, be: Backend, names: list[str], target: str, opts: dict
) -> DiagnosticReport:
    xp = be.xp
    n, d = X.shape
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
    coef = _on(be, model.coef_, dt)
    if fit_intercept:
        intercept = _on(be, model.intercept_, dt)
    else:
        intercept = xp.zeros((), dtype=dt, device=_device(X))
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
    params_h = _host(params)
    bse = np.sqrt(np.clip(np.diag(_host(cov)), 0.0, None))
    table = _coef_table(params_h, bse, use_t, df_resid, opts["alpha"])
    ols_gap = _ols_gap(design, y, params_h, bse, ssr, ssr_ols, eps, model, notes, xp)

    # fit statistics
    k_const = int(fit_intercept)
    df_model = p - k_const
    r2 = 1.0 - ssr / tss
    if cov_type == "nonrobust":
        fstat = ((tss - ssr) / df_model) / (ssr / df_resid)
    else:
        fstat = float(K.wald_slopes(params, cov, intercept=fit_intercept, xp=xp)) / df_model
    llf = -n / 2.0 * math.log(2 * math.pi) - n / 2.0 * math.log(ssr / n) - n / 2.0
    sv = _host(K.singular_values(X, intercept=fit_intercept, xp=xp))
    eig_min = float(sv[-1] ** 2)
    cond = float(np.sqrt(sv[0] ** 2 / eig_min)) if eig_min > 0 else math.inf
    fit = {
        "n_samples": n, "n_params": p, "df_model": df_model, "df_resid": df_resid,
        "r_squared": r2, "adj_r_squared": 1.0 - (n - k_const) / df_resid * (1.0 - r2),
        "r_squared_centered": fit_intercept, "f_statistic": fstat,
        "f_p_value": float(stats.f.sf(fstat, df_model, df_resid)), "log_likelihood": llf,
        "aic": -2 * llf + 2 * p, "bic": -2 * llf + math.log(n) * p, "scale": ssr / df_resid,
        "ssr": ssr, "condition_number": cond, "min_eigenvalue": eig_min,
        "ols_ssr": ssr_ols, **ols_gap,
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
    if df_resid < 2:
        notes.append(
            "Externally studentized residuals and DFFITS need n_samples >= n_params + 2 "
            f"(got {n} for {p}): they are NaN."
        )
    h_max = float(xp.max(leverage))
    if h_max >= 1.0 - 1e3 * eps:
        notes.append(
            "Some observations have leverage 1 (each alone determines a parameter): their "
            "studentized residuals, Cook's distance and DFFITS are not defined (inf/NaN)."
        )
    vif_design = design if fit_intercept else K.decompose(X, intercept=True, xp=xp)
    vif = _host(K.vif(vif_design, xp=xp))
    vif_map = {
        names[i]: (None if bool(vif_design.constant[i]) else float(vif[i])) for i in range(d)
    }

    tests = _linear_tests(X, y, design, resid, fitted, ssr_ols, be, names, opts)
    influence = {
        "fitted": fitted, "residual": resid, "leverage": infl.leverage,
        "studentized_internal": infl.studentized_internal,
        "studentized_external": infl.studentized_external,
        "cooks_distance": infl.cooks_distance, "dffits": infl.dffits,
    }  # fmt: skip
    return DiagnosticReport(
        kind="linear",
        model_name=type(model).__name__,
        method=_method_label(model),
        target=target,
        names=(["const"] if fit_intercept else []) + names,
        table=table,
        stat_label="t" if use_t else "z",
        fit=fit,
        tests=tests,
        vif=vif_map,
        influence=influence,
        notes=notes,
        alpha=opts["alpha"],
        cov_type=cov_type,
        backend=be.name,
        device=be.device_name,
        dtype=str(np.dtype(_host_dtype(dt, be))),
        cov=_host(cov),
    )


def _host_dtype(dt: Any, be: Backend) -> Any:
    xp = be.xp
    return np.float32 if dt == xp.float32 else np.float64


def _method_label(model: Any) -> str:
    method = getattr(model, "method", None)
    solver = getattr(model, "solver_", None)
    if isinstance(method, str):
        return f"{method} ({solver})" if solver and solver != method else method
    return type(model).__name__


def _coef_table(
    params: np.ndarray, bse: np.ndarray, use_t: bool, df_resid: int, alpha: float
) -> dict[str, np.ndarray]:
    dist = stats.t(df_resid) if use_t else stats.norm()
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = params / bse
    pval = 2.0 * dist.sf(np.abs(stat))
    q = dist.ppf(1.0 - alpha / 2.0)
    return {
        "coef": params, "std_err": bse, "statistic": stat, "p_value": pval,
        "ci_low": params - q * bse, "ci_high": params + q * bse,
    }  # fmt: skip


def _ols_gap(
    design: K.Design, y: Array, params: np.ndarray, bse: np.ndarray, ssr: float,
    ssr_ols: float, eps: float, model: Any, notes: list[str], xp: Any,
) -> dict[str, float]:  # fmt: skip
    """How far the model's coefficients are from the least-squares optimum of these data."""
    c, b0 = K.least_squares(design, y, xp=xp)
    ols = np.concatenate([[float(b0)], _host(c)]) if design.intercept else _host(c)
    excess = (ssr - ssr_ols) / ssr_ols if ssr_ols > 0 else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        gap_se = float(np.max(np.abs(params - ols) / bse))
    if excess > math.sqrt(eps):
        notes.append(
            f"The coefficients are not the least-squares optimum of these data (method "
            f"{getattr(model, 'method', type(model).__name__)!r}): the sum of squared residuals "
            f"is {100 * excess:.3g}% above the closed form's and the coefficients differ from it "
            f"by up to {gap_se:.3g} standard errors. Standard errors and tests below are "
            "evaluated at the model's coefficients but assume least squares; refit with "
            "method='normal' for exact inference."
        )
    return {"ssr_excess_over_ols": excess, "max_coef_gap_in_se": gap_se}


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
    out["breusch_pagan"] = T.breusch_pagan(
        float(bp.ssr), float(bp.centered_tss), n, bp.rank, d, alpha
    )
    n_white = d + d * (d + 1) // 2
    if n <= n_white + 1:
        out["white"] = T.not_applicable(
            "white", "White", "homoscedasticity",
            f"White's regression has {n_white + 1} terms (constant, {d} features, their "
            f"squares and cross products) and needs more than {n_white + 1} samples (got {n})",
        )  # fmt: skip
    elif n_white > WHITE_MAX_TERMS:
        out["white"] = T.not_applicable(
            "white", "White", "homoscedasticity",
            f"{n_white} squares and cross products of {d} features is too many "
            f"(limit {WHITE_MAX_TERMS}); Breusch-Pagan covers the linear part",
        )  # fmt: skip
    else:
        wt = K.white_terms(X - design.mean if fi else X - xp.mean(X, axis=0), xp=xp)
        wf = K.aux_regression(wt, e2, xp=xp)
        out["white"] = T.white(float(wf.ssr), float(wf.centered_tss), n, wf.rank, alpha)
    out["goldfeld_quandt"] = _goldfeld_quandt(X, y, fitted, fi, p, names, opts, xp)

    # normality
    mom = K.residual_moments(resid, xp=xp)
    eps = float(xp.finfo(X.dtype).eps)
    sk = T.skew_kurtosis(float(mom.m2), float(mom.m3), float(mom.m4), float(mom.mean), eps)
    if sk is None:
        for key, name in (
            ("jarque_bera", "Jarque-Bera"),
            ("omnibus", "Omnibus (D'Agostino-Pearson)"),
        ):
            out[key] = T.not_applicable(key, name, "normality", "the residuals have zero variance")
    else:
        out["jarque_bera"] = T.jarque_bera(*sk, n, alpha)
        out["omnibus"] = T.omnibus(*sk, n, alpha)
    out["shapiro_wilk"] = T.shapiro_wilk(_host(resid), alpha)

    # independence
    out["durbin_watson"] = T.durbin_watson(float(K.durbin_watson(resid, xp=xp)))
    nlags = opts["bg_nlags"] if opts["bg_nlags"] is not None else min(10, n // 5)
    if nlags < 1:
        out["breusch_godfrey"] = T.not_applicable(
            "breusch_godfrey", "Breusch-Godfrey", "independence",
            f"the default number of lags, min(10, n // 5), is 0 for n = {n}: needs at least "
            "5 samples (or pass bg_nlags)",
        )  # fmt: skip
    else:
        lags = K.lagged(resid, nlags, xp=xp)
        unres = K.aux_regression(xp.concat([X, lags], axis=1), resid, xp=xp)
        res_r = K.aux_regression(X, resid, xp=xp)
        out["breusch_godfrey"] = T.breusch_godfrey(
            float(unres.ssr), float(unres.centered_tss), unres.rank, float(res_r.ssr), n,
            nlags, alpha,
        )  # fmt: skip

    # functional form
    powers = tuple(range(2, opts["reset_power"] + 1))
    q = len(powers)
    aug = K.reset_terms(fitted, powers, xp=xp)
    if n <= p + q:
        out["reset"] = T.not_applicable(
            "reset", "Ramsey RESET", "linearity",
            f"the augmented regression has {p + q} parameters and needs more than {p + q} "
            f"samples (got {n})",
        )  # fmt: skip
    else:
        ures = K.aux_regression(xp.concat([X, aug], axis=1), y, intercept=fi, xp=xp)
        if ures.rank < p + q:
            out["reset"] = T.not_applicable(
                "reset",
                "Ramsey RESET",
                "linearity",
                "the powers of the fitted values are collinear with the features "
                "(e.g. constant fitted values)",
            )
        else:
            out["reset"] = T.reset(float(ures.ssr), ures.rank, ssr_ols, n, q, alpha)
    return out


def _goldfeld_quandt(
    X: Array, y: Array, fitted: Array, fi: bool, p: int, names: list[str], opts: dict, xp: Any
) -> T.TestResult:
    key, name, what = "goldfeld_quandt", "Goldfeld-Quandt", "homoscedasticity"
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
        return T.not_applicable(
            key, name, what,
            f"each half needs more than {p} samples (the number of parameters); the halves "
            f"have {n1} and {n2} of n = {n}",
        )  # fmt: skip
    first = K.aux_regression(X[:split, :], y[:split], intercept=fi, xp=xp)
    second = K.aux_regression(X[start2:, :], y[start2:], intercept=fi, xp=xp)
    if first.df_resid < 1 or second.df_resid < 1:
        return T.not_applicable(key, name, what, "a half has no residual degree of freedom")
    return T.goldfeld_quandt(
        float(first.ssr), first.df_resid, float(second.ssr), second.df_resid,
        opts["gq_alternative"], label, opts["alpha"],
    )  # fmt: skip


# -- command line -------------------------------------------------------------------------


def register_cli(subparsers: Any) -> None:
    """Add the ``diagnose`` subcommand to an ``argparse`` subparsers object.

    ``groundup diagnose FILE --target COL [--features ...] [--model linear|logistic]
    [--method ...] [--backend ...] [--device ...] [--alpha ...] [--cov-type ...] [--out DIR]``
    fits the model on the file's data, prints the report and, with ``--out``, writes
    ``summary.txt``, ``report.json``, ``coefficients.csv``, ``tests.csv``,
    ``influence.csv`` and ``diagnostics.png`` there.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From ``parser.add_subparsers()``.
    """
    from groundup._diagnose_cli import add_parser

    add_parser(subparsers)
