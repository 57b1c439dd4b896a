"""The report that ``gu.diagnose`` returns: a statsmodels-like text summary with one-line
verdicts, pandas frames, a JSON-ready dict and the four standard diagnostic panels."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from groundup.backends import to_numpy
from groundup.diagnostics.assumptions import TestResult

WIDTH = 78


def _fmt(v: Any, spec: str = "#.4g") -> str:
    if v is None:
        return "n/a"
    if isinstance(v, bool | str | np.str_ | int | np.integer):
        return str(v)
    return format(float(v), spec)  # nan, inf and -inf as such


def _forg(v: Any, prec: int = 3) -> str:
    """statsmodels' number format in its parameter table (``iolib.summary.forg``)."""
    if v is None or not np.isfinite(v):
        return _fmt(v)
    v = float(v)
    if abs(v) >= 1e4 or abs(v) < 1e-4:
        return f"{v:.{prec}g}"
    return f"{v:.{prec}f}"


@dataclass
class DiagnosticReport:
    """What ``gu.diagnose`` found: inference, assumption tests, influence, collinearity.

    Attributes
    ----------
    kind : {"linear", "logistic"}
    model_name, method, target : str
    names : list of str
        Parameter names, ``"const"`` first when there is an intercept.
    table : dict of ndarray
        ``coef``, ``std_err``, ``statistic`` (t or z), ``p_value``, ``ci_low``,
        ``ci_high``, each of shape (n_params,).
    stat_label : {"t", "z"}
    fit : dict
        R², adjusted R², F and its p-value, log-likelihood, AIC, BIC, condition number, ...
        (logistic: McFadden's pseudo-R², deviance, LL-null, LLR and its p-value, ...).
    tests : dict of TestResult
        Keyed by ``"breusch_pagan"``, ``"white"``, ``"goldfeld_quandt"``, ``"jarque_bera"``,
        ``"omnibus"``, ``"shapiro_wilk"``, ``"durbin_watson"``, ``"breusch_godfrey"``,
        ``"reset"`` (empty for logistic models).
    vif : dict
        Variance inflation factor per feature (``None`` for a constant column).
    influence : dict of arrays
        Per sample, on the model's backend and device: ``fitted``, ``residual``,
        ``leverage``, ``studentized_internal``, ``studentized_external``,
        ``cooks_distance``, ``dffits``.
    notes : list of str
    alpha : float
    cov_type : str
    backend, device, dtype : str
    cov : ndarray of shape (n_params, n_params)
        Covariance of the coefficients.
    """

    kind: str
    model_name: str
    method: str
    target: str
    names: list[str]
    table: dict[str, np.ndarray]
    stat_label: str
    fit: dict[str, Any]
    tests: dict[str, TestResult]
    vif: dict[str, float | None]
    influence: dict[str, Any]
    notes: list[str]
    alpha: float
    cov_type: str
    backend: str
    device: str
    dtype: str
    cov: np.ndarray

    def influence_host(self, name: str) -> np.ndarray:
        """One influence measure as a NumPy float64 array on the host."""
        return to_numpy(self.influence[name]).astype(np.float64)

    def to_frame(self, what: str = "coefficients") -> Any:
        """A pandas DataFrame.

        Parameters
        ----------
        what : {"coefficients", "tests", "influence", "vif", "fit"}, default="coefficients"
            ``"coefficients"``: one row per parameter (coef, std_err, t or z, p_value,
            ci_low, ci_high). ``"tests"``: one row per assumption test. ``"influence"``: one
            row per sample. ``"vif"``: one row per feature. ``"fit"``: one column of fit
            statistics.
        """
        import pandas as pd

        if what == "coefficients":
            cols = dict(self.table)
            cols[self.stat_label] = cols.pop("statistic")
            order = ["coef", "std_err", self.stat_label, "p_value", "ci_low", "ci_high"]
            return pd.DataFrame({k: cols[k] for k in order}, index=pd.Index(self.names))
        if what == "tests":
            rows = {k: t.to_dict() for k, t in self.tests.items()}
            frame = pd.DataFrame.from_dict(rows, orient="index")
            return frame.astype({"statistic": float, "p_value": float}) if len(frame) else frame
        if what == "influence":
            return pd.DataFrame({k: self.influence_host(k) for k in self.influence})
        if what == "vif":
            vals = [np.nan if v is None else v for v in self.vif.values()]
            return pd.DataFrame({"vif": vals}, index=pd.Index(list(self.vif)))
        if what == "fit":
            return pd.DataFrame({"value": pd.Series(self.fit, dtype=object)})
        msg = f"Unknown what={what!r}; choose 'coefficients', 'tests', 'influence', 'vif' or 'fit'."
        raise ValueError(msg)

    def to_dict(self, *, influence: bool = True) -> dict[str, Any]:
        """Everything as plain Python values (JSON-ready; not-applicable values are None).

        Parameters
        ----------
        influence : bool, default=True
            Include the per-sample influence measures (lists of n_samples floats).
        """

        def clean(v: Any) -> Any:
            if isinstance(v, float | np.floating):
                v = float(v)
                return None if math.isnan(v) else v
            if isinstance(v, np.integer):
                return int(v)
            return v

        coefs = {
            name: {k: clean(self.table[k][i]) for k in self.table}
            for i, name in enumerate(self.names)
        }
        for row in coefs.values():
            row[self.stat_label] = row.pop("statistic")
        out: dict[str, Any] = {
            "model": {
                "kind": self.kind, "name": self.model_name, "method": self.method,
                "target": self.target, "backend": self.backend, "device": self.device,
                "dtype": self.dtype, "cov_type": self.cov_type, "alpha": self.alpha,
            },
            "fit": {k: clean(v) for k, v in self.fit.items()},
            "coefficients": coefs,
            "tests": {k: t.to_dict() for k, t in self.tests.items()},
            "vif": {k: clean(v) for k, v in self.vif.items()},
            "notes": list(self.notes),
        }  # fmt: skip
        if influence:
            out["influence"] = {
                k: [clean(v) for v in self.influence_host(k).tolist()] for k in self.influence
            }
        return out

    def __str__(self) -> str:
        return self.summary()

    def summary(self, words: Callable[[str], str] = str) -> str:
        """A statsmodels-like summary: fit statistics, coefficient table, assumption tests
        with one-line verdicts and remedies, influence and collinearity, notes.

        Parameters
        ----------
        words : callable, default=str
            Applied to each verdict, remedy and note before it is wrapped (the command line
            puts them in its own words: ``--param penalty=l2``).
        """
        lines = [self._header(), self._coef_block()]
        if self.tests:
            lines.append(self._tests_block(words))
        if self.kind == "linear":
            lines.append(self._influence_block(words))
        elif self.vif:
            lines.append("\n".join(["Collinearity", "-" * WIDTH, *self._vif_lines(words)]))
        lines.append(self._notes_block(words))
        return "\n".join(s for s in lines if s)

    def _header(self) -> str:
        f = self.fit
        left = [
            ("Dep. Variable:", self.target),
            ("Model:", self.model_name),
            ("Method:", self.method),
            ("Backend:", f"{self.backend} {self.device} {self.dtype}"),
            ("No. Observations:", _fmt(f["n_samples"])),
            ("Df Residuals:", _fmt(f["df_resid"])),
            ("Df Model:", _fmt(f["df_model"])),
            ("Covariance Type:", self.cov_type),
        ]
        if self.kind == "linear":
            unc = "" if f["r_squared_centered"] else " (unc.)"
            right = [
                (f"R-squared{unc}:", _fmt(f["r_squared"], "#.3f")),
                (f"Adj. R-squared{unc}:", _fmt(f["adj_r_squared"], "#.3f")),
                ("F-statistic:", _fmt(f["f_statistic"])),
                ("Prob (F-statistic):", _fmt(f["f_p_value"], "#.3g")),
                ("Log-Likelihood:", _fmt(f["log_likelihood"], "#.5g")),
                ("AIC:", _fmt(f["aic"])),
                ("BIC:", _fmt(f["bic"])),
                ("Cond. No.:", _fmt(f["condition_number"], "#.3g")),
            ]
        else:
            right = [
                ("Pseudo R-squ.:", _fmt(f["pseudo_r_squared"], "#.4f")),
                ("Log-Likelihood:", _fmt(f["log_likelihood"], "#.5g")),
                ("LL-Null:", _fmt(f["ll_null"], "#.5g")),
                ("LLR p-value:", _fmt(f["llr_p_value"], "#.4g")),
                ("Deviance:", _fmt(f["deviance"], "#.5g")),
                ("AIC:", _fmt(f["aic"])),
                ("BIC:", _fmt(f["bic"])),
                ("Converged (MLE):", "yes" if f["at_mle"] else "no"),
            ]
        title = "OLS Regression Results" if self.kind == "linear" else "Logit Regression Results"
        rule = "=" * WIDTH
        rows = [f"groundup diagnose: {title}".center(WIDTH), rule]
        half = WIDTH // 2
        for (ll, lv), (rl, rv) in zip(left, right, strict=True):
            lv = lv if len(lv) <= half - 20 else lv[: half - 23] + "..."
            rows.append(f"{ll:<19}{lv:>{half - 20}} " + f"{rl:<22}{rv:>{WIDTH - half - 22}}")
        rows.append(rule)
        return "\n".join(rows)

    def _coef_block(self) -> str:
        w = max(10, *(len(n) for n in self.names)) + 1
        lo, hi = self.alpha / 2, 1 - self.alpha / 2
        p_head = f"P>|{self.stat_label}|"
        head = (
            f"{'':<{w}}{'coef':>11}{'std err':>11}{self.stat_label:>10}{p_head:>10}"
            f"{f'[{lo:.3g}':>12}{f'{hi:.3g}]':>12}"
        )
        rows = [head, "-" * max(WIDTH, len(head))]
        t = self.table
        for i, name in enumerate(self.names):
            rows.append(
                f"{name:<{w}}{_forg(t['coef'][i], 4):>11}{_forg(t['std_err'][i]):>11}"
                f"{_fmt(t['statistic'][i], '.3f'):>10}{_fmt(t['p_value'][i], '.3f'):>10}"
                f"{_forg(t['ci_low'][i]):>12}{_forg(t['ci_high'][i]):>12}"
            )
        rows.append("=" * max(WIDTH, len(head)))
        return "\n".join(rows)

    def _tests_block(self, words: Callable[[str], str]) -> str:
        rows = [
            f"Assumption tests (alpha = {self.alpha:g})",
            "-" * WIDTH,
            f"{'Test':<30}{'Statistic':>12}{'df':>12}{'p-value':>12}  Result",
        ]
        for t in self.tests.values():
            df = "" if t.df is None else ", ".join(f"{d:g}" for d in t.df)
            rule = t.applicable and t.p_value is None  # a rule of thumb (Durbin-Watson)
            result = "n/a" if not t.applicable else "flagged" if rule else "REJECTED"
            result = "ok" if t.applicable and not t.rejected else result
            p = "(rule)" if rule else _fmt(t.p_value, ".3g")
            rows.append(f"{t.name:<30}{_fmt(t.statistic):>12}{df:>12}{p:>12}  {result}")
        rows += ["-" * WIDTH, "Verdicts:"]
        for t in self.tests.values():
            mark = "[n/a]" if not t.applicable else ("[!!]" if t.rejected else "[ok]")
            text = f"{mark} {t.assumption.capitalize()}, {t.name}: {t.verdict}"
            if t.extra.get("note"):
                text += f" (Note: {t.extra['note']}.)"
            rows.extend(textwrap.wrap(words(text), WIDTH, subsequent_indent="      "))
        return "\n".join(rows)

    def _influence_block(self, words: Callable[[str], str]) -> str:
        n, p = self.fit["n_samples"], self.fit["n_params"]
        cooks = self.influence_host("cooks_distance")
        stud = self.influence_host("studentized_external")
        lev = self.influence_host("leverage")
        rows = ["=" * WIDTH, "Influence and collinearity", "-" * WIDTH]

        def flagged(values: np.ndarray, limit: float, what: str) -> str:
            with np.errstate(invalid="ignore"):
                idx = np.flatnonzero(values > limit)
            if idx.size == 0:
                return f"{what}: none."
            top = idx[np.argsort(-np.nan_to_num(values[idx], nan=np.inf))][:5]
            rows_txt = ", ".join(f"{int(i)} ({values[i]:.3g})" for i in top)
            return f"{what}: {idx.size} observation(s); largest at row {rows_txt}."

        for values, limit, what in (
            (cooks, 4.0 / n, f"Cook's distance > 4/n = {4.0 / n:.3g}"),
            (np.abs(stud), 3.0, "|externally studentized residual| > 3"),
            (lev, 2.0 * p / n, f"Leverage > 2p/n = {2.0 * p / n:.3g}"),
        ):
            rows += textwrap.wrap(flagged(values, limit, what), WIDTH, subsequent_indent="  ")
        if np.any(cooks > 4.0 / n) or np.any(np.abs(stud) > 3.0):
            rows += textwrap.wrap(
                "[!!] Influential or outlying observations: check them for errors and refit "
                "without them to see whether the conclusions change.", WIDTH,
                subsequent_indent="      ",
            )  # fmt: skip
        rows += self._vif_lines(words)
        return "\n".join(rows)

    def _vif_lines(self, words: Callable[[str], str]) -> list[str]:
        vifs = {k: v for k, v in self.vif.items() if v is not None}
        if not vifs:
            return []
        worst = sorted(vifs.items(), key=lambda kv: -kv[1])[:5]
        text = "VIF (largest): " + ", ".join(f"{k} {_fmt(v, '.3g')}" for k, v in worst)
        high = [k for k, v in vifs.items() if v > 10]
        if high:
            text += (
                f". [!!] VIF > 10 for {high}: strong multicollinearity inflates their "
                "standard errors; drop or combine correlated features, or use "
                "penalty='l2'."
            )
        else:
            text += ". [ok] No VIF above 10."
        return textwrap.wrap(words(text), WIDTH, subsequent_indent="  ")

    def _notes_block(self, words: Callable[[str], str]) -> str:
        if not self.notes:
            return ""
        rows = ["Notes:"]
        for i, note in enumerate(self.notes, 1):
            rows += textwrap.wrap(words(f"[{i}] {note}"), WIDTH, subsequent_indent="    ")
        return "\n".join(rows)

    def plot(self, path: Any = None, *, n_labels: int = 3) -> Any:
        """The four standard diagnostic panels, as one matplotlib figure.

        Residuals vs fitted, normal Q-Q of the standardized residuals, scale-location
        (√|standardized residual| vs fitted) and standardized residuals vs leverage with
        Cook's distance contours at 0.5 and 1. The ``n_labels`` most extreme points are
        labelled by row.

        Parameters
        ----------
        path : str or path-like, optional
            Also save the figure there (the format from the suffix).
        n_labels : int, default=3
        """
        if self.kind != "linear":
            msg = "plot() draws the residual panels of a linear regression; a logistic model has none."
            raise ValueError(msg)
        from groundup.diagnostics.plot import four_panels

        fig = four_panels(self, n_labels=n_labels)
        if path is not None:
            fig.savefig(path, dpi=120, bbox_inches="tight")
        return fig
