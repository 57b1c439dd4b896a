"""gu.sweep: every vectorised run equals the single fit of its configuration (linear, binary
and multinomial logistic, with and without sample weights); divergence is a result; the table,
the best run, the plots and the ``sweep`` sub-command."""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from _helpers import assert_on_case, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import mean_squared_error, r2_score

import groundup as gu
from groundup.cli import sweep as sweep_cli
from groundup.exceptions import DivergenceError
from groundup.sweeps import sweep

SCHEDULES = ["constant", "invscaling", "adaptive", "time_decay", "cosine_annealing"]


def _single(result, i, X, y, case, sample_weight=None, model="linear"):
    """Fit row ``i``'s configuration alone on the sweep's training rows (the oracle), with
    their sample weights."""
    cls = gu.LinearRegression if model == "linear" else gu.LogisticRegression
    est = cls(**result.params_of(i), backend=case.name, device=case.device)
    rows = result.train_index
    sw = None if sample_weight is None else case.asarray(sample_weight[rows])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            return est.fit(case.asarray(X[rows]), case.asarray(y[rows]), sample_weight=sw)
        except DivergenceError as exc:
            return exc


def _assert_same_as_single(
    result, X, y, case, *, rtol=None, sample_weight=None, model="linear"
) -> None:
    """Every row equals its configuration fitted alone: linear and binary logistic runs keep
    coef (n_features,) and a 0-d intercept, multinomial ones coef_ (n_classes, n_features)
    and (n_classes,)."""
    rtol = case.rtol if rtol is None else rtol
    n_classes = len(np.unique(y)) if model == "logistic" else 1
    multinomial = n_classes > 2
    for i in range(len(result.table)):
        row = result.table.loc[i]
        single = _single(result, i, X, y, case, sample_weight, model=model)
        if isinstance(single, DivergenceError):
            assert row["diverged"], f"row {i}: the single fit diverged, the sweep did not"
            assert f"at epoch {row['diverged_epoch']}," in str(single)
            continue
        assert not row["diverged"], f"row {i} diverged in the sweep only"
        assert_on_case(result.coefs[i], case)
        assert_on_case(result.intercepts[i], case)
        if model == "logistic":
            assert tuple(single.coef_.shape) == (n_classes if multinomial else 1, X.shape[1])
        assert tuple(result.coefs[i].shape) == (
            tuple(single.coef_.shape) if multinomial else (X.shape[1],)
        )
        assert tuple(result.intercepts[i].shape) == ((n_classes,) if multinomial else ())
        np.testing.assert_allclose(
            case.to_numpy(result.coefs[i]).reshape(single.coef_.shape),
            case.to_numpy(single.coef_),
            rtol=rtol,
            atol=rtol,
        )
        np.testing.assert_allclose(
            case.to_numpy(result.intercepts[i]).reshape(-1),
            case.to_numpy(single.intercept_).reshape(-1),
            rtol=rtol,
            atol=rtol,
        )
        np.testing.assert_allclose(result.histories[i], single.loss_history_, rtol=rtol)
        assert row["n_iter"] == single.n_iter_, f"row {i}"
        assert row["t"] == single.t_, f"row {i}"
        assert row["converged"] == single.converged_, f"row {i}"


# -- each run equals its single fit -----------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "n", "extra"),
    [
        ("minibatch", 160, {"batch_size": 16, "max_iter": 25}),
        ("batch", 160, {"max_iter": 45}),
        ("sgd", 40, {"max_iter": 8}),
    ],
)
def test_runs_equal_single_fits(case, method, n, extra):
    X, y, _ = make_regression(n=n, d=3, seed=1)
    grid = {"eta0": [0.01, 0.3], "learning_rate": SCHEDULES}
    res = sweep(case.asarray(X), case.asarray(y), method=method, grid=grid, random_state=7, **extra)
    assert len(res.table) == 10
    assert res.table["converged"].any()  # the stopping rule is exercised
    assert res.table["group"].nunique() == 1  # one vectorised group
    assert res.backend == case.backend.name
    # float32: the (d, K) and (d, 1) matrix products round differently; far below the data's
    # own rounding after tens of epochs.
    _assert_same_as_single(res, X, y, case, rtol=None if case.dtype == "float64" else 2e-3)


def test_per_column_max_iter_tol_penalty_and_schedules(case64):
    X, y, _ = make_regression(n=120, d=4, seed=2)
    grid = {
        "max_iter": [3, 9, 30],
        "learning_rate": ["optimal", "step_decay", "reciprocal", "exponential_decay"],
        "alpha": [1e-3, 0.05],
        "tol": [None, 1e-4],
    }
    res = sweep(
        case64.asarray(X),
        case64.asarray(y),
        grid=grid,
        penalty="l2",
        eta0=0.05,
        batch_size=10,
        epochs_drop=2,
        decay=0.01,
        random_state=3,
    )
    assert len(res.table) == 48
    assert res.table["group"].nunique() == 1
    assert set(res.table["n_iter"]) >= {3, 9}
    _assert_same_as_single(res, X, y, case64)


def test_preconditioned_runs_with_a_numeric_tol_equal_single_fits(case64):
    """eta0="auto" descends on preconditioned data, where the loss is in y's scale squared:
    a number as ``tol`` is an improvement of the loss in the data's units, in the sweep as in
    the single fit (the target here is 50 times the unit scale, so the two would differ)."""
    X, y, _ = make_regression(n=200, d=3, seed=4)
    y = 50.0 * y + 7.0
    grid = {"tol": [1e-2, 1e-4], "n_iter_no_change": [2, 5]}
    res = sweep(
        case64.asarray(X), case64.asarray(y), grid=grid, method="minibatch", batch_size=20,
        max_iter=40, random_state=5,
    )  # fmt: skip
    assert set(res.table["n_iter"]) != {40}  # the rule stopped some runs
    _assert_same_as_single(res, X, y, case64)


@pytest.mark.parametrize("model", ["linear", "binary", "multinomial"])
@pytest.mark.parametrize(
    ("method", "optimizer"), [("minibatch", "sgd"), ("sgd", "sgd"), ("batch", "adam")]
)
def test_default_rates_runs_equal_single_fits(case64, model, method, optimizer):
    """The defaults (eta0="auto": preconditioned descent, the rate from the curvature) in a
    sweep as in the single fit, for every model: a logistic sweep once failed for want of
    ``classes_`` (the curvature's factor), a multinomial one on its one-hot targets, and a
    linear batch Adam one drifted (its preconditioned moments were recomputed from the
    scaled copy: means of 1e-16 instead of exact zeros, which Adam's normalised steps blow up
    into steps of eta0 on the intercept)."""
    rng = np.random.default_rng(4)
    X = rng.standard_normal((180, 3)) * [1.0, 10.0, 100.0] + [5.0, -3.0, 0.0]
    z = X @ [1.0, 0.2, 0.01] + 0.5 * rng.standard_normal(180)
    y = {
        "linear": 30.0 * z + 40.0,
        "binary": (z > 5.0).astype(int),
        "multinomial": np.digitize(z, [4.0, 6.0]),
    }[model]
    kind = "linear" if model == "linear" else "logistic"
    grid = {"tol": ["auto", 1e-3], "penalty": [None, "l2"]}
    res = sweep(
        case64.asarray(X), case64.asarray(y), grid=grid, model=kind, method=method,
        optimizer=optimizer, batch_size=16, max_iter=6, random_state=3,
    )  # fmt: skip
    _assert_same_as_single(res, X, y, case64, model=kind)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_logistic_runs_without_intercept_are_certified_as_single_fits(case64, n_classes):
    """A logistic run without an intercept is certified against the minimum without one
    (the sweep's log-loss once kept an intercept: excesses of 50-75 % for 0.5 %)."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 3)) * [1.0, 10.0, 100.0] + [5.0, -3.0, 0.0]
    z = X @ [1.0, 0.2, 0.01] + rng.standard_normal(200)
    y = (z > 5.0).astype(int) if n_classes == 2 else np.digitize(z, [4.0, 6.0])
    sw = rng.uniform(0.5, 2.0, 200)
    res = sweep(
        case64.asarray(X), case64.asarray(y), grid={"alpha": [1e-3, 1e-2]}, model="logistic",
        sample_weight=case64.asarray(sw), method="sgd", fit_intercept=False, penalty="l1",
        learning_rate="constant", tol=None, max_iter=6, random_state=3,
    )  # fmt: skip
    if n_classes == 2:
        assert res.table["converged"].any()  # what the test tells apart
    _assert_same_as_single(res, X, y, case64, model="logistic", sample_weight=sw)


def test_groups_by_batch_size_and_shuffle(case64):
    X, y, _ = make_regression(n=90, d=3, seed=4)
    grid = {"batch_size": [4, 32], "shuffle": [True, False], "eta0": [0.01, 0.05]}
    res = sweep(case64.asarray(X), case64.asarray(y), grid=grid, max_iter=6, random_state=0)
    assert res.table["group"].nunique() == 4
    assert (res.table.groupby("group").size() == 2).all()
    _assert_same_as_single(res, X, y, case64)


def test_early_stopping_runs_equal_single_fits():
    X, y, _ = make_regression(n=200, d=3, seed=5, noise=1.0)
    grid = {"eta0": [0.001, 0.01, 0.1], "n_iter_no_change": [2, 4]}
    res = sweep(X, y, grid=grid, early_stopping=True, max_iter=40, tol=1e-3, random_state=1)
    case = _numpy_case()
    _assert_same_as_single(res, X, y, case)
    assert (res.table["stop_reason"] == "tol").any()  # the validation rule fired


def _numpy_case():
    from _cases import Case

    return Case("numpy", "cpu", "float64")


# -- divergence is a result -----------------------------------------------------------------
@pytest.mark.parametrize("tol", [1e-3, None])
def test_divergence_is_marked_and_others_go_on(case64, tol):
    X, y, _ = make_regression(n=100, d=3, seed=6)
    X = X * 30.0  # unscaled: large steps blow up
    grid = {"eta0": [1e-5, 1e-4, 0.05, 1.0], "learning_rate": ["constant", "invscaling"]}
    res = sweep(
        case64.asarray(X),
        case64.asarray(y),
        grid=grid,
        batch_size=8,
        max_iter=15,
        tol=tol,
        random_state=2,
    )
    t = res.table
    assert t["diverged"].sum() >= 2
    assert (~t["diverged"]).sum() >= 2
    div = t[t["diverged"]]
    assert div["diverged_epoch"].notna().all()
    assert (div["diverged_epoch"] >= 1).all()
    assert div["val_rmse"].isna().all()
    assert t.loc[~t["diverged"], "val_rmse"].notna().all()
    if tol is not None:  # checked every epoch: frozen at the epoch it diverged
        assert (div["n_iter"] == div["diverged_epoch"]).all()
    assert res.best_index is not None
    assert not t.loc[res.best_index, "diverged"]
    _assert_same_as_single(res, X, y, case64)


def test_every_run_diverged_has_no_best():
    X, y, _ = make_regression(n=60, d=2, seed=7)
    res = sweep(X * 100, y, grid={"eta0": [2.0, 5.0]}, learning_rate="constant", max_iter=5)
    assert res.table["diverged"].all()
    assert res.best is None
    assert res.best_index is None
    assert res.best_params is None
    with pytest.raises(ValueError, match="Every configuration diverged"):
        res.estimator()
    with pytest.raises(ValueError, match="Every configuration diverged"):
        res.plot_best()


# -- the table ----------------------------------------------------------------------------------
def test_table_metrics_and_best():
    X, y, _ = make_regression(n=150, d=3, seed=8, noise=0.5)
    grid = {"eta0": [0.001, 0.01, 0.1], "batch_size": [8, 32]}
    res = sweep(X, y, grid=grid, max_iter=20, random_state=4, validation_fraction=0.25)
    t = res.table
    for col in (
        "eta0",
        "batch_size",
        "train_loss",
        "val_rmse",
        "val_r2",
        "n_iter",
        "t",
        "converged",
        "diverged",
        "diverged_epoch",
        "fit_time",
        "group",
        "group_time",
    ):
        assert col in t.columns
    assert len(t) == 6
    assert res.params == ["eta0", "batch_size"]
    assert list(t["eta0"]) == [0.001, 0.001, 0.01, 0.01, 0.1, 0.1]  # last key fastest
    n_val = math.ceil(0.25 * 150)
    assert len(res.val_index) == n_val
    assert len(res.train_index) == 150 - n_val
    assert not set(res.val_index) & set(res.train_index)
    Xv, yv = X[res.val_index], y[res.val_index]
    for i in range(len(t)):
        pred = Xv @ np.asarray(res.coefs[i]) + float(res.intercepts[i])
        assert t.loc[i, "val_rmse"] == pytest.approx(math.sqrt(mean_squared_error(yv, pred)))
        assert t.loc[i, "val_r2"] == pytest.approx(r2_score(yv, pred))
        assert t.loc[i, "train_loss"] == res.histories[i][-1]
        assert len(res.histories[i]) == t.loc[i, "n_iter"]
    assert (t["fit_time"] > 0).all()
    np.testing.assert_allclose(t["fit_time"] * 3, t["group_time"])  # 3 runs per group
    assert res.criterion == "val_rmse"
    assert res.best_index == int(t["val_rmse"].idxmin())
    assert res.best["val_rmse"] == t["val_rmse"].min()
    assert res.best_params == {
        "model": "linear",
        "method": "minibatch",
        "max_iter": 20,
        "random_state": 4,
        "eta0": t.loc[res.best_index, "eta0"],
        "batch_size": t.loc[res.best_index, "batch_size"],
    }
    by_r2 = sweep(
        X, y, grid=grid, max_iter=20, random_state=4, validation_fraction=0.25, criterion="val_r2"
    )
    assert by_r2.best_index == int(by_r2.table["val_r2"].idxmax())


def test_no_validation_split():
    X, y, _ = make_regression(n=80, d=2, seed=9)
    res = sweep(X, y, grid={"eta0": [0.01, 0.1]}, validation_fraction=None, max_iter=5)
    assert "val_rmse" not in res.table.columns
    assert res.val_index is None
    assert res.criterion == "train_loss"
    assert len(res.train_index) == 80


def test_estimator_of_a_row_predicts_with_its_coefficients(case64):
    X, y, _ = make_regression(n=100, d=3, seed=10)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    res = sweep(
        frame,
        y,
        grid={"eta0": [0.01, 0.05]},
        max_iter=10,
        random_state=0,
        backend=case64.name,
        device=case64.device,
    )
    est = res.estimator()
    assert_on_case(est.coef_, case64)
    assert list(est.feature_names_in_) == ["a", "b", "c"]
    expected = X @ case64.to_numpy(res.coefs[res.best_index]) + float(
        res.intercepts[res.best_index]
    )
    np.testing.assert_allclose(est.predict(frame), expected, rtol=1e-12)
    assert est.n_iter_ == res.best["n_iter"]
    np.testing.assert_array_equal(est.loss_history_, res.histories[res.best_index])


def test_random_state_none_draws_a_reported_seed():
    X, y, _ = make_regression(n=80, d=2, seed=11)
    first = sweep(X, y, grid={"eta0": [0.01, 0.1]}, max_iter=4)
    assert isinstance(first.random_state, int)
    again = sweep(X, y, grid={"eta0": [0.01, 0.1]}, max_iter=4, random_state=first.random_state)
    np.testing.assert_array_equal(first.train_index, again.train_index)
    pd.testing.assert_series_equal(first.table["train_loss"], again.table["train_loss"])


def test_progress_reaches_the_total():
    X, y, _ = make_regression(n=80, d=2, seed=12)
    calls = []
    sweep(
        X,
        y,
        grid={"eta0": [0.01, 0.1], "batch_size": [4, 8], "max_iter": [3, 6]},
        tol=1e-1,
        random_state=0,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls
    assert calls[-1][0] == calls[-1][1] == 12
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"grid": {"eta00": [0.1]}}, TypeError, "Unknown parameter 'eta00'.*valid names"),
        ({"grid": {"eta0": []}}, ValueError, r"grid\['eta0'\] is empty"),
        ({"grid": {}}, TypeError, "non-empty dict"),
        ({"grid": {"eta0": [0.1]}, "eta0": 0.2}, TypeError, "both in grid"),
        ({"grid": {"random_state": [1, 2]}}, TypeError, "cannot be set per configuration"),
        ({"grid": {"eta0": [0.1, -1.0]}}, ValueError, "eta0 must be > 0"),
        ({"grid": {"eta0": [0.1]}, "method": "normal"}, ValueError, "gradient methods"),
        ({"grid": {"eta0": [0.1]}, "model": "tree"}, ValueError, "Unknown model 'tree'"),
        ({"grid": {"eta0": [0.1]}, "criterion": "speed"}, ValueError, "Unknown criterion"),
        ({"grid": {"eta0": [0.1]}, "validation_fraction": 1.5}, ValueError, "in \\(0, 1\\)"),
        ({"grid": {"eta0": [0.1]}, "random_state": "x"}, TypeError, "random_state must be"),
        ({"grid": {"learning_rate": ["optimal"]}, "alpha": 0.0}, ValueError, "alpha > 0"),
    ],
)
def test_bad_input_is_refused_before_training(kwargs, error, match):
    X, y, _ = make_regression(n=40, d=2)
    with pytest.raises(error, match=match):
        sweep(X, y, **kwargs)


def test_nonfinite_X_is_refused():
    X, y, _ = make_regression(n=40, d=2)
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        sweep(X, y, grid={"eta0": [0.1]})


# -- plots --------------------------------------------------------------------------------------
def _is_figure(fig) -> bool:
    """Every plot method returns a matplotlib Figure (as ``diagnose().plot()`` does)."""
    from matplotlib.figure import Figure

    return isinstance(fig, Figure)


@pytest.fixture(scope="module")
def mixed_result():
    pytest.importorskip("matplotlib")
    X, y, _ = make_regression(n=120, d=3, seed=13)
    grid = {
        "eta0": [0.001, 0.01, 0.1, 3.0],
        "batch_size": [8, 32],
        "learning_rate": ["constant", "invscaling"],
    }
    return sweep(X * 3, y, grid=grid, max_iter=12, random_state=0)


def test_heatmap(mixed_result, tmp_path):
    fig = mixed_result.plot_heatmap()
    assert _is_figure(fig)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "eta0"
    assert ax.get_ylabel() == "batch_size"
    image = ax.images[0].get_array()
    assert image.shape == (2, 4)
    t = mixed_result.table
    ok = t[~t["diverged"]]
    best = ok.groupby(["batch_size", "eta0"])["val_rmse"].min()
    assert image[0, 0] == pytest.approx(best[(8, 0.001)])
    assert "best over learning_rate" in ax.get_title()
    n_div_cells = int(t.groupby(["batch_size", "eta0"])["diverged"].all().sum())
    assert sum(tx.get_text() == "div" for tx in ax.texts) == n_div_cells
    cells = [tx.get_text() for tx in ax.texts if tx.get_text() != "div"]
    assert len(set(cells)) == int(np.isfinite(image.filled(np.nan)).sum())  # values differ
    fig.savefig(tmp_path / "h.png")
    assert (tmp_path / "h.png").stat().st_size > 0
    ax2 = mixed_result.plot_heatmap("train_loss", x="learning_rate", y="eta0").axes[0]
    assert ax2.images[0].get_array().shape == (4, 2)
    with pytest.raises(ValueError, match="Unknown metric"):
        mixed_result.plot_heatmap("speed")


def test_loss_curves_mark_diverged_runs(mixed_result, tmp_path):
    fig = mixed_result.plot_losses()
    assert _is_figure(fig)
    ax = fig.axes[0]
    assert len(ax.lines) == len(mixed_result.histories)
    n_div = int(mixed_result.table["diverged"].sum())
    assert n_div > 0
    assert ax.get_title().endswith(f"; {n_div} diverged")
    # one cross per place, "×n" beside it where n runs diverged there: the title's count
    (marks,) = ax.collections
    counts = [int(t.get_text().lstrip("×")) for t in ax.texts if t.get_text().startswith("×")]
    assert len(marks.get_offsets()) - len(counts) + sum(counts) == n_div
    assert all(float(t).is_integer() for t in ax.get_xticks())  # whole epochs
    assert ax.get_yscale() == "log"
    assert ax.get_ylabel() == "training MSE"
    fig.savefig(tmp_path / "l.png")


def test_loss_curves_are_coloured_by_the_swept_parameter(mixed_result):
    import matplotlib as mpl
    from matplotlib.colors import to_rgba

    fig = mixed_result.plot_losses()
    ax, bar = fig.axes  # the curves and a colour bar for eta0, ticked at its values
    assert bar.get_ylabel() == "eta0"
    assert [t.get_text() for t in bar.get_yticklabels()] == ["0.001", "0.01", "0.1", "3"]
    norm = mpl.colors.LogNorm(0.001, 3.0)
    for line, (_, row) in zip(ax.lines, mixed_result.table.iterrows(), strict=True):
        assert to_rgba(line.get_color()) == mpl.colormaps["viridis"](norm(row["eta0"]))
    # the second swept parameter sets the line style, the third the marker, in the one
    # legend outside the axes
    (legend,) = fig.legends
    labels = [t.get_text() for t in legend.get_texts()]
    assert {"batch_size=8", "batch_size=32", "diverged"} <= set(labels)
    assert {"learning_rate=constant", "learning_rate=invscaling"} <= set(labels)
    assert "marker: learning_rate" in ax.get_title()
    markers = {row["learning_rate"]: line.get_marker()
               for line, (_, row) in zip(ax.lines, mixed_result.table.iterrows(), strict=True)}  # fmt: skip
    assert len(set(markers.values())) == 2
    assert any(lab.startswith("best: eta0=") for lab in labels)
    assert ax.get_legend() is None
    by_rate = mixed_result.plot_losses(color_by="learning_rate")
    assert len(by_rate.axes) == 1  # categorical: tab10 colours and legend entries
    labels = [t.get_text() for t in by_rate.legends[0].get_texts()]
    assert {"learning_rate=constant", "learning_rate=invscaling"} <= set(labels)
    colours = {to_rgba(ln.get_color()) for ln in by_rate.axes[0].lines}
    assert colours == {to_rgba("C0"), to_rgba("C1")}
    with pytest.raises(ValueError, match="not a swept parameter"):
        mixed_result.plot_losses(color_by="tol")


def test_plots_draw_on_a_given_axes_and_return_its_figure(mixed_result):
    from matplotlib.figure import Figure as Plain

    fig = Plain()
    ax = fig.add_subplot()
    assert mixed_result.plot_best(ax=ax) is fig
    assert mixed_result.plot_losses(ax=fig.add_subplot(212)) is fig


def test_best_curve(mixed_result):
    fig = mixed_result.plot_best()
    assert _is_figure(fig)
    (line,) = fig.axes[0].lines
    np.testing.assert_array_equal(line.get_ydata(), mixed_result.histories[mixed_result.best_index])
    assert "best by val_rmse" in fig.axes[0].get_title()


# -- command line ---------------------------------------------------------------------------------
def _parser():
    parser = argparse.ArgumentParser(prog="groundup")
    sweep_cli.add_parser(parser.add_subparsers(dest="command"))
    return parser


def _csv(tmp_path):
    X, y, _ = make_regression(n=150, d=3, seed=14)
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(target=y)
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return path


def test_cli_flags_write_table_histories_and_plots(tmp_path):
    pytest.importorskip("matplotlib")
    data, out = _csv(tmp_path), tmp_path / "out"
    args = _parser().parse_args(
        [
            "sweep",
            str(data),
            "--target",
            "target",
            "--eta0",
            "0.001,0.01,0.1",
            "--batch-size",
            "8,32",
            "--max-iter",
            "10",
            "--random-state",
            "0",
            "--out",
            str(out),
            "--no-progress",
            "--set",
            "tol=none",
        ]
    )
    assert args.func(args) == 0
    table = pd.read_csv(out / "sweep.csv", index_col="run")
    assert len(table) == 6
    assert set(table["batch_size"]) == {8, 32}
    assert (table["n_iter"] == 10).all()  # tol=None: every run goes the distance
    hist = pd.read_csv(out / "histories.csv", index_col="epoch")
    assert hist.shape == (10, 6)
    best = json.loads((out / "best.json").read_text())
    assert best["best_run"] == int(table["val_rmse"].idxmin())
    assert best["best_params"]["tol"] is None
    for name in ("heatmap.png", "losses.png", "best.png"):
        assert (out / name).stat().st_size > 0
    # the same sweep through the Python API
    frame = pd.read_csv(data)
    res = sweep(
        frame.drop(columns="target"),
        frame["target"],
        grid={"eta0": [0.001, 0.01, 0.1], "batch_size": [8, 32], "max_iter": [10]},
        tol=None,
        random_state=0,
    )
    np.testing.assert_allclose(table["train_loss"], res.table["train_loss"], rtol=1e-12)


def test_cli_param_is_the_one_spelling(tmp_path, capsys):
    """``--param KEY=V1,V2`` sweeps, ``--param KEY=V`` fixes; the same runs as the older
    ``--eta0 LIST`` / ``--set`` spellings (hidden aliases); --out refuses a folder that holds
    files unless --force."""
    pytest.importorskip("matplotlib")
    data = _csv(tmp_path)
    common = [str(data), "--target", "target", "--random-state", "0", "--no-progress",
              "--no-plots"]  # fmt: skip
    new, old = tmp_path / "new", tmp_path / "old"
    args = _parser().parse_args(
        ["sweep", *common, "--param", "eta0=0.001,0.01,0.1", "--param", "batch_size=[8, 32]",
         "--param", "max_iter=10", "--param", "tol=none", "--out", str(new)]
    )  # fmt: skip
    assert args.func(args) == 0
    args = _parser().parse_args(
        ["sweep", *common, "--eta0", "0.001,0.01,0.1", "--batch-size", "8,32", "--max-iter",
         "10", "--set", "tol=none", "--out", str(old)]
    )  # fmt: skip
    assert args.func(args) == 0
    a = pd.read_csv(new / "sweep.csv", index_col="run")
    b = pd.read_csv(old / "sweep.csv", index_col="run")
    assert len(a) == 6
    assert sorted(set(a["eta0"])) == [0.001, 0.01, 0.1]
    np.testing.assert_allclose(a["train_loss"], b["train_loss"], rtol=1e-12)
    assert json.loads((new / "best.json").read_text())["best_params"]["tol"] is None
    capsys.readouterr()
    args = _parser().parse_args(["sweep", *common, "--param", "eta0=0.1,0.2", "--out", str(new)])
    assert args.func(args) == 2
    assert f"--out {new} already holds files (best.json, histories.csv, sweep.csv)" in (
        capsys.readouterr().err
    )
    args = _parser().parse_args(
        ["sweep", *common, "--param", "eta0=0.1,0.2", "--out", str(new), "--force"]
    )
    assert args.func(args) == 0
    assert len(pd.read_csv(new / "sweep.csv")) == 2


def test_cli_summary_fits_80_columns(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    data = _csv(tmp_path)
    args = _parser().parse_args(
        ["sweep", str(data), "--target", "target", "--param", "eta0=0.001,0.01,0.1,50",
         "--param", "batch_size=16,64", "--param", "learning_rate=constant,invscaling",
         "--param", "max_iter=5", "--out", str(tmp_path / "o"), "--no-progress", "--no-plots"]
    )  # fmt: skip
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 80
    header = next(line for line in out.splitlines() if line.lstrip().startswith("run"))
    for name in ("batch_size", "learning_rate", "train_loss", "val_rmse", "converged"):
        assert name in header.split()  # whole, not cut to "batch…"
    assert "diverged@" in out


def test_cli_toml_config_and_flags_on_top(tmp_path):
    data, out = _csv(tmp_path), tmp_path / "o"
    config = tmp_path / "sweep.toml"
    config.write_text(
        '[sweep]\ndata = "data.csv"\ntarget = "target"\nrandom_state = 3\n'
        "validation_fraction = 0.3\n\n[sweep.grid]\neta0 = [0.01, 0.1]\n"
        'learning_rate = ["constant", "adaptive"]\n\n[sweep.params]\nmax_iter = 7\n\n'
        "[params]\ntol = 0.5\n"  # a top-level [params] table (shared with groundup bench)
    )
    args = _parser().parse_args(
        [
            "sweep",
            "--config",
            str(config),
            "--eta0",
            "0.02,0.05,0.2",
            "--out",
            str(out),
            "--no-progress",
            "--no-plots",
        ]
    )
    assert data.exists()
    assert args.func(args) == 0
    table = pd.read_csv(out / "sweep.csv")
    assert len(table) == 6  # the flag's three eta0 replace the file's two
    assert sorted(set(table["eta0"])) == [0.02, 0.05, 0.2]
    assert (table["n_iter"] <= 7).all()
    assert not (out / "heatmap.png").exists()
    best = json.loads((out / "best.json").read_text())
    assert best["random_state"] == 3
    assert best["best_params"]["max_iter"] == 7
    assert best["best_params"]["tol"] == 0.5


def test_cli_logistic_best_params_rebuild_the_logistic_model(tmp_path):
    """``best.json``'s ``best_params`` name the model: ``gu.fit(X, y, **best_params)`` is
    the logistic model of the best run; without ``--random-state`` the seed is 0, printed."""
    from sklearn.datasets import load_iris

    frame = load_iris(as_frame=True).frame
    frame.to_csv(tmp_path / "iris.csv", index=False)
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "groundup.cli", "sweep", str(tmp_path / "iris.csv"),
         "--target", "target", "--model", "logistic", "--param", "eta0=0.01,0.1",
         "--out", str(out), "--no-progress", "--no-plots"],
        capture_output=True, text=True, check=False, env={**os.environ, "COLUMNS": "100"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "--random-state 0" in done.stdout
    best = json.loads((out / "best.json").read_text())
    assert best["best_params"]["model"] == "logistic"
    assert best["random_state"] == best["best_params"]["random_state"] == 0
    X, y = frame.drop(columns="target"), frame["target"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = gu.fit(X, y, **best["best_params"])
    assert type(model).__name__ == "LogisticRegression"
    assert list(model.classes_) == [0, 1, 2]


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--eta0", "0.1"], "No data"),
        (["DATA", "--target", "target"], "No grid"),
        (["DATA", "--target", "nope", "--eta0", "0.1"], "Target column 'nope'"),
        (["DATA", "--target", "target", "--eta0", "0.1,fast"], "--eta0"),
        (["DATA", "--target", "target", "--eta0", "-1"], "eta0 must be > 0"),
        (["DATA", "--target", "target", "--eta0", "0.1", "--set", "bogus=1"], "Unknown parameter"),
        (
            ["DATA", "--target", "target", "--param", "eta0=0.1,-1"],
            "eta0 must be > 0 or 'auto', got -1",
        ),
        (["DATA", "--target", "target", "--param", "eta0"], "write KEY=VALUE"),
        (
            ["DATA", "--target", "target", "--param", "eta0=0.1", "--param", "dtype=float32"],
            "use --dtype instead",
        ),
    ],
)
def test_cli_bad_input_exits_2(tmp_path, capsys, argv, match):
    data = _csv(tmp_path)
    argv = [str(data) if a == "DATA" else a for a in argv]
    args = _parser().parse_args(["sweep", *argv, "--out", str(tmp_path / "x"), "--no-progress"])
    assert args.func(args) == 2
    assert match in capsys.readouterr().err


# -- binary logistic regression ----------------------------------------------------------------
def _classes(n, d=3, seed=0):
    """Two overlapping classes labelled 3 and 7 (the label encoding is exercised too)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    logits = X @ np.linspace(1.0, -0.5, d) + 0.3 + rng.normal(scale=1.0, size=n)
    return X, np.where(logits > 0, 7, 3)


@pytest.mark.parametrize(
    ("method", "n", "extra"),
    [
        ("minibatch", 160, {"batch_size": 16, "max_iter": 20}),
        ("batch", 120, {"max_iter": 30}),
        ("sgd", 40, {"max_iter": 6}),
    ],
)
def test_logistic_runs_equal_single_fits(case, method, n, extra):
    X, y = _classes(n, seed=2)
    grid = {"eta0": [0.01, 0.3, 3.0], "learning_rate": ["constant", "invscaling"]}
    result = sweep(
        case.asarray(X),
        case.asarray(y),
        model="logistic",
        method=method,
        grid=grid,
        random_state=5,
        **extra,
    )
    assert len(result.table) == 6
    assert result.table["group"].nunique() == 1  # one weight matrix for the six runs
    assert list(result.classes) == [3, 7]
    assert result.criterion == "val_log_loss"
    _assert_same_as_single(result, X, y, case, model="logistic")


def test_logistic_per_column_tol_penalty_early_stopping_and_schedules(case64):
    X, y = _classes(150, d=4, seed=3)
    grid = {
        "eta0": [0.05, 0.5],
        "alpha": [0.0, 0.01],
        "tol": [None, 1e-2],
        "learning_rate": ["adaptive", "time_decay"],
    }
    for early in (False, True):
        result = sweep(
            case64.asarray(X),
            case64.asarray(y),
            model="logistic",
            method="minibatch",
            grid=grid,
            penalty="l2",
            batch_size=10,
            max_iter=30,
            n_iter_no_change=3,
            early_stopping=early,
            random_state=9,
        )
        assert result.table["group"].nunique() == 1
        assert result.table["n_iter"].nunique() > 1  # columns left W at different epochs
        _assert_same_as_single(result, X, y, case64, model="logistic")


@pytest.mark.parametrize("tol", [1e-3, None])
def test_logistic_divergence_is_marked_and_others_go_on(case64, tol):
    X, y = _classes(120, d=3, seed=4)
    X = X * 100.0
    result = sweep(
        case64.asarray(X),
        case64.asarray(y),
        model="logistic",
        method="minibatch",
        grid={"eta0": [1e-4, 1e3, 1e6]},
        batch_size=16,
        max_iter=15,
        tol=tol,
        random_state=1,
    )
    table = result.table
    assert list(table["diverged"]) == [False, True, True]
    assert np.isnan(table.loc[1, "val_log_loss"])
    assert np.isnan(table.loc[2, "val_accuracy"])
    assert result.best_index == 0
    _assert_same_as_single(result, X, y, case64, model="logistic")


@pytest.mark.parametrize(
    ("kind", "method", "max_iter"), [("binary", "batch", 40), ("multinomial", "minibatch", 10)]
)
def test_logistic_table_metrics_best_and_estimator(kind, method, max_iter):
    from sklearn.metrics import accuracy_score, log_loss

    if kind == "binary":
        X, y = _classes(200, d=3, seed=6)
        labels = np.where(y == 7, "yes", "no")  # string labels: encoded as the estimator does
    else:
        X, y = _three_classes(200, seed=5)
        labels = np.array(["ant", "bee", "cat"])[np.searchsorted([10, 20, 30], y)]
    kwargs = {"model": "logistic", "method": method, "max_iter": max_iter, "random_state": 2}
    result = sweep(X, labels, grid={"eta0": [0.01, 0.1, 1.0]}, **kwargs)
    table = result.table
    assert {"train_loss", "val_accuracy", "val_log_loss"} <= set(table.columns)
    assert "val_rmse" not in table.columns
    Xv, yv = X[result.val_index], labels[result.val_index]
    n_rows = 1 if kind == "binary" else 3
    for i in range(len(table)):
        est = result.estimator(i)
        assert list(est.classes_) == sorted(set(labels))
        assert tuple(est.coef_.shape) == (n_rows, 3)
        assert tuple(est.intercept_.shape) == (n_rows,)
        if kind == "multinomial":  # centred over the classes, as the single fit's
            np.testing.assert_allclose(est.coef_.sum(axis=0), 0.0, atol=1e-12)
        proba = est.predict_proba(Xv)
        np.testing.assert_allclose(
            table.loc[i, "val_log_loss"], log_loss(yv, proba, labels=est.classes_), rtol=1e-10
        )
        assert table.loc[i, "val_accuracy"] == pytest.approx(accuracy_score(yv, est.predict(Xv)))
        assert table.loc[i, "train_loss"] == result.histories[i][-1]
        np.testing.assert_array_equal(est.loss_history_, result.histories[i])
    assert result.best_index == int(table["val_log_loss"].idxmin())
    # the best parameters rebuild the logistic model, not a linear one (issue 21.1)
    train = result.train_index
    with warnings.catch_warnings():  # max_iter=10 epochs: the sweep's runs stop there too
        warnings.simplefilter("ignore", ConvergenceWarning)
        refit = gu.fit(X[train], labels[train], **result.best_params)
    assert type(refit).__name__ == "LogisticRegression"
    np.testing.assert_allclose(refit.coef_, result.estimator().coef_, rtol=1e-6, atol=1e-9)
    by_acc = sweep(X, labels, grid={"eta0": [0.01, 0.1, 1.0]}, criterion="val_accuracy", **kwargs)
    assert by_acc.maximise
    assert by_acc.best_index == int(by_acc.table["val_accuracy"].idxmax())


def test_logistic_refuses_newton_and_classes_missing_from_training():
    X, y = _classes(60, seed=7)
    with pytest.raises(ValueError, match="gradient methods"):
        sweep(X, y, model="logistic", method="newton", grid={"eta0": [0.1]}, random_state=0)
    with pytest.raises(ValueError, match="choose 'linear' or 'logistic'"):
        sweep(X, y, model="tree", grid={"eta0": [0.1]}, random_state=0)
    # a class whose only row lands in the validation split: the runs could not learn it
    y3 = y.copy()
    probe = sweep(X, y, model="logistic", grid={"eta0": [0.1]}, random_state=0, max_iter=1)
    y3[probe.val_index[0]] = 5
    with pytest.raises(ValueError, match=r"class\(es\) \[5\] of y have no row in the training"):
        sweep(X, y3, model="logistic", grid={"eta0": [0.1]}, random_state=0)


# -- multinomial logistic regression ------------------------------------------------------------
def _three_classes(n, d=3, seed=0, scale=1.0):
    """Three overlapping classes labelled 10, 20, 30 (the label encoding is exercised)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    logits = X @ rng.normal(size=(d, 3)) + rng.normal(size=(n, 3))
    return X * scale, np.array([10, 20, 30])[np.argmax(logits, axis=1)]


@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize(
    ("method", "n", "extra"),
    [
        ("minibatch", 150, {"batch_size": 16, "max_iter": 15}),
        ("batch", 120, {"max_iter": 25}),
        ("sgd", 40, {"max_iter": 4}),
    ],
)
def test_multinomial_runs_equal_single_fits(case64, method, n, extra, early_stopping):
    """K configurations x 3 classes in one weight matrix: each run is its single fit
    (coef_ (3, d), intercept_ (3,), history, n_iter_, t_, converged_) to 1e-10; the run with
    eta0=1e4 diverges and is marked, the others go on."""
    X, y = _three_classes(n, seed=3)
    grid = {"eta0": [0.02, 0.5, 1e4], "learning_rate": ["constant", "adaptive"]}
    result = sweep(
        case64.asarray(X),
        case64.asarray(y),
        model="logistic",
        method=method,
        grid=grid,
        tol=1e-2,
        n_iter_no_change=2,
        early_stopping=early_stopping,
        random_state=4,
        **extra,
    )
    table = result.table
    assert result.table["group"].nunique() == 1  # one (d, 3 x 6) weight matrix
    assert list(result.classes) == [10, 20, 30]
    assert table.loc[table["eta0"] == 1e4, "diverged"].all()
    assert not table.loc[table["eta0"] < 1e4, "diverged"].any()
    assert table.loc[table["diverged"], "val_log_loss"].isna().all()
    assert table.loc[~table["diverged"], "val_accuracy"].between(0, 1).all()
    _assert_same_as_single(result, X, y, case64, model="logistic")


# -- sample weights -----------------------------------------------------------------------------
def _weights(n, seed=0):
    """Weights in [0, 3) with a few zeros (rows that must not count at all)."""
    w = np.random.default_rng(seed).uniform(0.0, 3.0, size=n)
    w[::7] = 0.0
    return w


@pytest.mark.parametrize(
    ("model", "method", "early_stopping"),
    [
        ("linear", "minibatch", False),
        ("linear", "batch", True),
        ("binary", "minibatch", True),
        ("binary", "batch", False),
        ("multinomial", "minibatch", False),
        ("multinomial", "batch", True),
    ],
)
def test_sample_weight_runs_equal_single_fits(case64, model, method, early_stopping):
    """Each weighted run is the single fit with sample_weight of its training rows."""
    n = 120
    if model == "linear":
        X, y, _ = make_regression(n=n, d=3, seed=15)
    elif model == "binary":
        X, y = _classes(n, seed=15)
    else:
        X, y = _three_classes(n, seed=15)
    w = _weights(n)
    kwargs = {
        "model": "linear" if model == "linear" else "logistic",
        "method": method,
        "grid": {"eta0": [0.01, 0.2], "learning_rate": ["constant", "invscaling"]},
        "batch_size": 10,
        "max_iter": 12,
        "tol": 1e-3,
        "n_iter_no_change": 3,
        "early_stopping": early_stopping,
        "random_state": 6,
    }
    X_d, y_d = case64.asarray(X), case64.asarray(y)
    result = sweep(X_d, y_d, sample_weight=case64.asarray(w), **kwargs)
    assert result.sample_weight
    if model == "linear":
        _assert_same_as_single(result, X, y, case64, sample_weight=w)
    else:
        _assert_same_as_single(result, X, y, case64, sample_weight=w, model="logistic")
    # the weights change the runs (the oracle is not blind to them)
    plain = sweep(X_d, y_d, **kwargs)
    assert not np.allclose(plain.table["train_loss"], result.table["train_loss"])


def test_sample_weight_metrics_are_weighted_like_sklearn():
    from sklearn.metrics import accuracy_score, log_loss

    X, y, _ = make_regression(n=150, d=3, seed=16, noise=0.5)
    w = _weights(150, seed=1)
    res = sweep(X, y, sample_weight=w, grid={"eta0": [0.01, 0.05]}, max_iter=5, random_state=3)
    Xv, yv, wv = X[res.val_index], y[res.val_index], w[res.val_index]
    for i in range(len(res.table)):
        pred = res.estimator(i).predict(Xv)
        rmse = math.sqrt(mean_squared_error(yv, pred, sample_weight=wv))
        assert res.table.loc[i, "val_rmse"] == pytest.approx(rmse, rel=1e-12)
        r2 = r2_score(yv, pred, sample_weight=wv)
        assert res.table.loc[i, "val_r2"] == pytest.approx(r2, rel=1e-12)
        first = sweep(X, y, grid={"eta0": [0.01, 0.05]}, max_iter=5, random_state=3)
        assert first.table.loc[i, "val_rmse"] != pytest.approx(rmse, rel=1e-6)
    X, y = _three_classes(150, seed=17)
    res = sweep(
        X,
        y,
        model="logistic",
        sample_weight=w,
        grid={"eta0": [0.05, 0.5]},
        max_iter=5,
        random_state=3,
    )
    Xv, yv, wv = X[res.val_index], y[res.val_index], w[res.val_index]
    for i in range(len(res.table)):
        est = res.estimator(i)
        expected = log_loss(yv, est.predict_proba(Xv), sample_weight=wv, labels=est.classes_)
        assert res.table.loc[i, "val_log_loss"] == pytest.approx(expected, rel=1e-10)
        acc = accuracy_score(yv, est.predict(Xv), sample_weight=wv)
        assert res.table.loc[i, "val_accuracy"] == pytest.approx(acc, rel=1e-12)
        assert res.table.loc[i, "val_accuracy"] == pytest.approx(est.score(Xv, yv, wv), rel=1e-12)


def _zero_on(rows, n=60):
    w = np.ones(n)
    w[rows] = 0.0
    return w


@pytest.mark.parametrize(
    ("model", "weights", "match"),
    [
        ("linear", -np.ones(60), "Negative values in data passed to sample_weight"),
        ("linear", np.ones(59), r"sample_weight.shape == \(59,\), expected \(60,\)"),
        ("logistic", np.r_[np.nan, np.ones(59)], "sample_weight contains NaN"),
        ("linear", np.zeros(60), "Sample weights must contain at least one non-zero"),
        ("linear", "train", "sample_weight of the 48 training rows sums to zero"),
        ("logistic", "val", "sample_weight of the 12 validation rows sums to zero"),
        ("logistic", "one class", "Only the class .* has a positive sample_weight"),
    ],
)
def test_bad_sample_weight_is_refused(model, weights, match):
    X, y = _classes(60, seed=18)
    split = sweep(X, y, model="logistic", grid={"eta0": [0.1]}, max_iter=1, random_state=0)
    if isinstance(weights, str):
        rows = {
            "train": split.train_index,
            "val": split.val_index,
            "one class": split.train_index[y[split.train_index] == 3],
        }[weights]
        weights = _zero_on(rows)
    else:  # weights of every row: the estimators refuse them with the same message
        with pytest.raises(ValueError, match=match):
            gu.fit(X, y, model=model, method="minibatch", sample_weight=weights)
    with pytest.raises(ValueError, match=match):
        sweep(X, y, model=model, sample_weight=weights, grid={"eta0": [0.1]}, random_state=0)


def test_logistic_plots(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    X, y = _classes(120, seed=8)
    result = sweep(
        X,
        y,
        model="logistic",
        grid={"eta0": [0.01, 0.1, 1e4], "batch_size": [8, 32]},
        max_iter=8,
        random_state=0,
    )
    assert result.table["diverged"].any()
    assert not result.table["diverged"].all()
    assert "val_log_loss" in result.plot_heatmap().axes[0].get_title()
    losses = result.plot_losses().axes[0]
    assert len(losses.lines) >= len(result.table)
    assert losses.get_ylabel() == "training log-loss"
    assert "best by val_log_loss" in result.plot_best().axes[0].get_title()


def test_cli_logistic(tmp_path):
    pytest.importorskip("matplotlib")
    X, y = _classes(150, seed=9)
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(label=y)
    data, out = tmp_path / "cls.csv", tmp_path / "out"
    frame.to_csv(data, index=False)
    argv = [
        "sweep",
        str(data),
        "--target",
        "label",
        "--model",
        "logistic",
        "--eta0",
        "0.01,0.1,1",
        "--max-iter",
        "10",
        "--random-state",
        "0",
        "--out",
        str(out),
        "--no-progress",
    ]
    args = _parser().parse_args(argv)
    assert args.func(args) == 0
    table = pd.read_csv(out / "sweep.csv", index_col="run")
    assert len(table) == 3
    best = json.loads((out / "best.json").read_text())
    assert best["criterion"] == "val_log_loss"
    assert best["best_run"] == int(table["val_log_loss"].idxmin())
    for name in ("heatmap.png", "losses.png", "best.png"):
        assert (out / name).stat().st_size > 0
    res = sweep(
        frame.drop(columns="label"),
        frame["label"],
        model="logistic",
        grid={"eta0": [0.01, 0.1, 1.0]},
        max_iter=10,
        random_state=0,
    )
    np.testing.assert_allclose(table["val_log_loss"], res.table["val_log_loss"], rtol=1e-12)


def test_cli_multinomial_with_weight_column(tmp_path):
    X, y = _three_classes(150, seed=19)
    w = _weights(150, seed=2)
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(label=y, w=w)
    data, out = tmp_path / "three.csv", tmp_path / "out"
    frame.to_csv(data, index=False)
    argv = [
        "sweep",
        str(data),
        "--target",
        "label",
        "--weight-column",
        "w",
        "--model",
        "logistic",
        "--eta0",
        "0.01,0.1,1",
        "--max-iter",
        "6",
        "--random-state",
        "0",
        "--out",
        str(out),
        "--no-progress",
        "--no-plots",
    ]
    args = _parser().parse_args(argv)
    assert args.func(args) == 0
    table = pd.read_csv(out / "sweep.csv", index_col="run")
    best = json.loads((out / "best.json").read_text())
    assert best["classes"] == [10, 20, 30]
    assert best["sample_weight"] is True
    res = sweep(
        frame[["a", "b", "c"]],  # the weight column is not a feature
        frame["label"],
        sample_weight=frame["w"].to_numpy(),
        model="logistic",
        grid={"eta0": [0.01, 0.1, 1.0]},
        max_iter=6,
        random_state=0,
    )
    np.testing.assert_allclose(table["val_log_loss"], res.table["val_log_loss"], rtol=1e-12)
    np.testing.assert_allclose(table["train_loss"], res.table["train_loss"], rtol=1e-12)


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["DATA", "--target", "label", "--weight-column", "nope"], "'nope' not found"),
        (["DATA", "--target", "label", "--weight-column", "label"], "is the target column"),
        (["--data", "line", "--weight-column", "w"], "built-in set: weights need a CSV"),
    ],
)
def test_cli_bad_weight_column_exits_2(tmp_path, capsys, argv, match):
    X, y = _classes(40, seed=20)
    data = tmp_path / "d.csv"
    pd.DataFrame(X, columns=["a", "b", "c"]).assign(label=y).to_csv(data, index=False)
    argv = [str(data) if a == "DATA" else a for a in argv]
    args = _parser().parse_args(
        ["sweep", *argv, "--eta0", "0.1", "--out", str(tmp_path / "x"), "--no-progress"]
    )
    assert args.func(args) == 2
    assert match in capsys.readouterr().err
