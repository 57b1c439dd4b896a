"""Dask backend: row-chunked Dask arrays (NumPy chunks; CuPy chunks where a GPU exists), and
the graphs over the row chunks that ``groundup/dask/`` is built from (run by the active
``dask.distributed`` client, else Dask's threaded scheduler). The only module importing Dask.
"""

from __future__ import annotations

import concurrent.futures
import functools
import importlib.util
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from groundup._typing import Array, Device
from groundup.backends import Backend
from groundup.backends._cupy import _cuda_ok

# Bytes per row chunk when host data are moved into a Dask array (dask's own "auto" is
# 128 MiB; smaller chunks keep out-of-core SGD light and still amortise the overheads).
CHUNK_BYTES = 64 << 20
# How many partial results one task of a tree reduction merges.
SPLIT_EVERY = 8


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

    @classmethod
    def installed(cls) -> bool:
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

    def asarray(self, a: Any, dtype: Any = None) -> Array:
        """A Dask array chunked by whole rows (:meth:`chunk_rows` per chunk for host data;
        DataFrames converted lazily) on this backend's device."""
        import dask.array as da

        if _is_frame(a):
            a = a.to_dask_array(lengths=True)
        if not isinstance(a, da.Array):
            from groundup import backends

            host = np.asarray(backends.to_numpy(a), dtype=dtype)
            rows = self.chunk_rows(host.shape[1] if host.ndim == 2 else 1)
            a = da.from_array(host, chunks=(rows,) + host.shape[1:] if host.ndim else ())
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

    @staticmethod
    def frame_columns(a: Any) -> list[Any] | None:
        """The column names of a Dask DataFrame (``None`` for arrays and Series)."""
        dd = sys.modules.get("dask.dataframe")
        return list(a.columns) if dd is not None and isinstance(a, dd.DataFrame) else None

    @staticmethod
    def as_rows(a: Any, *, lengths: bool = True) -> Array:
        """A Dask array from a Dask array, DataFrame or Series (frames: ``to_dask_array``)."""
        return a.to_dask_array(lengths=True if lengths else None) if _is_frame(a) else a

    @staticmethod
    def check_rows(a: Array, name: str, *, known: bool = True) -> None:
        """Raise unless ``a`` is chunked by whole rows (with ``known``: of known sizes)."""
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
        return tuple(int(c) for c in a.chunks[0])

    def tree_reduce(
        self,
        fn: Callable[..., Any],
        merge: Callable[[Any, Any], Any],
        arrays: Sequence[Array | None],
        *,
        offsets: bool = False,
        split_every: int = SPLIT_EVERY,
    ) -> Any:
        """``fn`` on every row chunk of the aligned ``arrays`` (``None`` passed as ``None``;
        with ``offsets`` the chunk's first row first), the results merged in order,
        ``split_every`` at a time, in a tree, computed: only the small results travel."""
        import dask

        nb = next(len(a.chunks[0]) for a in arrays if a is not None)
        blocks = [[None] * nb if a is None else a.to_delayed().reshape(-1) for a in arrays]
        starts = np.cumsum((0, *arrays[0].chunks[0][:-1]))
        parts = []
        for start, *row in zip(starts, *blocks, strict=True):
            args = (int(start), *row) if offsets else row
            parts.append(dask.delayed(fn, pure=True)(*args))
        fold = dask.delayed(functools.reduce, pure=True)
        while len(parts) > 1:
            parts = [
                fold(merge, parts[i : i + split_every]) for i in range(0, len(parts), split_every)
            ]
        return dask.compute(parts[0])[0]

    def stream(self, arrays: Sequence[Array | None], order: Sequence[int]) -> Iterator[tuple]:
        """Yield the row chunks of ``arrays`` (computed, in the chunks' own library) in
        ``order``; the next one is computed while the caller works on the current one, so at
        most two chunks are in this process at once."""
        import dask

        client = _client()
        pool = None if client is not None else concurrent.futures.ThreadPoolExecutor(1)

        def submit(i: int) -> Any:
            # One block of each array, culled to its own small graph: a client sends (and
            # keeps) only that, not the whole array's graph for every block.
            items = [a.blocks[(i,) + (0,) * (a.ndim - 1)] for a in arrays if a is not None]
            items = dask.optimize(*items)
            if client is not None:
                return client.compute(items)
            return pool.submit(dask.compute, *items)

        def result(job: Any) -> tuple:
            values = iter(client.gather(job) if client is not None else job.result())
            return tuple(None if a is None else next(values) for a in arrays)

        order = [int(i) for i in order]
        job = submit(order[0]) if order else None
        try:
            for k in range(len(order)):
                current = result(job)
                job = submit(order[k + 1]) if k + 1 < len(order) else None
                yield current
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
        or with ``columns`` that many (``first_row`` is ``None`` where sizes are unknown)."""
        import dask.array as da

        def call(block: Any, block_info: dict | None = None) -> Any:
            first = None
            if block_info is not None and 0 in block_info:
                start = block_info[0]["array-location"][0][0]
                first = None if start is None or math.isnan(start) else int(start)
            return fn(block, first)

        meta = da.utils.meta_from_array(X, ndim=1 if columns is None else 2, dtype=dtype)
        shape = {"drop_axis": 1} if columns is None else {"chunks": (X.chunks[0], (columns,))}
        return da.map_blocks(call, X, dtype=dtype, meta=meta, **shape)

    @staticmethod
    def zip_rows(
        fn: Callable[..., Any], arrays: Sequence[Array | None], *, columns: int | None, dtype: Any
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
        """``arrays`` computed once and kept (on the cluster, if any), still Dask arrays."""
        import dask

        return dask.persist(*arrays)

    def qr_r(self, Z: Array) -> np.ndarray:
        """R of the tall-and-skinny QR of ``Z`` (Dask's TSQR, one pass), on the host."""
        import dask.array as da

        return self.to_numpy(da.linalg.qr(Z.rechunk({1: -1}))[1])
