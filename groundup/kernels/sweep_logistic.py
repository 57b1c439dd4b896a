"""Log-loss objectives for vectorised sweeps: K logistic models as the columns of one matrix.

Binary (sigmoid) models: ``W`` has shape (n_features, K), one column per configuration, and
``y`` holds 0/1 in X's dtype. Multinomial (softmax) models with C classes: ``W`` has shape
(n_features, C·K), class by class: column ``c·K + k`` holds class ``c`` of configuration
``k`` (so configuration ``k``'s (n_features, C) weights, in
:class:`~groundup.kernels.logistic.MultinomialLogLoss`'s layout, are the columns ``k, K + k,
..., (C-1)·K + k``), and ``y`` is the one-hot matrix (n_samples, C) in X's dtype. Either way
one update is one product ``Xb @ W`` and one ``Xbᵀ @ R`` for all K configurations; the
softmax runs per configuration over its C columns, shifted by its maximum (log-sum-exp) as
the single model's. Class by class, the reductions over the C classes combine C contiguous
(m, K) blocks, several times faster than reducing short rows of C.

The per-sample formulas are the single models' (:class:`~groundup.kernels.logistic.
BinaryLogLoss`, :class:`~groundup.kernels.logistic.MultinomialLogLoss`), so every column
follows its single fit to rounding. What the K columns allow on top:

* an update needs only the residuals: the loss is not computed per mini-batch, and the
  sigmoid is ``1 / (1 + exp(-z))`` (four array operations; ``exp`` overflows to ``inf`` only
  where the probability is below the smallest float, giving 0);
* the step size is folded into the residuals (one (m, K·C) scaling instead of two
  (n_features, K·C) ones; :class:`~groundup.kernels.losses.ResidualStep`), and column sums are
  products with a cached vector of ones;
* a pass over the training set (loss and gradient of every column, the ``batch`` epoch)
  runs over row chunks small enough for the (rows, K·C) temporaries to stay in cache (the
  chunks grow back as columns leave), and is kept for the next epoch's gradient, also when
  columns leave (:meth:`LogLossColumns.keep`).
"""

from __future__ import annotations

import math
from abc import abstractmethod

from array_api_compat import device as _device

from groundup._typing import Array, Namespace
from groundup.kernels.losses import ResidualStep

__all__ = ["BinaryLogLossColumns", "LogLossColumns", "MultinomialLogLossColumns"]


class LogLossColumns(ResidualStep):
    """What the binary and the multinomial column objectives share.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,) or (n_samples, n_classes)
        Binary: 0/1 in X's dtype. Multinomial: one-hot rows in X's dtype.
    sample_weight : array of shape (n_samples,) or None
        Weights of the training rows (the estimators normalise them to mean 1 first).
    X_val, y_val : arrays, optional
        Validation rows for the early-stopping score (accuracy, unweighted, as the single
        fit's), ``y_val`` encoded as ``y``.
    n_classes : int
        2 for the binary model, else the number of softmax classes.
    chunk_rows : int, optional
        Rows per chunk of a pass over X (``None``: all rows at once, as on a GPU).
    chunk_elements : int, optional
        With ``chunk_rows``: fewer rows per chunk where the margins of the columns still
        training would exceed this many elements (``rows · columns``), so that the
        temporaries of a wide ``W`` stay in cache; as columns leave, the chunks grow back.
    xp : namespace
    """

    name = "log_loss"

    def __init__(
        self,
        X: Array,
        y: Array,
        sample_weight: Array | None,
        /,
        *,
        X_val: Array | None = None,
        y_val: Array | None = None,
        n_classes: int = 2,
        chunk_rows: int | None = None,
        chunk_elements: int | None = None,
        xp: Namespace,
    ) -> None:
        self.X, self.y, self.sw, self.xp = X, y, sample_weight, xp
        self.X_val, self.y_val = X_val, y_val
        self.n_classes = n_classes
        self.chunk_rows, self.chunk_elements = chunk_rows, chunk_elements
        # The last pass (W, b, losses, grad_w, grad_b): the engine asks for the losses after
        # an epoch and for the full gradient at the same point at the start of the next one.
        self._cache: tuple[Array, Array, Array, Array, Array] | None = None
        self._ones: dict[int, Array] = {}

    #: Columns of ``W`` per configuration (1 for the binary model, C for the softmax).
    outputs = 1

    # -- per-sample formulas (the single models') -----------------------------------------
    @abstractmethod
    def residuals(self, Z: Array, y: Array, /) -> Array:
        """``dloss/dZ`` (unweighted) of margins ``Z`` (m, K·outputs): shape of ``Z``."""
        ...

    @abstractmethod
    def terms(self, Z: Array, y: Array, /) -> tuple[Array, Array]:
        """Per-sample losses (m, K) and residuals (m, K·outputs), unweighted."""
        ...

    @abstractmethod
    def hits(self, Z: Array, y: Array, /) -> Array:
        """Whether each sample is classified right by each configuration: (m, K) bools."""
        ...

    # -- helpers -----------------------------------------------------------------------------
    def _col(self, v: Array) -> Array:
        return self.xp.reshape(v, (-1, 1))

    # -- the engine's interface ----------------------------------------------------------
    def zero_loss(self) -> Array:
        """The loss at ``W = 0, b = 0``: log(n_classes) (no pass over X), 0-d."""
        return self.xp.asarray(math.log(self.n_classes), dtype=self.X.dtype, device=_device(self.X))

    def batch_residuals(self, Xb: Array, yb: Array, W: Array, b: Array) -> Array:
        return self.residuals(Xb @ W + b, yb)

    def _rows_per_chunk(self, n: int, width: int) -> int:
        rows = self.chunk_rows
        if rows is None:
            return n
        if self.chunk_elements is not None:
            rows = min(rows, max(64, self.chunk_elements // width))
        return min(rows, n)

    def _pass(self, W: Array, b: Array) -> tuple[Array, Array, Array]:
        """Mean losses (K,), gradient (n_features, K·outputs) and (K·outputs,) over the
        training set, one chunked pass; kept for the next call at the same ``(W, b)``."""
        c = self._cache
        if c is not None and c[0] is W and c[1] is b:
            return c[2], c[3], c[4]
        X, y, sw = self.X, self.y, self.sw
        n = X.shape[0]
        rows = self._rows_per_chunk(n, W.shape[1])
        total = gw = gb = None
        for start in range(0, n, rows):
            stop = min(start + rows, n)
            Xc, yc = X[start:stop, ...], y[start:stop, ...]
            L, R = self.terms(Xc @ W + b, yc)
            if sw is not None:
                sc = sw[start:stop]
                R = R * self._col(sc)
                part = sc @ L
            else:
                part = self._column_sums(L)
            total = part if total is None else total + part
            g, g0 = Xc.T @ R, self._column_sums(R)
            gw = g if gw is None else gw + g
            gb = g0 if gb is None else gb + g0
        weight = float(n) if sw is None else self.xp.sum(sw)
        out = (total / weight, gw / weight, gb / weight)
        self._cache = (W, b, *out)
        return out

    def losses(self, W: Array, b: Array) -> Array:
        """Training mean log-loss of every configuration (weighted, no penalty), (K,)."""
        return self._pass(W, b)[0]

    def full_grad(self, W: Array, b: Array) -> tuple[Array, Array]:
        """Mean gradient over the training set (no penalty): (n_features, K·outputs),
        (K·outputs,)."""
        _, gw, gb = self._pass(W, b)
        return gw, gb

    def keep(self, W: Array, b: Array, columns: Array, configs: Array) -> tuple[Array, Array]:
        """``W`` and ``b`` restricted to ``columns`` (the configurations ``configs`` that go
        on); the last pass, if it was at ``(W, b)``, is restricted with them, so the next
        epoch's gradient needs no new pass.

        Parameters
        ----------
        W : array of shape (n_features, K·outputs)
        b : array of shape (K·outputs,)
        columns : integer array of shape (J·outputs,)
            The columns of the J configurations (class by class where outputs > 1).
        configs : integer array of shape (J,)

        Returns
        -------
        W, b
        """
        xp = self.xp
        W2, b2 = xp.take(W, columns, axis=1), xp.take(b, columns, axis=0)
        c = self._cache
        if c is not None and c[0] is W and c[1] is b:
            self._cache = (
                W2,
                b2,
                xp.take(c[2], configs, axis=0),
                xp.take(c[3], columns, axis=1),
                xp.take(c[4], columns, axis=0),
            )
        return W2, b2

    def accuracies(self, X: Array, y: Array, sw: Array | None, W: Array, b: Array) -> Array:
        """(Weighted) accuracy of every configuration on ``X``, ``y`` (encoded as the
        training ``y``), shape (K,)."""
        xp = self.xp
        hit = xp.astype(self.hits(X @ W + b, y), X.dtype)
        if sw is None:
            return xp.mean(hit, axis=0)
        return (sw @ hit) / xp.sum(sw)

    def scores(self, W: Array, b: Array) -> Array:
        """Validation accuracy of every configuration (the early-stopping score), (K,)."""
        return self.accuracies(self.X_val, self.y_val, None, W, b)


class BinaryLogLossColumns(LogLossColumns):
    """Mean binary log-loss of K sigmoid models, one per column; ``y`` in {0, 1}.

    Per sample ``max(z, 0) - y z + log1p(exp(-|z|))`` (as
    :class:`~groundup.kernels.logistic.BinaryLogLoss`) and the residual ``sigmoid(z) - y``.
    """

    def residuals(self, Z: Array, y: Array, /) -> Array:
        return 1.0 / (1.0 + self.xp.exp(-Z)) - self._col(y)

    def terms(self, Z: Array, y: Array, /) -> tuple[Array, Array]:
        xp = self.xp
        yc = self._col(y)
        # max(z, 0) is (z + |z|) / 2 to the bit (the single model's form), in one operation
        L = xp.maximum(Z, 0.0) - yc * Z + xp.log1p(xp.exp(-xp.abs(Z)))
        return L, 1.0 / (1.0 + xp.exp(-Z)) - yc

    def hits(self, Z: Array, y: Array, /) -> Array:
        return self.xp.astype(Z > 0, Z.dtype) == self._col(y)


class MultinomialLogLossColumns(LogLossColumns):
    """Mean multinomial log-loss of K softmax models of C classes, W class by class.

    Per sample and configuration ``logsumexp(z) - z_y`` and the residuals
    ``softmax(z) - onehot(y)`` over the configuration's C columns, shifted by their maximum
    (as :class:`~groundup.kernels.logistic.MultinomialLogLoss`).
    """

    def __init__(self, X: Array, y: Array, sample_weight: Array | None, /, **kwargs: object):
        super().__init__(X, y, sample_weight, **kwargs)  # type: ignore[arg-type]
        self.outputs = self.n_classes

    def _softmax_parts(self, Z: Array, y: Array) -> tuple[Array, Array, Array, Array]:
        """Shifted margins S, exp(S), their sums T per configuration, and the one-hot rows,
        as (m, C, K), (m, C, K), (m, 1, K) and (m, C, 1) arrays."""
        xp = self.xp
        m, C = Z.shape[0], self.outputs
        Z3 = xp.reshape(Z, (m, C, -1))
        S = Z3 - xp.max(Z3, axis=1, keepdims=True)
        E = xp.exp(S)
        return S, E, xp.sum(E, axis=1, keepdims=True), xp.reshape(y, (m, C, 1))

    def residuals(self, Z: Array, y: Array, /) -> Array:
        _, E, T, Y = self._softmax_parts(Z, y)
        return self.xp.reshape(E / T - Y, Z.shape)

    def terms(self, Z: Array, y: Array, /) -> tuple[Array, Array]:
        xp = self.xp
        S, E, T, Y = self._softmax_parts(Z, y)
        L = xp.log(T[:, 0, :]) - xp.sum(S * Y, axis=1)
        return L, xp.reshape(E / T - Y, Z.shape)

    def hits(self, Z: Array, y: Array, /) -> Array:
        xp = self.xp
        m = Z.shape[0]
        pred = xp.argmax(xp.reshape(Z, (m, self.outputs, -1)), axis=1)
        truth = xp.argmax(y, axis=1)
        return pred == xp.reshape(truth, (-1, 1))
