"""What the subcommands share: exit codes, the usage error, comma-separated lists, one reading
of a ``--param`` value, TOML files, and the one-line error message."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "UsageError",
    "fail",
    "names",
    "param_value",
    "parse_params",
    "read_toml",
    "toml",
]

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


def toml() -> Any:
    """The TOML parser: ``tomllib``, or ``tomli`` (the same parser as a package) on 3.10."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    return tomllib


def read_toml(path: str) -> dict[str, Any]:
    """The TOML file at ``path``.

    Raises
    ------
    UsageError
        A missing or malformed file.
    """
    tomllib = toml()
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
    tomllib = toml()
    try:
        return tomllib.loads(f"v = {t}")["v"]
    except tomllib.TOMLDecodeError:
        pass
    try:
        return float(t)  # what TOML does not read as a number: 5., .5
    except ValueError:
        return t


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
            out.setdefault(method, {})[name] = param_value(value)
        else:
            out[key] = param_value(value)
    return out
