"""The four standard regression diagnostic panels (matplotlib, imported lazily, drawn on a
Figure made without pyplot, so that no display or pyplot state is needed; Jupyter shows it
inline)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats


def _smooth(x: np.ndarray, y: np.ndarray, frac: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    """A Gaussian-kernel (Nadaraya-Watson) trend of y on 60 points of x, bandwidth ``frac`` of
    its range (a light stand-in for lowess)."""
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size < 3 or np.ptp(x) == 0:
        return x[:0], y[:0]
    step = max(1, x.size // 5000)  # bounded work and memory for large n
    x, y = x[::step], y[::step]
    grid = np.linspace(x.min(), x.max(), 60)
    bw = frac * np.ptp(x)
    w = np.exp(-0.5 * ((grid[:, None] - x[None, :]) / bw) ** 2)
    return grid, (w @ y) / w.sum(axis=1)


def _label(
    ax: Any, x: np.ndarray, y: np.ndarray, score: np.ndarray, n: int, rows: Any = None
) -> None:
    """Annotate the ``n`` points with the largest ``score`` by their row in the data."""
    rows = np.arange(len(x)) if rows is None else rows
    finite = np.where(np.isfinite(score), score, -np.inf)
    for i in np.argsort(-finite, kind="stable")[: max(n, 0)]:
        if np.isfinite(x[i]) and np.isfinite(y[i]):
            ax.annotate(str(int(rows[i])), (x[i], y[i]), fontsize=8, xytext=(3, 3),
                        textcoords="offset points")  # fmt: skip


def four_panels(report: Any, *, n_labels: int = 3) -> Any:
    """Residuals vs fitted, normal Q-Q, scale-location, residuals vs leverage of a
    :class:`DiagnosticReport`, the ``n_labels`` most extreme points labelled."""
    from groundup._figure import new_figure

    fitted = report.influence_host("fitted")
    resid = report.influence_host("residual")
    std = report.influence_host("studentized_internal")
    lev = report.influence_host("leverage")
    cooks = report.influence_host("cooks_distance")
    p = report.fit["n_params"]

    fig = new_figure(figsize=(11, 9))
    axes = fig.subplots(2, 2)
    dot = {"s": 14, "alpha": 0.7, "edgecolors": "none"}

    ax = axes[0, 0]
    ax.scatter(fitted, resid, **dot)
    ax.axhline(0.0, color="grey", lw=1, ls="--")
    ax.plot(*_smooth(fitted, resid), color="C3", lw=1.5)
    _label(ax, fitted, resid, np.abs(resid), n_labels)
    ax.set(title="Residuals vs Fitted", xlabel="Fitted values", ylabel="Residuals")

    ax = axes[0, 1]
    finite = np.isfinite(std)
    order = np.argsort(std[finite], kind="stable")
    n = order.size
    theo = stats.norm.ppf((np.arange(1, n + 1) - 0.5) / n)
    ax.scatter(theo, std[finite][order], **dot)
    lim = [float(np.min(theo)), float(np.max(theo))] if n else [-2.0, 2.0]
    ax.plot(lim, lim, color="grey", lw=1, ls="--")
    idx = np.flatnonzero(finite)[order]
    _label(ax, theo, std[idx], np.abs(std[idx]), n_labels, rows=idx)
    ax.set(title="Normal Q-Q", xlabel="Theoretical quantiles", ylabel="Standardized residuals")

    ax = axes[1, 0]
    root = np.sqrt(np.abs(std))
    ax.scatter(fitted, root, **dot)
    ax.plot(*_smooth(fitted, root), color="C3", lw=1.5)
    _label(ax, fitted, root, root, n_labels)
    ax.set(title="Scale-Location", xlabel="Fitted values", ylabel="√|Standardized residuals|")

    ax = axes[1, 1]
    ax.scatter(lev, std, **dot)
    ax.axhline(0.0, color="grey", lw=1, ls="--")
    top = float(np.nanmax(lev[np.isfinite(lev)])) if np.any(np.isfinite(lev)) else 1.0
    h = np.linspace(max(1e-3, 0.5 / len(lev)), min(0.999, top * 1.1 + 1e-3), 200)
    for level, style in ((0.5, "--"), (1.0, ":")):
        r = np.sqrt(level * p * (1 - h) / h)
        ax.plot(h, r, color="C3", lw=1, ls=style, label=f"Cook's D = {level:g}")
        ax.plot(h, -r, color="C3", lw=1, ls=style)
    span = float(np.max(np.abs(std[finite]))) * 1.15 if finite.any() else 3.0
    ax.set_ylim(-span, span)
    ax.set_xlim(0.0, h[-1])
    _label(ax, lev, std, cooks, n_labels)
    ax.legend(loc="lower left", fontsize=8)
    ax.set(title="Residuals vs Leverage", xlabel="Leverage", ylabel="Standardized residuals")
    fig.suptitle(f"Regression diagnostics: {report.target} ~ {report.model_name} ({report.method})")
    return fig
