"""CuPy backend (CUDA GPUs)."""

from __future__ import annotations

from typing import Any

import numpy as np

from groundup._typing import Array, Device
from groundup.backends import Backend


def _cuda_ok() -> bool:
    try:
        import cupy

        return bool(cupy.cuda.is_available())
    except Exception:  # noqa: BLE001 - a broken CUDA install means "no device"
        return False


class CupyBackend(Backend):
    name = "cupy"
    module_name = "cupy"
    extra = "cupy"
    array_class = "ndarray"
    namespace = "array_api_compat.cupy"

    @classmethod
    def devices(cls) -> list[str]:
        if not _cuda_ok():
            return []
        import cupy

        return [f"cuda:{i}" for i in range(cupy.cuda.runtime.getDeviceCount())]

    @classmethod
    def parse_device(cls, spec: Any) -> Device:
        if not _cuda_ok():
            msg = (
                f"device={spec!r}: the cupy backend needs a CUDA GPU and none is available "
                "here; use backend='numpy' or backend='torch' on the CPU."
            )
            raise ValueError(msg)
        import cupy

        if spec is None:
            return cupy.cuda.Device()
        if isinstance(spec, cupy.cuda.Device):
            return spec
        if isinstance(spec, int):
            index = spec
        elif isinstance(spec, str) and spec.lower() in ("cuda", "gpu"):
            index = cupy.cuda.Device().id
        elif isinstance(spec, str) and spec.lower().startswith(("cuda:", "gpu:")):
            index = int(spec.split(":", 1)[1])
        else:
            index = -1
        if not 0 <= index < cupy.cuda.runtime.getDeviceCount():
            msg = (
                f"device={spec!r} is not available on the cupy backend; "
                f"available devices: {cls.devices()}."
            )
            raise ValueError(msg)
        return cupy.cuda.Device(index)

    @property
    def device_name(self) -> str:
        return f"cuda:{self.device.id}"

    def asarray(self, a: Any, dtype: Any = None) -> Array:
        import cupy

        with self.device:
            return cupy.asarray(a, dtype=dtype)

    def to_numpy(self, a: Array) -> np.ndarray:
        return a.get()

    def synchronize(self, *arrays: Array) -> None:
        self.device.synchronize()

    def chunk_rows(self, n_columns: int) -> int | None:
        return None

    def solve_triangular(
        self, a: Array, b: Array, *, lower: bool, unit_diagonal: bool = False
    ) -> Array | None:
        """``cupyx.scipy.linalg.solve_triangular`` for one system (``None`` for a batch)."""
        if a.ndim != 2:
            return None
        from cupyx.scipy.linalg import solve_triangular

        return solve_triangular(a, b, lower=lower, unit_diagonal=unit_diagonal)

    def peak_memory(self) -> int | None:
        import cupy

        return int(cupy.get_default_memory_pool().total_bytes())
