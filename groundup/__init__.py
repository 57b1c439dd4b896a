"""groundup: classic machine-learning solvers written once against the Array API standard.

>>> import groundup as gu
>>> model = gu.fit(X, y, method="minibatch", backend="torch", device="cuda")  # doctest: +SKIP

Every public name loads its module on first use (``gu.plots`` and ``gu.report`` are
:mod:`groundup.bench.plots` and :mod:`groundup.bench.report`), so that ``import groundup`` and
``groundup --help`` stay light.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = [
    "LinearRegression",
    "LogisticRegression",
    "__version__",
    "backends",
    "benchmark",
    "diagnose",
    "fit",
    "metrics",
    "sweep",
]

# name -> (module, attribute); attribute None: the module itself
_LAZY: dict[str, tuple[str, str | None]] = {
    "fit": ("groundup._api", "fit"),
    "LinearRegression": ("groundup.linear_model", "LinearRegression"),
    "LogisticRegression": ("groundup.linear_model", "LogisticRegression"),
    "backends": ("groundup.backends", None),
    "metrics": ("groundup.metrics", None),
    "diagnose": ("groundup.diagnostics.runner", "diagnose"),
    "sweep": ("groundup.sweeps.runner", "sweep"),
    "benchmark": ("groundup.bench.runner", "benchmark"),
    "plots": ("groundup.bench.plots", None),
    "report": ("groundup.bench.report", None),
    "datasets": ("groundup.datasets", None),
    "bench": ("groundup.bench", None),
    "sweeps": ("groundup.sweeps", None),
    "diagnostics": ("groundup.diagnostics", None),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = importlib.import_module(module)
        if attr is not None:
            value = getattr(value, attr)
        globals()[name] = value
        return value
    msg = f"module 'groundup' has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | set(_LAZY))
