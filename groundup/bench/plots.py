"""Pictures of a benchmark: loss curves, fit times, scaling, fitted lines, optimiser paths.

Each function takes :func:`groundup.benchmark`'s DataFrame (or the data it needs) and returns
a matplotlib ``Figure`` made without pyplot (matplotlib is imported only then), in the one
encoding of :mod:`groundup.bench.style`; curves that coincide are drawn once, labelled
``batch: numpy = torch = peer torch loop``, and failed runs are named on their panel.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from groundup.bench.style import (
    BACKEND_ORDER,
    METHOD_ORDER,
    backend_style,
    method_color,
    method_label,
    names_optimizers,
    optimizer_color,
    run_key,
    who,
)

__all__ = [
    "fit_times",
    "fitted_lines",
    "label",
    "loss_curves",
    "loss_name",
    "loss_surface",
    "png_bytes",
    "save",
    "scaling",
]

_CLOSED_FORMS = ("normal", "beta")  # one step: no loss curve
_FAIL_COLOR = "#b2182b"  # the note on failed runs (ColorBrewer RdBu's dark red)


def _figure(nrows: int, ncols: int, *, width: float, height: float) -> tuple[Any, np.ndarray]:
    from groundup._figure import new_figure

    fig = new_figure(figsize=(width * ncols, height * nrows))
    return fig, fig.subplots(nrows, ncols, squeeze=False)


def _failed(results: pd.DataFrame) -> pd.DataFrame:  # named on their panel, never drawn
    return results[results["status"].isin(("error", "diverged"))]


def _why(row: Mapping[str, Any]) -> str:
    """``diverged``, or the name of the error a failed run raised."""
    if row["status"] == "diverged":
        return "diverged"
    return str(row.get("reason") or "").split(":")[0] or "error"


def label(row: Mapping[str, Any]) -> str:
    """How a run is named in legends: ``sgd · numpy``, ``sgd · peer sklearn``,
    ``batch · torch cuda:0``, ``batch · jax f32``."""
    return f"{row['method']} · {run_key(row)}"


def loss_name(model: str) -> str:
    """The training loss of a model, as axes name it: ``MSE`` (linear) or ``log-loss``."""
    return "log-loss" if str(model) == "logistic" else "MSE"


def _methods(frame: pd.DataFrame) -> list[str]:
    """The methods in ``frame``, in the order of the colours."""
    present = list(dict.fromkeys(str(m) for m in frame["method"].dropna()))
    return sorted(present, key=lambda m: (METHOD_ORDER.index(m) if m in METHOD_ORDER else 99, m))


def _groups(frame: pd.DataFrame) -> list[tuple[str, int]]:
    """The (data set, n_samples) pairs of ``frame``, in order of appearance."""
    pairs = frame[["data", "n_samples"]].dropna().drop_duplicates()
    return [(str(d), int(n)) for d, n in pairs.itertuples(index=False)]


def _merge(curves: list[tuple[np.ndarray, np.ndarray, Any]], rtol: float) -> list[tuple]:
    """Curves ``(x, y, item)`` grouped where they coincide to ``rtol``: (x, y, items)."""
    groups: list[tuple[np.ndarray, np.ndarray, list[Any]]] = []
    for x, y, item in curves:
        for gx, gy, items in groups:
            if (
                gx.shape == x.shape
                and np.allclose(gx, x, rtol=rtol, atol=0)
                and np.allclose(gy, y, rtol=rtol, atol=0, equal_nan=True)
            ):
                items.append(item)
                break
        else:
            groups.append((x, y, [item]))
    return groups


def _same_label(rows: Sequence[Mapping[str, Any]], *, optimizers: bool = False) -> str:
    """``batch: numpy = torch = peer torch loop`` (``batch·adam: ...`` with ``optimizers``)."""
    names = " = ".join(dict.fromkeys(run_key(r) for r in rows))
    methods = (method_label(r["method"], optimizers and r.get("optimizer")) for r in rows)
    return f"{' = '.join(dict.fromkeys(methods))}: {names}"


def _draw(
    ax: Any, x: Any, y: Any, row: Mapping[str, Any], text: str, *, by_optimizer: bool = False
) -> Any:
    """One curve in its method's (or optimiser's) colour, its implementation's dashes."""
    style = backend_style(who(row))
    n = np.size(x)
    opt = row.get("optimizer") if by_optimizer else None
    color = optimizer_color(opt) if isinstance(opt, str) else method_color(row["method"])
    (line,) = ax.plot(
        x, y, color=color, dashes=style["dashes"], marker=style["marker"],
        markevery=max(1, n // 8) if n > 12 else None, markersize=5, linewidth=1.6, label=text,
    )  # fmt: skip
    return line


def _failure_note(ax: Any, failed: pd.DataFrame, *, top: bool = False) -> None:
    """Name the failed and diverged runs of this panel in its lower (``top``: upper) left."""
    if failed.empty:
        return
    lines = [f"{r['method']} · {run_key(r)}: {_why(r)}" for _, r in failed.iterrows()]
    kinds = sorted({"diverged" if st == "diverged" else "failed" for st in failed["status"]})
    _fail_text(ax, f"{' or '.join(kinds)}, not drawn:\n" + "\n".join(dict.fromkeys(lines)), top)


def _fail_text(ax: Any, text: str, top: bool = False) -> None:
    ax.text(
        0.02, 0.97 if top else 0.03, text, transform=ax.transAxes, fontsize=8,
        color=_FAIL_COLOR, va="top" if top else "bottom", ha="left",
        bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": _FAIL_COLOR},
    )  # fmt: skip


def _shared_legend(fig: Any, entries: dict[str, Any], *, ncols: int | None = None) -> None:
    """One legend for the whole figure, below the axes (outside them)."""
    if not entries:
        return
    n = len(entries)
    cols = ncols or (1 if n <= 2 else 2 if max(map(len, entries)) > 40 else 3)
    fig.legend(
        list(entries.values()), list(entries), loc="outside lower center", ncols=min(cols, n),
        frameon=False, fontsize=9,
    )  # fmt: skip


def _loss_limits(curves: Sequence[np.ndarray]) -> tuple[float, float] | None:
    """A log-axis range that keeps the runs that did not blow up (last <= first) readable."""
    calm = [c for c in curves if c.size and np.isfinite(c[-1]) and c[-1] <= c[0]]
    if not calm or len(calm) == len(curves):
        return None
    top = 10.0 * max(float(c[0]) for c in calm)
    inside = [v for c in curves for v in c[np.isfinite(c)] if 0 < v <= top]
    low = min(inside) if inside else top / 100
    return low / 1.5, top


def loss_curves(results: pd.DataFrame, *, x: str = "epoch") -> Any:
    """Training loss per epoch (``x="epoch"``) or against wall time (``x="time"``: epoch k
    at the fit's median time x k / epochs), one panel per data set (a row) and gradient
    method (a column), one curve per backend and peer. A ``ValueError`` when no run has a
    loss history of more than one epoch.
    """
    from groundup._figure import epoch_axis, plain_log

    if x not in ("epoch", "time"):
        msg = f"x must be 'epoch' or 'time', got {x!r}."
        raise ValueError(msg)
    runs = results[results["status"] == "ok"]
    runs = runs[[h is not None and np.size(h) > 1 for h in runs["loss_history"]]]
    if runs.empty:
        msg = "No gradient run with a loss history in these results (closed forms have one)."
        raise ValueError(msg)
    # several optimisers, or one other than sgd: a colour and a name per optimiser
    by_opt = "optimizer" in runs and names_optimizers(runs["optimizer"])
    failed = _failed(results)
    failed = failed[~failed["method"].isin(_CLOSED_FORMS) & failed["method"].notna()]
    both = pd.concat([runs, failed])
    methods, groups = _methods(both), _groups(both)
    fig, axes = _figure(len(groups), len(methods), width=4.4, height=3.1)
    merged: dict[str, Any] = {}
    singles: list[str] = []
    for r, (name, n) in enumerate(groups):
        here = (runs["data"] == name) & (runs["n_samples"] == n)
        gone = (failed["data"] == name) & (failed["n_samples"] == n)
        model = next(iter(pd.concat([runs[here], failed[gone]])["model"]), "linear")
        for c, method in enumerate(methods):
            ax = axes[r, c]
            part = runs[here & (runs["method"] == method)]
            bad = failed[gone & (failed["method"] == method)]
            if part.empty and bad.empty:  # not a method of this model
                ax.set_visible(False)
                continue
            curves = []
            for _, row in part.iterrows():
                hist = np.asarray(row["loss_history"], dtype=float)
                k = np.arange(1, hist.size + 1, dtype=float)
                xs = k if x == "epoch" else row["fit_time"] * k / hist.size
                curves.append((xs, hist, row))
            for xs, hist, members in _merge(curves, rtol=1e-4):
                first = members[0]
                if len(members) > 1 or by_opt:  # by_opt: the colour alone says nothing
                    text = _same_label(members, optimizers=by_opt)
                    merged.setdefault(text, _draw(ax, xs, hist, first, text, by_optimizer=by_opt))
                else:
                    _draw(ax, xs, hist, first, run_key(first))
                    singles.append(run_key(first))
            limits = _loss_limits([cv[1] for cv in curves])
            if limits:
                ax.set_ylim(*limits)
            plain_log(ax, "y")
            if x == "time":
                plain_log(ax, "x")
                ax.set_xlabel("wall time (s)")
            else:
                epoch_axis(ax)
            ax.set_title(f"{name} (n={n}) · {method}", fontsize=10, color=method_color(method))
            ax.set_ylabel(f"training {loss_name(model)}")
            ax.grid(True, which="both", alpha=0.3)
            rising = any(cv[1][-1] > cv[1][0] for cv in curves if np.isfinite(cv[1][-1]))
            _failure_note(ax, bad, top=rising)
    title = "Training loss per epoch" if x == "epoch" else "Training loss against wall time"
    fig.suptitle(f"{title} (log scale; curves that coincide are drawn once)")
    order = {m: i for i, m in enumerate(methods)}
    entries = dict(
        sorted(merged.items(), key=lambda kv: order.get(kv[0].split(":")[0].split("·")[0], 99))
    )
    entries.update(_key_handles(list(dict.fromkeys(singles)), runs))
    _shared_legend(fig, entries)
    return fig


def fit_times(results: pd.DataFrame) -> Any:
    """Median fit time of every run (a dot; min-max of the repeats as a bar), log scale: one
    panel per data set, one band per method, one marker per backend and peer. A
    ``ValueError`` when no run succeeded.
    """
    from groundup._figure import plain_log

    runs = results[results["status"] == "ok"]
    if runs.empty:
        msg = "No successful run to draw."
        raise ValueError(msg)
    groups = _groups(runs)
    both = pd.concat([runs, _failed(results)])
    keys = list(dict.fromkeys(run_key(r) for _, r in both.iterrows()))
    methods = _methods(both)
    cols = 2 if len(groups) == 4 else min(len(groups), 3)
    rows = -(-len(groups) // cols)
    height = 0.9 + len(methods) * (0.2 + 0.1 * len(keys))
    fig, axes = _figure(rows, cols, width=4.8, height=height)
    flat = list(axes.ravel())
    for ax in flat[len(groups) :]:
        ax.set_visible(False)
    step = 0.8 / max(len(keys), 1)
    for ax, (name, n) in zip(flat, groups, strict=False):
        part = both[(both["data"] == name) & (both["n_samples"] == n)]
        shown = [m for m in methods if m in set(part["method"])]
        for i, method in enumerate(shown):
            for j, key in enumerate(keys):
                mine = part[part["method"] == method]
                r = next((r for _, r in mine.iterrows() if run_key(r) == key), None)
                if r is None:
                    continue
                yy = i + (j - (len(keys) - 1) / 2) * step
                if r["status"] != "ok":
                    ax.annotate(
                        f"{key}: {_why(r)}" if r["status"] == "diverged" else
                        f"{key}: failed ({_why(r)})", xy=(0.01, yy),
                        xycoords=("axes fraction", "data"), fontsize=7, color=_FAIL_COLOR,
                        va="center",
                    )  # fmt: skip
                    continue
                t = r["fit_time"]
                xerr = [[max(t - r["fit_time_min"], 0)], [max(r["fit_time_max"] - t, 0)]]
                ax.errorbar(
                    [t], [yy], xerr=xerr, fmt="none", ecolor=method_color(method),
                    elinewidth=1.2, alpha=0.6,
                )  # fmt: skip
                ax.scatter(
                    [t], [yy], marker=backend_style(who(r))["marker"], s=46, zorder=3,
                    color=method_color(method), edgecolors="black", linewidths=0.5,
                )  # fmt: skip
        ax.set_yticks(range(len(shown)), shown)
        for tick, method in zip(ax.get_yticklabels(), shown, strict=True):
            tick.set_color(method_color(method))
        for i in range(1, len(shown)):
            ax.axhline(i - 0.5, color="0.85", linewidth=0.8)
        ax.set(ylim=(len(shown) - 0.5, -0.5), xlabel="fit time (s), median of the repeats")
        plain_log(ax, "x")
        ax.set_title(f"{name} (n={n})", fontsize=10)
        ax.grid(True, axis="x", which="both", alpha=0.3)
    fig.suptitle("Fit time by method (band, colour) and backend or peer (marker)")
    entries = _key_handles(keys, both, lines=False)
    _shared_legend(fig, entries, ncols=min(len(entries), 4))
    return fig


def _key_handles(keys: Sequence[str], runs: pd.DataFrame, *, lines: bool = True) -> dict:
    """Legend handles for the implementations: each one's marker (and dashes) in black."""
    from matplotlib.lines import Line2D

    rows = {run_key(r): r for _, r in runs.iloc[::-1].iterrows()}  # the first row of each
    order = {name: i for i, name in enumerate(BACKEND_ORDER)}
    out: dict[str, Any] = {}
    for key in sorted(keys, key=lambda k: (order.get(who(rows[k]), 99), k)):
        style = backend_style(who(rows[key]))
        out[key] = Line2D(
            [], [], color="black", dashes=style["dashes"], marker=style["marker"],
            markersize=6, linewidth=1.4 if lines else 0,
        )  # fmt: skip
    return out


def scaling(results: pd.DataFrame) -> Any:
    """Fit time against n_samples, log-log: one panel per data set (a row, one time axis)
    and method (a column), one line per backend and peer. A ``ValueError`` when no data set
    has two sizes (``sizes=[...]``).
    """
    from groundup._figure import plain_log

    runs = results[results["status"] == "ok"]
    names = [d for d, part in runs.groupby("data", sort=False) if part["n_samples"].nunique() > 1]
    if not names:
        msg = "scaling needs at least two sizes of one data set (sizes=[...])."
        raise ValueError(msg)
    runs = runs[runs["data"].isin(names)]
    methods = _methods(runs)
    fig, axes = _figure(len(names), len(methods), width=3.1, height=2.8)
    keys: list[str] = []
    for r, name in enumerate(names):
        part = runs[runs["data"] == name]
        row_axes = [axes[r, c] for c in range(len(methods))]
        for ax, method in zip(row_axes, methods, strict=True):
            mine = part[part["method"] == method]
            drawn = 0
            for _, line in mine.groupby(["impl", "backend", "device", "dtype"], sort=False):
                line = line.sort_values("n_samples")
                if len(line) < 2:
                    continue
                row = line.iloc[0]
                _draw(ax, line["n_samples"], line["fit_time"], row, run_key(row))
                keys.append(run_key(row))
                drawn += 1
            if not drawn:
                ax.set_visible(False)
                continue
            ax.set_title(f"{name} · {method}", fontsize=10, color=method_color(method))
            ax.grid(True, which="both", alpha=0.3)
            ax.set(xlabel="n_samples", xscale="log", yscale="log")
        visible = [ax for ax in row_axes if ax.get_visible()]
        lims = np.array([ax.get_ylim() for ax in visible]).reshape(-1, 2)
        for ax in visible:
            ax.set_ylim(lims[:, 0].min(), lims[:, 1].max())
            plain_log(ax, "x")
            plain_log(ax, "y")
        if visible:
            visible[0].set_ylabel("fit time (s)")
    fig.suptitle("How the fit time grows with the data (log-log)")
    entries = _key_handles(list(dict.fromkeys(keys)), runs)
    _shared_legend(fig, entries, ncols=min(len(entries), 6))
    return fig


def fitted_lines(x: np.ndarray, y: np.ndarray, results: pd.DataFrame, *, data: str) -> Any:
    """The data ``x`` (one feature), ``y`` as a scatter and every distinct fitted line of
    data set ``data`` in ``results`` over it; a line that ran away leaves the axis (the
    legend still gives its equation).
    """
    x = np.asarray(x, dtype=float).reshape(-1)
    runs = results[results["status"] == "ok"]
    runs = runs[(runs["data"] == data) & (runs["n_samples"] == x.size)]
    runs = runs[[c is not None and np.size(c) == 1 for c in runs["coef"]]]
    if runs.empty:
        msg = f"No simple-regression fit of {data!r} (n={x.size}) in these results."
        raise ValueError(msg)
    fig, axes = _figure(1, 1, width=8.0, height=5.2)
    ax = axes[0, 0]
    ax.scatter(x, y, s=9, alpha=0.35, color="0.45", label="data", edgecolors="none")
    grid = np.linspace(x.min(), x.max(), 50)
    lines = [
        (np.zeros(1), np.array([np.ravel(r["intercept"])[0], np.ravel(r["coef"])[0]], float), r)
        for _, r in runs.iterrows()
    ]
    entries: dict[str, Any] = {"data": ax.collections[0]}
    for _, (b, w), members in _merge(lines, rtol=1e-6):
        first = members[0]
        sign = "-" if w < 0 else "+"
        text = f"{_line_members(members, runs)}: y = {b:.4g} {sign} {abs(w):.4g}x"
        style = backend_style(who(first))
        (line,) = ax.plot(
            grid, b + w * grid, color=method_color(first["method"]), dashes=style["dashes"],
            linewidth=1.8, label=text,
        )  # fmt: skip
        entries.setdefault(text, line)
    gone = _failed(results)
    _failure_note(ax, gone[(gone["data"] == data) & (gone["n_samples"] == x.size)], top=True)
    span = float(np.ptp(y)) or 1.0  # the data's range: a line that ran away leaves the axis
    ax.set_ylim(float(np.min(y)) - 0.15 * span, float(np.max(y)) + 0.15 * span)
    ax.set(xlabel="x", ylabel="y")
    ax.set_title(
        f"Fitted lines on {data} (n={x.size}); lines that coincide are drawn once", fontsize=10
    )
    _shared_legend(fig, entries, ncols=1)
    return fig


def _line_members(members: Sequence[Mapping[str, Any]], runs: pd.DataFrame) -> str:
    """``normal = beta = peer sklearn.LinearRegression`` (the backend where they disagree)."""
    names = []
    for r in members:
        if r["peer"]:
            names.append(f"peer {r['impl']}")
            continue
        same = runs[(~runs["peer"]) & (runs["method"] == r["method"])]
        agree = sum(not m["peer"] and m["method"] == r["method"] for m in members)
        names.append(str(r["method"]) if len(same) == agree else f"{r['method']} ({run_key(r)})")
    return " = ".join(dict.fromkeys(names))


def loss_surface(
    x: np.ndarray,
    y: np.ndarray,
    paths: Mapping[str, np.ndarray],
    *,
    title: str | None = None,
    failed: Mapping[str, str] | None = None,
    zero_slope: bool = False,
) -> Any:
    """Contours of the MSE of ``x`` (one feature), ``y`` over (intercept, slope) with each
    optimiser's path drawn on them.

    Parameters
    ----------
    paths : mapping of str to array of shape (n_points, 2)
        (intercept, slope) after each epoch, keyed by method, or by ``"method·optimizer"``
        (one panel per method, one path per optimiser).
    title : str, optional
    failed : mapping of str to str, optional
        Paths that could not be drawn and why (``{"batch": "DivergenceError"}``).
    zero_slope : bool, default=False
        Draw the line slope = 0 (where an L1 penalty's proximal steps land).
    """
    x = np.asarray(x, dtype=float).reshape(-1)
    y = np.asarray(y, dtype=float)
    if not paths:
        msg = "loss_surface needs at least one path."
        raise ValueError(msg)
    best = np.linalg.lstsq(np.column_stack([np.ones_like(x), x]), y, rcond=None)[0]
    points = np.vstack([best[None, :], *[np.asarray(p, dtype=float) for p in paths.values()]])
    lo, hi = points.min(axis=0), points.max(axis=0)
    pad = np.maximum(0.15 * (hi - lo), 0.5)
    B, W = np.meshgrid(*(np.linspace(lo[i] - pad[i], hi[i] + pad[i], 160) for i in (0, 1)))
    # MSE(b, w) from the moments: one pass over the data, exact.
    n = x.size
    sx, sy, sxx, sxy, syy = x.sum(), y.sum(), x @ x, x @ y, y @ y
    Z = (syy - 2 * B * sy - 2 * W * sxy + n * B**2 + 2 * B * W * sx + W**2 * sxx) / n
    by_optimizer = any("·" in k for k in paths)
    panels: dict[str, dict[str, np.ndarray]] = {}
    for key, path in paths.items():
        method, _, opt = key.partition("·")
        panels.setdefault(method if by_optimizer else "", {})[opt or key] = path
    fig, axes = _figure(1, len(panels), width=6.2 if by_optimizer else 7.5, height=5.5)
    levels = np.geomspace(max(Z.min(), 1e-12), Z.max(), 16)
    entries: dict[str, Any] = {}
    filled = None
    for ax, (method, drawn) in zip(axes[0], panels.items(), strict=True):
        filled = ax.contourf(B, W, Z, levels=levels, cmap="Greys", alpha=0.45)
        ax.contour(B, W, Z, levels=levels, colors="0.55", linewidths=0.5)
        if zero_slope:
            ax.axhline(0.0, color="0.25", linewidth=0.8, dashes=(4, 2))
        for name, path in drawn.items():
            p = np.asarray(path, dtype=float)
            color = optimizer_color(name) if by_optimizer else method_color(name)
            text = name if by_optimizer else f"{name} ({len(p) - 1} epochs)"
            (line,) = ax.plot(p[:, 0], p[:, 1], "-o", color=color, markersize=3,
                              linewidth=1.4, alpha=0.9, label=text)  # fmt: skip
            entries.setdefault(text, line)
            ax.plot(p[-1, 0], p[-1, 1], "o", color=color, markersize=6, markeredgecolor="k",
                    label="_end")  # fmt: skip
        (star,) = ax.plot(best[0], best[1], "k*", markersize=14, label="least squares")
        entries["least squares"] = star
        ax.set(xlabel="intercept", ylabel="slope")
        if by_optimizer:
            epochs = max(len(p) - 1 for p in drawn.values())
            ax.set_title(f"{method} ({epochs} epochs)", fontsize=10)
    if zero_slope:
        from matplotlib.lines import Line2D

        entries["slope = 0"] = Line2D([], [], color="0.25", linewidth=0.8, dashes=(4, 2))
    what = "optimiser" if by_optimizer else "method"
    fig.suptitle(
        title or f"MSE over (intercept, slope) and each {what}'s path, epoch by epoch",
        fontsize=10,
    )
    fig.colorbar(filled, ax=list(axes[0]), label="training MSE", format="%.3g")
    if failed:
        _fail_text(axes[0, 0], "not drawn:\n" + "\n".join(f"{m}: {w}" for m, w in failed.items()))
    _shared_legend(fig, entries, ncols=3 * len(panels))
    return fig


def save(fig: Any, path: str | os.PathLike[str], *, dpi: int = 110) -> str:
    """Write ``fig`` as a PNG (creating its folder); return the path."""
    os.makedirs(os.path.dirname(os.fspath(path)) or ".", exist_ok=True)
    fig.savefig(path, dpi=dpi)
    _forget(fig)
    return os.fspath(path)


def png_bytes(fig: Any, *, dpi: int = 110) -> bytes:
    """``fig`` as PNG bytes (for pages that embed their images)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    _forget(fig)
    return buf.getvalue()


def _forget(fig: Any) -> None:
    """Close ``fig`` where pyplot manages it (made there by the caller)."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None and getattr(fig.canvas, "manager", None) is not None:
        plt.close(fig)
