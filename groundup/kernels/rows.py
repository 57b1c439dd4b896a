"""The training rows an epoch visits, in its order (:class:`EpochRows`, what the gradient
loops and the exact one-sample epochs read), and :func:`scaled_rows`, their preconditioned
copy."""

from __future__ import annotations

from dataclasses import dataclass

from groundup._typing import Array, Namespace

__all__ = ["EpochRows", "scaled_rows"]


@dataclass(frozen=True)
class EpochRows:
    """The rows of one epoch in visiting order."""

    X: Array  # (n_samples, n_features)
    y: Array  # (n_samples,) or (n_samples, k)
    sample_weight: Array | None  # (n_samples,)
    order: Array | None  # the visiting order, integers on the device (None: natural order)
    xp: Namespace

    def take(self, start: int, stop: int) -> tuple[Array, Array, Array | None]:
        """Rows ``start .. stop - 1`` of the order, gathered with ``xp.take`` (a plain slice
        in the natural order)."""
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


def scaled_rows(
    X: Array,
    shift: Array,
    factor: Array,
    sample_weight: Array | None,
    /,
    *,
    ones: float,
    chunk_rows: int | None,
    xp: Namespace,
) -> tuple[Array, Array]:
    """``(X - shift) * factor``, made one chunk of rows at a time (in cache, written once;
    ``chunk_rows=None``: one expression, as on a GPU or for immutable arrays), and the
    largest single-row curvature of the result, ``max_i w_i (‖x_i‖² + ones²)`` (0-d):
    ``eta0="auto"``'s bound for stochastic updates (``curvature.largest_row``) on the way."""
    n = X.shape[0]

    def largest(part: Array, start: int, stop: int) -> Array:
        sq = xp.vecdot(part, part) + ones * ones
        if sample_weight is not None:
            sq = sq * sample_weight[start:stop]
        return xp.max(sq)

    if chunk_rows is None or chunk_rows >= n:
        out = (X - shift) * factor
        return out, largest(out, 0, n)
    out = xp.empty_like(X)
    top = None
    for start in range(0, n, chunk_rows):
        stop = min(start + chunk_rows, n)
        part = X[start:stop, :] - shift
        part *= factor  # in place: one chunk-sized temporary, not two
        out[start:stop, :] = part
        here = largest(part, start, stop)
        top = here if top is None else xp.maximum(top, here)
    return out, top
