"""What the linear and the logistic estimators share: backend bookkeeping, the validation
split, the schedule, the run of the descent engine, and ``to``."""

from __future__ import annotations

import copy
import math
import time
import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from groundup import backends
from groundup._params import check_common
from groundup._typing import Array
from groundup._validation import FitData, check_finite
from groundup.backends import Backend
from groundup.exceptions import DivergenceError
from groundup.kernels.descent import DescentResult, DescentSettings, descend, divergent_epoch
from groundup.kernels.schedules import Schedule


class GroundupEstimator(BaseEstimator):
    """Base class: fitted state lives on ``backend_`` / ``device_`` (strings, picklable)."""

    # -- backend of the fitted model -----------------------------------------------------
    def _model_backend(self) -> Backend:
        return backends.resolve(self.backend_, self.device_)

    def _remember_backend(self, be: Backend) -> None:
        self.backend_ = be.name
        self.device_ = be.device_name

    def to(self, backend: str | None = None, device: Any = None) -> GroundupEstimator:
        """Return a copy of the fitted model on another backend and/or device.

        Parameters
        ----------
        backend : str, optional
            Target backend; ``None`` keeps the current one.
        device : str, optional
            Target device (``"cpu"``, ``"cuda"``, ...); ``None`` takes the backend's default.

        Returns
        -------
        estimator
            A new fitted estimator whose ``coef_`` and ``intercept_`` live on the target.
            A CUDA-fitted model can be moved to the CPU on a machine without a GPU.
        """
        check_is_fitted(self)
        name = backend if backend is not None else self.backend_
        if backend is None and device is None:
            device = self.device_
        target = backends.resolve(name, device)
        new = copy.copy(self)
        dtype_name = str(np.dtype(self._host(self.coef_).dtype))
        if dtype_name == "float64" and not target.has_float64():
            msg = (
                f"This model is float64 but the {target.name} backend on {target.device_name} "
                "has no float64; refit with dtype='float32'."
            )
            raise ValueError(msg)
        for attr in self._device_attributes():
            value = getattr(self, attr, None)
            if value is not None:
                setattr(new, attr, target.asarray(self._host(value)))
        new._remember_backend(target)
        return new

    def _host(self, a: Array) -> np.ndarray:
        return backends.from_array(a).to_numpy(a)

    def _device_attributes(self) -> tuple[str, ...]:
        return ("coef_", "intercept_")

    # -- gradient descent ---------------------------------------------------------------
    def _check_params(self) -> None:
        check_common(self)

    def _schedule(self, updates_per_epoch: int) -> Schedule:
        return Schedule(
            name=self.learning_rate,
            eta0=float(self.eta0),
            updates_per_epoch=max(1, updates_per_epoch),
            power_t=float(self.power_t),
            alpha=float(self.alpha),
            decay=float(self.decay),
            drop=float(self.drop),
            epochs_drop=float(self.epochs_drop),
            eta_min=float(self.eta_min),
            t_max=float(self.t_max if self.t_max is not None else self.max_iter),
            t1=float(self.t1),
        )

    def _penalty_alpha(self) -> float:
        return float(self.alpha) if self.penalty == "l2" else 0.0

    def _split(
        self, data: FitData, rng: np.random.Generator
    ) -> tuple[FitData, Array | None, Array | None]:
        """Training part, validation X and y (for ``early_stopping``)."""
        if not self.early_stopping:
            return data, None, None
        be, xp = data.backend, data.backend.xp
        held, kept = self._validation_draw(data.X.shape[0], rng)
        val, tr = be.asarray(held), be.asarray(kept)
        sw = data.sample_weight
        train = FitData(
            xp.take(data.X, tr, axis=0),
            xp.take(data.y, tr, axis=0),
            None if sw is None else xp.take(sw, tr),
            be,
        )
        X_val = xp.take(data.X, val, axis=0)
        # NaN / inf in a held-out row would only blur the early-stopping score, silently:
        # look now (one scalar per fit) and name the row in the user's X.
        if not bool(xp.all(xp.isfinite(X_val))):
            check_finite(data.X, "X", be)
        return train, X_val, xp.take(data.y, val, axis=0)

    def _validation_draw(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """The early-stopping split drawn on the host: (validation rows, training rows)."""
        n_val = math.ceil(self.validation_fraction * n)
        if n_val < 1 or n - n_val < 1:
            msg = (
                f"early_stopping with validation_fraction={self.validation_fraction} leaves "
                f"no training or no validation sample out of n_samples={n}; use more samples "
                "or early_stopping=False."
            )
            raise ValueError(msg)
        perm = rng.permutation(n)
        return perm[:n_val], np.sort(perm[n_val:])

    @staticmethod
    def _normalised_weights(sw: Array | None, *, xp: Any) -> Array | None:
        if sw is None:
            return None
        return sw * (sw.shape[0] / xp.sum(sw))

    def _orders(self, n: int, be: Backend, rng: np.random.Generator) -> Any:
        if not self.shuffle:
            return lambda: None
        # Drawn on the host from one NumPy Generator: the same order on every backend.
        return lambda: be.asarray(rng.permutation(n))

    def _run_descent(
        self,
        objective: Any,
        train: FitData,
        W: Array,
        b: Array,
        *,
        rng: np.random.Generator,
        max_iter: int,
        tol: float | None,
        t_start: int,
        start_loss: Array | None = None,
        whole_X: Array | None = None,
    ) -> tuple[DescentResult, np.ndarray]:
        """Run the engine, bring the history home (one sync) and raise on divergence.

        X is not checked for NaN/inf beforehand: a non-finite X makes the loss non-finite,
        and only then is X searched, so that the error names the bad entries. ``whole_X`` is
        the user's X when ``train`` holds only its training rows (early stopping), so that
        the rows named are the user's.
        """
        be, xp = train.backend, train.backend.xp
        n = train.X.shape[0]
        bs = self._effective_batch_size(n)
        schedule = self._schedule(math.ceil(n / bs))
        settings = DescentSettings(
            max_iter=max_iter,
            batch_size=bs,
            alpha=self._penalty_alpha(),
            fit_intercept=self.fit_intercept,
            tol=None if tol is None else float(tol),
            n_iter_no_change=self.n_iter_no_change,
            early_stopping=self.early_stopping and tol is not None,
            record_path=getattr(self, "record_path", False),
        )
        res = descend(
            objective,
            train.X,
            train.y,
            train.sample_weight,
            W,
            b,
            schedule=schedule,
            settings=settings,
            orders=self._orders(n, be, rng),
            t_start=t_start,
            start_loss=start_loss,
            xp=xp,
        )
        values = be.to_numpy(xp.stack([*res.history, res.reference_loss])).astype(np.float64)
        history, reference = values[:-1], float(values[-1])
        epoch = res.diverged_at or divergent_epoch(history.tolist(), reference)
        if epoch is not None:
            if not np.isfinite(history[epoch - 1]):
                # NaN/inf in X: say so, not "diverged"
                check_finite(train.X if whole_X is None else whole_X, "X", be)
            self._raise_divergence(history, reference, epoch)
        return res, history

    def _raise_divergence(self, history: Any, reference: float, epoch: int) -> None:
        msg = (
            f"Gradient descent diverged: the training loss became {history[epoch - 1]:.4g} "
            f"at epoch {epoch}, from {reference:.4g} at the start "
            f"(method={self.method!r}, eta0={self.eta0}, "
            f"learning_rate={self.learning_rate!r}). Lower eta0 or scale the features "
            "(sklearn.preprocessing.StandardScaler)."
        )
        raise DivergenceError(msg)

    def _effective_batch_size(self, n: int) -> int:
        method = getattr(self, "_method", self.method)
        if method == "batch":
            return n
        if method == "sgd":
            return 1
        return min(int(self.batch_size), n)

    def _warn_not_converged(self, res: DescentResult, max_iter: int, tol: float | None) -> None:
        if tol is not None and not res.converged and res.n_iter == max_iter:
            warnings.warn(
                f"Maximum number of iteration reached before convergence ({max_iter} epochs, "
                f"tol={tol}). Consider increasing max_iter, raising eta0 or scaling the "
                "features to improve the fit.",
                ConvergenceWarning,
                stacklevel=3,
            )

    @staticmethod
    def _timer_start() -> float:
        return time.perf_counter()

    def _finish_timing(self, start: float, be: Backend, *arrays: Array) -> None:
        be.synchronize(*arrays)
        self.fit_time_ = time.perf_counter() - start
