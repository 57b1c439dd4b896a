"""``groundup bench``: every method on every backend, device and dtype, scikit-learn and a
PyTorch loop beside them; a table (or CSV / JSON / Markdown / HTML), and with ``--out DIR`` the
plots and reports. Options come from the flags, over a ``--config`` file, over the defaults."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from collections.abc import Callable
from functools import partial
from typing import Any

from groundup.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    add_force,
    add_random_state,
    check_out,
    cli_words,
    diverged_line,
    fail,
    names,
    parse_params,
    read_toml,
)

__all__ = ["OPTIONS", "add_parser", "load_config", "run"]

FORMATS = ("table", "csv", "json", "markdown", "html")
# Estimator arguments that are flags of `groundup bench` (for messages in its words).
FLAGS = {"method": "--methods", "backend": "--backends", "device": "--devices",
         "dtype": "--dtypes", "model": "--models", "scale": "--scale",
         "random_state": "--random-state"}  # fmt: skip
# Options of `groundup bench`, their defaults, and the keys of a config file's [bench] table.
OPTIONS: dict[str, Any] = {
    "models": ["linear"],
    "methods": None,
    "backends": None,
    "devices": None,
    "dtypes": None,
    "data": ["synthetic"],
    "target": None,
    "sizes": None,
    "repeats": 3,
    "warmup": 1,
    "max_time": 0.5,
    "peers": True,
    "test_size": 0.25,
    "random_state": 0,
    "out": None,
    "format": "table",
    "plots": True,
    "wide": False,
    "scale": False,
    "optimizers": None,
}
_LIST_OPTIONS = ("models", "methods", "backends", "devices", "dtypes", "data", "optimizers")


def _size(text: Any) -> int:
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = float("nan")
    if not (value.is_integer() and value >= 8):
        msg = f"sizes must be whole numbers >= 8 (like 1000 or 1e5), got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return int(value)


def _number(
    convert: Callable[[str], Any], ok: Callable[[Any], bool], wanted: str
) -> Callable[[str], Any]:
    """An argparse type: ``convert(text)`` where ``ok`` accepts it, else "expected ..."."""

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not ok(value):
            msg = f"expected {wanted}, got {text!r}"
            raise argparse.ArgumentTypeError(msg)
        return value

    return parse


_positive_int = _number(int, lambda v: v >= 1, "an integer >= 1")
_count = _number(int, lambda v: v >= 0, "an integer >= 0")
_positive_float = _number(float, lambda v: v > 0, "a number > 0")


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "bench",
        help="benchmark every method on every backend (the default run needs no flags)",
        description=(
            "Fit every method on every available backend, device and dtype, with "
            "scikit-learn and a hand-written PyTorch loop as peers, and print a table of "
            "accuracy (held-out), fit time, epochs and memory. Flags override the --config "
            "file, which overrides the defaults."
        ),
    )
    for flag, kind, text in (
        ("--models", names, "linear,logistic (default: linear)"),
        ("--methods", names, "e.g. normal,sgd (default: every method of each model)"),
        ("--backends", names, "numpy,torch,jax,array_api_strict,cupy (default: all of them; "
         "missing ones are reported as skipped)"),
        ("--devices", names, "cpu,cuda,mps (default: the CPU and the first GPU)"),
        ("--dtypes", names, "float32,float64 (default: float64 where the device has it, else "
         "float32)"),
        ("--data", names, "synthetic (line, multi, classes), line, multi, classes, diabetes, "
         "breast_cancer or a CSV path (default: synthetic)"),
        ("--target", str, "target column of a CSV file"),
        ("--sizes", lambda text: [_size(part) for part in names(text)],
         "n_samples of synthetic data, e.g. 1e3,1e4,1e5"),
        ("--repeats", _positive_int, "timed fits per row (default: 3)"),
        ("--warmup", _count, "untimed warm-up fits per row (default: 1)"),
        ("--max-time", _positive_float, "stop repeating a row after this many seconds of timed "
         "fits (default: 0.5)"),
    ):  # fmt: skip
        p.add_argument(flag, type=kind, help=text)
    p.add_argument(
        "--param", dest="param", action="append", metavar="[METHOD.]KEY=VALUE",
        help="a hyper-parameter for every method (eta0=0.05) or one (sgd.eta0=0.01); "
        "repeatable",
    )  # fmt: skip
    p.add_argument(
        "--optimizers", type=names,
        help="run each gradient method once per optimiser, e.g. sgd,momentum,adam (sgd, "
        "momentum, nesterov, adagrad, rmsprop, adam, adamw; default: --param optimizer=... "
        "or sgd); the PyTorch loop uses the matching torch.optim optimiser",
    )  # fmt: skip
    p.add_argument("--test-size", type=float, help="held-out share (default: 0.25)")
    add_random_state(p, default=None)
    p.add_argument("--seed", dest="random_state", type=int, help=argparse.SUPPRESS)  # the old name
    p.add_argument(
        "--out", help="folder for results.csv/json (every column), run.json, the plots and "
        "report.md/html",
    )  # fmt: skip
    add_force(p)
    p.add_argument("--format", choices=FORMATS, help="what to print (default: table)")
    for flag, dest, const, text in (  # switches: None (not given) lets --config decide
        ("--no-peers", "peers", False, "leave out scikit-learn and the PyTorch loop"),
        ("--scale", "scale", True, "standardise each data set's features with its training "
         "split's mean and standard deviation, for every method and peer (coefficients stay "
         "in the data's units)"),
        ("--wide", "wide", True, "print every column (MAE, min-max times, repeats, memory, "
         "...), not the compact set that fits 100 columns"),
        ("--no-plots", "plots", False, "with --out: write the tables and reports without plots"),
    ):  # fmt: skip
        p.add_argument(flag, dest=dest, action="store_const", const=const, help=text)
    p.add_argument("--config", help="TOML file: a [bench] table of options, [params] table")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar or messages")
    p.set_defaults(func=run)
    return p


def load_config(path: str) -> dict[str, Any]:
    """A TOML experiment file's ``[bench]`` options and ``[params]`` (else a ``UsageError``)."""
    doc = read_toml(path)
    unknown = sorted(set(doc) - {"bench", "params"})
    if unknown:
        msg = f"config file {path!r}: unknown table(s) {unknown}; use [bench] and [params]"
        raise UsageError(msg)
    bench = doc.get("bench", {})
    if "seed" in bench:  # the old name of random_state
        bench.setdefault("random_state", bench.pop("seed"))
    bad = sorted(set(bench) - set(OPTIONS))
    if bad:
        msg = f"config file {path!r}: unknown [bench] option(s) {bad}; valid: {sorted(OPTIONS)}"
        raise UsageError(msg)
    for key in _LIST_OPTIONS:
        if isinstance(bench.get(key), str):
            bench[key] = names(bench[key])
    if "sizes" in bench:
        try:
            bench["sizes"] = [_size(v) for v in bench["sizes"]]
        except (argparse.ArgumentTypeError, TypeError) as exc:
            msg = f"config file {path!r}: {exc}"
            raise UsageError(msg) from None
    if bench.get("format", "table") not in FORMATS:
        msg = f"config file {path!r}: format must be one of {list(FORMATS)}"
        raise UsageError(msg)
    return {"bench": bench, "params": doc.get("params", {})}


def _bench_options(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    config = load_config(args.config) if args.config else {"bench": {}, "params": {}}
    given = {k: getattr(args, k, None) for k in OPTIONS}
    opts = {**OPTIONS, **config["bench"], **{k: v for k, v in given.items() if v is not None}}
    params = dict(config["params"])
    for key, value in parse_params(args.param).items():
        if key in ("scale", "random_state"):
            msg = f"--param {key}=...: use {FLAGS[key]} (or {key} = ... in the [bench] table)"
            raise UsageError(msg)
        if isinstance(value, dict):
            params.setdefault(key, {}).update(value)
        else:
            params[key] = value
    for key, value in params.items():
        for name, v in value.items() if isinstance(value, dict) else [(key, value)]:
            if isinstance(v, list) or (isinstance(v, str) and "," in v):
                msg = (
                    f"--param {name}={v}: bench takes one value per parameter; for a grid of "
                    f"values use groundup sweep --param {name}=..."
                )
                raise UsageError(msg)
    params.setdefault("random_state", opts["random_state"])  # the estimators' shuffling too
    named = (
        k == "optimizer" or (isinstance(v, dict) and "optimizer" in v) for k, v in params.items()
    )
    if opts.get("optimizers") and any(named):
        msg = (
            f"--optimizers {','.join(opts['optimizers'])} and --param optimizer=...: give the "
            "optimiser once (--optimizers runs one row per optimiser)"
        )
        raise UsageError(msg)
    return opts, params


def run(args: argparse.Namespace) -> int:
    """Run ``groundup bench``; 0 on success, 1 when a run failed."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from rich.text import Text

    from groundup import backends, datasets
    from groundup.bench import report
    from groundup.bench.plots import png_bytes
    from groundup.bench.record import run_record
    from groundup.bench.runner import benchmark

    opts, params = _bench_options(args)
    drawing = opts["plots"] and (opts["out"] or opts["format"] == "html")
    if drawing and importlib.util.find_spec("matplotlib") is None:
        msg = 'plots need matplotlib: pip install "groundup[plot]" (or pass --no-plots)'
        raise UsageError(msg)
    words = partial(cli_words, flags=FLAGS, scaled=bool(opts["scale"]))
    for name in opts["backends"] or ():  # a backend asked for by name is there, as in fit
        try:
            backends.resolve(name)
        except (ImportError, ValueError) as exc:
            raise UsageError(words(str(exc))) from None
    forced = check_out("bench", opts["out"], args.force)  # before the run, not after it
    try:
        sets = datasets.resolve(
            opts["data"],
            sizes=opts["sizes"],
            random_state=opts["random_state"],
            target=opts["target"],
        )
    except (ValueError, FileNotFoundError) as exc:
        raise UsageError(words(str(exc))) from None
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        console=Console(stderr=True), transient=True, disable=args.quiet,
    ) as bar:  # fmt: skip
        task = bar.add_task("groundup bench", total=None)

        def progress(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, description=label[:48].ljust(48))

        try:
            results = benchmark(
                sets, models=opts["models"], methods=opts["methods"],
                backends=opts["backends"], devices=opts["devices"], dtypes=opts["dtypes"],
                repeats=opts["repeats"], warmup=opts["warmup"], max_time=opts["max_time"],
                peers=opts["peers"], params=params, test_size=opts["test_size"],
                random_state=opts["random_state"], scale=bool(opts["scale"]),
                optimizers=opts["optimizers"], progress=progress,
            )  # fmt: skip
        except (ValueError, TypeError) as exc:
            raise UsageError(words(str(exc))) from None
    fmt, out = opts["format"], opts["out"]
    settings = {k: v for k, v in opts.items() if k not in ("format", "wide")}
    record = run_record({**settings, "params": params}, getattr(args, "argv", None))
    written: list[str] = []
    if forced and not args.quiet:
        print(forced, file=sys.stderr)
    if out:
        written = report.write_outputs(
            results, sets, out, params=params, plots=opts["plots"], record=record,
            translate=words,
        )  # fmt: skip
    if fmt == "table":
        report.print_table(results, wide=bool(opts["wide"]), translate=words)
        if not args.quiet:
            if out:  # the line under the tables: where the rest is
                more = (
                    f"wrote {len(written)} files to {out}{os.sep}: report.html, "
                    "results.csv/.json (every column), plots"
                )
            else:
                more = "" if opts["wide"] else "every column: --wide; "
                more += "the files (results.csv/.json, plots, report.html): --out DIR"
            Console().print(Text(f"--random-state {opts['random_state']}; {more}", style="dim"))
    elif fmt == "csv":
        sys.stdout.write(report.to_csv(results))
    elif fmt == "json":
        sys.stdout.write(report.to_json(results) + "\n")
    elif fmt == "markdown":
        links = {os.path.splitext(os.path.basename(p))[0]: p for p in written if p.endswith(".png")}
        sys.stdout.write(report.to_markdown(results, links))
    elif out:  # html: the page is in the directory
        print(os.path.join(out, "report.html"))
    else:
        split = {"test_size": opts["test_size"], "random_state": opts["random_state"]}
        figs = report.make_figures(results, sets, params, **split) if opts["plots"] else {}
        pngs = {name: png_bytes(fig) for name, fig in figs.items()}
        sys.stdout.write(report.to_html(results, pngs, record=record, translate=words))
    if written and fmt != "table" and not args.quiet:
        print(f"wrote {len(written)} files to {out}", file=sys.stderr)
    mine = results[~results["peer"].astype(bool) & (results["status"] != "skipped")]
    if not mine.empty and (mine["status"] == "diverged").all():  # the peers do not count
        line = diverged_line("groundup run", len(mine), mine["eta0"], scaled=bool(opts["scale"]),
                             fallback="a smaller --param eta0")  # fmt: skip
        return fail("bench", line, EXIT_FAILED)
    return EXIT_FAILED if (results["status"] == "error").any() else EXIT_OK
