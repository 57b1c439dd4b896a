"""What the gradient engines ask of a loss: the ``Objective`` protocols.

:func:`groundup.kernels.descent.descend` *requires* the five methods of :class:`Objective`.
It *may use* two more, each a capability of its own, named by a runtime-checkable protocol
(the engine asks ``isinstance(objective, FusedStep)``; an objective has the capability when
it defines the method, and lacks it when it does not):

- :class:`FusedStep`: ``batch_step``, the mini-batch update with the gradient folded in (the
  step size scales the residuals once, instead of scaling both gradients; the sweep engine
  requires it, with a rate per column);
- :class:`ExactSGDEpoch`: ``sgd_epoch``, a whole epoch of one-sample updates at once (the
  squared loss's blocked form, :mod:`groundup.kernels.sgd_blocked`);
- :class:`ExactL1SGDEpoch`: ``sgd_epoch`` that also takes the cumulative L1 truncation
  (:mod:`groundup.kernels.sgd_l1_blocked`; ``losses.SquaredLoss`` on host backends).

Either gives the iterates of the plain update from ``batch_grad`` to rounding
(``tests/test_fastpaths.py`` checks both against :mod:`groundup.kernels.reference`).
:class:`ColumnObjective` is what the sweep engine,
:func:`groundup.kernels.sweep.descend_columns`, requires of K configurations trained as the
columns of one weight matrix.

Which objective offers what:

======================================  ==========  =========  =============  ===============
objective                               Objective   FusedStep  ExactSGDEpoch  ColumnObjective
======================================  ==========  =========  =============  ===============
``losses.SquaredLoss``                  yes         yes        yes            no
``logistic.BinaryLogLoss``              yes         no         no             no
``logistic.MultinomialLogLoss``         yes         no         no             no
``sweep.SquaredLossColumns``            yes         yes        yes            yes
``sweep_logistic.*LogLossColumns``      no          yes        no             yes
======================================  ==========  =========  =============  ===============

``runtime_checkable`` protocols check that the names exist, not their signatures: the
signatures below are the contract, and the type checker holds objectives to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from groundup._typing import Array

if TYPE_CHECKING:
    from groundup.kernels.penalties import CumulativeL1

__all__ = ["ColumnObjective", "ExactL1SGDEpoch", "ExactSGDEpoch", "FusedStep", "Objective"]


@runtime_checkable
class Objective(Protocol):
    """What :func:`~groundup.kernels.descent.descend` requires.

    Parameters are ``W`` of shape (n_features, k) and ``b`` of shape (k,); gradients have
    their shapes. Losses and scores are 0-d arrays on the device (the engine reads them on
    the host at most once per epoch).
    """

    def batch_grad(
        self, Xb: Array, yb: Array, sb: Array | None, W: Array, b: Array, /
    ) -> tuple[Array, Array]:
        """Mean gradient (no penalty) over the rows ``Xb``, ``yb`` (weights ``sb``)."""
        ...

    def full_grad(self, W: Array, b: Array, /) -> tuple[Array, Array]:
        """Mean gradient (no penalty) over the whole training set (a full-batch epoch)."""
        ...

    def loss(self, W: Array, b: Array, /) -> Array:
        """Training loss (no penalty): the value recorded in ``loss_history_``."""
        ...

    def zero_loss(self) -> Array:
        """The training loss of the zero model (the divergence check's reference)."""
        ...

    def score(self, W: Array, b: Array, /) -> Array:
        """Validation score, higher is better (early stopping only)."""
        ...


@runtime_checkable
class FusedStep(Protocol):
    """May-use capability: the mini-batch update with ``batch_grad`` folded in."""

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
        """``W <- decay * W - eta * gw``, ``b <- b - eta * gb`` (``gw, gb = batch_grad``;
        ``decay = max(0, 1 - eta * alpha)``, ``None`` without a penalty). The engine gives
        floats; a :class:`ColumnObjective`'s take one value per column of ``W``."""
        ...


@runtime_checkable
class ExactSGDEpoch(Protocol):
    """May-use capability: one epoch of one-sample updates in one call."""

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
        /,
    ) -> tuple[Array, Array]:
        """The iterates of ``n_samples`` one-sample updates in ``order`` (``None``: natural
        order), ``etas`` the learning rate of each (an array on the device). The engine uses
        it while ``alpha * eta <= sgd_blocked.MAX_DECAY_STEP``. With ``truncation`` (an
        :class:`ExactL1SGDEpoch` only): each update is followed by the cumulative L1
        truncation of strength ``l1``, whose state ``truncation.q``, ``truncation.u`` the
        epoch carries on in place."""
        ...


@runtime_checkable
class ExactL1SGDEpoch(ExactSGDEpoch, Protocol):
    """May-use capability: ``sgd_epoch`` with the cumulative L1 truncation
    (:mod:`groundup.kernels.sgd_l1_blocked`). The engine uses it where the objective's
    ``speculative`` is true (a host backend: the window's check reads a flag)."""

    speculative: bool


@runtime_checkable
class ColumnObjective(FusedStep, Protocol):
    """What :func:`~groundup.kernels.sweep.descend_columns` requires: K configurations as
    the columns of ``W`` (n_features, outputs·K), ``b`` (outputs·K,), and
    :class:`FusedStep`'s ``batch_step`` with ``eta`` and ``decay`` per column (``decay``
    ``None``: no penalty anywhere)."""

    #: Columns of ``W`` per configuration (1, or C for a softmax over C classes).
    outputs: int

    def full_grad(self, W: Array, b: Array, /) -> tuple[Array, Array]:
        """Mean gradient of every column over the training set."""
        ...

    def batch_grad(
        self, Xb: Array, yb: Array, sb: Array | None, W: Array, b: Array, /
    ) -> tuple[Array, Array]:
        """Mean gradient of every column over a batch (an optimiser's update)."""
        ...

    def losses(self, W: Array, b: Array, /) -> Array:
        """Training loss of every configuration, (K,)."""
        ...

    def scores(self, W: Array, b: Array, /) -> Array:
        """Validation score of every configuration, (K,) (early stopping only)."""
        ...

    def zero_loss(self) -> Array:
        """Training loss of the zero model (0-d or (K,))."""
        ...

    def keep(self, W: Array, b: Array, columns: Array, configs: Array, /) -> tuple[Array, Array]:
        """``W``, ``b`` restricted to ``columns`` (configurations ``configs`` go on), with
        whatever the objective keeps about them."""
        ...
