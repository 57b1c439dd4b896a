"""The training rows an epoch visits, in its order: what the gradient loops and the exact
one-sample epochs (:mod:`groundup.kernels.sgd_blocked`, :mod:`groundup.kernels.sgd_l1_blocked`)
read their updates' rows from."""

from __future__ import annotations

from dataclasses import dataclass

from groundup._typing import Array, Namespace

__all__ = ["EpochRows"]


@dataclass(frozen=True)
class EpochRows:
    """The rows of one epoch in visiting order.

    Attributes
    ----------
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,) or (n_samples, k)
    sample_weight : array of shape (n_samples,) or None
    order : integer array of shape (n_samples,) or None
        The visiting order, on the device (``None``: natural order).
    xp : namespace
    """

    X: Array
    y: Array
    sample_weight: Array | None
    order: Array | None
    xp: Namespace

    @property
    def n(self) -> int:
        """Number of rows (updates of a one-sample epoch)."""
        return self.X.shape[0]

    def take(self, start: int, stop: int) -> tuple[Array, Array, Array | None]:
        """The rows of updates ``start .. stop - 1``: a contiguous slice of the order,
        gathered with ``xp.take`` (or a plain slice of the data in its natural order)."""
        xp, sw = self.xp, self.sample_weight
        if self.order is None:
            sb = None if sw is None else sw[start:stop]
            return self.X[start:stop, ...], self.y[start:stop, ...], sb
        idx = self.order[start:stop]
        sb = None if sw is None else xp.take(sw, idx)
        return xp.take(self.X, idx, axis=0), xp.take(self.y, idx, axis=0), sb

    def weights(self) -> Array | None:
        """The sample weights in visiting order (``None`` without weights)."""
        sw = self.sample_weight
        if sw is None or self.order is None:
            return sw
        return self.xp.take(sw, self.order)
