"""groundup.bench: the runner's table against scikit-learn oracles, its peers against groundup
(the PyTorch loop makes the same updates as ``method="minibatch"``), skipped and failed rows,
timing and memory bookkeeping, and argument checks. Small data, one repeat: fast."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression as SkLinear
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

import groundup
from groundup import bench, datasets
from groundup.bench import report

HAS_TORCH = importlib.util.find_spec("torch") is not None
QUICK = {"repeats": 1, "warmup": 0, "memory": False}


@pytest.fixture(scope="module")
def line() -> datasets.Dataset:
    return datasets.make_line(160, random_state=2)


@pytest.fixture(scope="module")
def numpy_run(line: datasets.Dataset) -> pd.DataFrame:
    return bench.benchmark(line, backends=["numpy"], repeats=2, warmup=1)


def _row(frame: pd.DataFrame, **where: object) -> pd.Series:
    mask = np.ones(len(frame), dtype=bool)
    for key, value in where.items():
        mask &= (frame[key] == value).to_numpy()
    hits = frame[mask]
    assert len(hits) == 1, f"{len(hits)} rows match {where}"
    return hits.iloc[0]


def test_table_has_every_method_and_its_peers(numpy_run: pd.DataFrame) -> None:
    assert list(numpy_run.columns) == list(bench.COLUMNS)
    ours = numpy_run[~numpy_run["peer"]]
    assert sorted(ours["method"]) == sorted(bench.METHODS["linear"])
    assert (ours["status"] == "ok").all(), ours[["method", "reason"]]
    peers = set(numpy_run.loc[numpy_run["peer"], "impl"])
    assert {"sklearn.LinearRegression", "sklearn.SGDRegressor"} <= peers
    if HAS_TORCH:
        assert "torch.optim.SGD loop" in peers
    assert (numpy_run["n_samples"] == 160).all()
    assert (numpy_run["n_features"] == 1).all()


def test_metrics_equal_scikit_learn_on_the_held_out_split(
    numpy_run: pd.DataFrame, line: datasets.Dataset
) -> None:
    X_train, X_test, y_train, y_test = line.split(0.25, 0)
    pred = SkLinear().fit(X_train, y_train).predict(X_test)
    for impl in ("groundup", "sklearn.LinearRegression"):
        row = _row(numpy_run, method="normal", impl=impl)
        assert row["rmse"] == pytest.approx(root_mean_squared_error(y_test, pred), rel=1e-10)
        assert row["mae"] == pytest.approx(mean_absolute_error(y_test, pred), rel=1e-10)
        assert row["r2"] == pytest.approx(r2_score(y_test, pred), rel=1e-10)
        np.testing.assert_allclose(row["coef"], SkLinear().fit(X_train, y_train).coef_)
    assert numpy_run["accuracy"].isna().all()


def test_timing_and_bookkeeping(numpy_run: pd.DataFrame) -> None:
    ok = numpy_run[numpy_run["status"] == "ok"]
    assert (ok["repeats"] == 2).all()
    assert (ok["fit_time_min"] > 0).all()
    assert (ok["fit_time_min"] <= ok["fit_time"]).all()
    assert (ok["fit_time"] <= ok["fit_time_max"]).all()
    sgd = _row(numpy_run, method="sgd", impl="groundup")
    est = groundup.LinearRegression(method="sgd", random_state=0)
    X_train, _, y_train, _ = datasets.make_line(160, random_state=2).split(0.25, 0)
    est.fit(X_train, y_train)
    assert sgd["epochs"] == est.n_iter_
    assert bool(sgd["converged"]) == est.converged_
    np.testing.assert_allclose(sgd["loss_history"], est.loss_history_, rtol=1e-12)
    assert sgd["final_loss"] == pytest.approx(est.loss_history_[-1], rel=1e-12)
    closed = _row(numpy_run, method="normal", impl="groundup")
    assert closed["epochs"] == 1
    assert closed["converged"]
    # tracemalloc sees NumPy's buffers; device memory is measured only on a GPU.
    assert (ok.loc[ok["backend"] == "numpy", "peak_host_mb"] > 0).all()
    assert ok["peak_device_mb"].isna().all()


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
@pytest.mark.parametrize("method", ["batch", "minibatch"])
def test_torch_loop_makes_groundups_updates(line: datasets.Dataset, method: str) -> None:
    """The hand-written PyTorch peer follows the same path as groundup on torch: a fair peer."""
    res = bench.benchmark(
        line,
        methods=[method],
        backends=["torch"],
        dtypes=["float64"],
        params={"precondition": False, "tol": 1e-3},  # the textbook updates and rule
        **QUICK,
    )
    ours = _row(res, impl="groundup")
    peer = _row(res, impl="torch.optim.SGD loop")
    assert peer["peer"]
    assert peer["backend"] == "torch"
    assert peer["dtype"] == "float64"
    assert ours["epochs"] == peer["epochs"] > 2
    np.testing.assert_allclose(peer["loss_history"], ours["loss_history"], rtol=1e-10)
    np.testing.assert_allclose(peer["coef"], ours["coef"], rtol=1e-10)
    np.testing.assert_allclose(peer["intercept"], ours["intercept"], rtol=1e-10)


def test_sgd_peer_is_scikit_learns_sgd(line: datasets.Dataset) -> None:
    """With shuffling off, groundup's sgd and its SGDRegressor peer make the same updates."""
    params = {"shuffle": False, "learning_rate": "constant", "eta0": 0.01, "tol": None,
              "max_iter": 5}  # fmt: skip
    res = bench.benchmark(line, methods=["sgd"], backends=["numpy"], params=params, **QUICK)
    ours, peer = _row(res, impl="groundup"), _row(res, impl="sklearn.SGDRegressor")
    np.testing.assert_allclose(peer["coef"], ours["coef"], rtol=1e-10)
    assert peer["epochs"] == ours["epochs"] == 5


def test_missing_device_is_a_skipped_row_and_the_run_goes_on(line: datasets.Dataset) -> None:
    res = bench.benchmark(
        line, methods=["normal"], backends=["numpy"], devices=["cpu", "cuda"],
        peers=False, **QUICK,
    )  # fmt: skip
    skipped = _row(res, status="skipped")
    assert skipped["backend"] == "numpy"
    assert skipped["device"] == "cuda"
    assert "not available on the numpy backend" in skipped["reason"]
    assert _row(res, status="ok")["device"] == "cpu"


def test_backend_without_a_device_is_skipped(line: datasets.Dataset) -> None:
    info = bench.backend_info()
    missing = [n for n, e in info.items() if not (e["installed"] and e["devices"])]
    if not missing:
        pytest.skip("every backend works here")
    res = bench.benchmark(line, methods=["normal"], backends=["numpy", missing[0]], **QUICK)
    row = _row(res, backend=missing[0])
    assert row["status"] == "skipped"
    assert row["reason"]
    assert _row(res, backend="numpy", impl="groundup")["status"] == "ok"


def test_float64_on_jax_without_x64_is_skipped(line: datasets.Dataset) -> None:
    info = bench.backend_info()["jax"]
    if not info["installed"] or info["float64"]:
        pytest.skip("needs JAX without JAX_ENABLE_X64")
    res = bench.benchmark(
        line, methods=["normal"], backends=["jax"], dtypes=["float32", "float64"],
        peers=False, **QUICK,
    )  # fmt: skip
    assert _row(res, dtype="float32")["status"] == "ok"
    assert "has no float64" in _row(res, dtype="float64")["reason"]


def test_a_diverged_fit_is_a_diverged_row_and_a_failing_one_an_error_row(
    line: datasets.Dataset,
) -> None:
    res = bench.benchmark(
        line, methods=["normal", "batch", "minibatch"], backends=["numpy"], peers=False,
        params={"batch": {"eta0": 1e4}, "minibatch": {"batch_size": 0}}, **QUICK,
    )  # fmt: skip
    bad = _row(res, method="batch")
    assert bad["status"] == "diverged"
    assert bad["stop"] == "diverged"
    assert not bad["converged"]
    assert "DivergenceError" in bad["reason"]
    assert bad["eta0"] == 1e4
    assert math.isnan(bad["fit_time"])
    failed = _row(res, method="minibatch")
    assert failed["status"] == "error"
    assert "batch_size" in failed["reason"]
    assert _row(res, method="normal")["status"] == "ok"
    assert _row(res, method="normal")["stop"] == "exact"


def test_max_time_stops_repeating(line: datasets.Dataset) -> None:
    res = bench.benchmark(
        line, methods=["normal"], backends=["numpy"], peers=False, repeats=5, warmup=0,
        max_time=1e-9,
    )  # fmt: skip
    assert _row(res, impl="groundup")["repeats"] == 1


def test_progress_is_reported(line: datasets.Dataset) -> None:
    calls: list[tuple[int, int, str]] = []
    bench.benchmark(
        line, methods=["normal", "beta"], backends=["numpy"], peers=False,
        progress=lambda d, t, s: calls.append((d, t, s)), **QUICK,
    )  # fmt: skip
    assert [c[:2] for c in calls] == [(0, 2), (1, 2), (2, 2)]
    assert "normal" in calls[0][2] or "beta" in calls[0][2]


def test_logistic_without_classification_data_is_skipped(line: datasets.Dataset) -> None:
    res = bench.benchmark(line, models=["logistic"], backends=["numpy"], **QUICK)
    row = _row(res, model="logistic")
    assert row["status"] == "skipped"
    assert "no classification data" in row["reason"]


def test_sizes_draw_synthetic_data_at_each_size() -> None:
    res = bench.benchmark(
        "line", sizes=[40, 80], methods=["normal"], backends=["numpy"], peers=False, **QUICK
    )
    assert sorted(res["n_samples"]) == [40, 80]


def test_params_layering() -> None:
    p = bench.method_params("linear", "minibatch", {"eta0": 0.5, "sgd": {"eta0": 0.2}})
    assert p["eta0"] == 0.5
    assert p["learning_rate"] == "constant"
    assert p["random_state"] == 0
    p = bench.method_params("linear", "sgd", {"eta0": 0.5, "sgd": {"eta0": 0.2}})
    assert p["eta0"] == 0.2
    assert "learning_rate" not in p


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"models": ["tree"]}, r"Unknown model 'tree'; choose from \['linear', 'logistic'\]"),
        ({"methods": ["newtonian"]}, r"Unknown method 'newtonian'; choose from"),
        ({"backends": ["tensorflow"]}, r"Unknown backend 'tensorflow'; choose from \['numpy'"),
        ({"dtypes": ["float16"]}, r"Unknown dtype 'float16'"),
        ({"repeats": 0}, "repeats must be an integer >= 1"),
        ({"warmup": -1}, "warmup must be an integer >= 0"),
        ({"test_size": 1.5}, r"test_size must be in \(0, 1\)"),
        ({"sizes": [3]}, "sizes must be integers >= 8"),
        ({"params": {"eta": 0.1}}, r"Unknown hyper-parameter 'eta'; valid names: .*'eta0'"),
        ({"params": {"lbfgs": {"eta0": 1}}}, r"'lbfgs' is not a method"),
        ({"data": "nosuch"}, r"Unknown data 'nosuch'"),
    ],
)
def test_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        bench.benchmark(**{"data": "line", **kwargs})


def test_method_aliases_are_accepted(line: datasets.Dataset) -> None:
    res = bench.benchmark(
        line, methods=["normal_equation"], backends=["numpy"], peers=False, **QUICK
    )
    assert list(res["method"]) == ["normal"]


def test_optimizer_paths_end_at_the_fitted_model(line: datasets.Dataset) -> None:
    paths = bench.optimizer_paths(line, methods=["batch", "minibatch"])
    for method, path in paths.items():
        np.testing.assert_array_equal(path[0], [0.0, 0.0])
        est = groundup.LinearRegression(
            method=method, **bench.method_params("linear", method, None)
        ).fit(line.X, line.y)
        assert len(path) == est.n_iter_ + 1
        np.testing.assert_allclose(path[-1], [float(est.intercept_), est.coef_[0]], rtol=1e-12)
    with pytest.raises(ValueError, match="needs one feature"):
        bench.optimizer_paths(datasets.make_multi(20))


@pytest.mark.gpu
def test_device_memory_on_a_gpu(line: datasets.Dataset) -> None:
    info = bench.backend_info()["torch"]
    if not any(d.startswith("cuda") for d in info["devices"]):
        pytest.skip("no CUDA device for torch")
    res = bench.benchmark(
        line, methods=["normal", "minibatch"], backends=["torch"], devices=["cuda"], **QUICK
    )
    ok = res[res["status"] == "ok"]
    assert (ok["device"].str.startswith("cuda")).all()
    assert (ok["peak_device_mb"] > 0).all()


@pytest.mark.skipif(
    not hasattr(groundup, "LogisticRegression"),
    reason="groundup.LogisticRegression is not there yet (the lead re-runs this)",
)
def test_logistic_runs_with_its_peers() -> None:
    from sklearn.linear_model import LogisticRegression as SkLogistic
    from sklearn.metrics import accuracy_score, log_loss

    data = datasets.make_classes(300, random_state=1)
    res = bench.benchmark(data, models=["logistic"], backends=["numpy"], **QUICK)
    ours = res[~res["peer"]]
    assert sorted(ours["method"]) == sorted(bench.METHODS["logistic"])
    assert (res["status"] == "ok").all(), res[["method", "impl", "reason"]]
    assert res["rmse"].isna().all()
    assert res["accuracy"].notna().all()
    X_train, X_test, y_train, y_test = data.split(0.25, 0)
    sk = SkLogistic(C=np.inf, max_iter=1000).fit(X_train, y_train)
    for impl in ("groundup", "sklearn.LogisticRegression"):
        row = _row(res, method="newton", impl=impl)
        assert row["accuracy"] == pytest.approx(accuracy_score(y_test, sk.predict(X_test)))
        expected = log_loss(y_test, sk.predict_proba(X_test))
        assert row["log_loss"] == pytest.approx(expected, rel=1e-4)


# -- optimisers ---------------------------------------------------------------------------------
@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
def test_optimizers_give_one_row_each_with_torch_optim_peers(line: datasets.Dataset) -> None:
    """``optimizers=[...]``: one row per optimiser for each gradient method (none for a
    closed form), the PyTorch loop beside it with the matching torch.optim optimiser and the
    same path (1e-10), scikit-learn's SGD peer only for the plain ``sgd``."""
    opts = ["sgd", "momentum", "adam"]
    res = bench.benchmark(
        line, methods=["normal", "minibatch", "sgd"], backends=["torch"], dtypes=["float64"],
        optimizers=opts, params={"max_iter": 6, "tol": None}, **QUICK,
    )  # fmt: skip
    assert (res["status"] == "ok").all(), res[["method", "impl", "reason"]]
    assert res.loc[res["method"] == "normal", "optimizer"].isna().all()
    for method in ("minibatch", "sgd"):
        assert list(res.loc[(res["method"] == method) & ~res["peer"], "optimizer"]) == opts
    loops = {"sgd": "torch.optim.SGD loop", "momentum": "torch.optim.SGD loop",
             "adam": "torch.optim.Adam loop"}  # fmt: skip
    for opt in opts:
        ours = _row(res, method="minibatch", optimizer=opt, impl="groundup")
        peer = _row(res, method="minibatch", optimizer=opt, impl=loops[opt])
        np.testing.assert_allclose(peer["coef"], ours["coef"], rtol=1e-10)
        np.testing.assert_allclose(peer["intercept"], ours["intercept"], rtol=1e-10)
        np.testing.assert_allclose(peer["loss_history"], ours["loss_history"], rtol=1e-10)
    sk = res[res["impl"] == "sklearn.SGDRegressor"]
    assert list(sk["optimizer"]) == ["sgd"]
    shown = report.display_frame(res)
    assert {"minibatch·adam", "sgd·momentum", "normal"} <= set(shown["method"])


def test_param_optimizer_applies_to_the_gradient_methods(line: datasets.Dataset) -> None:
    res = bench.benchmark(
        line, methods=["normal", "batch"], backends=["numpy"], peers=False,
        params={"optimizer": "adam", "eta0": 0.3, "max_iter": 5, "tol": None}, **QUICK,
    )  # fmt: skip
    assert (res["status"] == "ok").all()
    assert _row(res, method="batch")["optimizer"] == "adam"
    assert pd.isna(_row(res, method="normal")["optimizer"])
    est = groundup.LinearRegression(
        method="batch",
        optimizer="adam",
        eta0=0.3,
        max_iter=5,
        tol=None,
        random_state=0,
        learning_rate="constant",
    )
    X_train, _, y_train, _ = line.split(0.25, 0)
    est.fit(X_train, y_train)
    np.testing.assert_allclose(_row(res, method="batch")["coef"], est.coef_, rtol=1e-12)


def test_l1_penalty_skips_the_closed_forms_and_the_torch_loop(line: datasets.Dataset) -> None:
    res = bench.benchmark(
        line, methods=["normal", "batch"], backends=["numpy"],
        params={"penalty": "l1", "alpha": 0.05, "max_iter": 5, "tol": None}, **QUICK,
    )  # fmt: skip
    normal = _row(res, method="normal")
    assert normal["status"] == "skipped"
    assert "has no closed form" in normal["reason"]
    assert _row(res, method="batch", impl="groundup")["status"] == "ok"
    loop = res[(res["method"] == "batch") & res["peer"]]
    assert (loop["status"] == "skipped").all()
    assert loop["reason"].str.contains("no L1 penalty").all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"optimizers": ["adam", "lion"]}, r"Unknown optimizer 'lion'; choose from \['sgd'"),
        ({"optimizers": ["adam"], "params": {"optimizer": "sgd"}}, "give the optimiser once"),
    ],
)
def test_bad_optimizers(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        bench.benchmark(**{"data": "line", **kwargs})


def test_optimizer_paths_per_optimizer(line: datasets.Dataset) -> None:
    paths = bench.optimizer_paths(line, methods=["batch"], optimizers=["sgd", "adam"])
    assert list(paths) == ["batch·sgd", "batch·adam"]
    p = bench.method_params("linear", "batch", {"optimizer": "adam"})
    est = groundup.LinearRegression(method="batch", **p).fit(line.X, line.y)
    np.testing.assert_allclose(
        paths["batch·adam"][-1], [float(est.intercept_), est.coef_[0]], rtol=1e-12
    )
