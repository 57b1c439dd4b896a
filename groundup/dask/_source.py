"""Dask data as the estimators' data source: the same methods as in memory
(``groundup._problem.InMemory``), each pass a Dask graph over the row chunks."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

import groundup.dask._linear as _linear
import groundup.dask._logistic as _logistic
from groundup._problem import EngineProblem, Preconditioner
from groundup.backends import Backend
from groundup.dask._data import HOST, DaskData, check_weights, prepare, raise_nonfinite
from groundup.dask._stream import StreamProblem
from groundup.kernels import logistic as lk
from groundup.kernels.closed_form import Moments


class DaskSource(DaskData):
    """Validated Dask data (:class:`~groundup.dask._data.DaskData`) and the passes over them.

    ``backend`` (the Dask backend) is where the fitted model says it lives; ``compute`` (the
    host's NumPy) is where W and b live during the fit: ``coef_`` and ``intercept_`` are small
    NumPy arrays.
    """

    compute: Backend = HOST
    device = "cpu"

    @classmethod
    def validate(
        cls, est: Any, X: Any, y: Any, sample_weight: Any, *, reset: bool, labels: bool
    ) -> DaskSource:
        """scikit-learn's checks and messages, for Dask data (in-memory data with
        ``backend="dask"`` are validated by scikit-learn, then chunked by rows)."""
        d = prepare(est, X, y, sample_weight, reset=reset, labels=labels)
        return cls(d.X, d.y, d.sample_weight, d.backend)

    def raise_nonfinite(self) -> None:
        """Raise the error that counts and locates NaN / inf in X or the weights (a pass)."""
        raise_nonfinite(self.backend, X=self.X, sample_weight=self.sample_weight)

    def _mask(self, held: np.ndarray | None) -> tuple[np.ndarray | None, Any]:
        """The early-stopping rows as a host boolean mask and as a Dask array like X."""
        if held is None:
            return None, None
        flags = np.zeros((self.n,), dtype=bool)
        flags[held] = True
        return flags, self.backend.rows_like(flags, self.X)

    def preconditioned(
        self, *, target: bool, center: bool, pre: Preconditioner | None = None, rows: bool = True
    ) -> tuple[DaskSource, Preconditioner | None]:
        """The data in a preconditioned fit's variables and the change of variables
        (:meth:`~groundup._problem.Preconditioner.rows`; lazy rows, ``rows`` is moot)."""
        X, y, pre = Preconditioner.rows(self, target=target, center=center, pre=pre)
        return self if pre is None else DaskSource(X, y, self.sample_weight, self.backend), pre

    # -- linear regression ----------------------------------------------------------------
    def moments(self, *, fit_intercept: bool) -> Moments:
        return _linear.gather(self, fit_intercept=fit_intercept).train

    def least_squares(self, m: Moments) -> _linear.DaskPasses:
        return _linear.DaskPasses(self, m)

    def squared_problem(self, held: np.ndarray | None, *, batch: bool) -> Any:
        """``batch``: the engine on the host from the moments (one pass); otherwise the
        chunks streamed, each epoch's loss and score from those moments."""
        flags, mask = self._mask(held)
        part = _linear.gather(self, fit_intercept=True, mask=mask)
        stats = _linear.stats_objective(self, part)
        if batch:  # the engine reads only the number of rows from X
            return EngineProblem(stats, self.X, self.y, None, HOST)
        return StreamProblem(
            data=self,
            held=flags,
            mask=mask,
            chunk_objective=_linear.chunk_squared_loss,
            loss=lambda W, b: float(stats.loss(W, b)),
            factor=None if self.sample_weight is None else part.rows / part.train.n,
            objective=stats,
        )

    # -- logistic regression --------------------------------------------------------------
    def labels(self) -> tuple[np.ndarray, np.ndarray]:
        """The distinct labels and their total weights: one pass over y (and the weights,
        checked here: finite, non-negative, a positive total)."""
        sw = self.sample_weight
        found, totals, smallest = self.backend.tree_reduce(
            _logistic.chunk_labels, _logistic.merge_labels, [self.y, sw]
        )
        if sw is not None:
            if not np.all(np.isfinite(totals)):
                raise_nonfinite(self.backend, sample_weight=sw)
            check_weights(smallest, float(np.sum(totals)))
        return found, totals

    def encoded(self, classes: np.ndarray, weights: np.ndarray | None = None) -> DaskSource:
        """The data with y the model's targets for ``classes`` (0/1 in X's dtype for two
        classes, int32 class codes for more: a lazy map of y, chunked like X) and the sample
        weights times the class ``weights`` (one per class) if given."""
        be, sw = self.backend, self.sample_weight
        fn = functools.partial(_logistic.chunk_targets, classes=classes)
        dtype = self.dtype if len(classes) == 2 else np.dtype(np.int32)
        codes = be.zip_rows(fn, [self.X, self.y], columns=None, dtype=dtype)
        if weights is not None:
            w = np.asarray(weights, dtype=np.float64)
            fn = functools.partial(_logistic.chunk_class_weights, classes=classes, weights=w)
            sw = be.zip_rows(fn, [self.X, self.y, sw], columns=None, dtype=self.dtype)
        return DaskSource(self.X, codes, sw, be)

    def log_loss(self, *, n_classes: int, fit_intercept: bool) -> Any:
        sw = self.sample_weight
        return _logistic.log_loss(
            self.X, self.y, sw, fit_intercept=fit_intercept, n_classes=n_classes
        )

    def content_sample(self, fraction: float, *, seed: Any) -> np.ndarray:
        """Rows chosen by their content, about ``fraction`` of them, in one pass: the
        in-memory rows (``kernels.logistic.content_sample`` of every chunk, the same draw of
        the direction), as global row indices on the host."""
        r = np.random.default_rng(seed).standard_normal(self.d + 1)
        fn = functools.partial(_logistic.chunk_content, r=r, fraction=fraction)
        return self.backend.tree_reduce(fn, _logistic.concat, [self.X, self.y], offsets=True)

    def log_problem(
        self, held: np.ndarray | None, *, n_classes: int, fit_intercept: bool, batch: bool
    ) -> Any:
        """``batch``: the engine on the host, each epoch one tree reduction for the loss and
        the gradient together; otherwise the chunks streamed, each epoch's log-loss (and
        early-stopping accuracy) one tree reduction.

        The early-stopping rows stay in their chunks (``mask``): masked out of the passes
        over the training rows (``whole.held``), they are the rows of its ``score``; every
        pass reads the user's X, so NaN / inf are located in its rows and columns. Sample
        weights are normalised to mean 1 over the training rows, as in memory."""
        flags, mask = self._mask(held)
        xp, sw, factor = self.backend.xp, self.sample_weight, None
        if sw is not None:
            train_sw = sw if mask is None else xp.where(mask, xp.zeros_like(sw), sw)
            rows = self.n - (0 if flags is None else int(np.count_nonzero(flags)))
            total = float(self.backend.to_numpy(xp.sum(train_sw)))
            check_weights(0.0, total)  # the early-stopping rows held all the weight
            factor = rows / total
            sw = sw * factor
        val = mask is not None
        whole = _logistic.log_loss(
            self.X, self.y, sw, fit_intercept=fit_intercept, n_classes=n_classes, val=val
        )
        whole.held = mask
        if batch:
            gram = functools.partial(_linear.training_gram, self, mask)
            return EngineProblem(whole, self.X, self.y, whole.sw, HOST, curvature_fn=gram)
        kernel = lk.BinaryLogLoss if n_classes == 2 else lk.MultinomialLogLoss
        return StreamProblem(
            data=self,
            held=flags,
            mask=mask,
            chunk_objective=functools.partial(
                _logistic.chunk_log_loss, kernel, fit_intercept=fit_intercept, n_classes=n_classes
            ),
            loss=lambda W, b: float(whole.newton_pass(W, b, order=0).loss),
            factor=factor,
            objective=whole,
        )
