"""The losses the descent engine descends: what it asks of one (the ``Objective`` base class
and its capabilities) and the squared loss (:class:`SquaredLoss`); the log-losses are in
:mod:`groundup.kernels.logistic`.

:func:`groundup.kernels.descent.descend` *requires* what :class:`Objective` declares. It *may
use* a capability, a ``runtime_checkable`` protocol (an objective has it when it defines the
method): :class:`ExactSGDEpoch`, a whole epoch of one-sample updates at once (from
:class:`BlockedEpochObjective`, over the loss's blocked kernel: the squared loss everywhere,
the log-losses on host backends), and :class:`ExactL1SGDEpoch`, the same with the cumulative
L1 truncation. Either gives the plain update's iterates to rounding
(``tests/test_fastpaths.py`` checks both against :mod:`groundup.kernels.reference`).
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from array_api_compat import array_namespace
from array_api_compat import device as _device

from groundup._typing import Array, Namespace
from groundup.kernels.closed_form import Moments, moments
from groundup.kernels.schedules import EpochRows
from groundup.kernels.sgd_blocked import sgd_blocked_epoch
from groundup.kernels.sgd_l1_blocked import l1_sgd_epoch

if TYPE_CHECKING:
    from groundup.kernels.penalties import CumulativeL1
    from groundup.kernels.sgd_blocked import TriangularSolver

__all__ = ["BlockedEpochObjective", "ExactL1SGDEpoch", "ExactSGDEpoch", "Objective", "SquaredLoss"]


def largest(strength: float | Array | None, /) -> float:
    """The largest value of a penalty's strength: a float, or one per feature (an array)."""
    if strength is None or isinstance(strength, int | float):
        return float(strength or 0.0)
    xp = array_namespace(strength)
    return float(xp.max(strength))


class Objective(ABC):
    """What the descent engine requires of a loss, and the mini-batch steps every loss
    shares (from its residuals, ``batch_residuals``). ``W`` is (n_features, outputs·K),
    ``b`` (outputs·K,): K configurations as columns; losses and scores stay on the device.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,) or (n_samples, k)
    sample_weight : array of shape (n_samples,) or None
        Weights of the training rows (the estimators normalise them to mean 1 first).
    X_val, y_val : arrays, optional
        Validation rows for the early-stopping score.
    fit_intercept : bool
        Whether the parameters include the intercept (the Newton solver's and the moments').
    chunk_rows : int, optional
        Rows per chunk of a pass over X (``None``: all rows at once, as on a GPU).
    solve_triangular : callable, optional
        ``Backend.solve_triangular`` for an exact one-sample epoch (``None``: portable).
    speculative : bool
        A host backend: an epoch that reads a flag on the host per window may run.
    xp : namespace
    """

    #: Columns of ``W`` per configuration (1, or C for a softmax over C classes).
    outputs: int = 1
    #: Whether ``sgd_epoch`` (where the loss has one) reads values on the host.
    reads_host: bool = False
    #: Whether the curvature changes along the path (the log-loss's falls as the margins
    #: grow): one-sample ``tol="auto"`` runs then steer their rate (``descent.StopRule``).
    curvature_varies: bool = True

    def __init__(
        self,
        X: Array,
        y: Array,
        sample_weight: Array | None,
        /,
        *,
        X_val: Array | None = None,
        y_val: Array | None = None,
        fit_intercept: bool = True,
        chunk_rows: int | None = None,
        solve_triangular: TriangularSolver | None = None,
        speculative: bool = False,
        xp: Namespace,
    ) -> None:
        self.X, self.y, self.sw, self.xp = X, y, sample_weight, xp
        self.X_val, self.y_val = X_val, y_val
        self.fit_intercept, self.chunk_rows = fit_intercept, chunk_rows
        self.solve_triangular, self.speculative = solve_triangular, speculative
        self._ones: dict[int, Array] = {}

    @abstractmethod
    def batch_residuals(self, Xb: Array, yb: Array, W: Array, b: Array, /) -> Array:
        """``dloss/dZ`` of the batch's margins ``Z = Xb W + b``, unweighted, (m, columns)."""

    @abstractmethod
    def full_grad(self, W: Array, b: Array, /) -> tuple[Array, Array]:
        """Mean gradient of every column over the whole training set (a full-batch epoch)."""

    @abstractmethod
    def losses(self, W: Array, b: Array, /) -> Array:
        """Training loss (no penalty) of every configuration, (K,): the loss history."""

    @abstractmethod
    def zero_loss(self) -> Array:
        """The training loss of the zero model (the divergence check's reference)."""

    @abstractmethod
    def scores(self, W: Array, b: Array, /) -> Array:
        """Validation score of every configuration, (K,), higher is better (early stopping)."""

    @abstractmethod
    def keep(self, W: Array, b: Array, columns: Array, configs: Array, /) -> tuple[Array, Array]:
        """``W``, ``b`` restricted to ``columns`` (configurations ``configs`` go on), with
        whatever the objective keeps about them."""

    def loss(self, W: Array, b: Array, /) -> Array:
        """Training loss of one model, 0-d."""
        return self.losses(W, b)[0]

    def score(self, W: Array, b: Array, /) -> Array:
        """Validation score of one model, 0-d."""
        return self.scores(W, b)[0]

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
        /,
    ) -> tuple[Array, Array]:
        """The plain mini-batch update, ``W <- decay * W - eta * gw``, ``b <- b - eta * gb``
        (the step size scales the residuals once); ``decay`` is ``None`` without a penalty.
        ``eta``, ``decay``: floats for one configuration, one value per column otherwise."""
        R = self.batch_residuals(Xb, yb, W, b) * (eta / Xb.shape[0])
        if sb is not None:
            R = R * sb[:, None]
        W = (W if decay is None else decay * W) - Xb.T @ R
        if fit_intercept:
            b = b - self._column_sums(R)
        return W, b

    def batch_grad(
        self, Xb: Array, yb: Array, sb: Array | None, W: Array, b: Array, /
    ) -> tuple[Array, Array]:
        """The batch's mean gradient of every column (no penalty): (n_features, columns) and
        (columns,) (the stepper's updates)."""
        R = self.batch_residuals(Xb, yb, W, b)
        if sb is not None:
            R = R * sb[:, None]
        R = R / Xb.shape[0]
        return Xb.T @ R, self._column_sums(R)

    def _column_sums(self, R: Array) -> Array:
        """``sum(R, axis=0)`` as a product with cached ones: on NumPy a (256, 1) reduction
        costs about three times the product (``bench_linear.py::test_minibatch_vs_numpy_loop``:
        1.06 x as long with ``xp.sum``, 1.10 x with the ones made per batch)."""
        m = R.shape[0]
        ones = self._ones.get(m)
        if ones is None:
            ones = self._ones[m] = self.xp.ones((m,), dtype=R.dtype, device=_device(R))
        return ones @ R


class BlockedEpochObjective(Objective):
    """An :class:`Objective` with an exact one-sample epoch (:class:`ExactSGDEpoch`) by the
    loss's blocked kernel, ``epoch_kernel``, on the targets as it takes them."""

    epoch_kernel: Callable[..., tuple[Array, Array]]

    def epoch_targets(self) -> Array:
        """``y`` as the blocked kernel takes it."""
        return self.y

    def sgd_epoch(
        self,
        order: Array | None,
        W: Array,
        b: Array,
        etas: Array,
        alpha: float | Array,
        fit_intercept: bool,
    ) -> tuple[Array, Array]:
        """The exact iterates of ``n_samples`` one-sample updates of ``batch_grad`` in
        ``order`` (``None``: natural), ``etas`` the rate of each (on the device), ``alpha``
        the L2 strength (or one per feature, (n_features, 1)). The engine uses it while
        ``alpha * eta <= sgd_blocked.MAX_DECAY_STEP``."""
        rows = EpochRows(self.X, self.epoch_targets(), self.sw, order, self.xp)
        return self.epoch_kernel(
            rows, W, b, etas, alpha=alpha, fit_intercept=fit_intercept,
            solve_triangular=self.solve_triangular, xp=self.xp,
        )  # fmt: skip

    def windowed_l1_epoch(
        self,
        order: Array | None,
        W: Array,
        b: Array,
        etas: Array,
        alpha: float,
        fit_intercept: bool,
        l1: float,
        truncation: CumulativeL1,
        /,
        *,
        loss: str,
    ) -> tuple[Array, Array]:
        """:class:`ExactL1SGDEpoch`'s epoch (a loss's ``l1_sgd_epoch``): ``sgd_epoch`` with
        each update followed by the cumulative L1 truncation of strength ``l1`` (its state
        carried on in place), a window at a time (``sgd_l1_blocked.l1_sgd_epoch``)."""
        rows = EpochRows(self.X, self.y, self.sw, order, self.xp)
        W, b, truncation.q, truncation.u = l1_sgd_epoch(
            rows, W, b, etas, truncation.q, truncation.u, alpha=alpha, l1=l1,
            fit_intercept=fit_intercept, loss=loss, solve_triangular=self.solve_triangular,
            xp=self.xp,
        )  # fmt: skip
        return W, b


@runtime_checkable
class ExactSGDEpoch(Protocol):
    """May-use capability: one epoch of one-sample updates in one call (as
    :meth:`BlockedEpochObjective.sgd_epoch`). Where it ``reads_host`` (a check per window)
    the engine takes it only where ``speculative`` (a host backend)."""

    reads_host: bool
    speculative: bool
    sgd_epoch: Callable[
        [Array | None, Array, Array, Array, float | Array, bool], tuple[Array, Array]
    ]


@runtime_checkable
class ExactL1SGDEpoch(Protocol):
    """May-use capability: the one-sample epoch with the cumulative L1 truncation (as
    :meth:`BlockedEpochObjective.windowed_l1_epoch`), taken where ``speculative`` (a host
    backend: the window's check reads a flag)."""

    speculative: bool
    l1_sgd_epoch: Callable[
        [Array | None, Array, Array, Array, float, bool, float, CumulativeL1], tuple[Array, Array]
    ]


class SquaredLoss(BlockedEpochObjective):
    """½ · mean of squared residuals (weighted by ``sample_weight``, normalised to mean 1).

    With moments the full-batch gradient and the loss come from the sufficient statistics
    (one pass over X, then O(d²) per epoch, the same iterates as a pass over the data).

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,)
    sample_weight : array of shape (n_samples,) or None
    use_moments : bool
        Build the sufficient statistics for ``full_grad`` and ``loss``.
    stats : Moments, optional
        The rows' sufficient statistics where known without a pass (centred, the weights
        normalised to mean 1): read as with ``use_moments``, which then makes no pass.
    **common
        :class:`Objective`'s (``X_val``, ``y_val`` for the validation R²).
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
        self.stats: Moments | None = stats
        self.val_stats: Moments | None = None
        self._last: tuple[Array, Array, tuple[Array, Array, Array]] | None = None
        if use_moments:
            one = functools.partial(
                moments, fit_intercept=True, chunk_rows=self.chunk_rows, pilot=False, xp=self.xp
            )
            if stats is None:
                self.stats = one(X, y, sample_weight)
            if self.X_val is not None:
                self.val_stats = one(self.X_val, self.y_val, None)

    def batch_residuals(self, Xb: Array, yb: Array, W: Array, b: Array) -> Array:
        return Xb @ W + (b - yb[:, None])

    epoch_kernel = staticmethod(sgd_blocked_epoch)
    l1_sgd_epoch = functools.partialmethod(BlockedEpochObjective.windowed_l1_epoch, loss="squared")

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
        """``_stats_terms`` of the training moments, cached for the last ``(W, b)`` (the loss
        after an epoch, the gradient at the same point next; without, 1,000 epochs took 1.59 x
        as long: ``bench_linear.py::test_batch_1000_epochs_vs_normal``)."""
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
        """``W``, ``b`` restricted to ``columns``, and the cached moments' terms with them."""
        xp = self.xp
        W2, b2 = xp.take(W, columns, axis=1), xp.take(b, columns, axis=0)
        last = self._last
        if last is not None and last[0] is W and last[1] is b:
            sw, delta, mse = last[2]
            terms = (xp.take(sw, columns, axis=1), xp.take(delta, columns), xp.take(mse, columns))
            self._last = (W2, b2, terms)
        return W2, b2
