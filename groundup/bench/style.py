"""How every benchmark figure encodes a run: a ``tab10`` colour per method (and optimiser),
a line style and marker (seaborn's ``unique_dashes`` / ``unique_markers``) per backend or peer,
in fixed orders, the same in every figure. Nothing here imports matplotlib.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "BACKEND_ORDER",
    "METHOD_ORDER",
    "backend_style",
    "dashes",
    "method_color",
    "method_label",
    "names_optimizers",
    "optimizer_color",
    "run_key",
    "who",
]

# tab10 index of each method ("C0" ... "C9"); a method not listed takes the next free one.
METHOD_ORDER: tuple[str, ...] = ("normal", "beta", "batch", "sgd", "minibatch", "newton")
# Line style of each implementation: groundup's backends first, then the peers.
BACKEND_ORDER: tuple[str, ...] = (
    "numpy", "torch", "jax", "array_api_strict", "cupy", "dask", "sklearn", "torch loop",
)  # fmt: skip

# seaborn.utils.unique_dashes(9): Line2D ``dashes`` (on, off, ...) in line widths; () solid.
_DASHES: tuple[tuple[float, ...], ...] = (
    (),
    (4, 1.5),
    (1, 1),
    (3, 1.25, 1.5, 1.25),
    (5, 1, 1, 1),
    (3, 1.25, 1.25, 1.25, 1.25, 1.25),
    (4, 1, 4, 1, 1, 1),
    (3, 1.25, 3, 1.25, 1.25, 1.25),
    (4, 1, 1, 1, 1, 1),
)
# seaborn.utils.unique_markers(9): filled markers, each distinct in outline (its last two
# swapped, so that the two peers get the triangles, which read well at a small size).
_MARKERS: tuple[Any, ...] = ("o", "X", (4, 0, 45), "P", (4, 0, 0), (4, 1, 0), "^", "v", (4, 1, 45))


def who(row: Mapping[str, Any]) -> str:
    """The implementation of a result row: its groundup backend (``"numpy"``, ``"torch"``) or
    its peer's library (``"sklearn"``, ``"torch loop"`` for the hand-written PyTorch loop)."""
    if not row["peer"]:
        return str(row["backend"])
    impl = str(row["impl"])
    return "sklearn" if impl.startswith("sklearn") else "torch loop" if "loop" in impl else impl


def run_key(row: Mapping[str, Any]) -> str:
    """``who`` with the device and dtype where they are not the CPU and float64:
    ``numpy``, ``torch cuda:0``, ``jax f32``, ``peer sklearn``."""
    name = who(row)
    parts = [f"peer {name}" if row["peer"] else name]
    device = str(row.get("device", "cpu"))
    if device not in ("cpu", "nan", "-"):
        parts.append(device)
    dtype = str(row.get("dtype", "float64"))
    if dtype == "float32":
        parts.append("f32")
    return " ".join(parts)


_EXTRA: dict[tuple[str, ...], dict[str, int]] = {}  # names not in an order: the next free index


def _index(name: str, order: tuple[str, ...]) -> int:
    if name in order:
        return order.index(name)
    extra = _EXTRA.setdefault(order, {})
    return extra.setdefault(name, len(order) + len(extra))


def method_color(method: str) -> str:
    """The tab10 colour of ``method`` (``"C0"`` ... ``"C9"``), the same in every figure."""
    return f"C{_index(str(method), METHOD_ORDER) % 10}"


# tab10 index of each optimiser (groundup.kernels.optimizers.OPTIMIZERS' order).
OPTIMIZER_ORDER: tuple[str, ...] = (
    "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw",
)  # fmt: skip


def names_optimizers(optimizers: Iterable[Any]) -> bool:
    """Whether runs with these optimisers (an ``optimizer`` column) name theirs beside the
    method: when one is other than the plain ``sgd``."""
    named = {o for o in optimizers if isinstance(o, str)}
    return bool(named) and named != {"sgd"}


def method_label(method: Any, optimizer: Any) -> str:
    """``minibatch·adam`` for a run with an optimiser (where :func:`names_optimizers`),
    the method alone otherwise (and once labelled)."""
    if not isinstance(optimizer, str) or "·" in str(method):
        return str(method)
    return f"{method}·{optimizer}"


def optimizer_color(name: str) -> str:
    """The tab10 colour of optimiser ``name``, the same in every figure."""
    return f"C{_index(str(name), OPTIMIZER_ORDER) % 10}"


def backend_style(name: str) -> dict[str, Any]:
    """Line2D ``dashes`` (empty: solid) and ``marker`` of an implementation (:func:`who`)."""
    i = _index(str(name), BACKEND_ORDER)
    return {"dashes": dashes(i), "marker": _MARKERS[i % len(_MARKERS)]}


def dashes(i: int) -> tuple[float, ...]:
    """The ``i``-th line style (Line2D ``dashes``; ``()`` is solid)."""
    return _DASHES[i % len(_DASHES)]
