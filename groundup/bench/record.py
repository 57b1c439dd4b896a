"""What a benchmark ran with (versions, date, machine, settings, command line): the HTML
report prints it and ``groundup bench --out`` writes it to ``run.json``."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from importlib import metadata
from typing import Any

__all__ = ["PACKAGES", "cpu_model", "gpu_names", "run_record"]

# distribution name -> how the report names it
PACKAGES: dict[str, str] = {
    "groundup": "groundup", "numpy": "NumPy", "scikit-learn": "scikit-learn", "torch": "PyTorch",
    "jax": "JAX", "cupy-cuda12x": "CuPy", "array-api-strict": "array-api-strict",
    "pandas": "pandas", "scipy": "SciPy", "matplotlib": "matplotlib",
}  # fmt: skip


def _version(dist: str) -> str | None:
    if dist == "groundup":
        from groundup import __version__

        return __version__
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _output(cmd: list[str], timeout: float) -> str:
    """What ``cmd`` prints ("" where it cannot run)."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip()


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, ``sysctl`` on macOS, else
    :func:`platform.processor`)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if sys.platform == "darwin" and shutil.which("sysctl"):
        brand = _output(["sysctl", "-n", "machdep.cpu.brand_string"], timeout=5)
        if brand:
            return brand
    return platform.processor() or platform.machine() or "unknown"


def gpu_names() -> list[str]:
    """Names of the CUDA GPUs here: from PyTorch when it is already imported and sees them,
    else from ``nvidia-smi``; empty where there is none."""
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            if torch.cuda.is_available():
                return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        except (RuntimeError, AssertionError):
            pass
    smi = shutil.which("nvidia-smi")
    if not smi:
        return []
    out = _output([smi, "--query-gpu=name", "--format=csv,noheader"], timeout=10)
    return [ln.strip() for ln in out.splitlines() if ln.strip()]


def run_record(
    settings: Mapping[str, Any] | None = None, argv: Sequence[str] | None = None
) -> dict[str, Any]:
    """When, where and with what a benchmark ran (``settings``: its options and
    hyper-parameters; ``argv``: the command line, ``["groundup", "bench", ...]``).

    Returns
    -------
    dict
        ``date`` (ISO 8601, local time with its offset), ``versions`` (package -> version,
        ``None`` where it is not installed; Python too), ``machine`` (``cpu``, ``cores``,
        ``gpus``, ``os``), ``settings`` and ``command`` (``None`` where not given).
    """
    versions: dict[str, str | None] = {"Python": platform.python_version()}
    versions.update({name: _version(dist) for dist, name in PACKAGES.items()})
    return {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "versions": versions,
        "machine": {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "gpus": gpu_names(),
            "os": platform.platform(),
        },
        "settings": dict(settings) if settings is not None else None,
        "command": shlex.join(argv) if argv else None,
    }
