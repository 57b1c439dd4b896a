"""The peers the benchmark times beside groundup: scikit-learn's ``LinearRegression``,
``SGDRegressor``, ``LogisticRegression`` and ``SGDClassifier`` and a hand-written PyTorch loop,
each given groundup's hyper-parameters where it has the concept, behind one interface
(:class:`PeerFit`)."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from groundup import backends
from groundup.bench.status import l2_alpha
from groundup.kernels import curvature as cv
from groundup.linear_model._base import ADAPTIVE_RATES

__all__ = ["PEERS", "Peer", "PeerFit", "auto_eta0", "peers_for"]

_SKLEARN_SCHEDULES = ("constant", "optimal", "invscaling", "adaptive")
_TORCH_SCHEDULES = ("constant", "invscaling")


class PeerFit(ABC):
    """One peer estimator: ``place`` moves the training data where it computes (untimed),
    ``fit`` trains and waits for the device, ``predict`` / ``predict_proba`` answer in NumPy.

    After ``fit``: ``coef_``, ``intercept_`` (NumPy), ``n_iter_`` (epochs), ``converged_``,
    ``loss_history_`` (per epoch, or None), ``dtype_`` (the dtype it computed in),
    ``stop_reason_`` (``"exact"``, ``"tol"`` or ``"max_iter"``, by its own rule; the
    benchmark then applies groundup's: :func:`groundup.bench.status.judge_peer`), ``tol_``,
    ``eta0_`` (the first learning rate; ``eta0_auto``: by groundup's ``eta0="auto"``) and
    ``one_vs_rest`` (more than two classes, one binary model each).
    """

    loss_history_: np.ndarray | None = None
    converged_: bool | None = None
    n_iter_: int = 1
    stop_reason_: str = "exact"
    tol_: float | None = None
    eta0_: float | None = None
    eta0_auto: bool = False
    one_vs_rest: bool = False

    def place(self, X: np.ndarray, y: np.ndarray) -> tuple[Any, ...]:
        """Training data where the peer computes, for ``fit`` (not timed)."""
        return X, y

    @abstractmethod
    def fit(self, data: tuple[Any, ...]) -> None:
        """Fit on ``place``'s data and wait for the device."""

    @abstractmethod
    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions for host ``X``."""

    @abstractmethod
    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities for host ``X``."""


# -- scikit-learn -----------------------------------------------------------------------------
class _SklearnFit(PeerFit):
    """A scikit-learn estimator ``make(n_samples)``; ``max_iter`` None for a closed form."""

    def __init__(
        self,
        make: Callable[[int], Any],
        dtype: str,
        max_iter: int | None = None,
        auto: dict[str, Any] | None = None,
    ) -> None:
        self.make, self.dtype, self.max_iter, self.auto = make, dtype, max_iter, auto
        self.eta0_auto = auto is not None

    def place(self, X: np.ndarray, y: np.ndarray) -> tuple[Any, ...]:
        X = np.ascontiguousarray(X, dtype=self.dtype)
        return X, (y.astype(self.dtype) if y.dtype.kind == "f" else y)

    def fit(self, data: tuple[Any, ...]) -> None:
        self.est = self.make(data[0].shape[0])
        if self.auto is not None:  # groundup's eta0="auto" of these rows (part of the fit)
            n_classes = 2 if self.auto["loss"] == "squared" else len(np.unique(data[1]))
            xp = backends.resolve("numpy").xp
            eta0 = auto_eta0(data[0], n_classes=n_classes, full=False, **self.auto, xp=xp)
            self.est.set_params(eta0=eta0)
        est = self.est.fit(*data)
        self.coef_, self.intercept_ = np.asarray(est.coef_), np.asarray(est.intercept_)
        self.dtype_ = str(self.coef_.dtype)
        sgd = hasattr(est, "eta0")
        if sgd:
            self.eta0_ = float(est.eta0)
        self.one_vs_rest = sgd and np.ndim(self.coef_) == 2 and len(self.coef_) > 2
        if self.max_iter is None:
            self.n_iter_, self.converged_, self.stop_reason_ = 1, True, "exact"
        else:
            self.tol_ = est.tol
            self.n_iter_ = int(np.max(est.n_iter_))
            self.converged_ = self.n_iter_ < self.max_iter and self.tol_ is not None
            self.stop_reason_ = "tol" if self.converged_ else "max_iter"

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.est.predict(np.asarray(X, dtype=self.dtype)))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.est.predict_proba(np.asarray(X, dtype=self.dtype)))


def auto_eta0(
    X: Any, *, loss: str, n_classes: int, full: bool, fit_intercept: bool, alpha: float, xp: Any
) -> float:
    """groundup's ``eta0="auto"`` for a peer's training rows ``X`` (on its device):
    ``1 / (q L + alpha)``, ``L`` from the Gram matrix of ``[X, 1]`` over n (``full``) or the
    largest ``‖x_i‖² + 1`` (scikit-learn's SAG rule), ``q`` the loss's Hessian factor."""
    if full:
        c = cv.largest_eigenvalue(cv.gram(X, None, fit_intercept=fit_intercept, xp=xp), xp=xp)
    else:
        c = cv.largest_row(X, None, fit_intercept=fit_intercept, xp=xp)
    return cv.safe_rate(c, q=cv.hessian_factor(loss, n_classes), alpha=alpha)


def _auto(p: dict[str, Any], loss: str) -> dict[str, Any] | None:
    """The terms of ``eta0="auto"`` for :func:`auto_eta0` (None for a number)."""
    if p.get("eta0", "auto") != "auto":
        return None
    alpha = l2_alpha(p) or 0.0
    return {"loss": loss, "fit_intercept": p.get("fit_intercept", True), "alpha": alpha}


# scikit-learn's SGD arguments that groundup's hyper-parameters give, with groundup's defaults
_SGD_DEFAULTS = {
    "penalty": None, "alpha": 1e-4, "fit_intercept": True, "learning_rate": "invscaling",
    "eta0": 0.01, "power_t": 0.25, "max_iter": 1000, "tol": 1e-3, "n_iter_no_change": 5,
    "early_stopping": False, "validation_fraction": 0.1, "shuffle": True, "random_state": None,
}  # fmt: skip


def _sklearn(name: str, p: dict[str, Any], device: str, dtype: str) -> PeerFit:
    """scikit-learn's estimator ``name`` on groundup's objective and hyper-parameters."""
    from sklearn import linear_model as lm

    fi, alpha = p.get("fit_intercept", True), l2_alpha(p) or 0.0
    if name == "LinearRegression":  # ½·alpha·‖w‖² on the mean loss is Ridge(alpha = n·alpha)
        if alpha:
            return _SklearnFit(lambda n: lm.Ridge(alpha=alpha * n, fit_intercept=fi), dtype)
        return _SklearnFit(lambda n: lm.LinearRegression(fit_intercept=fi), dtype)
    if name == "LogisticRegression":  # lbfgs; mean log-loss + ½·alpha·‖w‖²: C = 1 / (n·alpha)
        make = partial(lm.LogisticRegression, fit_intercept=fi, max_iter=1000)
        return _SklearnFit(lambda n: make(C=1.0 / (n * alpha) if alpha else math.inf), dtype, 1000)
    kw = {k: p.get(k, v) for k, v in _SGD_DEFAULTS.items()}
    if kw["eta0"] == "auto":  # set in fit, from the rows
        kw["eta0"] = 0.01
    loss = "squared" if name == "SGDRegressor" else "log"
    est = getattr(lm, name)(**kw, **({} if loss == "squared" else {"loss": "log_loss"}))
    return _SklearnFit(lambda n: est, dtype, kw["max_iter"], _auto(p, loss))


# -- a hand-written PyTorch loop --------------------------------------------------------------
class TorchLoop(PeerFit):
    """Mini-batch SGD as a PyTorch user writes it (``nn.Linear``, autograd, ``torch.optim``),
    with groundup's objective, zero start, visiting order (a NumPy ``Generator``'s
    permutations), schedule (one ``LambdaLR`` step per update), first step, L2 decay on the
    weights and stopping rule (one host sync per epoch).

    Parameters
    ----------
    loss : {"squared", "log"}
        ½·mean squared error, or mean log-loss (binary: one logit; multiclass: softmax).
    params : dict
        groundup hyper-parameters (``eta0``, ``batch_size``, ``max_iter``, ``tol``, ...).
    full_batch : bool
        One update per epoch over all rows (the peer of ``method="batch"``).
    device, dtype : str
    """

    def __init__(
        self, loss: str, params: dict[str, Any], device: str, dtype: str, *, full_batch: bool
    ) -> None:
        import torch

        self.torch = torch
        self.loss, self.p, self.full_batch = loss, params, full_batch
        self.device = torch.device(device)
        self.backend = backends.resolve("torch", device)  # its synchronisation and namespace
        self.dtype, self.dtype_ = getattr(torch, dtype), dtype

    def place(self, X: np.ndarray, y: np.ndarray) -> tuple[Any, ...]:
        torch = self.torch
        Xd = torch.as_tensor(np.ascontiguousarray(X), dtype=self.dtype, device=self.device)
        classes = None
        if self.loss == "squared":
            yd = torch.as_tensor(y, dtype=self.dtype, device=self.device)
        else:
            classes, codes = np.unique(y, return_inverse=True)
            kind = self.dtype if len(classes) == 2 else torch.int64  # BCE: float; CE: index
            yd = torch.as_tensor(codes, dtype=kind, device=self.device)
        self.backend.synchronize()
        return Xd, yd, classes

    def fit(self, data: tuple[Any, ...]) -> None:
        torch, p = self.torch, self.p
        X, y, self.classes_ = data
        n, d = X.shape
        k = 1 if self.loss == "squared" or len(self.classes_) == 2 else len(self.classes_)
        model = torch.nn.Linear(d, k, bias=p.get("fit_intercept", True))
        model = model.to(device=self.device, dtype=self.dtype)
        for q in model.parameters():
            torch.nn.init.zeros_(q)
        groups = [{"params": [model.weight], "weight_decay": l2_alpha(p) or 0.0}]
        if model.bias is not None:
            groups.append({"params": [model.bias], "weight_decay": 0.0})
        bs = n if self.full_batch else min(int(p.get("batch_size", 32)), n)
        auto = _auto(p, self.loss)
        if auto is None:
            eta0 = float(p["eta0"])
        elif p.get("optimizer", "sgd") in ADAPTIVE_RATES:  # groundup's "auto": torch's lr
            eta0 = ADAPTIVE_RATES[p["optimizer"]]
        else:  # groundup's eta0="auto" of these rows, on their device (part of the fit)
            n_classes = 2 if self.loss == "squared" else len(self.classes_)
            eta0 = auto_eta0(X, n_classes=n_classes, full=bs >= n, **auto, xp=self.backend.xp)
        self.eta0_, self.eta0_auto = eta0, auto is not None
        opt = torch_optimizer(torch, p, groups, eta0)
        sched = None
        if p.get("learning_rate", "invscaling") == "invscaling":
            power_t = float(p.get("power_t", 0.25))
            # LambdaLR's step counts from 0 before the first update: update t = step + 1.
            sched = torch.optim.lr_scheduler.LambdaLR(
                opt, lambda step: 1.0 / float(step + 1) ** power_t
            )
        # the update's loss; the loss recorded per epoch: MSE (not ½), or the log-loss
        nn = torch.nn
        if self.loss == "squared":
            mse = nn.MSELoss()
            record = lambda out, target: mse(out[:, 0], target)  # noqa: E731
            crit = lambda out, target: 0.5 * mse(out[:, 0], target)  # noqa: E731
        elif len(self.classes_) == 2:
            bce = nn.BCEWithLogitsLoss()
            crit = record = lambda out, target: bce(out[:, 0], target)  # noqa: E731
        else:
            crit = record = nn.CrossEntropyLoss()
        rng = np.random.default_rng(p.get("random_state"))
        shuffle = p.get("shuffle", True) and not self.full_batch
        max_iter, tol = int(p.get("max_iter", 1000)), p.get("tol", 1e-3)
        self.tol_ = None if tol is None else float(tol)
        patience = int(p.get("n_iter_no_change", 5))
        history, best, no_improve, converged = [], math.inf, 0, False
        for _epoch in range(max_iter):
            order = torch.as_tensor(rng.permutation(n), device=self.device) if shuffle else None
            for start in range(0, n, bs):
                rows = slice(start, start + bs) if order is None else order[start : start + bs]
                opt.zero_grad(set_to_none=True)
                crit(model(X[rows]), y[rows]).backward()
                opt.step()
                if sched is not None:
                    sched.step()
            with torch.no_grad():
                loss = record(model(X), y)
            history.append(loss)
            if tol is None:
                continue
            value = float(loss)  # the one host sync per epoch: the stopping rule
            no_improve = no_improve + 1 if value > best - tol else 0
            best = min(best, value)
            if no_improve >= patience:
                converged = True
                break
        self.backend.synchronize()
        self.model = model
        self.loss_history_ = torch.stack(history).detach().cpu().double().numpy()
        self.n_iter_, self.converged_ = len(history), converged
        self.stop_reason_ = "tol" if converged else "max_iter"
        self.coef_ = model.weight.detach().cpu().numpy()
        self.intercept_ = np.zeros(k) if model.bias is None else model.bias.detach().cpu().numpy()
        if self.loss == "squared":
            self.coef_, self.intercept_ = self.coef_[0], self.intercept_[0]

    def _scores(self, X: np.ndarray) -> Any:
        torch = self.torch
        Xd = torch.as_tensor(np.asarray(X), dtype=self.dtype, device=self.device)
        with torch.no_grad():
            return self.model(Xd)

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.loss == "squared":
            return self._scores(X)[:, 0].cpu().numpy()
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        out = self._scores(X)
        if len(self.classes_) == 2:
            p1 = self.torch.sigmoid(out[:, 0]).cpu().double().numpy()
            return np.stack([1.0 - p1, p1], axis=1)
        return self.torch.softmax(out, dim=1).cpu().double().numpy()


#: The ``torch.optim`` class of each groundup optimiser.
TORCH_OPTIMIZERS = {"sgd": "SGD", "momentum": "SGD", "nesterov": "SGD", "adagrad": "Adagrad",
                    "rmsprop": "RMSprop", "adam": "Adam", "adamw": "AdamW"}  # fmt: skip


def torch_optimizer(torch: Any, p: dict[str, Any], groups: list[dict], lr: float) -> Any:
    """The ``torch.optim`` optimiser of groundup's ``optimizer`` with groundup's constants
    (each group's ``weight_decay``: L2 added to the gradient, AdamW's decoupled decay)."""
    name = p.get("optimizer", "sgd")
    momentum = float(p.get("momentum", 0.9))
    eps = float(p.get("epsilon", 1e-8))
    betas = (float(p.get("beta_1", 0.9)), float(p.get("beta_2", 0.999)))
    extra = {
        "sgd": {},
        "momentum": {"momentum": momentum, "nesterov": False},
        "nesterov": {"momentum": momentum, "nesterov": True},
        "adagrad": {"eps": 1e-10},
        "rmsprop": {"alpha": float(p.get("rho", 0.99)), "eps": eps},
        "adam": {"betas": betas, "eps": eps},
        "adamw": {"betas": betas, "eps": eps},
    }
    if name not in extra:
        msg = f"no torch.optim optimiser for optimizer={name!r}"
        raise ValueError(msg)
    return getattr(torch.optim, TORCH_OPTIMIZERS[name])(groups, lr=lr, **extra[name])


# -- the registry -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Peer:
    """A peer of one groundup ``model`` / ``method``: ``name`` (the ``impl`` column), the
    library it runs on (``backend``), ``build(params, device, dtype) -> PeerFit``, the
    ``learning_rate`` values it follows (``schedules``; None: it has none), whether it runs
    on the run's devices (else the CPU) and can stop early on a validation split."""

    name: str
    backend: str
    model: str
    method: str
    build: Any
    schedules: tuple[str, ...] | None = None
    on_device: bool = False
    early_stopping: bool = True

    def label(self, params: dict[str, Any]) -> str:
        """The ``impl`` name for ``params`` (the PyTorch loop names its optimiser)."""
        opt = params.get("optimizer", "sgd")
        if self.backend == "torch" and opt in TORCH_OPTIMIZERS:
            return self.name.replace("SGD", TORCH_OPTIMIZERS[opt])
        return self.name

    def unsupported(self, params: dict[str, Any]) -> str | None:
        """Why this peer cannot follow ``params`` (``None`` when it can)."""
        opt = params.get("optimizer", "sgd")
        if opt != "sgd" and self.backend == "sklearn":
            return f"{self.name} has plain SGD only (no optimizer={opt!r})"
        if self.backend == "torch" and params.get("penalty") in ("l1", "elasticnet"):
            return f"{self.name} has no L1 penalty (penalty={params['penalty']!r})"
        if self.backend == "torch" and params.get("average"):
            return f"{self.name} does not average (average={params['average']!r})"
        lr = params.get("learning_rate", "invscaling")
        if self.schedules is not None and lr not in self.schedules:
            return f"{self.name} has no learning_rate={lr!r} (it has {list(self.schedules)})"
        if params.get("early_stopping") and not self.early_stopping:
            return f"{self.name} stops on the training loss only (no early_stopping)"
        return None


def _torch_peers(model: str, loss: str) -> tuple[Peer, ...]:
    """The PyTorch loop beside ``batch`` (full batch) and ``minibatch``, on the run's devices."""
    return tuple(
        Peer("torch.optim.SGD loop", "torch", model, method,
             partial(TorchLoop, loss, full_batch=method == "batch"), _TORCH_SCHEDULES,
             on_device=True, early_stopping=False)
        for method in ("batch", "minibatch")
    )  # fmt: skip


PEERS: tuple[Peer, ...] = (
    Peer("sklearn.LinearRegression", "sklearn", "linear", "normal",
         partial(_sklearn, "LinearRegression")),
    Peer("sklearn.SGDRegressor", "sklearn", "linear", "sgd", partial(_sklearn, "SGDRegressor"),
         _SKLEARN_SCHEDULES),
    *_torch_peers("linear", "squared"),
    Peer("sklearn.LogisticRegression", "sklearn", "logistic", "newton",
         partial(_sklearn, "LogisticRegression")),
    Peer("sklearn.SGDClassifier", "sklearn", "logistic", "sgd",
         partial(_sklearn, "SGDClassifier"), _SKLEARN_SCHEDULES),
    *_torch_peers("logistic", "log"),
)  # fmt: skip


def peers_for(model: str, method: str) -> list[Peer]:
    """The peers that sit beside ``model`` / ``method``."""
    return [p for p in PEERS if p.model == model and p.method == method]
