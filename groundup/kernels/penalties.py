"""The L1 part of the ``"l1"`` and ``"elasticnet"`` penalties, and scikit-learn's averaging.

scikit-learn's penalty is ``alpha·(l1_ratio·‖w‖₁ + ½(1 − l1_ratio)·‖w‖²)``: the descent
engine applies the L2 part as ``penalty="l2"`` and the L1 part ``l1 = l1_ratio·alpha`` here:

- one-sample and mini-batch updates: the cumulative L1 truncation of Tsuruoka, Tsujii &
  Ananiadou (ACL 2009) as scikit-learn's ``_sgd_fast.pyx`` applies it (:func:`truncate`);
- full-batch updates: soft thresholding (:func:`soft_threshold`), proximal gradient descent
  (ISTA; Parikh & Boyd, "Proximal Algorithms", 2014, §4.2), which converges to ``Lasso`` /
  ``ElasticNet``.

:class:`CumulativeL1` also keeps the scalars of scikit-learn's lazily represented average:
its truncation moves the averaged weights too (by ``average_a / (average_b · wscale)`` times
the change), without which averaged SGD with L1 differs from ``SGDRegressor(average=...)``.
The state lives for one call of ``fit`` / ``partial_fit``, as scikit-learn's does.
"""

from __future__ import annotations

from dataclasses import dataclass

from groundup._typing import Array, Namespace

__all__ = ["CumulativeL1", "soft_threshold", "truncate"]


def soft_threshold(W: Array, tau: float, /, *, xp: Namespace) -> Array:
    """The proximal map of ``tau·‖W‖₁``: ``sign(W)·max(|W| − tau, 0)``."""
    return xp.maximum(W - tau, 0.0) + xp.minimum(W + tau, 0.0)


def truncate(W: Array, q: Array, u: float, /, *, xp: Namespace) -> tuple[Array, Array]:
    """scikit-learn's ``l1penalty``: ``w > 0``: ``max(0, w − (u + q))``; ``w < 0``:
    ``min(0, w + (u − q))``; zero stays zero; then ``q += w_new − w``.

    Parameters
    ----------
    W : array of shape (n_features, k)
        The weights after the gradient step.
    q : array of shape (n_features, k)
        The penalty each weight has received so far (signed).
    u : float
        The penalty each weight could have received so far.
    xp : namespace

    Returns
    -------
    W, q
    """
    # maximum / minimum: array_api_compat's clip checks its bounds (17 us a line, these 2.6)
    down = xp.maximum(W - (u + q), 0.0)
    up = xp.minimum(W + (u - q), 0.0)
    new = xp.where(W > 0, down, xp.where(W < 0, up, W))
    return new, q + (new - W)


@dataclass
class CumulativeL1:
    """The cumulative penalty's state for one call (``u`` on the host, ``q`` beside the
    weights) and scikit-learn's average scalars."""

    q: Array
    u: float = 0.0
    wscale: float = 1.0  # product of the L2 decays since the last reset
    average_a: float = 0.0
    average_b: float = 1.0
    threshold: float = 1e-9  # scikit-learn resets wscale below this (1e-6 in float32)

    def scale(self, c: float) -> None:
        """The L2 decay of one update (``WeightVector.scale``)."""
        self.wscale *= c
        if self.wscale < self.threshold:
            self.wscale, self.average_a, self.average_b = 1.0, 0.0, 1.0

    def averaged(self, num_seen: int) -> None:
        """One averaging step (``WeightVector.add_average``'s scalars)."""
        mu = 1.0 / num_seen
        if num_seen > 1:
            self.average_b /= 1.0 - mu
        self.average_a += mu * self.average_b * self.wscale

    def average_share(self) -> float:
        """How much of a change of the weights scikit-learn's lazy average takes on."""
        return self.average_a / (self.average_b * self.wscale)
