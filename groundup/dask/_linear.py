"""Linear regression on Dask data (``groundup/_dask.py`` validates and dispatches).

The data stay in the cluster, chunked by rows; only small results travel:

- **One pass for the sufficient statistics.** Every row chunk gets the ``moments`` kernel
  (on its own NumPy or CuPy chunk); the per-chunk moments are merged pairwise in a tree with
  the parallel formula of Chan, Golub & LeVeque (:func:`merge_moments`). ``beta``, ``normal``
  and ``batch`` are then solved on the host (a d x d problem) with the kernels.
- **Refinement as one more pass.** The one step of iterative refinement of ``normal`` and
  ``beta`` needs ``Xcᵀ W r`` and ``rᵀ W r`` against the data: a second tree reduction
  (``centred_products`` on every chunk).
- **QR when ill conditioned.** Where the Cholesky factor shows the problem is ill conditioned
  (``solver="auto"``), or for ``solver="qr"`` / ``"svd"``, the centred, weighted data
  ``[Xc, yc]`` go through Dask's tall-and-skinny QR (one pass); the coefficients, and the
  minimum-norm solution by SVD of R where X is rank deficient, come from R on the host.
- **batch** runs its epochs on the host from the moments: the same iterates as the in-memory
  ``batch`` fit, O(d²) per epoch, however large X is.
- **sgd / minibatch** stream the row chunks through this process, one at a time (the next one
  loading meanwhile), each chunk a NumPy (or CuPy) array handed to the descent engine for its
  updates: the loop shared with logistic regression, ``groundup/_dask_stream.py``, whose
  docstring gives the visiting order (each epoch a permutation of the chunks, then of each
  chunk's rows; batches never cross chunk boundaries). With one chunk this is exactly the
  in-memory fit; with ``shuffle=False`` and chunks that are multiples of ``batch_size`` too.
  The loss of each epoch (``loss_history_``) and the early-stopping score come from the
  moments gathered in one pass before the first epoch, so an epoch costs one pass over the
  data.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from groundup import backends
from groundup._dask import (
    HOST,
    DaskData,
    _add_pairs,
    _check_weights,
    _keep_rows,
    _locate_nonfinite,
    _prepare,
)
from groundup._dask_stream import StreamPlan, held_rows, stream_descent
from groundup._params import GRADIENT
from groundup._typing import Array, Namespace
from groundup._validation import FitData
from groundup.backends import Backend
from groundup.exceptions import RankDeficientWarning
from groundup.kernels.closed_form import (
    Moments,
    Solution,
    _refine,
    centred_products,
    cholesky_solve,
    intercept_from_means,
    moments,
)
from groundup.kernels.descent import DescentResult
from groundup.kernels.losses import SquaredLoss

__all__ = ["fit", "merge_moments"]


# -- the parallel merge of moments ---------------------------------------------------------
def _empty_moments(d: int, dtype: Any) -> Moments:
    z = np.zeros((), dtype=dtype)
    return Moments(0.0, np.zeros((d,), dtype=dtype), z, np.zeros((d, d), dtype=dtype), z, z)


def merge_moments(a: Moments, b: Moments, /, *, xp: Namespace) -> Moments:
    """The moments of the union of two disjoint sets of rows (Chan, Golub & LeVeque).

    ``M = Ma + Mb + (na nb / n) δ δᵀ`` with ``δ`` the difference of the means, for the
    cross-products of X, of X and y, and of y; the means combine as weighted averages.
    Moments without an intercept (means zero) simply add. Empty sets (``n == 0``) are the
    identity.
    """
    if b.n == 0:
        return a
    if a.n == 0:
        return b
    n = a.n + b.n
    dx, dy = b.mean_x - a.mean_x, b.mean_y - a.mean_y
    f = a.n * b.n / n
    return Moments(
        n=n,
        mean_x=a.mean_x + dx * (b.n / n),
        mean_y=a.mean_y + dy * (b.n / n),
        sxx=a.sxx + b.sxx + f * (dx[:, None] * dx[None, :]),
        sxy=a.sxy + b.sxy + f * (dx * dy),
        syy=a.syy + b.syy + f * (dy * dy),
    )


def _scaled(m: Moments, c: float) -> Moments:
    """The moments with every weight multiplied by ``c`` (the means do not change)."""
    return Moments(m.n * c, m.mean_x, m.mean_y, m.sxx * c, m.sxy * c, m.syy * c)


# -- per-chunk tasks (run on the workers, on NumPy or CuPy chunks) -------------------------
@dataclass
class _Part:
    """What the one pass over the chunks gathers (merged in a tree)."""

    train: Moments
    val: Moments | None  # the early-stopping rows (unweighted), if any
    rows: int  # training rows
    sw_sum: float  # sum of all sample weights (nan/inf if any weight is)
    sw_min: float  # smallest sample weight (inf without weights)


def _host_moments(m: Moments, cb: Backend) -> Moments:
    h = cb.to_numpy
    return Moments(float(m.n), h(m.mean_x), h(m.mean_y), h(m.sxx), h(m.sxy), h(m.syy))


def _chunk_moments(X: Array, y: Array, sw: Array | None, fit_intercept: bool) -> Moments:
    cb = backends.from_array(X)
    xp, d = cb.xp, X.shape[1]
    dtype = cb.to_numpy(X[:0, :]).dtype
    if X.shape[0] == 0 or (sw is not None and float(xp.sum(sw)) == 0.0):
        return _empty_moments(d, dtype)
    m = moments(X, y, sw, fit_intercept=fit_intercept, chunk_rows=cb.chunk_rows(d + 1), xp=xp)
    return _host_moments(m, cb)


def _chunk_part(
    X: Array, y: Array, sw: Array | None, mask: Array | None, *, fit_intercept: bool
) -> _Part:
    """The moments of one row chunk (training rows; the validation rows apart)."""
    cb = backends.from_array(X)
    xp = cb.xp
    with cb.quiet_floating_point():
        sw_sum = float(xp.sum(sw)) if sw is not None else 0.0
        sw_min = float(xp.min(sw)) if sw is not None and sw.shape[0] else math.inf
        val = None
        if mask is not None:
            vx, vy = _keep_rows(mask, xp, X, y)
            val = _chunk_moments(vx, vy, None, True)
            X, y, sw = _keep_rows(~mask, xp, X, y, sw)
        train = _chunk_moments(X, y, sw, fit_intercept)
    return _Part(train, val, int(X.shape[0]), sw_sum, sw_min)


def _merge_parts(a: _Part, b: _Part) -> _Part:
    xp = HOST.xp
    val = None if a.val is None else merge_moments(a.val, b.val, xp=xp)
    return _Part(
        merge_moments(a.train, b.train, xp=xp),
        val,
        a.rows + b.rows,
        a.sw_sum + b.sw_sum,
        min(a.sw_min, b.sw_min),
    )


def _chunk_products(
    X: Array, y: Array, sw: Array | None, *, coef: np.ndarray, m: Moments
) -> tuple[np.ndarray, np.ndarray]:
    """``Xcᵀ W r`` and ``rᵀ W r`` of one chunk (the refinement step's sums)."""
    cb = backends.from_array(X)
    xp = cb.xp
    mc = Moments(m.n, *(cb.asarray(v) for v in (m.mean_x, m.mean_y, m.sxx, m.sxy, m.syy)))
    with cb.quiet_floating_point():
        g, sse = centred_products(
            X, y, cb.asarray(coef), mc, sw, chunk_rows=cb.chunk_rows(X.shape[1] + 1), xp=xp
        )
    return cb.to_numpy(g), cb.to_numpy(sse)


def _centred_block(
    X: Array, y: Array, sw: Array | None, *, mean_x: np.ndarray, mean_y: np.ndarray
) -> Array:
    """``[Xc, yc]`` of one chunk, rows scaled by the square roots of the weights."""
    cb = backends.from_array(X)
    xp = cb.xp
    z = xp.concat([X - cb.asarray(mean_x), xp.reshape(y - cb.asarray(mean_y), (-1, 1))], axis=1)
    return z if sw is None else z * xp.reshape(xp.sqrt(sw), (-1, 1))


# -- the one pass --------------------------------------------------------------------------
def _gather(data: DaskData, *, fit_intercept: bool, mask: Array | None = None) -> _Part:
    """The sufficient statistics in one tree-reduced pass; non-finite input and bad weights
    are found from them (a pass of their own only to say where)."""
    fn = functools.partial(_chunk_part, fit_intercept=fit_intercept)
    arrays = [data.X, data.y, data.sample_weight, mask]
    part = data.backend.tree_reduce(fn, _merge_parts, arrays)
    finite = part.train.finite(xp=HOST.xp) and (part.val is None or part.val.finite(xp=HOST.xp))
    if not finite or not math.isfinite(part.sw_sum):
        _raise_nonfinite(data)
    if data.sample_weight is not None:
        _check_weights(part.sw_min, part.sw_sum)
    return part


def _raise_nonfinite(data: DaskData) -> None:
    _locate_nonfinite(data.backend, X=data.X, y=data.y, sample_weight=data.sample_weight)
    msg = (
        "The sums of squares of X and y overflowed although every value is finite; scale "
        "the features (sklearn.preprocessing.StandardScaler) or use dtype='float64'."
    )
    raise ValueError(msg)


# -- closed forms --------------------------------------------------------------------------
def _products(data: DaskData, m: Moments, coef: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``Xcᵀ W r`` and ``rᵀ W r`` over all rows: the refinement's second tree reduction."""
    fn = functools.partial(_chunk_products, coef=coef, m=m)
    return data.backend.tree_reduce(fn, _add_pairs, [data.X, data.y, data.sample_weight])


def _eps(dtype: Any) -> float:
    return float(np.finfo(dtype).eps)


def _solve_beta(data: DaskData, m: Moments, ridge: float) -> Solution:
    """The covariance form, as ``kernels.closed_form.solve_beta``, refined by one more pass."""
    xp, d = HOST.xp, data.d
    denom = m.n - 1.0 if m.n > 1.0 else 1.0
    cov_xx = m.sxx / denom
    if ridge:
        cov_xx = cov_xx + (ridge / denom) * np.eye(d, dtype=cov_xx.dtype)
    diag = xp.linalg.diagonal(cov_xx)
    if not bool(xp.all(diag > 0)):
        return Solution(None, "beta", -1, d)
    scale = 1.0 / xp.sqrt(diag)
    a = cov_xx * (scale[:, None] * scale[None, :])
    _, cond = cholesky_solve(a, xp.zeros_like(m.sxy), xp=xp)
    if cond * _eps(data.dtype) > 1e-2:
        return Solution(None, "beta", -1, d)

    def solve(rhs: Array) -> Array:
        return xp.linalg.solve(a, (rhs * scale)[:, None])[:, 0] * scale

    coef = solve(m.sxy / denom)
    if not bool(xp.all(xp.isfinite(coef))):
        return Solution(None, "beta", -1, d)
    g, sse = _products(data, m, coef)
    coef, sse = _refine(coef, g, sse, m, ridge, lambda rhs: solve(rhs / denom), xp=xp)
    return Solution(coef, "beta", d, d, sse)


def _solve_normal(data: DaskData, m: Moments, solver: str, ridge: float) -> Solution:
    """``kernels.closed_form.solve_normal`` with the data passes as tree reductions:
    Cholesky refined once (a second pass); TSQR of the data when ill conditioned."""
    xp, d = HOST.xp, data.d
    sxx = m.sxx
    if ridge:
        sxx = sxx + ridge * np.eye(d, dtype=sxx.dtype)
        solver = "cholesky"
    if solver in ("auto", "cholesky"):
        coef, cond = cholesky_solve(sxx, m.sxy, xp=xp)
        eps = _eps(data.dtype)
        limit = 1.0 / math.sqrt(eps) if solver == "auto" else 1.0 / (100.0 * eps)
        if coef is not None and cond < limit:
            g, sse = _products(data, m, coef)
            coef, sse = _refine(
                coef, g, sse, m, ridge, lambda rhs: cholesky_solve(sxx, rhs, xp=xp)[0], xp=xp
            )
            return Solution(coef, "cholesky", d, d, sse)
        if solver == "cholesky":
            return Solution(None, "cholesky", -1, d)
    return _solve_tsqr(data, m, solver)


def _solve_tsqr(data: DaskData, m: Moments, solver: str) -> Solution:
    """Least squares from the R factor of ``[Xc, yc]`` (TSQR, one pass): ``Xc = Q R``,
    ``Qᵀ yc`` and the residual norm are R's last column. QR while R is of full rank, else
    the minimum-norm solution by SVD of R (X's singular values are R's), with the same
    cut-offs as the in-memory solvers (``eps · max(n, d)`` relative)."""
    xp, d = HOST.xp, data.d
    fn = functools.partial(_centred_block, mean_x=m.mean_x, mean_y=m.mean_y)
    Z = data.backend.zip_rows(
        fn, [data.X, data.y, data.sample_weight], columns=d + 1, dtype=data.dtype
    )
    ra = data.backend.qr_r(Z)
    r, qty = ra[:, :d], ra[:, d]
    tol = _eps(data.dtype) * max(data.n, d)
    if solver in ("auto", "qr") and r.shape[0] >= d:
        rd = xp.abs(xp.linalg.diagonal(r[:d, :]))
        if bool(xp.all(rd > tol * float(xp.max(rd)))):
            coef = xp.linalg.solve(r[:d, :], qty[:d, None])[:, 0]
            res = qty - r @ coef
            return Solution(coef, "qr", d, d, xp.sum(res * res))
    u, s, vt = xp.linalg.svd(r, full_matrices=False)
    keep = s > tol * float(xp.max(s))
    rank = int(xp.sum(xp.astype(keep, xp.int32)))
    s_inv = xp.where(keep, 1.0 / xp.where(keep, s, xp.ones_like(s)), xp.zeros_like(s))
    coef = ((qty @ u) * s_inv) @ vt
    res = qty - r @ coef
    return Solution(coef, "svd", rank, d, xp.sum(res * res))


def _fit_closed(est: Any, data: DaskData) -> None:
    m = _gather(data, fit_intercept=est.fit_intercept).train
    d = data.d
    ridge = m.n * est._penalty_alpha()
    if est._method == "beta":
        sol = _solve_beta(data, m, ridge)
        if sol.coef is None:
            why = (
                f"n_samples={data.n} <= n_features={d}"
                if data.n <= d
                else "a constant or collinear feature"
            )
            msg = (
                f"Cov(X) is singular ({why}): the covariance form has no unique solution; use "
                "method='normal' (minimum-norm solution) or drop the collinear features."
            )
            raise ValueError(msg)
    else:
        sol = _solve_normal(data, m, est.solver, ridge)
        if sol.coef is None:
            msg = (
                "XᵀX is singular or not numerically positive definite (X is rank deficient "
                "or too ill-conditioned for solver='cholesky'); use solver='auto' for the "
                "minimum-norm solution."
            )
            raise ValueError(msg)
        if sol.rank < d:
            warnings.warn(
                f"X is rank deficient (rank {sol.rank} of {d} features after centring): "
                "returning the minimum-norm least-squares solution, as scikit-learn does. "
                "Drop or combine collinear features for a unique solution.",
                RankDeficientWarning,
                stacklevel=4,
            )
    xp = HOST.xp
    est.solver_, est.rank_ = sol.solver, sol.rank
    est.coef_ = sol.coef
    est.intercept_ = (
        intercept_from_means(sol.coef, m, xp=xp)
        if est.fit_intercept
        else np.zeros((), dtype=data.dtype)
    )
    est.loss_history_ = np.asarray([max(float(sol.sse) / m.n, 0.0)])
    est.n_iter_, est.t_, est.converged_ = 1, 1, True
    if est.record_path:
        est.path_ = [(np.array(est.coef_), np.array(est.intercept_))]


# -- gradient methods ----------------------------------------------------------------------
def _stats_objective(data: DaskData, part: _Part) -> SquaredLoss:
    """The squared loss of the whole training set from its moments (loss, full gradient,
    early-stopping score), weights normalised to mean 1 as the in-memory fit does."""
    xp = HOST.xp
    obj = SquaredLoss(data.X, data.y, None, use_moments=False, xp=xp)
    train = part.train
    obj.stats = train if data.sample_weight is None else _scaled(train, part.rows / train.n)
    obj.val_stats = part.val
    return obj


def _start(est: Any, d: int, dtype: np.dtype, warm: bool) -> tuple[np.ndarray, np.ndarray]:
    if warm:
        W = np.reshape(np.asarray(est._host(est.coef_), dtype=dtype), (d, 1))
        b = np.reshape(np.asarray(est._host(est.intercept_), dtype=dtype), (1,))
        return W, b
    return np.zeros((d, 1), dtype=dtype), np.zeros((1,), dtype=dtype)


def _set_gradient(
    est: Any, res: DescentResult, history: np.ndarray, t0: int, max_iter: int, tol: Any
) -> None:
    host = backends.from_array(res.W).to_numpy
    est.coef_ = host(res.W)[:, 0]
    est.intercept_ = host(res.b)[0]
    est.loss_history_ = np.asarray(history, dtype=np.float64)
    est.n_iter_ = res.n_iter
    est.t_ = t0 + res.updates
    est.converged_ = res.converged
    est.solver_, est.rank_ = est._method, None
    if est.record_path:
        est.path_ = [(host(w)[:, 0], host(c)[0]) for w, c in res.path]
    est._warn_not_converged(res, max_iter, tol)


def _fit_batch(est: Any, data: DaskData, *, max_iter: int, tol: Any, warm: bool, t0: int) -> None:
    """Full-batch descent on the host from the moments (one pass over the data)."""
    rng = np.random.default_rng(est.random_state)
    part = _gather(data, fit_intercept=True, mask=held_rows(est, data, rng)[1])
    objective = _stats_objective(data, part)
    W, b = _start(est, data.d, data.dtype, warm)
    # In full-batch mode the engine reads only the number of rows from X.
    train = FitData(data.X, data.y, None, HOST)
    res, history = est._run_descent(
        objective, train, W, b, rng=rng, max_iter=max_iter, tol=tol, t_start=t0
    )
    _set_gradient(est, res, history, t0, max_iter, tol)


def _fit_stream(est: Any, data: DaskData, *, max_iter: int, tol: Any, warm: bool, t0: int) -> None:
    """sgd / minibatch: the chunks streamed through the engine (``_dask_stream``), the
    epoch's loss and early-stopping score from the moments of one pass before the first."""
    rng = np.random.default_rng(est.random_state)
    held, mask = held_rows(est, data, rng)
    part = _gather(data, fit_intercept=True, mask=mask)
    stats = _stats_objective(data, part)
    plan = StreamPlan(
        data=data,
        held=held,
        mask=mask,
        chunk_objective=_chunk_squared_loss,
        loss=lambda W, b: float(stats.loss(W, b)),
        zero_loss=float(stats.zero_loss()),
        score=lambda W, b: float(stats.score(W, b)),
        factor=None if data.sample_weight is None else part.rows / part.train.n,
    )
    W, b = _start(est, data.d, data.dtype, warm)
    res, history = stream_descent(est, plan, W, b, rng=rng, max_iter=max_iter, tol=tol, t0=t0)
    _set_gradient(est, res, history, t0, max_iter, tol)


def _chunk_squared_loss(X: Array, y: Array, sw: Array | None, cb: Backend) -> SquaredLoss:
    return SquaredLoss(X, y, sw, solve_triangular=cb.solve_triangular, xp=cb.xp)


# -- entry point ---------------------------------------------------------------------------
def fit(est: Any, X: Any, y: Any, sample_weight: Any = None, *, partial: bool = False) -> Any:
    """``LinearRegression.fit`` (or, with ``partial``, ``partial_fit``: one epoch from the
    current state) on Dask data. ``est._check_params()`` has run."""
    first = not partial or not hasattr(est, "coef_")
    data = _prepare(est, X, y, sample_weight, reset=first)
    if not partial:
        est._check_n_samples(data.n)
    est._remember_backend(data.backend)
    start = est._timer_start()
    old_hist = None if first else est.loss_history_
    with data.backend.quiet_floating_point():
        if est._method in GRADIENT:
            if partial:
                run = {"max_iter": 1, "tol": None, "warm": not first, "t0": 1 if first else est.t_}
            else:
                warm = est.warm_start and hasattr(est, "coef_")
                run = {"max_iter": est.max_iter, "tol": est.tol, "warm": warm, "t0": 1}
            fit_gradient = _fit_batch if est._method == "batch" else _fit_stream
            fit_gradient(est, data, **run)
        else:
            _fit_closed(est, data)
    if old_hist is not None:
        est.loss_history_ = np.concatenate([old_hist, est.loss_history_])
        est.n_iter_ = len(est.loss_history_)
    est._finish_timing(start, data.backend, est.coef_, est.intercept_)
    return est
