"""``groundup sweep``: a hyper-parameter sweep from the command line.

The grid comes from ``--param KEY=V1,V2,...`` (one value fixes a parameter for every run)
and/or a TOML file (``--config``; flags win over the file); ``sweep.csv``, ``histories.csv``,
``best.json`` and the plots go to ``--out``. The older ``--eta0 LIST``, ``--batch-size LIST``,
... and ``--set NAME=VALUE`` still work, hidden. A TOML config (a ``[sweep]`` table, or its
keys at the top level; a top-level ``[params]`` table is shared with ``[sweep.params]``)::

    [sweep]
    data = "train.csv"        # relative to the config file
    target = "price"
    weight_column = "w"       # optional: sample weights
    method = "minibatch"
    random_state = 0
    validation_fraction = 0.2
    criterion = "val_rmse"

    [sweep.grid]
    eta0 = [0.001, 0.01, 0.1]
    batch_size = [16, 64]

    [sweep.params]            # shared by every run
    max_iter = 50
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from groundup.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    add_force,
    add_param,
    add_random_state,
    check_out,
    cli_words,
    diverged_line,
    fail,
    param_value,
    read_toml,
)

__all__ = ["add_parser", "run"]


def _none_or(conv: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        return None if text.strip().lower() in ("none", "null") else conv(text)

    return parse


# flag -> (parameter, converter of one item); every one takes a comma-separated list.
_GRID_FLAGS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "--" + name.replace("_", "-"): (name, conv) for name, conv in (
    ("eta0", float), ("batch_size", int), ("max_iter", int), ("learning_rate", str),
    ("alpha", float), ("penalty", _none_or(str)), ("power_t", float), ("decay", float),
    ("drop", float), ("epochs_drop", float), ("eta_min", float), ("t_max", _none_or(float)),
    ("t1", float), ("tol", _none_or(float)), ("n_iter_no_change", int), ("method", str),
)}  # fmt: skip

_SETTINGS = (
    "data", "target", "weight_column", "model", "method", "backend", "device", "dtype",
    "validation_fraction", "random_state", "criterion", "out", "n_samples", "scale",
)  # fmt: skip


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "sweep",
        help="train a grid of learning rates, batch sizes, epochs and schedules, vectorised",
        description=(
            "Train every combination of the grid (vectorised where runs share the visiting "
            "order), write the table, the loss histories, the best configuration and plots."
        ),
        epilog=(
            "example: groundup sweep data.csv --target y --param eta0=0.001,0.01,0.1 "
            "--param batch_size=16,64 --param max_iter=50 --out sweep-out"
        ),
    )
    p.add_argument("file", nargs="?", help="CSV file (or --data)")
    p.add_argument("--data", help="CSV file or built-in set (line, multi, diabetes, ...)")
    p.add_argument("--target", help="target column of a CSV file")
    p.add_argument(
        "--weight-column",
        metavar="COLUMN",
        help="column of the CSV file holding sample weights (not used as a feature)",
    )
    p.add_argument("--config", help="TOML file with the sweep's settings and grid")
    p.add_argument(
        "--model",
        help="linear (default) or logistic (class labels: two classes binary, more multinomial)",
    )
    p.add_argument("--method", help="minibatch (default), batch, sgd; a list sweeps it")
    p.add_argument("--backend", help="numpy, torch, cupy, jax, array_api_strict")
    p.add_argument("--device", help="cpu, cuda, mps, ...")
    p.add_argument("--dtype", choices=("float32", "float64"))
    p.add_argument("--validation-fraction", help="held-out share for the metrics, or none")
    add_random_state(p, default=None)  # None: the config file's, else 0
    p.add_argument(
        "--criterion",
        help="column that picks the best run (default val_rmse; val_log_loss for logistic)",
    )
    p.add_argument("--n-samples", type=int, help="rows of a built-in synthetic set")
    p.add_argument(
        "--scale", action="store_const", const=True, default=None,
        help="standardise the features with the training rows' mean and standard deviation "
        "inside every run (the coefficients are reported in the data's own units)",
    )  # fmt: skip
    p.add_argument("--out", help="output folder (default: sweep-out)")
    add_force(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-plots", action="store_true", help="write no PNG files")
    add_param(
        p,
        help="a hyper-parameter: several comma-separated values sweep it "
        "(--param eta0=0.001,0.01,0.1), one value fixes it for every run "
        "(--param shuffle=false); repeatable",
    )
    for flag, (name, _) in _GRID_FLAGS.items():
        if flag != "--method":
            p.add_argument(flag, dest=f"grid_{name}", metavar="LIST", help=argparse.SUPPRESS)
    p.add_argument("--set", dest="param", action="append", help=argparse.SUPPRESS)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run the sweep the parsed arguments describe; 0 on success, 2 on bad input."""
    try:
        conf = _settings(args)
        out = conf.get("out") or "sweep-out"
        forced = check_out("sweep", out, args.force)
        features, result = _sweep(conf, progress=not args.no_progress)
    except (UsageError, ValueError, TypeError, OSError, ImportError) as exc:
        return fail("sweep", cli_words(str(exc), _FLAGS, scaled=bool(args.scale)))
    if forced:
        print(forced, file=sys.stderr)
    _write(result, out, plots=not args.no_plots, features=features)
    _print_summary(result, out, plots=not args.no_plots)
    if len(result.table) and result.table["diverged"].astype(bool).all():
        t = result.table
        tried = t["eta0"] if "eta0" in t else [conf["params"].get("eta0")]
        line = diverged_line(
            "run", len(t), tried, scaled=result.scaled, fallback="--param eta0=auto"
        )
        return fail("sweep", line, EXIT_FAILED)
    return EXIT_OK


# Estimator arguments that are flags of `groundup sweep` (for messages in its words).
_FLAGS = {k: "--" + k.replace("_", "-") for k in ("model", "method", "backend", "device", "dtype",
          "random_state", "validation_fraction", "criterion", "scale")}  # fmt: skip


def _read_toml(path: str) -> dict[str, Any]:
    doc = read_toml(path)
    known = {*_SETTINGS, "grid", "params"}
    if "sweep" in doc:  # an experiment file shared with other commands ([bench], [params])
        conf = dict(doc["sweep"])
        conf["params"] = {**doc.get("params", {}), **conf.get("params", {})}
    else:
        conf = dict(doc)
    unknown = sorted(set(conf) - known)
    if unknown:
        msg = f"Unknown key(s) {unknown} in {path!r}; valid keys: {sorted(known)}."
        raise ValueError(msg)
    data = conf.get("data")
    if data and not os.path.isabs(data):
        near = os.path.join(os.path.dirname(os.path.abspath(path)), data)
        if os.path.isfile(near):
            conf["data"] = near
    return conf


def _split_list(text: str, conv: Callable[[str], Any], flag: str) -> list[Any]:
    items = [t for t in text.split(",") if t.strip()]
    if not items:
        msg = f"{flag} needs at least one value, e.g. {flag} 0.001,0.01."
        raise ValueError(msg)
    try:
        return [conv(t.strip()) for t in items]
    except ValueError:
        kind = getattr(conv, "__name__", "value")
        msg = f"{flag} {text!r}: could not read every value as a {kind}."
        raise ValueError(msg) from None


def _param_values(text: str) -> list[Any]:
    """A ``--param`` value as the list of values it sweeps: ``0.01,0.1`` or ``[0.01, 0.1]``
    -> ``[0.01, 0.1]``; ``false`` -> ``[False]``."""
    value = param_value(text)
    if isinstance(value, list):
        return value or [None]
    if isinstance(value, str) and "," in value:
        return [param_value(part) for part in value.split(",") if part.strip()]
    return [value]


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    """The config file's settings with the command-line flags on top."""
    conf: dict[str, Any] = _read_toml(args.config) if args.config else {}
    grid = dict(conf.get("grid", {}))
    params = dict(conf.get("params", {}))

    def put(key: str, values: list[Any], *, sweep_one: bool = False) -> None:
        """Several values sweep a parameter, one fixes it; one method is a setting."""
        if key == "method" and len(values) == 1:
            conf["method"] = values[0]
            grid.pop("method", None)
        elif sweep_one or len(values) > 1:
            grid[key] = values
            params.pop(key, None)
        else:
            params[key] = values[0]
            grid.pop(key, None)

    for flag, (name, conv) in _GRID_FLAGS.items():  # the older spellings sweep one value too
        text = getattr(args, "method" if name == "method" else f"grid_{name}", None)
        if text is not None:
            put(name, _split_list(text, conv, flag), sweep_one=True)
    for item in args.param or []:
        if "=" not in item:
            msg = f"--param {item!r}: write KEY=VALUE, e.g. --param shuffle=false."
            raise ValueError(msg)
        key, value = item.split("=", 1)
        key = key.strip().replace("-", "_")
        if key in _FLAGS and key != "method":  # --param method=a,b sweeps it, as --method a,b
            msg = f"--param {key}=...: use {_FLAGS[key]} instead."
            raise ValueError(msg)
        put(key, _param_values(value))
    for key in _SETTINGS:
        value = getattr(args, key, None)
        if value is not None and key != "method":
            conf[key] = value
    if args.file is not None:
        conf["data"] = args.file
    if isinstance(conf.get("validation_fraction"), str):
        conf["validation_fraction"] = _none_or(float)(conf["validation_fraction"])
    if not grid:
        msg = (
            "No grid: give at least one list, e.g. --param eta0=0.001,0.01,0.1, or a "
            "[sweep.grid] table."
        )
        raise ValueError(msg)
    if not conf.get("data"):
        msg = "No data: give a CSV file (groundup sweep FILE --target COLUMN) or --data NAME."
        raise ValueError(msg)
    conf["grid"], conf["params"] = grid, params
    conf.setdefault("random_state", 0)  # a command-line run repeats unless told otherwise
    return conf


def _sweep(conf: dict[str, Any], *, progress: bool) -> tuple[Any, Any]:
    """The data set (without the --weight-column) and the sweep on it."""
    import pandas as pd
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from groundup import datasets
    from groundup.sweeps.runner import sweep

    data = datasets.load(
        str(conf["data"]), target=conf.get("target"), n_samples=conf.get("n_samples"),
        random_state=int(conf.get("random_state") or 0),
    )  # fmt: skip
    names, column, weights = list(data.feature_names), conf.get("weight_column"), None
    X = pd.DataFrame(data.X, columns=names)
    if column is not None:
        if column == conf.get("target"):
            msg = f"--weight-column {column!r} is the target column; name the column of weights."
            raise ValueError(msg)
        if column not in names:
            where = (
                f"the columns of {conf['data']!r} are {names}"
                if str(conf["data"]).lower().endswith(".csv")
                else f"{conf['data']!r} is a built-in set: weights need a CSV file"
            )
            msg = f"--weight-column {column!r} not found: {where}."
            raise ValueError(msg)
        if len(names) == 1:
            msg = f"--weight-column {column!r} leaves no feature column besides the target."
            raise ValueError(msg)
        weights = X.pop(column).to_numpy()
    kwargs = {
        "model": conf.get("model") or "linear", "method": conf.get("method") or "minibatch",
        "grid": conf["grid"], "sample_weight": weights, "backend": conf.get("backend"),
        "device": conf.get("device"), "validation_fraction": conf.get("validation_fraction", 0.2),
        "random_state": conf.get("random_state"), "criterion": conf.get("criterion"),
        "scale": bool(conf.get("scale", False)),
        **({"dtype": conf["dtype"]} if conf.get("dtype") else {}), **conf["params"],
    }  # fmt: skip
    columns = ("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, transient=False, disable=not progress) as bar:
        task = bar.add_task("sweep (group-epochs)", total=None)

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return list(X.columns), sweep(X, data.y, progress=tick, **kwargs)


def _write(result: Any, out: str, *, plots: bool, features: Any = None) -> None:
    """Write the table, the histories, the best run and the plots."""
    import pandas as pd

    os.makedirs(out, exist_ok=True)
    result.table.to_csv(os.path.join(out, "sweep.csv"), index_label="run")
    hist = pd.concat(map(pd.Series, result.histories), axis=1).add_prefix("run")  # NaN-padded
    hist.index = pd.RangeIndex(1, len(hist) + 1, name="epoch")
    hist.to_csv(os.path.join(out, "histories.csv"))
    best = result.best_index
    summary = {
        "criterion": result.criterion,
        "best_run": best,
        "best_params": result.best_params,
        "best_row": None if best is None else json.loads(result.table.loc[best].to_json()),
        "random_state": result.random_state,
        "classes": None if result.classes is None else result.classes.tolist(),
        "sample_weight": result.sample_weight,
        "scale": result.scaled,
        "standardization": (
            None if result.standardization is None else result.standardization.to_dict(features)
        ),
        "backend": result.backend,
        "device": result.device,
    }
    with open(os.path.join(out, "best.json"), "w") as fh:
        json.dump(summary, fh, indent=2, default=str)
    if plots:
        drawings = [("heatmap.png", result.plot_heatmap), ("losses.png", result.plot_losses)]
        if best is not None:
            drawings.append(("best.png", result.plot_best))
        for name, draw in drawings:
            draw().savefig(os.path.join(out, name), dpi=120)


def _print_summary(result: Any, out: str, *, plots: bool = True) -> None:
    """The best runs as a table of text cells that fits the terminal, and the remedies when
    some runs did not converge."""
    from rich.console import Console
    from rich.text import Text

    from groundup.bench.report import text_table
    from groundup.sweeps.plots import varying

    console = Console()
    t = result.table
    keys = varying(result) or result.params
    shown = [*keys, "train_loss", result.criterion, "n_iter"]
    shown = list(dict.fromkeys(c for c in shown if c in t.columns))
    order = t[result.criterion].astype(float)
    rows = order.sort_values(ascending=not result.maximise, na_position="last").index[:15]
    columns = [  # name, cells, right-justified
        ("run", [str(i) for i in rows], True),
        *[(c, [_cell(t.loc[i, c]) for i in rows], all(_is_number(t.loc[i, c]) for i in rows))
          for c in shown],
        ("converged", [_status(t.loc[i]) for i in rows], False),
    ]  # fmt: skip
    title = f"sweep: {len(t)} runs, best by {result.criterion}, --random-state "
    styles = ["bold green" if i == result.best_index else None for i in rows]
    console.print(text_table(f"{title}{result.random_state}", columns, styles))
    if len(t) > len(rows):
        console.print(
            Text(f"... {len(t) - len(rows)} more runs in {os.path.join(out, 'sweep.csv')}")
        )
    diverged = int(t["diverged"].astype(bool).sum())
    stalled = int((t["stop_reason"] == "stalled").sum())
    scale = "" if result.scaled else "--scale, or "
    trouble = []  # the remedies (when every run diverged, the failed run's one line says it)
    if 0 < diverged < len(t):
        trouble.append(f"{diverged} of {len(t)} runs diverged ({scale}a smaller --param eta0)")
    if stalled:
        trouble.append(
            f"{stalled} of {len(t)} stopped far from the minimum ({scale}a lower --param tol)"
        )
    if trouble:
        console.print(Text("; ".join(trouble)))
    files = "sweep.csv, histories.csv, best.json" + (", plots" if plots else "")
    console.print(Text(f"written to {out}{os.sep}: {files}"))


def _status(row: Any) -> str:
    import pandas as pd

    if bool(row.get("diverged")):
        e = row.get("diverged_epoch")
        return "diverged" + ("" if e is None or pd.isna(e) else f"@{int(e)}")
    if row.get("stop_reason") == "stalled":
        return "stalled"
    return "yes" if bool(row.get("converged")) else "no"


def _is_number(v: Any) -> bool:
    import numbers

    return isinstance(v, numbers.Number) and not isinstance(v, bool)


def _cell(v: Any) -> str:
    if v is None:
        return "none"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)
