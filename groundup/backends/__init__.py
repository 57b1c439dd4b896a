"""The only place in groundup that knows library names.

``resolve(name, device)`` turns a backend name and a device spelling into a :class:`Backend`;
``from_array(a)`` finds the backend and device an array lives on; ``available()`` reports what
is installed here and which devices work. Each library sits in its own small module and is
imported only when it is used.
"""

from __future__ import annotations

import importlib
from typing import Any

from groundup._typing import Array
from groundup.backends._base import Backend

__all__ = [
    "NAMES",
    "Backend",
    "available",
    "from_array",
    "is_host_input",
    "resolve",
    "to_numpy",
]

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


def _check_name(name: str) -> str:
    if not isinstance(name, str):
        msg = f"backend must be a string or None, got {type(name).__name__}; choose from {list(NAMES)}."
        raise TypeError(msg)
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in _REGISTRY:
        msg = f"Unknown backend {name!r}; choose one of {list(NAMES)} (or None: the input's own library)."
        raise ValueError(msg)
    return key


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
    key = _check_name(name)
    cls = _backend_class(key)
    if not cls.installed():
        extra = cls.extra or key
        msg = (
            f"backend={key!r} needs the {cls.module_name!r} package, which is not installed; "
            f'install it with: pip install "groundup[{extra}]"'
        )
        raise ImportError(msg)
    return cls(cls.parse_device(device))


def _owner(a: Any) -> type[Backend] | None:
    import sys

    # Only look at libraries that are already imported: an array of a library that was
    # never imported cannot exist.
    for key, (mod_name, cls_name) in _REGISTRY.items():
        if key not in sys.modules and key != "numpy":
            continue
        cls = getattr(importlib.import_module(mod_name), cls_name)
        if cls.owns(a):
            return cls
    return None


def is_host_input(a: Any) -> bool:
    """True for NumPy arrays, pandas objects, lists and scalars (validated by scikit-learn)."""
    return _owner(a) in (None, _backend_class("numpy"))


def from_array(a: Array) -> Backend:
    """The backend (library and device) that ``a`` lives on; NumPy for host input."""
    cls = _owner(a)
    if cls is None:
        cls = _backend_class("numpy")
        return cls(cls.parse_device(None))
    return cls(cls.device_of(a))


def to_numpy(a: Any) -> Any:
    """``a`` as a NumPy array on the host: host input (NumPy, pandas, list, scalar) through
    ``np.asarray``, an array of another library through its backend (device to host)."""
    import numpy as np

    if is_host_input(a):
        return np.asarray(a)
    return from_array(a).to_numpy(a)


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
        info: dict[str, Any] = {
            "installed": False,
            "version": None,
            "devices": [],
            "float64": None,
            "reason": "",
        }
        if not cls.installed():
            info["reason"] = f'not installed: pip install "groundup[{cls.extra or key}]"'
        else:
            try:
                info["devices"] = cls.devices()
                info["installed"] = True
                be = cls(cls.parse_device(info["devices"][0] if info["devices"] else None))
                info["version"] = be.version()
                info["float64"] = be.has_float64()
            except Exception as exc:  # noqa: BLE001 - report any broken install as a reason
                info["reason"] = f"{type(exc).__name__}: {exc}"
        out[key] = info
    return out
