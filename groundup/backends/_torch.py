"""PyTorch backend (CPU, CUDA, MPS)."""

from __future__ import annotations

from typing import Any

import numpy as np

from groundup._typing import Array, Device
from groundup.backends import Backend


class TorchBackend(Backend):
    name = "torch"
    module_name = "torch"
    extra = "torch"
    array_class = "Tensor"
    namespace = "array_api_compat.torch"

    @classmethod
    def devices(cls) -> list[str]:
        import torch

        out = ["cpu"]
        if torch.cuda.is_available():
            out += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            out.append("mps")
        return out

    @classmethod
    def parse_device(cls, spec: Any) -> Device:
        import torch

        if spec is None:
            return torch.device("cpu")
        if isinstance(spec, str) and spec.lower() == "gpu":
            spec = "cuda"
        try:
            dev = torch.device(spec)
        except (RuntimeError, TypeError):
            dev = None
        ok = dev is not None and (
            dev.type == "cpu"
            or (
                dev.type == "cuda"
                and torch.cuda.is_available()
                and (dev.index is None or dev.index < torch.cuda.device_count())
            )
            or (dev.type == "mps" and torch.backends.mps.is_available())
        )
        if not ok:
            msg = (
                f"device={spec!r} is not available on the torch backend; "
                f"available devices: {cls.devices()}. Use device='cpu' or leave device=None."
            )
            raise ValueError(msg)
        if dev.type == "cuda" and dev.index is None:
            dev = torch.device("cuda", torch.cuda.current_device())
        return dev

    def has_float64(self) -> bool:
        return self.device.type != "mps"

    def asarray(self, a: Any, dtype: Any = None) -> Array:
        import torch

        if isinstance(a, torch.Tensor):
            return a.to(device=self.device, dtype=dtype)
        if isinstance(a, np.ndarray) and not a.flags.writeable:
            a = np.array(a)  # torch warns on read-only buffers
        return torch.as_tensor(a, dtype=dtype, device=self.device)

    def to_numpy(self, a: Array) -> np.ndarray:
        return a.detach().cpu().numpy()

    def to_floats(self, a: Array) -> list[float]:
        return a.detach().tolist()  # one transfer (float32 too: Python floats are doubles)

    def synchronize(self, *arrays: Array) -> None:
        import torch

        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        elif self.device.type == "mps":
            torch.mps.synchronize()

    def chunk_rows(self, n_columns: int) -> int | None:
        return None if self.device.type != "cpu" else super().chunk_rows(n_columns)

    def solve_triangular(
        self, a: Array, b: Array, *, lower: bool, unit_diagonal: bool = False
    ) -> Array | None:
        """``torch.linalg.solve_triangular`` (batched)."""
        import torch

        solve = torch.linalg.solve_triangular
        return self._by_columns(solve, a, b, upper=not lower, unitriangular=unit_diagonal)

    def peak_memory(self) -> int | None:
        import torch

        if self.device.type == "cuda":
            return int(torch.cuda.max_memory_allocated(self.device))
        return None

    def reset_peak_memory(self) -> None:
        import torch

        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
