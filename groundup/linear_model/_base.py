"""What the linear and the logistic estimator share: the documentation of their shared
parameters and attributes, the parameter checks, the gradient fit, the partial-fit history,
``to``. Each estimator writes out its own ``__init__``.

The estimators ask a data source (:class:`~groundup._problem.DataSource`: in memory, or
:mod:`groundup.dask`) for the passes they need and run the same algorithm on what it returns;
only :meth:`GroundupEstimator._source` asks about Dask.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from groundup import backends
from groundup import dask as dask_layer
from groundup._problem import DataSource, InMemory, Preconditioner, TrainingProblem, certificate
from groundup._typing import Array
from groundup._validation import GRADIENT, canonical_method, check_params, prepare_fit
from groundup.backends import Backend
from groundup.exceptions import DivergenceError
from groundup.kernels.curvature import hessian_factor, safe_rate
from groundup.kernels.descent import (
    Certificate,
    Column,
    DescentResult,
    DescentSettings,
)
from groundup.kernels.losses import largest
from groundup.kernels.optimizers import OptimizerSettings
from groundup.kernels.schedules import Schedule
from groundup.kernels.update import UpdateSettings, pack, unpack
from groundup.linear_model._labels import n_outputs

#: The parameters both estimators take, after their own, in the constructors' order (pasted
#: into each class docstring).
SHARED_PARAMETERS = """\
    fit_intercept : bool, default=True
        Fit an intercept (the data are centred; the intercept is not penalised).
    penalty : {None, "l2", "l1", "elasticnet"}, default=None
        scikit-learn's penalties (the intercept is not penalised): ``"l2"`` ½·alpha·‖w‖², ``"l1"``
        alpha·‖w‖₁, ``"elasticnet"`` alpha·(l1_ratio·‖w‖₁ + ½(1 − l1_ratio)·‖w‖²). ``"l1"`` and
        ``"elasticnet"`` need a gradient method and ``optimizer="sgd"``: ``sgd`` and ``minibatch``
        apply scikit-learn ``SGDRegressor``'s cumulative L1 truncation after each update (Tsuruoka
        et al. 2009), ``batch`` takes proximal steps (soft thresholding) and converges to ``Lasso``
        / ``ElasticNet`` with the same ``alpha`` and ``l1_ratio``. With an optimiser other than
        ``"sgd"``, ``"l2"`` adds alpha·w to the gradient (``"adamw"``: decoupled weight decay,
        AdamW's ``weight_decay=alpha``). Without a penalty, separable classes have no finite
        logistic solution: the fit stops with a ``ConvergenceWarning`` that says so.
    alpha : float, default=0.0001
        Penalty strength; also the ``"optimal"`` schedule's constant.
    l1_ratio : float, default=0.15
        The elastic-net mixing parameter, in [0, 1] (``penalty="elasticnet"`` only): 0 is the L2
        penalty, 1 the L1 penalty.
    learning_rate : str, default="invscaling"
        The schedule of the gradient methods: ``constant``, ``invscaling``, ``optimal``,
        ``adaptive``, ``time_decay``, ``exponential_decay``, ``step_decay``, ``cosine_annealing``,
        ``inverse_sqrt``, ``reciprocal``.
    eta0 : float or "auto", default="auto"
        Initial learning rate of the gradient methods; the schedule acts on ``eta0_``. A number is
        used as it is (``sgd`` then equals ``SGDRegressor`` with that ``eta0``). ``"auto"`` derives
        it from the data at the start of the fit, per optimiser. ``"sgd"``: the largest step theory
        guarantees will not diverge: ``batch`` 1/L, L the largest eigenvalue of the loss's Hessian
        bound (the weighted Gram matrix of [X, 1] over the total weight, times ¼ for the binary
        log-loss and ½ for the multinomial, + alpha; Nesterov 2018, §2.1.5); ``sgd`` and
        ``minibatch`` scikit-learn's SAG rule 1 / (max_i w_i (‖x_i‖² + fit_intercept) + alpha) (4 /
        (... + 4 alpha) for the log-loss; Schmidt, Le Roux & Bach 2017). ``"momentum"`` /
        ``"nesterov"``: full batch the same 1/L (within heavy-ball's and Nesterov's stable steps;
        Polyak 1964), one-sample and mini-batch updates (1 − momentum) times the SAG rule (plain
        SGD's effective step). ``"adagrad"``, ``"rmsprop"``, ``"adam"``, ``"adamw"`` (steps
        normalised per coordinate, in the parameters' units): preconditioned 1, 0.1, 0.01 and 0.01
        (of a standardised coefficient; measured on the real data sets of ``tests/_real_data.py``),
        else torch.optim's defaults (1e-2, 1e-2, 1e-3, 1e-3). ``tol="auto"`` then adapts the rate to
        the run (see ``tol``).
    power_t : float, default=0.25
        Exponent of ``invscaling``: eta0 / t**power_t.
    optimizer : str, default="sgd"
        The update of the gradient methods, each equal to ``torch.optim``'s for the same gradients
        and learning rates (the schedule sets each step's rate): ``"sgd"`` (the plain update,
        scikit-learn ``SGDRegressor``'s), ``"momentum"`` and ``"nesterov"``
        (``SGD(momentum=momentum, nesterov=...)``), ``"adagrad"`` (``Adagrad``, eps=1e-10),
        ``"rmsprop"`` (``RMSprop(alpha=rho, eps=epsilon)``), ``"adam"`` and ``"adamw"`` (``Adam`` /
        ``AdamW(betas=(beta_1, beta_2), eps=epsilon)``). The optimiser's state is kept in
        ``optimizer_state_`` and carried by ``partial_fit`` and ``warm_start``.
    momentum : float, default=0.9
        ``"momentum"`` and ``"nesterov"``: the momentum, in [0, 1) (dampening 0).
    rho : float, default=0.99
        ``"rmsprop"``: decay of the average of squared gradients, in [0, 1).
    beta_1 : float, default=0.9
        ``"adam"``, ``"adamw"``: decay of the first-moment estimate, in [0, 1).
    beta_2 : float, default=0.999
        ``"adam"``, ``"adamw"``: decay of the second-moment estimate, in [0, 1).
    epsilon : float, default=1e-08
        ``"adam"``, ``"adamw"``, ``"rmsprop"``: added to the denominator, > 0.
    average : bool or int, default=False
        Averaged SGD (scikit-learn's): ``True`` averages the weights from the first update on, an
        int ``N`` from update ``N`` on; ``coef_`` and ``intercept_`` are then the averages (once an
        update has been averaged) while the running weights go on in ``partial_fit``.
        ``loss_history_`` and the stopping rule follow the running weights, as scikit-learn's do.
    max_iter : int, default=1000
        Maximum number of epochs (gradient methods) or Newton iterations.
    tol : "auto", float or None, default="auto"
        Gradient methods. ``"auto"``: scale-free, the fit stops once its objective (loss + penalty
        on the training rows) is certified within 0.1 % of its minimum (see ``converged_``; least
        squares every epoch, the log-loss once the loss improves by less than 1e-4, relative, for
        ``n_iter_no_change`` epochs). With ``eta0="auto"`` the rate follows the objective
        (full-batch and mini-batch updates, and one-sample ones of the log-loss: times 1.1 after an
        epoch that lowered it, halved after one that raised it, Battiti's "bold driver"), and
        one-sample and mini-batch fits, whose noise floor is proportional to the rate, reach the
        minimum rather than that floor: once the certified excess stops falling the model is the
        polynomial-decay average of the epochs' last iterates, and when that stops falling too the
        rate is divided by 5 (up to 12 times). ``loss_history_`` follows the running iterates. A
        number keeps scikit-learn's meaning: stop when the training loss (the validation score with
        ``early_stopping``) has not improved by ``tol`` for ``n_iter_no_change`` epochs. ``None``
        runs ``max_iter`` epochs, with no host synchronisation per epoch. Whatever stopped the fit,
        ``converged_`` is certified. ``"newton"``: stop once max |gradient of the objective| <=
        ``tol`` (scikit-learn's for lbfgs; ``"auto"``: 1e-4) and the Newton decrement ½·gᵀH⁻¹g <=
        (``tol``/10)²; the step computed there is still taken (it lands ~1e-7 from the optimum).
        Both are floored at what the dtype resolves. ``None``: iterate until no step decreases the
        objective at the working precision.
    precondition : "auto", bool, default="auto"
        Gradient methods: descend on centred, per-feature-scaled data (and, for least squares, a
        centred and scaled target), with the same objective and minimum: penalties keep their
        meaning on the data's coefficients (the L2 strength of feature j is alpha / scale_j², the L1
        one alpha / (scale_j scale_y)), and ``coef_`` / ``intercept_`` are in the data's units. Data
        as they come then converge as standardised data do (glmnet standardises inside the same
        way). ``"auto"``: on exactly when ``eta0="auto"`` (a number as ``eta0`` keeps the textbook
        updates, equal to ``SGDRegressor``, ``SGDClassifier`` and torch.optim step for step). A
        ``partial_fit`` goes on in the variables of the fit before it (its statistics are kept), and
        a first ``partial_fit`` descends on the data as given (its batches have no common scale).
        ``optimizer_state_`` is in the preconditioned variables, ``path_`` in the data's units.
    n_iter_no_change : int, default=5
        Epochs without improvement before stopping (or, for ``adaptive``, dividing eta by 5).
    early_stopping : bool, default=False
        Gradient methods: hold out ``validation_fraction`` of the data and stop on its score: R² for
        a regressor, accuracy for a classifier (scikit-learn ``SGDClassifier``'s rule; the split is
        not stratified).
    validation_fraction : float, default=0.1
        Share of the data held out for early stopping, in (0, 1).
    shuffle : bool, default=True
        Shuffle the samples every epoch (``sgd``, ``minibatch``).
    random_state : int, Generator or None, default=None
        Seeds the NumPy ``Generator`` that draws every permutation (and Newton's subsample) on the
        host: the same seed gives the same path on every backend.
    warm_start : bool, default=False
        Start from the previous ``coef_`` and ``intercept_`` (a classifier's when the classes and
        features are the same); ``"beta"`` and ``"normal"`` ignore it.
    batch_size : int, default=32
        Samples per update for ``minibatch``.
    backend : str or None, default=None
        ``"numpy"``, ``"torch"``, ``"cupy"``, ``"jax"``, ``"array_api_strict"``, ``"dask"``;
        ``None`` takes the input's own library and device.
    device : str or None, default=None
        ``"cpu"``, ``"cuda"`` / ``"gpu"``, ``"mps"`` or the library's own spelling.
    dtype : {None, "float32", "float64"}, default=None
        ``None``: floating X keeps its dtype, other X becomes float64 (float32 on devices without
        float64).
    decay : float, default=0.001
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
        Keep ``coef_`` and ``intercept_`` after every epoch (or Newton iteration) in ``path_``, for
        plots of the optimiser's path.
"""

#: The fitted attributes both estimators have, after their own ``coef_`` ... ``n_iter_``.
SHARED_ATTRIBUTES = """\
    t_ : int
        Updates made plus one (scikit-learn's convention).
    converged_ : bool
        Whether the fit reached its objective's minimum: for a gradient fit, True only when the
        objective (loss + penalty on the training rows) is certified within 1 % of its minimum
        (relative; floored at 1e-3 in the objective's units), whatever stopped it: least squares
        exactly from the moments, the log-loss by the Newton decrement of one pass; with an L1 part
        from a dual point (least squares: of the elastic net's minimum on the moments; the log-loss:
        the smaller of a duality gap and twice the proximal Newton decrement's model decrease).
        ``partial_fit``: False (an epoch of one batch).
    stop_reason_ : str
        Why the fit ended: ``"exact"`` (closed forms), ``"tol"`` (the stopping rule, within 1 % of
        the minimum), ``"stalled"`` (the rule fired, or the rate was cut 12 times, short of that),
        ``"max_iter"``, or for separable classes without a penalty ``"separable"``. A gradient fit
        that did not reach its minimum warns (``ConvergenceWarning``) with the certified excess in %
        and the remedy.
    eta0_ : float
        The initial learning rate the gradient methods used (``eta0``, or the value ``eta0="auto"``
        computed).
    fit_time_ : float
        Seconds, device synchronised.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only for pandas input with string column names.
    backend_, device_ : str
        Where ``coef_`` lives.
    optimizer_state_ : UpdateState or None
        Gradient methods: what the updates carry to a later ``partial_fit`` (and, but for the
        average, to a ``warm_start`` fit), on the model's device: ``optimizer`` (the optimiser's
        state arrays, by ``torch.optim``'s names in ``optimizer.as_dict()``, each packed as [coef
        rows; intercept row], and its ``step`` count), ``average`` and ``running`` (the averaged and
        the running weights, packed alike, with ``average``). ``None`` for the plain update.
"""

#: ``eta0="auto"`` of the optimisers with per-coordinate steps (no curvature bound applies):
#: torch.optim's defaults, and with preconditioning in standardised coefficients.
ADAPTIVE_RATES = {"adagrad": 1e-2, "rmsprop": 1e-2, "adam": 1e-3, "adamw": 1e-3}
PRECONDITIONED_RATES = {"adagrad": 1.0, "rmsprop": 0.1, "adam": 1e-2, "adamw": 1e-2}

#: ``converged_``: the objective certified within CONVERGED (relative) of its minimum, the
#: minimum floored at FLOOR in the objective's units.
CONVERGED = 0.01
FLOOR = 1e-3


@dataclass(frozen=True)
class Run:
    """What one call asks of a gradient run: ``fit``'s (up to ``max_iter`` epochs) or
    ``partial_fit``'s (one epoch, :meth:`GroundupEstimator._partial_fit`)."""

    max_iter: int
    tol: float | None
    warm: bool = False  # start from coef_ / intercept_ and carry optimizer_state_
    t0: int = 1  # the number of the run's first update (the schedule's t)
    partial: bool = False  # a later partial_fit: the average and the running weights go on
    final: bool = True  # a whole fit: the checks at its end (partial_fit's epochs: none)


def certified(res: DescentResult, excess: float, *, early_stopping: bool) -> None:
    """A finished run's honest verdict from its certified relative ``excess`` (a single
    fit's and a sweep's run alike): ``converged`` within ``CONVERGED`` of the minimum;
    ``stalled`` where the rule fired (or the rate was cut ``MAX_CUTS`` times) short of it
    (with early stopping the validation score's rule decides); ``stop_reason``."""
    fired = res.converged
    res.excess, res.converged = excess, excess <= CONVERGED
    res.stalled = not res.converged and (res.stalled or fired) and not early_stopping
    res.stop_reason = "stalled" if res.stalled else "tol" if fired else "max_iter"


class GroundupEstimator(BaseEstimator):
    """Base class of :class:`~groundup.LinearRegression` and
    :class:`~groundup.LogisticRegression`: a subclass sets ``_model`` ("linear" /
    "logistic"), ``_methods`` and ``_zero_start`` and gives the gradient fit's hooks
    ``_problem`` and ``_coef_of``. ``backend_`` / ``device_`` are strings (a model pickles
    anywhere)."""

    _model: ClassVar[str] = ""
    _methods: ClassVar[tuple[str, ...]] = ()
    #: A fresh gradient fit starts from the zero model, whose loss the objective knows
    #: without a pass over X.
    _zero_start: ClassVar[bool] = False

    def _check_params(self) -> None:
        """Every parameter checked, and resolved once: ``_method``, the L2 and L1 strengths
        ``_l2``, ``_l1``, ``_auto_rate`` (``eta0="auto"``) and ``_precondition``."""
        self._method = canonical_method(self.method, self._methods, self._model)
        check_params(self)
        ratio = {None: 0.0, "l2": 0.0, "l1": 1.0}.get(self.penalty, self.l1_ratio)
        alpha = 0.0 if self.penalty is None else float(self.alpha)
        self._l2, self._l1 = (1.0 - float(ratio)) * alpha, float(ratio) * alpha
        self._auto_rate = isinstance(self.eta0, str)  # "auto": check_params refused any other
        self._precondition = self._auto_rate if self.precondition == "auto" else self.precondition

    def _has_partial_fit(self) -> bool:
        try:
            return canonical_method(self.method, self._methods, self._model) in GRADIENT
        except (TypeError, ValueError):
            return False

    def _check_partial_params(self) -> None:
        """``_check_params``, then what ``partial_fit`` refuses."""
        self._check_params()
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

    def _check_closed_penalty(self) -> None:
        """Closed forms (and Newton) take None and ``"l2"`` only."""
        if self.penalty in ("l1", "elasticnet"):
            msg = (
                f"penalty={self.penalty!r} has no closed form: method={self.method!r} takes "
                "penalty=None or 'l2'. Use method='batch' (proximal gradient descent, which "
                "converges to scikit-learn's Lasso / ElasticNet), or 'sgd' / 'minibatch'."
            )
            raise ValueError(msg)

    def _source(
        self, X: Any, y: Any, sample_weight: Any, *, reset: bool, labels: bool, partial: bool
    ) -> DataSource:
        """The validated data as a source of passes: on Dask for Dask data with
        ``backend=None``, ``backend="dask"`` or a ``partial_fit`` of a Dask-fitted model; in
        memory otherwise (a later ``partial_fit`` on the fitted model's backend)."""
        fitted = getattr(self, "backend_", None) if partial else None
        named = isinstance(self.backend, str) and self.backend.lower() == "dask"
        if named or fitted == "dask" or (self.backend is None and backends.from_array(X).lazy):
            return dask_layer.DaskSource.validate(
                self, X, y, sample_weight, reset=reset, labels=labels
            )
        kind = "classification" if labels else "continuous"
        model = None if reset else self._model_backend()
        return InMemory(
            *prepare_fit(self, X, y, sample_weight, reset=reset, y_kind=kind, backend=model)
        )

    def _remember_backend(self, be: Backend) -> None:
        self.backend_, self.device_ = be.name, be.device_name

    @contextlib.contextmanager
    def _fitting(self, source: DataSource) -> Iterator[None]:
        """The fit's block: under the backend's quiet floating point (groundup raises its
        own errors on non-finite results); ``fit_time_`` in seconds, device synchronised."""
        start = time.perf_counter()
        with source.backend.quiet_floating_point():
            yield
        source.backend.synchronize(self.coef_, self.intercept_)
        self.fit_time_ = time.perf_counter() - start

    def _partial_fit(self, source: DataSource, first: bool) -> None:
        """``partial_fit``'s epoch from the current state, ``t_`` running on, appended to the
        earlier history; the model moves to the source's backend (a Dask one too)."""
        self._remember_backend(source.backend)
        old = None if first else self.loss_history_
        t0 = 1 if first else int(self.t_)
        run = Run(max_iter=1, tol=None, warm=not first, t0=t0, partial=not first, final=False)
        with self._fitting(source):
            self._fit_gradient(source, run)
        if old is not None:
            self.loss_history_ = np.concatenate([old, self.loss_history_])
            self.n_iter_ = len(self.loss_history_)

    def _fit_gradient(self, source: DataSource, run: Run) -> None:
        """``batch`` / ``sgd`` / ``minibatch``: descend on the training rows (preconditioned
        where ``precondition`` says so) from ``_start``, then set and certify the fit."""
        rng = np.random.default_rng(self.random_state)
        W, b = self._start(source, run.warm)
        source, pre = self._descent_source(source, run)
        if run.warm and pre is not None:
            W, b = pre.inward(W, b, backend=source.compute)
        self._pre = pre  # a later partial_fit goes on in these variables
        problem = self._problem(source, self._held_out(source.n, rng))
        column = self._column(source, problem, pre, run, W)
        check = None  # one certificate (and its moments' pass) for the loss, the rule and _certify
        if run.final:
            check = certificate(
                problem.objective, [column.alpha], fit_intercept=self.fit_intercept, floor=FLOOR,
                backend=source.compute, l1s=[column.update.l1], pre=pre,
            )  # fmt: skip
        start_loss = problem.objective.zero_loss() if self._zero_start and not run.warm else None
        res = self._descend(source, problem, W, b, rng, run, start_loss, pre, column, check)
        W, b = self._set_descent(res, source.compute, run, pre)
        self._certify(problem, res, W, b, run, pre, check)

    def _descent_source(
        self, source: DataSource, run: Run
    ) -> tuple[DataSource, Preconditioner | None]:
        """The data in the descent's variables and the change of variables (``None``: as
        given); a later ``partial_fit`` goes on in the variables of the fit before it."""
        pre = getattr(self, "_pre", None) if run.partial else None
        if pre is None and (run.partial or not run.final or not self._precondition):
            return source, None
        linear = self._model == "linear"
        # least squares' batch descent reads the rows through their moments only (not with
        # an L1 part or early-stopping rows): no preconditioned copy of them
        rows = not (linear and self._method == "batch") or self.early_stopping or bool(self._l1)
        return source.preconditioned(target=linear, center=self.fit_intercept, pre=pre, rows=rows)

    def _start(self, source: DataSource, warm: bool) -> tuple[Array, Array]:
        """The first ``W`` (n_features, k) and ``b`` (k,) on the compute backend: zeros, or
        with ``warm`` the fitted ``coef_`` and ``intercept_``."""
        be, d, dt = source.compute, source.d, source.dtype
        classes = getattr(self, "classes_", None)
        k = 1 if classes is None else n_outputs(classes)
        if warm:
            coef = np.reshape(backends.to_numpy(self.coef_), (k, d))
            b = np.reshape(backends.to_numpy(self.intercept_), (k,))
            return be.asarray(coef.T.copy(), dtype=dt), be.asarray(b, dtype=dt)
        W = be.xp.zeros((d, k), dtype=dt, device=source.device)
        return W, be.xp.zeros((k,), dtype=dt, device=source.device)

    def _column(
        self,
        source: DataSource,
        problem: TrainingProblem,
        pre: Preconditioner | None,
        run: Run,
        like: Array,
    ) -> Column:
        """This estimator's run for the engine (a single fit's, or one of a sweep's columns);
        sets ``eta0_``."""
        alpha, l1 = self._l2, self._l1
        if pre is not None and (alpha or l1):  # per feature in the descent's variables
            alpha, l1 = pre.penalties(alpha, l1, like, source.compute)
        bs = self._batch_size(problem.rows)
        self.eta0_ = self._rate(
            source, problem, batch=bs >= problem.rows, continuing=run.t0 > 1, alpha=alpha, pre=pre
        )
        tol = None if run.tol is None else run.tol if run.tol == "auto" else float(run.tol)
        if pre is not None and isinstance(tol, float) and not self.early_stopping:
            tol /= pre.loss_factor  # an improvement of the loss in the data's units
        schedule = Schedule(
            name=self.learning_rate,
            eta0=float(self.eta0_),
            updates_per_epoch=max(1, problem.updates_per_epoch(bs)),
            power_t=float(self.power_t),
            alpha=float(self.alpha),
            decay=float(self.decay),
            drop=float(self.drop),
            epochs_drop=float(self.epochs_drop),
            eta_min=float(self.eta_min),
            t_max=float(self.t_max if self.t_max is not None else self.max_iter),
            t1=float(self.t1),
        )
        optimizer = OptimizerSettings(
            name=self.optimizer,
            momentum=float(self.momentum),
            rho=float(self.rho),
            beta_1=float(self.beta_1),
            beta_2=float(self.beta_2),
            epsilon=float(self.epsilon),
        )
        update = UpdateSettings(optimizer=optimizer, l1=l1, average=int(self.average))
        return Column(schedule, run.max_iter, alpha, tol, int(self.n_iter_no_change), update)

    def _batch_size(self, n: int) -> int:
        return {"batch": n, "sgd": 1}.get(self._method, min(int(self.batch_size), n))

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
        source: DataSource,
        problem: TrainingProblem,
        W: Array,
        b: Array,
        rng: np.random.Generator,
        run: Run,
        start_loss: Array | None,
        pre: Preconditioner | None,
        column: Column,
        check: Certificate | None,
    ) -> DescentResult:
        """Run the problem's descent of ``column``, then raise on divergence (on NaN / inf
        in X, saying so). The result's history and reference loss are in the data's units.
        ``run.warm`` starts from ``optimizer_state_``; a later ``partial_fit`` also continues
        the average and the running weights."""
        state = getattr(self, "optimizer_state_", None) if run.warm else None
        if state is not None:
            be = source.compute
            state = state.map(lambda a: be.xp.astype(backends.move(a, be), source.dtype))
            if not run.partial:  # warm_start: the average starts afresh (scikit-learn's)
                state.average = state.running = None
            elif state.running is not None:
                W, b = unpack(state.running)
        settings = DescentSettings(
            batch_size=self._batch_size(problem.rows),
            fit_intercept=self.fit_intercept,
            early_stopping=self.early_stopping and run.tol is not None,
            record_path=self.record_path,
            cut_rates=self._auto_rate,
        )
        auto = column.tol == "auto" and not self.early_stopping
        res = problem.run(
            W,
            b,
            column=column,
            settings=settings,
            rng=rng if self.shuffle else None,
            t0=run.t0,
            start_loss=start_loss,
            state=state,
            certificate=check if auto else None,
        )
        eps = float(source.compute.xp.finfo(source.dtype).eps)
        res.in_data_units(1.0 if pre is None else pre.loss_factor, eps, auto=self._auto_rate)
        epoch, history, reference = res.diverged_at, res.history, res.reference_loss
        if epoch is not None:
            if not math.isfinite(history[epoch - 1]):
                source.raise_nonfinite()  # NaN / inf in X: say so, not "diverged"
            found = f" ({self.eta0_:.3g})" if self.eta0 == "auto" else ""  # the value once
            msg = (
                f"Gradient descent diverged: the training loss became {history[epoch - 1]:.4g} "
                f"at epoch {epoch}, from {reference:.4g} at the start "
                f"(method={self.method!r}, eta0={self.eta0!r}{found}, "
                f"learning_rate={self.learning_rate!r}). Lower eta0 or scale the features "
                "(sklearn.preprocessing.StandardScaler)."
            )
            raise DivergenceError(msg)
        return res

    def _rate(
        self,
        source: DataSource,
        problem: TrainingProblem,
        *,
        batch: bool,
        continuing: bool,
        alpha: Any,
        pre: Preconditioner | None,
    ) -> float:
        """``eta0_``: ``eta0``, or for ``eta0="auto"`` the optimiser's rule (the ``eta0``
        docstring; a later ``partial_fit`` keeps the first). Updates over all the rows
        (``batch``) take the Gram matrix's curvature bound, smaller batches the largest row's."""
        if not self._auto_rate:
            return float(self.eta0)
        if continuing and hasattr(self, "eta0_"):
            return float(self.eta0_)
        if self.optimizer in ADAPTIVE_RATES:  # steps in the parameters' units
            return (ADAPTIVE_RATES if pre is None else PRECONDITIONED_RATES)[self.optimizer]
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
        q = 1.0 if self._model == "linear" else hessian_factor("log", len(self.classes_))
        rate = safe_rate(c, q=q, alpha=largest(alpha), top=top)
        if self.optimizer in ("momentum", "nesterov") and not batch:
            return rate * (1.0 - float(self.momentum))  # plain SGD's effective step
        return rate

    def _set_descent(
        self,
        res: DescentResult,
        host: Backend,
        run: Run,
        pre: Preconditioner | None,
    ) -> tuple[Array, Array]:
        """The fitted attributes of a gradient run: ``coef_`` and ``intercept_`` are the
        averages once an update has been averaged (scikit-learn's ``average <= t_ - 1``).
        Returns the model's ``W``, ``b`` in the variables of the descent."""
        W, b, state = res.W, res.b, res.state
        self.optimizer_state_ = state
        if state is not None:
            state.l1 = None  # the truncation's state lives for one call (scikit-learn's)
            start = int(self.average)
            state.running = pack(res.W, res.b, xp=host.xp) if start else None
            if start and start <= run.t0 + res.updates - 1:
                W, b = unpack(state.average)

        model = (W, b) if pre is None else pre.outward(W, b, backend=host)  # data's units
        self.coef_, self.intercept_ = self._coef_of(*model)
        self.loss_history_, self.n_iter_ = np.asarray(res.history, dtype=np.float64), res.n_iter
        self.t_, self.converged_ = run.t0 + res.updates, res.converged
        if self.record_path:
            path = res.path if pre is None else [pre.outward(*p, backend=host) for p in res.path]
            self.path_ = [self._coef_of(host.to_numpy(w), host.to_numpy(c)) for w, c in path]
        return W, b

    def _certify(
        self,
        problem: TrainingProblem,
        res: DescentResult,
        W: Array,
        b: Array,
        run: Run,
        pre: Preconditioner | None,
        check: Certificate | None,
    ) -> None:
        """The honest ``converged_`` and ``stop_reason_`` (the certificate ``check`` at the
        model's ``W``, ``b``), with the warning that goes with them; separable classes
        without a penalty have no minimum. ``partial_fit``'s epochs are not certified."""
        self._excess = None  # the certified relative excess (the CLI prints it)
        if not run.final:
            self.converged_, self.stop_reason_ = False, "tol" if res.converged else "max_iter"
            return
        separated = getattr(problem.objective, "separated", None)  # the log-loss's
        if separated is not None and not (self._l2 or self._l1) and separated(res.W, res.b):
            self.stop_reason_ = "separable"
            self._warn_separable(f"{res.n_iter} epoch(s)", stacklevel=5)
            return
        excess = self._excess = check.relative_excess(W, b, 0)
        certified(res, excess, early_stopping=self.early_stopping)
        self.converged_, self.stop_reason_ = res.converged, res.stop_reason
        # tol=None: the epochs asked for; early stopping: the validation score's choice
        if not self.converged_ and run.tol is not None and not self.early_stopping:
            how = {  # "tol" short of the minimum is "stalled" here (``certified``)
                "stalled": f"stopped after {res.n_iter} epoch(s) as the loss stopped improving",
                "max_iter": f"ran max_iter={run.max_iter} epochs",
            }[self.stop_reason_]
            if pre is None and not self._auto_rate:  # the one remedy that applies
                fix = "use eta0='auto' (descent on preconditioned data, its own rate)"
            elif pre is None and self.precondition is False:
                fix = "use precondition='auto' (descent on centred, scaled data)"
            elif self._method != "batch" or self.optimizer in ADAPTIVE_RATES:
                fix = "raise max_iter, or use method='batch' with optimizer='sgd'"
            else:
                fix = "raise max_iter (the data are ill-conditioned for gradient descent)"
                if self._model == "linear" and not self._l1:
                    fix += ", or use method='normal' (the closed form)"
            warnings.warn(
                f"The gradient fit {how} with its objective {100 * excess:.3g} % above the "
                f"minimum (method={self.method!r}, optimizer={self.optimizer!r}, "
                f"tol={self.tol!r}): {fix}.",
                ConvergenceWarning,
                stacklevel=4,
            )

    def _warn_separable(self, spent: str, stacklevel: int) -> None:
        """Linearly separable classes: the unpenalised log-loss has no minimum."""
        warnings.warn(
            "The classes are linearly separable: without a penalty the log-loss has no "
            "minimum (the coefficients would grow without bound), so the fit stopped at a "
            f"separating solution after {spent}. Pass penalty='l2' (alpha > 0) for finite, "
            "unique coefficients.",
            ConvergenceWarning,
            stacklevel=stacklevel,
        )

    def _model_backend(self) -> Backend:
        return backends.resolve(self.backend_, self.device_)

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
        if backends.to_numpy(self.coef_).dtype == np.float64 and not target.has_float64():
            msg = (
                f"This model is float64 but the {target.name} backend on {target.device_name} "
                "has no float64; refit with dtype='float32'."
            )
            raise ValueError(msg)
        new = copy.copy(self)
        new.coef_, new.intercept_ = (
            target.asarray(backends.to_numpy(a)) for a in (self.coef_, self.intercept_)
        )
        state = getattr(self, "optimizer_state_", None)
        if state is not None:
            new.optimizer_state_ = state.map(lambda a: target.asarray(backends.to_numpy(a)))
        new._remember_backend(target)
        return new
