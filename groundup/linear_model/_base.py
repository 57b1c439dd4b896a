"""What the linear and the logistic estimator share: their parameters (with their docs), the
fit skeleton, the gradient fit's common steps, the partial-fit history, and ``to``.

Each estimator's ``__init__`` is built from one documented list of parameters (:data:`SHARED`,
a numpydoc block, plus the estimator's own in ``_own_params``), so that scikit-learn sees an
explicit signature (``get_params``, ``clone``, ``check_estimator``) and every parameter is
written, with its default and its doc, once.

Where the data live decides how they are read, not how the model is fitted: the estimators
ask a data *source* for the passes they need (:mod:`groundup.linear_model._memory` for
arrays in memory, :mod:`groundup.dask` for Dask arrays), and run the same algorithm on
what it returns. The only question asked about Dask is :meth:`GroundupEstimator._source`'s.
"""

from __future__ import annotations

import ast
import copy
import inspect
import math
import re
import textwrap
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from groundup import backends
from groundup import dask as dask_layer
from groundup._params import GRADIENT, canonical_method, check_average, check_common
from groundup._typing import Array
from groundup.backends import Backend
from groundup.exceptions import DivergenceError
from groundup.kernels.curvature import is_stalled, safe_rate
from groundup.kernels.descent import DescentResult, DescentSettings, divergent_epoch
from groundup.kernels.optimizers import OptimizerSettings
from groundup.kernels.schedules import Schedule
from groundup.kernels.update import UpdateSettings, UpdateState, pack, unpack
from groundup.linear_model._memory import InMemory


# -- the parameters, documented once ----------------------------------------------------------
@dataclass(frozen=True)
class Param:
    """One constructor parameter: its name, default, numpydoc type and description."""

    name: str
    default: Any
    kind: str
    doc: str


def parse_params(text: str) -> tuple[Param, ...]:
    """The parameters of a numpydoc ``Parameters`` block: ``name : type, default=value``
    lines (the value a Python literal), each followed by its indented description."""
    params: list[Param] = []
    for entry in re.split(r"\n(?=\S)", textwrap.dedent(text).strip()):
        head, _, body = entry.partition("\n")
        name, _, spec = head.partition(" : ")
        kind, _, default = spec.rpartition(", default=")
        doc = " ".join(line.strip() for line in body.splitlines())
        params.append(Param(name.strip(), ast.literal_eval(default), kind, doc))
    return tuple(params)


#: The parameters both estimators take (after their own, ``method`` first), with their docs.
SHARED: tuple[Param, ...] = parse_params(
    """
    fit_intercept : bool, default=True
        Fit an intercept (the data are centred; the intercept is not penalised).
    penalty : {None, "l2", "l1", "elasticnet"}, default=None
        scikit-learn's penalties (the intercept is not penalised): ``"l2"`` ½·alpha·‖w‖²,
        ``"l1"`` alpha·‖w‖₁, ``"elasticnet"`` alpha·(l1_ratio·‖w‖₁ + ½(1 − l1_ratio)·‖w‖²).
        ``"l1"`` and ``"elasticnet"`` need a gradient method and ``optimizer="sgd"``:
        ``sgd`` and ``minibatch`` apply scikit-learn ``SGDRegressor``'s cumulative L1
        truncation after each update (Tsuruoka et al. 2009), ``batch`` takes proximal
        steps (soft thresholding) and converges to ``Lasso`` / ``ElasticNet`` with the same
        ``alpha`` and ``l1_ratio``. With an optimiser other than ``"sgd"``, ``"l2"`` adds
        alpha·w to the gradient (``"adamw"``: decoupled weight decay, AdamW's
        ``weight_decay=alpha``).
    alpha : float, default=1e-4
        Penalty strength; also the ``"optimal"`` schedule's constant.
    l1_ratio : float, default=0.15
        The elastic-net mixing parameter, in [0, 1] (``penalty="elasticnet"`` only): 0 is
        the L2 penalty, 1 the L1 penalty.
    learning_rate : str, default="invscaling"
        The schedule of the gradient methods: ``constant``, ``invscaling``, ``optimal``,
        ``adaptive``, ``time_decay``, ``exponential_decay``, ``step_decay``,
        ``cosine_annealing``, ``inverse_sqrt``, ``reciprocal``.
    eta0 : float or "auto", default="auto"
        Initial learning rate of the gradient methods. ``"auto"``: the largest step theory
        guarantees will not diverge, from the data at the start of the fit (kept in
        ``eta0_``): ``batch`` 1/L with L the largest eigenvalue of the loss's Hessian bound
        (the weighted Gram matrix of [X, 1] over the total weight, a quarter of it for the
        binary log-loss, half for the multinomial, + alpha); ``sgd`` and ``minibatch``
        scikit-learn's SAG rule 1 / (max_i w_i (‖x_i‖² + fit_intercept) + alpha) (4 / (... +
        4 alpha) for the log-loss); with ``optimizer="momentum"`` / ``"nesterov"`` the same
        (safe for heavy-ball momentum), with ``"adagrad"`` / ``"rmsprop"`` / ``"adam"`` /
        ``"adamw"``, whose steps are normalised per coordinate, torch.optim's default
        learning rate (1e-2, 1e-2, 1e-3, 1e-3). The schedule then acts on ``eta0_``. A number
        is used as it is (``sgd`` then equals ``SGDRegressor`` with that ``eta0``).
    power_t : float, default=0.25
        Exponent of ``invscaling``: eta0 / t**power_t.
    optimizer : str, default="sgd"
        The update of the gradient methods, each equal to ``torch.optim``'s for the same
        gradients and learning rates (the schedule sets each step's rate): ``"sgd"`` (the
        plain update, scikit-learn ``SGDRegressor``'s), ``"momentum"`` and ``"nesterov"``
        (``SGD(momentum=momentum, nesterov=...)``), ``"adagrad"`` (``Adagrad``, eps=1e-10),
        ``"rmsprop"`` (``RMSprop(alpha=rho, eps=epsilon)``), ``"adam"`` and ``"adamw"``
        (``Adam`` / ``AdamW(betas=(beta_1, beta_2), eps=epsilon)``). The optimiser's state
        is kept in ``optimizer_state_`` and carried by ``partial_fit`` and ``warm_start``.
    momentum : float, default=0.9
        ``"momentum"`` and ``"nesterov"``: the momentum, in [0, 1) (dampening 0).
    rho : float, default=0.99
        ``"rmsprop"``: decay of the average of squared gradients, in [0, 1).
    beta_1 : float, default=0.9
        ``"adam"``, ``"adamw"``: decay of the first-moment estimate, in [0, 1).
    beta_2 : float, default=0.999
        ``"adam"``, ``"adamw"``: decay of the second-moment estimate, in [0, 1).
    epsilon : float, default=1e-8
        ``"adam"``, ``"adamw"``, ``"rmsprop"``: added to the denominator, > 0.
    average : bool or int, default=False
        Averaged SGD (scikit-learn's): ``True`` averages the weights from the first update
        on, an int ``N`` from update ``N`` on; ``coef_`` and ``intercept_`` are then the
        averages (once an update has been averaged) while the running weights go on in
        ``partial_fit``. ``loss_history_`` and the stopping rule follow the running weights,
        as scikit-learn's do.
    max_iter : int, default=1000
        Maximum number of epochs.
    tol : float or None, default=1e-3
        Stop when the training loss (the validation score with ``early_stopping``) has not
        improved by ``tol`` for ``n_iter_no_change`` epochs. ``None``: run ``max_iter``
        epochs, with no host synchronisation per epoch.
    n_iter_no_change : int, default=5
        Epochs without improvement before stopping (or, for ``adaptive``, dividing eta by 5).
    early_stopping : bool, default=False
        Gradient methods: hold out ``validation_fraction`` of the data and stop on its score.
    validation_fraction : float, default=0.1
        Share of the data held out for early stopping, in (0, 1).
    shuffle : bool, default=True
        Shuffle the samples every epoch (``sgd``, ``minibatch``).
    random_state : int, Generator or None, default=None
        Seeds the NumPy ``Generator`` that draws every permutation on the host: the same
        seed visits the samples in the same order on every backend.
    warm_start : bool, default=False
        Start gradient methods from the previous ``coef_`` and ``intercept_``.
    batch_size : int, default=32
        Samples per update for ``minibatch``.
    backend : str or None, default=None
        ``"numpy"``, ``"torch"``, ``"cupy"``, ``"jax"``, ``"array_api_strict"``,
        ``"dask"``; ``None`` takes the input's own library and device.
    device : str or None, default=None
        ``"cpu"``, ``"cuda"`` / ``"gpu"``, ``"mps"`` or the library's own spelling.
    dtype : {None, "float32", "float64"}, default=None
        ``None``: floating X keeps its dtype, other X becomes float64 (float32 on devices
        without float64).
    decay : float, default=1e-3
        ``time_decay`` (eta0 / (1 + decay·t)) and ``exponential_decay`` (eta0·e^(−decay·t)).
    drop : float, default=0.5
        ``step_decay`` factor: eta0·drop^⌊t / epochs_drop⌋.
    epochs_drop : float, default=10
        ``step_decay`` span, in epochs.
    eta_min : float, default=0.0
        ``cosine_annealing`` floor.
    t_max : float or None, default=None
        ``cosine_annealing`` span in epochs (``None``: ``max_iter``).
    t1 : float, default=50
        ``reciprocal``: eta0·t1 / (t + t1).
    record_path : bool, default=False
        Keep ``coef_`` and ``intercept_`` after every epoch (or Newton iteration) in
        ``path_``, for plots of the optimiser's path.
    """
)

#: The fitted attributes both estimators have (a class docstring's ``{attributes}`` line).
ATTRIBUTES = """t_ : int
        Updates made plus one (scikit-learn's convention).
    converged_ : bool
        The stopping rule fired near a minimum (a gradient fit whose rule fired while the
        loss was still far above its minimum warns and says False: ``stop_reason_``).
    stop_reason_ : str
        Why the fit ended: ``"exact"`` (closed forms), ``"tol"`` (the stopping rule, near a
        minimum), ``"stalled"`` (the stopping rule fired far from the minimum: the loss
        flattened along a valley, typically unscaled features), ``"max_iter"``, or for
        Newton's method on separable classes ``"separable"``.
    eta0_ : float
        The initial learning rate the gradient methods used (``eta0``, or the value
        ``eta0="auto"`` computed).
    fit_time_ : float
        Seconds, device synchronised.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only for pandas input with string column names.
    backend_, device_ : str
        Where ``coef_`` lives.
    optimizer_state_ : UpdateState or None
        Gradient methods: what the updates carry to a later ``partial_fit`` (and, but for
        the average, to a ``warm_start`` fit), on the model's device: ``optimizer`` (the
        optimiser's state arrays, by ``torch.optim``'s names in ``optimizer.as_dict()``,
        each packed as [coef rows; intercept row], and its ``step`` count), ``average`` and
        ``running`` (the averaged and the running weights, packed alike, with
        ``average``). ``None`` for the plain update."""


def _render(params: tuple[Param, ...], overrides: dict[str, str]) -> str:
    """The numpydoc ``Parameters`` section of ``params`` (4-space indented, as a class's)."""
    lines = ["Parameters", "----------"]
    for p in params:
        default = f'"{p.default}"' if isinstance(p.default, str) else repr(p.default)
        lines.append(f"{p.name} : {p.kind}, default={default}")
        text = overrides.get(p.name, p.doc)
        lines += textwrap.wrap(text, 88, initial_indent="    ", subsequent_indent="    ")
    return "\n".join("    " + line if line else line for line in lines)


def _constructor(params: tuple[Param, ...]) -> Any:
    """An ``__init__`` that stores every parameter as it is given, as scikit-learn asks,
    with the explicit signature scikit-learn's ``get_params`` reads (``method`` positional,
    the rest keyword-only)."""
    kinds = [inspect.Parameter.POSITIONAL_OR_KEYWORD] + [inspect.Parameter.KEYWORD_ONLY] * (
        len(params) - 1
    )
    signature = inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [
            inspect.Parameter(p.name, kind, default=p.default)
            for p, kind in zip(params, kinds, strict=True)
        ]
    )

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        for name, value in list(bound.arguments.items())[1:]:
            setattr(self, name, value)

    __init__.__signature__ = signature  # type: ignore[attr-defined]
    return __init__


_FIT_X = (
    "NumPy, pandas, list, or an array of any supported library (a Dask array or DataFrame "
    "fits on Dask: :mod:`groundup.dask`)."
)


def fit_doc(*, y: str = "", sample_weight: str = "", classes: str = "") -> Callable[[Any], Any]:
    """Give a model's ``fit`` (or, where its name says so, ``partial_fit``) the docstring
    both models share, with the model's own words for ``y`` and ``sample_weight`` (``""``:
    none) and, for a classifier's ``partial_fit``, ``classes``."""

    def param(head: str, doc: str) -> list[str]:
        return [head] + textwrap.wrap(doc, 84, initial_indent="    ", subsequent_indent="    ")

    def decorate(fit: Any) -> Any:
        partial = fit.__name__ == "partial_fit"
        lines = [
            "One epoch of the gradient method over ``X``, continuing from the current state."
            if partial
            else "Fit the model.",
            "",
            "Parameters",
            "----------",
            *param("X : array of shape (n_samples, n_features)", "" if partial else _FIT_X),
            *param("y : array of shape (n_samples,)", y),
            *(param("classes : array of shape (n_classes,), optional", classes) if classes else []),
            *param("sample_weight : array of shape (n_samples,), optional", sample_weight),
            "",
            "Returns",
            "-------",
            "self",
        ]
        fit.__doc__ = (
            "\n".join(("        " + line if line and i else line) for i, line in enumerate(lines))
            + "\n        "
        )
        return fit

    return decorate


#: ``eta0="auto"`` of the optimisers whose steps are normalised per coordinate (a bound on
#: the curvature says nothing about them): torch.optim's default learning rates.
ADAPTIVE_RATES = {"adagrad": 1e-2, "rmsprop": 1e-2, "adam": 1e-3, "adamw": 1e-3}


# -- the estimator base ------------------------------------------------------------------------
@dataclass
class GradientRun:
    """What :meth:`GroundupEstimator._run_gradient` leaves for a model to finish its fit."""

    problem: Any  # the training rows' problem (its objective, the held-out rows)
    res: DescentResult
    history: np.ndarray  # the loss after each epoch
    reference: float  # the loss the divergence check compares with
    W: Array  # the model's weights: the averages where averaging has started
    b: Array


class GroundupEstimator(BaseEstimator):
    """Base class of :class:`~groundup.LinearRegression` and
    :class:`~groundup.LogisticRegression`.

    A subclass sets ``_model`` ("linear" / "logistic"), ``_methods`` (its method names),
    ``_own_params`` (its parameters before :data:`SHARED`, ``method`` first) and
    ``_param_docs`` (model-specific wording of shared parameters) and ``_path_point(W, b)``
    (the engine's ``W``, ``b`` as ``coef_``, ``intercept_``); its docstring holds the lines
    ``{parameters}`` and ``{attributes}`` where the shared sections go. The fitted state lives on
    ``backend_`` / ``device_`` (strings, so that a model pickles anywhere).
    """

    _model: ClassVar[str] = ""
    _methods: ClassVar[tuple[str, ...]] = ()
    _own_params: ClassVar[tuple[Param, ...]] = ()
    _param_docs: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        params = cls._own_params + SHARED
        cls.__init__ = _constructor(params)  # type: ignore[method-assign]
        if cls.__doc__ and "{parameters}" in cls.__doc__:
            section = _render(params, cls._param_docs).lstrip()
            cls.__doc__ = cls.__doc__.replace("{parameters}", section)
            cls.__doc__ = cls.__doc__.replace("{attributes}", ATTRIBUTES)

    # -- parameters ---------------------------------------------------------------------------
    def _check_params(self) -> None:
        self._method = canonical_method(self.method, self._methods, self._model)
        check_common(self)

    def _has_partial_fit(self) -> bool:
        try:
            return canonical_method(self.method, self._methods, self._model) in GRADIENT
        except (TypeError, ValueError):
            return False

    def _check_partial_method(self) -> None:
        if self._method not in GRADIENT:
            msg = (
                f"partial_fit needs a gradient method ('batch', 'sgd', 'minibatch'), "
                f"got method={self.method!r}; use fit for closed forms."
            )
            raise ValueError(msg)
        if self.early_stopping:  # scikit-learn's SGD estimators refuse it too
            msg = (
                "early_stopping=True is not supported by partial_fit: it would hold out "
                "validation_fraction of every batch and never use it. Use fit for early "
                "stopping, or set early_stopping=False."
            )
            raise ValueError(msg)

    def _penalty_alpha(self) -> float:
        """The L2 strength: alpha (``"l2"``), (1 − l1_ratio)·alpha (``"elasticnet"``)."""
        if self.penalty == "l2":
            return float(self.alpha)
        if self.penalty == "elasticnet":
            return (1.0 - float(self.l1_ratio)) * float(self.alpha)
        return 0.0

    def _penalty_l1(self) -> float:
        """The L1 strength: alpha (``"l1"``), l1_ratio·alpha (``"elasticnet"``)."""
        if self.penalty == "l1":
            return float(self.alpha)
        if self.penalty == "elasticnet":
            return float(self.l1_ratio) * float(self.alpha)
        return 0.0

    def _check_closed_penalty(self) -> None:
        """Closed forms (and Newton) take None and ``"l2"`` only."""
        if self.penalty in ("l1", "elasticnet"):
            msg = (
                f"penalty={self.penalty!r} has no closed form: method={self.method!r} takes "
                "penalty=None or 'l2'. Use method='batch' (proximal gradient descent, which "
                "converges to scikit-learn's Lasso / ElasticNet), or 'sgd' / 'minibatch'."
            )
            raise ValueError(msg)

    def _update_settings(self) -> UpdateSettings:
        """The optimiser, the L1 part of the penalty and averaging, for the engine."""
        return UpdateSettings(
            optimizer=OptimizerSettings(
                name=self.optimizer,
                momentum=float(self.momentum),
                rho=float(self.rho),
                beta_1=float(self.beta_1),
                beta_2=float(self.beta_2),
                epsilon=float(self.epsilon),
            ),
            l1=self._penalty_l1(),
            average=check_average(self.average),
        )

    # -- where the data are read --------------------------------------------------------------
    def _source(
        self, X: Any, y: Any, sample_weight: Any, *, reset: bool, labels: bool, partial: bool
    ) -> Any:
        """The validated data as a source of passes: :class:`groundup.dask.DaskSource` for
        Dask data (or ``backend="dask"``, or a ``partial_fit`` of a Dask-fitted model),
        :class:`InMemory` otherwise (a later ``partial_fit`` on the fitted model's backend)."""
        fitted = getattr(self, "backend_", None) if partial else None
        if dask_layer.wanted(self.backend, X, fitted_backend=fitted):
            return dask_layer.DaskSource.validate(
                self, X, y, sample_weight, reset=reset, labels=labels
            )
        model = None if reset else self._model_backend()
        return InMemory.validate(
            self, X, y, sample_weight, reset=reset, labels=labels, backend=model
        )

    # -- the fit skeleton ---------------------------------------------------------------------
    def _full_run(self) -> dict[str, Any]:
        """``fit``'s run of a gradient method."""
        warm = self.warm_start and hasattr(self, "coef_")
        return {"max_iter": self.max_iter, "tol": self.tol, "warm": warm, "t0": 1, "partial": False}

    def _partial_run(self, first: bool) -> dict[str, Any]:
        """``partial_fit``'s run: one epoch from the current state, ``t_`` running on."""
        t0 = 1 if first else int(self.t_)
        return {"max_iter": 1, "tol": None, "warm": not first, "t0": t0, "partial": not first}

    def _continue_history(self, old: np.ndarray | None) -> None:
        """After a ``partial_fit`` epoch: the new epoch appended to the earlier history."""
        if old is not None:
            self.loss_history_ = np.concatenate([old, self.loss_history_])
            self.n_iter_ = len(self.loss_history_)

    def _timed(self, source: Any, fit: Any, *args: Any, **kwargs: Any) -> None:
        """Run ``fit`` under the source's quiet floating point; ``fit_time_`` in seconds,
        device synchronised."""
        start = time.perf_counter()
        with source.backend.quiet_floating_point():
            fit(source, *args, **kwargs)
        source.backend.synchronize(self.coef_, self.intercept_)
        self.fit_time_ = time.perf_counter() - start

    # -- gradient descent ---------------------------------------------------------------------
    def _schedule(self, updates_per_epoch: int) -> Schedule:
        return Schedule(
            name=self.learning_rate,
            eta0=float(self.eta0_),
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

    def _batch_size(self, n: int) -> int:
        if self._method == "batch":
            return n
        if self._method == "sgd":
            return 1
        return min(int(self.batch_size), n)

    def _held_out(self, n: int, rng: np.random.Generator) -> np.ndarray | None:
        """The early-stopping rows (host indices, in the order drawn), the first draw from
        ``rng`` on every data source; ``None`` without ``early_stopping``."""
        if not self.early_stopping:
            return None
        n_val = math.ceil(self.validation_fraction * n)
        if n_val < 1 or n - n_val < 1:
            msg = (
                f"early_stopping with validation_fraction={self.validation_fraction} leaves "
                f"no training or no validation sample out of n_samples={n}; use more samples "
                "or early_stopping=False."
            )
            raise ValueError(msg)
        return rng.permutation(n)[:n_val]

    def _descend(
        self,
        source: Any,
        problem: Any,
        W: Array,
        b: Array,
        *,
        rng: np.random.Generator,
        max_iter: int,
        tol: float | None,
        t0: int,
        start_loss: Array | None = None,
        carry: bool = False,
        partial: bool = False,
    ) -> tuple[DescentResult, np.ndarray, float]:
        """Run the problem's descent (the engine in memory or on the host; the chunks
        streamed on Dask) from ``eta0_``, then raise on divergence: a non-finite loss from
        NaN / inf in X is reported as such (the source searches X only then), else a
        ``DivergenceError``. Returns the result, the loss history and the reference loss.

        ``carry``: start the optimiser from ``optimizer_state_`` (``warm_start``, a later
        ``partial_fit``); ``partial``: a later ``partial_fit``, which also continues the
        average and the running weights (``W``, ``b`` are replaced by them)."""
        self.eta0_ = self._rate(source, problem, continuing=t0 > 1)
        bs = self._batch_size(problem.rows)
        update = self._update_settings()
        state = self._carried_state(source, carry=carry, partial=partial)
        if partial and state is not None and state.running is not None:
            W, b = unpack(state.running)
        settings = DescentSettings(
            max_iter=max_iter,
            batch_size=bs,
            alpha=self._penalty_alpha(),
            fit_intercept=self.fit_intercept,
            tol=None if tol is None else float(tol),
            n_iter_no_change=self.n_iter_no_change,
            early_stopping=self.early_stopping and tol is not None,
            record_path=self.record_path,
            update=update,
        )
        res, history, reference = problem.run(
            W,
            b,
            schedule=self._schedule(problem.updates_per_epoch(bs)),
            settings=settings,
            shuffle=self.shuffle,
            rng=rng,
            t0=t0,
            start_loss=start_loss,
            state=state,
        )
        eps = float(source.compute.xp.finfo(source.dtype).eps)
        # With eta0="auto" the step cannot diverge: a loss that ends above its start is a
        # stochastic fit stopped on a plateau (``_check_stalled`` says so), not a blow-up.
        ends_above = not self._auto_rate()
        epoch = res.diverged_at or divergent_epoch(
            history.tolist(), reference, eps, ends_above=ends_above
        )
        if epoch is not None:
            if not np.isfinite(history[epoch - 1]):
                source.raise_nonfinite()  # NaN / inf in X: say so, not "diverged"
            self._raise_divergence(history, reference, epoch)
        return res, history, reference

    def _run_gradient(
        self,
        source: Any,
        make_problem: Any,
        *,
        max_iter: int,
        tol: float | None,
        warm: bool,
        t0: int,
        partial: bool,
        zero_start: bool = False,
    ) -> GradientRun:
        """``batch`` / ``sgd`` / ``minibatch``, the part both models share: the problem
        ``make_problem(held_out_rows)`` descended (:meth:`_descend`) from ``_start`` (zeros,
        or the previous fit with ``warm``), what the updates carry kept, and the fitted
        state of :meth:`_set_descent`. ``zero_start``: a fresh fit starts at the loss of the
        zero model, which the objective knows without a pass over X."""
        rng = np.random.default_rng(self.random_state)
        problem = make_problem(self._held_out(source.n, rng))
        W, b = self._start(source, warm)
        res, history, reference = self._descend(
            source,
            problem,
            W,
            b,
            rng=rng,
            max_iter=max_iter,
            tol=tol,
            t0=t0,
            start_loss=problem.objective.zero_loss() if zero_start and not warm else None,
            carry=warm,
            partial=partial,
        )
        W, b = self._finish_update(res, source.compute.xp, t0)
        self._set_descent(res, history, source.compute, t0)
        return GradientRun(problem, res, history, reference, W, b)

    def _rate(self, source: Any, problem: Any, *, continuing: bool) -> float:
        """``eta0_``: ``eta0`` as given, or for ``eta0="auto"`` the largest step that cannot
        diverge, ``1 / (q curvature + alpha)`` of the training rows
        (:mod:`groundup.kernels.curvature`; a later ``partial_fit`` keeps the first one)."""
        if not self._auto_rate():
            return float(self.eta0)
        if continuing and hasattr(self, "eta0_"):
            return float(self.eta0_)
        if self.optimizer in ADAPTIVE_RATES:  # steps normalised per coordinate: torch's lr
            return ADAPTIVE_RATES[self.optimizer]
        # Updates over all the rows (batch, or mini-batches as large as the data) take the
        # full Gram matrix's bound (the same for weights as for repeated rows); smaller
        # batches the largest single row's.
        batch = self._batch_size(problem.rows) >= problem.rows
        c = problem.curvature(batch=batch, fit_intercept=self.fit_intercept)
        if not math.isfinite(c):
            source.raise_nonfinite()  # NaN / inf in X: say where
            msg = (
                "eta0='auto' found the squares of X overflow (features of huge magnitude); "
                "scale the features (sklearn.preprocessing.StandardScaler) or pass a number "
                "as eta0."
            )
            raise ValueError(msg)
        top = float(source.compute.xp.finfo(source.dtype).max)  # the step must fit the dtype
        return safe_rate(c, q=self._hessian_factor(), alpha=self._penalty_alpha(), top=top)

    def _auto_rate(self) -> bool:
        return isinstance(self.eta0, str) and self.eta0 == "auto"

    def _hessian_factor(self) -> float:
        """``q``: the loss's Hessian is at most ``q`` times the Gram matrix of ``[X, 1]``."""
        return 1.0

    def _check_stalled(
        self, problem: Any, res: DescentResult, history: np.ndarray, reference: float
    ) -> None:
        """The honest ``converged_``: where the stopping rule fired, how far the training
        loss is above its minimum (``problem.excess``: from the moments for the squared
        loss, one pass otherwise; ``kernels.curvature.is_stalled``): far from it the fit
        only flattened along a valley: ``converged_``
        is False, ``stop_reason_`` is ``"stalled"`` and a ConvergenceWarning says how far
        and what to do."""
        if not res.converged:
            self.stop_reason_ = "max_iter"
            return
        self.stop_reason_ = "tol"
        if self._penalty_l1():  # the decrement needs a smooth loss: L1 is not checked
            return
        alpha = self._penalty_alpha()
        W, b = self._model_weights(res)
        excess = problem.excess(W, b, alpha=alpha, fit_intercept=self.fit_intercept)
        loss = float(history[-1])
        if not is_stalled(excess, loss, reference, float(self.tol)):
            return
        minimum = max(loss - excess, 0.0)
        res.converged = self.converged_ = False
        self.stop_reason_ = "stalled"
        where = f"{100 * excess / minimum:.3g} %" if minimum > 0 else f"{excess:.3g}"
        travelled = max(reference - minimum, excess)
        warnings.warn(
            f"The stopping rule fired after {res.n_iter} epoch(s) (tol={self.tol}, "
            f"n_iter_no_change={self.n_iter_no_change}) far from the minimum: the training "
            f"loss is still {where} above it, with {100 * math.sqrt(excess / travelled):.2g} % "
            "of the gradient at the start left (in the Hessian's metric). Gradient descent "
            "has flattened along a valley, typically features on very different scales: "
            "scale the features (sklearn.preprocessing.StandardScaler; --scale on the command "
            "line), or lower tol.",
            ConvergenceWarning,
            stacklevel=5,
        )

    def _carried_state(self, source: Any, *, carry: bool, partial: bool) -> UpdateState | None:
        """The optimiser's state (and, in a later ``partial_fit``, the average and the
        running weights) that this run starts from, on the source's compute backend."""
        old = getattr(self, "optimizer_state_", None) if carry else None
        if old is None:
            return None
        be = source.compute

        def here(a: Array) -> Array:
            src = backends.from_array(a)
            if backends.same_place(src, be):
                return be.xp.astype(a, source.dtype)
            return be.asarray(src.to_numpy(a), dtype=source.dtype)

        state = old.map(here)
        if not partial:  # warm_start: the average starts afresh (scikit-learn's)
            state.average = state.running = None
        return state

    def _model_weights(self, res: DescentResult) -> tuple[Array, Array]:
        """The engine's ``W``, ``b`` of the fitted model (the averages where averaging has
        started: what ``coef_`` and ``intercept_`` hold)."""
        state = res.state
        if state is not None and state.running is not None and self._averaged:
            return unpack(state.average)
        return res.W, res.b

    def _finish_update(self, res: DescentResult, xp: Any, t0: int) -> tuple[Array, Array]:
        """Keep what the updates carry in ``optimizer_state_`` (with the running weights
        when averaging) and return the model's ``W``, ``b``: the averages once an update
        has been averaged (scikit-learn's ``average <= t_ - 1``), else the running ones."""
        state = res.state
        self._averaged = False
        if state is None:
            self.optimizer_state_ = None
            return res.W, res.b
        state.l1 = None  # the truncation's state lives for one call (scikit-learn's)
        start = check_average(self.average)
        state.running = pack(res.W, res.b, xp=xp) if start else None
        self.optimizer_state_ = state
        self._averaged = bool(start and start <= t0 + res.updates - 1)
        if self._averaged:
            return unpack(state.average)
        return res.W, res.b

    def _raise_divergence(self, history: Any, reference: float, epoch: int) -> None:
        msg = (
            f"Gradient descent diverged: the training loss became {history[epoch - 1]:.4g} "
            f"at epoch {epoch}, from {reference:.4g} at the start "
            f"(method={self.method!r}, eta0={self.eta0!r} ({self.eta0_:.3g}), "
            f"learning_rate={self.learning_rate!r}). Lower eta0 or scale the features "
            "(sklearn.preprocessing.StandardScaler)."
        )
        raise DivergenceError(msg)

    def _set_descent(self, res: DescentResult, history: np.ndarray, host: Backend, t0: int) -> None:
        """The fitted state a gradient fit shares: history, counters, the recorded path."""
        self.loss_history_ = history
        self.n_iter_ = res.n_iter
        self.t_ = t0 + res.updates
        self.converged_ = res.converged
        if self.record_path:
            self.path_ = [self._path_point(host.to_numpy(w), host.to_numpy(c)) for w, c in res.path]

    def _warn_not_converged(self, res: DescentResult, max_iter: int, tol: float | None) -> None:
        if tol is not None and not res.converged and res.n_iter == max_iter:
            warnings.warn(
                f"Maximum number of iteration reached before convergence ({max_iter} epochs, "
                f"tol={tol}). Consider increasing max_iter, raising eta0 or scaling the "
                "features to improve the fit.",
                ConvergenceWarning,
                stacklevel=5,
            )

    # -- the fitted model ---------------------------------------------------------------------
    def _model_backend(self) -> Backend:
        return backends.resolve(self.backend_, self.device_)

    def _remember_backend(self, be: Backend) -> None:
        self.backend_ = be.name
        self.device_ = be.device_name

    def _device_attributes(self) -> tuple[str, ...]:
        return ("coef_", "intercept_")

    def _move_state(self, new: GroundupEstimator, target: Backend) -> None:
        state = getattr(self, "optimizer_state_", None)
        if state is not None:
            new.optimizer_state_ = state.map(lambda a: target.asarray(backends.to_numpy(a)))

    def _lazy_input(self, X: Any) -> bool:
        """``predict`` / ``score`` on Dask input, or of a Dask-fitted model."""
        return dask_layer.wanted_predict(getattr(self, "backend_", None), X)

    def _lazy_model(self) -> dask_layer.LazyModel:
        """The fitted model for Dask input: ``coef`` (n_features,) or (n_features, k)."""
        coef = np.asarray(backends.to_numpy(self.coef_))
        coef = coef if coef.ndim == 1 else coef.T
        intercept = np.asarray(backends.to_numpy(self.intercept_), dtype=coef.dtype)
        return dask_layer.LazyModel(
            self, coef, intercept, accepts_1d=getattr(self, "_accepts_1d", False)
        )

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
        dtype_name = str(np.dtype(backends.to_numpy(self.coef_).dtype))
        if dtype_name == "float64" and not target.has_float64():
            msg = (
                f"This model is float64 but the {target.name} backend on {target.device_name} "
                "has no float64; refit with dtype='float32'."
            )
            raise ValueError(msg)
        for attr in self._device_attributes():
            value = getattr(self, attr, None)
            if value is not None:
                setattr(new, attr, target.asarray(backends.to_numpy(value)))
        self._move_state(new, target)
        new._remember_backend(target)
        return new

    def __sklearn_tags__(self):  # noqa: ANN204 - scikit-learn's Tags
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags
