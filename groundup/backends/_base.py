"""The interface every backend module implements, and its NumPy-flavoured defaults."""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from typing import Any, ClassVar, NoReturn

import numpy as np

from groundup._typing import Array, Device, Namespace


class Backend:
    """One array library on one device.

    Subclasses live one per module (``_numpy.py``, ``_torch.py``, ...) and import their
    library lazily, so that importing groundup never imports a framework the user has not
    asked for.

    Parameters
    ----------
    device : object
        The device in the library's own spelling, already checked by :meth:`parse_device`.
    """

    name: ClassVar[str] = ""
    extra: ClassVar[str | None] = None  # pip extra that installs the library
    module_name: ClassVar[str] = ""  # import name of the library
    array_class: ClassVar[str] = ""  # its array type, an attribute of the library's module
    namespace: ClassVar[str] = ""  # the module of its Array-API namespace
    #: Arrays live in host memory and are what scikit-learn validates (NumPy).
    on_host: ClassVar[bool] = False
    #: Arrays are lazy task graphs over row chunks (Dask): the estimators fit them through
    #: ``groundup.dask``, never through the in-memory path.
    lazy: ClassVar[bool] = False
    # Whether the library allocates through Python's and NumPy's allocators, which
    # ``tracemalloc`` sees (PyTorch, JAX and CuPy keep their own).
    host_memory_traced: ClassVar[bool] = False

    def __init__(self, device: Device) -> None:
        self.device = device

    # -- discovery -------------------------------------------------------------------
    @classmethod
    def installed(cls) -> bool:
        return importlib.util.find_spec(cls.module_name) is not None

    @classmethod
    def owns(cls, a: Any) -> bool:
        """Whether ``a`` is an array of this library (never imports it)."""
        lib = sys.modules.get(cls.module_name)
        return lib is not None and isinstance(a, getattr(lib, cls.array_class))

    @classmethod
    def devices(cls) -> list[str]:
        """The devices that work here, in groundup's spelling (``"cpu"``, ``"cuda:0"``)."""
        return ["cpu"]

    @classmethod
    def parse_device(cls, spec: Any) -> Device:
        """Turn a user's device spelling into this library's device object, or raise."""
        if spec is None or (isinstance(spec, str) and spec.lower() == "cpu"):
            return "cpu"
        cls._no_device(spec)

    @classmethod
    def _no_device(cls, spec: Any) -> NoReturn:
        msg = (
            f"device={spec!r} is not available on the {cls.name} backend; "
            f"available devices: {cls.devices()}."
        )
        raise ValueError(msg)

    @classmethod
    def device_of(cls, a: Array) -> Device:
        import array_api_compat

        return array_api_compat.device(a)

    # -- per-instance helpers ----------------------------------------------------------
    @property
    def xp(self) -> Namespace:
        """The library's Array-API namespace."""
        return sys.modules.get(self.namespace) or importlib.import_module(self.namespace)

    @property
    def device_name(self) -> str:
        return str(self.device)

    def has_float64(self) -> bool:
        return True

    def dtype(self, name: str) -> Any:
        """The library's float dtype for ``"float32"`` / ``"float64"``."""
        return getattr(self.xp, name)

    def asarray(self, a: Any, dtype: Any = None) -> Array:
        """Move host data (NumPy array, list, scalar) to this backend's device."""
        return self.xp.asarray(a, dtype=dtype, device=self.device)

    def to_numpy(self, a: Array) -> np.ndarray:
        return np.asarray(a)

    def to_floats(self, a: Array) -> list[float]:
        """A 1-d array as Python floats, in one transfer."""
        return self.to_numpy(a).astype(np.float64).tolist()

    def synchronize(self, *arrays: Array) -> None:
        """Wait for the device to finish queued work (a no-op on the CPU)."""
        return

    def chunk_rows(self, n_columns: int) -> int | None:
        """Rows per chunk for one-pass reductions over X (``None``: the whole array)."""
        return max(1024, (1 << 17) // max(n_columns, 1))

    def solve_triangular(
        self, a: Array, b: Array, *, lower: bool, unit_diagonal: bool = False
    ) -> Array | None:
        """A fast triangular solve if this library has one; ``None`` means "use the fallback".

        ``a`` has shape (..., n, n) (only its lower or upper triangle is read; with
        ``unit_diagonal`` not its diagonal either); ``b`` has shape (..., n), one right-hand
        side per system, or (..., n, k). The result has the shape of ``b``.
        """
        return None

    @staticmethod
    def _by_columns(solve: Any, a: Array, b: Array, **options: Any) -> Array:
        """``solve(a, b, **options)`` for a solver that wants columns: a vector right-hand
        side per system goes in as a column and comes back as a vector."""
        vector = b.ndim == a.ndim - 1
        x = solve(a, b[..., None] if vector else b, **options)
        return x[..., 0] if vector else x

    def quiet_floating_point(self) -> contextlib.AbstractContextManager[Any]:
        """Silence the library's own overflow/invalid warnings: groundup checks the results
        (non-finite input, divergence) and raises its own clear error instead."""
        return contextlib.nullcontext()

    def peak_memory(self) -> int | None:
        """Peak device memory in bytes since the last reset, where the library tracks it."""
        return None

    def reset_peak_memory(self) -> None:
        """Start a new peak-memory measurement, where the library tracks it."""
        return

    def version(self) -> str:
        return str(getattr(importlib.import_module(self.module_name), "__version__", "?"))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(device={self.device_name!r})"
