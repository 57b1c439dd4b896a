"""The only place in groundup that knows library names.

``resolve(name, device)`` turns a backend name and a device spelling into a :class:`Backend`;
``from_array(a)`` finds the backend and device an array lives on; ``move(a, backend)`` brings
an array of any library there; ``available()`` reports what is installed here and which
devices work. Each library sits in its own small module and is imported only when it is used.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import numpy as np

from groundup._typing import Array
from groundup.backends._base import Backend

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


def _owner(a: Any) -> type[Backend] | None:
    # Only libraries already imported: an array of a library never imported cannot exist.
    for key in NAMES:
        if key in sys.modules or key == "numpy":
            cls = _backend_class(key)
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
    return np.asarray(a) if is_host_input(a) else from_array(a).to_numpy(a)


def move(a: Any, to: Backend) -> Array:
    """``a`` (host input or an array of any library and device) as an array of ``to``: as
    it is where it lives there already, moved directly within one library, through the
    host between libraries."""
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
