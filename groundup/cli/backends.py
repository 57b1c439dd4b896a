"""``groundup backends``: what is installed, versions and devices."""

from __future__ import annotations

import argparse
from typing import Any

from groundup.cli.common import EXIT_OK

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("backends", help="list backends, versions and devices")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``groundup backends``."""
    from groundup import backends

    info = backends.available()
    if args.format == "json":
        import json

        print(json.dumps(info, indent=1))
        return EXIT_OK
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(header_style="bold")
    for col in ("backend", "installed", "version", "devices", "float64"):
        table.add_column(Text(col), no_wrap=True)
    table.add_column(Text("note"))  # the reason wraps, at word boundaries
    for name, entry in info.items():
        f64 = entry["float64"]
        cells = (
            name,
            "yes" if entry["installed"] else "no",
            entry["version"] or "",
            ", ".join(entry["devices"]) or "-",
            "" if f64 is None else ("yes" if f64 else "no"),
            entry["reason"] or "",
        )
        table.add_row(  # text, not markup: pip install "groundup[cupy]" prints as written
            *[Text(str(c)) for c in cells],
            style=None if entry["installed"] and entry["devices"] else "dim",
        )
    Console().print(table)
    return EXIT_OK
