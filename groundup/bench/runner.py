"""The benchmark runner: every method on every backend, device and dtype, peers beside them,
one DataFrame row per run (data moved to the device once, untimed; a warm-up; ``repeats``
timed fits, each synchronised on the device; accuracy on a held-out split).

>>> import groundup as gu
>>> table = gu.benchmark("line", methods=["normal", "sgd"], backends=["numpy"])  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import math
import statistics
import time
import tracemalloc
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from groundup import backends as _backends
from groundup import datasets as _datasets
from groundup._problem import fit_standardization, raw_units, standardize
from groundup._validation import ALIASES, GRADIENT, LINEAR_METHODS, LOGISTIC_METHODS
from groundup.backends import to_numpy
from groundup.bench.peers import PeerFit, peers_for
from groundup.bench.status import Outcome, judge_peer
from groundup.exceptions import DivergenceError
from groundup.kernels.optimizers import OPTIMIZERS
from groundup.linear_model import LinearRegression, estimator_class

__all__ = [
    "BENCH_DEFAULTS",
    "COLUMNS",
    "DEFAULT_BACKENDS",
    "METHODS",
    "MODELS",
    "STOP_REASONS",
    "backend_info",
    "benchmark",
    "method_params",
    "optimizer_paths",
]

MODELS: tuple[str, ...] = ("linear", "logistic")
METHODS: dict[str, tuple[str, ...]] = {"linear": LINEAR_METHODS, "logistic": LOGISTIC_METHODS}
TASKS = {"linear": "regression", "logistic": "classification"}
DTYPES = ("float32", "float64")
# Every backend but Dask (for data larger than memory: opt in with backends=["dask"]).
DEFAULT_BACKENDS: tuple[str, ...] = ("numpy", "torch", "jax", "array_api_strict", "cupy")
# Unless ``params`` says otherwise: a fixed seed, and a constant step of 0.1 for the full- and
# mini-batch methods (``sgd`` keeps scikit-learn's default, as its peer SGDRegressor does).
BENCH_DEFAULTS: dict[str, Any] = {
    "random_state": 0,
    "batch": {"learning_rate": "constant", "eta0": 0.1},
    "minibatch": {"learning_rate": "constant", "eta0": 0.1},
}
_WARMUP_EPOCHS = 2  # warm-up fits run this many epochs: same shapes, kernels and caches

COLUMNS: tuple[str, ...] = (
    "data", "model", "method", "optimizer", "impl", "peer", "backend", "device", "dtype",
    "n_samples", "n_features", "scaled", "status", "reason",
    "rmse", "mae", "r2", "accuracy", "log_loss",
    "fit_time", "fit_time_min", "fit_time_max", "repeats",
    "peak_host_mb", "peak_device_mb", "epochs", "converged", "stop", "eta0", "final_loss",
    "warnings", "loss_history", "coef", "intercept",
)  # fmt: skip
#: Why a run stopped (the ``stop`` column), for groundup's rows and the peers' alike
#: (:class:`groundup.bench.status.Outcome`).
STOP_REASONS = ("exact", "tol", "max_iter", "stalled", "separable", "diverged")


# -- backends, devices, dtypes ----------------------------------------------------------------
def backend_info() -> dict[str, dict[str, Any]]:
    """``gu.backends.available()``: what is installed here, versions and working devices."""
    return _backends.available()


@dataclass
class _Place:
    """One backend on one device in one dtype."""

    name: str
    device: str
    dtype: str
    backend: Any


def _places(
    names: Sequence[str], devices: Sequence[str] | None, dtypes: Sequence[str] | None
) -> tuple[list[_Place], list[dict[str, Any]]]:
    """Where to run, and a skipped row for each backend / device / dtype that is not here."""
    info = backend_info()
    places: list[_Place] = []
    skipped: list[dict[str, Any]] = []
    for name in names:
        entry = info.get(name, {})
        if not entry.get("installed") or not entry.get("devices"):
            reason = entry.get("reason") or f"backend {name!r} has no working device here"
            skipped.append(_skip_row(name, ",".join(devices or ["-"]), "-", reason))
            continue
        first: dict[str, str] = {}  # default: the CPU and the first accelerator of each kind
        for dev in entry["devices"]:
            first.setdefault(dev.split(":")[0], dev)
        for spelling in devices or first.values():
            try:
                be = _backends.resolve(name, spelling)
            except (ValueError, ImportError, RuntimeError) as exc:
                skipped.append(_skip_row(name, spelling, "-", str(exc)))
                continue
            for dtype in dtypes or [("float64" if be.has_float64() else "float32")]:
                if dtype == "float64" and not be.has_float64():
                    reason = (
                        f"{name} on {be.device_name} has no float64 (JAX needs "
                        "JAX_ENABLE_X64=1; MPS has none); use --dtypes float32"
                    )
                    skipped.append(_skip_row(name, be.device_name, dtype, reason))
                    continue
                places.append(_Place(name, be.device_name, dtype, be))
    return places, skipped


def _skip_row(backend: str, device: str, dtype: str, reason: str, **extra: Any) -> dict[str, Any]:
    return {"backend": backend, "device": device, "dtype": dtype, "status": "skipped",
            "reason": reason, "impl": "groundup", "peer": False, **extra}  # fmt: skip


# -- one fit, uniformly for groundup and the peers ---------------------------------------------
class _GroundupFit(PeerFit):
    """A groundup estimator behind the peers' interface."""

    def __init__(self, cls: type, method: str, place: _Place, params: dict[str, Any]) -> None:
        self.cls, self.place_, self.dtype_ = cls, place, place.dtype
        self.params = {**params, "method": method, "backend": place.name,
                       "device": place.device, "dtype": place.dtype}  # fmt: skip

    def place(self, X: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
        be = self.place_.backend
        Xd, yd = self._device_X(X), be.asarray(y.astype(self.dtype_) if y.dtype.kind == "f" else y)
        be.synchronize(Xd, yd)
        return Xd, yd

    def fit(self, data: tuple[Any, Any]) -> None:
        est = self.cls(**self.params).fit(*data)
        self.place_.backend.synchronize(est.coef_, est.intercept_)
        self.est, self.n_iter_, self.converged_ = est, int(est.n_iter_), bool(est.converged_)
        self.loss_history_ = np.asarray(est.loss_history_, dtype=np.float64)
        self.stop_reason_ = str(est.stop_reason_)
        self.eta0_ = float(est.eta0_) if hasattr(est, "eta0_") else None

    @property
    def coef_(self) -> np.ndarray:
        return to_numpy(self.est.coef_)

    @property
    def intercept_(self) -> np.ndarray:
        return to_numpy(self.est.intercept_)

    def _device_X(self, X: np.ndarray) -> Any:
        be, dt = self.place_.backend, self.place_.dtype
        return be.asarray(np.ascontiguousarray(X, dtype=dt), dtype=be.dtype(dt))

    def predict(self, X: np.ndarray) -> np.ndarray:
        return to_numpy(self.est.predict(self._device_X(X)))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return to_numpy(self.est.predict_proba(self._device_X(X)))


@dataclass
class _Run:
    """One planned row: a data set, a model and method, and who fits it where."""

    data: _datasets.Dataset
    model: str
    method: str
    impl: str
    backend: str
    device: str
    dtype: str
    make: Callable[[dict[str, Any]], PeerFit]  # make(params): a fitter, ready to place and fit
    params: dict[str, Any]
    peer: bool = False
    device_backend: Any = None  # a groundup Backend for device memory and nothing else


def _measure(
    run: _Run, data: Any, *, repeats: int, warmup: int, max_time: float | None, memory: bool
) -> tuple[PeerFit, dict[str, Any]]:
    """The fitter after its timed fits, and the row's times, memory peaks and warnings."""
    fitter = run.make(run.params)
    # warm-ups: no tol, no ConvergenceWarning from a deliberately short run
    max_iter = min(int(run.params.get("max_iter", 1000)), _WARMUP_EPOCHS)
    short = run.make({**run.params, "max_iter": max_iter, "tol": None})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(warmup):
            short.fit(data)
    dev = run.device_backend
    if dev is not None:
        dev.reset_peak_memory()
    times: list[float] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(repeats):
            start = time.perf_counter()
            fitter.fit(data)  # synchronises the device before it returns
            times.append(time.perf_counter() - start)
            if max_time is not None and sum(times) >= max_time:
                break
    peak = dev.peak_memory() if dev is not None else None
    # tracemalloc sees the run's allocations where its backend says so (else NaN, not ~0)
    traced = memory and (dev is None or dev.host_memory_traced)
    return fitter, {
        "fit_time": statistics.median(times),
        "fit_time_min": min(times),
        "fit_time_max": max(times),
        "repeats": len(times),
        "peak_host_mb": _traced_peak(short, data) / 2**20 if traced else math.nan,
        "peak_device_mb": math.nan if peak is None else peak / 2**20,
        "warnings": ",".join(sorted({w.category.__name__ for w in caught})),
    }


def _traced_peak(fitter: PeerFit, data: Any) -> float:
    """The peak of the Python heap, in bytes, during one fit."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitter.fit(data)
        return float(tracemalloc.get_traced_memory()[1] - base)
    finally:
        if not was_tracing:
            tracemalloc.stop()


def _scores(fitter: PeerFit, task: str, X_test: np.ndarray, y_test: np.ndarray) -> dict:
    from groundup.metrics import fit_scores

    if task == "regression":
        return fit_scores(y_test, np.asarray(fitter.predict(X_test), dtype=np.float64))
    proba = np.asarray(fitter.predict_proba(X_test), dtype=np.float64)
    return fit_scores(y_test, np.asarray(fitter.predict(X_test)), proba)


def _execute(run: _Run, split: tuple, cache: dict[tuple, Any], **how: Any) -> dict[str, Any]:
    X_train, X_test, y_train, y_test, std = split
    row = {
        "data": run.data.name, "model": run.model, "method": run.method,
        "optimizer": run.params.get("optimizer"), "impl": run.impl, "peer": run.peer,
        "backend": run.backend, "device": run.device, "dtype": run.dtype,
        "n_samples": run.data.n_samples, "n_features": run.data.n_features,
    }  # fmt: skip
    key = (id(run.data), run.impl, run.backend, run.device, run.dtype)
    try:
        if key not in cache:
            cache[key] = run.make(run.params).place(X_train, y_train)
        fitter, timing = _measure(run, cache[key], **how)
        with np.errstate(all="ignore"):  # a peer that blew up predicts inf: said below
            row.update(_scores(fitter, run.data.task, X_test, y_test))
    except DivergenceError as exc:  # a result, as a diverged peer is (the run goes on)
        given = run.params.get("eta0")
        row.update(
            status="diverged", reason=f"{type(exc).__name__}: {exc}", converged=False,
            stop="diverged", eta0=given if isinstance(given, int | float) else math.nan,
        )  # fmt: skip
        return row
    except Exception as exc:  # noqa: BLE001 - one failed run is a row, the run goes on
        row.update(status="error", reason=f"{type(exc).__name__}: {exc}")
        return row
    hist = fitter.loss_history_
    last = float(hist[-1]) if hist is not None and len(hist) else None
    # a groundup estimator says how it ended; a peer is judged by groundup's rules
    if run.peer:
        outcome = judge_peer(fitter, X_train, y_train, model=run.model, params=run.params)
    else:
        outcome = Outcome(str(fitter.stop_reason_), bool(fitter.converged_))
    coef, intercept = fitter.coef_, fitter.intercept_
    if std is not None:  # the model on raw features
        coef, intercept = raw_units(coef, intercept, std)
    diverged = outcome.stop == "diverged"
    row.update(
        timing,
        status="diverged" if diverged else "ok",
        reason=outcome.reason if diverged else "",
        epochs=int(fitter.n_iter_),
        converged=outcome.converged,
        stop=outcome.stop,
        eta0=math.nan if fitter.eta0_ is None else float(fitter.eta0_),
        final_loss=outcome.final_loss if last is None else last,
        loss_history=hist,
        coef=np.asarray(coef, dtype=np.float64).tolist(),
        intercept=np.asarray(intercept, dtype=np.float64).tolist(),
        dtype=getattr(fitter, "dtype_", run.dtype),
    )
    return row


# -- the plan ---------------------------------------------------------------------------------
def method_params(model: str, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """The hyper-parameters a run of ``method`` uses: :data:`BENCH_DEFAULTS`, then ``params``
    (scalars for every method, a dict named after a method for that one)."""
    out: dict[str, Any] = {}
    for layer in (BENCH_DEFAULTS, params or {}):
        out.update({k: v for k, v in layer.items() if not isinstance(v, dict)})
        out.update(layer.get(method, {}))
    if method in GRADIENT:
        out.setdefault("optimizer", "sgd")
    else:  # a closed form (or Newton) has no optimiser
        out.pop("optimizer", None)
    return out


def _check_names(kind: str, given: Iterable[str] | None, valid: Sequence[str]) -> list[str] | None:
    if given is None:
        return None
    out = []
    for name in given:
        key = str(name).lower().replace("-", "_")
        if kind == "method":
            key = ALIASES.get(key, key)
        if key not in valid:
            msg = f"Unknown {kind} {name!r}; choose from {list(valid)}."
            raise ValueError(msg)
        if key not in out:
            out.append(key)
    if not out:
        msg = f"No {kind} given; choose from {list(valid)}."
        raise ValueError(msg)
    return out


def _check_params(params: dict[str, Any] | None, models: Sequence[str]) -> None:
    if not params:
        return
    all_methods = {m for model in models for m in METHODS[model]}
    valid = {p for model in models for p in inspect.signature(estimator_class(model)).parameters}
    valid -= {"method", "backend", "device", "dtype"}
    for key, value in params.items():
        if isinstance(value, dict):
            if key not in all_methods:
                msg = (
                    f"params[{key!r}] is a table but {key!r} is not a method of "
                    f"{list(models)}; method tables: {sorted(all_methods)}."
                )
                raise ValueError(msg)
            _check_params(value, models)
        elif key not in valid:
            msg = f"Unknown hyper-parameter {key!r}; valid names: {sorted(valid)}."
            raise ValueError(msg)


def _plan(
    sets: list[_datasets.Dataset],
    models: Sequence[str],
    methods: Sequence[str] | None,
    places: list[_Place],
    params: dict[str, Any] | None,
    peer_dtypes: Sequence[str],
    with_peers: bool,
    optimizers: Sequence[str] | None = None,
) -> tuple[list[_Run], list[dict[str, Any]]]:
    runs: list[_Run] = []
    skipped: list[dict[str, Any]] = []
    for model in models:
        matching = [d for d in sets if d.task == TASKS[model]]
        if not matching:
            names = [d.name for d in sets]
            hint = "breast_cancer or classes" if model == "logistic" else "diabetes, line or multi"
            reason = f"no {TASKS[model]} data among {names}; try --data {hint}"
            skipped.append(_skip_row("-", "-", "-", reason, model=model))
            continue
        cls = estimator_class(model)
        todo = [
            (data, method, opt)
            for data in matching
            for method in methods or METHODS[model]
            if method in METHODS[model]
            for opt in (optimizers if optimizers and method in GRADIENT else [None])
        ]
        for data, method, opt in todo:  # groundup on every place, then the peers
            more = {} if opt is None else {"optimizer": opt}
            p = method_params(model, method, {**(params or {}), **more})
            base = {"data": data, "model": model, "method": method, "params": p}
            label = {"data": data.name, "model": model, "method": method}
            if method not in GRADIENT and p.get("penalty") in ("l1", "elasticnet"):
                refusal = (
                    f"penalty={p['penalty']!r} has no closed form; method {method!r} takes None "
                    "or 'l2' (the gradient methods run it)"
                )
                skipped.append(_skip_row("-", "-", "-", refusal, **label))
                continue
            runs += [
                _Run(
                    **base, impl="groundup", backend=place.name, device=place.device,
                    dtype=place.dtype, make=partial(_GroundupFit, cls, method, place),
                    device_backend=place.backend,
                )
                for place in places
            ]  # fmt: skip
            for peer in peers_for(model, method) if with_peers else ():
                if peer.backend == "sklearn" and p.get("optimizer", "sgd") != "sgd":
                    continue  # scikit-learn's SGD has the plain update only: no peer
                # on the run's devices of its library (the CPU where there are none)
                on = [pl.device for pl in places if pl.name == peer.backend and peer.on_device]
                where = [(d, t) for d in dict.fromkeys(on) or ["cpu"] for t in peer_dtypes]
                name, reason = peer.label(p), peer.unsupported(p)
                lib = peer.backend in _backends.NAMES
                info = backend_info().get(peer.backend, {}) if lib else {"installed": True}
                if reason is None and not info.get("installed"):
                    reason = info.get("reason") or f"{peer.backend} is not installed"
                if reason:
                    skipped += [
                        _skip_row(peer.backend, device, dtype, reason, impl=name, peer=True,
                                  optimizer=p.get("optimizer"), **label)
                        for device, dtype in where
                    ]  # fmt: skip
                    continue
                runs += [
                    _Run(
                        **base, impl=name, backend=peer.backend, device=device, dtype=dtype,
                        make=partial(peer.build, device=device, dtype=dtype), peer=True,
                        device_backend=_backends.resolve(peer.backend, device) if lib else None,
                    )
                    for device, dtype in where
                ]  # fmt: skip
    return runs, skipped


def optimizer_paths(
    data: _datasets.Dataset,
    *,
    methods: Sequence[str] = ("batch", "sgd", "minibatch"),
    params: dict[str, Any] | None = None,
    backend: str = "numpy",
    scale: bool = False,
    optimizers: Sequence[str] | None = None,
) -> dict[str, np.ndarray]:
    """Each gradient method's (intercept, slope) after every epoch on simple-regression data,
    with :func:`benchmark`'s hyper-parameters (``params`` over :data:`BENCH_DEFAULTS`).

    Parameters
    ----------
    data : Dataset
        One feature.
    methods : sequence of str, default=("batch", "sgd", "minibatch")
    params : dict, optional
    backend : str, default="numpy"
    scale : bool, default=False
        Fit on the standardised feature (as ``benchmark(scale=True)``) and give the path in
        the raw feature's units (each point mapped back: the same iterates).
    optimizers : sequence of str, optional
        One path per optimiser and method, keyed ``"method·optimizer"``
        (``"minibatch·adam"``); default: one per method, with ``params``' optimiser.

    Returns
    -------
    dict of str to ndarray of shape (n_iter + 1, 2)
        The path from the starting point (0, 0), one row per epoch.
    """
    if data.n_features != 1:
        msg = f"optimizer_paths needs one feature, {data.name!r} has {data.n_features}."
        raise ValueError(msg)
    out: dict[str, np.ndarray] = {}
    X, std = np.asarray(data.X, dtype=np.float64), None
    if scale:
        std, X = _standardized(X, center=(params or {}).get("fit_intercept", True) is not False)
    opts = _check_names("optimizer", optimizers or None, OPTIMIZERS) or [None]
    for method, opt in [(m, o) for m in methods for o in opts]:
        p = method_params("linear", method, params)
        if opt is not None:
            p["optimizer"] = opt
        est = LinearRegression(method=method, backend=backend, record_path=True, **p)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, data.y)
        steps = [(float(np.ravel(b)[0]), float(np.ravel(w)[0])) for w, b in est.path_]
        path = np.asarray([(0.0, 0.0), *steps])
        if std is not None:  # (b, w) on the standardised feature -> raw units
            w = path[:, 1] / std.scale[0]
            path = np.stack([path[:, 0] - w * std.mean[0], w], axis=1)
        out[method if opt is None else f"{method}·{opt}"] = path
    return out


# -- the public entry -------------------------------------------------------------------------
def benchmark(
    data: Any = "synthetic",
    *,
    models: Sequence[str] = ("linear",),
    methods: Sequence[str] | None = None,
    backends: Sequence[str] | None = None,
    devices: Sequence[str] | None = None,
    dtypes: Sequence[str] | None = None,
    sizes: Sequence[int] | None = None,
    target: str | None = None,
    repeats: int = 3,
    warmup: int = 1,
    max_time: float | None = None,
    peers: bool = True,
    params: dict[str, Any] | None = None,
    test_size: float = 0.25,
    random_state: int = 0,
    memory: bool = True,
    scale: bool = False,
    optimizers: Sequence[str] | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> pd.DataFrame:
    """Fit every requested model and method on every backend, device and dtype; time it.

    Parameters
    ----------
    data : str, Dataset, (X, y) or a list of them, default="synthetic"
        ``"synthetic"`` (``"line"``, ``"multi"`` and ``"classes"``), one of those,
        ``"diabetes"``, ``"breast_cancer"``, a CSV path (with ``target``), a
        :class:`~groundup.datasets.Dataset` or an ``(X, y)`` pair.
    models : sequence of {"linear", "logistic"}, default=("linear",)
        Linear models run on regression data, logistic models on classification data.
    methods : sequence of str, optional
        Methods to run (aliases accepted); default: every method of each model.
    backends : sequence of str, optional
        Default: :data:`DEFAULT_BACKENDS`; one not installed gives a ``"skipped"`` row.
    devices : sequence of str, optional
        ``"cpu"``, ``"cuda"``, ``"mps"``, ...; default: the CPU and the first GPU of each
        backend. A device a backend does not have gives a skipped row.
    dtypes : sequence of {"float32", "float64"}, optional
        Default: float64 where the device has it, else float32.
    sizes : sequence of int, optional
        Draw every synthetic data set at each size (``n_samples``); real data keep theirs.
    target : str, optional
        Target column of a CSV file.
    repeats : int, default=3
        Timed fits per row; the table gives their median, min and max.
    warmup : int, default=1
        Untimed fits before the timed ones (two epochs each for gradient methods).
    max_time : float, optional
        Stop repeating a row once its timed fits have taken this many seconds (at least one
        fit runs; ``repeats`` in the result says how many did).
    peers : bool, default=True
        Also run scikit-learn and the hand-written PyTorch loop beside the methods they match.
    params : dict, optional
        Hyper-parameters: scalars for every method, ``{"sgd": {"eta0": 0.05}}`` for one.
        Defaults: :data:`BENCH_DEFAULTS`.
    test_size : float, default=0.25
        Share of each data set held out for the accuracy columns.
    random_state : int, default=0
        Seeds the synthetic data and the split.
    memory : bool, default=True
        Measure the peak host memory of one (short) fit with ``tracemalloc``.
    scale : bool, default=False
        Standardise each data set's features with its training split's mean and standard
        deviation, for every method and peer; ``coef`` and ``intercept`` stay in the raw
        features' units.
    optimizers : sequence of str, optional
        Run every gradient method once per optimiser (one row each, named in the
        ``optimizer`` column); the PyTorch loop uses the matching ``torch.optim`` optimiser,
        scikit-learn's SGD only ``"sgd"``. Default: the ``optimizer`` of ``params``.
    progress : callable, optional
        ``progress(done, total, label)`` before each run.

    Returns
    -------
    pandas.DataFrame
        One row per run with the columns of :data:`COLUMNS`: ``status`` is ``"ok"``,
        ``"diverged"``, ``"skipped"`` or ``"error"`` (the last three with ``reason``);
        ``stop`` is one of :data:`STOP_REASONS`, ``eta0`` the first learning rate of a
        gradient run; times in seconds, memory in MiB; ``loss_history``, ``coef`` and
        ``intercept`` are kept for the plots.

    Raises
    ------
    ValueError
        An unknown model, method, backend, dtype, data name or hyper-parameter, or a count out
        of range (the message lists the valid values).
    """
    models = _check_names("model", models, MODELS)
    all_methods = tuple(dict.fromkeys(m for model in models for m in METHODS[model]))
    methods = _check_names("method", methods, all_methods)
    names = _check_names("backend", backends, _backends.NAMES) or list(DEFAULT_BACKENDS)
    dtypes = _check_names("dtype", dtypes, DTYPES)
    _check_counts(repeats, warmup, max_time, test_size, sizes)
    _check_params(params, models)
    optimizers = _check_names("optimizer", optimizers, OPTIMIZERS)
    if optimizers and any(
        k == "optimizer" or (isinstance(v, dict) and "optimizer" in v)
        for k, v in (params or {}).items()
    ):
        msg = (
            "give the optimiser once: as optimizers=[...] (one row each) or as "
            "params={'optimizer': ...}, not both."
        )
        raise ValueError(msg)
    sets = _datasets.resolve(data, sizes=sizes, random_state=random_state, target=target)

    places, skipped = _places(names, devices, dtypes)
    runs, more = _plan(
        sets, models, methods, places, params, dtypes or ["float64"], peers, optimizers
    )
    how = {"repeats": repeats, "warmup": warmup, "max_time": max_time, "memory": memory}
    rows: list[dict[str, Any]] = []
    cache: dict[tuple, Any] = {}  # the training rows of this data set where each run fits
    current = split = None
    for i, run in enumerate(runs):
        if progress is not None:
            progress(i, len(runs), f"{run.data.name} {run.method} {run.impl} {run.backend}")
        if run.data is not current:  # the runs of a data set follow one another
            cache.clear()  # device copies of the previous data set can go
            current = run.data
            split = _split(
                run.data, test_size, random_state, scale=scale,
                center=(params or {}).get("fit_intercept", True) is not False,
            )  # fmt: skip
        rows.append(_execute(run, split, cache, **how))
    if progress is not None:
        progress(len(runs), len(runs), "done")
    frame = pd.DataFrame(rows + skipped + more, columns=list(COLUMNS)).assign(scaled=bool(scale))
    return frame.astype({"peer": bool})


def _split(
    data: _datasets.Dataset, test_size: float, seed: int, *, scale: bool = False,
    center: bool = True,
) -> tuple:  # fmt: skip
    """``X_train, X_test, y_train, y_test, std``: labels as integer codes, scaled with ``scale``."""
    X_train, X_test, y_train, y_test = data.split(test_size, seed)
    if data.task == "classification" and y_train.dtype.kind not in "iu":
        _, codes = np.unique(np.concatenate([y_train, y_test]), return_inverse=True)
        y_train, y_test = codes[: len(y_train)], codes[len(y_train) :]
    if not scale:
        return X_train, X_test, y_train, y_test, None
    std, X_train, X_test = _standardized(X_train, X_test, center=center)
    return X_train, X_test, y_train, y_test, std


def _standardized(X: Any, *others: Any, center: bool) -> tuple:
    """``std`` of the training rows ``X``, then ``X`` and ``others`` standardised with it."""
    host = _backends.resolve("numpy")
    X, *others = (np.asarray(a, dtype=np.float64) for a in (X, *others))
    std = fit_standardization(X, center=center, backend=host)
    return std, *(np.asarray(standardize(a, std, backend=host)) for a in (X, *others))


def _check_counts(
    repeats: int, warmup: int, max_time: float | None, test_size: float, sizes: Any
) -> None:
    if not isinstance(repeats, int) or repeats < 1:
        msg = f"repeats must be an integer >= 1, got {repeats!r}."
        raise ValueError(msg)
    if not isinstance(warmup, int) or warmup < 0:
        msg = f"warmup must be an integer >= 0, got {warmup!r}."
        raise ValueError(msg)
    if max_time is not None and not max_time > 0:
        msg = f"max_time must be > 0 seconds or None, got {max_time!r}."
        raise ValueError(msg)
    if not 0.0 < test_size < 1.0:
        msg = f"test_size must be in (0, 1), got {test_size!r}."
        raise ValueError(msg)
    for n in sizes or []:
        if not isinstance(n, int | np.integer) or n < 8:
            msg = f"sizes must be integers >= 8 (rows of synthetic data), got {n!r}."
            raise ValueError(msg)
