"""NumPy backend (CPU)."""

from __future__ import annotations

import numpy as np
from scipy.linalg import blas, lapack, solve_triangular

from groundup._typing import Array
from groundup.backends import Backend


class NumpyBackend(Backend):
    name = "numpy"
    module_name = "numpy"
    array_class = "ndarray"  # NumPy scalars are host input all the same
    namespace = "array_api_compat.numpy"
    on_host = True
    host_memory_traced = True

    asarray = staticmethod(np.asarray)  # host data are already where they compute

    def solve_triangular(
        self, a: Array, b: Array, *, lower: bool, unit_diagonal: bool = False
    ) -> Array | None:
        """BLAS ``trsv`` / LAPACK ``trtrs`` directly for one float32/float64 system (SciPy's
        ``solve_triangular`` spends microseconds on its checks); SciPy's solver otherwise.
        SciPy's modules are imported with the module (scikit-learn has loaded them): the
        lookup here costs 0.5 µs of a 5 µs solve, no cache needed."""
        if a.ndim == 2 and b.ndim in (1, 2) and a.dtype == b.dtype and a.dtype.char in "fd":
            # A C-ordered matrix is its transpose in Fortran order: solve with that, transposed.
            at, trans = (a.T, 1) if a.flags.c_contiguous else (a, 0)
            low, diag = int(lower) ^ trans, int(unit_diagonal)  # transposed: the other triangle
            prefix = "s" if a.dtype.char == "f" else "d"
            if b.ndim == 1:
                return getattr(blas, prefix + "trsv")(at, b, lower=low, trans=trans, diag=diag)
            trtrs = getattr(lapack, prefix + "trtrs")
            x, info = trtrs(at, b, lower=low, trans=trans, unitdiag=diag)
            if info == 0:
                return x
        return self._by_columns(
            solve_triangular, a, b, lower=lower, unit_diagonal=unit_diagonal, check_finite=False
        )
