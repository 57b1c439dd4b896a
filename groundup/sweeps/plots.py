"""Plots of a :class:`~groundup.sweeps.SweepResult`: a heatmap of a metric over two swept
parameters, the loss curves of every run on one axis (diverged runs marked), and the best run.

matplotlib is imported only when a plot is drawn, and never through ``pyplot``: without an
``ax`` each function draws on a new :class:`matplotlib.figure.Figure` (no GUI backend needed;
``ax.figure.savefig(path)`` writes it, and notebooks display it).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["plot_best", "plot_heatmap", "plot_losses", "varying"]


def _axes(ax: Any, figsize: tuple[float, float]) -> Any:
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained").add_subplot()


def varying(result: Any) -> list[str]:
    """Swept parameters that take more than one value."""
    return [p for p in result.params if result.table[p].astype(str).nunique() > 1]


def _label(result: Any, i: int, keys: list[str]) -> str:
    row = result.table.loc[i]
    return ", ".join(f"{k}={row[k]}" for k in keys) or f"run {i}"


def plot_heatmap(
    result: Any,
    metric: str | None = None,
    *,
    x: str | None = None,
    y: str | None = None,
    ax: Any = None,
    annotate: bool = True,
    cmap: str = "viridis",
) -> Any:
    """Heatmap of ``metric`` over two swept parameters.

    Parameters
    ----------
    result : SweepResult
    metric : str, optional
        A numeric column of ``result.table`` (default: ``result.criterion``).
    x, y : str, optional
        Swept parameters on the horizontal and vertical axis (default: the first two that
        vary; with one varying parameter the map has a single row).
    ax : matplotlib Axes, optional
    annotate : bool, default=True
        Write each cell's value (``"div"`` for diverged runs).
    cmap : str, default="viridis"

    Returns
    -------
    matplotlib Axes

    Notes
    -----
    Where other parameters vary too, each cell shows the best value over them (lowest, or
    highest for ``val_r2`` / ``val_accuracy``) and the title says so. Cells whose runs all
    diverged are left blank and marked ``div``.
    """
    metric = metric or result.criterion
    table = result.table
    if metric not in table.columns:
        msg = f"Unknown metric {metric!r}; choose one of {list(table.columns)}."
        raise ValueError(msg)
    swept = varying(result)
    if x is None:
        x = (swept or result.params)[0]
    if y is None:
        rest = [p for p in (swept or result.params) if p != x]
        y = rest[0] if rest else None
    for name in (x, y):
        if name is not None and name not in result.params:
            msg = f"{name!r} is not a swept parameter; choose from {result.params}."
            raise ValueError(msg)
    values = table[metric].astype(float).where(~table["diverged"].astype(bool))
    xs = _levels(table[x])
    ys = _levels(table[y]) if y is not None else [None]
    best = np.nanmax if result.maximised(metric) else np.nanmin
    grid = np.full((len(ys), len(xs)), np.nan)
    diverged = np.zeros_like(grid, dtype=bool)
    for r, yv in enumerate(ys):
        for c, xv in enumerate(xs):
            mask = table[x].astype(str) == str(xv)
            if y is not None:
                mask &= table[y].astype(str) == str(yv)
            cell = values[mask].to_numpy()
            if cell.size and np.isfinite(cell).any():
                grid[r, c] = best(cell)
            elif cell.size:
                diverged[r, c] = True
    ax = _axes(ax, (1.2 + 0.9 * len(xs), 1.2 + 0.6 * len(ys)))
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, aspect="auto", origin="lower")
    ax.figure.colorbar(image, ax=ax, label=metric)
    ax.set_xticks(range(len(xs)), [str(v) for v in xs])
    ax.set_yticks(range(len(ys)), [str(v) for v in ys] if y is not None else [""])
    ax.set_xlabel(x)
    if y is not None:
        ax.set_ylabel(y)
    others = [p for p in swept if p not in (x, y)]
    title = f"{metric}" + (f" (best over {', '.join(others)})" if others else "")
    ax.set_title(title)
    for r, c in zip(*np.nonzero(diverged), strict=True):
        ax.add_patch(_hatched(c, r))
    if annotate:
        for r in range(len(ys)):
            for c in range(len(xs)):
                if diverged[r, c]:
                    text, color = "div", "black"
                else:
                    text = _fmt(grid[r, c])
                    color = "black" if image.norm(grid[r, c]) > 0.6 else "white"
                ax.text(c, r, text, ha="center", va="center", fontsize=8, color=color)
    return ax


def plot_losses(
    result: Any, *, ax: Any = None, logy: bool = True, legend: bool | None = None
) -> Any:
    """Training-loss curves of every run on one axis; a red ``x`` where a run diverged.

    Parameters
    ----------
    result : SweepResult
    ax : matplotlib Axes, optional
    logy : bool, default=True
        Logarithmic loss axis.
    legend : bool, optional
        Label every curve (default: when there are at most 12 runs).

    Returns
    -------
    matplotlib Axes
        One line per run (the best one drawn thicker); a red ``x`` marks the epoch at which
        a run diverged (at the top of the axis when its loss is off the scale there).
    """
    import pandas as pd

    ax = _axes(ax, (7.0, 4.5))
    keys = varying(result) or result.params
    best = result.best_index
    low, top = _loss_range(result.histories)
    div_x, div_y = [], []
    mark = top * 0.7 if logy else top * 0.97
    epochs_div = result.table["diverged_epoch"]
    for i, h in enumerate(result.histories):
        epochs = np.arange(1, len(h) + 1)
        ok = np.isfinite(h)
        width, z = (2.5, 3) if i == best else (1.0, 2)
        # Runs that blow up leave the axis at the top (clipped so the transform stays finite).
        shown = np.minimum(h[ok], top * 1e3)
        ax.plot(epochs[ok], shown, lw=width, zorder=z, label=_label(result, i, keys))
        e = epochs_div.iloc[i]
        if not pd.isna(e):
            v = h[int(e) - 1]
            div_x.append(int(e))
            div_y.append(min(v, mark) if math.isfinite(v) else mark)
    if div_x:
        ax.scatter(
            div_x, div_y, marker="x", color="red", s=60, zorder=4, label="diverged", clip_on=False
        )
    if logy and low > 0:
        ax.set_yscale("log")
        ax.set_ylim(low / 2, top)
    else:
        ax.set_ylim(min(0.0, low), top)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    n_div = int(result.table["diverged"].sum())
    ax.set_title(f"{len(result.histories)} runs" + (f", {n_div} diverged" if n_div else ""))
    if legend if legend is not None else len(result.histories) <= 12:
        ax.legend(fontsize=7)
    return ax


def plot_best(result: Any, *, ax: Any = None, logy: bool = True) -> Any:
    """The best run's training-loss curve, titled with its parameters and criterion.

    Parameters
    ----------
    result : SweepResult
    ax : matplotlib Axes, optional
    logy : bool, default=True

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    ValueError
        Every run diverged.
    """
    i = result.best_index
    if i is None:
        msg = "Every configuration diverged: there is no best run to plot; lower eta0."
        raise ValueError(msg)
    ax = _axes(ax, (6.0, 4.0))
    h = result.histories[i]
    ax.plot(np.arange(1, len(h) + 1), h, lw=2, marker="o", ms=3)
    if logy and np.all(h > 0):
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    row = result.table.loc[i]
    ax.set_title(
        f"best by {result.criterion} = {_fmt(float(row[result.criterion]))}\n"
        + _label(result, i, varying(result) or result.params),
        fontsize=10,
    )
    return ax


def _loss_range(histories: list[np.ndarray]) -> tuple[float, float]:
    """Lowest finite loss and a top for the axis: ten times the largest first-epoch loss of
    the runs that did not blow up (their last loss no higher than their first)."""
    finite = [h[np.isfinite(h)] for h in histories]
    firsts = [f[0] for f in finite if f.size]
    calm = [h[0] for h in histories if h.size and np.isfinite(h[-1]) and h[-1] <= h[0]]
    ref = max(calm) if calm else (float(np.median(firsts)) if firsts else 1.0)
    top = 10.0 * ref if ref > 0 else 1.0
    inside = [v for f in finite for v in f if 0 < v <= top]
    low = min(inside) if inside else top / 100.0
    return float(low), float(top)


def _hatched(c: int, r: int) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor="0.85", hatch="xx", edgecolor="0.5")


def _levels(col: Any) -> list[Any]:
    """Distinct values of a column, numbers sorted, others in order of appearance."""
    vals = list(dict.fromkeys(col.tolist()))
    try:
        return sorted(vals)
    except TypeError:
        return vals


def _fmt(v: float) -> str:
    if not math.isfinite(v):
        return ""
    return f"{v:.3g}"
