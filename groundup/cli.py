"""The ``groundup`` command line.

``groundup bench``
    Every method on every backend, device and dtype, scikit-learn and a PyTorch loop beside
    them; a table (or CSV / JSON / Markdown / HTML), and with ``--out DIR`` the plots and
    reports.
``groundup fit FILE --target COL``
    Fit one model and print its coefficients and metrics; ``--save`` keeps the model.
``groundup backends``
    What is installed, versions and devices.
``groundup diagnose`` / ``groundup sweep``
    Defined in :mod:`groundup._diagnose_cli` and :mod:`groundup.sweep_cli`.

Exit status: 0 success, 1 a run or fit failed, 2 bad arguments (argparse's convention).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["build_parser", "main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
FORMATS = ("table", "csv", "json", "markdown", "html")
# Options of `groundup bench`, their defaults, and the keys of a config file's [bench] table.
BENCH_DEFAULTS: dict[str, Any] = {
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
    "seed": 0,
    "out": None,
    "format": "table",
    "plots": True,
}
_LIST_OPTIONS = ("models", "methods", "backends", "devices", "dtypes", "data")


class UsageError(Exception):
    """Bad arguments found after parsing (exit status 2, like argparse's own errors)."""


# -- argument types ---------------------------------------------------------------------------
def _names(text: str) -> list[str]:
    out = [part.strip() for part in str(text).split(",") if part.strip()]
    if not out:
        msg = f"expected a comma-separated list, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return out


def _size(text: Any) -> int:
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = float("nan")
    if not (value.is_integer() and value >= 8):
        msg = f"sizes must be whole numbers >= 8 (like 1000 or 1e5), got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return int(value)


def _sizes(text: str) -> list[int]:
    return [_size(part) for part in _names(text)]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 1:
        msg = f"expected an integer >= 1, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        msg = f"expected an integer >= 0, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        msg = f"expected a number > 0, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _toml() -> Any:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the same parser as a package
        import tomli as tomllib
    return tomllib


def _param_value(text: str) -> Any:
    """A TOML value (``0.1``, ``true``, ``"l2"``), ``none`` for None, else the bare string."""
    tomllib = _toml()
    if text.lower() in ("none", "null"):
        return None
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_params(items: Sequence[str] | None) -> dict[str, Any]:
    """``["eta0=0.05", "sgd.eta0=0.01"]`` -> ``{"eta0": 0.05, "sgd": {"eta0": 0.01}}``."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            msg = f"--param expects KEY=VALUE or METHOD.KEY=VALUE, got {item!r}"
            raise UsageError(msg)
        method, dot, name = key.rpartition(".")
        if dot:
            out.setdefault(method, {})[name] = _param_value(value.strip())
        else:
            out[key] = _param_value(value.strip())
    return out


# -- the parser -------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The ``groundup`` parser with every subcommand (diagnose and sweep included)."""
    from groundup import __version__

    parser = argparse.ArgumentParser(
        prog="groundup",
        description="Classic machine-learning solvers on NumPy, PyTorch, JAX, CuPy and more.",
    )
    parser.add_argument("--version", action="version", version=f"groundup {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    _add_bench(sub)
    _add_fit(sub)
    _add_backends(sub)
    from groundup._diagnose_cli import add_parser as add_diagnose
    from groundup.sweep_cli import register as add_sweep

    add_diagnose(sub)
    add_sweep(sub)
    return parser


def _add_bench(sub: Any) -> None:
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
    p.add_argument("--models", type=_names, help="linear,logistic (default: linear)")
    p.add_argument(
        "--methods", type=_names, help="e.g. normal,sgd (default: every method of each model)"
    )
    p.add_argument(
        "--backends", type=_names,
        help="numpy,torch,jax,array_api_strict,cupy (default: all of them; missing ones are "
        "reported as skipped)",
    )  # fmt: skip
    p.add_argument(
        "--devices", type=_names, help="cpu,cuda,mps (default: the CPU and the first GPU)"
    )
    p.add_argument(
        "--dtypes", type=_names,
        help="float32,float64 (default: float64 where the device has it, else float32)",
    )  # fmt: skip
    p.add_argument(
        "--data", type=_names,
        help="synthetic (line, multi, classes), line, multi, classes, diabetes, "
        "breast_cancer or a CSV path (default: synthetic)",
    )  # fmt: skip
    p.add_argument("--target", help="target column of a CSV file")
    p.add_argument("--sizes", type=_sizes, help="n_samples of synthetic data, e.g. 1e3,1e4,1e5")
    p.add_argument("--repeats", type=_positive_int, help="timed fits per row (default: 3)")
    p.add_argument("--warmup", type=_count, help="untimed warm-up fits per row (default: 1)")
    p.add_argument(
        "--max-time", dest="max_time", type=_positive_float,
        help="stop repeating a row after this many seconds of timed fits (default: 0.5)",
    )  # fmt: skip
    p.add_argument(
        "--no-peers", dest="peers", action="store_const", const=False,
        help="leave out scikit-learn and the PyTorch loop",
    )  # fmt: skip
    p.add_argument(
        "--param", dest="param", action="append", metavar="[METHOD.]KEY=VALUE",
        help="a hyper-parameter for every method (eta0=0.05) or one (sgd.eta0=0.01); "
        "repeatable",
    )  # fmt: skip
    p.add_argument(
        "--test-size", dest="test_size", type=float, help="held-out share (default: 0.25)"
    )
    p.add_argument("--seed", type=int, help="seed of the synthetic data and split (default: 0)")
    p.add_argument("--out", help="directory for results.csv/json, the plots and report.md/html")
    p.add_argument("--format", choices=FORMATS, help="what to print (default: table)")
    p.add_argument(
        "--no-plots", dest="plots", action="store_const", const=False,
        help="with --out: write the tables and reports without plots",
    )  # fmt: skip
    p.add_argument("--config", help="TOML file: a [bench] table of options, [params] table")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar or messages")
    p.set_defaults(func=_run_bench)


def _add_fit(sub: Any) -> None:
    p = sub.add_parser(
        "fit",
        help="fit one model on a CSV file and print its coefficients and metrics",
        description="Fit one model on FILE (a CSV file, or a built-in data set's name).",
    )
    p.add_argument("file", metavar="FILE", help="CSV file (or line, multi, diabetes, ...)")
    p.add_argument("--target", help="the column to predict (required for a CSV file)")
    p.add_argument("--model", choices=("linear", "logistic"), default="linear")
    p.add_argument("--method", default=None, help="default: normal (linear), newton (logistic)")
    p.add_argument("--backend", default="numpy", help="default: numpy")
    p.add_argument("--device", default=None, help="default: the backend's default device")
    p.add_argument("--dtype", choices=("float32", "float64"), default=None)
    p.add_argument(
        "--param", action="append", metavar="KEY=VALUE", help="a hyper-parameter; repeatable"
    )
    p.add_argument(
        "--test-size", dest="test_size", type=float, default=0.0,
        help="hold out this share for the metrics (default: 0, metrics on the training data)",
    )  # fmt: skip
    p.add_argument("--save", metavar="PATH", help="save the model (.joblib: joblib, else pickle)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=_run_fit)


def _add_backends(sub: Any) -> None:
    p = sub.add_parser("backends", help="list backends, versions and devices")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=_run_backends)


# -- bench ------------------------------------------------------------------------------------
def load_config(path: str) -> dict[str, Any]:
    """Read a TOML experiment file: ``[bench]`` options and ``[params]`` hyper-parameters.

    Raises
    ------
    UsageError
        A missing or malformed file, an unknown table or option.
    """
    tomllib = _toml()
    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
    except FileNotFoundError:
        msg = f"config file {path!r} does not exist"
        raise UsageError(msg) from None
    except tomllib.TOMLDecodeError as exc:
        msg = f"config file {path!r} is not valid TOML: {exc}"
        raise UsageError(msg) from None
    unknown = sorted(set(doc) - {"bench", "params"})
    if unknown:
        msg = f"config file {path!r}: unknown table(s) {unknown}; use [bench] and [params]"
        raise UsageError(msg)
    bench = doc.get("bench", {})
    bad = sorted(set(bench) - set(BENCH_DEFAULTS))
    if bad:
        msg = f"config file {path!r}: unknown [bench] option(s) {bad}; valid: {sorted(BENCH_DEFAULTS)}"
        raise UsageError(msg)
    for key in _LIST_OPTIONS:
        if isinstance(bench.get(key), str):
            bench[key] = _names(bench[key])
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
    opts = dict(BENCH_DEFAULTS)
    opts.update(config["bench"])
    for key in BENCH_DEFAULTS:
        value = getattr(args, key, None)
        if value is not None:
            opts[key] = value
    params = dict(config["params"])
    for key, value in parse_params(args.param).items():
        if isinstance(value, dict):
            params.setdefault(key, {}).update(value)
        else:
            params[key] = value
    return opts, params


def _progress(quiet: bool) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        console=Console(stderr=True), transient=True, disable=quiet,
    )  # fmt: skip


def _run_bench(args: argparse.Namespace) -> int:
    from groundup import bench, datasets, report

    opts, params = _bench_options(args)
    drawing = opts["plots"] and (opts["out"] or opts["format"] == "html")
    if drawing and importlib.util.find_spec("matplotlib") is None:
        msg = 'plots need matplotlib: pip install "groundup[plot]" (or pass --no-plots)'
        raise UsageError(msg)
    try:
        sets = datasets.resolve(
            opts["data"], sizes=opts["sizes"], random_state=opts["seed"], target=opts["target"]
        )
    except (ValueError, FileNotFoundError) as exc:
        raise UsageError(str(exc)) from None
    with _progress(args.quiet) as bar:
        task = bar.add_task("groundup bench", total=None)

        def progress(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, description=label[:48].ljust(48))

        try:
            results = bench.benchmark(
                sets, models=opts["models"], methods=opts["methods"],
                backends=opts["backends"], devices=opts["devices"], dtypes=opts["dtypes"],
                repeats=opts["repeats"], warmup=opts["warmup"], max_time=opts["max_time"],
                peers=opts["peers"], params=params, test_size=opts["test_size"],
                random_state=opts["seed"], progress=progress,
            )  # fmt: skip
        except (ValueError, TypeError) as exc:
            raise UsageError(str(exc)) from None
    fmt, out = opts["format"], opts["out"]
    written: list[str] = []
    if out:
        written = report.write_outputs(results, sets, out, params=params, plots=opts["plots"])
    if fmt == "table":
        report.print_table(results)
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
        from groundup import plots

        figs = report.make_figures(results, sets, params) if opts["plots"] else {}
        pngs = {name: plots.png_bytes(fig) for name, fig in figs.items()}
        sys.stdout.write(report.to_html(results, pngs))
    if written and not args.quiet:
        print(f"wrote {len(written)} files to {out}", file=sys.stderr)
    return EXIT_FAILED if (results["status"] == "error").any() else EXIT_OK


# -- fit --------------------------------------------------------------------------------------
def _run_fit(args: argparse.Namespace) -> int:
    import numpy as np

    import groundup as gu
    from groundup import backends, datasets
    from groundup._params import LINEAR_METHODS, LOGISTIC_METHODS, canonical_method

    model = args.model
    method = args.method or ("normal" if model == "linear" else "newton")
    params = parse_params(args.param)
    try:
        data = datasets.load(args.file, target=args.target)
        method = canonical_method(
            method, LINEAR_METHODS if model == "linear" else LOGISTIC_METHODS, model
        )
        backends.resolve(args.backend, args.device)
    except (ValueError, TypeError, ImportError, FileNotFoundError) as exc:
        raise UsageError(str(exc)) from None
    if model == "logistic" and data.task != "classification":
        msg = f"{data.name!r} has a continuous target: use --model linear"
        raise UsageError(msg)
    if not 0.0 <= args.test_size < 1.0:
        msg = f"--test-size must be in [0, 1), got {args.test_size}"
        raise UsageError(msg)
    X, y, X_eval, y_eval = data.X, data.y, data.X, data.y
    if args.test_size > 0:
        X, X_eval, y, y_eval = data.split(args.test_size, 0)
    try:
        est = gu.fit(
            X, y, model=model, method=method, backend=args.backend, device=args.device,
            dtype=args.dtype, **params,
        )  # fmt: skip
    except TypeError as exc:  # an unknown hyper-parameter
        raise UsageError(str(exc)) from None
    except (ValueError, RuntimeError) as exc:
        print(f"groundup fit: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    summary = _fit_summary(est, data, X_eval, y_eval, held_out=args.test_size > 0)
    if args.save:
        _save(est, args.save)
        summary["saved"] = args.save
    if args.format == "json":
        import json

        print(json.dumps(summary, indent=1, default=lambda v: np.asarray(v).tolist()))
    else:
        _print_fit(summary)
    return EXIT_OK


def _fit_summary(est: Any, data: Any, X: Any, y: Any, *, held_out: bool) -> dict[str, Any]:
    import numpy as np

    from groundup import backends, metrics

    coef = np.atleast_2d(backends.to_numpy(est.coef_))
    intercept = np.atleast_1d(backends.to_numpy(est.intercept_))
    pred = np.asarray(est.predict(X))
    if data.task == "regression" or not hasattr(est, "predict_proba"):
        scores = {
            "r2": metrics.r2(y, pred), "rmse": metrics.rmse(y, pred), "mae": metrics.mae(y, pred)
        }  # fmt: skip
    else:
        proba = np.asarray(est.predict_proba(X))
        scores = {"accuracy": metrics.accuracy(y, pred), "log_loss": metrics.log_loss(y, proba)}
    classes = getattr(est, "classes_", None)
    if classes is None:
        labels = ["coefficient"]
    elif len(coef) == 1:  # binary: the coefficients of the positive class
        labels = [f"class {classes[-1]}"]
    else:
        labels = [f"class {c}" for c in classes]
    table = {
        lab: dict(zip(data.feature_names, map(float, row), strict=True))
        for lab, row in zip(labels, coef, strict=True)
    }
    return {
        "data": data.name,
        "n_samples": data.n_samples,
        "n_features": data.n_features,
        "model": "linear" if data.task == "regression" else "logistic",
        "method": est.method,
        "backend": est.backend_,
        "device": est.device_,
        "dtype": str(np.asarray(coef).dtype),
        "coef": table,
        "intercept": [float(v) for v in intercept],
        "metrics": {k: float(v) for k, v in scores.items()},
        "metrics_on": "held-out data" if held_out else "training data",
        "fit_time": float(est.fit_time_),
        "epochs": int(est.n_iter_),
        "converged": bool(est.converged_),
    }


def _print_fit(s: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(
        f"[bold]{s['data']}[/]: {s['n_samples']} samples x {s['n_features']} features - "
        f"{s['model']} / {s['method']} on {s['backend']} ({s['device']}, {s['dtype']})"
    )
    table = Table(show_header=True, header_style="bold")
    table.add_column("feature")
    for name in s["coef"]:
        table.add_column(name, justify="right")
    features = list(next(iter(s["coef"].values())))
    for f in features:
        table.add_row(f, *[f"{s['coef'][k][f]:.6g}" for k in s["coef"]])
    table.add_row("(intercept)", *[f"{v:.6g}" for v in s["intercept"]], style="italic")
    console.print(table)
    names = {
        "r2": "R2",
        "rmse": "RMSE",
        "mae": "MAE",
        "accuracy": "accuracy",
        "log_loss": "log-loss",
    }
    scores = "  ".join(f"{names[k]} {v:.6g}" for k, v in s["metrics"].items())
    console.print(f"{scores}  (on the {s['metrics_on']})")
    console.print(
        f"fit time {1e3 * s['fit_time']:.3g} ms, epochs {s['epochs']}, "
        f"converged {'yes' if s['converged'] else 'no'}"
    )
    if "saved" in s:
        console.print(f"saved the model to {s['saved']}")


def _save(est: Any, path: str) -> None:
    if path.endswith(".joblib"):
        import joblib

        joblib.dump(est, path)
        return
    import pickle

    with open(path, "wb") as fh:
        pickle.dump(est, fh)


# -- backends ---------------------------------------------------------------------------------
def _run_backends(args: argparse.Namespace) -> int:
    from groundup import backends

    info = backends.available()
    if args.format == "json":
        import json

        print(json.dumps(info, indent=1))
        return EXIT_OK
    from rich.console import Console
    from rich.table import Table

    table = Table(header_style="bold")
    for col in ("backend", "installed", "version", "devices", "float64", "note"):
        table.add_column(col)
    for name, entry in info.items():
        f64 = entry["float64"]
        table.add_row(
            name,
            "yes" if entry["installed"] else "no",
            entry["version"] or "",
            ", ".join(entry["devices"]) or "-",
            "" if f64 is None else ("yes" if f64 else "no"),
            entry["reason"],
            style=None if entry["installed"] and entry["devices"] else "dim",
        )
    Console().print(table)
    return EXIT_OK


# -- entry point ------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``groundup`` command line; return the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 success, 1 a run or fit failed, 2 bad arguments.
    """
    parser = build_parser()
    args = parser.parse_args(argv)  # exits with status 2 on bad arguments
    try:
        return int(args.func(args))
    except UsageError as exc:
        sub = f"groundup {args.command}" if getattr(args, "command", None) else "groundup"
        print(f"usage: see '{sub} --help'\n{sub}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
