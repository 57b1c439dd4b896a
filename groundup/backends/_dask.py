"""Dask backend: row-chunked Dask arrays (NumPy chunks; CuPy chunks where a GPU exists).

Dask is the distributed engine; groundup never schedules anything itself. This module is
the only one that imports Dask. Besides the :class:`~groundup.backends.Backend` interface it
offers the few operations ``groundup/dask/`` is built from, each a Dask graph over the row
chunks:

- :meth:`DaskBackend.tree_reduce` - a function on every row chunk, its results merged
  pairwise in a tree (the one-pass sufficient statistics, the refinement products);
- :meth:`DaskBackend.stream` - the row chunks, computed one at a time in a given order, the
  next one loading while the caller works on the current one (out-of-core SGD);
- :meth:`DaskBackend.map_rows` / :meth:`DaskBackend.zip_rows` - lazy row-wise maps
  (``predict``, the data for a tall-and-skinny QR);
- :meth:`DaskBackend.qr_r` - the R factor of a tall-and-skinny QR (``dask.array.linalg``).

A distributed ``Client``, when one is active, runs all of them on its cluster; otherwise
Dask's local threaded scheduler does.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from groundup._typing import Array, Device
from groundup.backends import Backend

# Bytes per row chunk when host data are moved into a Dask array (dask's own "auto" is
# 128 MiB; smaller chunks keep out-of-core SGD light and still amortise the overheads).
CHUNK_BYTES = 64 << 20
# How many partial results one task of a tree reduction merges.
SPLIT_EVERY = 8


def _cuda_ok() -> bool:
    from groundup.backends._cupy import _cuda_ok as cupy_ok

    return cupy_ok()


def _is_frame(a: Any) -> bool:
    dd = sys.modules.get("dask.dataframe")
    return dd is not None and isinstance(a, dd.DataFrame | dd.Series)


def _client() -> Any:
    """The active ``dask.distributed`` client, or ``None`` (Dask's local scheduler)."""
    if "distributed" not in sys.modules:
        return None
    from distributed import default_client

    try:
        return default_client()
    except ValueError:
        return None


class DaskBackend(Backend):
    name = "dask"
    module_name = "dask"
    namespace = "array_api_compat.dask.array"
    lazy = True
    extra = "dask"

    # -- discovery -------------------------------------------------------------------
    @classmethod
    def installed(cls) -> bool:
        import importlib.util

        try:
            return importlib.util.find_spec("dask.array") is not None
        except (ImportError, ValueError):  # a broken or blocked install is "not installed"
            return False

    @classmethod
    def owns(cls, a: Any) -> bool:
        da = sys.modules.get("dask.array")
        return (da is not None and isinstance(a, da.Array)) or _is_frame(a)

    @classmethod
    def devices(cls) -> list[str]:
        return ["cpu", "cuda"] if _cuda_ok() else ["cpu"]

    @classmethod
    def parse_device(cls, spec: Any) -> Device:
        if spec is None or (isinstance(spec, str) and spec.lower() == "cpu"):
            return "cpu"
        if isinstance(spec, str) and spec.lower().partition(":")[0] in ("cuda", "gpu"):
            if _cuda_ok():
                return "cuda"
            msg = (
                f"device={spec!r}: Dask arrays with CuPy chunks need a CUDA GPU and none is "
                "available here; use device='cpu' (NumPy chunks)."
            )
            raise ValueError(msg)
        return super().parse_device(spec)

    @classmethod
    def device_of(cls, a: Array) -> Device:
        meta = getattr(a, "_meta", None)
        return "cuda" if type(meta).__module__.startswith("cupy") else "cpu"

    # -- per-instance helpers ----------------------------------------------------------
    def asarray(self, a: Any, dtype: Any = None) -> Array:
        """A Dask array chunked by rows (whole rows per chunk) on this backend's device.

        Host data become ``dask.array.from_array`` with :meth:`chunk_rows` rows per chunk;
        Dask arrays and DataFrames are converted lazily (``to_dask_array(lengths=True)``).
        """
        import dask.array as da

        if _is_frame(a):
            a = a.to_dask_array(lengths=True)
        if not isinstance(a, da.Array):
            if not isinstance(a, np.ndarray):
                from groundup import backends

                src = backends.from_array(a)
                a = src.to_numpy(a) if src.name != "numpy" else a
            host = np.asarray(a, dtype=dtype)
            if host.ndim == 0:
                a = da.from_array(host)
            else:
                rows = self.chunk_rows(host.shape[1] if host.ndim == 2 else 1)
                a = da.from_array(host, chunks=(rows,) + host.shape[1:])
        if dtype is not None and a.dtype != np.dtype(dtype):
            a = a.astype(dtype)
        if self.device == "cuda" and self.device_of(a) != "cuda":
            import cupy

            a = a.map_blocks(cupy.asarray, dtype=a.dtype)
        elif self.device == "cpu" and self.device_of(a) == "cuda":
            a = a.map_blocks(lambda b: b.get(), dtype=a.dtype, meta=np.empty((0,) * a.ndim))
        return a

    def to_numpy(self, a: Array) -> np.ndarray:
        if _is_frame(a):
            return np.asarray(a.compute())
        out = a.compute() if hasattr(a, "compute") else a
        return out.get() if hasattr(out, "get") and not isinstance(out, np.ndarray) else out

    def chunk_rows(self, n_columns: int) -> int | None:
        """Rows per chunk when host data are moved into a Dask array (about 64 MiB)."""
        return max(1024, CHUNK_BYTES // (8 * max(n_columns, 1)))

    def quiet_floating_point(self) -> contextlib.AbstractContextManager[Any]:
        return np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore")

    def version(self) -> str:
        import dask

        return str(dask.__version__)

    # -- Dask-only operations (used by groundup/dask/) ---------------------------------
    @staticmethod
    def frame_columns(a: Any) -> list[Any] | None:
        """The column names of a Dask DataFrame (``None`` for arrays and Series)."""
        dd = sys.modules.get("dask.dataframe")
        return list(a.columns) if dd is not None and isinstance(a, dd.DataFrame) else None

    @staticmethod
    def as_rows(a: Any, *, lengths: bool = True) -> Array:
        """A Dask array from a Dask array, DataFrame or Series (frames: ``to_dask_array``)."""
        if _is_frame(a):
            return a.to_dask_array(lengths=True if lengths else None)
        return a

    @staticmethod
    def check_rows(a: Array, name: str, *, known: bool = True) -> None:
        """Raise unless ``a`` is chunked by whole rows (and, with ``known``, its row chunk
        sizes are known)."""
        if known and any(math.isnan(c) for c in a.chunks[0]):
            msg = (
                f"{name} has unknown chunk sizes (shape {a.shape}), as after boolean indexing "
                f"or DataFrame.values; call {name} = {name}.compute_chunk_sizes() first (or "
                "use ddf.to_dask_array(lengths=True) for a Dask DataFrame)."
            )
            raise ValueError(msg)
        if a.ndim == 2 and len(a.chunks[1]) > 1:
            msg = (
                f"{name} is chunked along its columns (chunks={a.chunks[1]} columns); groundup "
                f"needs whole rows in every chunk: use {name} = {name}.rechunk({{1: -1}})."
            )
            raise ValueError(msg)

    def rows_like(self, a: Any, like: Array, dtype: Any = None) -> Array:
        """``a`` (host data or a Dask array of the same length) chunked by ``like``'s rows."""
        import dask.array as da

        rows = like.chunks[0]
        if isinstance(a, da.Array):
            out = a if a.chunks[0] == rows else a.rechunk({0: rows})
            return out if dtype is None else out.astype(dtype)
        host = np.asarray(a, dtype=dtype)
        return self.asarray(da.from_array(host, chunks=(rows,) + host.shape[1:]))

    @staticmethod
    def row_chunks(a: Array) -> tuple[int, ...]:
        """The number of rows of every chunk, in order."""
        return tuple(int(c) for c in a.chunks[0])

    @staticmethod
    def _blocks(arrays: Sequence[Array | None]) -> list[list[Any]]:
        """Per array, its row blocks as ``Delayed`` objects (``None`` stays ``None``)."""
        nb = next(len(a.chunks[0]) for a in arrays if a is not None)
        return [[None] * nb if a is None else list(a.to_delayed().reshape(-1)) for a in arrays]

    def tree_reduce(
        self,
        fn: Callable[..., Any],
        merge: Callable[[Any, Any], Any],
        arrays: Sequence[Array | None],
        *,
        offsets: bool = False,
        split_every: int = SPLIT_EVERY,
    ) -> Any:
        """``fn`` on every row chunk of ``arrays`` (aligned; ``None`` entries pass through as
        ``None``), the results merged in order, ``split_every`` at a time, in a tree.

        One pass over the data; only the small partial results travel. With ``offsets``,
        ``fn`` gets the chunk's first row as its first argument. Returns the merged result,
        computed (on the active distributed client, if any).
        """
        import dask

        blocks = self._blocks(arrays)
        starts = np.concatenate([[0], np.cumsum(arrays[0].chunks[0])[:-1]]).astype(int)
        parts = []
        for i, row in enumerate(zip(*blocks, strict=True)):
            args = (int(starts[i]), *row) if offsets else row
            parts.append(dask.delayed(fn, pure=True)(*args))
        fold = dask.delayed(functools.reduce, pure=True)
        while len(parts) > 1:
            parts = [
                fold(merge, parts[i : i + split_every]) for i in range(0, len(parts), split_every)
            ]
        (out,) = dask.compute(parts[0])
        return out

    def stream(self, arrays: Sequence[Array | None], order: Sequence[int]) -> Iterator[tuple]:
        """Yield the row chunks of ``arrays`` (computed, in the chunks' own library) in
        ``order``, one at a time; the next chunk is computed while the caller works on the
        current one, so at most two chunks are in this process at once."""
        import dask

        client = _client()
        pool = None if client is not None else concurrent.futures.ThreadPoolExecutor(1)

        def submit(i: int) -> Any:
            # One block of each array, culled here to its own small graph: a client sends
            # (and keeps) only that, not the whole array's graph for every block.
            items = [a.blocks[(i,) + (0,) * (a.ndim - 1)] for a in arrays if a is not None]
            items = dask.optimize(*items)
            if client is not None:
                return client.compute(items)
            return pool.submit(dask.compute, *items)

        def result(job: Any) -> list[Any]:
            values = iter(client.gather(job) if client is not None else job.result())
            return [None if a is None else next(values) for a in arrays]

        order = [int(i) for i in order]
        job = submit(order[0]) if order else None
        try:
            for k in range(len(order)):
                current = result(job)
                job = submit(order[k + 1]) if k + 1 < len(order) else None
                yield tuple(current)
        finally:
            if job is not None and client is not None:
                client.cancel(job)
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    @staticmethod
    def map_rows(
        fn: Callable[..., Any], X: Array, *, dtype: Any, columns: int | None = None
    ) -> Array:
        """Lazy ``fn(block, first_row)`` over the row chunks of 2-D ``X``: one value per row,
        or with ``columns`` one row of that many values (``first_row`` is ``None`` where the
        chunk sizes are unknown)."""
        import dask.array as da

        def call(block: Any, block_info: dict | None = None) -> Any:
            first = None
            if block_info is not None and 0 in block_info:
                start = block_info[0]["array-location"][0][0]
                first = None if start is None or math.isnan(start) else int(start)
            return fn(block, first)

        if columns is None:
            meta = da.utils.meta_from_array(X, ndim=1, dtype=dtype)
            return da.map_blocks(call, X, drop_axis=1, dtype=dtype, meta=meta)
        meta = da.utils.meta_from_array(X, ndim=2, dtype=dtype)
        chunks = (X.chunks[0], (columns,))
        return da.map_blocks(call, X, chunks=chunks, dtype=dtype, meta=meta)

    @staticmethod
    def zip_rows(
        fn: Callable[..., Any],
        arrays: Sequence[Array | None],
        *,
        columns: int | None,
        dtype: Any,
    ) -> Array:
        """Lazy ``fn(*blocks)`` over aligned row chunks: ``columns`` values per row, or one
        (a 1-D result) with ``columns=None``."""
        import dask.array as da

        args: list[Any] = []
        for a in arrays:
            args += [None, None] if a is None else [a, "ik"[: a.ndim]]
        out_ind, new_axes = ("i", {}) if columns is None else ("ij", {"j": columns})
        meta = da.utils.meta_from_array(arrays[0], ndim=len(out_ind), dtype=dtype)
        return da.blockwise(
            fn, out_ind, *args, dtype=dtype, concatenate=True, new_axes=new_axes, meta=meta
        )

    @staticmethod
    def persist(*arrays: Array) -> tuple[Array, ...]:
        """Compute ``arrays`` once and keep them (in the cluster's memory with a distributed
        client, else in this process), still as Dask arrays."""
        import dask

        return dask.persist(*arrays)

    def qr_r(self, Z: Array) -> np.ndarray:
        """R of the tall-and-skinny QR of ``Z`` (Dask's TSQR, one pass), on the host."""
        import dask.array as da

        _, r = da.linalg.qr(Z.rechunk({1: -1}))
        return self.to_numpy(r)
