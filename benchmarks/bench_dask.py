"""Dask: ``normal`` and 100 ``batch`` epochs on a 10,000,000 x 32 float64 Dask array.

Each fit on a ``dask.distributed`` LocalCluster (in-process workers, one thread each) is
timed side by side with the same fit on the same data held in memory as a NumPy array
(``compare``: ratio = Dask / NumPy), with 1 and with 2 workers; a third pair times 2 workers
against 1. The data are generated on the workers and persisted there (~64 MiB row chunks),
so the ratios measure groundup's Dask path and Dask's overheads, not generation or I/O.
Memory: three copies of X (each cluster's and the peer's), 7.7 GB at the full size.

Peak memory: the extra resident memory (VmHWM above the resident size at the start, Linux)
of one fit of each, in ``extra_info`` (``ours_peak_extra_mb``, ``peer_peak_extra_mb``).

BLAS: NumPy in memory keeps its BLAS threads; inside the Dask runs BLAS is limited to one
thread per worker thread (threadpoolctl), so "2 workers" means two cores' worth of work.

Size: ``GROUNDUP_BENCH_N`` rows (default 10,000,000: 2.6 GB of X; the peer and the Dask
array share it). Smoke check: ``GROUNDUP_BENCH_N=100000 pytest benchmarks/bench_dask.py
--benchmark-disable -q``.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import groundup as gu  # noqa: E402

N = int(os.environ.get("GROUNDUP_BENCH_N", "10000000"))
D = 32
BATCH = {
    "method": "batch",
    "max_iter": 100,
    "tol": None,
    "learning_rate": "constant",
    "eta0": 0.1,
    "random_state": 0,
}
METHODS = {"normal": {"method": "normal"}, "batch100": BATCH}


def _lazy_problem() -> tuple[Any, Any]:
    """10,000,000 x 32 standard normal X and a linear y, generated chunk by chunk."""
    rows = gu.backends.resolve("dask").chunk_rows(D)  # ~64 MiB row chunks
    rng = da.random.default_rng(0)
    X = rng.standard_normal((N, D), chunks=(min(rows, N), D))
    noise = rng.standard_normal((N,), chunks=(min(rows, N),))
    return X, X @ np.linspace(-1.0, 1.0, D) + 2.0 + 0.1 * noise


@pytest.fixture(scope="module")
def clusters() -> Iterator[dict[int, tuple[Any, Any, Any]]]:
    """Two in-process LocalClusters (1 and 2 workers of one thread each), each holding the
    same data, generated on its workers and persisted there: ``{workers: (client, X, y)}``."""
    out, clusters = {}, []
    for workers in (1, 2):
        cluster = distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=False, dashboard_address=":0"
        )
        clusters.append(cluster)
        client = distributed.Client(cluster, set_as_default=False)
        X, y = client.persist(list(_lazy_problem()))
        with client.as_current():
            distributed.wait([X, y])
        out[workers] = (client, X, y)
    yield out
    for client, _, _ in out.values():
        client.close()
    for cluster in clusters:
        cluster.close()


@pytest.fixture(scope="module")
def data(clusters: dict[int, tuple[Any, Any, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """The same numbers in this process, as NumPy arrays (the peer's data)."""
    client, X, y = clusters[2]
    return tuple(client.gather(client.compute([X, y])))


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn brings threadpoolctl
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _on(client: Any, fn: Callable[[], Any]) -> Callable[[], Any]:
    def run() -> Any:
        with client.as_current(), _one_blas_thread():
            return fn()

    return run


def _status_kb(field: str) -> int | None:
    path = pathlib.Path("/proc/self/status")
    if not path.exists():
        return None
    for line in path.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return None


def peak_extra_mb(fn: Callable[[], Any]) -> float | None:
    """Resident memory above the start that one call of ``fn`` reached (Linux), in MB."""
    clear = pathlib.Path("/proc/self/clear_refs")
    start = _status_kb("VmRSS")
    if start is None or not clear.exists():
        return None
    try:
        clear.write_text("5")  # VmHWM := VmRSS
    except OSError:
        return None
    fn()
    return (_status_kb("VmHWM") - start) / 1024


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("workers", [1, 2])
def test_dask_vs_numpy_in_memory(compare, benchmark, data, clusters, method, workers):
    X, y = data
    client, Xd, yd = clusters[workers]
    params = METHODS[method]
    ours = _on(client, lambda: gu.LinearRegression(**params).fit(Xd, yd))

    def peer() -> Any:
        return gu.LinearRegression(**params).fit(X, y)

    benchmark.extra_info.update(
        {
            "rows": N,
            "columns": D,
            "chunks": len(Xd.chunks[0]),
            "workers": workers,
            "ours_peak_extra_mb": peak_extra_mb(ours),
            "peer_peak_extra_mb": peak_extra_mb(peer),
        }
    )
    a, b = ours(), peer()
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-8, atol=1e-12)
    compare(ours, peer, peer_name="numpy in memory")


@pytest.mark.parametrize("method", list(METHODS))
def test_two_workers_vs_one(compare, benchmark, clusters, method):
    params = METHODS[method]

    def fit_on(workers: int) -> Callable[[], Any]:
        client, Xd, yd = clusters[workers]
        return _on(client, lambda: gu.LinearRegression(**params).fit(Xd, yd))

    benchmark.extra_info.update({"rows": N, "columns": D})
    compare(fit_on(2), fit_on(1), peer_name="dask, 1 worker")
