"""NumPy backend (CPU)."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from groundup._typing import Array, Namespace
from groundup.backends._base import Backend


class NumpyBackend(Backend):
    name = "numpy"
    module_name = "numpy"

    @classmethod
    def owns(cls, a: Any) -> bool:
        return isinstance(a, np.ndarray | np.generic)

    @property
    def xp(self) -> Namespace:
        import array_api_compat.numpy

        return array_api_compat.numpy

    def asarray(self, a: Any, dtype: Any = None) -> Array:
        return np.asarray(a, dtype=dtype)

    def to_numpy(self, a: Array) -> np.ndarray:
        return np.asarray(a)

    def quiet_floating_point(self) -> contextlib.AbstractContextManager[Any]:
        return np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore")

    def solve_triangular(
        self, a: Array, b: Array, *, lower: bool, unit_diagonal: bool = False
    ) -> Array | None:
        from scipy.linalg import solve_triangular

        return solve_triangular(a, b, lower=lower, unit_diagonal=unit_diagonal, check_finite=False)
