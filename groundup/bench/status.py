"""How a peer's run ended, judged by groundup's own rules (the divergence rule of
:func:`groundup.kernels.descent.divergent_epoch`, the 1 % certificate of
:func:`groundup._problem.certificate`), so that a peer row and a groundup row that end the
same way read the same in the table."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from groundup import backends
from groundup._problem import certificate
from groundup.kernels import logistic as lk
from groundup.kernels.descent import divergent_epoch
from groundup.kernels.losses import SquaredLoss
from groundup.linear_model._base import CONVERGED, FLOOR

__all__ = ["STALLED", "Outcome", "judge_peer", "l2_alpha"]

#: The reason given under the table for a run that stopped far from the minimum.
STALLED = (
    "stopped more than 1 % above the minimum of its objective (the loss flattened along a "
    "valley, typically features on very different scales): scale the features "
    "(sklearn.preprocessing.StandardScaler) or lower tol"
)


@dataclass
class Outcome:
    """How a run ended.

    Attributes
    ----------
    stop : str
        ``"exact"`` (closed form), ``"tol"`` (its stopping rule), ``"max_iter"``,
        ``"stalled"`` (the rule fired far from the minimum), ``"separable"`` or
        ``"diverged"``.
    converged : bool
        ``stop`` is ``"exact"`` or ``"tol"``.
    final_loss : float
        Training loss at the end (MSE, or mean log-loss), NaN where not measured.
    reason : str
        Why a diverged or stalled run is one, with the remedy ("" otherwise).
    """

    stop: str
    converged: bool
    final_loss: float = math.nan
    reason: str = ""


def judge_peer(
    fitter: Any, X: np.ndarray, y: np.ndarray, *, model: str, params: dict[str, Any]
) -> Outcome:
    """Judge a fitted peer (:class:`~groundup.bench.peers.PeerFit`) on its training rows
    ``X``, ``y`` (host, labels as given), with groundup's ``params`` of the run."""
    stop, history = str(fitter.stop_reason_), fitter.loss_history_
    X = np.asarray(X, dtype=np.float64)
    with np.errstate(all="ignore"):
        objective, W, b, exact = _objective(fitter, X, y, model=model, params=params)
        reference = float(objective.zero_loss())
        if history is not None and len(history):
            losses = [float(v) for v in history]
        else:
            losses = [_final_loss(objective, W, b, X, y, model=model, exact=exact)]
    final = losses[-1]
    if stop == "exact":
        return Outcome(stop, True, final)
    eps = float(np.finfo(np.dtype(getattr(fitter, "dtype_", "float64"))).eps)
    auto = getattr(fitter, "eta0_auto", False)
    epoch = divergent_epoch(losses, reference, eps, ends_above=not auto)
    if epoch is not None:
        return Outcome("diverged", False, final, _diverged(fitter, losses, reference, epoch))
    fi, alpha = bool(params.get("fit_intercept", True)), l2_alpha(params)
    with np.errstate(all="ignore"):
        # no minimum to measure: an L1 penalty, another objective, separable classes
        unmeasured = alpha is None or not exact
        if unmeasured or (model == "logistic" and alpha == 0 and objective.separated(W, b)):
            return Outcome(stop, stop == "tol", final)
        check = certificate(
            objective, [alpha], fit_intercept=fi, floor=FLOOR, backend=backends.resolve("numpy")
        )
        excess = check.relative_excess(W, b, 0)
    if excess <= CONVERGED:
        return Outcome(stop, True, final)
    return Outcome("stalled" if stop == "tol" else stop, False, final, STALLED)


def l2_alpha(params: dict[str, Any]) -> float | None:
    """The L2 penalty of the objective (0.0 without one; None for an L1 or elastic-net one)."""
    penalty = params.get("penalty")
    return 0.0 if penalty is None else float(params.get("alpha", 1e-4)) if penalty == "l2" else None


def _objective(
    fitter: Any, X: np.ndarray, y: np.ndarray, *, model: str, params: dict[str, Any]
) -> tuple[Any, np.ndarray, np.ndarray, bool]:
    """groundup's objective, the peer's ``W``, ``b``, and whether the peer minimised it."""
    xp = backends.resolve("numpy").xp
    fi = bool(params.get("fit_intercept", True))
    coef = np.atleast_2d(np.asarray(fitter.coef_, dtype=np.float64))
    intercept = np.atleast_1d(np.asarray(fitter.intercept_, dtype=np.float64))
    W, b = coef.T, np.broadcast_to(intercept, (coef.shape[0],)).copy()
    if model == "linear":
        obj = SquaredLoss(X, np.asarray(y, dtype=np.float64), None, fit_intercept=fi, xp=xp)
        return obj, W, b, True
    classes, codes = np.unique(y, return_inverse=True)
    if len(classes) == 2:
        y01 = (codes == 1).astype(np.float64)
        obj = lk.BinaryLogLoss(X, y01, None, fit_intercept=fi, n_classes=2, xp=xp)
        return obj, W[:, :1], b[:1], True
    obj = lk.MultinomialLogLoss(
        X, codes.astype(np.int32), None, fit_intercept=fi, n_classes=len(classes), xp=xp
    )
    return obj, W, b, not getattr(fitter, "one_vs_rest", False)


def _final_loss(
    objective: Any,
    W: np.ndarray,
    b: np.ndarray,
    X: np.ndarray,
    y: np.ndarray,
    *,
    model: str,
    exact: bool,
) -> float:
    """The training loss at the peer's final coefficients; one-vs-rest: the worst binary
    log-loss, times log(n_classes) / log(2) (each starts from log 2)."""
    if model == "linear":
        r = X @ W[:, 0] + b[0] - np.asarray(y, dtype=np.float64)
        return float(np.mean(r * r))
    if exact:
        return float(objective.loss(W, b))
    xp = backends.resolve("numpy").xp
    _, codes = np.unique(y, return_inverse=True)
    worst = 0.0
    for c in range(W.shape[1]):  # each binary classifier against the rest, from log 2
        one = lk.BinaryLogLoss(X, (codes == c).astype(np.float64), None, n_classes=2, xp=xp)
        loss = float(one.loss(W[:, c : c + 1], b[c : c + 1]))
        worst = max(worst, loss) if math.isfinite(loss) else math.inf
    return worst * math.log(W.shape[1]) / math.log(2)


def _diverged(fitter: Any, losses: list[float], reference: float, epoch: int) -> str:
    """The reason of a diverged peer, in the words of groundup's ``DivergenceError``."""
    eta0 = getattr(fitter, "eta0_", None)
    step = "" if eta0 is None else f" (eta0 {eta0:.3g})"
    if len(losses) == 1:  # only the final loss is known
        when = f"was {losses[0]:.4g} after {int(fitter.n_iter_)} epoch(s)"
    else:
        when = f"became {losses[epoch - 1]:.4g} at epoch {epoch}"
    return (
        f"the training loss {when}, from {reference:.4g} at the start{step}. "
        "Lower eta0 or scale the features (sklearn.preprocessing.StandardScaler)."
    )
