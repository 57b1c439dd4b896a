"""Inference for a binary logistic regression, equal to statsmodels ``Logit``: Wald standard
errors, z, p-values and intervals, log-likelihood, deviance, McFadden's pseudo-R²."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from array_api_compat import device as _device
from scipy import stats

import groundup.diagnostics.linear as L
from groundup._typing import Array
from groundup.backends import Backend, to_numpy
from groundup.diagnostics.report import DiagnosticReport
from groundup.kernels import diagnostics as K
from groundup.kernels.closed_form import range_exponents

__all__ = ["logit_report"]

MLE_GAP_SE = 1e-3  # coefficients further than this many standard errors from the MLE: a note


def _labels01(model: Any, y: Any) -> np.ndarray:
    classes = to_numpy(model.classes_)
    if classes.shape[0] != 2:
        msg = (
            f"diagnose explains binary logistic regression; this model has {classes.shape[0]} "
            "classes. Fit one model per class (one-vs-rest) and diagnose each."
        )
        raise ValueError(msg)
    yh = to_numpy(y).reshape(-1)  # one column of n rows: checked by diagnose
    unknown = np.setdiff1d(np.unique(yh), classes)
    if unknown.size:
        msg = f"y has labels {unknown.tolist()[:5]} that the model does not know (classes_ = {classes.tolist()})."
        raise ValueError(msg)
    y01 = (yh == classes[1]).astype(np.float64)
    if y01.min() == y01.max():
        msg = "y holds a single class: the likelihood-ratio test and pseudo-R² need both classes."
        raise ValueError(msg)
    return y01


def logit_report(
    model: Any, X: Array, y: Any, be: Backend, names: list[str], *, alpha: float, target: str
) -> DiagnosticReport:
    """The report for a binary logistic model (``coef_`` (1, d), ``intercept_`` (1,)) on ``X``
    (on the model's device) and its class labels ``y`` (any library; one column of
    ``len(X)`` rows)."""
    xp = be.xp
    n, d = X.shape
    dt = X.dtype
    y01 = _labels01(model, y)
    coef = L.host(model.coef_)
    if coef.shape != (1, d):
        msg = f"coef_ has shape {coef.shape}; a binary logistic model has coef_ of shape (1, {d})."
        raise ValueError(msg)
    fi = bool(getattr(model, "fit_intercept", True))
    params_h = coef[0]
    if fi:
        b0 = L.host(model.intercept_).reshape(-1)[0]
        params_h = np.concatenate([[b0], params_h])
    p = params_h.shape[0]
    if n <= p:
        msg = f"Found n_samples={n}: inference on {p} parameters needs at least {p + 1} samples."
        raise ValueError(msg)
    # Columns whose squares would leave the dtype's range, times powers of two (exact;
    # the coefficients in their units, undone on the table below).
    zeros = xp.zeros((n,), dtype=dt, device=_device(X))
    ex = L.host(range_exponents(X, zeros, xp=xp)[0])
    k = np.concatenate([[0.0], ex]) if fi else ex
    if ex.any():
        X = X * be.asarray(np.ldexp(1.0, -ex.astype(int)), dtype=dt)
        params_h = np.ldexp(params_h, k.astype(int))
    Z = xp.concat([xp.ones((n, 1), dtype=dt, device=_device(X)), X], axis=1) if fi else X
    y_d, params_d = be.asarray(y01, dtype=dt), be.asarray(params_h, dtype=dt)
    cov, llf, step, rank = K.logit_information(Z, y_d, params_d, xp=xp)
    if rank < p:
        msg = (
            "The information matrix ZᵀWZ is singular: the classes are (quasi-)perfectly "
            "separated (fitted probabilities 0 or 1) or features are collinear, so Wald "
            "standard errors are not defined. Drop collinear features or add a penalty."
        )
        raise ValueError(msg)
    cov = L.host(cov)
    table = L.coef_table(params_h, cov, False, n - p, alpha)
    llf = float(llf)
    ybar = float(y01.mean())
    llnull = n * (ybar * math.log(ybar) + (1.0 - ybar) * math.log(1.0 - ybar))
    df_model = p - 1
    llr = 2.0 * (llf - llnull)
    gap = float(np.max(np.abs(L.host(step)) / table["std_err"]))
    notes = []
    if gap > MLE_GAP_SE:
        notes.append(
            f"The coefficients are not the maximum-likelihood estimate: one Newton step moves "
            f"them by up to {gap:.3g} standard errors (method "
            f"{getattr(model, 'method', type(model).__name__)!r}). Wald statistics below are "
            "evaluated at the model's coefficients; refit with method='newton' for exact inference."
        )
    if not fi:
        notes.append(
            "The model has no intercept; LL-Null is the constant-only model's, as in statsmodels."
        )
    if ex.any():
        L.table_units(table, cov, -k)
        notes.append(L.SCALED_NOTE)
    fit = {
        "n_samples": n, "n_params": p, "df_model": df_model, "df_resid": n - p,
        "log_likelihood": llf, "ll_null": llnull, "llr": llr,
        "llr_p_value": float(stats.chi2.sf(llr, df_model)),
        "pseudo_r_squared": 1.0 - llf / llnull, "deviance": -2.0 * llf,
        "null_deviance": -2.0 * llnull, "aic": -2.0 * (llf - p),
        "bic": -2.0 * llf + math.log(n) * p, "at_mle": gap <= MLE_GAP_SE,
        "max_coef_gap_in_se": gap,
    }  # fmt: skip
    return L.report(
        "logistic", model, target, be, dt, names, fi, table=table, stat_label="z",
        fit=fit, tests={}, vif=L.vif_by_name(K.decompose(X, intercept=True, xp=xp), names, xp),
        influence={}, notes=notes, alpha=alpha, cov_type="nonrobust", cov=cov,
    )  # fmt: skip
