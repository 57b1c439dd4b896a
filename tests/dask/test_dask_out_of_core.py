"""A fit on data far larger than the workers' memory limit: two worker processes, the data
generated chunk by chunk in the cluster."""

from __future__ import annotations

import functools
import importlib
import math
import pathlib
import tracemalloc

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")


import groundup as gu  # noqa: E402
from groundup import backends  # noqa: E402

xnp = backends.resolve("numpy").xp


# -- out of core ----------------------------------------------------------------------------
# Two worker processes, each with a memory limit of its own baseline (Python, NumPy, SciPy,
# scikit-learn, distributed and groundup imported and BLAS warmed up: ~220 MB on this
# machine, more elsewhere) plus OOC_HEADROOM, fit data 1.5 times that limit (6 times in the
# slow variant), generated chunk by chunk. The baseline is measured first on an unlimited
# probe worker, because it depends on the machine (CPU-specific BLAS buffers, library
# builds): a fixed limit that leaves 60 MB for data here left too little on another machine.
# A worker that held its share of the data would be killed by its nanny (terminate at
# 95 %); spilling and pausing are off, so nothing hides data on disk or stalls near the
# baseline. Each worker's peak RSS (VmHWM, reset after the warm-up) is checked as well.
OOC_COLS, OOC_CHUNK = 31, 25_000
OOC_CHUNK_BYTES = OOC_CHUNK * (OOC_COLS + 1) * 8
OOC_HEADROOM = 20 * OOC_CHUNK_BYTES  # 128 MB: the nanny kills at 19 chunks, the test fails at 12
OOC_SETTINGS = {
    "distributed.worker.memory.target": False,
    "distributed.worker.memory.spill": False,
    "distributed.worker.memory.pause": False,
    "distributed.worker.memory.terminate": 0.95,
    # Large arrays straight from and back to the OS, so that RSS follows the live data
    # (glibc otherwise keeps freed chunk-sized blocks in its heap).
    "distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_": 65536,
}


def _process_cluster(memory_limit: int, n_workers: int) -> distributed.Client:
    cluster = distributed.LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        memory_limit=memory_limit,
        dashboard_address=":0",
    )
    return distributed.Client(cluster)


def _warm_up(client) -> None:
    """Import groundup's Dask path and run one chunk-sized BLAS product in every worker."""
    client.run(importlib.import_module, "groundup.dask")
    block = np.random.default_rng(0).standard_normal((OOC_CHUNK, OOC_COLS + 1))
    client.run(np.matmul, block.T, block)


@pytest.fixture(scope="module")
def small_workers():
    import dask

    with dask.config.set(OOC_SETTINGS):
        probe = _process_cluster(memory_limit=0, n_workers=1)  # no limit: only measures
        try:
            _warm_up(probe)
            baseline = max(_status(probe, "VmRSS").values())
        finally:
            probe.close()
            probe.cluster.close()
        client = _process_cluster(memory_limit=baseline + OOC_HEADROOM, n_workers=2)
        _warm_up(client)
        yield client, baseline + OOC_HEADROOM
        client.close()
        client.cluster.close()


def _lazy_problem(rows: int):
    rng = da.random.default_rng(42)
    X = rng.standard_normal((rows, OOC_COLS), chunks=(OOC_CHUNK, OOC_COLS))
    noise = rng.standard_normal((rows,), chunks=(OOC_CHUNK,))
    y = X @ np.linspace(-1.0, 1.0, OOC_COLS) + 2.0 + 0.5 * noise
    return X, y


def _status(client, field: str) -> dict[str, int]:
    """A field of each worker process's /proc/self/status, in bytes (Linux)."""
    read = functools.partial(pathlib.Path.read_text, pathlib.Path("/proc/self/status"))
    out = {}
    for key, text in client.run(read).items():
        line = next(ln for ln in text.splitlines() if ln.startswith(field + ":"))
        out[key] = int(line.split()[1]) * 1024
    return out


def _reset_peaks(client) -> None:
    """Reset each worker's peak RSS (VmHWM) to its current RSS (Linux: clear_refs 5)."""
    write = functools.partial(pathlib.Path.write_text, pathlib.Path("/proc/self/clear_refs"))
    client.run(functools.partial(write, "5"))


STREAMED = {"method": "minibatch", "batch_size": 250, "shuffle": False, "max_iter": 1}


@pytest.mark.skipif(
    not pathlib.Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc memory stats"
)
@pytest.mark.parametrize("times", [1.5, pytest.param(6.0, marks=pytest.mark.slow, id="6x")])
def test_out_of_core_fit_on_small_workers(small_workers, times):
    client, limit = small_workers
    rows = OOC_CHUNK * math.ceil(times * limit / OOC_CHUNK_BYTES)  # data = times the limit
    X, y = _lazy_problem(rows)
    data_bytes = X.nbytes + y.nbytes
    _reset_peaks(client)
    before = _status(client, "VmRSS")
    normal = gu.LinearRegression().fit(X, y)
    tracemalloc.start()
    stream = gu.LinearRegression(**STREAMED, tol=None, eta0=0.01).fit(X, y)
    _, client_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    after = _status(client, "VmHWM")
    assert after.keys() == before.keys()  # no worker was killed and restarted
    share = data_bytes / len(after)  # what each worker went through
    for key, peak in after.items():
        assert peak < limit < data_bytes / 1.4
        # A few chunks above the worker's baseline (~5 seen), whatever the data's size.
        assert peak - before[key] < 12 * OOC_CHUNK_BYTES < share / 2
    # The streamed fit held a few chunks in this process (the current one, the next one
    # loading, their transfer buffers) and, here, the LocalCluster scheduler's bookkeeping
    # (~0.1 MB per chunk): never the data.
    assert OOC_CHUNK * OOC_COLS * 8 <= client_peak < data_bytes / 8
    # The same data in memory (generated here, without the cluster): the same answers.
    import dask

    Xh, yh = dask.compute(X, y, scheduler="threads")
    ref = gu.LinearRegression().fit(Xh, yh)
    np.testing.assert_allclose(normal.coef_, ref.coef_, rtol=1e-9)
    np.testing.assert_allclose(normal.intercept_, ref.intercept_, rtol=1e-9)
    ref = gu.LinearRegression(**STREAMED, tol=None, eta0=0.01).fit(Xh, yh)
    np.testing.assert_allclose(stream.coef_, ref.coef_, rtol=1e-9)
    np.testing.assert_allclose(stream.loss_history_, ref.loss_history_, rtol=1e-8)
