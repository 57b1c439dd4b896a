"""The squared loss for the descent engine. Parameters are ``W`` of shape (n_features, K) and
``b`` of shape (K,): one column per configuration (K = 1 for one fit).

:class:`SquaredLoss` is an :class:`~groundup.kernels.objective.Objective`: ``batch_grad``
(mean gradient over a batch of rows, no penalty), ``batch_step`` (the mini-batch update from
the residuals, :class:`ResidualStep`'s), ``full_grad`` (over the whole training set),
``losses`` (the training losses recorded in ``loss_history_``), ``zero_loss``, ``scores``
(the validation score, higher is better, for early stopping) and ``keep``. It has the
one-sample capability ``sgd_epoch`` (:class:`~groundup.kernels.objective.ExactSGDEpoch`: an
exact one-sample epoch, a block of samples at a time, :mod:`groundup.kernels.sgd_blocked`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from array_api_compat import device as _device

from groundup._typing import Array, Namespace
from groundup.kernels.closed_form import Moments, moments
from groundup.kernels.penalties import CumulativeL1
from groundup.kernels.rows import EpochRows
from groundup.kernels.sgd_blocked import TriangularSolver, sgd_blocked_epoch
from groundup.kernels.sgd_l1_blocked import l1_sgd_epoch


def _col(v: Array, *, xp: Namespace) -> Array:
    return xp.reshape(v, (-1, 1))


class ResidualStep(ABC):
    """The fused mini-batch update from a batch's residuals (``batch_step``) and the batch
    gradient, shared by :class:`SquaredLoss` and the log-losses. A subclass gives
    ``batch_residuals``, ``xp`` and a ``_ones`` dict."""

    xp: Namespace
    _ones: dict[int, Array]

    @abstractmethod
    def batch_residuals(self, Xb: Array, yb: Array, W: Array, b: Array) -> Array:
        """``dloss/dZ`` of the batch's margins ``Z = Xb W + b``, unweighted, (m, k)."""

    def batch_step(
        self,
        Xb: Array,
        yb: Array,
        sb: Array | None,
        W: Array,
        b: Array,
        eta: float | Array,
        decay: float | Array | None,
        fit_intercept: bool,
    ) -> tuple[Array, Array]:
        """``W <- decay * W - eta * gw``, ``b <- b - eta * gb`` with the batch's mean
        gradient (no penalty) folded in: the step size scales the residuals once.

        Parameters
        ----------
        Xb : array of shape (m, n_features)
        yb : array of shape (m,) or (m, n_targets)
        sb : array of shape (m,) or None
        W : array of shape (n_features, k)
        b : array of shape (k,)
        eta : float or array of shape (k,)
            The learning rate, or each column's.
        decay : float, array of shape (k,) or None
            ``max(0, 1 - eta * alpha)`` (per column with ``eta``'s); ``None``: no penalty.
        fit_intercept : bool

        Returns
        -------
        W, b
        """
        # R' = R * (eta / m) * sb from the unweighted residuals R; then W <- decay * W -
        # Xb^T R', b <- b - sum(R', axis=0)
        R = self.batch_residuals(Xb, yb, W, b) * (eta / Xb.shape[0])
        if sb is not None:
            R = R * sb[:, None]
        W = (W if decay is None else decay * W) - Xb.T @ R
        if fit_intercept:
            b = b - self._column_sums(R)
        return W, b

    def batch_grad(
        self, Xb: Array, yb: Array, sb: Array | None, W: Array, b: Array
    ) -> tuple[Array, Array]:
        """The batch's mean gradient of every column (no penalty), from the same residuals:
        (n_features, k) and (k,) (an update other than the fused one: the optimisers)."""
        R = self.batch_residuals(Xb, yb, W, b)
        if sb is not None:
            R = R * sb[:, None]
        R = R / Xb.shape[0]
        return Xb.T @ R, self._column_sums(R)

    def _column_sums(self, R: Array) -> Array:
        """``sum(R, axis=0)`` as a product with a vector of ones, cached per batch size: on
        NumPy a (256, 1) reduction costs about three times the matrix-vector product. What
        the cache buys (gate: ``benchmarks/bench_linear.py::test_minibatch_vs_numpy_loop``):
        ``method="minibatch"``, 100,000 × 32, 3 epochs, 0.356 s against 0.428 s with
        ``xp.sum`` (17 %)."""
        m = R.shape[0]
        ones = self._ones.get(m)
        if ones is None:
            ones = self._ones[m] = self.xp.ones((m,), dtype=R.dtype, device=_device(R))
        return ones @ R


class SquaredLoss(ResidualStep):
    """½ · mean of squared residuals (weighted by ``sample_weight``, normalised to mean 1).

    With ``use_moments=True`` the full-batch gradient and the loss come from the sufficient
    statistics ``Xc^T Xc``, ``Xc^T yc``, the means and ``yc^T yc`` (one pass over X, then
    O(d²) per epoch, the same iterates as the pass over the data).

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,)
    sample_weight : array of shape (n_samples,) or None
    X_val, y_val : arrays, optional
        Validation data for the early-stopping score (R²).
    use_moments : bool
        Build the sufficient statistics for ``full_grad`` and ``loss``.
    chunk_rows : int, optional
        Rows per chunk for the one-pass moments.
    solve_triangular : callable, optional
        The backend's fast triangular solve (``Backend.solve_triangular``) for
        ``sgd_epoch``; the portable solve is used where it returns ``None``.
    speculative : bool
        Offer ``sgd_epoch`` with the L1 truncation (its windows read a flag on the host
        each: for host backends).
    xp : namespace
    """

    name = "squared"
    outputs = 1  # columns of W per configuration
    reads_host = False  # sgd_epoch without the L1 truncation makes no host read

    def __init__(
        self,
        X: Array,
        y: Array,
        sample_weight: Array | None,
        /,
        *,
        X_val: Array | None = None,
        y_val: Array | None = None,
        use_moments: bool = False,
        fit_intercept: bool = True,
        chunk_rows: int | None = None,
        solve_triangular: TriangularSolver | None = None,
        speculative: bool = False,
        xp: Namespace,
    ) -> None:
        self.X, self.y, self.sw, self.xp = X, y, sample_weight, xp
        self.speculative = speculative
        self.X_val, self.y_val = X_val, y_val
        self.n = X.shape[0]
        self.solve_triangular = solve_triangular
        self.stats: Moments | None = None
        self.val_stats: Moments | None = None
        self._last: tuple[Array, Array, tuple[Array, Array, Array]] | None = None
        self._ones: dict[int, Array] = {}
        if use_moments:
            self.stats = moments(
                X, y, sample_weight, fit_intercept=True, chunk_rows=chunk_rows, pilot=False, xp=xp
            )
            if X_val is not None:
                self.val_stats = moments(
                    X_val,
                    y_val,
                    None,
                    fit_intercept=True,
                    chunk_rows=chunk_rows,
                    pilot=False,
                    xp=xp,
                )

    # -- per batch -----------------------------------------------------------------
    def batch_residuals(self, Xb: Array, yb: Array, W: Array, b: Array) -> Array:
        return Xb @ W + (b - yb[:, None])

    # -- one-sample epoch ----------------------------------------------------------
    def sgd_epoch(
        self,
        order: Array | None,
        W: Array,
        b: Array,
        etas: Array,
        alpha: float,
        fit_intercept: bool,
        l1: float = 0.0,
        truncation: CumulativeL1 | None = None,
    ) -> tuple[Array, Array]:
        """One epoch of one-sample SGD, the exact iterates of ``batch_grad`` on single rows
        (:class:`~groundup.kernels.objective.ExactSGDEpoch`): a block at a time
        (:func:`~groundup.kernels.sgd_blocked.sgd_blocked_epoch`), or with ``truncation`` a
        window at a time (:func:`~groundup.kernels.sgd_l1_blocked.l1_sgd_epoch`; offered
        where ``speculative``).

        Parameters
        ----------
        order : integer array of shape (n_samples,) or None
        W : array of shape (n_features, 1)
        b : array of shape (1,)
        etas : array of shape (n_samples,)
            Learning rate of each update, in visiting order.
        alpha : float
            L2 decay (``eta * alpha`` at most ``sgd_blocked.MAX_DECAY_STEP``).
        fit_intercept : bool
        l1 : float
            The L1 strength of the truncation.
        truncation : CumulativeL1, optional
            The truncation's state; its ``q`` and ``u`` are carried on in place.

        Returns
        -------
        W, b
        """
        rows = EpochRows(self.X, self.y, self.sw, order, self.xp)
        if truncation is None:
            return sgd_blocked_epoch(
                rows,
                W,
                b,
                etas,
                alpha=alpha,
                fit_intercept=fit_intercept,
                solve_triangular=self.solve_triangular,
                xp=self.xp,
            )
        W, b, truncation.q, truncation.u = l1_sgd_epoch(
            rows,
            W,
            b,
            etas,
            truncation.q,
            truncation.u,
            alpha=alpha,
            l1=l1,
            fit_intercept=fit_intercept,
            solve_triangular=self.solve_triangular,
            xp=self.xp,
        )
        return W, b

    # -- whole training set --------------------------------------------------------
    def _stats_terms(self, st: Moments, W: Array, b: Array) -> tuple[Array, Array, Array]:
        xp = self.xp
        n = st.n
        sxx, sxy = st.sxx / n, st.sxy / n
        delta = st.mean_x @ W + b - st.mean_y  # (k,) mean residual
        sw = sxx @ W
        # mean squared residual = w'Sw - 2 w's + var_y + delta^2  (cross terms vanish)
        mse = xp.sum(W * sw, axis=0) - 2.0 * (sxy @ W) + st.syy / n + delta**2
        return sw, delta, xp.clip(mse, min=0.0)

    def _train_terms(self, W: Array, b: Array) -> tuple[Array, Array, Array]:
        """``_stats_terms`` of the training moments, kept for the last ``(W, b)``: the engine
        asks for the loss after an epoch and for the gradient at the same point next."""
        last = self._last
        if last is not None and last[0] is W and last[1] is b:
            return last[2]
        terms = self._stats_terms(self.stats, W, b)
        self._last = (W, b, terms)
        return terms

    def full_grad(self, W: Array, b: Array) -> tuple[Array, Array]:
        xp = self.xp
        if self.stats is not None:
            st = self.stats
            sw, delta, _ = self._train_terms(W, b)
            gw = sw - _col(st.sxy / st.n, xp=xp) + _col(st.mean_x, xp=xp) * delta
            return gw, delta
        return self.batch_grad(self.X, self.y, self.sw, W, b)

    def _mses(self, X: Array, y: Array, sw: Array | None, W: Array, b: Array) -> Array:
        xp = self.xp
        r2 = (X @ W + (b - xp.reshape(y, (-1, 1)))) ** 2
        if sw is None:
            return xp.mean(r2, axis=0)
        return xp.sum(xp.reshape(sw, (-1, 1)) * r2, axis=0) / xp.sum(sw)

    def losses(self, W: Array, b: Array) -> Array:
        """Training mean squared error of every column (no penalty), (K,), on the device."""
        if self.stats is not None:
            return self._train_terms(W, b)[2]
        return self._mses(self.X, self.y, self.sw, W, b)

    def loss(self, W: Array, b: Array) -> Array:
        """Training mean squared error of one model (no penalty), 0-d."""
        return self.losses(W, b)[0]

    def zero_loss(self) -> Array:
        """Training mean squared error of the zero model (``W = 0``, ``b = 0``), 0-d."""
        xp = self.xp
        if self.stats is not None:
            st = self.stats
            return (st.syy + st.n * st.mean_y**2) / st.n
        if self.sw is None:
            return xp.mean(self.y**2)
        return xp.sum(self.sw * self.y**2) / xp.sum(self.sw)

    def scores(self, W: Array, b: Array) -> Array:
        """Validation R² of every column, (K,)."""
        xp = self.xp
        if self.val_stats is not None:
            st = self.val_stats
            return 1.0 - self._stats_terms(st, W, b)[2] / (st.syy / st.n)
        yv = self.y_val
        mse = self._mses(self.X_val, yv, None, W, b)
        return 1.0 - mse / xp.mean((yv - xp.mean(yv)) ** 2)

    def score(self, W: Array, b: Array) -> Array:
        """Validation R² of one model, 0-d."""
        return self.scores(W, b)[0]

    def keep(self, W: Array, b: Array, columns: Array, configs: Array) -> tuple[Array, Array]:
        """``W``, ``b`` restricted to ``columns`` (the configurations that go on); the
        moments' terms at ``(W, b)`` with them (the next epoch's gradient needs no new
        product)."""
        xp = self.xp
        W2, b2 = xp.take(W, columns, axis=1), xp.take(b, columns, axis=0)
        last = self._last
        if last is not None and last[0] is W and last[1] is b:
            sw, delta, mse = last[2]
            terms = (xp.take(sw, columns, axis=1), xp.take(delta, columns), xp.take(mse, columns))
            self._last = (W2, b2, terms)
        return W2, b2
