"""``groundup diagnose FILE --target COL``: fit a model on a table and print its diagnostics.
The level of the tests is ``--significance`` (``--alpha``, deprecated: alpha is the penalty)."""

from __future__ import annotations

import argparse
import json
import sys
from functools import partial
from pathlib import Path
from typing import Any

from groundup.cli.common import (
    EXIT_OK,
    FIT_FLAGS,
    UsageError,
    add_force,
    add_param,
    add_random_state,
    check_out,
    cli_words,
    fail,
    parse_params,
    relay_warnings,
)
from groundup.cli.fit import add_features, pick_features
from groundup.kernels.diagnostics import HC_TYPES

__all__ = ["add_parser", "run"]

# The older spellings of four hyper-parameters (--max-iter, ...), hidden: parameter -> type.
_PASS_THROUGH = {"max_iter": int, "eta0": float, "learning_rate": str, "batch_size": int}


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "diagnose",
        help="fit a linear (or logistic) model on a table and check its assumptions",
        description=(
            "Fit a model on FILE (CSV, TSV, Parquet or JSON) and print statsmodels-equal "
            "inference, assumption tests with verdicts, influence and collinearity."
        ),
    )
    p.add_argument("file", metavar="FILE", help="data table: .csv, .tsv, .parquet or .json")
    p.add_argument("--target", required=True, help="column to predict")
    add_features(p)
    p.add_argument("--model", choices=("linear", "logistic"), default="linear")
    p.add_argument("--method", default=None,
                   help="fitting method (default: normal for linear, newton for logistic)")  # fmt: skip
    p.add_argument("--backend", default=None, help="numpy, torch, cupy, jax, array_api_strict")
    p.add_argument("--device", default=None, help="cpu, cuda, mps, ...")
    p.add_argument("--dtype", choices=("float32", "float64"), default=None)
    p.add_argument(
        "--significance", type=float, default=None, metavar="LEVEL",
        help="significance level of the tests and confidence intervals (default: 0.05)",
    )  # fmt: skip
    p.add_argument("--alpha", type=float, default=None, dest="alpha_deprecated",
                   help=argparse.SUPPRESS)  # fmt: skip
    p.add_argument("--cov-type", choices=("nonrobust", *HC_TYPES), default="nonrobust")
    add_param(p)
    add_random_state(p)
    for name, kind in _PASS_THROUGH.items():
        p.add_argument("--" + name.replace("_", "-"), type=kind, help=argparse.SUPPRESS)
    p.add_argument("--out", default=None,
                   help="folder for summary.txt, report.json, *.csv and diagnostics.png")  # fmt: skip
    add_force(p)
    p.set_defaults(func=run)
    return p


def _read(path: str) -> Any:
    import pandas as pd

    suffix = Path(path).suffix.lower()
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix == ".json":
        return pd.read_json(path)
    return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")


# diagnose()'s own arguments as this command's flags (for messages in its words).
_DIAGNOSE_FLAGS = {"alpha": "--significance", "cov_type": "--cov-type"}


def run(args: argparse.Namespace) -> int:
    """Run ``groundup diagnose``; 0 on success, 2 on bad input."""
    import pandas as pd

    import groundup as gu
    from groundup.datasets import not_numeric
    from groundup.diagnostics.runner import diagnose

    try:
        params = parse_params(args.param, args.model)
        forced = check_out("diagnose", args.out, args.force)
    except UsageError as exc:
        return fail("diagnose", str(exc))
    if args.alpha_deprecated is not None:
        print(
            "groundup diagnose: --alpha is deprecated (alpha is the penalty elsewhere); "
            "use --significance",
            file=sys.stderr,
        )
    given = [v for v in (args.significance, args.alpha_deprecated) if v is not None]
    significance = float(given[0]) if given else 0.05
    try:
        df = _read(args.file)
    except (OSError, ValueError, ImportError) as exc:
        return fail("diagnose", f"cannot read {args.file!r}: {exc}")
    columns = list(map(str, df.columns))
    if args.target not in df.columns:
        return fail("diagnose", f"no column {args.target!r} in {args.file}; columns: {columns}")
    try:
        chosen = pick_features(args.features, columns, args.file)
    except UsageError as exc:
        return fail("diagnose", str(exc))
    features = chosen or [c for c in df.columns if c != args.target]
    if not features:
        return fail("diagnose", f"no feature column besides {args.target!r}")
    X, y = df[features], df[args.target]
    text = [c for c in features if not pd.api.types.is_numeric_dtype(X[c])]
    if text:  # the rule of every subcommand (groundup.datasets)
        return fail("diagnose", cli_words(not_numeric(text, args.file)))
    old = {k: getattr(args, k) for k in _PASS_THROUGH if getattr(args, k) is not None}
    params = {**old, **params, "random_state": args.random_state}
    if args.method or args.model == "logistic":
        params["method"] = args.method or "newton"
    try:
        with relay_warnings("diagnose"):
            model = gu.fit(X, y, model=args.model, backend=args.backend, device=args.device,
                           dtype=args.dtype, **params)  # fmt: skip
    except (ValueError, TypeError, ImportError) as exc:
        return fail("diagnose", cli_words(str(exc)))
    try:
        with relay_warnings("diagnose", _DIAGNOSE_FLAGS):
            report = diagnose(model, X, y, alpha=significance, cov_type=args.cov_type)
    except (ValueError, TypeError, ImportError) as exc:
        text = str(exc).replace(
            "alpha must be a significance level in", "--significance must be in"
        )
        return fail("diagnose", cli_words(text, _DIAGNOSE_FLAGS))
    # In the command line's words: the level is --significance, not alpha (the penalty).
    words = partial(cli_words, flags={**FIT_FLAGS, "cov_type": "--cov-type"})
    text = report.summary(words).replace("(alpha = ", "(significance level = ")
    text += f"\nfitted with --random-state {args.random_state}"
    print(text)
    if args.out:
        if forced:
            print(forced, file=sys.stderr)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "summary.txt").write_text(text + "\n", encoding="utf-8")
        record = {"random_state": args.random_state, **report.to_dict()}
        (out / "report.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
        report.to_frame("coefficients").to_csv(out / "coefficients.csv")
        if report.kind == "linear":
            report.to_frame("tests").to_csv(out / "tests.csv")
            report.to_frame("influence").to_csv(out / "influence.csv", index_label="row")
            try:
                report.plot(out / "diagnostics.png")
            except ImportError:
                print("groundup diagnose: matplotlib is not installed; no plot "
                      '(pip install "groundup[plot]")', file=sys.stderr)  # fmt: skip
        print(f"groundup diagnose: wrote the report to {out}/", file=sys.stderr)
    return EXIT_OK
