"""Type aliases shared by groundup's modules."""

from __future__ import annotations

from typing import Any, TypeAlias

Array: TypeAlias = Any
"""An array of any Array-API library (NumPy, PyTorch, CuPy, JAX, array-api-strict, Dask)."""

Namespace: TypeAlias = Any
"""An Array-API namespace, as returned by ``array_api_compat.array_namespace``."""

Device: TypeAlias = Any
"""A device object in its library's own spelling (``torch.device("cuda")``, ``"cpu"``, ...)."""
