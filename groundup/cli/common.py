"""What the subcommands share: exit codes, errors, ``--param`` values, TOML files, the ``--out``
check, and messages in the command line's own words (:func:`cli_words`)."""

from __future__ import annotations

import argparse
import numbers
import os
import re
import sys
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser as a package
    import tomli as tomllib

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad arguments found after parsing (exit status 2, like argparse's own errors)."""


def fail(command: str, message: str, status: int = EXIT_USAGE) -> int:
    """Print ``groundup COMMAND: error: MESSAGE`` to standard error; return ``status``."""
    print(f"groundup {command}: error: {message}", file=sys.stderr)
    return status


def names(text: str) -> list[str]:
    """A comma-separated list: ``"numpy, torch"`` -> ``["numpy", "torch"]``."""
    out = [part.strip() for part in str(text).split(",") if part.strip()]
    if not out:
        msg = f"expected a comma-separated list, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return out


def read_toml(path: str) -> dict[str, Any]:
    """The TOML file at ``path`` (a ``UsageError`` when missing or malformed)."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except (FileNotFoundError, IsADirectoryError):
        msg = f"config file {path!r} does not exist"
        raise UsageError(msg) from None
    except tomllib.TOMLDecodeError as exc:
        msg = f"config file {path!r} is not valid TOML: {exc}"
        raise UsageError(msg) from None


def param_value(text: str) -> Any:
    """A hyper-parameter as a command-line user writes it: ``none`` / ``null`` is None,
    ``true`` / ``false`` (any case) a bool, a TOML value (``0.1``, ``1e-3``, ``"l2"``) that
    value, else the bare string (``l2``)."""
    t = text.strip()
    low = t.lower()
    if low in ("none", "null"):
        return None
    if low in ("true", "false"):
        return low == "true"
    try:
        return tomllib.loads(f"v = {t}")["v"]
    except tomllib.TOMLDecodeError:
        pass
    try:
        return float(t)  # what TOML does not read as a number: 5., .5
    except ValueError:
        return t


# Estimator arguments that a subcommand takes as flags of their own (the rest is --param).
FIT_FLAGS: dict[str, str] = {
    "model": "--model", "method": "--method", "backend": "--backend", "device": "--device",
    "dtype": "--dtype", "random_state": "--random-state", "features": "--features",
}  # fmt: skip
FIT_SCALE_FLAGS: dict[str, str] = {**FIT_FLAGS, "scale": "--scale"}


def parse_params(
    items: Sequence[str] | None, model: str | None = None, flags: Mapping[str, str] = FIT_FLAGS
) -> dict[str, Any]:
    """``["eta0=0.05", "sgd.eta0=0.01"]`` -> ``{"eta0": 0.05, "sgd": {"eta0": 0.01}}``; with
    ``model``, every KEY must be a hyper-parameter of its estimator without a flag in ``flags``
    (else a ``UsageError``)."""
    valid: set[str] = set()
    if model is not None:
        import inspect

        from groundup.linear_model import estimator_class

        valid = set(inspect.signature(estimator_class(model)).parameters) - set(flags)
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            msg = f"--param expects KEY=VALUE or METHOD.KEY=VALUE, got {item!r}"
            raise UsageError(msg)
        method, dot, name = key.rpartition(".")
        if model is None:
            (out.setdefault(method, {}) if dot else out)[name] = param_value(value)
            continue
        if dot:
            msg = "--param takes KEY=VALUE here (METHOD.KEY=VALUE is for groundup bench)"
            raise UsageError(msg)
        if key in flags:
            msg = f"--param {key}=... : use {flags[key]} instead"
            raise UsageError(msg)
        if key not in valid:
            msg = f"unknown --param {key}; valid names: {', '.join(sorted(valid))}"
            raise UsageError(msg)
        out[key] = param_value(value)
    return out


def add_param(p: argparse.ArgumentParser, *, help: str | None = None) -> None:
    """``--param KEY=VALUE`` (repeatable), the one spelling of a hyper-parameter."""
    p.add_argument(
        "--param", dest="param", action="append", default=None, metavar="KEY=VALUE",
        help=help or "a hyper-parameter of the estimator (--param penalty=l2 --param "
        "alpha=0.01); repeatable; none, true, false and numbers are read as such",
    )  # fmt: skip


def add_random_state(p: argparse.ArgumentParser, default: int | None = 0) -> None:
    """``--random-state N``, the one seed flag of every subcommand that fits."""
    p.add_argument(
        "--random-state", dest="random_state", type=int, default=default, metavar="N",
        help="seed of the split and the shuffling (default: 0, so a run repeats; printed "
        "and kept in the run's record)",
    )  # fmt: skip


def add_force(p: argparse.ArgumentParser) -> None:
    """``--force``: write into an ``--out`` folder that already holds files."""
    p.add_argument(
        "--force", action="store_true",
        help="write into an --out folder that already holds files (replacing those of the "
        "same name)",
    )  # fmt: skip


def check_out(command: str, out: str | os.PathLike[str] | None, force: bool) -> str | None:
    """Refuse (``UsageError``) an ``--out`` that is a file, or a folder that holds files unless
    ``force``; return the line to print when ``force`` writes over files, else None."""
    if out is None:
        return None
    path = os.fspath(out)
    if os.path.exists(path) and not os.path.isdir(path):
        msg = f"--out {path} is a file; give a folder"
        raise UsageError(msg)
    held = sorted(os.listdir(path)) if os.path.isdir(path) else []
    if not held:
        return None
    shown = ", ".join(held[:4]) + (f" and {len(held) - 4} more" if len(held) > 4 else "")
    if not force:
        msg = (
            f"--out {path} already holds files ({shown}); pass --force to write over them, "
            f"or choose a new folder (e.g. --out {path.rstrip(os.sep)}-2)"
        )
        raise UsageError(msg)
    return f"groundup {command}: --force: writing into {path}, which already holds {shown}"


def diverged_line(subject: str, n: int, eta0s: Any, *, scaled: bool, fallback: str) -> str:
    """The line for a run whose ``n`` fits all diverged, with the remedy: a tenth of the
    smallest ``eta0`` tried (else ``fallback``), and ``--scale`` unless given."""
    tried = [float(v) for v in eta0s if isinstance(v, numbers.Real) and not isinstance(v, bool)]
    tried = [v for v in tried if v > 0]
    step = f"--param eta0={min(tried) / 10:g}" if tried else fallback
    head = f"every {subject} diverged ({n} of {n})"
    if scaled:
        return f"{head}, on standardised features too: take smaller steps ({step})"
    return f"{head}: scale the features (--scale) or take smaller steps ({step})"


_VALUE = r"""'[^']*'|"[^"]*"|None|True|False|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"""
_ASSIGN = re.compile(rf"(?<!--param )(?<!--set )\b([A-Za-z_][A-Za-z0-9_]*)=({_VALUE})")
_QUOTED_LIST = re.compile(r"(?<![\w\]])\[((?:'[^']*'(?:, )?)+)\]")
_WORDS = {"None": "none", "True": "true", "False": "false"}
# Parameters that advice names bare ("increasing max_iter", "lower tol").
_BARE = re.compile(r"(?<![-\w=.'])(max_iter|eta0|tol|batch_size|n_iter_no_change)(?![\w=_'])")
_SAME = re.compile(r"=([-+.\w]+) \(([-+.\w]+)\)")  # eta0=10000.0 (1e+04): the value once
_ON_THE_COMMAND_LINE = re.compile(r"\(([^;()]*); (--[\w-]+) on the command line\)")
_SCALER = re.compile(
    r"\(sklearn\.preprocessing\.StandardScaler(?:; --scale on the command line)?\)"
)
_SCALING = re.compile(r"\b([Ss]cal(?:e|ing) the features)\b(?! \()")
_SCALE_ADVICE = r"[Ss]cal(?:e|ing) the features(?: \([^)]*\))?"


def cli_words(text: str, flags: Mapping[str, str] = FIT_FLAGS, *, scaled: bool = False) -> str:
    """A library message in the command line's words: ``method='batch'`` becomes
    ``--method batch``, ``penalty='l2'`` ``--param penalty=l2``, ``None`` ``none``,
    ``['constant', 'invscaling']`` ``constant, invscaling``, ``eta0=0.1 (0.1)`` ``--param
    eta0=0.1``. ``flags`` are the estimator arguments that are flags of the subcommand
    (``{"method": "--methods"}``; the advice to scale names ``--scale`` only where it is
    among them); ``scaled``: the user gave ``--scale``, so that advice is left out."""

    def assign(m: re.Match[str]) -> str:
        name, value = m.group(1), m.group(2)
        quoted = value[:1] in "'\"" and value[-1:] == value[:1]
        value = value[1:-1] if quoted else _WORDS.get(value, value)
        return f"{flags[name]} {value}" if name in flags else f"--param {name}={value}"

    out = _QUOTED_LIST.sub(lambda m: ", ".join(re.findall(r"'([^']*)'", m.group(1))), text)
    out = _ASSIGN.sub(assign, out)
    out = re.sub(r"\b(None|True|False)\b", lambda m: _WORDS[m.group(1)], out)
    out = _SAME.sub(lambda m: m.group(0) if _differ(*m.groups()) else f"={m.group(1)}", out)
    out = _BARE.sub(lambda m: f"--param {m.group(1)}", out)  # "lower eta0", "max_iter"
    if scaled:
        out = _taken(out)
    elif "scale" in flags:  # "(sklearn.preprocessing.StandardScaler)" -> "(--scale)"
        out = _SCALER.sub(f"({flags['scale']})", out)
        out = _SCALING.sub(lambda m: f"{m.group(1)} ({flags['scale']})", out)
    # "(the features argument; --features on the command line)": the flag where there is one
    return _ON_THE_COMMAND_LINE.sub(
        lambda m: f"({m.group(2)})" if m.group(2) in flags.values() else f"({m.group(1)})", out
    )


def _differ(a: str, b: str) -> bool:
    try:
        return float(f"{float(a):.3g}") != float(b)  # the message rounds the second
    except ValueError:
        return a != b


def _taken(text: str) -> str:
    """``text`` without the advice to scale the features (taken already): ``A, B or scale``
    -> ``A or B``; ``A, scale or B`` -> ``A or B``; ``A or scale`` -> ``A``; ``Scale ...,
    or b`` -> ``B``."""
    out = re.sub(rf", ([^,.]+?) or {_SCALE_ADVICE}", r" or \1", text)
    out = re.sub(rf", {_SCALE_ADVICE} or ", " or ", out)
    out = re.sub(rf" or {_SCALE_ADVICE}", "", out)
    return re.sub(
        rf"({_SCALE_ADVICE}),? or (\w)",
        lambda m: m.group(2).upper() if m.group(1)[0] == "S" else m.group(2), out,
    )  # fmt: skip


@contextmanager
def relay_warnings(
    command: str, flags: Mapping[str, str] = FIT_FLAGS, *, scaled: bool = False
) -> Iterator[None]:
    """Print the block's warnings once each, in the command line's words, on standard error."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            said = (cli_words(str(w.message), flags, scaled=scaled) for w in caught)
            for text in dict.fromkeys(said):
                print(f"groundup {command}: warning: {text}", file=sys.stderr)
