"""Shared pieces of the benchmark suite: side-by-side timing against a peer, as a ratio.

``compare(ours, peer, target=...)`` times the peer with the same warm-up and rounds in the same
run, hands ``ours`` to pytest-benchmark (``pedantic`` with ``warmup_rounds``), and records
``ours_median``, ``peer_median``, ``ratio`` (ours / peer) and the ``target`` in ``extra_info``.
A summary of every ratio is printed at the end of the session (and kept in the JSON that
``--benchmark-save`` / ``--benchmark-json`` write).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from _timing import median_time

_RATIOS: list[tuple[str, float, float, float, float | None]] = []
_BUDGETS: list[tuple[str, float, float]] = []


@pytest.fixture
def budget(benchmark: Any, request: pytest.FixtureRequest) -> Callable[..., float]:
    """Time ``fn`` with pytest-benchmark against a wall-time budget in seconds (for whole
    commands, which have no peer); return the median."""

    def run(fn: Callable[[], Any], *, seconds: float, rounds: int = 1) -> float:
        benchmark.pedantic(fn, rounds=rounds, warmup_rounds=0, iterations=1)
        median = benchmark.stats.stats.median if benchmark.stats is not None else None
        if median is None:  # --benchmark-disable: one plain call
            median = median_time(fn, 1, 0)
        benchmark.extra_info.update({"median_s": median, "budget_s": seconds})
        _BUDGETS.append((request.node.nodeid, median, seconds))
        return median

    return run


@pytest.fixture
def compare(benchmark: Any, request: pytest.FixtureRequest) -> Callable[..., float]:
    """Time ``ours`` with pytest-benchmark and ``peer`` the same way; return the ratio.

    Both callables must synchronise the device themselves (``Backend.synchronize``) so that
    the timed call covers the work, not just its launch.
    """

    def run(
        ours: Callable[[], Any],
        peer: Callable[[], Any],
        *,
        target: float | None = None,
        rounds: int = 3,
        warmup: int = 1,
        peer_name: str = "peer",
    ) -> float:
        # Interleave: the peer first, then ours, in the same process and run.
        peer_median = median_time(peer, rounds, warmup)
        benchmark.pedantic(ours, rounds=rounds, warmup_rounds=warmup, iterations=1)
        stats = benchmark.stats.stats if benchmark.stats is not None else None
        ours_median = stats.median if stats is not None else median_time(ours, rounds, 0)
        ratio = ours_median / peer_median
        benchmark.extra_info.update(
            {
                "peer": peer_name,
                "peer_median_s": peer_median,
                "ours_median_s": ours_median,
                "ratio": ratio,
                "target_ratio": target,
                "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
            }
        )
        _RATIOS.append((request.node.nodeid, ours_median, peer_median, ratio, target))
        return ratio

    return run


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _RATIOS and not _BUDGETS:
        return
    tr = terminalreporter
    tr.section("groundup ratios (ours / peer, same run)")
    core = os.environ.get("OPENBLAS_CORETYPE")
    if core:
        tr.write_line(f"note: OPENBLAS_CORETYPE={core} is set (NumPy's BLAS runs slower)")
    for nodeid, median, seconds in _BUDGETS:
        verdict = "  ok" if median <= seconds else "  MISSED"
        tr.write_line(f"{nodeid}: {median:7.2f} s (budget <= {seconds:g} s){verdict}")
    for nodeid, ours, peer, ratio, target in _RATIOS:
        verdict = "" if target is None else ("  ok" if ratio <= target else "  MISSED")
        tgt = "" if target is None else f" (target <= {target:g})"
        tr.write_line(
            f"{nodeid}: ours {ours * 1e3:9.2f} ms, peer {peer * 1e3:9.2f} ms, "
            f"ratio {ratio:6.3f}{tgt}{verdict}"
        )
