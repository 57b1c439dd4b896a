"""The only place in groundup that knows library names: :class:`Backend`, the interface every
library implements (NumPy-flavoured defaults; one small module per library, imported only when
used), and ``resolve``, ``from_array``, ``move`` and ``available`` over them.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import sys
from typing import Any, ClassVar, NoReturn

import numpy as np

from groundup._typing import Array, Device, Namespace

__all__ = [
    "NAMES",
    "Backend",
    "available",
    "from_array",
    "is_host_input",
    "move",
    "resolve",
    "to_numpy",
]


class Backend:
    """One array library on one device (subclasses import their library lazily).

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
    on_host: ClassVar[bool] = False  # host arrays that scikit-learn validates (NumPy)
    lazy: ClassVar[bool] = False  # lazy graphs over row chunks (Dask): fitted by groundup.dask
    host_memory_traced: ClassVar[bool] = False  # allocates where tracemalloc sees it

    def __init__(self, device: Device) -> None:
        self.device = device
        self.xp: Namespace = importlib.import_module(self.namespace)

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

    def chunk_rows(self, n_columns: int) -> int | None:
        """Rows per chunk for one-pass reductions over X (``None``: the whole array)."""
        return max(1024, (1 << 17) // max(n_columns, 1))

    def solve_triangular(
        self, a: Array, b: Array, *, lower: bool, unit_diagonal: bool = False
    ) -> Array | None:
        """A fast triangular solve of ``a`` (..., n, n) for ``b`` (..., n) or (..., n, k), in
        ``b``'s shape, where this library has one; ``None`` means "use the fallback"."""
        return None

    @staticmethod
    def _by_columns(solve: Any, a: Array, b: Array, **options: Any) -> Array:
        """``solve(a, b, **options)`` for a solver that wants columns as right-hand sides."""
        vector = b.ndim == a.ndim - 1
        x = solve(a, b[..., None] if vector else b, **options)
        return x[..., 0] if vector else x

    def quiet_floating_point(self) -> contextlib.AbstractContextManager[Any]:
        """Silence NumPy's overflow/invalid warnings (groundup checks the results): NumPy
        computes for the NumPy, Dask and array_api_strict backends, and on the host for all."""
        return np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore")

    def peak_memory(self) -> int | None:
        """Peak device memory in bytes since the last reset, where the library tracks it."""
        return None

    def reset_peak_memory(self) -> None:
        """Start a new peak-memory measurement, where the library tracks it."""

    def version(self) -> str:
        return str(getattr(importlib.import_module(self.module_name), "__version__", "?"))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(device={self.device_name!r})"


_REGISTRY: dict[str, tuple[str, str]] = {
    "numpy": ("groundup.backends._numpy", "NumpyBackend"),
    "torch": ("groundup.backends._torch", "TorchBackend"),
    "cupy": ("groundup.backends._cupy", "CupyBackend"),
    "jax": ("groundup.backends._jax", "JaxBackend"),
    "array_api_strict": ("groundup.backends._array_api_strict", "ArrayApiStrictBackend"),
    "dask": ("groundup.backends._dask", "DaskBackend"),
}
NAMES: tuple[str, ...] = tuple(_REGISTRY)
_ALIASES = {"np": "numpy", "pytorch": "torch", "cp": "cupy", "strict": "array_api_strict"}


def _backend_class(name: str) -> type[Backend]:
    mod_name, cls_name = _REGISTRY[name]
    return getattr(importlib.import_module(mod_name), cls_name)


def resolve(name: str, device: Any = None) -> Backend:
    """Return the backend ``name`` on ``device``.

    Parameters
    ----------
    name : str
        One of ``"numpy"``, ``"torch"``, ``"cupy"``, ``"jax"``, ``"array_api_strict"``,
        ``"dask"``.
    device : str or library device, optional
        ``"cpu"``, ``"cuda"`` / ``"gpu"`` (``"cuda:1"``), ``"mps"``, or the library's own
        device object. ``None`` takes the library's default device.

    Raises
    ------
    ValueError
        Unknown backend, or a device that is not there.
    ImportError
        The library is not installed (the message names the pip extra).
    """
    if not isinstance(name, str):
        msg = f"backend must be a string or None, got {type(name).__name__}; choose from {list(NAMES)}."
        raise TypeError(msg)
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in _REGISTRY:
        msg = f"Unknown backend {name!r}; choose one of {list(NAMES)} (or None: the input's own library)."
        raise ValueError(msg)
    cls = _backend_class(key)
    if not cls.installed():
        msg = (
            f"backend={key!r} needs the {cls.module_name!r} package, which is not installed; "
            f'install it with: pip install "groundup[{cls.extra or key}]"'
        )
        raise ImportError(msg)
    return cls(cls.parse_device(device))


def from_array(a: Array) -> Backend:
    """The backend (library and device) that ``a`` lives on; NumPy for host input."""
    for key in NAMES:  # only libraries already imported can own an array
        if key in sys.modules or key == "numpy":
            cls = _backend_class(key)
            if cls.owns(a):
                return cls(cls.device_of(a))
    return _backend_class("numpy")("cpu")


def is_host_input(a: Any) -> bool:
    """True for NumPy arrays, pandas objects, lists and scalars (validated by scikit-learn)."""
    return from_array(a).on_host


def to_numpy(a: Any) -> Any:
    """``a`` (host input, or any library's array) as a NumPy array on the host."""
    be = from_array(a)
    return np.asarray(a) if be.on_host else be.to_numpy(a)


def move(a: Any, to: Backend) -> Array:
    """``a`` (host input or any library's array) as an array of ``to``: directly within one
    library, through the host between libraries."""
    src = from_array(a)
    if src.on_host or src.name != to.name:
        return to.asarray(src.to_numpy(a))
    return a if same_place(src, to) else to.asarray(a)


def same_place(a: Backend, b: Backend) -> bool:
    """Whether two backends are the same library on the same device."""
    return a.name == b.name and a.device_name == b.device_name


def available() -> dict[str, dict[str, Any]]:
    """What is installed here and which devices work.

    Returns
    -------
    dict
        ``{name: {"installed": bool, "version": str | None, "devices": [str, ...],
        "float64": bool | None, "reason": str}}`` for every backend groundup knows.
    """
    out: dict[str, dict[str, Any]] = {}
    for key in NAMES:
        cls = _backend_class(key)
        info = out[key] = dict(installed=False, version=None, devices=[], float64=None, reason="")
        if not cls.installed():
            info["reason"] = f'not installed: pip install "groundup[{cls.extra or key}]"'
            continue
        try:
            info["devices"] = cls.devices()
            info["installed"] = True
            be = cls(cls.parse_device(info["devices"][0] if info["devices"] else None))
            info["version"] = be.version()
            info["float64"] = be.has_float64()
        except Exception as exc:  # noqa: BLE001 - report any broken install as a reason
            info["reason"] = f"{type(exc).__name__}: {exc}"
    return out
