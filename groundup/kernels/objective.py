"""What the descent engine asks of a loss: the ``Objective`` protocols.

:func:`groundup.kernels.descent.descend_columns` (and :func:`~groundup.kernels.descent.descend`,
its one-configuration case) *requires* what :class:`Objective` lists, for ``W`` of shape
(n_features, outputs·K): K configurations as columns (K = 1 for one fit). It *may use* a
capability, named by a runtime-checkable protocol (the engine asks
``isinstance(objective, ExactSGDEpoch)``; an objective has the capability when it defines
the method):

- :class:`ExactSGDEpoch`: ``sgd_epoch``, a whole epoch of one-sample updates at once (the
  squared loss's blocked form, :mod:`groundup.kernels.sgd_blocked`; the log-loss's,
  :mod:`groundup.kernels.sgd_logistic_blocked`, which reads each window's convergence on the
  host and so is taken only on host backends);
- :class:`ExactL1SGDEpoch`: ``sgd_epoch`` that also takes the cumulative L1 truncation
  (:mod:`groundup.kernels.sgd_l1_blocked`; ``losses.SquaredLoss`` on host backends).

Either gives the iterates of the plain update from ``batch_grad`` to rounding
(``tests/test_fastpaths.py`` checks both against :mod:`groundup.kernels.reference`).

======================================  ==========  ===================
objective                               Objective   ExactSGDEpoch
======================================  ==========  ===================
``losses.SquaredLoss``                  yes         yes
``logistic.BinaryLogLoss``              yes         yes (host backends)
``logistic.MultinomialLogLoss``         yes         yes (host backends)
======================================  ==========  ===================

``runtime_checkable`` protocols check that the names exist, not their signatures: the
signatures below are the contract, and the type checker holds objectives to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from groundup._typing import Array

if TYPE_CHECKING:
    from groundup.kernels.penalties import CumulativeL1

__all__ = ["ExactL1SGDEpoch", "ExactSGDEpoch", "Objective"]


@runtime_checkable
class Objective(Protocol):
    """What the descent engine requires.

    ``W`` has shape (n_features, outputs·K) and ``b`` (outputs·K,); gradients have their
    shapes. Losses and scores are arrays on the device (the engine reads them on the host
    at most once per epoch).
    """

    #: Columns of ``W`` per configuration (1, or C for a softmax over C classes).
    outputs: int

    def batch_grad(
        self, Xb: Array, yb: Array, sb: Array | None, W: Array, b: Array, /
    ) -> tuple[Array, Array]:
        """Mean gradient (no penalty) of every column over the rows ``Xb``, ``yb`` (weights
        ``sb``): the stepper's updates (optimisers, L1, averaging)."""
        ...

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
        """The plain mini-batch update with ``batch_grad`` folded in: ``W <- decay * W -
        eta * gw``, ``b <- b - eta * gb`` (``decay = max(0, 1 - eta * alpha)``, ``None``
        without a penalty); floats for one configuration, one value per column otherwise."""
        ...

    def full_grad(self, W: Array, b: Array, /) -> tuple[Array, Array]:
        """Mean gradient of every column over the whole training set (a full-batch epoch)."""
        ...

    def losses(self, W: Array, b: Array, /) -> Array:
        """Training loss (no penalty) of every configuration, (K,): the loss history."""
        ...

    def zero_loss(self) -> Array:
        """The training loss of the zero model (the divergence check's reference)."""
        ...

    def scores(self, W: Array, b: Array, /) -> Array:
        """Validation score of every configuration, (K,), higher is better (early stopping)."""
        ...

    def keep(self, W: Array, b: Array, columns: Array, configs: Array, /) -> tuple[Array, Array]:
        """``W``, ``b`` restricted to ``columns`` (configurations ``configs`` go on), with
        whatever the objective keeps about them."""
        ...


@runtime_checkable
class ExactSGDEpoch(Protocol):
    """May-use capability: one epoch of one-sample updates in one call."""

    #: The epoch reads values on the host (a check per window): the engine takes it only
    #: where ``speculative`` (a host backend), else the one-sample batches.
    reads_host: bool
    speculative: bool

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
