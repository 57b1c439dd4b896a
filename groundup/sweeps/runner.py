"""``gu.sweep``: train a grid of gradient-descent configurations, vectorised, and compare them.

Configurations that visit the samples in the same order (one seed for the whole sweep) train
together as the columns of one weight matrix with :func:`groundup.kernels.descent.descend`,
the engine of every single fit; ``optimizer`` and the L1 penalties do not split groups. Every
run ends exactly where its configuration fitted alone on the training split ends.
"""

from __future__ import annotations

import inspect
import itertools
import math
import numbers
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from groundup import backends
from groundup._problem import (
    EngineProblem,
    InMemory,
    certificate,
    epoch_orders,
    fit_standardization,
    raw_units,
    standardize,
)
from groundup._typing import Array
from groundup._validation import GRADIENT, FitData, check_finite, prepare_fit
from groundup.backends import Backend
from groundup.kernels import metrics as mk
from groundup.kernels.descent import (
    DescentResult,
    DescentSettings,
    RateTable,
    descend,
)
from groundup.kernels.logistic import BinaryLogLoss, MultinomialLogLoss
from groundup.kernels.losses import largest
from groundup.kernels.schedules import Schedule
from groundup.linear_model import class_totals, encode_labels, estimator_class
from groundup.linear_model._base import FLOOR, Run, certified
from groundup.sweeps.result import SweepResult

__all__ = ["sweep"]

# Parameters the sweep sets itself, or that make no sense per configuration.
_NOT_SWEPT = ("backend", "device", "random_state", "validation_fraction", "warm_start",
              "record_path", "solver")  # fmt: skip
# Parameters that change the visiting order or the objective: they split groups.
_GROUP_KEYS = ("_method", "shuffle", "fit_intercept", "early_stopping")


def sweep(
    X: Any,
    y: Any,
    *,
    model: str = "linear",
    method: str = "minibatch",
    grid: Mapping[str, Any],
    sample_weight: Any = None,
    backend: str | None = None,
    device: Any = None,
    validation_fraction: float | None = 0.2,
    random_state: Any = None,
    criterion: str | None = None,
    scale: bool = False,
    progress: Callable[[int, int], None] | None = None,
    **fixed_params: Any,
) -> SweepResult:
    """Train every configuration of ``grid`` (vectorised where they share the visiting order).

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        NumPy, pandas, list, or an array of any supported library.
    y : array of shape (n_samples,)
        Real targets (``model="linear"``) or class labels (``model="logistic"``).
    model : {"linear", "logistic"}, default="linear"
        ``"logistic"``: binary or multinomial logistic regression; each run equals
        :class:`~groundup.LogisticRegression` fitted alone with the same parameters (and the
        sweep's ``method``, never its default ``"newton"``).
    method : {"batch", "sgd", "minibatch"}, default="minibatch"
        The gradient method (``grid`` may also sweep ``method``).
    grid : dict of str to list
        Parameter name -> values to try, e.g. ``{"eta0": [1e-3, 1e-2], "batch_size": [16,
        64]}``. Any estimator parameter except ``backend``, ``device``, ``random_state``,
        ``validation_fraction``, ``warm_start``, ``record_path`` and ``solver``: ``eta0``,
        ``batch_size``, ``max_iter``, ``learning_rate`` and its parameters (``power_t``,
        ``decay``, ``drop``, ``epochs_drop``, ``eta_min``, ``t_max``, ``t1``), ``alpha``,
        ``penalty`` (``"l2"``, ``"l1"``, ``"elasticnet"``, with ``l1_ratio``), ``optimizer``
        (``"sgd"``, ``"momentum"``, ``"nesterov"``, ``"adagrad"``, ``"rmsprop"``, ``"adam"``,
        ``"adamw"``, and their constants), ``tol``, ``n_iter_no_change``, ... Every
        combination is one run. ``average`` and ``class_weight`` are not swept (a
        ``ValueError`` says so).
    sample_weight : array of shape (n_samples,), optional
        Non-negative weights, checked as the estimators check them. Every run is the single
        fit with ``sample_weight[result.train_index]`` (an early-stopping score inside a run
        is unweighted, as the estimators' is); the validation metrics are weighted by the
        validation rows' weights, as scikit-learn's metrics weigh them.
    backend, device : str, optional
        Where to compute (as for the estimators; ``None``: the input's own library).
    validation_fraction : float or None, default=0.2
        Share of the rows held out for the validation metrics, in (0, 1); ``None`` trains on
        every row and reports no validation metrics. (The estimators' own early-stopping
        split, with ``early_stopping=True``, keeps its default fraction of 0.1.)
    random_state : int, numpy Generator or None, default=None
        Seeds the holdout split and every run's shuffling; ``None`` draws a seed, which is
        reported as ``result.random_state``.
    criterion : str, optional
        Column of the table that picks ``result.best``: ``"val_rmse"`` (linear) or
        ``"val_log_loss"`` (logistic) by default with a validation split, ``"train_loss"``
        by default without one; also ``"val_r2"``, ``"val_accuracy"``, ``"n_iter"``, ...
        ``val_r2`` and ``val_accuracy`` are maximised, the others minimised.
    scale : bool, default=False
        Standardise the features inside the sweep: every run trains on ``(X - mean) /
        scale`` with the statistics of the training rows only (``train_index``, weighted by
        ``sample_weight``; scikit-learn's ``StandardScaler``, centred unless some
        configuration has ``fit_intercept=False``), and the validation rows are transformed
        the same way. ``coefs``, ``intercepts`` and ``estimator(i)`` are in the raw
        features' units (they predict raw ``X``); ``result.standardization`` keeps the
        statistics and ``result.pipeline(i)`` is the run as a scikit-learn pipeline for raw
        data.
    progress : callable, optional
        Called as ``progress(done, total)`` as epochs finish (for progress bars).
    **fixed_params
        Parameters shared by every run (``max_iter=50``, ``tol=None``, ``dtype=...``).

    Returns
    -------
    SweepResult
        ``.table`` (pandas DataFrame), ``.histories``, ``.best``, ``.best_params``,
        ``.estimator(i)``, ``.plot_heatmap()``, ``.plot_losses()``, ``.plot_best()``.

    Raises
    ------
    ValueError, TypeError
        An unknown or misplaced parameter, an empty grid entry, a closed-form method, a value
        out of range, ``average`` or ``class_weight`` (checked for every configuration
        before any training); bad ``sample_weight``; for ``model="logistic"``, a class that
        has no training row (or fewer than two classes with a positive weight there).
    """
    if not isinstance(scale, bool | np.bool_):
        msg = f"scale must be True or False, got {scale!r}."
        raise TypeError(msg)
    cls = estimator_class(model)
    configs, params = _expand(grid, fixed_params, cls)
    seed = _seed(random_state)
    fixed = {"method": method, **fixed_params}
    ests = [
        cls(**{**fixed, **cfg}, random_state=seed, backend=backend, device=device)
        for cfg in configs
    ]
    for est in ests:  # every configuration's checks, and what the sweep cannot train
        est._check_params()
        if est._method not in GRADIENT:
            msg = (
                f"sweep trains gradient methods {list(GRADIENT)}, got method={est.method!r}; "
                "a closed form has no learning rate to sweep (fit it with gu.fit)."
            )
            raise ValueError(msg)
        if est.average:
            msg = (
                f"sweep does not train average={est.average!r} (averaged SGD) yet; sweep "
                "the other parameters with average=False, or fit averaged configurations one "
                "by one with gu.fit(..., average=...)."
            )
            raise ValueError(msg)
        if getattr(est, "class_weight", None) is not None:
            msg = (
                f"sweep does not train class_weight={est.class_weight!r} yet; pass the class "
                "weights as sample_weight (sklearn.utils.class_weight.compute_sample_weight), "
                "or fit with gu.fit(..., class_weight=...)."
            )
            raise ValueError(msg)
    logistic = model == "logistic"
    data, y_host = prepare_fit(
        ests[0], X, y, sample_weight, y_kind="classification" if logistic else "continuous"
    )
    be = data.backend
    check_finite(data.X, "X", be)
    train_idx, val_idx = _holdout(data.X.shape[0], validation_fraction, seed)
    sw_host = None if data.sample_weight is None else be.to_numpy(data.sample_weight)
    for rows, what in ((train_idx, "training"), (val_idx, "validation")):  # positive totals
        if sw_host is not None and rows is not None and not sw_host[rows].sum() > 0:
            msg = (
                f"sample_weight of the {len(rows)} {what} rows sums to zero: their "
                f"{'runs' if what == 'training' else 'metrics'} would be undefined. Use "
                "another random_state or validation_fraction, or give those rows weight."
            )
            raise ValueError(msg)
    classes = None
    if logistic:
        classes, data = _logistic_targets(data, y_host, train_idx, sw_host)
        for est in ests:  # as its single fit knows them (eta0="auto" reads the curvature's q)
            est.classes_ = classes
    std = None
    if scale:  # the training rows' statistics, applied to every row
        rows = _take(data, train_idx)
        center = all(est.fit_intercept for est in ests)
        std = fit_standardization(rows.X, rows.sample_weight, center=center, backend=be)
        data = FitData(standardize(data.X, std, backend=be), data.y, data.sample_weight, be)
    train = _take(data, train_idx)
    val = None if val_idx is None else _take(data, val_idx)
    n = train.X.shape[0]
    if not logistic:  # (logistic: _logistic_targets already asked for two classes)
        for est in ests:
            est._check_n_samples(n)
    n_classes = 1 if classes is None else len(classes)
    groups = _groups(ests, n)
    total = sum(max(ests[i].max_iter for i in g) for g in groups)
    runs: list[Any] = [None] * len(ests)
    times: list[tuple[int, float, int]] = [(0, 0.0, 1)] * len(ests)  # group, its time, its size
    done = 0
    for gid, members in enumerate(groups):
        budget = max(ests[i].max_iter for i in members)

        def on_epoch(epoch: int, running: int, done: int = done, budget: int = budget) -> None:
            if progress is not None:  # a group that has finished counts its whole budget
                progress(done + (epoch if running else budget), total)

        start = time.perf_counter()
        with be.quiet_floating_point():
            out = _run_group([ests[i] for i in members], train, be, on_epoch, n_classes)
        be.synchronize(*[r.W for r in out])
        elapsed = time.perf_counter() - start
        for i, r in zip(members, out, strict=True):
            runs[i], times[i] = r, (gid, elapsed, len(members))
        done += budget
    with be.quiet_floating_point():
        metrics = _metrics(runs, val, be, n_classes)
    table = _table(configs, params, runs, metrics, times)
    if criterion is None:
        criterion = (
            ("val_log_loss" if logistic else "val_rmse") if val is not None else "train_loss"
        )
    if criterion not in table.columns or criterion in params:
        choices = [c for c in table.columns if c not in params and c != "group"]
        msg = f"Unknown criterion {criterion!r}; choose one of {choices}."
        raise ValueError(msg)
    # as the estimators keep them: (n_features,) and 0-d, or (n_classes, n_features) and (C,)
    pairs = [(r.W[:, 0], r.b[0]) if n_classes <= 2 else (r.W.T, r.b) for r in runs]
    if std is not None:  # in the raw features' units
        pairs = [raw_units(c, b, std, backend=be) for c, b in pairs]
    return SweepResult(
        table=table,
        histories=[np.asarray(r.history, dtype=np.float64) for r in runs],
        coefs=[c for c, _ in pairs],
        intercepts=[b for _, b in pairs],
        params=params,
        fixed=fixed,
        criterion=criterion,
        model=model,
        backend=be.name,
        device=be.device_name,
        random_state=seed,
        train_index=train_idx,
        val_index=val_idx,
        classes=classes,
        sample_weight=data.sample_weight is not None,
        standardization=std,
        _template=ests[0],
    )


def _logistic_targets(
    data: FitData, y_host: Any, train_idx: np.ndarray, sw_host: np.ndarray | None
) -> tuple[np.ndarray, FitData]:
    """LogisticRegression's label encoding (``InMemory.encoded``'s); every class needs training
    rows (fitting them alone finds the same classes), two with a positive weight."""
    classes, codes = encode_labels(y_host)
    seen = np.bincount(codes[train_idx], minlength=len(classes)) > 0
    if not seen.all():
        msg = (
            f"The class(es) {classes[~seen].tolist()} of y have no row in the training split "
            f"({len(train_idx)} of {len(codes)} rows): the runs could not learn them. Use "
            "another random_state, a smaller validation_fraction or validation_fraction=None."
        )
        raise ValueError(msg)
    class_totals(classes, codes[train_idx], None if sw_host is None else sw_host[train_idx])
    return classes, InMemory(data, y_host).encoded(classes).data


def _expand(
    grid: Mapping[str, Any], fixed: Mapping[str, Any], cls: type
) -> tuple[list[dict[str, Any]], list[str]]:
    """Every combination of the grid's values, in the grid's order (the last key fastest)."""
    if not isinstance(grid, Mapping) or not grid:
        msg = (
            "grid must be a non-empty dict of parameter name -> list of values, "
            "e.g. {'eta0': [0.001, 0.01]}."
        )
        raise TypeError(msg)
    valid = sorted(p for p in inspect.signature(cls).parameters if p not in _NOT_SWEPT)
    for where, names in (("grid", grid), ("fixed parameters", fixed)):
        for k in names:
            if k in _NOT_SWEPT:
                msg = (
                    f"{k!r} cannot be set per configuration in a sweep: pass backend=, "
                    "device=, random_state= and validation_fraction= to sweep() itself."
                )
                raise TypeError(msg)
            if k not in valid:
                msg = f"Unknown parameter {k!r} in the {where}; valid names: {valid}."
                raise TypeError(msg)
    both = sorted(set(grid) & set(fixed))
    if both:
        msg = f"{both} given both in grid and as fixed parameters; give each once."
        raise TypeError(msg)
    values = {k: [v] if isinstance(v, str | numbers.Number) or v is None else list(v)
              for k, v in grid.items()}  # fmt: skip
    for k, vals in values.items():
        if not vals:
            msg = f"grid[{k!r}] is empty; give at least one value."
            raise ValueError(msg)
    combos = itertools.product(*values.values())
    return [dict(zip(values, combo, strict=True)) for combo in combos], list(values)


def _seed(random_state: Any) -> int:
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return int(random_state)
    if random_state is None or isinstance(random_state, np.random.Generator):
        return int(np.random.default_rng(random_state).integers(2**31 - 1))
    msg = f"random_state must be an int, a numpy Generator or None, got {random_state!r}."
    raise TypeError(msg)


def _holdout(n: int, fraction: float | None, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Sorted training and validation rows (a stream of its own, independent of shuffling)."""
    if fraction is None:
        return np.arange(n), None
    if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real) or not 0 < fraction < 1:
        msg = f"validation_fraction must be in (0, 1) or None, got {fraction!r}."
        raise ValueError(msg)
    n_val = math.ceil(fraction * n)
    if n - n_val < 2:
        msg = (
            f"validation_fraction={fraction} leaves {n - n_val} training row(s) of n_samples={n}; "
            "use more samples, a smaller validation_fraction, or None."
        )
        raise ValueError(msg)
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
    perm = rng.permutation(n)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def _take(data: FitData, rows: np.ndarray) -> FitData:
    if rows.shape[0] == data.X.shape[0]:
        return data
    be, sel = data.backend, data.backend.asarray(rows)
    arrays = (data.X, data.y, data.sample_weight)
    return FitData(*[None if a is None else be.xp.take(a, sel, axis=0) for a in arrays], be)


def _groups(ests: Sequence[Any], n: int) -> list[list[int]]:
    """Indices of the configurations that share a visiting order and a preconditioner, in
    order of appearance (a preconditioned run with a penalty, one per feature, alone)."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, est in enumerate(ests):
        pre, alone = est._precondition, est._precondition and (est._l2 or est._l1)
        key = (*(getattr(est, k) for k in _GROUP_KEYS), est._batch_size(n), pre, est._auto_rate)
        groups.setdefault((*key, alone and i), []).append(i)
    return list(groups.values())


# Elements of one (rows, K·C) temporary of a chunked (CPU) logistic pass: 128 KiB in float64
# stays in cache and under mmap's threshold (NumPy: 2x faster than 8192-row chunks).
_PASS_ELEMENTS = 16384


def _log_loss_columns(
    rows: FitData,
    n_classes: int,
    X_val: Array | None = None,
    y_val: Array | None = None,
    fit_intercept: bool = True,
) -> BinaryLogLoss | MultinomialLogLoss:
    """The log-loss of K columns (``fit_intercept``: the certificate's minimum has one)."""
    cls, be = BinaryLogLoss if n_classes == 2 else MultinomialLogLoss, rows.backend
    return cls(
        rows.X, rows.y, rows.sample_weight, X_val=X_val, y_val=y_val, n_classes=n_classes,
        fit_intercept=fit_intercept,
        chunk_rows=be.chunk_rows(rows.X.shape[1]),  # the backend's chunks of X (None: none)
        chunk_elements=_PASS_ELEMENTS, xp=be.xp,
    )  # fmt: skip


def _run_group(
    ests: Sequence[Any], train: FitData, be: Backend, on_epoch: Callable, n_classes: int
) -> list[DescentResult]:
    """The single fit's preparation (``GroundupEstimator._fit_gradient``'s) once for K runs,
    then each run's honest verdict (``certified``) and coefficients in the data's units.
    ``n_classes``: 1 for least squares, else the log-loss's classes."""
    xp, logistic, first = be.xp, n_classes > 1, ests[0]
    rng = np.random.default_rng(first.random_state)
    source, pre = first._descent_source(InMemory(train), Run(int(first.max_iter), first.tol))
    held = first._held_out(train.X.shape[0], rng)
    if logistic:  # the log-loss of K columns: its passes chunked for a (rows, K·C) width
        part, X_val, y_val = source.training_rows(held)
        objective = _log_loss_columns(part, n_classes, X_val, y_val, first.fit_intercept)
        problem = EngineProblem(objective, part.X, part.y, part.sample_weight, be)
    else:  # the single fit's own (the moments of the preconditioned rows: exact zero means)
        problem = first._problem(source, held)
        objective = problem.objective
    n, d = problem.X.shape
    dt, outputs = problem.X.dtype, n_classes if n_classes > 2 else 1
    W = xp.zeros((d, len(ests) * outputs), dtype=dt, device=be.device)
    b = xp.zeros((len(ests) * outputs,), dtype=dt, device=be.device)
    columns = [
        est._column(source, problem, pre, Run(int(est.max_iter), est.tol), W[:, :outputs])
        for est in ests
    ]
    check = certificate(
        objective, [c.alpha for c in columns], fit_intercept=first.fit_intercept, floor=FLOOR,
        backend=be, l1s=[c.update.l1 for c in columns], pre=pre,
    )  # fmt: skip
    settings = DescentSettings(
        batch_size=first._batch_size(n), fit_intercept=first.fit_intercept,
        early_stopping=first.early_stopping, cut_rates=first._auto_rate,
    )  # fmt: skip
    runs = descend(
        objective, problem.X, problem.y, problem.sample_weight, W, b, columns=columns,
        settings=settings,
        orders=epoch_orders(rng if first.shuffle else None, n, be),
        start_loss=objective.zero_loss(),  # every run starts at zero: no pass over X
        rate_table=_host_rate_table(be, dt), on_epoch=on_epoch, certificate=check, xp=xp,
        to_host=be.to_floats,
    )  # fmt: skip
    eps, factor = float(xp.finfo(dt).eps), 1.0 if pre is None else pre.loss_factor
    for j, (est, r, c) in enumerate(zip(ests, runs, columns, strict=True)):  # the fit's checks
        r.in_data_units(factor, eps, auto=est._auto_rate)
        # the single fit's verdict; separable classes without a penalty keep the rule's
        unpenalised = logistic and not any(map(largest, (c.alpha, c.update.l1)))
        if r.diverged_at is None and r.history:
            if not (unpenalised and objective.separated(r.W, r.b)):
                certified(r, check.relative_excess(r.W, r.b, j), early_stopping=est.early_stopping)
        if pre is not None:
            r.W, r.b = pre.outward(r.W, r.b, backend=be)
    return runs


def _stop_reason(r: DescentResult) -> str:
    """The single fit's ``stop_reason_`` (``"diverged"``: it would raise)."""
    if r.diverged_at is not None:
        return "diverged"
    return r.stop_reason or ("stalled" if r.stalled else "tol" if r.converged else "max_iter")


def _host_rate_table(be: Backend, dtype: Any) -> RateTable:
    """Learning rates computed on the host in float64 (the single fits' Python floats), moved
    in one transfer per epoch (small device operations per run cost more on some backends)."""
    host = backends.resolve("numpy")
    hxp, f64 = host.xp, host.dtype("float64")

    def table(schedules: list[Schedule], t: int, count: int) -> Array:
        if count == 1:  # full batch: one rate per configuration
            rates = np.asarray([[sch(t) for sch in schedules]], dtype=np.float64)
        else:
            rates = hxp.stack(
                [sch.array(t, count, dtype=f64, device=host.device, xp=hxp) for sch in schedules],
                axis=1,
            )
        return be.asarray(rates, dtype=dtype)

    return table


def _metrics(
    runs: Sequence[DescentResult], val: FitData | None, be: Backend, n_classes: int
) -> dict[str, np.ndarray]:
    """Weighted validation RMSE and R² (linear) or accuracy and log-loss (logistic) of every
    run, brought home in one transfer; NaN for diverged runs."""
    if val is None:
        return {}
    xp = be.xp
    X_val, y_val, sw = val.X, val.y, val.sample_weight
    if n_classes > 2:  # every run's (n_features, C) block, laid out class by class
        W = xp.concat(
            [xp.stack([r.W[:, c] for r in runs], axis=1) for c in range(n_classes)], axis=1
        )
        b = xp.concat([xp.stack([r.b[c] for r in runs]) for c in range(n_classes)])
    else:
        W, b = xp.concat([r.W for r in runs], axis=1), xp.concat([r.b for r in runs])
    if n_classes > 1:
        obj = _log_loss_columns(val, n_classes)
        names = ("val_accuracy", "val_log_loss")
        stacked = xp.stack([obj.accuracies(X_val, y_val, sw, W, b), obj.losses(W, b)], axis=1)
    else:
        P = X_val @ W + b
        names = ("val_rmse", "val_r2")
        stacked = xp.stack(
            [
                xp.stack([f(y_val, P[:, j], sample_weight=sw, xp=xp) for f in (mk.rmse, mk.r2)])
                for j in range(len(runs))
            ]
        )
    host = be.to_numpy(stacked).astype(np.float64)
    diverged = np.array([r.diverged_at is not None for r in runs])
    host[diverged] = np.nan
    return {name: host[:, j] for j, name in enumerate(names)}


def _table(
    configs: Sequence[dict[str, Any]],
    params: Sequence[str],
    runs: Sequence[DescentResult],
    metrics: dict[str, np.ndarray],
    times: Sequence[tuple[int, float, int]],
) -> Any:
    import pandas as pd

    gid, elapsed, size = (np.array(column) for column in zip(*times, strict=True))
    table = pd.DataFrame(
        {
            **{k: [cfg[k] for cfg in configs] for k in params},
            "train_loss": [r.history[-1] if r.history else math.nan for r in runs],
            **metrics,
            "n_iter": [r.n_iter for r in runs],
            "t": [r.updates + 1 for r in runs],
            "converged": [r.converged and r.diverged_at is None for r in runs],
            "stop_reason": [_stop_reason(r) for r in runs],
            "diverged": [r.diverged_at is not None for r in runs],
            "diverged_epoch": pd.array([r.diverged_at for r in runs], dtype="Int64"),
            "fit_time": elapsed / size,
            "group": gid,
            "group_time": elapsed,
        }
    )
    for k in params:  # keep None as None (pandas would turn it into NaN)
        if any(cfg[k] is None for cfg in configs):
            table[k] = pd.Series([cfg[k] for cfg in configs], dtype=object)
    return table
