"""Shared pieces of the benchmark suite: side-by-side timing against a peer, as a ratio.

``compare(ours, peer, target=...)`` times the peer with the same warm-up and rounds in the same
run, hands ``ours`` to pytest-benchmark (``pedantic`` with ``warmup_rounds``), and records
``ours_median``, ``peer_median``, ``ratio`` (ours / peer) and the ``target`` in ``extra_info``.
A summary of every ratio is printed at the end of the session (and kept in the JSON that
``--benchmark-save`` / ``--benchmark-json`` write).

Instruction counts instead of times, for an A/B of two commits on a machine too noisy to
resolve a few per cent (here the same code's ratios moved 40-100 % between runs): with
``GROUNDUP_BENCH_CALLGRIND=DIR``, under ``valgrind --tool=callgrind --instr-atstart=no
--callgrind-out-file=DIR/cg.%p python -m pytest benchmarks/bench_linear.py
--benchmark-disable``, ``compare`` counts the instructions of one call of each side, after one
uncounted call, with the garbage collector off. A count leaves out memory stalls and is not a
time; it changes by under 0.3 % between runs of the same code.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _timing import median_time

CALLGRIND = os.environ.get("GROUNDUP_BENCH_CALLGRIND")
_DUMPS: list[int] = [0]


@functools.cache
def _client() -> Any:
    """Callgrind's start and stop client requests as C functions, built once with ``cc``
    (valgrind's header)."""
    src = Path(CALLGRIND or ".") / "client.c"
    src.write_text(
        "#include <valgrind/callgrind.h>\n"
        "void start(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; }\n"
        "void stop(void) { CALLGRIND_STOP_INSTRUMENTATION; CALLGRIND_DUMP_STATS; }\n"
    )
    lib = src.with_suffix(".so")
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    return ctypes.CDLL(str(lib))


def instructions(fn: Callable[[], Any], warm_up: Callable[[], Any] | None = None) -> float:
    """The instructions of one call of ``fn`` after an uncounted one (``warm_up``, default
    ``fn``), from callgrind's dump."""
    (warm_up or fn)()
    gc.collect()
    gc.disable()  # a collection's count depends on what else the process holds
    try:
        _client().start()
        fn()
        _client().stop()
    finally:
        gc.enable()
    _DUMPS[0] += 1
    dump = Path(CALLGRIND or ".") / f"cg.{os.getpid()}.{_DUMPS[0]}"
    totals = next(x for x in dump.read_text().splitlines() if x.startswith("totals:"))
    return float(totals.split()[1])


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
        if CALLGRIND:  # instructions, not seconds
            peer_median = instructions(peer)  # ours warms up through pytest-benchmark:
            ours_median = instructions(ours, lambda: benchmark.pedantic(ours, rounds=1))
        else:  # interleave: the peer first, then ours, in the same process and run
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
                "unit": "instructions" if CALLGRIND else "seconds",  # of the two medians
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
    scale, unit = (1e-6, "M instr.") if CALLGRIND else (1e3, "ms")
    for nodeid, ours, peer, ratio, target in _RATIOS:
        target = None if CALLGRIND else target  # the targets are ratios of times
        verdict = "" if target is None else ("  ok" if ratio <= target else "  MISSED")
        tgt = "" if target is None else f" (target <= {target:g})"
        tr.write_line(
            f"{nodeid}: ours {ours * scale:9.2f} {unit}, peer {peer * scale:9.2f} {unit}, "
            f"ratio {ratio:6.3f}{tgt}{verdict}"
        )
