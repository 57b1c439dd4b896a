"""The preconditioner's one pass (issue 19): the statistics from the rows' moments equal
StandardScaler's; the moments of the preconditioned rows, found from them without a pass,
equal those of the explicit copy; the copy and the largest row's curvature read on the way
equal ``(X - mean) / scale`` and ``curvature.largest_row`` of it."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.preprocessing import StandardScaler

from groundup._problem import InMemory
from groundup._validation import FitData
from groundup.kernels import curvature as cv
from groundup.kernels.closed_form import moments


def _data(weighted: bool, offset: float = 1e2) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Columns of unlike scales and offsets: a mean ``offset`` against a spread of 0.01
    (the moments' shifted second pass), a constant column (StandardScaler's scale 1)."""
    rng = np.random.default_rng(3)
    n = 2500
    X = rng.standard_normal((n, 5)) * np.array([1.0, 1e3, 1e-2, 5.0, 1.0])
    X += np.array([0.0, -7.0, offset, 2.0, 0.0])
    X[:, 4] = 3.25  # constant
    y = 40.0 + X[:, 0] - 0.002 * X[:, 1] + 0.3 * rng.standard_normal(n)
    sw = rng.uniform(0.2, 3.0, n) if weighted else None
    return X, y, sw


def _source(case, X, y, sw, chunk_rows):  # noqa: ANN001, ANN202
    be = case.backend
    data = FitData(case.asarray(X), case.asarray(y), None if sw is None else case.asarray(sw), be)
    src = InMemory(data)
    if chunk_rows is not None:
        src.chunk_rows = chunk_rows  # several chunks (the row loop), or one
    return src


def _rtol(case) -> float:  # noqa: ANN001
    return 1e-12 if case.dtype == "float64" else 2e-4


@pytest.mark.parametrize("center", [True, False], ids=["centred", "scaled-only"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_statistics_are_standard_scalers(case, center: bool, weighted: bool) -> None:  # noqa: ANN001
    # float64 resolves 1e6 +- 0.01; float32 1e2 +- 0.01 (nearer its eps the moments call
    # the column constant at the dtype's resolution)
    X, y, sw = _data(weighted, 1e6 if case.dtype == "float64" else 1e2)
    _, pre = _source(case, X, y, sw, 700).preconditioned(target=True, center=center)
    Xh, yh = X.astype(case.dtype).astype(np.float64), y.astype(case.dtype).astype(np.float64)
    swh = None if sw is None else sw.astype(case.dtype).astype(np.float64)
    sx = StandardScaler(with_mean=center).fit(Xh, sample_weight=swh)
    sy = StandardScaler(with_mean=center).fit(yh[:, None], sample_weight=swh)
    rtol = _rtol(case)
    np.testing.assert_allclose(pre.scale, sx.scale_, rtol=rtol * 10)
    assert pre.scale[4] == 1.0  # the constant column
    np.testing.assert_allclose(pre.y_scale, sy.scale_[0], rtol=rtol * 10)
    if center:
        np.testing.assert_allclose(
            pre.mean, sx.mean_, rtol=rtol, atol=rtol * float(sx.scale_.max())
        )
        np.testing.assert_allclose(pre.y_mean, sy.mean_[0], rtol=rtol)
    else:  # scaled only: a model without an intercept keeps having none
        assert not pre.mean.any()
        assert pre.y_mean == 0.0
    assert pre.finite
    assert pre.loss_factor == pre.y_scale**2


@pytest.mark.parametrize("chunk_rows", [700, None], ids=["chunks", "whole"])
@pytest.mark.parametrize("center", [True, False], ids=["centred", "scaled-only"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_preconditioned_moments_are_the_copys(
    case,  # noqa: ANN001
    center: bool,
    weighted: bool,
    chunk_rows: int | None,
) -> None:
    X, y, sw = _data(weighted, 1.0)  # a copy exact to rounding: |mean| / scale ~ 100
    src = _source(case, X, y, sw, chunk_rows)
    out, pre = src.preconditioned(target=True, center=center)
    rtol = _rtol(case)
    # the explicit copy, in float64 on the host, with the training problem's weights
    Xc = (X.astype(case.dtype).astype(np.float64) - pre.mean) / pre.scale
    yc = (y.astype(case.dtype).astype(np.float64) - pre.y_mean) / pre.y_scale
    w = None if sw is None else sw.astype(case.dtype).astype(np.float64)
    w = None if w is None else w * (len(w) / w.sum())
    np.testing.assert_allclose(case.to_numpy(out.data.X), Xc, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(case.to_numpy(out.data.y), yc, rtol=rtol, atol=rtol)
    m = moments(Xc, yc, w, pilot=False, xp=np)
    st = out.stats
    np.testing.assert_allclose(float(st.n), m.n, rtol=rtol)
    np.testing.assert_allclose(case.to_numpy(st.mean_x), m.mean_x, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(float(st.mean_y), float(m.mean_y), rtol=rtol, atol=rtol)
    np.testing.assert_allclose(case.to_numpy(st.sxx), m.sxx, rtol=rtol, atol=rtol * m.n)
    np.testing.assert_allclose(case.to_numpy(st.sxy), m.sxy, rtol=rtol, atol=rtol * m.n)
    np.testing.assert_allclose(float(st.syy), float(m.syy), rtol=rtol)
    top = cv.largest_row(Xc, w, fit_intercept=center, xp=np)
    np.testing.assert_allclose(out.row_curvature, top, rtol=rtol)


def test_moments_only_make_no_copy(case) -> None:  # noqa: ANN001
    """``rows=False`` (least squares' batch descent): the same statistics and moments, no
    copy of X (a broadcast zero of its shape)."""
    X, y, sw = _data(True)
    with_rows, pre = _source(case, X, y, sw, 700).preconditioned(target=True, center=True)
    without, pre2 = _source(case, X, y, sw, 700).preconditioned(
        target=True, center=True, rows=False
    )
    for a, b in zip(vars(pre2).values(), vars(pre).values(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert tuple(without.data.X.shape) == X.shape
    assert not np.any(case.to_numpy(without.data.X))
    assert without.row_curvature is None
    xp = case.xp
    assert bool(xp.all(without.stats.sxx == with_rows.stats.sxx))


def test_nonfinite_rows_are_left_as_given(case) -> None:  # noqa: ANN001
    """NaN in X: no preconditioner; the fit on the rows as given locates it."""
    X, y, _ = _data(False)
    X[7, 2] = np.nan
    src = _source(case, X, y, None, 700)
    out, pre = src.preconditioned(target=True, center=True)
    assert pre is None
    assert out is src
