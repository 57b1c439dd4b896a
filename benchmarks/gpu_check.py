"""One GPU check, ready to run: the GPU-marked tests and the GPU timings, in one table.

Usage, from the repository root::

    python benchmarks/gpu_check.py [--device cuda] [--cpu] [--quick] [--skip-tests]

Runs ``pytest -m "gpu and not slow" tests benchmarks`` (a subprocess, 300 s at most), then
times (``_timing.median_time``, each call ending in ``Backend.synchronize``; float64 data
already on the device; median of 3 after a warm-up) and prints one table of ratios:
``minibatch`` epoch vs the PyTorch loop of ``groundup.bench.peers`` (<= 1.2); one exact ``sgd``
epoch vs scikit-learn ``SGDRegressor`` on the CPU (speedup >= 10); ``newton`` vs scikit-learn
``LogisticRegression`` (lbfgs, same objective) in array-API mode on the same device (<= 1.0,
as ``bench_logistic.py`` on the CPU; ``SCIPY_ARRAY_API=1`` is set before SciPy loads); one
logistic ``sgd`` epoch (binary, constant 0.01, L2 1e-4, in order) vs scikit-learn
``SGDClassifier(loss="log_loss")`` on the CPU (<= 2, the CPU's target in ``bench_logistic.py``;
on CUDA the epoch is the one-sample batches: the blocked log-loss epoch reads the host per
window and runs on host backends only, so this row measures that fallback); each optimiser's
epoch (``bench_optimizers.py``'s fit) vs the same ``torch.optim`` loop (<= 1.2). Rows: 200,000
x 32 (``sgd``, ``newton``: 1,000,000 x 32; logistic ``sgd``: :data:`LOGISTIC_SGD_ROWS`);
``--quick``: 2,000 x 8, one round (and the benchmarks small, untimed). A note says when the coefficients differ (1e-6).
Without CUDA (or with ``--cpu``) the GPU rows say ``skipped: no CUDA device`` and the same
comparisons run small on the CPU (rows ``(cpu)``, not judged: the targets are the GPU's).
Exit status 1 when a step errors (a failed test, a check that raised), never for a missed
target. Under 8 minutes on one GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import textwrap
import time
import warnings
from dataclasses import asdict, dataclass, field, replace
from itertools import zip_longest
from pathlib import Path
from typing import Any

from _timing import median_time

ROOT = Path(__file__).resolve().parents[1]
WIDTH = 100
OPTIMIZERS = ("momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")
# (rows, rows for sgd and newton, features, rounds)
SIZES = {"full": (200_000, 1_000_000, 32, 3), "cpu": (20_000, 20_000, 32, 1)}
SIZES["quick"] = (2_000, 2_000, 8, 1)
PYTEST_ROW = "pytest -m gpu tests benchmarks"
# Rows of the logistic sgd row (at most): one-sample updates on CUDA take about a hundred
# microseconds each (a few kernel launches), so its fit stays within seconds.
LOGISTIC_SGD_ROWS = 20_000


@dataclass
class Row:
    """One line of the table. ``ratio`` is ours / peer, judged ``<= target``; with
    ``speedup`` it is peer / ours, judged ``>= target``."""

    check: str
    ours: float | None = None  # seconds
    peer: float | None = None
    target: float | None = None
    speedup: bool = False
    judged: bool = True
    skip: str | None = None
    error: str | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.skip or self.error or not self.ours or not self.peer:
            return None
        return self.peer / self.ours if self.speedup else self.ours / self.peer

    @property
    def verdict(self) -> str:
        if self.error:
            return f"error: {self.error}"
        if self.skip:
            return f"skipped: {self.skip}"
        r = self.ratio
        if r is None or self.target is None:
            return self.note or "reported"
        if not self.judged:
            text = "not judged (cpu smoke run)"
        else:
            met = r >= self.target if self.speedup else r <= self.target
            text = "met" if met else "missed"
        return f"{text}; {self.note}" if self.note else text


def _seconds(s: float | None) -> str:
    if s is None:
        return "-"
    return f"{s * 1e3:.3g} ms" if s < 1 else f"{s:.2f} s"


def render(rows: list[Row]) -> str:
    """The table as plain text, at most ``WIDTH`` columns (long cells wrap)."""
    widths = [36, 9, 9, 6, 7]
    widths.append(WIDTH - sum(widths) - len(widths))
    head = ["check", "ours", "peer", "ratio", "target", "verdict"]
    lines = [" ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip(), "-" * WIDTH]
    for row in rows:
        r = row.ratio
        tgt = "" if row.target is None else f"{'>=' if row.speedup else '<='}{row.target:g}"
        cells = [row.check, _seconds(row.ours), _seconds(row.peer)]
        cells += ["-" if r is None else f"{r:.3g}", tgt, row.verdict]
        wrapped = [textwrap.wrap(c, w) or [""] for c, w in zip(cells, widths, strict=True)]
        for parts in zip_longest(*wrapped, fillvalue=""):
            lines.append(" ".join(p.ljust(w) for p, w in zip(parts, widths, strict=True)).rstrip())
    return "\n".join(lines)


def parse_pytest(output: str) -> dict[str, int]:
    """The counts of pytest's summary line (``3 passed, 2 skipped in 1.2s``)."""
    summary = [ln for ln in output.splitlines() if re.search(r"\bin [\d.]+s\b", ln)]
    kinds = r"(\d+) (passed|skipped|failed|errors?|xfailed|xpassed)"
    pairs = re.findall(kinds, summary[-1]) if summary else []
    counts = {"passed": 0, "skipped": 0, "failed": 0, "error": 0}
    for num, kind in pairs:
        key = "error" if kind.startswith("error") else kind
        counts[key] = counts.get(key, 0) + int(num)
    return counts


def run_pytest(quick: bool, env: dict[str, str]) -> Row:
    row = Row(PYTEST_ROW)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    cmd += ["-m", "gpu and not slow", "tests", "benchmarks"]
    timeout = 150 if quick else 300
    if quick:
        cmd.append("--benchmark-disable")
        env = {**env, "GROUNDUP_BENCH_SMALL": "1"}
    start = time.perf_counter()
    try:
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=timeout)  # fmt: skip
    except subprocess.TimeoutExpired:
        row.error = f"pytest ran past {timeout} s"
        return row
    row.ours = time.perf_counter() - start
    c = parse_pytest(done.stdout)
    text = f"{c['passed']} passed, {c['skipped']} skipped, {c['failed']} failed"
    text += f", {c['error']} errors" if c["error"] else ""
    if done.returncode not in (0, 5):  # 5: nothing collected
        row.error = text if c["failed"] or c["error"] else done.stdout[-300:].strip()
    else:
        row.note = text
    return row


@dataclass
class Ctx:
    """Where and how big: the backend, the data, the timing rounds."""

    be: Any
    n: int
    n_big: int
    d: int
    rounds: int
    cache: dict[int, Any] = field(default_factory=dict)

    def data(self, n: int) -> tuple[Any, ...]:
        """NumPy X, a linear target and logistic labels; X, y on the device."""
        if n not in self.cache:
            import numpy as np

            rng = np.random.default_rng(0)
            X = rng.standard_normal((n, self.d))
            z = X @ (0.5 * rng.standard_normal(self.d))
            y = z + 3.0 + 0.1 * rng.standard_normal(n)
            labels = (rng.random(n) < 1.0 / (1.0 + np.exp(-z - 0.3))).astype(np.int64)
            self.cache[n] = X, y, labels, self.be.asarray(X), self.be.asarray(y)
            self.be.synchronize()
        return self.cache[n]

    def time(self, fn: Any) -> float:
        """Median seconds of ``fn()`` with the device synchronised (the work, not its launch)."""
        return median_time(lambda: (fn(), self.be.synchronize()), self.rounds, 1)


def _differ(ours: Any, peer: Any) -> str:
    import numpy as np

    a, b = np.ravel(np.asarray(ours, dtype=float)), np.ravel(np.asarray(peer, dtype=float))
    rel = float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-300))
    return "" if rel <= 1e-6 else f"coef differ by {rel:.1e} (relative)"


def _minibatch_epoch(c: Ctx, row: Row) -> None:
    import groundup as gu
    from groundup.bench.peers import peers_for

    X, y, _, Xd, yd = c.data(c.n)
    params = {"max_iter": 5, "tol": None, "batch_size": 256, "learning_rate": "constant"}
    params |= {"eta0": 0.1, "random_state": 0}
    est = gu.LinearRegression(method="minibatch", **params)
    (loop,) = [p for p in peers_for("linear", "minibatch") if p.backend == "torch"]
    peer = loop.build(params, str(c.be.device), "float64")
    placed = peer.place(X, y)
    row.ours = c.time(lambda: est.fit(Xd, yd)) / 5
    row.peer = c.time(lambda: peer.fit(placed)) / 5
    row.note = _differ(c.be.to_numpy(est.coef_), peer.coef_)


def _sgd(c: Ctx, row: Row) -> None:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import SGDRegressor

    import groundup as gu

    X, y, _, Xd, yd = c.data(c.n_big)
    common = {"max_iter": 1, "tol": None, "shuffle": True, "random_state": 0}
    common |= {"learning_rate": "invscaling", "eta0": 0.01, "power_t": 0.25}
    est, sk = gu.LinearRegression(method="sgd", **common), SGDRegressor(**common)
    row.ours = c.time(lambda: est.fit(Xd, yd))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter=1
        row.peer = c.time(lambda: sk.fit(X, y))


def _logistic_sgd(c: Ctx, row: Row) -> None:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import SGDClassifier

    import groundup as gu

    n = min(c.n, LOGISTIC_SGD_ROWS)
    X, _, labels, Xd, _ = c.data(c.n)
    X, labels, Xd = X[:n], labels[:n], Xd[:n, ...]
    yd = c.be.asarray(labels)
    common = {"max_iter": 1, "tol": None, "shuffle": False, "learning_rate": "constant"}
    common |= {"eta0": 0.01, "penalty": "l2", "alpha": 1e-4}
    est = gu.LogisticRegression(method="sgd", **common)
    sk = SGDClassifier(loss="log_loss", **common)
    row.ours = c.time(lambda: est.fit(Xd, yd))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter=1
        row.peer = c.time(lambda: sk.fit(X, labels))
    row.note = _differ(c.be.to_numpy(est.coef_), sk.coef_)


def sklearn_array_api_problem() -> str | None:
    """Why scikit-learn's ``LogisticRegression`` cannot run in array-API mode here."""
    import sklearn
    from sklearn.linear_model import LogisticRegression

    try:
        with sklearn.config_context(array_api_dispatch=True):
            pass
        supported = LogisticRegression().__sklearn_tags__().array_api_support
    except (ImportError, RuntimeError, ValueError, AttributeError) as exc:
        return f"sklearn array API unavailable: {exc}"[:160]
    if not supported:
        return f"scikit-learn {sklearn.__version__}: no array API in LogisticRegression"
    return None


def _newton(c: Ctx, row: Row) -> None:
    import sklearn
    from sklearn.linear_model import LogisticRegression

    import groundup as gu

    _, _, labels, Xd, _ = c.data(c.n_big)
    yd = c.be.asarray(labels)
    n = labels.shape[0]
    est = gu.LogisticRegression(method="newton", penalty="l2", alpha=1.0 / n, random_state=0)
    row.ours = c.time(lambda: est.fit(Xd, yd))
    row.skip = sklearn_array_api_problem()
    if row.skip:
        return
    peer = LogisticRegression()  # lbfgs, C = 1: the same objective
    try:
        with sklearn.config_context(array_api_dispatch=True):
            row.peer = c.time(lambda: peer.fit(Xd, yd))
    except Exception as exc:  # the peer cannot run here: not our error
        row.skip = f"sklearn's array-API fit raised {type(exc).__name__}: {exc}"[:160]


def _optimizer(c: Ctx, row: Row, optimizer: str) -> None:
    from bench_optimizers import EPOCHS, _minibatch, _torch_loop

    _, _, _, Xd, yd = c.data(c.n)
    est, out = _minibatch(optimizer), {}
    row.ours = c.time(lambda: est.fit(Xd, yd)) / EPOCHS
    row.peer = c.time(lambda: out.update(W=_torch_loop(Xd, yd, optimizer)[0])) / EPOCHS
    row.note = _differ(c.be.to_numpy(est.coef_), c.be.to_numpy(out["W"].detach()))


SPECS: list[tuple[str, Any, tuple[str, ...], float, bool]] = [
    ("minibatch epoch / torch loop ({})", _minibatch_epoch, (), 1.2, False),
    ("sgd epoch ({}) / SGDRegressor cpu", _sgd, (), 10.0, True),
    ("newton / sklearn array API ({})", _newton, (), 1.0, False),
    ("logistic sgd ({}) / SGDClassifier", _logistic_sgd, (), 2.0, False),
    *[(f"{o} epoch / torch.optim ({{}})", _optimizer, (o,), 1.2, False) for o in OPTIMIZERS],
]


def run_checks(device: str, size: str, *, judged: bool, skip: str | None = None) -> list[Row]:
    """Every timing row on ``device`` (all skipped with ``skip`` when given)."""
    tag = device.split(":")[0]
    rows = [Row(name.format(tag), target=t, speedup=s, judged=judged) for name, _, _, t, s in SPECS]
    if skip is not None:
        return [replace(row, skip=skip) for row in rows]
    from groundup import backends

    n, n_big, d, rounds = SIZES[size]
    c = Ctx(backends.resolve("torch", device), n, n_big, d, rounds)
    for row, (_, fn, args, _, _) in zip(rows, SPECS, strict=True):
        try:
            fn(c, row, *args)
        except Exception as exc:  # a row that raised is an error, the others still run
            row.error = f"{type(exc).__name__}: {exc}"[:200]
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda", help="the CUDA device (default: cuda)")
    ap.add_argument("--cpu", action="store_true", help="CPU mode even where CUDA exists")
    ap.add_argument("--quick", action="store_true", help="tiny sizes, one round")
    ap.add_argument("--skip-tests", action="store_true", help="no pytest step")
    ap.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    args = ap.parse_args(argv)
    start, env = time.perf_counter(), dict(os.environ)  # pytest gets the caller's environment
    if "scipy" not in sys.modules:
        os.environ.setdefault("SCIPY_ARRAY_API", "1")  # scikit-learn's array API needs it

    skipped = Row(PYTEST_ROW, skip="--skip-tests")
    rows = [skipped if args.skip_tests else run_pytest(args.quick, env)]
    try:
        import torch
    except ImportError:
        torch = None
    cuda = torch is not None and torch.cuda.is_available()
    if cuda and not args.cpu:
        rows += run_checks(args.device, "quick" if args.quick else "full", judged=True)
    else:
        why = "--cpu given" if cuda else "no CUDA device"
        rows += run_checks("cuda", "quick", judged=True, skip=why)
        no_torch = None if torch is not None else "torch is not installed"
        rows += run_checks("cpu", "quick" if args.quick else "cpu", judged=False, skip=no_torch)
    print(render(rows))
    print(f"total {time.perf_counter() - start:.1f} s")
    if args.json:
        out = [asdict(r) | {"ratio": r.ratio, "verdict": r.verdict} for r in rows]
        args.json.write_text(json.dumps(out, indent=1))
    return 1 if any(r.error for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
