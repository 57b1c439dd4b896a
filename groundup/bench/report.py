"""Benchmark results as a terminal table, CSV, JSON, Markdown and one self-contained HTML page
(plots inline, with the record of the run), and a verdict per data set: the fastest and the
most accurate run, beside the peers."""

from __future__ import annotations

import base64
import contextlib
import html
import io
import json
import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from groundup.bench.plots import fit_times, fitted_lines, loss_curves, loss_surface, save, scaling
from groundup.bench.runner import COLUMNS, optimizer_paths
from groundup.bench.status import STALLED
from groundup.bench.style import method_label, names_optimizers, run_key, who

__all__ = [
    "Verdict",
    "caption",
    "display_frame",
    "make_figures",
    "print_table",
    "to_csv",
    "to_html",
    "to_json",
    "to_markdown",
    "verdicts",
    "write_outputs",
]

_OBJECT_COLUMNS = ("loss_history", "coef", "intercept")


# -- formatting -------------------------------------------------------------------------------
def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA


def _num(v: Any, fmt: str) -> str:
    return "" if _missing(v) else format(float(v), fmt)


def _ms(v: Any) -> str:
    ms = math.nan if _missing(v) else 1e3 * float(v)
    return _num(ms, ".3g" if ms < 100 else ".0f")


def _r2(v: Any) -> str:
    return _num(v, ".3g" if not _missing(v) and abs(float(v)) >= 1e4 else ".4f")


def _generic(v: Any) -> str:
    if _missing(v):
        return ""
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "no"
    if isinstance(v, float | np.floating):
        return f"{float(v):.4g}"
    return str(v)


def _on(row: Mapping[str, Any]) -> str:
    dtype = {"float64": "f64", "float32": "f32"}.get(str(row["dtype"]), str(row["dtype"]))
    return f"{row['device']} {dtype}"


def _note(row: Mapping[str, Any]) -> str:
    if row["status"] == "error":  # "failed" is in the stop column; the reason below the table
        return str(row.get("reason") or "").split(":")[0]
    if row["status"] not in ("ok", "diverged"):  # "diverged": the stop column says it
        return f"{row['status']}: {row.get('reason') or ''}"
    return "" if _missing(row.get("warnings")) else str(row.get("warnings") or "")


def _ended(row: Mapping[str, Any], column: str) -> str:
    """The ``conv`` or ``stop`` cell; ``failed`` for a run that raised."""
    if row["status"] != "ok":
        diverged = "no" if column == "converged" else "diverged"
        return {"error": "failed", "diverged": diverged}.get(row["status"], "")
    if column == "converged":
        return "yes" if row["converged"] else "no"
    return "" if _missing(row.get("stop")) else str(row["stop"])


def _if_ok(cell: Callable[[Mapping[str, Any]], str]) -> Callable[[Mapping[str, Any]], str]:
    return lambda r: cell(r) if r["status"] == "ok" else ""


@dataclass(frozen=True)
class _Col:
    """A column a person reads: header, cell, right-aligned number, in the compact table."""

    header: str
    cell: Callable[[Mapping[str, Any]], str]
    numeric: bool = False
    compact: bool = False
    needs: str | None = None  # a column of the results it reads (absent: not shown)


def with_optimizers(results: pd.DataFrame) -> pd.DataFrame:
    """``results`` with each gradient run's optimiser in its ``method`` label
    (``minibatch·adam``) where :func:`~groundup.bench.style.names_optimizers`."""
    if "optimizer" not in results or not names_optimizers(results["optimizer"]):
        return results
    pairs = zip(results["method"], results["optimizer"], strict=True)
    labels = [method_label(m, o) if isinstance(o, str) else m for m, o in pairs]
    return results.assign(method=labels)


def _columns(results: pd.DataFrame) -> list[_Col]:
    models = set(results["model"].dropna()) if "model" in results else set()
    has = {c for c in results.columns if results[c].notna().any()}
    cols = [
        _Col("method", lambda r: "" if _missing(r["method"]) else str(r["method"]), compact=True),
        _Col(
            "backend", lambda r: f"peer {who(r)}" if r["peer"] else str(r["backend"]), False, True
        ),
        _Col("on", _on, compact=True),
    ]
    if "linear" in models or "rmse" in has:
        cols += [
            _Col("RMSE", lambda r: _num(r["rmse"], ".4g"), True, True, "rmse"),
            _Col("MAE", lambda r: _num(r["mae"], ".4g"), True, False, "mae"),
            _Col("R2", lambda r: _r2(r["r2"]), True, True, "r2"),
        ]
    if "logistic" in models or "accuracy" in has:
        cols += [
            _Col("accuracy", lambda r: _num(r["accuracy"], ".4f"), True, True, "accuracy"),
            _Col("log-loss", lambda r: _num(r["log_loss"], ".4g"), True, True, "log_loss"),
        ]
    span = _if_ok(lambda r: f"{_ms(r['fit_time_min'])}-{_ms(r['fit_time_max'])}")
    host = _if_ok(lambda r: "n/a" if _missing(v := r["peak_host_mb"]) else f"{float(v):.3g}")
    cols += [
        _Col("fit ms", lambda r: _ms(r["fit_time"]), True, True, "fit_time"),
        _Col("min-max ms", span, True, False, "fit_time_min"),
        _Col("repeats", _if_ok(lambda r: _generic(r["repeats"])), True, False, "repeats"),
        _Col("epochs", lambda r: _num(r.get("epochs"), ".0f"), True, True, "epochs"),
        _Col("conv", lambda r: _ended(r, "converged"), False, False, "converged"),
        _Col("stop", lambda r: _ended(r, "stop"), False, True, "stop"),
        _Col("eta0", lambda r: _num(r["eta0"], ".4g"), True, False, "eta0"),
        _Col("final loss", lambda r: _num(r["final_loss"], ".4g"), True, False, "final_loss"),
        _Col("host MiB", host, True, False, "peak_host_mb"),
    ]
    if "peak_device_mb" in has:
        cols.append(_Col("device MiB", lambda r: _num(r["peak_device_mb"], ".3g"), True, False))
    for extra in results.columns:  # a column a later runner added: shown in the wide table
        if extra not in COLUMNS and extra in has:
            cols.append(_Col(str(extra), lambda r, c=extra: _generic(r.get(c)), False, False))
    cols.append(_Col("note", _note, compact=True))
    return [c for c in cols if c.needs is None or c.needs in results.columns]


SCALED_NOTE = "features standardised on each training split; coefficients in the data's own units"
HOST_MIB_NOTE = (
    "host MiB: peak Python-heap memory of one short fit (tracemalloc); n/a for libraries "
    "that allocate outside it (PyTorch, JAX)"
)


def display_frame(results: pd.DataFrame, *, wide: bool = False) -> pd.DataFrame:
    """The columns a person reads, formatted as strings, one row per run (regression columns
    where there are regression rows, classification ones where there are such rows).

    Parameters
    ----------
    results : DataFrame
        From :func:`groundup.benchmark`.
    wide : bool, default=False
        Every column (the data set and its size, MAE, min-max times, repeats, final loss,
        memory and any column this version does not know) instead of the compact set that
        fits a 100-column terminal.

    Returns
    -------
    DataFrame of str
        With ``data`` and ``n x d`` first.
    """
    results = with_optimizers(results)
    cols = [c for c in _columns(results) if wide or c.compact]
    rows = []
    for _, r in results.iterrows():
        n = r.get("n_samples")
        size = "" if _missing(n) else f"{int(n)}x{int(r['n_features'])}"
        cells = {c.header: c.cell(r) for c in cols}
        rows.append(
            {"data": "" if _missing(r.get("data")) else str(r["data"]), "n x d": size, **cells}
        )
    return pd.DataFrame(rows, columns=["data", "n x d", *[c.header for c in cols]])


# -- the verdict ------------------------------------------------------------------------------
@dataclass
class Verdict:
    """The fastest and the most accurate groundup run and peer run of one data set: their
    index labels in the results (None where there is none)."""

    data: str
    n_samples: int
    n_features: int
    task: str  # "regression" or "classification"
    fastest: Any
    peer_fastest: Any
    accurate: Any
    peer_accurate: Any
    metric: str  # "rmse" or "accuracy"

    def line(self, results: pd.DataFrame) -> str:
        """``fastest normal·numpy 0.95 ms (0.72x sklearn); best RMSE 0.9912 beta·numpy
        (peer 0.9912)``: the fit time as a multiple of the fastest peer's."""
        if self.fastest is None:
            return "every groundup run failed or was skipped (see below)"
        f = results.loc[self.fastest]
        text = f"fastest {_name(f)} {_ms(f['fit_time'])} ms"
        if self.peer_fastest is not None:
            p = results.loc[self.peer_fastest]
            ratio = float(f["fit_time"]) / float(p["fit_time"])
            times = f"{ratio:.2f}" if ratio < 10 else f"{ratio:.3g}"
            peer = who(p) if p["method"] == f["method"] else f"{who(p)} {p['method']}"
            text += f" ({times}x {peer})"
        a = results.loc[self.accurate]
        label, fmt = ("RMSE", ".4g") if self.metric == "rmse" else ("accuracy", ".4f")
        text += f"; best {label} {_num(a[self.metric], fmt)} {_name(a)}"
        if self.peer_accurate is not None:
            text += f" (peer {_num(results.loc[self.peer_accurate, self.metric], fmt)})"
        return text


def _name(row: Mapping[str, Any]) -> str:
    return f"{row['method']}·{run_key(row)}"


def verdicts(results: pd.DataFrame) -> list[Verdict]:
    """Per data set (and size) with a run that succeeded, in order: the fastest and the most
    accurate groundup run and peer run."""
    out = []
    results = with_optimizers(results)
    ok = results[results["status"] == "ok"]
    for (name, n), part in ok.groupby(["data", "n_samples"], sort=False):
        regression = part["rmse"].notna().any() if "rmse" in part else False
        metric = "rmse" if regression else "accuracy"
        mine, peers = part[~part["peer"].astype(bool)], part[part["peer"].astype(bool)]
        out.append(
            Verdict(
                data=str(name), n_samples=int(n), n_features=int(part["n_features"].iloc[0]),
                task="regression" if regression else "classification",
                fastest=_fastest(mine), peer_fastest=_fastest(peers),
                accurate=_best(mine, metric), peer_accurate=_best(peers, metric),
                metric=metric,
            )
        )  # fmt: skip
    return out


def _highlights(found: Sequence[Verdict]) -> dict[Any, set[str]]:
    """Index label -> ``{"fastest", "accurate"}``: the groundup runs the verdicts name."""
    best: dict[Any, set[str]] = {}
    for v in found:
        for i, tag in ((v.fastest, "fastest"), (v.accurate, "accurate")):
            if i is not None:
                best.setdefault(i, set()).add(tag)
    return best


def _fastest(part: pd.DataFrame) -> Any:
    times = part["fit_time"].astype(float)
    return None if times.notna().sum() == 0 else times.idxmin()


def _best(part: pd.DataFrame, metric: str) -> Any:
    """The most accurate row; among ties (to 1e-5, below what the table shows and above
    float32's rounding), the fastest."""
    if part.empty or part[metric].notna().sum() == 0:
        return None
    score = part[metric].astype(float)
    if metric == "accuracy":  # higher is better; log-loss breaks ties
        top = part[score >= score.max() - 1e-5]
        if "log_loss" in top and top["log_loss"].notna().any():
            ll = top["log_loss"].astype(float)
            top = top[ll <= ll.min() * (1 + 1e-5)]
    else:
        top = part[score <= score.min() * (1 + 1e-5)]
    return top["fit_time"].astype(float).idxmin()


# -- the terminal table -----------------------------------------------------------------------
def _rich_width(renderable: Any) -> int:
    """The width ``renderable`` takes when nothing limits it."""
    from rich.console import Console

    console = Console(width=1000, file=io.StringIO(), color_system=None, legacy_windows=False)
    with console.capture() as cap:
        console.print(renderable)
    return max((len(line.rstrip()) for line in cap.get().splitlines()), default=0)


def text_table(
    title: str, columns: Sequence[tuple[str, Sequence[str], bool]],
    styles: Sequence[str | None], note_width: int | None = None,
) -> Any:  # fmt: skip
    """A rich table of text cells (never markup), ``columns`` as (header, cells,
    right-aligned), none folded; a ``note`` column is cut to ``note_width``."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=Text(title, style="bold"), title_justify="left", box=box.SIMPLE_HEAD,
        header_style="bold", pad_edge=False, show_edge=False, collapse_padding=True,
    )  # fmt: skip
    for name, cells, right in columns:
        if name == "note":
            table.add_column(Text(name), no_wrap=True, overflow="ellipsis", max_width=note_width)
        else:
            table.add_column(
                Text(name), justify="right" if right else "left", no_wrap=True,
                min_width=max([len(name), *map(len, cells)]),
            )  # fmt: skip
    for k, style in enumerate(styles):
        table.add_row(*[Text(cells[k]) for _, cells, _ in columns], style=style)
    return table


def _table(frame: pd.DataFrame, raw: pd.DataFrame, styles: Sequence[str | None], title: str,
           note_width: int | None) -> Any:  # fmt: skip
    numeric = {c.header for c in _columns(raw) if c.numeric}
    cols = [(c, [str(v) for v in frame[c]], c in numeric) for c in frame.columns]
    return text_table(title, cols, styles, note_width)


def print_table(
    results: pd.DataFrame,
    console: Any = None,
    *,
    title: str | None = None,
    wide: bool = False,
    translate: Callable[[str], str] | None = None,
) -> None:
    """Print one table per data set with its verdict underneath, then the runs that were
    skipped or failed, with their reasons. Cells print as text (never rich markup); numbers
    never fold: the compact table shortens its notes to fit, the wide one takes the width it
    needs.

    Parameters
    ----------
    console : rich.console.Console, optional
        Default: standard output, as wide as the terminal (80 columns when not a terminal).
    title : str, optional
        A line above the tables.
    wide : bool, default=False
        Every column (see :func:`display_frame`).
    translate : callable, optional
        Applied to every reason before it is printed (the command line's flags for Python
        spellings such as ``eta0=5.0``).
    """
    from rich.console import Console
    from rich.text import Text

    console = console if console is not None else Console()
    results = with_optimizers(results)
    if title:
        console.print(Text(title, style="bold"))
    if _scaled(results):
        console.print(Text(SCALED_NOTE, style="dim"))
    found = verdicts(results)
    marks = dict.fromkeys(_highlights(found), "bold")
    lines = {(v.data, v.n_samples): v.line(results) for v in found}
    host_na = False
    for name, n, head, raw in _data_groups(results):
        part = display_frame(raw, wide=wide).drop(columns=["data", "n x d"])
        host_na |= bool("host MiB" in part and (part["host MiB"] == "n/a").any())
        styles = [
            "dim" if r["status"] != "ok" else marks.get(i, "italic" if r["peer"] else None)
            for i, r in raw.iterrows()
        ]
        head += " (classification)" if raw["model"].eq("logistic").all() else " (regression)"
        if not wide and "on" in part and part["on"].nunique() == 1:  # said once, in the title
            head += f", every run on {part['on'].iloc[0]}"
            part = part.drop(columns=["on"])
        table = _table(part, raw, styles, head, None)
        excess = _rich_width(table) - console.width
        if wide and excess > 0:  # as wide as it needs: nothing folded, past the terminal's edge
            width, console.width = console.width, console.width + excess
            console.print(table)
            console.width = width
        else:
            if excess > 0:  # shorten the notes (they are in results.csv), else drop them
                note = max(len(str(v)) for v in [*part["note"], "note"]) - excess
                short = part if note >= 8 else part.drop(columns=["note"])
                table = _table(short, raw, styles, head, note if note >= 8 else None)
            console.print(table)
        if (name, n) in lines:
            console.print(Text(lines[(name, n)]))
        console.print()
    if host_na:
        console.print(Text(HOST_MIB_NOTE, style="dim"))
    for text, style in _troubles(results, translate or str):
        console.print(Text(text, style=style))


def _scaled(results: pd.DataFrame) -> bool:
    """Whether the runs trained on standardised features (``benchmark(scale=True)``)."""
    return "scaled" in results and bool(results["scaled"].fillna(False).astype(bool).any())


def _troubles(results: pd.DataFrame, words: Callable[[str], str]) -> list[tuple[str, str]]:
    """The lines under the tables and their styles: ``failed: line · batch · numpy, torch: ...``."""
    status = results["status"]
    stop = results["stop"] if "stop" in results else pd.Series(None, index=results.index)
    stalled = results[(status == "ok") & (stop == "stalled")].assign(reason=STALLED)
    out = []
    for label, rows, style in (
        ("failed", results[status == "error"], "red"),
        ("diverged", results[status == "diverged"], "red"),
        ("stalled", stalled, "yellow"),
        ("skipped", results[status == "skipped"], "dim"),
    ):
        grouped: dict[tuple[str, str], list[str]] = {}
        for _, r in rows.iterrows():
            data = "" if _missing(r.get("data")) else str(r["data"])
            if data and not _missing(r.get("n_samples")):
                data += f" (n={int(r['n_samples'])})"
            what = " · ".join(
                v for v in (data, str(r.get("method") or "")) if v and v not in "-nan"
            )
            where = run_key(r) if not _missing(r.get("backend")) else "?"
            grouped.setdefault((what, words(str(r.get("reason") or ""))), []).append(where)
        for (what, why), wheres in grouped.items():
            where = ", ".join(dict.fromkeys(wheres))
            out.append((f"{label}: {what + ' · ' if what else ''}{where}: {why}", style))
    return out


def _data_groups(results: pd.DataFrame) -> Iterator[tuple[str, int, str, pd.DataFrame]]:
    """The runs that ran, by data set and size in order: name, size, heading, rows."""
    ran = results[results["status"] != "skipped"]
    for (name, n), raw in ran.groupby(["data", "n_samples"], sort=False):
        d = int(raw["n_features"].iloc[0])
        head = f"{name}: {int(n)} samples x {d} feature{'s' if d != 1 else ''}"
        yield str(name), int(n), head, raw


# -- Markdown, CSV, JSON ----------------------------------------------------------------------
def to_markdown(results: pd.DataFrame, images: Mapping[str, str] | None = None) -> str:
    """A Markdown report: the verdict per data set, the table (every column) and the plots
    (``images``: file stem -> path of a PNG relative to the Markdown file, with captions)."""
    results = with_optimizers(results)
    frame = display_frame(results, wide=True)
    cells = [[str(v).replace("|", "\\|") for v in row] for row in frame.to_numpy()]
    lines = ["| " + " | ".join(row) + " |" for row in [list(frame.columns), *cells]]
    lines.insert(1, "|" + "---|" * len(frame.columns))
    text = "# groundup benchmark\n\n"
    for v in verdicts(results):
        text += f"- **{v.data}** (n={v.n_samples}): {v.line(results)}\n"
    text += "\n" + "\n".join(lines) + "\n"
    for stem, path in (images or {}).items():
        head, body = caption(stem)
        text += f"\n## {head}\n\n![{head}]({path})\n\n{body}\n"
    return text


def to_csv(results: pd.DataFrame) -> str:
    """The results as CSV (every scalar column; histories and coefficients are in JSON)."""
    return results.drop(columns=[c for c in _OBJECT_COLUMNS if c in results]).to_csv(index=False)


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        v = v.tolist()
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


# -- captions ---------------------------------------------------------------------------------
_CAPTIONS: dict[str, tuple[str, str]] = {
    "loss_per_epoch": (
        "Training loss per epoch",
        "The training loss (MSE for regression, log-loss for classification) after each "
        "epoch of every gradient run, one panel per data set and method. Curves that "
        "coincide (the same iterates on every backend) are drawn once, and the legend says "
        "which runs each stands for; failed runs are named on their panel.",
    ),
    "loss_vs_time": (
        "Training loss against wall time",
        "The same losses against the time the fit took to get there (its median fit time "
        "spread evenly over its epochs), log-log: the curve furthest left reaches a given "
        "loss first.",
    ),
    "fit_times": (
        "Fit time by method and backend",
        "The median fit time of each run (dot) with the range of its repeats (bar), one band "
        "per method, one marker per backend or peer, on a log scale.",
    ),
    "scaling": (
        "How the fit time grows with the data",
        "Fit time against the number of samples, log-log, one panel per data set and method "
        "(the panels of a data set share their time axis).",
    ),
    "fitted_lines_": (
        "Fitted lines on {data}",
        "The {data} data (grey) and every distinct fitted line; fits whose lines coincide "
        "(the closed forms, every backend, scikit-learn) share one.",
    ),
    "loss_surface_": (
        "The optimisers' paths over the loss surface of {data}",
        "The training MSE of {data} over (intercept, slope), darker where it is higher, and "
        "the path each gradient method takes from (0, 0), one dot per epoch, towards the "
        "least-squares solution (star).",
    ),
}


def caption(stem: str) -> tuple[str, str]:
    """The title and caption of the figure written as ``{stem}.png``."""
    for prefix in ("fitted_lines_", "loss_surface_"):  # one figure per data set
        if stem.startswith(prefix):
            data = stem.removeprefix(prefix)
            head, body = _CAPTIONS[prefix]
            return head.format(data=data), body.format(data=data)
    return _CAPTIONS.get(stem, (stem.replace("_", " "), ""))


# -- HTML -------------------------------------------------------------------------------------
_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:1400px;
  padding:0 1.5em;color:#222;line-height:1.45}
h1{margin-bottom:.2em}h2{margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:.2em}
.sub{color:#555;margin-top:0}
table{border-collapse:collapse;font-size:13px;margin:.5em 0 1em}
th,td{padding:3px 9px;border-bottom:1px solid #e3e3e3;text-align:right;white-space:nowrap}
th{background:#f3f3f3;position:sticky;top:0}
td.text,th.text{text-align:left}
tr.peer td{font-style:italic;color:#444}
tr.failed td{color:#b2182b}
tr.fastest td{background:#e5f5e0}tr.accurate td{background:#deebf7}
tr.fastest.accurate td{background:#d9f0d3}
.tag{display:inline-block;font-size:11px;padding:0 5px;border-radius:3px;margin-left:4px;
  font-style:normal;color:#fff}
.tag.fastest{background:#31a354}.tag.accurate{background:#3182bd}
.scroll{overflow-x:auto}
dl.record{display:grid;grid-template-columns:max-content auto;gap:.2em 1.2em;font-size:14px}
dl.record dt{font-weight:600;color:#444}dl.record dd{margin:0}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:13px}
pre{background:#f6f8fa;padding:.6em .8em;overflow-x:auto;border-radius:4px}
ul.verdict li{margin:.3em 0}
figure{margin:1.5em 0 2.5em}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:14px;color:#333;max-width:70em;margin-top:.4em}
figcaption b{display:block;font-size:15px;margin-bottom:.15em}
p.note{font-size:13px;color:#555}
"""


def _html_table(part: pd.DataFrame, best: Mapping[Any, set[str]]) -> str:
    frame = display_frame(part, wide=True).drop(columns=["data", "n x d"])
    numeric = {c.header for c in _columns(part) if c.numeric}
    esc = html.escape
    head = "".join(
        f'<th class="{"num" if c in numeric else "text"}">{esc(c)}</th>' for c in frame.columns
    )
    body = []
    for (i, raw), (_, row) in zip(part.iterrows(), frame.iterrows(), strict=True):
        tags = sorted(best.get(i, ()))
        failed = raw["status"] in ("error", "diverged")
        classes = tags + ["peer"] * bool(raw["peer"]) + ["failed"] * failed
        spans = "".join(f'<span class="tag {t}">{t}</span>' for t in tags)
        cells = "".join(
            f'<td class="{"num" if col in numeric else "text"}">{esc(str(value))}'
            f"{spans if col == 'method' else ''}</td>"
            for col, value in row.items()
        )
        body.append(f'<tr class="{" ".join(classes)}">{cells}</tr>')
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>'
        + "\n".join(body)
        + "</tbody></table></div>"
    )


def _record_html(record: Mapping[str, Any]) -> str:
    esc = html.escape
    machine = record.get("machine", {})
    versions = record.get("versions", {})
    rows = [
        ("date", record.get("date")),
        ("CPU", f"{machine.get('cpu')} ({machine.get('cores')} cores)"),
        ("GPU", ", ".join(machine.get("gpus") or []) or "none found"),
        ("system", machine.get("os")),
        ("versions", ", ".join(f"{k} {v}" for k, v in versions.items() if v)),
        ("not installed", ", ".join(k for k, v in versions.items() if not v) or "-"),
    ]
    items = "".join(f"<dt>{esc(k)}</dt><dd>{esc(str(v))}</dd>" for k, v in rows)
    out = f'<dl class="record">{items}</dl>'
    if record.get("command"):
        out += f"<p>Command line:</p><pre>{esc(record['command'])}</pre>"
    if record.get("settings") is not None:
        lines = "\n".join(
            f"{k} = {json.dumps(v, default=str)}" for k, v in sorted(record["settings"].items())
        )
        out += f"<p>Settings:</p><pre>{esc(lines)}</pre>"
    return out


def to_html(
    results: pd.DataFrame,
    images: Mapping[str, bytes] | None = None,
    *,
    title: str = "groundup benchmark",
    record: Mapping[str, Any] | None = None,
    translate: Callable[[str], str] | None = None,
) -> str:
    """One self-contained HTML page: the summary, one table per data set (the fastest and the
    most accurate groundup run highlighted), every plot inline and the record of the run.

    Parameters
    ----------
    images : mapping of str to bytes, optional
        File stem (``"loss_per_epoch"``, ``"fitted_lines_line"``) -> PNG bytes.
    record : mapping, optional
        From :func:`groundup.bench.record.run_record` (default: one made now, without the
        settings and the command line).
    translate : callable, optional
        Applied to the reasons of the failed, diverged and stalled runs (as
        :func:`print_table` takes it).
    """
    from groundup.bench.record import run_record

    esc = html.escape
    record = record if record is not None else run_record()
    results = with_optimizers(results)
    found = verdicts(results)
    counts = results["status"].value_counts()
    machine = record.get("machine", {})
    gpus = ", ".join(machine.get("gpus") or [])
    where = f"{machine.get('cpu')}, {machine.get('cores')} cores" + (f", {gpus}" if gpus else "")
    versions = record.get("versions", {})
    main = ", ".join(
        f"{k} {versions[k]}" for k in ("groundup", "NumPy", "scikit-learn", "PyTorch", "JAX")
        if versions.get(k)
    )  # fmt: skip
    parts = [
        f"<h1>{esc(title)}</h1>",
        f'<p class="sub">Run {esc(str(record.get("date")))} on {esc(where)}; {esc(main)}, '
        f"Python {esc(str(versions.get('Python')))}.</p>",
        "<h2>Summary</h2>",
        f"<p>{int(counts.get('ok', 0))} runs succeeded, {int(counts.get('diverged', 0))} "
        f"diverged, {int(counts.get('error', 0))} failed, "
        f"{int(counts.get('skipped', 0))} were skipped. Accuracy is measured on held-out data; "
        "fit times are medians of the timed repeats, each synchronised on its device."
        + (f" {esc(SCALED_NOTE[0].upper() + SCALED_NOTE[1:])}." if _scaled(results) else "")
        + "</p>",
        '<ul class="verdict">'
        + "".join(
            f"<li><b>{esc(v.data)}</b> ({v.n_samples} x {v.n_features}, {v.task}): "
            f"{esc(v.line(results))}</li>"
            for v in found
        )
        + "</ul>",
        "<h2>Results</h2>",
        '<p class="note">Highlighted: <span class="tag fastest">fastest</span> and '
        '<span class="tag accurate">accurate</span>, the fastest and the most accurate '
        f"groundup run of each data set; peers in italics. {esc(HOST_MIB_NOTE)}.</p>",
    ]
    best = _highlights(found)
    for _, _, head, raw in _data_groups(results):
        parts += [f"<h3>{esc(head)}</h3>", _html_table(raw, best)]
    bad = "".join(f"<li>{esc(text)}</li>" for text, _ in _troubles(results, translate or str))
    if bad:
        parts.append(f"<h2>Failed, diverged, stalled and skipped runs</h2><ul>{bad}</ul>")
    if images:
        parts.append("<h2>Figures</h2>")
    for stem, png in (images or {}).items():
        head, body = caption(stem)
        data = base64.b64encode(png).decode("ascii")
        parts.append(
            f'<figure id="{esc(stem)}"><img alt="{esc(head)}" src="data:image/png;base64,{data}">'
            f"<figcaption><b>{esc(head)}</b>{esc(body)}</figcaption></figure>"
        )
    parts.append("<h2>The run</h2>" + _record_html(record))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{_STYLE}</style></head><body>\n"
        + "\n".join(parts)
        + "\n</body></html>\n"
    )


# -- figures and files ------------------------------------------------------------------------
def make_figures(
    results: pd.DataFrame,
    sets: Sequence[Any],
    params: dict[str, Any] | None = None,
    *,
    test_size: float = 0.25,
    random_state: int = 0,
) -> dict[str, Any]:
    """Every plot these results support, by file stem: loss per epoch and against wall time,
    fit times, scaling (several sizes), and per simple-regression data set (its smallest
    size) the fitted lines and the optimisers' paths over the loss surface.

    Parameters
    ----------
    sets : sequence of Dataset
        The data sets the results came from (for scatters and surfaces).
    params : dict, optional
        The benchmark's hyper-parameters (the paths are refitted with them).
    test_size, random_state : float, int
        The benchmark's split: the paths are refitted on its training rows, as the runs were.
    """
    figs: dict[str, Any] = {}
    ok = results[results["status"] == "ok"]
    if ok.empty:
        return figs
    for name, draw, kw in (
        ("loss_per_epoch", loss_curves, {"x": "epoch"}),
        ("loss_vs_time", loss_curves, {"x": "time"}),
        ("fit_times", fit_times, {}),
        ("scaling", scaling, {}),
    ):
        with contextlib.suppress(ValueError):  # nothing of that kind in these results
            figs[name] = draw(results, **kw)
    simple = {}
    for d in sets:
        if d.simple and d.task == "regression" and d.name in set(ok["data"]):
            if d.name not in simple or d.n_samples < simple[d.name].n_samples:
                simple[d.name] = d
    for d in simple.values():
        try:
            figs[f"fitted_lines_{d.name}"] = fitted_lines(d.X, d.y, results, data=d.name)
        except ValueError:  # no fit of that size succeeded
            continue
        linear = ok[(ok["data"] == d.name) & (ok["model"] == "linear")]
        methods = [m for m in ("batch", "sgd", "minibatch") if m in set(linear["method"])]
        # one path per optimiser where there are several, or one other than the plain sgd
        named = linear.get("optimizer", pd.Series(dtype=object)).dropna().astype(str)
        opts = [o for o in dict.fromkeys(named) if o != "nan"]
        X_train, _, y_train, _ = d.split(test_size, random_state)
        paths: dict[str, Any] = {}
        failed: dict[str, str] = {}
        for method in methods:  # one at a time: a path that diverges is named, not drawn
            for opt in opts if opts and opts != ["sgd"] else [None]:
                try:
                    paths.update(
                        optimizer_paths(
                            replace(d, X=X_train, y=y_train), methods=[method], params=params,
                            scale=_scaled(results), optimizers=None if opt is None else [opt],
                        )
                    )  # fmt: skip
                except (ValueError, RuntimeError) as exc:
                    failed[method if opt is None else f"{method}·{opt}"] = type(exc).__name__
        if paths:
            l1 = (params or {}).get("penalty") in ("l1", "elasticnet")
            figs[f"loss_surface_{d.name}"] = loss_surface(
                X_train, y_train, paths, failed=failed, zero_slope=l1
            )
    return figs


def write_outputs(
    results: pd.DataFrame,
    sets: Sequence[Any],
    out_dir: str | os.PathLike[str],
    *,
    params: dict[str, Any] | None = None,
    plots: bool = True,
    record: Mapping[str, Any] | None = None,
    translate: Callable[[str], str] | None = None,
) -> list[str]:
    """Write ``results.csv``, ``results.json``, ``run.json`` (the record of the run), every
    plot as a PNG, ``report.md`` (PNGs linked) and ``report.html`` (self-contained) into
    ``out_dir``.

    Parameters
    ----------
    out_dir : str or path-like
        Created if missing; files of the same names are replaced.
    params : dict, optional
        The benchmark's hyper-parameters (for the optimiser paths).
    record : mapping, optional
        From :func:`groundup.bench.record.run_record` (default: one made now).
    translate : callable, optional
        For the reasons in ``report.html`` (see :func:`to_html`).

    Returns
    -------
    list of str
        The paths written.
    """
    from groundup.bench.record import run_record

    out = os.fspath(out_dir)
    os.makedirs(out, exist_ok=True)
    record = record if record is not None else run_record({"params": params})
    written = []

    def put(name: str, text: str) -> None:
        written.append(os.path.join(out, name))
        Path(written[-1]).write_text(text, encoding="utf-8")

    put("results.csv", to_csv(results))
    put("results.json", to_json(results))
    put("run.json", json.dumps(record, indent=1, default=str) + "\n")
    pngs: dict[str, bytes] = {}
    if plots:
        split = {k: v for k, v in (record.get("settings") or {}).items()
                 if k in ("test_size", "random_state")}  # fmt: skip
        for stem, fig in make_figures(results, sets, params, **split).items():
            written.append(save(fig, os.path.join(out, f"{stem}.png")))
            pngs[stem] = Path(written[-1]).read_bytes()
    put("report.md", to_markdown(results, {stem: f"{stem}.png" for stem in pngs}))
    put("report.html", to_html(results, pngs, record=record, translate=translate))
    return written
