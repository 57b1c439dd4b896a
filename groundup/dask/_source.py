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
from groundup.kernels.closed_form import Moments


class DaskSource(DaskData):
    """Validated Dask data and the passes over them; ``backend`` (Dask) is where the fitted
    model says it lives, ``compute`` (NumPy) where W and b live during the fit."""

    compute: Backend = HOST
    device = "cpu"

    @classmethod
    def validate(
        cls, est: Any, X: Any, y: Any, sample_weight: Any, *, reset: bool, labels: bool
    ) -> DaskSource:
        d = prepare(est, X, y, sample_weight, reset=reset, labels=labels)
        return cls(d.X, d.y, d.sample_weight, d.backend)

    def raise_nonfinite(self) -> None:
        raise_nonfinite(self.backend, X=self.X, sample_weight=self.sample_weight)

    def _mask(self, held: np.ndarray | None) -> tuple[np.ndarray | None, Any]:
        """The early-stopping rows as a host mask and as a Dask array like X."""
        if held is None:
            return None, None
        flags = np.zeros((self.n,), dtype=bool)
        flags[held] = True
        return flags, self.backend.rows_like(flags, self.X)

    def preconditioned(
        self, *, target: bool, center: bool, pre: Preconditioner | None = None, rows: bool = True
    ) -> tuple[DaskSource, Preconditioner | None]:
        """The data in a preconditioned fit's variables (lazy rows: ``rows`` is moot)."""
        X, y, pre = Preconditioner.rows(self, target=target, center=center, pre=pre)
        return self if pre is None else DaskSource(X, y, self.sample_weight, self.backend), pre

    def moments(self, *, fit_intercept: bool) -> Moments:
        return _linear.gather(self, fit_intercept=fit_intercept).train

    def least_squares(self, m: Moments) -> _linear.DaskPasses:
        return _linear.DaskPasses(self, m)

    def squared_problem(self, held: np.ndarray | None, *, batch: bool) -> Any:
        """``batch``: the engine on the host from the moments; else the chunks streamed."""
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

    def labels(self) -> tuple[np.ndarray, np.ndarray]:
        """The distinct labels and their total weights (one pass; the weights checked)."""
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
        """The data with y the targets for ``classes`` (0/1 in X's dtype for two, else int32
        codes; lazily) and the sample weights times the class ``weights``, if given."""
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
        X, y, sw = self.X, self.y, self.sample_weight
        return _logistic.log_loss(X, y, sw, fit_intercept=fit_intercept, n_classes=n_classes)

    def content_sample(self, fraction: float, *, seed: Any) -> np.ndarray:
        """About ``fraction`` of the rows, chosen by content as in memory (one pass), as
        global row indices on the host."""
        r = np.random.default_rng(seed).standard_normal(self.d + 1)
        fn = functools.partial(_logistic.chunk_content, r=r, fraction=fraction)
        return self.backend.tree_reduce(fn, np.append, [self.X, self.y], offsets=True)

    def log_problem(
        self, held: np.ndarray | None, *, n_classes: int, fit_intercept: bool, batch: bool
    ) -> Any:
        """``batch``: the engine on the host, each epoch one pass; else the chunks streamed.
        The early-stopping rows stay in their chunks (``whole.held``), so NaN / inf are
        located in the user's X; weights are normalised to mean 1 over the training rows."""
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
        return StreamProblem(
            data=self,
            held=flags,
            mask=mask,
            chunk_objective=functools.partial(
                _logistic.chunk_log_loss, fit_intercept=fit_intercept, n_classes=n_classes
            ),
            loss=lambda W, b: float(whole.newton_pass(W, b, order=0).loss),
            factor=factor,
            objective=whole,
        )
