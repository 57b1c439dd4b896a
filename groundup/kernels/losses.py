"""The squared loss for the descent engine (an :class:`~groundup.kernels.objective.Objective`
with the exact one-sample epochs). Parameters are ``W`` of shape (n_features, K) and ``b`` of
shape (K,): one column per configuration (K = 1 for one fit).
"""

from __future__ import annotations

import functools
from typing import Any

from groundup._typing import Array
from groundup.kernels.closed_form import Moments, moments
from groundup.kernels.objective import BlockedEpochObjective
from groundup.kernels.sgd_blocked import sgd_blocked_epoch


class SquaredLoss(BlockedEpochObjective):
    """½ · mean of squared residuals (weighted by ``sample_weight``, normalised to mean 1).

    With ``use_moments=True`` the full-batch gradient and the loss come from the sufficient
    statistics ``Xc^T Xc``, ``Xc^T yc``, the means and ``yc^T yc`` (one pass over X, then
    O(d²) per epoch, the same iterates as the pass over the data).

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,)
    sample_weight : array of shape (n_samples,) or None
    use_moments : bool
        Build the sufficient statistics for ``full_grad`` and ``loss``.
    stats : Moments, optional
        The rows' sufficient statistics where known without a pass (centred, the weights
        normalised to mean 1): ``full_grad``, ``losses`` and the certificate read them, as
        with ``use_moments``, which then makes no pass for them.
    **common
        :class:`~groundup.kernels.objective.Objective`'s (``X_val``, ``y_val`` for the
        validation R²; ``chunk_rows`` for the one-pass moments; ``speculative``: offer
        ``sgd_epoch`` with the L1 truncation, whose windows read a flag on the host).
    """

    curvature_varies = False  # the Hessian is the Gram matrix everywhere

    name = "squared"

    def __init__(
        self,
        X: Array,
        y: Array,
        sample_weight: Array | None,
        /,
        *,
        use_moments: bool = False,
        stats: Moments | None = None,
        **common: Any,
    ) -> None:
        super().__init__(X, y, sample_weight, **common)
        X_val, y_val, chunk_rows, xp = self.X_val, self.y_val, self.chunk_rows, self.xp
        self.stats: Moments | None = stats
        self.val_stats: Moments | None = None
        self._last: tuple[Array, Array, tuple[Array, Array, Array]] | None = None
        if use_moments and stats is None:
            self.stats = moments(
                X, y, sample_weight, fit_intercept=True, chunk_rows=chunk_rows, pilot=False, xp=xp
            )
        if use_moments and X_val is not None:
            self.val_stats = moments(
                X_val, y_val, None, fit_intercept=True, chunk_rows=chunk_rows, pilot=False, xp=xp
            )

    # -- per batch -----------------------------------------------------------------
    def batch_residuals(self, Xb: Array, yb: Array, W: Array, b: Array) -> Array:
        return Xb @ W + (b - yb[:, None])

    # -- one-sample epoch: sgd_epoch (BlockedEpochObjective's) a block at a time -------
    epoch_kernel = staticmethod(sgd_blocked_epoch)

    # the exact one-sample epoch with the L1 truncation (ExactL1SGDEpoch), squared loss
    l1_sgd_epoch = functools.partialmethod(BlockedEpochObjective.windowed_l1_epoch, loss="squared")

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
            gw = sw - xp.reshape(st.sxy / st.n, (-1, 1)) + xp.reshape(st.mean_x, (-1, 1)) * delta
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
