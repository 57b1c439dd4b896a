"""The ``groundup`` command line: one module per subcommand, each with ``add_parser(sub)``
(which sets ``func``) and ``run(args)``. Exit status: 0 success, 1 a run or fit failed, 2 bad
arguments (argparse's convention)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from groundup.cli import backends, bench, diagnose, fit, sweep
from groundup.cli.common import EXIT_USAGE, UsageError

__all__ = ["build_parser", "main"]

SUBCOMMANDS = (bench, fit, backends, diagnose, sweep)  # in the order `--help` lists them


def build_parser() -> argparse.ArgumentParser:
    """The ``groundup`` parser with every subcommand."""
    from groundup import __version__

    parser = argparse.ArgumentParser(
        prog="groundup",
        description="Classic machine-learning solvers on NumPy, PyTorch, JAX, CuPy and more.",
    )
    parser.add_argument("--version", action="version", version=f"groundup {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in SUBCOMMANDS:
        command.add_parser(sub)
    return parser


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
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)  # exits with status 2 on bad arguments
    args.argv = ["groundup", *argv]  # the command line, for the record of a run
    try:
        return int(args.func(args))
    except UsageError as exc:
        sub = f"groundup {args.command}" if getattr(args, "command", None) else "groundup"
        print(f"usage: see '{sub} --help'\n{sub}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
