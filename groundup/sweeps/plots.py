"""Plots of a :class:`~groundup.sweeps.SweepResult`: a heatmap of a metric over two swept
parameters, every run's loss curve, and the best run. Each returns a matplotlib ``Figure``
(``ax``'s, when given; else a new one, without ``pyplot``); matplotlib is imported lazily.
"""

from __future__ import annotations

import math
import numbers
from collections import Counter
from typing import Any

import numpy as np

__all__ = ["plot_best", "plot_heatmap", "plot_losses", "varying"]


def _axes(ax: Any, figsize: tuple[float, float]) -> Any:
    if ax is not None:
        return ax
    from groundup._figure import new_figure

    return new_figure(figsize=figsize).add_subplot()


def _loss_label(result: Any) -> str:
    from groundup.bench.plots import loss_name

    return f"training {loss_name(result.model)}"


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

    Notes
    -----
    ``fig.axes[0]`` is the map, ``fig.axes[1]`` its colour bar. Where other parameters vary
    too, each cell shows the best value over them and the title says so.
    """
    from matplotlib.patches import Rectangle

    metric = metric or result.criterion
    table = result.table
    if metric not in table.columns:
        msg = f"Unknown metric {metric!r}; choose one of {list(table.columns)}."
        raise ValueError(msg)
    swept = varying(result)
    x = (swept or result.params)[0] if x is None else x
    if y is None:
        y = next((p for p in swept or result.params if p != x), None)
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
    ax.set_title(metric + (f" (best over {', '.join(others)})" if others else ""))
    for r, c in zip(*np.nonzero(diverged), strict=True):
        hatched = Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor="0.85", hatch="xx", edgecolor="0.5")
        ax.add_patch(hatched)
    if annotate:
        digits = _digits(grid[np.isfinite(grid)])
        for r, c in np.ndindex(grid.shape):
            if diverged[r, c]:
                text, color = "div", "black"
            else:
                text = _fmt(grid[r, c], digits)
                color = "black" if image.norm(grid[r, c]) > 0.6 else "white"
            ax.text(c, r, text, ha="center", va="center", fontsize=8, color=color)
    return ax.figure


def plot_losses(
    result: Any,
    *,
    ax: Any = None,
    logy: bool = True,
    color_by: str | None = None,
    legend: bool = True,
) -> Any:
    """Training-loss curves of every run on one axis (the best one thicker); a red ``x`` marks
    the epoch at which a run diverged.

    Parameters
    ----------
    result : SweepResult
    ax : matplotlib Axes, optional
    logy : bool, default=True
    color_by : str, optional
        The swept parameter that sets each curve's colour (default: ``eta0`` when it
        varies, else the first parameter that varies): a colour bar for numbers, else a
        legend. A second varying parameter sets the line style and a third the marker.
    legend : bool, default=True
        Draw the legend (line styles, the best run, diverged runs) outside the axes.
    """
    import pandas as pd
    from matplotlib.lines import Line2D

    from groundup._figure import epoch_axis, plain_log
    from groundup.bench.style import dashes as dash_pattern

    own = ax is None
    ax = _axes(ax, (8.5, 5.6))
    fig = ax.figure
    keys = varying(result) or result.params
    if color_by is None:
        color_by = "eta0" if "eta0" in keys else keys[0]
    if color_by not in result.params:
        msg = f"color_by={color_by!r} is not a swept parameter; choose from {result.params}."
        raise ValueError(msg)
    color_of, colorbar = _colors(result.table[color_by])
    styles = [k for k in keys if k != color_by][:2]  # line style, then marker
    levels = [_levels(result.table[k]) for k in styles] + [[], []]
    style_of = {str(v): dash_pattern(i) for i, v in enumerate(levels[0])}  # seaborn's dashes
    shapes = ("o", "s", "^", "D", "v", "P", "X", "*")
    marker_of = {str(v): shapes[i % len(shapes)] for i, v in enumerate(levels[1])}
    best = result.best_index
    low, top = _loss_range(result.histories, result.table["diverged"])
    spots: Counter = Counter()  # where runs diverged, and how many at each place
    mark = top * 0.7 if logy else top * 0.97
    for i, h in enumerate(result.histories):
        row = result.table.loc[i]
        epochs = np.arange(1, len(h) + 1)
        ok = np.isfinite(h)
        # Runs that blow up leave the axis at the top (clipped so the transform stays finite).
        shown = np.minimum(h[ok], top * 1e3)
        dashes = style_of.get(str(row[styles[0]]), ()) if styles else ()
        marker = marker_of.get(str(row[styles[1]])) if marker_of else None
        ax.plot(
            epochs[ok], shown, lw=2.4 if i == best else 1.2, zorder=3 if i == best else 2,
            color=color_of(row[color_by]), dashes=dashes, label=_label(result, i, keys),
            path_effects=_edge() if i == best else None, marker=marker, ms=4,
            markevery=max(1, len(h) // 8),
        )  # fmt: skip
        e = row["diverged_epoch"]
        if not pd.isna(e):
            v = h[int(e) - 1]
            spots[int(e), min(v, mark) if math.isfinite(v) else mark] += 1
    if spots:
        xs, ys = zip(*spots, strict=True)
        ax.scatter(xs, ys, marker="x", color="red", s=60, zorder=4, label="diverged", clip_on=False)
        for (x, y), n in spots.items():  # one cross, and how many runs it stands for
            if n > 1:
                ax.annotate(f"×{n}", (x, y), xytext=(5, 2), textcoords="offset points",
                            color="red", fontsize=8, annotation_clip=False)  # fmt: skip
    if logy and low > 0:
        ax.set_yscale("log")
        ax.set_ylim(low / 2, top)
        plain_log(ax, "y")
    else:
        ax.set_ylim(min(0.0, low), top)
    epoch_axis(ax)
    ax.set_ylabel(_loss_label(result))
    n_div = int(result.table["diverged"].sum())
    title = f"{len(result.histories)} runs, colour: {color_by}"
    if styles:
        title += f", line: {styles[0]}" + (f", marker: {styles[1]}" if marker_of else "")
    ax.set_title(title + (f"; {n_div} diverged" if n_div else ""))
    if colorbar is not None:  # ticks at the swept values, written as they were given
        bar = fig.colorbar(colorbar, ax=ax, label=color_by)
        values = [float(v) for v in _levels(result.table[color_by])]
        bar.set_ticks(values, labels=[f"{v:g}" for v in values])
        bar.ax.minorticks_off()
    if legend:
        handles: dict[str, Any] = {}
        if colorbar is None:  # categorical colours
            for value in _levels(result.table[color_by]):
                handles[f"{color_by}={value}"] = Line2D([], [], color=color_of(value), lw=2)
        for value, dashes in style_of.items():
            handles[f"{styles[0]}={value}"] = Line2D([], [], color="0.3", lw=1.4, dashes=dashes)
        for value, marker in marker_of.items():
            handles[f"{styles[1]}={value}"] = Line2D([], [], color="0.3", marker=marker, ls="none")
        if best is not None:
            handles["best: " + _label(result, best, keys)] = Line2D(
                [], [], color="0.5", lw=2.4, path_effects=_edge()
            )
        if spots:
            handles["diverged"] = Line2D([], [], color="red", marker="x", ls="none", ms=7)
        where = {"loc": "upper left", "bbox_to_anchor": (1.02, 1.0)}
        if own:
            where = {"loc": "outside lower center", "ncols": 2}
        (fig if own else ax).legend(
            list(handles.values()), list(handles), fontsize=8, frameon=False, **where
        )
    return fig


def _edge() -> list[Any]:
    from matplotlib import patheffects

    return [patheffects.Stroke(linewidth=3.8, foreground="black"), patheffects.Normal()]


def _colors(col: Any) -> tuple[Any, Any]:
    """``value -> colour`` for a swept column, and a ScalarMappable (None: categorical)."""
    import matplotlib as mpl

    values = _levels(col)
    numeric = [v for v in values if _is_number(v)]
    if len(numeric) == len(values) and len(values) > 1:
        lo, hi = float(min(numeric)), float(max(numeric))
        norm = (mpl.colors.LogNorm if lo > 0 and hi / lo > 10 else mpl.colors.Normalize)(lo, hi)
        cmap = mpl.colormaps["viridis"]
        mappable = mpl.cm.ScalarMappable(norm=norm, cmap=cmap)
        return (lambda v: cmap(norm(float(v))) if _is_number(v) else "0.5"), mappable
    index = {str(v): i for i, v in enumerate(values)}
    return (lambda v: f"C{index.get(str(v), 0) % 10}"), None


def _is_number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(float(v))


def plot_best(result: Any, *, ax: Any = None, logy: bool = True) -> Any:
    """The best run's training-loss curve, titled with its parameters and criterion (a
    ``ValueError`` when every run diverged)."""
    from groundup._figure import epoch_axis, plain_log

    i = result.best_index
    if i is None:
        msg = "Every configuration diverged: there is no best run to plot; lower eta0."
        raise ValueError(msg)
    ax = _axes(ax, (6.0, 4.0))
    h = result.histories[i]
    ax.plot(np.arange(1, len(h) + 1), h, lw=2, marker="o", ms=3)
    if logy and np.all(h > 0):
        plain_log(ax, "y")
    epoch_axis(ax)
    ax.set_ylabel(_loss_label(result))
    row = result.table.loc[i]
    ax.set_title(
        f"best by {result.criterion} = {_fmt(float(row[result.criterion]))}\n"
        + _label(result, i, varying(result) or result.params),
        fontsize=10,
    )
    return ax.figure


def _loss_range(histories: list[np.ndarray], diverged: Any) -> tuple[float, float]:
    """Lowest finite loss, and ten times the median first loss of the calm runs as the top
    (one run that starts far off does not squash the others)."""
    finite = [h[np.isfinite(h)] for h in histories]
    firsts = [f[0] for f in finite if f.size]
    calm = [
        h[0] for h, d in zip(histories, diverged, strict=True)
        if not d and h.size and np.isfinite(h[-1]) and h[-1] <= h[0]
    ]  # fmt: skip
    ref = float(np.median(calm)) if calm else (float(np.median(firsts)) if firsts else 1.0)
    top = 10.0 * ref if ref > 0 else 1.0
    inside = [v for f in finite for v in f if 0 < v <= top]
    low = min(inside) if inside else top / 100.0
    return float(low), float(top)


def _levels(col: Any) -> list[Any]:
    """Distinct values of a column, numbers sorted, others in order of appearance."""
    vals = list(dict.fromkeys(col.tolist()))
    try:
        return sorted(vals)
    except TypeError:
        return vals


def _digits(values: np.ndarray) -> int:
    """Significant digits (3 to 6) that write different values differently."""
    distinct = np.unique(values)
    for d in range(3, 7):
        if len({f"{v:.{d}g}" for v in distinct}) == len(distinct):
            return d
    return 6


def _fmt(v: float, digits: int = 3) -> str:
    return f"{v:.{digits}g}" if math.isfinite(v) else ""
