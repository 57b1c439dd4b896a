"""NumPy backend (CPU)."""

from __future__ import annotations

from typing import Any

import numpy as np

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
        ``solve_triangular`` spends microseconds on its checks); SciPy's solver otherwise."""
        if a.ndim == 2 and b.ndim in (1, 2) and a.dtype == b.dtype and a.dtype.char in "fd":
            # A C-ordered matrix is its transpose in Fortran order: solve with that, transposed.
            at, trans = (a.T, 1) if a.flags.c_contiguous else (a, 0)
            low, diag = int(lower) ^ trans, int(unit_diagonal)  # transposed: the other triangle
            if b.ndim == 1:
                return _blas_lapack("trsv", a.dtype)(at, b, lower=low, trans=trans, diag=diag)
            x, info = _blas_lapack("trtrs", a.dtype)(at, b, lower=low, trans=trans, unitdiag=diag)
            if info == 0:
                return x
        from scipy.linalg import solve_triangular

        return self._by_columns(
            solve_triangular, a, b, lower=lower, unit_diagonal=unit_diagonal, check_finite=False
        )


def _blas_lapack(name: str, dtype: np.dtype) -> Any:
    """SciPy's BLAS ``trsv`` or LAPACK ``trtrs`` for ``dtype`` (a cache of the lookup saved 2 %
    of ``bench_linear.py::test_sgd_epoch_vs_sklearn``'s epoch: none)."""
    from scipy.linalg import blas, lapack

    prefix = "s" if dtype == np.float32 else "d"
    return getattr(blas if name == "trsv" else lapack, prefix + name)
