"""Regression metrics against scikit-learn's, on every backend."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

import groundup as gu
from groundup.kernels import metrics as km

rng = np.random.default_rng(0)
Y_TRUE = rng.normal(size=101)
Y_PRED = Y_TRUE + rng.normal(scale=0.3, size=101)
W = rng.uniform(0.1, 2.0, size=101)


@pytest.mark.parametrize(
    ("name", "oracle"),
    [
        ("mse", skm.mean_squared_error),
        ("rmse", skm.root_mean_squared_error),
        ("mae", skm.mean_absolute_error),
        ("r2", skm.r2_score),
    ],
)
@pytest.mark.parametrize("weighted", [False, True])
def test_kernel_matches_sklearn(case, name, oracle, weighted):
    yt, yp = case.asarray(Y_TRUE), case.asarray(Y_PRED)
    sw = case.asarray(W) if weighted else None
    out = getattr(km, name)(yt, yp, sample_weight=sw, xp=case.xp)
    assert tuple(out.shape) == ()
    assert str(out.dtype).endswith(case.dtype)
    expect = oracle(Y_TRUE, Y_PRED, sample_weight=W if weighted else None)
    assert float(out) == pytest.approx(expect, rel=case.rtol * 10)


@pytest.mark.parametrize("n", [100, 101])
def test_median_ae(case, n):
    yt, yp = case.asarray(Y_TRUE[:n]), case.asarray(Y_PRED[:n])
    out = km.median_ae(yt, yp, xp=case.xp)
    expect = skm.median_absolute_error(Y_TRUE[:n], Y_PRED[:n])
    assert float(out) == pytest.approx(expect, rel=case.rtol * 10)


def test_r2_constant_target_follows_sklearn():
    y = np.full(5, 3.0)
    assert gu.metrics.r2(y, y) == skm.r2_score(y, y) == 1.0
    assert gu.metrics.r2(y, y + 1) == skm.r2_score(y, y + 1) == 0.0


def test_adjusted_r2_takes_p_from_X():
    X = rng.normal(size=(101, 4))
    r2 = skm.r2_score(Y_TRUE, Y_PRED)
    expect = 1 - (1 - r2) * (101 - 1) / (101 - 4 - 1)
    assert gu.metrics.adjusted_r2(Y_TRUE, Y_PRED, X=X) == pytest.approx(expect, rel=1e-12)
    assert gu.metrics.adjusted_r2(Y_TRUE, Y_PRED, n_features=4) == pytest.approx(expect, rel=1e-12)
    with pytest.raises(TypeError, match="number of features"):
        gu.metrics.adjusted_r2(Y_TRUE, Y_PRED)
    with pytest.raises(ValueError, match="n_samples > n_features"):
        gu.metrics.adjusted_r2(Y_TRUE[:5], Y_PRED[:5], n_features=4)


@pytest.mark.parametrize("name", ["mse", "rmse", "mae", "median_ae", "r2"])
def test_public_metric_on_device_input(case, name):
    out = getattr(gu.metrics, name)(case.asarray(Y_TRUE), case.asarray(Y_PRED))
    assert isinstance(out, float)
    sk = {
        "mse": skm.mean_squared_error,
        "rmse": skm.root_mean_squared_error,
        "mae": skm.mean_absolute_error,
        "median_ae": skm.median_absolute_error,
        "r2": skm.r2_score,
    }[name]
    assert out == pytest.approx(sk(Y_TRUE, Y_PRED), rel=case.rtol * 10)


def test_metric_shape_mismatch():
    with pytest.raises(ValueError, match="different shapes"):
        gu.metrics.mse(Y_TRUE, Y_PRED[:-1])
