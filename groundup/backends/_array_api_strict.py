"""array-api-strict backend: the reference implementation of the standard, for testing."""

from __future__ import annotations

from typing import Any

import numpy as np

from groundup._typing import Array, Device
from groundup.backends import Backend


class ArrayApiStrictBackend(Backend):
    name = "array_api_strict"
    module_name = "array_api_strict"
    namespace = "array_api_strict"
    extra = "test"
    host_memory_traced = True

    @classmethod
    def owns(cls, a: Any) -> bool:
        return type(a).__module__.startswith("array_api_strict.")

    @classmethod
    def parse_device(cls, spec: Any) -> Device:
        import array_api_strict as xps

        if spec is None or (isinstance(spec, str) and spec.lower() in ("cpu", "cpu_device")):
            return xps.Device("CPU_DEVICE")
        if isinstance(spec, xps.Device):
            return spec
        # The pretend devices ("device1", "no_float64", ...), whose arrays refuse to be
        # combined as on real hardware: accepted by name (tests), not listed as working here.
        pretend = [str(d).split("'")[1] for d in xps.__array_namespace_info__().devices()]
        if isinstance(spec, str) and spec in pretend:
            return xps.Device(spec)
        return super().parse_device(spec)

    def has_float64(self) -> bool:
        info = self.xp.__array_namespace_info__()
        return "float64" in info.dtypes(device=self.device)

    @property
    def device_name(self) -> str:
        name = str(self.device).split("'")[1]
        return "cpu" if name == "CPU_DEVICE" else name

    def asarray(self, a: Any, dtype: Any = None) -> Array:
        xp = self.xp
        if not self.owns(a):  # host data: its NumPy dtype, named in the standard
            a = np.asarray(a)
            dtype = getattr(xp, a.dtype.name) if dtype is None else dtype
        return xp.asarray(a, dtype=dtype, device=self.device)

    def to_numpy(self, a: Array) -> np.ndarray:
        import array_api_strict as xps

        cpu = xps.Device("CPU_DEVICE")
        return np.asarray(xps.asarray(a, device=cpu) if a.device != cpu else a)
