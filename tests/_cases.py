"""One backend x device x dtype case set, built from what is installed here (the
``case`` / ``case64`` fixtures of ``conftest.py``; test modules that parametrize by hand
import :data:`CASES` from here).

Test ids name the case (``numpy-cpu-float64``, ``torch-cuda-float32``); GPU cases are
collected everywhere and skip cleanly where there is no GPU.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest


def _installed(mod: str) -> bool:
    return importlib.util.find_spec(mod) is not None


def _gpu_reason(name: str) -> str | None:
    if name == "torch":
        import torch

        return None if torch.cuda.is_available() else "no CUDA device for torch"
    if name == "cupy":
        try:
            import cupy

            return None if cupy.cuda.is_available() else "no CUDA device for cupy"
        except Exception as exc:  # noqa: BLE001 - a broken CUDA install is "no GPU"
            return f"cupy unusable: {exc}"
    if name == "jax":
        import jax

        try:
            return None if jax.devices("gpu") else "no GPU for jax"
        except RuntimeError:
            return "no GPU for jax"
    return "no GPU"


def _x64_reason() -> str | None:
    import jax

    return None if jax.config.jax_enable_x64 else "JAX without JAX_ENABLE_X64 has no float64"


@dataclass(frozen=True)
class Case:
    """One backend, device and dtype."""

    name: str
    device: str
    dtype: str

    @property
    def id(self) -> str:
        return f"{self.name}-{self.device}-{self.dtype}"

    @property
    def backend(self) -> Any:
        from groundup import backends

        return backends.resolve(self.name, self.device)

    @property
    def xp(self) -> Any:
        return self.backend.xp

    def asarray(self, a: Any) -> Any:
        """NumPy data as this case's array (dtype applied to floating data)."""
        a = np.asarray(a)
        if a.dtype.kind == "f":
            a = a.astype(self.dtype)
        be = self.backend
        return be.asarray(a, dtype=be.dtype(self.dtype) if a.dtype.kind == "f" else None)

    def to_numpy(self, a: Any) -> np.ndarray:
        return self.backend.to_numpy(a)

    @property
    def rtol(self) -> float:
        """A relative tolerance for results that are exact up to rounding."""
        return 1e-10 if self.dtype == "float64" else 2e-4


def _cases() -> list[Any]:
    params = []
    combos = [
        ("numpy", "cpu"),
        ("array_api_strict", "cpu"),
        ("torch", "cpu"),
        ("torch", "cuda"),
        ("cupy", "cuda"),
        ("jax", "cpu"),
        ("jax", "cuda"),
    ]
    for name, device in combos:
        mod = "array_api_strict" if name == "array_api_strict" else name
        if not _installed(mod):
            continue
        for dtype in ("float64", "float32"):
            marks = []
            if device == "cuda":
                marks.append(pytest.mark.gpu)
                reason = _gpu_reason(name)
                if reason:
                    marks.append(pytest.mark.skip(reason=reason))
            if name == "jax" and dtype == "float64":
                reason = _x64_reason()
                if reason:
                    marks.append(pytest.mark.skip(reason=reason))
            case = Case(name, device, dtype)
            params.append(pytest.param(case, id=case.id, marks=marks))
    return params


CASES = _cases()
