"""gu.sweep over ``optimizer`` and the L1 / elastic-net penalties: the configurations that
share a visiting order train as the columns of one weight matrix (one gradient product per
update), each optimiser with its own state, and every run equals the single fit of its
configuration on the sweep's training rows (float64, 1e-10)."""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import make_classes, make_regression
from test_sweep import _assert_same_as_single

from groundup.kernels.optimizers import OPTIMIZERS
from groundup.sweeps import sweep

METHODS = [
    ("minibatch", 120, {"batch_size": 16, "max_iter": 6}),
    ("batch", 120, {"max_iter": 12}),
    ("sgd", 30, {"max_iter": 3}),
]
KINDS = [("linear", 1), ("logistic", 2), ("logistic", 3)]


def _data(model: str, classes: int, n: int):
    if model == "linear":
        X, y, _ = make_regression(n=n, d=3, seed=2)
        return X, y
    return make_classes(n=n, d=3, k=classes, seed=2)


@pytest.mark.parametrize(("model", "classes"), KINDS, ids=["linear", "binary", "multinomial"])
@pytest.mark.parametrize(("method", "n", "extra"), METHODS, ids=[m for m, _, _ in METHODS])
def test_every_optimizer_equals_its_single_fit(case64, model, classes, method, n, extra):
    """Seven optimisers x two rates x (no penalty, L2) in one group; a tol lets some runs
    stop early (their columns and optimiser state leave the group) while the others go on."""
    X, y = _data(model, classes, n)
    grid = {"optimizer": list(OPTIMIZERS), "eta0": [0.01, 0.1], "penalty": [None, "l2"]}
    res = sweep(
        case64.asarray(X),
        case64.asarray(y),
        model=model,
        method=method,
        grid=grid,
        alpha=0.01,
        learning_rate="invscaling",
        tol=1e-2,
        n_iter_no_change=2,
        random_state=3,
        **extra,
    )
    table = res.table
    assert len(table) == 28
    assert table["group"].nunique() == 1  # one weight matrix, one gradient per update
    assert list(table["optimizer"]) == [o for o in OPTIMIZERS for _ in range(4)]
    assert res.params_of(5)["optimizer"] == "momentum"
    _assert_same_as_single(res, X, y, case64, rtol=1e-10, model=model)


@pytest.mark.parametrize(("model", "classes"), KINDS, ids=["linear", "binary", "multinomial"])
@pytest.mark.parametrize(("method", "n", "extra"), METHODS, ids=[m for m, _, _ in METHODS])
def test_l1_and_elasticnet_equal_their_single_fits(case64, model, classes, method, n, extra):
    """The cumulative L1 truncation (sgd, minibatch) and the proximal step (batch), each
    column with its own strength and truncation state, beside L2 and plain runs."""
    X, y = _data(model, classes, n)
    grid = {"penalty": ["l1", "elasticnet", "l2", None], "alpha": [1e-3, 0.05]}
    res = sweep(
        case64.asarray(X),
        case64.asarray(y),
        model=model,
        method=method,
        grid=grid,
        eta0=0.05,
        l1_ratio=0.4,
        learning_rate="constant",
        tol=None,
        random_state=3,
        **extra,
    )
    assert res.table["group"].nunique() == 1
    _assert_same_as_single(res, X, y, case64, rtol=1e-10, model=model)


def test_batch_l1_lands_on_zero():
    """Proximal steps set the coefficient of a feature without signal to exactly zero."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = 2.0 * X[:, 0] - X[:, 1] + 0.1 * rng.normal(size=200)
    res = sweep(X, y, method="batch", grid={"penalty": ["l1", "l2"]}, alpha=0.1, max_iter=200)
    assert res.coefs[0][2] == 0.0
    assert res.coefs[1][2] != 0.0


def test_adaptive_optimizers_take_torchs_rate_with_auto_eta0():
    """eta0='auto' (the default): the adaptive optimisers take torch's default learning
    rate, as the estimators do; the others the data's safe step."""
    X, y, _ = make_regression(n=80, d=2, seed=4)
    res = sweep(
        X,
        y,
        grid={"optimizer": ["sgd", "adam", "adagrad"]},
        max_iter=4,
        tol=None,
        random_state=1,
        validation_fraction=None,
    )
    for i, opt in enumerate(["sgd", "adam", "adagrad"]):
        est = res.estimator(i)
        assert est.optimizer == opt
    _assert_same_as_single(res, X, y, _numpy_case(), rtol=1e-10)


def test_optimizer_as_a_fixed_parameter():
    X, y, _ = make_regression(n=80, d=2, seed=4)
    res = sweep(X, y, grid={"eta0": [0.001, 0.01]}, optimizer="adam", max_iter=3, random_state=1)
    assert res.fixed["optimizer"] == "adam"
    assert res.params_of(0)["optimizer"] == "adam"
    _assert_same_as_single(res, X, y, _numpy_case(), rtol=1e-10)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"grid": {"average": [True, False]}}, r"average=True.*average=False.*gu\.fit"),
        ({"grid": {"optimizer": ["adam", "rmsprop2"]}}, "Unknown optimizer 'rmsprop2'"),
        ({"grid": {"optimizer": ["adam"]}, "penalty": "l1"}, "optimizer='sgd'"),
        (
            {"grid": {"eta0": [0.1]}, "model": "logistic", "class_weight": "balanced"},
            r"class_weight='balanced'.*sample_weight",
        ),
    ],
)
def test_what_the_sweep_cannot_train_is_named(kwargs, match):
    X, y, _ = make_regression(n=40, d=2)
    if kwargs.get("model") == "logistic":
        y = (y > np.median(y)).astype(int)
    with pytest.raises(ValueError, match=match):
        sweep(X, y, **kwargs)


def _numpy_case():
    from _cases import CASES

    return next(c.values[0] for c in CASES if c.values[0].id == "numpy-cpu-float64")


def test_cli_sweeps_optimizer(tmp_path, capsys, monkeypatch):
    """``groundup sweep --param optimizer=sgd,momentum,adam``: one row per optimiser and
    rate, the optimizer column in the table, sweep.csv and best.json."""
    import json

    import pandas as pd

    from groundup.cli import main

    monkeypatch.setenv("COLUMNS", "100")
    out = tmp_path / "out"
    code = main(
        ["sweep", "--data", "diabetes", "--scale", "--param", "optimizer=sgd,momentum,adam",
         "--param", "eta0=0.01,0.1", "--param", "max_iter=5", "--random-state", "0",
         "--no-progress", "--no-plots", "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    assert "optimizer" in text
    assert max(len(line) for line in text.splitlines()) <= 100
    table = pd.read_csv(out / "sweep.csv", index_col="run")
    assert sorted(set(table["optimizer"])) == ["adam", "momentum", "sgd"]
    assert len(table) == 6
    assert json.loads((out / "best.json").read_text())["best_params"]["optimizer"] in set(
        table["optimizer"]
    )
