"""The Dask tests' schedulers: most tests run twice, on Dask's local threaded scheduler and
on a ``dask.distributed`` LocalCluster (two in-process workers). The whole folder is skipped
where Dask is not installed."""

from __future__ import annotations

import pytest

pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")


# -- schedulers -------------------------------------------------------------------------------
# dashboard_address=":0": a free port. With None the scheduler still serves its HTTP
# endpoints on 8787, and a second cluster (this file has two) warns that the port is taken.
@pytest.fixture(scope="module")
def cluster():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
    )
    yield cluster
    cluster.close()


@pytest.fixture(params=["threads", "distributed"])
def scheduler(request: pytest.FixtureRequest):
    """Dask's local threaded scheduler, or a Client on the two-worker LocalCluster."""
    if request.param == "threads":
        yield None
        return
    client = distributed.Client(request.getfixturevalue("cluster"))
    yield client
    client.close()
