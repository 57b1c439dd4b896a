"""Benchmark results as a terminal table, CSV, JSON, Markdown and one self-contained HTML page.

:func:`display_frame` picks and formats the columns a person reads (the same for every
format); :func:`write_outputs` writes the machine-readable results, every plot as a PNG, a
Markdown report that links them and an HTML page that carries them inline (base64), so it
can be opened or shared as one file.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from groundup.bench.plots import fit_times, fitted_lines, loss_curves, loss_surface, save, scaling
from groundup.bench.runner import optimizer_paths

__all__ = [
    "display_frame",
    "make_figures",
    "print_table",
    "to_csv",
    "to_html",
    "to_json",
    "to_markdown",
    "write_outputs",
]

_OBJECT_COLUMNS = ("loss_history", "coef", "intercept")


# -- formatting -------------------------------------------------------------------------------
def _num(v: Any, fmt: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return format(float(v), fmt)


def _ms(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    ms = 1e3 * float(v)
    return f"{ms:.3g}" if ms < 100 else f"{ms:.0f}"


def _who(row: Mapping[str, Any]) -> str:
    return f"peer: {row['impl']}" if row["peer"] else f"groundup/{row['backend']}"


def _note(row: Mapping[str, Any]) -> str:
    if row["status"] != "ok":
        return f"{row['status']}: {row['reason']}"
    return str(row["warnings"] or "")


def display_frame(results: pd.DataFrame) -> pd.DataFrame:
    """The columns a person reads, formatted as strings.

    Regression columns (RMSE, MAE, R2) appear when there are regression rows, accuracy and
    log-loss when there are classification rows, device memory when a GPU was measured.

    Parameters
    ----------
    results : DataFrame
        From :func:`groundup.benchmark`.

    Returns
    -------
    DataFrame of str
    """
    models = set(results["model"].dropna())
    regression = "linear" in models or results["rmse"].notna().any()
    classification = "logistic" in models or results["accuracy"].notna().any()
    device_mem = results["peak_device_mb"].notna().any()
    rows = []
    for _, r in results.iterrows():
        ok = r["status"] == "ok"
        size = (
            f"{int(r['n_samples'])}x{int(r['n_features'])}" if pd.notna(r.get("n_samples")) else ""
        )
        out = {
            "data": "" if pd.isna(r["data"]) else str(r["data"]),
            "n x d": size,
            "method": "" if pd.isna(r["method"]) else str(r["method"]),
            "who": _who(r),
            "device": str(r["device"]),
            "dtype": str(r["dtype"]),
        }
        if regression:
            out["RMSE"] = _num(r["rmse"], ".4g")
            out["MAE"] = _num(r["mae"], ".4g")
            out["R2"] = _num(r["r2"], ".4f")
        if classification:
            out["accuracy"] = _num(r["accuracy"], ".4f")
            out["log-loss"] = _num(r["log_loss"], ".4g")
        out["fit ms"] = _ms(r["fit_time"])
        out["min-max ms"] = f"{_ms(r['fit_time_min'])}-{_ms(r['fit_time_max'])}" if ok else ""
        out["epochs"] = "" if not ok else str(int(r["epochs"]))
        out["conv"] = "" if not ok else ("yes" if r["converged"] else "no")
        out["host MiB"] = _num(r["peak_host_mb"], ".3g")
        if device_mem:
            out["device MiB"] = _num(r["peak_device_mb"], ".3g")
        out["note"] = _note(r)
        rows.append(out)
    return pd.DataFrame(rows)


def print_table(results: pd.DataFrame, console: Any = None, *, title: str | None = None) -> None:
    """Print the results as a rich table (peers in italics, skipped and failed rows dimmed).

    Parameters
    ----------
    results : DataFrame
    console : rich.console.Console, optional
        Default: standard output; when it is not a terminal (a pipe, a file), as wide as the
        table needs, so that nothing is folded.
    title : str, optional
    """
    from rich.console import Console
    from rich.table import Table

    if console is None:
        console = Console()
        if not console.is_terminal:
            console = Console(width=400)
    frame = display_frame(results)
    table = Table(title=title, header_style="bold", show_lines=False)
    numeric = {"RMSE", "MAE", "R2", "accuracy", "log-loss", "fit ms", "epochs",
               "host MiB", "device MiB"}  # fmt: skip
    for col in frame.columns:
        table.add_column(
            col, justify="right" if col in numeric else "left", overflow="fold",
            max_width=60 if col == "note" else None,
        )  # fmt: skip
    for (_, row), (_, raw) in zip(frame.iterrows(), results.iterrows(), strict=True):
        style = "dim" if raw["status"] != "ok" else ("italic" if raw["peer"] else None)
        table.add_row(*[str(v) for v in row], style=style)
    console.print(table)


def to_markdown(results: pd.DataFrame, images: Mapping[str, str] | None = None) -> str:
    """A Markdown table of the results, followed by the plots (linked by relative path).

    Parameters
    ----------
    results : DataFrame
    images : mapping of str to str, optional
        Title -> path of a PNG (relative to where the Markdown file is written).

    Returns
    -------
    str
    """
    frame = display_frame(results)
    cells = [[str(v).replace("|", "\\|") for v in row] for row in frame.to_numpy()]
    lines = ["| " + " | ".join(frame.columns) + " |"]
    lines.append("|" + "|".join("---" for _ in frame.columns) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    text = "# groundup benchmark\n\n" + "\n".join(lines) + "\n"
    for title, path in (images or {}).items():
        text += f"\n## {title}\n\n![{title}]({path})\n"
    return text


def to_html(
    results: pd.DataFrame,
    images: Mapping[str, bytes] | None = None,
    *,
    title: str = "groundup benchmark",
) -> str:
    """One self-contained HTML page: the table and every plot inline (base64 PNG).

    Parameters
    ----------
    results : DataFrame
    images : mapping of str to bytes, optional
        Title -> PNG bytes.
    title : str

    Returns
    -------
    str
    """
    table = display_frame(results).to_html(index=False, escape=True, border=0)
    figures = "".join(
        f'<figure><img alt="{html.escape(name)}" src="data:image/png;base64,'
        f'{base64.b64encode(png).decode("ascii")}"><figcaption>{html.escape(name)}'
        "</figcaption></figure>\n"
        for name, png in (images or {}).items()
    )
    style = (
        "body{font-family:system-ui,sans-serif;margin:2em;color:#222}"
        "table{border-collapse:collapse;font-size:13px}"
        "th,td{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}"
        "th{background:#f3f3f3}td:nth-child(-n+6){text-align:left}"
        "figure{margin:2em 0}img{max-width:100%}"
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{style}</style></head><body>\n"
        f"<h1>{html.escape(title)}</h1>\n{table}\n{figures}</body></html>\n"
    )


def _plain(results: pd.DataFrame) -> pd.DataFrame:
    return results.drop(columns=[c for c in _OBJECT_COLUMNS if c in results.columns])


def to_csv(results: pd.DataFrame) -> str:
    """The results as CSV (every scalar column; histories and coefficients are in JSON)."""
    return _plain(results).to_csv(index=False)


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return [_jsonable(x) for x in v.tolist()]
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def to_json(results: pd.DataFrame) -> str:
    """The results as a JSON list of records (NaN as null, histories as lists)."""
    records = [
        {k: _jsonable(v) for k, v in row.items()} for row in results.to_dict(orient="records")
    ]
    return json.dumps(records, indent=1)


# -- figures and files ------------------------------------------------------------------------
def make_figures(
    results: pd.DataFrame, sets: Sequence[Any], params: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Every plot these results support, by file stem.

    Loss per epoch and against wall time (gradient runs), fit times, scaling (several sizes),
    and for each simple-regression data set (its smallest size) the fitted lines and the
    optimisers' paths over the loss surface.

    Parameters
    ----------
    results : DataFrame
    sets : sequence of Dataset
        The data sets the results came from (for scatters and surfaces).
    params : dict, optional
        The benchmark's hyper-parameters (the paths are refitted with them).

    Returns
    -------
    dict of str to matplotlib Figure
    """
    figs: dict[str, Any] = {}
    ok = results[results["status"] == "ok"]
    if ok.empty:
        return figs
    drawers = {
        "loss_per_epoch": lambda: loss_curves(results, x="epoch"),
        "loss_vs_time": lambda: loss_curves(results, x="time"),
        "fit_times": lambda: fit_times(results),
        "scaling": lambda: scaling(results),
    }
    for name, draw in drawers.items():
        try:
            figs[name] = draw()
        except ValueError:  # nothing of that kind in these results
            continue
    simple = {}
    for d in sets:
        if d.simple and d.task == "regression" and d.name in set(ok["data"]):
            if d.name not in simple or d.n_samples < simple[d.name].n_samples:
                simple[d.name] = d
    for d in simple.values():
        figs[f"fitted_lines_{d.name}"] = fitted_lines(d.X, d.y, results, data=d.name)
        methods = [m for m in ("batch", "sgd", "minibatch")
                   if m in set(ok[(ok["data"] == d.name) & (ok["model"] == "linear")]["method"])]  # fmt: skip
        if methods:
            paths = optimizer_paths(d, methods=methods, params=params)
            figs[f"loss_surface_{d.name}"] = loss_surface(d.X, d.y, paths)
    return figs


def write_outputs(
    results: pd.DataFrame,
    sets: Sequence[Any],
    out_dir: str | os.PathLike[str],
    *,
    params: dict[str, Any] | None = None,
    plots: bool = True,
) -> list[str]:
    """Write ``results.csv``, ``results.json``, every plot as a PNG, ``report.md`` (PNGs
    linked) and ``report.html`` (self-contained) into ``out_dir``.

    Parameters
    ----------
    results : DataFrame
    sets : sequence of Dataset
    out_dir : str or path-like
        Created if missing.
    params : dict, optional
        The benchmark's hyper-parameters (for the optimiser paths).
    plots : bool, default=True

    Returns
    -------
    list of str
        The paths written.
    """
    out = os.fspath(out_dir)
    os.makedirs(out, exist_ok=True)
    written = []

    def put(name: str, text: str) -> None:
        path = os.path.join(out, name)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
        written.append(path)

    put("results.csv", to_csv(results))
    put("results.json", to_json(results))
    pngs: dict[str, bytes] = {}
    links: dict[str, str] = {}
    if plots:
        for stem, fig in make_figures(results, sets, params).items():
            path = save(fig, os.path.join(out, f"{stem}.png"))
            written.append(path)
            with open(path, "rb") as fh:
                pngs[stem] = fh.read()
            links[stem] = f"{stem}.png"
    put("report.md", to_markdown(results, links))
    put("report.html", to_html(results, pngs))
    return written
