"""Data the Dask tests share: a regression problem, weights, labels, and Dask arrays of them
chunked by rows."""

from __future__ import annotations

import math

import dask.array as da
import numpy as np


def data(n: int = 1200, d: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = X @ np.linspace(-2.0, 3.0, d) + 4.0 + 0.1 * rng.normal(size=n)
    return X, y


def weights(n: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.2, 2.0, size=n)


def chunked(a: np.ndarray, rows: int) -> da.Array:
    return da.from_array(a, chunks=(rows,) + a.shape[1:])


def labels(X: np.ndarray, kind: str, seed: int = 2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    z = X @ np.linspace(1.0, -1.5, X.shape[1]) + 0.2
    if kind == "three":
        return np.digitize(z + rng.normal(size=len(z)), [-1.0, 1.0])
    y = (rng.uniform(size=len(z)) < 1.0 / (1.0 + np.exp(-z))).astype(int)
    return np.array(["no", "yes"])[y] if kind == "strings" else y


def stream_order(n, rows, *, batch_size, epochs, seed, validation_fraction=None):
    """The documented visiting order (groundup/_dask_stream.py) as a plain loop: the
    early-stopping rows drawn first (the in-memory split's draw), then each epoch a
    permutation of the chunks and, chunk by chunk, of the chunk's training rows; batches
    within a chunk. Returns the held-out mask and, per epoch, the batches' row indices."""
    rng = np.random.default_rng(seed)
    held = np.zeros(n, dtype=bool)
    if validation_fraction is not None:
        held[rng.permutation(n)[: math.ceil(validation_fraction * n)]] = True
    starts = list(range(0, n, rows))
    epochs_out = []
    for _ in range(epochs):
        batches = []
        for c in rng.permutation(len(starts)):
            idx = np.arange(starts[c], min(starts[c] + rows, n))
            idx = idx[~held[idx]]
            perm = idx[rng.permutation(len(idx))]
            batches += [perm[s : s + batch_size] for s in range(0, len(perm), batch_size)]
        epochs_out.append(batches)
    return held, epochs_out
