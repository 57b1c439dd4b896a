"""``groundup fit FILE --target COL``: fit one model and print its coefficients, metrics, why
it stopped and the step ``eta0_`` it used; ``--save`` keeps the model."""

from __future__ import annotations

import argparse
import json
import os
import pickle
from functools import partial
from typing import Any

from groundup.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    FIT_SCALE_FLAGS,
    UsageError,
    add_param,
    add_random_state,
    cli_words,
    fail,
    parse_params,
    relay_warnings,
)

__all__ = ["STOP_WORDS", "add_parser", "run"]

# Why a fit stopped (``stop_reason_``) in the output's words; the others print as they are.
STOP_WORDS = {"exact": "exact (closed form)", "stalled": "stalled short of the minimum",
              "separable": "separable classes"}  # fmt: skip


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``fit`` to ``sub`` (``parser.add_subparsers()``); its ``func(args)`` runs it."""
    p = sub.add_parser(
        "fit",
        help="fit one model on a CSV file and print its coefficients and metrics",
        description="Fit one model on FILE (a CSV file, or a built-in data set's name).",
    )
    p.add_argument("file", metavar="FILE", help="CSV file (or line, multi, diabetes, ...)")
    p.add_argument("--target", help="the column to predict (required for a CSV file)")
    add_features(p)
    p.add_argument("--model", choices=("linear", "logistic"), default="linear")
    p.add_argument("--method", default=None, help="default: normal (linear), newton (logistic)")
    p.add_argument("--backend", default="numpy", help="default: numpy")
    p.add_argument("--device", default=None, help="default: the backend's default device")
    p.add_argument("--dtype", choices=("float32", "float64"), default=None)
    add_param(p)
    add_random_state(p)
    p.add_argument(
        "--scale", action="store_true",
        help="standardise the features inside the fit (mean and standard deviation of the "
        "training rows); the coefficients and the saved model are in the data's own units",
    )  # fmt: skip
    p.add_argument(
        "--test-size", type=float, default=0.0,
        help="hold out this share for the metrics (default: 0, metrics on the training data)",
    )  # fmt: skip
    p.add_argument("--save", metavar="PATH", help="save the model (.joblib: joblib, else pickle)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=run)
    return p


def add_features(p: argparse.ArgumentParser) -> None:
    """``--features COL [COL ...]`` (a name with spaces is one argument; commas also split)."""
    p.add_argument(
        "--features", nargs="+", default=None, metavar="COL",
        help="the feature columns, e.g. --features age bmi \"bp [mmHg]\" or age,bmi "
        "(default: every column but the target)",
    )  # fmt: skip


def pick_features(wanted: list[str] | None, columns: list[str], source: str) -> list[str] | None:
    """The columns ``--features`` names (each argument a column or a comma-separated list), in
    its order; a ``UsageError`` for a name that is not a column."""
    if not wanted:
        return None
    out: list[str] = []
    for item in wanted:
        names = [item] if item in columns else [n.strip() for n in item.split(",") if n.strip()]
        for name in names:
            if name not in columns:
                msg = f"--features: no column {name!r} in {source}; columns: {', '.join(columns)}"
                raise UsageError(msg)
            if name not in out:
                out.append(name)
    return out


def run(args: argparse.Namespace) -> int:
    """Run ``groundup fit``; 0 on success, 1 when the fit failed, 2 on bad arguments."""
    import numpy as np
    import pandas as pd

    import groundup as gu
    from groundup import backends, datasets
    from groundup._problem import fit_standardization, raw_units, standardize
    from groundup._validation import LINEAR_METHODS, LOGISTIC_METHODS, canonical_method
    from groundup.exceptions import DivergenceError

    model = args.model
    method = args.method or ("normal" if model == "linear" else "newton")
    words = partial(cli_words, flags=FIT_SCALE_FLAGS, scaled=args.scale)
    params = parse_params(args.param, model, FIT_SCALE_FLAGS)
    features = None
    if args.features and os.path.isfile(args.file):  # picked first: a text column left out
        header = pd.read_csv(args.file, nrows=0).columns
        features = pick_features(args.features, [str(c) for c in header if c != args.target],
                                 args.file)  # fmt: skip
    try:
        data = datasets.load(args.file, target=args.target, features=features)
        method = canonical_method(
            method, LINEAR_METHODS if model == "linear" else LOGISTIC_METHODS, model
        )
        backends.resolve(args.backend, args.device)
    except (ValueError, TypeError, ImportError, FileNotFoundError) as exc:
        raise UsageError(words(str(exc))) from None
    if args.features and features is None:  # a built-in data set
        from dataclasses import replace

        features = pick_features(args.features, list(data.feature_names), args.file)
        cols = [list(data.feature_names).index(f) for f in features]
        data = replace(data, X=data.X[:, cols], feature_names=features)
    if model == "logistic" and data.task != "classification":
        msg = f"{data.name!r} has a continuous target: use --model linear"
        raise UsageError(msg)
    if not 0.0 <= args.test_size < 1.0:
        msg = f"--test-size must be in [0, 1), got {args.test_size}"
        raise UsageError(msg)
    X, y, X_eval, y_eval = data.X, data.y, data.X, data.y
    if args.test_size > 0:
        X, X_eval, y, y_eval = data.split(args.test_size, args.random_state)
    std, host = None, backends.resolve("numpy")
    try:
        with relay_warnings("fit", FIT_SCALE_FLAGS, scaled=args.scale):
            if args.scale:  # the training rows' statistics (not the held-out rows')
                center = params.get("fit_intercept", True) is not False
                std = fit_standardization(X, center=center, backend=host)
                X = standardize(X, std, backend=host)
            named = pd.DataFrame(X, columns=data.feature_names)  # sets feature_names_in_
            est = gu.fit(
                named, y, model=model, method=method, backend=args.backend, device=args.device,
                dtype=args.dtype, random_state=args.random_state, **params,
            )  # fmt: skip
    except TypeError as exc:  # a hyper-parameter of the wrong kind
        raise UsageError(words(str(exc))) from None
    except DivergenceError as exc:
        if args.format == "json":
            failed = {"data": data.name, "method": method, "stop_reason": "diverged",
                      "scaled": std is not None, "error": words(str(exc))}  # fmt: skip
            print(json.dumps(failed, indent=1))
        return fail("fit", words(str(exc)), EXIT_FAILED)
    except (ValueError, RuntimeError) as exc:
        return fail("fit", words(str(exc)), EXIT_FAILED)
    if std is not None:  # the model for raw data: coef / scale, intercept - coef·mean / scale
        be = backends.resolve(est.backend_, est.device_)
        est.coef_, est.intercept_ = raw_units(est.coef_, est.intercept_, std, backend=be)
    X_eval = pd.DataFrame(X_eval, columns=data.feature_names)
    summary = _fit_summary(est, data, X_eval, y_eval, held_out=args.test_size > 0)
    if std is not None:
        summary["scaled"] = True
        summary["standardization"] = std.to_dict(data.feature_names)
    if args.save:
        if args.save.endswith(".joblib"):
            import joblib

            joblib.dump(est, args.save)
        else:
            with open(args.save, "wb") as fh:
                pickle.dump(est, fh)
        summary["saved"] = args.save
    if args.format == "json":
        print(json.dumps(summary, indent=1, default=lambda v: np.asarray(v).tolist()))
    else:
        _print_fit(summary)
    return EXIT_OK


def _fit_summary(est: Any, data: Any, X: Any, y: Any, *, held_out: bool) -> dict[str, Any]:
    import numpy as np

    from groundup import metrics
    from groundup.backends import to_numpy

    coef = np.atleast_2d(to_numpy(est.coef_))
    intercept = np.atleast_1d(to_numpy(est.intercept_))
    classify = data.task != "regression" and hasattr(est, "predict_proba")
    proba = np.asarray(est.predict_proba(X)) if classify else None
    scores = metrics.fit_scores(y, np.asarray(est.predict(X)), proba)
    classes = getattr(est, "classes_", None)
    # logistic: {name: [a value per class]} (binary: the positive class's, as sklearn's coef_)
    per_class = None if classes is None else np.asarray(classes)[-len(coef) :].tolist()
    table = {
        name: float(col[0]) if per_class is None else [float(v) for v in col]
        for name, col in zip(data.feature_names, coef.T, strict=True)
    }
    return {
        "data": data.name,
        "n_samples": data.n_samples,
        "n_features": data.n_features,
        "model": "linear" if data.task == "regression" else "logistic",
        "method": est.method,
        "random_state": est.random_state,
        "backend": est.backend_,
        "device": est.device_,
        "dtype": str(np.asarray(coef).dtype),
        "coef": table,
        "intercept": float(intercept[0]) if per_class is None else [float(v) for v in intercept],
        **({} if per_class is None else {"classes": per_class}),
        "metrics": {k: float(v) for k, v in scores.items()},
        "metrics_on": "held-out data" if held_out else "training data",
        "fit_time": float(est.fit_time_),
        "epochs": int(est.n_iter_),
        "converged": bool(est.converged_),
        "stop_reason": getattr(est, "stop_reason_", None),
        "excess": getattr(est, "_excess", None),  # certified, relative to the minimum
        "eta0": float(est.eta0_) if hasattr(est, "eta0_") else None,
        "eta0_param": est.eta0 if hasattr(est, "eta0_") else None,
    }


def _print_fit(s: dict[str, Any]) -> None:
    """The summary as a rich table; names printed as text (``bmi[kg/m2]`` is not markup)."""
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    head = Text(s["data"], style="bold")
    head.append(
        f": {s['n_samples']} samples x {s['n_features']} features - "
        f"{s['model']} / {s['method']} on {s['backend']} ({s['device']}, {s['dtype']}), "
        f"--random-state {s['random_state']}"
    )
    console.print(head)
    table = Table(show_header=True, header_style="bold", box=box.HEAVY_HEAD)
    table.add_column(Text("feature"), no_wrap=True)
    heads = [f"class {c}" for c in s["classes"]] if "classes" in s else ["coefficient"]
    for head in heads:
        table.add_column(Text(head), justify="right", no_wrap=True)
    for name, v in [*s["coef"].items(), ("(intercept)", s["intercept"])]:
        cells = [Text(f"{x:.6g}") for x in (v if isinstance(v, list) else [v])]
        table.add_row(Text(name), *cells, style="italic" if name == "(intercept)" else None)
    console.print(table)
    names = dict(r2="R2", rmse="RMSE", mae="MAE", accuracy="accuracy", log_loss="log-loss")
    scores = "  ".join(f"{names[k]} {v:.6g}" for k, v in s["metrics"].items())
    lines = [
        f"{scores}  (on the {s['metrics_on']})",
        f"fit time {1e3 * s['fit_time']:.3g} ms, epochs {s['epochs']}, "
        f"converged {'yes' if s['converged'] else 'no'}",
    ]
    stop = []
    if s.get("stop_reason"):
        stop.append(f"stopped: {STOP_WORDS.get(s['stop_reason'], s['stop_reason'])}")
    if s.get("excess") is not None:
        stop.append(f"objective {100 * s['excess']:.2g} % above its minimum")
    if s.get("eta0") is not None:
        auto = s.get("eta0_param") == "auto"
        stop.append(f"eta0 {s['eta0']:.4g}" + (" (auto)" if auto else ""))
    lines += [", ".join(stop)] if stop else []
    if s.get("scaled"):
        lines.append(
            "features standardised inside the fit (--scale); coefficients in the data's units"
        )
    if "saved" in s:
        lines.append(f"saved the model to {s['saved']}")
    for line in lines:
        console.print(Text(line))
