"""JAX backend (CPU, GPU). float64 needs ``JAX_ENABLE_X64``; groundup never flips it."""

from __future__ import annotations

from typing import Any

from groundup._typing import Array, Device
from groundup.backends import Backend


class JaxBackend(Backend):
    name = "jax"
    module_name = "jax"
    extra = "jax"
    array_class = "Array"
    namespace = "jax.numpy"

    @classmethod
    def devices(cls) -> list[str]:
        import jax

        out = ["cpu" if d.platform == "cpu" else f"cuda:{d.id}" for d in jax.devices()]
        return out if "cpu" in out else ["cpu", *out]

    @classmethod
    def parse_device(cls, spec: Any) -> Device:
        import jax

        if spec is None:
            return jax.devices()[0]
        if isinstance(spec, jax.Device):
            return spec
        if isinstance(spec, str):
            kind, _, index = spec.lower().partition(":")
            platform = {"cpu": "cpu", "cuda": "gpu", "gpu": "gpu"}.get(kind)
            if platform is not None:
                try:
                    found = jax.devices(platform)
                except RuntimeError:
                    found = []
                i = int(index) if index else 0
                if i < len(found):
                    return found[i]
        cls._no_device(spec)

    @classmethod
    def device_of(cls, a: Array) -> Device:
        return next(iter(a.devices()))

    @property
    def device_name(self) -> str:
        return "cpu" if self.device.platform == "cpu" else f"cuda:{self.device.id}"

    def has_float64(self) -> bool:
        import jax

        return bool(jax.config.jax_enable_x64)

    def asarray(self, a: Any, dtype: Any = None) -> Array:
        import jax

        return jax.device_put(self.xp.asarray(a, dtype=dtype), self.device)

    def synchronize(self, *arrays: Array) -> None:
        import jax

        if arrays:
            jax.block_until_ready(arrays)
        jax.effects_barrier()

    def chunk_rows(self, n_columns: int) -> int | None:
        return None

    def solve_triangular(
        self, a: Array, b: Array, *, lower: bool, unit_diagonal: bool = False
    ) -> Array | None:
        """``jax.scipy.linalg.solve_triangular`` (batched)."""
        from jax.scipy.linalg import solve_triangular

        return self._by_columns(solve_triangular, a, b, lower=lower, unit_diagonal=unit_diagonal)
