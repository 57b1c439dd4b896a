"""Pictures of a benchmark: loss curves, fit times, scaling, fitted lines, optimiser paths.

Every function takes the DataFrame of :func:`groundup.benchmark` (or the data it needs) and
returns a matplotlib ``Figure``; :func:`save` writes it as a PNG. matplotlib is imported only
when a function here is called (with the non-interactive Agg backend), so fitting never
imports it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "fit_times",
    "fitted_lines",
    "label",
    "loss_curves",
    "loss_surface",
    "png_bytes",
    "save",
    "scaling",
]


def _pyplot() -> Any:
    """pyplot, on the non-interactive Agg backend unless the session chose one already (a
    notebook's inline backend via ``MPLBACKEND``, or pyplot imported by the user)."""
    import sys

    import matplotlib

    if "matplotlib.pyplot" not in sys.modules and not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _ok(results: pd.DataFrame) -> pd.DataFrame:
    return results[results["status"] == "ok"]


def label(row: Mapping[str, Any]) -> str:
    """How a run is named in legends: ``sgd · numpy/cpu/float64``, ``sgd · peer sklearn...``."""
    return f"{row['method']} · {_who(row)}"


def _grid(n: int, *, width: float = 6.0, height: float = 4.2) -> tuple[Any, list[Any]]:
    """``n`` panels, at most three to a row (unused cells of the last row are hidden)."""
    plt = _pyplot()
    cols = min(n, 3)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _by_data(results: pd.DataFrame) -> list[tuple[str, int, pd.DataFrame]]:
    groups = []
    for (name, n), part in results.groupby(["data", "n_samples"], sort=False):
        groups.append((str(name), int(n), part))
    return groups


def loss_curves(results: pd.DataFrame, *, x: str = "epoch") -> Any:
    """Training loss per epoch (``x="epoch"``) or against wall time (``x="time"``).

    One panel per data set, one line per gradient run (groundup on each backend and the
    PyTorch loop). Wall time of epoch k is the fit's median time × k / epochs (the epochs of
    a gradient method do the same work).

    Parameters
    ----------
    results : DataFrame
        From :func:`groundup.benchmark`.
    x : {"epoch", "time"}

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        No run has a loss history of more than one epoch.
    """
    if x not in ("epoch", "time"):
        msg = f"x must be 'epoch' or 'time', got {x!r}."
        raise ValueError(msg)
    runs = _ok(results)
    runs = runs[[h is not None and np.size(h) > 1 for h in runs["loss_history"]]]
    if runs.empty:
        msg = "No gradient run with a loss history in these results (closed forms have one)."
        raise ValueError(msg)
    groups = _by_data(runs)
    fig, axes = _grid(len(groups))
    for ax, (name, n, part) in zip(axes, groups, strict=True):
        for _, row in part.iterrows():
            hist = np.asarray(row["loss_history"], dtype=float)
            k = np.arange(1, hist.size + 1)
            xs = k if x == "epoch" else row["fit_time"] * k / hist.size
            style = "--" if row["peer"] else "-"
            ax.plot(xs, hist, style, label=label(row), linewidth=1.4)
        ax.set_yscale("log")
        if x == "time":
            ax.set_xscale("log")
        ax.set_xlabel("epoch" if x == "epoch" else "wall time (s)")
        ax.set_ylabel("training loss")
        ax.set_title(f"{name} (n={n})")
        ax.legend(fontsize=6, loc="upper right")
        ax.grid(True, which="both", alpha=0.3)
    fig.suptitle("Loss per epoch" if x == "epoch" else "Loss against wall time")
    fig.tight_layout()
    return fig


def fit_times(results: pd.DataFrame) -> Any:
    """Median fit time (bars; min–max as error bars) by method × backend, log scale.

    Parameters
    ----------
    results : DataFrame

    Returns
    -------
    matplotlib.figure.Figure
    """
    runs = _ok(results)
    if runs.empty:
        msg = "No successful run to draw."
        raise ValueError(msg)
    groups = _by_data(runs)
    fig, axes = _grid(len(groups), width=7.0)
    for ax, (name, n, part) in zip(axes, groups, strict=True):
        methods = list(dict.fromkeys(part["method"]))
        who = list(dict.fromkeys(_who(r) for _, r in part.iterrows()))
        width = 0.8 / max(len(who), 1)
        colors = _colors(len(who))
        for j, w in enumerate(who):
            xs, ys, lo, hi = [], [], [], []
            for i, m in enumerate(methods):
                hit = [r for _, r in part[part["method"] == m].iterrows() if _who(r) == w]
                if not hit:
                    continue
                r = hit[0]
                xs.append(i + (j - (len(who) - 1) / 2) * width)
                ys.append(r["fit_time"])
                lo.append(r["fit_time"] - r["fit_time_min"])
                hi.append(r["fit_time_max"] - r["fit_time"])
            if xs:
                ax.bar(xs, ys, width, yerr=[lo, hi], label=w, color=colors[j], capsize=2)
        ax.set_xticks(range(len(methods)), methods)
        ax.set_yscale("log")
        ax.set_ylabel("fit time (s), median of repeats")
        ax.set_title(f"{name} (n={n})")
        ax.legend(fontsize=6)
        ax.grid(True, axis="y", which="both", alpha=0.3)
    fig.suptitle("Fit time by method and backend")
    fig.tight_layout()
    return fig


def _who(row: Mapping[str, Any]) -> str:
    """Who ran a row, and where: ``numpy/cpu/float64``, ``peer sklearn...`` (with its device
    when that is not the CPU)."""
    if row["peer"]:
        return f"peer {row['impl']}" + ("" if row["device"] == "cpu" else f" ({row['device']})")
    return f"{row['backend']}/{row['device']}/{row['dtype']}"


def _colors(n: int) -> list[Any]:
    plt = _pyplot()
    cmap = plt.get_cmap("tab10" if n <= 10 else "tab20")
    return [cmap(i % cmap.N) for i in range(n)]


def scaling(results: pd.DataFrame) -> Any:
    """Fit time against n_samples, log–log, one line per method and backend.

    Parameters
    ----------
    results : DataFrame
        With at least two sizes of one data set (``sizes=[...]``).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        Fewer than two sizes of any data set.
    """
    runs = _ok(results)
    names = [d for d, part in runs.groupby("data") if part["n_samples"].nunique() > 1]
    if not names:
        msg = "scaling needs at least two sizes of one data set (sizes=[...])."
        raise ValueError(msg)
    fig, axes = _grid(len(names))
    for ax, name in zip(axes, names, strict=True):
        part = runs[runs["data"] == name]
        for _key, line in part.groupby(["method", "impl", "backend", "device", "dtype"]):
            line = line.sort_values("n_samples")
            if len(line) < 2:
                continue
            row = line.iloc[0]
            style = "--" if row["peer"] else "-"
            ax.plot(line["n_samples"], line["fit_time"], style, marker="o", label=label(row))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("n_samples")
        ax.set_ylabel("fit time (s)")
        ax.set_title(name)
        ax.legend(fontsize=6)
        ax.grid(True, which="both", alpha=0.3)
    fig.suptitle("How the cost grows with the data")
    fig.tight_layout()
    return fig


def fitted_lines(x: np.ndarray, y: np.ndarray, results: pd.DataFrame, *, data: str) -> Any:
    """The data as a scatter and every method's fitted line over it (simple regression).

    Parameters
    ----------
    x : array of shape (n_samples,) or (n_samples, 1)
    y : array of shape (n_samples,)
    results : DataFrame
        Rows of data set ``data`` whose ``coef`` has one entry; one line per method (the
        first backend that fitted it) and per peer.
    data : str
        Name of the data set in ``results``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    x = np.asarray(x, dtype=float).reshape(-1)
    runs = _ok(results)
    runs = runs[(runs["data"] == data) & (runs["n_samples"] == x.size)]
    runs = runs[[c is not None and np.size(c) == 1 for c in runs["coef"]]]
    if runs.empty:
        msg = f"No simple-regression fit of {data!r} (n={x.size}) in these results."
        raise ValueError(msg)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.scatter(x, y, s=8, alpha=0.4, color="grey", label="data")
    grid = np.linspace(x.min(), x.max(), 50)
    shown = runs.drop_duplicates(["method", "impl"])
    for (_, row), color in zip(shown.iterrows(), _colors(len(shown)), strict=True):
        w = float(np.ravel(row["coef"])[0])
        b = float(np.ravel(row["intercept"])[0])
        style = "--" if row["peer"] else "-"
        who = f"peer {row['impl']}" if row["peer"] else f"groundup {row['method']}"
        ax.plot(grid, b + w * grid, style, color=color, label=f"{who}: y = {b:.3f} + {w:.3f}x")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(f"Fitted lines on {data}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def loss_surface(
    x: np.ndarray,
    y: np.ndarray,
    paths: Mapping[str, np.ndarray],
    *,
    title: str = "MSE over (intercept, slope) and the optimisers' paths",
) -> Any:
    """Contours of the MSE over (intercept, slope) with each optimiser's path drawn on them.

    Parameters
    ----------
    x : array of shape (n_samples,) or (n_samples, 1)
    y : array of shape (n_samples,)
    paths : mapping of str to array of shape (n_points, 2)
        (intercept, slope) after each epoch, from the starting point; e.g. from
        :func:`groundup.bench.optimizer_paths`.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    x = np.asarray(x, dtype=float).reshape(-1)
    y = np.asarray(y, dtype=float)
    if not paths:
        msg = "loss_surface needs at least one path."
        raise ValueError(msg)
    A = np.column_stack([np.ones_like(x), x])
    best = np.linalg.lstsq(A, y, rcond=None)[0]
    points = np.vstack([best[None, :], *[np.asarray(p, dtype=float) for p in paths.values()]])
    lo, hi = points.min(axis=0), points.max(axis=0)
    pad = np.maximum(0.15 * (hi - lo), 0.5)
    b_grid = np.linspace(lo[0] - pad[0], hi[0] + pad[0], 160)
    w_grid = np.linspace(lo[1] - pad[1], hi[1] + pad[1], 160)
    B, W = np.meshgrid(b_grid, w_grid)
    # MSE(b, w) from the moments: one pass over the data, exact.
    n = x.size
    sx, sy, sxx, sxy, syy = x.sum(), y.sum(), x @ x, x @ y, y @ y
    Z = (syy - 2 * B * sy - 2 * W * sxy + n * B**2 + 2 * B * W * sx + W**2 * sxx) / n
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 5.5))
    levels = np.geomspace(max(Z.min(), 1e-12), Z.max(), 25)
    cs = ax.contour(B, W, Z, levels=levels, cmap="viridis", linewidths=0.8)
    fig.colorbar(cs, ax=ax, label="MSE")
    for (name, path), color in zip(paths.items(), _colors(len(paths)), strict=True):
        p = np.asarray(path, dtype=float)
        ax.plot(p[:, 0], p[:, 1], "-o", color=color, markersize=2.5, linewidth=1.2,
                label=f"{name} ({len(p) - 1} epochs)")  # fmt: skip
    ax.plot(best[0], best[1], "k*", markersize=12, label="least squares")
    ax.set_xlabel("intercept")
    ax.set_ylabel("slope")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def save(fig: Any, path: str | os.PathLike[str], *, dpi: int = 110) -> str:
    """Write ``fig`` as a PNG and close it; return the path."""
    plt = _pyplot()
    os.makedirs(os.path.dirname(os.fspath(path)) or ".", exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return os.fspath(path)


def png_bytes(fig: Any, *, dpi: int = 110) -> bytes:
    """``fig`` as PNG bytes (for pages that embed their images); closes it."""
    import io

    plt = _pyplot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()
