"""``groundup diagnose FILE --target COL``: fit a model on a table and print its diagnostics."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from groundup.cli.common import EXIT_OK, fail
from groundup.kernels.diagnostics import HC_TYPES

__all__ = ["add_parser", "run"]

_PASS_THROUGH = (  # flag, type, estimator parameter, help
    ("--max-iter", int, "max_iter", "epochs (gradient methods) or Newton iterations"),
    ("--eta0", float, "eta0", "initial learning rate (gradient methods)"),
    ("--learning-rate", str, "learning_rate", "schedule name (gradient methods)"),
    ("--batch-size", int, "batch_size", "samples per update (minibatch)"),
    ("--random-state", int, "random_state", "seed of the shuffling"),
)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``diagnose`` to ``subparsers``; its ``func(args)`` returns the exit code."""
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
    p.add_argument("--features", nargs="+", default=None,
                   help="feature columns (default: every other numeric column)")  # fmt: skip
    p.add_argument("--model", choices=("linear", "logistic"), default="linear")
    p.add_argument("--method", default=None,
                   help="fitting method (default: normal for linear, newton for logistic)")  # fmt: skip
    p.add_argument("--backend", default=None, help="numpy, torch, cupy, jax, array_api_strict")
    p.add_argument("--device", default=None, help="cpu, cuda, mps, ...")
    p.add_argument("--dtype", choices=("float32", "float64"), default=None)
    p.add_argument("--alpha", type=float, default=0.05, help="significance level (0.05)")
    p.add_argument("--cov-type", choices=("nonrobust", *HC_TYPES), default="nonrobust")
    for flag, kind, _, text in _PASS_THROUGH:
        p.add_argument(flag, type=kind, default=None, help=text)
    p.add_argument("--out", default=None,
                   help="directory for summary.txt, report.json, *.csv and diagnostics.png")  # fmt: skip
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


def run(args: argparse.Namespace) -> int:
    """Run ``groundup diagnose``; 0 on success, 2 on bad input."""
    import groundup as gu
    from groundup.diagnostics.runner import diagnose

    try:
        df = _read(args.file)
    except (OSError, ValueError, ImportError) as exc:
        return fail("diagnose", f"cannot read {args.file!r}: {exc}")
    if args.target not in df.columns:
        return fail(
            "diagnose",
            f"no column {args.target!r} in {args.file}; columns: {list(map(str, df.columns))}",
        )
    if args.features:
        missing = [c for c in args.features if c not in df.columns]
        if missing:
            return fail(
                "diagnose",
                f"no column(s) {missing} in {args.file}; columns: {list(map(str, df.columns))}",
            )
        features = list(args.features)
    else:
        others = df.drop(columns=[args.target])
        features = list(others.select_dtypes("number").columns)
        skipped = [str(c) for c in others.columns if c not in features]
        if skipped:
            print(f"groundup diagnose: skipping non-numeric column(s) {skipped}", file=sys.stderr)
    if not features:
        return fail(
            "diagnose", f"no numeric feature columns besides {args.target!r}; pass --features"
        )
    X, y = df[features], df[args.target]
    params = {k: getattr(args, k) for _, _, k, _ in _PASS_THROUGH if getattr(args, k) is not None}
    if args.method:
        params["method"] = args.method
    elif args.model == "logistic":
        params["method"] = "newton"
    try:
        model = gu.fit(X, y, model=args.model, backend=args.backend, device=args.device,
                       dtype=args.dtype, **params)  # fmt: skip
        report = diagnose(model, X, y, alpha=args.alpha, cov_type=args.cov_type)
    except (ValueError, TypeError, ImportError) as exc:
        return fail("diagnose", str(exc))
    text = report.summary()
    print(text)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "summary.txt").write_text(text + "\n", encoding="utf-8")
        (out / "report.json").write_text(json.dumps(report.to_dict(), indent=2), encoding="utf-8")
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
