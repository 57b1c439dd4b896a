"""The backends layer: discovery, resolution, devices and transfers."""

from __future__ import annotations

import numpy as np
import pytest

from groundup import backends


def test_available_reports_every_backend():
    info = backends.available()
    assert set(info) == set(backends.NAMES)
    assert info["numpy"]["installed"]
    assert info["numpy"]["devices"] == ["cpu"]
    assert info["numpy"]["float64"] is True
    for name, entry in info.items():
        if not entry["installed"]:
            assert entry["reason"], name


def test_resolve_and_roundtrip(case):
    be = case.backend
    a = np.arange(6.0).reshape(3, 2).astype(case.dtype)
    dev = be.asarray(a)
    assert backends.from_array(dev).name == case.name
    np.testing.assert_array_equal(be.to_numpy(dev), a)
    be.synchronize(dev)


def test_aliases_and_gpu_spelling():
    assert backends.resolve("np").name == "numpy"
    pytest.importorskip("torch")
    be = backends.resolve("pytorch", "cpu")
    assert be.name == "torch"
    assert be.device_name == "cpu"


def test_host_inputs_are_numpy():
    assert backends.from_array([1.0, 2.0]).name == "numpy"
    assert backends.is_host_input([1.0])
    pd = pytest.importorskip("pandas")
    assert backends.is_host_input(pd.DataFrame({"a": [1.0]}))


def test_cupy_without_gpu_is_clear():
    pytest.importorskip("cupy")
    import cupy

    if cupy.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ValueError, match="needs a CUDA GPU"):
        backends.resolve("cupy")
    assert backends.available()["cupy"]["devices"] == []
