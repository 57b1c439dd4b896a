"""Linear regression's passes over Dask data: the moments in one tree-reduced pass (merged
with Chan, Golub & LeVeque's formula; ``beta``, ``normal`` and ``batch`` then run on the
host), the closed form's refinement products and tall-and-skinny QR, and the streamed fits'
loss and score from the moments."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from groundup import backends
from groundup._typing import Array
from groundup.backends import Backend
from groundup.dask._data import HOST, DaskData, add_pairs, check_weights, keep_rows, raise_nonfinite
from groundup.kernels.closed_form import (
    Moments,
    Solution,
    centred_products,
    finish_accurate,
    merge_moments,
    moments,
    qr_lstsq,
    residual_sums,
    svd_lstsq,
)
from groundup.kernels.curvature import gram_of_moments, largest_eigenvalue
from groundup.kernels.losses import SquaredLoss


@dataclass
class _Part:
    train: Moments
    val: Moments | None  # the early-stopping rows (unweighted), if any
    rows: int  # training rows
    sw_sum: float  # sum of all sample weights (nan/inf if any weight is)
    sw_min: float  # smallest sample weight (inf without weights)


def _chunk_moments(X: Array, y: Array, sw: Array | None, fit_intercept: bool) -> Moments:
    cb = backends.from_array(X)
    xp, d = cb.xp, X.shape[1]
    if X.shape[0] == 0 or (sw is not None and float(xp.sum(sw)) == 0.0):
        z = np.zeros((), dtype=X.dtype)
        zx, zxx = np.zeros((d,), dtype=z.dtype), np.zeros((d, d), dtype=z.dtype)
        return Moments(0.0, zx, z, zxx, z, z, centred=fit_intercept)
    m = moments(X, y, sw, fit_intercept=fit_intercept, chunk_rows=cb.chunk_rows(d + 1), xp=xp)
    h = cb.to_numpy
    return Moments(
        float(m.n), *map(h, (m.mean_x, m.mean_y, m.sxx, m.sxy, m.syy)), centred=m.centred
    )


def _chunk_part(
    X: Array, y: Array, sw: Array | None, mask: Array | None, *, fit_intercept: bool
) -> _Part:
    cb = backends.from_array(X)
    xp = cb.xp
    with cb.quiet_floating_point():
        sw_sum = float(xp.sum(sw)) if sw is not None else 0.0
        sw_min = float(xp.min(sw)) if sw is not None and sw.shape[0] else math.inf
        val = None
        if mask is not None:
            vx, vy = keep_rows(mask, xp, X, y)
            val = _chunk_moments(vx, vy, None, True)
            X, y, sw = keep_rows(~mask, xp, X, y, sw)
        train = _chunk_moments(X, y, sw, fit_intercept)
    return _Part(train, val, int(X.shape[0]), sw_sum, sw_min)


def _merge_parts(a: _Part, b: _Part) -> _Part:
    val = None if a.val is None else merge_moments(a.val, b.val)
    rows, sw_sum, sw_min = a.rows + b.rows, a.sw_sum + b.sw_sum, min(a.sw_min, b.sw_min)
    return _Part(merge_moments(a.train, b.train), val, rows, sw_sum, sw_min)


def _chunk_products(
    X: Array, y: Array, sw: Array | None, *, coef: np.ndarray, m: Moments
) -> tuple[np.ndarray, np.ndarray]:
    """``Xcᵀ W r`` and ``rᵀ W r`` of one chunk (the refinement step's sums)."""
    cb = backends.from_array(X)
    xp = cb.xp
    arrays = (cb.asarray(v) for v in (m.mean_x, m.mean_y, m.sxx, m.sxy, m.syy))
    mc = Moments(m.n, *arrays, centred=m.centred)
    with cb.quiet_floating_point():
        g, sse = centred_products(
            X, y, cb.asarray(coef), mc, sw, chunk_rows=cb.chunk_rows(X.shape[1] + 1), xp=xp
        )
    return cb.to_numpy(g), cb.to_numpy(sse)


def _chunk_residual_sums(
    X: Array, y: Array, sw: Array | None, *, coef: np.ndarray, offset: np.ndarray
) -> tuple[np.ndarray, ...]:
    cb = backends.from_array(X)
    with cb.quiet_floating_point():
        sums = residual_sums(X, y, cb.asarray(coef), cb.asarray(offset), sw, xp=cb.xp)
    return tuple(np.asarray(cb.to_numpy(cb.asarray(v))) for v in sums)


def _centred_block(
    X: Array, y: Array, sw: Array | None, *, mean_x: np.ndarray, mean_y: np.ndarray
) -> Array:
    """``[Xc, yc]`` of one chunk, rows scaled by the square roots of the weights."""
    cb = backends.from_array(X)
    xp = cb.xp
    z = xp.concat([X - cb.asarray(mean_x), xp.reshape(y - cb.asarray(mean_y), (-1, 1))], axis=1)
    return z if sw is None else z * xp.reshape(xp.sqrt(sw), (-1, 1))


def gather(data: DaskData, *, fit_intercept: bool, mask: Array | None = None) -> _Part:
    """The sufficient statistics in one pass; NaN / inf and bad weights are found from them
    (another pass only to say where)."""
    fn = functools.partial(_chunk_part, fit_intercept=fit_intercept)
    arrays = [data.X, data.y, data.sample_weight, mask]
    part = data.backend.tree_reduce(fn, _merge_parts, arrays)
    finite = part.train.finite(xp=HOST.xp) and (part.val is None or part.val.finite(xp=HOST.xp))
    if not finite or not math.isfinite(part.sw_sum):
        raise_nonfinite(data.backend, X=data.X, y=data.y, sample_weight=data.sample_weight)
        msg = (
            "The sums of squares of X and y overflowed although every value is finite; scale "
            "the features (sklearn.preprocessing.StandardScaler) or use dtype='float64'."
        )
        raise ValueError(msg)
    if data.sample_weight is not None:
        check_weights(part.sw_min, part.sw_sum)
    return part


class DaskPasses:
    """``kernels.closed_form.LeastSquaresPasses`` over Dask data: the refinement products one
    pass, QR and SVD from the R of a tall-and-skinny QR of the centred, weighted ``[Xc, yc]``
    (one pass, made once)."""

    def __init__(self, data: DaskData, m: Moments) -> None:
        self.data, self.m = data, m
        self._r: np.ndarray | None = None

    def products(self, coef: Array, /) -> tuple[np.ndarray, np.ndarray]:
        fn = functools.partial(_chunk_products, coef=coef, m=self.m)
        data = self.data
        return data.backend.tree_reduce(fn, add_pairs, [data.X, data.y, data.sample_weight])

    def accurate_products(self, coef: Array, /) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The same in twice the working precision, and ``coef``'s intercept."""
        m, data = self.m, self.data
        offset = m.mean_y - np.sum(m.mean_x * coef)
        fn = functools.partial(_chunk_residual_sums, coef=coef, offset=offset)
        sums = data.backend.tree_reduce(fn, add_pairs, [data.X, data.y, data.sample_weight])
        return finish_accurate(*sums, offset, m, xp=HOST.xp)

    def _tsqr(self) -> tuple[np.ndarray, np.ndarray]:
        """``R`` of ``Xc = Q R`` and ``Qᵀ yc`` (R's last column, of ``[Xc, yc]``)."""
        data, m = self.data, self.m
        if self._r is None:
            fn = functools.partial(_centred_block, mean_x=m.mean_x, mean_y=m.mean_y)
            arrays = [data.X, data.y, data.sample_weight]
            Z = data.backend.zip_rows(fn, arrays, columns=data.d + 1, dtype=data.dtype)
            self._r = data.backend.qr_r(Z)
        return self._r[:, : data.d], self._r[:, data.d]

    def qr(self, ridge: float = 0.0) -> Solution | None:
        data = self.data
        return qr_lstsq(*self._tsqr(), ridge=ridge, rows=data.n, dtype=data.dtype, xp=HOST.xp)

    def svd(self, ridge: float = 0.0, max_rank: int | None = None) -> Solution:
        r, qty, data = *self._tsqr(), self.data
        return svd_lstsq(
            r, qty, ridge=ridge, rows=data.n, max_rank=max_rank, dtype=data.dtype, xp=HOST.xp
        )


def stats_objective(data: DaskData, part: _Part) -> SquaredLoss:
    """The whole training set's squared loss from its moments, weights normalised to mean 1
    as in memory."""
    xp = HOST.xp
    obj = SquaredLoss(data.X, data.y, None, use_moments=False, xp=xp)
    m = part.train
    if data.sample_weight is not None:  # every weight times c: the means do not change
        c = part.rows / m.n
        m = Moments(m.n * c, m.mean_x, m.mean_y, m.sxx * c, m.sxy * c, m.syy * c, centred=m.centred)
    obj.stats = m
    obj.val_stats = part.val
    return obj


def training_gram(data: DaskData, mask: Array | None, batch: bool, fit_intercept: bool) -> float:
    """The largest eigenvalue of the training rows' Gram matrix of ``[X, 1]`` over their
    weight (one pass): ``eta0="auto"`` for logistic regression's batch fit."""
    part = gather(data, fit_intercept=True, mask=mask)  # (the Gram over the weight: any scale)
    G = gram_of_moments(part.train, fit_intercept=fit_intercept, xp=HOST.xp)
    return largest_eigenvalue(G, xp=HOST.xp)


def chunk_squared_loss(X: Array, y: Array, sw: Array | None, cb: Backend) -> SquaredLoss:
    return SquaredLoss(
        X, y, sw, solve_triangular=cb.solve_triangular, speculative=cb.on_host, xp=cb.xp
    )
