"""Issue 11 on the command line and in the benchmark: ``--scale`` (``groundup fit``,
``gu.sweep(scale=True)`` / ``groundup sweep --scale``, ``gu.benchmark(scale=True)`` /
``groundup bench --scale``) with the coefficients in the data's own units; why a fit stopped
(``stop_reason``, the bench's ``stop`` column) and the step it used (``eta0``); peers judged by
groundup's divergence and stall rules; a run whose every fit diverged says so in one line and
exits 1; every divergence and stall message names ``--scale``.

The data are scikit-learn's diabetes with ``scaled=False`` and statsmodels' ``fair``, in their
own units, written to CSV files as a user would bring them."""

from __future__ import annotations

import io
import json
import pickle
import re
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from sklearn.datasets import load_diabetes, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

import groundup as gu
from groundup import backends, bench, cli, datasets, report
from groundup._problem import fit_standardization, raw_units
from groundup.bench.status import judge_peer
from groundup.cli.common import FIT_FLAGS, FIT_SCALE_FLAGS, cli_words

QUICK = ("--repeats", "1", "--warmup", "0", "-q")
HOST = backends.resolve("numpy")


def call(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    status = cli.main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture(scope="module")
def diabetes_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "diabetes.csv"
    load_diabetes(as_frame=True, scaled=False).frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def fair_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sm = pytest.importorskip("statsmodels.api")
    path = tmp_path_factory.mktemp("data") / "fair.csv"
    sm.datasets.fair.load_pandas().data.to_csv(path, index=False)
    return path


def _xy(path: Path, target: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    frame = pd.read_csv(path)
    X = frame.drop(columns=[target])
    return X.to_numpy(np.float64), frame[target].to_numpy(np.float64), list(X.columns)


def _fit_json(capsys, *argv: str) -> tuple[int, dict, str]:
    status, out, err = call(capsys, "fit", *argv, "--format", "json")
    return status, json.loads(out), err


def _coefs(summary: dict) -> np.ndarray:
    return np.asarray([*summary["coef"].values(), summary["intercept"]])


# -- the statistics and the raw units ------------------------------------------------------------
@pytest.mark.parametrize("weighted", [False, True])
def test_standardization_is_scikit_learns_standard_scaler(weighted: bool) -> None:
    X, _ = load_diabetes(return_X_y=True, scaled=False)
    X = np.c_[X, np.full(len(X), 7.0)]  # a constant column: scale 1, as scikit-learn's
    w = np.random.default_rng(0).uniform(0.2, 3.0, len(X)) if weighted else None
    std = fit_standardization(X, w, backend=HOST)
    sk = StandardScaler().fit(X, sample_weight=w)
    np.testing.assert_allclose(std.mean, sk.mean_, rtol=1e-13)
    np.testing.assert_allclose(std.scale, sk.scale_, rtol=1e-13)
    assert std.scale[-1] == 1.0
    scaled_only = fit_standardization(X, w, center=False, backend=HOST)
    assert not scaled_only.mean.any()
    np.testing.assert_allclose(scaled_only.scale, sk.scale_, rtol=1e-13)


def test_raw_units_predict_raw_data_per_class() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 4)) * [1.0, 100.0, 0.01, 5.0] + [3.0, -200.0, 0.5, 0.0]
    std = fit_standardization(X, backend=HOST)
    Z = (X - std.mean) / std.scale
    coef, intercept = rng.normal(size=(3, 4)), rng.normal(size=3)  # three classes
    raw_c, raw_b = raw_units(coef, intercept, std)
    np.testing.assert_allclose(X @ raw_c.T + raw_b, Z @ coef.T + intercept, rtol=1e-12)
    dev_c, dev_b = raw_units(coef[0], intercept[0], std, backend=HOST)  # one output, 0-d
    np.testing.assert_allclose(dev_c, raw_c[0], rtol=1e-15)
    assert np.ndim(dev_b) == 0


# -- groundup fit --scale ---------------------------------------------------------------------
def test_fit_scale_fair_batch_defaults_match_the_normal_equations(fair_csv, capsys) -> None:
    """statsmodels' fair, features in their units: ``--method batch --scale`` with every
    default stops by tol near the minimum, its coefficients in raw units within a few % of
    the normal equations' (3.4 % of the coefficient vector here; its large coefficients
    within 2 %, the intercept 1.2 %); without --scale a step that suits the raw units
    stalls far from the minimum and says to pass --scale."""
    _, normal, _ = _fit_json(capsys, str(fair_csv), "--target", "affairs")
    status, scaled, err = _fit_json(
        capsys, str(fair_csv), "--target", "affairs", "--method", "batch", "--scale"
    )
    assert status == 0, err
    assert scaled["scaled"] is True
    assert scaled["stop_reason"] == "tol"
    assert scaled["converged"] is True
    assert scaled["eta0_param"] == "auto"
    assert 0 < scaled["eta0"] < 10
    ne, gd = _coefs(normal), _coefs(scaled)
    # tol="auto" stops with the objective within 0.1 % of its minimum: the coefficients
    # are then within 15 % (the flat directions of fair's collinear features move least)
    assert np.linalg.norm(gd[:-1] - ne[:-1]) / np.linalg.norm(ne[:-1]) < 0.15
    assert abs(gd[-1] - ne[-1]) / abs(ne[-1]) < 0.1  # the intercept, in raw units
    assert abs(scaled["metrics"]["r2"] - normal["metrics"]["r2"]) < 1e-3
    _, raw, err = _fit_json(
        capsys, str(fair_csv), "--target", "affairs", "--method", "batch", "--param", "eta0=0.001"
    )
    assert raw["stop_reason"] in ("stalled", "max_iter")  # the textbook step, data as they come
    assert not raw["converged"]
    assert raw["metrics"]["r2"] < 0.5 * normal["metrics"]["r2"]
    assert "% above the minimum" in err
    assert "--param eta0=auto" in err  # the remedy not taken


@pytest.mark.parametrize(("name", "target"), [("diabetes", "target"), ("fair", "affairs")])
def test_fit_scale_run_to_convergence_equals_the_normal_equations(
    name, target, diabetes_csv, fair_csv, capsys
) -> None:
    """The map back to raw units is exact: run to convergence on the standardised features,
    ``batch`` gives the normal equations' raw coefficients to 1e-6."""
    path = {"diabetes": diabetes_csv, "fair": fair_csv}[name]
    _, normal, _ = _fit_json(capsys, str(path), "--target", target)
    status, scaled, err = _fit_json(
        capsys, str(path), "--target", target, "--method", "batch", "--scale",
        "--param", "learning_rate=constant", "--param", "max_iter=20000", "--param", "tol=none",
    )  # fmt: skip
    assert status == 0, err
    assert scaled["stop_reason"] == "max_iter"
    np.testing.assert_allclose(_coefs(scaled), _coefs(normal), rtol=1e-6)


def test_fit_scale_diabetes_defaults_say_where_they_stopped(diabetes_csv, capsys) -> None:
    """diabetes (``scaled=False``): its serum measurements s1-s5 are nearly collinear
    (condition number 470 even standardised); ``batch`` with every default steers its rate by
    the objective and stops on tol="auto"'s 0.1 % well before 1000 epochs (it ran all 1000
    with the 1/L step alone): converged, without a warning; the well-determined coefficients
    are within 2 % of the normal equations', R2 within 0.3 %."""
    _, normal, _ = _fit_json(capsys, str(diabetes_csv), "--target", "target")
    status, scaled, err = _fit_json(
        capsys, str(diabetes_csv), "--target", "target", "--method", "batch", "--scale"
    )
    assert status == 0, err
    assert (scaled["stop_reason"], scaled["converged"]) == ("tol", True)
    assert scaled["epochs"] < 500
    assert scaled["excess"] <= 0.001
    assert "warning:" not in err
    for feature in ("sex", "bmi", "bp"):
        ne, gd = normal["coef"][feature], scaled["coef"][feature]
        assert abs(gd - ne) / abs(ne) < 0.02, feature
    assert abs(scaled["metrics"]["r2"] / normal["metrics"]["r2"] - 1) < 0.003


def test_fit_scale_saves_a_model_for_raw_data_and_says_so(diabetes_csv, tmp_path, capsys) -> None:
    X, y, names = _xy(diabetes_csv, "target")
    model = tmp_path / "model.pkl"
    status, out, err = call(
        capsys, "fit", str(diabetes_csv), "--target", "target", "--method", "sgd", "--scale",
        "--test-size", "0.25", "--random-state", "0", "--save", str(model),
    )  # fmt: skip
    assert status == 0, err
    assert "features standardised inside the fit (--scale)" in out
    assert re.search(
        r"stopped: (tol|max_iter|stalled short of the minimum), objective [\d.e-]+ % above its "
        r"minimum, eta0 [\d.e-]+ \(auto\)",
        out,
    )
    with open(model, "rb") as fh:
        est = pickle.load(fh)  # noqa: S301 - the file this test wrote
    X_train, _, y_train, _ = datasets.load(str(diabetes_csv), target="target").split(0.25, 0)
    sc = StandardScaler().fit(X_train)  # the training rows only, never the held-out ones
    ref = gu.fit(sc.transform(X_train), y_train, method="sgd", random_state=0)
    frame = pd.DataFrame(X, columns=names)  # fitted on the named columns
    np.testing.assert_allclose(est.predict(frame), ref.predict(sc.transform(X)), rtol=1e-9)


@pytest.mark.parametrize("binary", [True, False])
def test_fit_scale_logistic_is_per_class_in_raw_units(binary, tmp_path, capsys) -> None:
    iris = load_iris(as_frame=True).frame
    iris["target"] = iris["target"] == 2 if binary else iris["target"]
    iris["sepal length (cm)"] *= 1000.0  # millimetres, say: very different scales
    path = tmp_path / "iris.csv"
    iris.to_csv(path, index=False)
    status, summary, err = _fit_json(
        capsys, str(path), "--target", "target", "--model", "logistic", "--method", "newton",
        "--scale", "--param", "penalty=l2", "--param", "alpha=0.01",
    )  # fmt: skip
    assert status == 0, err
    X = iris.drop(columns=["target"]).to_numpy(np.float64)
    sc = StandardScaler().fit(X)
    ref = gu.fit(sc.transform(X), iris["target"].to_numpy(), model="logistic", method="newton",
                 penalty="l2", alpha=0.01)  # fmt: skip
    coef = np.atleast_2d(ref.coef_) / sc.scale_
    assert summary["classes"] == ([True] if binary else [0, 1, 2])
    got = np.asarray(list(summary["coef"].values())).T  # {name: [one value per class]}
    np.testing.assert_allclose(got, coef, rtol=1e-9)
    np.testing.assert_allclose(summary["intercept"], ref.intercept_ - coef @ sc.mean_, rtol=1e-9)
    assert summary["stop_reason"] == "tol"
    assert summary["eta0"] is None  # Newton has no learning rate


def test_fit_divergence_names_scale_and_json_says_diverged(diabetes_csv, capsys) -> None:
    argv = (str(diabetes_csv), "--target", "target", "--method", "batch", "--param", "eta0=0.1")
    status, out, err = call(capsys, "fit", *argv)
    assert status == 1
    assert "diverged" in err
    assert "scale the features (--scale)" in err
    assert "StandardScaler" not in err  # in the command line's words
    status, failed, _ = _fit_json(capsys, *argv)
    assert status == 1
    assert failed["stop_reason"] == "diverged"
    assert "--scale" in failed["error"]
    status, _, err = call(capsys, "fit", *argv, "--param", "scale=true")
    assert status == 2
    assert "use --scale instead" in err


def test_fit_prints_exact_for_a_closed_form(diabetes_csv, capsys) -> None:
    status, out, _ = call(capsys, "fit", str(diabetes_csv), "--target", "target")
    assert status == 0
    assert "stopped: exact (closed form)" in out
    assert "eta0" not in out
    assert "standardised" not in out


def test_cli_words_name_scale_where_the_subcommand_has_it() -> None:
    for text in (
        "Lower eta0 or scale the features (sklearn.preprocessing.StandardScaler).",
        "scale the features (sklearn.preprocessing.StandardScaler; --scale on the command "
        "line), or lower tol.",
        "Consider increasing max_iter, raising eta0 or scaling the features to improve the fit.",
        "Scale the features (sklearn.preprocessing.StandardScaler) or use penalty='l2'.",
    ):
        said = cli_words(text, FIT_SCALE_FLAGS)
        assert "(--scale)" in said, said
        assert "StandardScaler" not in said
        assert "(--scale)" not in cli_words(text, FIT_FLAGS)  # groundup diagnose has no --scale


# -- gu.sweep(scale=True) and groundup sweep ------------------------------------------------------
@pytest.mark.parametrize("model", ["linear", "logistic"])
def test_sweep_scale_runs_equal_single_fits_on_standardised_training_rows(model) -> None:
    if model == "linear":
        X, y = load_diabetes(return_X_y=True, scaled=False)
        grid = {"eta0": [0.01, 0.1], "batch_size": [16, 442]}
    else:
        X, y = load_iris(return_X_y=True)
        X = X * [1000.0, 1.0, 0.01, 1.0]
        grid = {"eta0": [0.05, 0.5]}
    w = np.random.default_rng(3).uniform(0.5, 2.0, len(y))
    res = gu.sweep(X, y, model=model, method="minibatch", grid=grid, sample_weight=w,
                   max_iter=30, scale=True, random_state=0)  # fmt: skip
    assert res.scaled
    tr = res.train_index
    sc = StandardScaler().fit(X[tr], sample_weight=w[tr])
    np.testing.assert_allclose(res.standardization.mean, sc.mean_, rtol=1e-12)
    cls = gu.LinearRegression if model == "linear" else gu.LogisticRegression
    for i in range(len(res.table)):
        warns = res.table.loc[i, "stop_reason"] == "max_iter"
        with pytest.warns(ConvergenceWarning) if warns else nullcontext():
            single = cls(**res.params_of(i)).fit(sc.transform(X[tr]), y[tr], sample_weight=w[tr])
        coef = np.atleast_2d(single.coef_) / sc.scale_
        intercept = np.atleast_1d(single.intercept_) - coef @ sc.mean_
        np.testing.assert_allclose(np.atleast_2d(res.coefs[i]), coef, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(np.atleast_1d(res.intercepts[i]), intercept, rtol=1e-10)
        est = res.estimator(i)  # predicts raw X
        np.testing.assert_allclose(
            np.asarray(est.predict(X)), np.asarray(single.predict(sc.transform(X))),
            rtol=1e-10, atol=1e-9,
        )  # fmt: skip
    best = res.best_index
    pipe = res.pipeline(best)
    step = pipe.steps[-1][0]
    warns = res.table.loc[best, "stop_reason"] == "max_iter"
    with pytest.warns(ConvergenceWarning) if warns else nullcontext():
        pipe.fit(
            X[tr], y[tr], standardscaler__sample_weight=w[tr], **{f"{step}__sample_weight": w[tr]}
        )
    np.testing.assert_allclose(
        np.atleast_2d(pipe[-1].coef_), np.atleast_2d(res.estimator(best).coef_) * sc.scale_,
        rtol=1e-10, atol=1e-10,
    )  # fmt: skip


def test_sweep_scale_metrics_are_on_raw_validation_rows() -> None:
    X, y = load_diabetes(return_X_y=True, scaled=False)
    res = gu.sweep(X, y, method="batch", grid={"eta0": [0.1, 0.3]}, max_iter=200,
                   learning_rate="constant", tol=None, scale=True, random_state=0)  # fmt: skip
    val = res.val_index
    for i in range(2):
        pred = np.asarray(res.estimator(i).predict(X[val]))
        rmse = float(np.sqrt(np.mean((y[val] - pred) ** 2)))
        assert res.table.loc[i, "val_rmse"] == pytest.approx(rmse, rel=1e-10)
    with pytest.raises(TypeError, match="scale must be True or False"):
        gu.sweep(X, y, grid={"eta0": [0.1]}, scale="yes")


def _sweep_argv(data: Path, out: Path, *more: str) -> list[str]:
    return ["sweep", str(data), "--target", "target", "--param", "eta0=0.001,0.01,0.1",
            "--param", "batch_size=16,64", "--param", "max_iter=20", "--random-state", "0",
            "--out", str(out), "--no-progress", "--no-plots", *more]  # fmt: skip


def test_sweep_every_run_diverged_says_so_in_one_line_and_exits_1(
    diabetes_csv, tmp_path, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    status, out, err = call(capsys, *_sweep_argv(diabetes_csv, tmp_path / "o"))
    assert status == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("groundup sweep: error: every run diverged (6 of 6)")
    assert "--scale" in lines[0]
    assert "--param eta0=0.0001" in lines[0]  # a tenth of the smallest step tried
    assert "diverged@" in out  # the table still shows the runs
    best = json.loads((tmp_path / "o" / "best.json").read_text())
    assert best["best_run"] is None
    assert best["scale"] is False
    assert best["standardization"] is None


def test_sweep_scale_fits_what_diverged_and_records_it(diabetes_csv, tmp_path, capsys) -> None:
    status, out, err = call(capsys, *_sweep_argv(diabetes_csv, tmp_path / "o", "--scale"))
    assert status == 0, err
    best = json.loads((tmp_path / "o" / "best.json").read_text())
    assert best["scale"] is True
    assert best["best_run"] is not None
    X, y, names = _xy(diabetes_csv, "target")
    assert list(best["standardization"]["mean"]) == names
    table = pd.read_csv(tmp_path / "o" / "sweep.csv")
    assert not table["diverged"].any()
    assert table["val_r2"].max() > 0.4
    status, _, err = call(capsys, *_sweep_argv(diabetes_csv, tmp_path / "p", "--param", "scale=1"))
    assert status == 2
    assert "use --scale instead" in err


def test_sweep_partial_divergence_exits_0_with_the_remedy(diabetes_csv, tmp_path, capsys) -> None:
    argv = _sweep_argv(diabetes_csv, tmp_path / "o", "--scale")
    argv[argv.index("eta0=0.001,0.01,0.1")] = "eta0=0.01,50"
    status, out, err = call(capsys, *argv)
    assert status == 0, err
    line = next(ln for ln in out.splitlines() if "runs diverged" in ln)
    assert line.startswith("2 of 4 runs diverged (a smaller --param eta0)")  # --scale is on
    status, out, _ = call(capsys, *_sweep_argv(diabetes_csv, tmp_path / "p",
                                                "--param", "eta0=0.001,auto"))  # fmt: skip
    assert status == 0
    assert re.search(r"2 of 4 runs diverged \(--scale, or a smaller --param eta0\)", out)


# -- the benchmark ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def diabetes_bench(diabetes_csv) -> tuple[pd.DataFrame, pd.DataFrame]:
    """diabetes in its own units, every linear method and its peers on NumPy, unscaled and
    scaled (one repeat)."""
    sets = datasets.resolve(str(diabetes_csv), target="target")
    kw = {"backends": ["numpy"], "repeats": 1, "warmup": 0, "memory": False}
    return bench.benchmark(sets, **kw), bench.benchmark(sets, scale=True, **kw)


def _bench_row(frame: pd.DataFrame, method: str, peer: str | None = None) -> pd.Series:
    hit = frame[(frame["method"] == method) & (frame["impl"] == (peer or "groundup"))]
    assert len(hit) == 1
    return hit.iloc[0]


def test_bench_peers_that_blow_up_are_diverged(diabetes_bench) -> None:
    raw, _ = diabetes_bench
    assert set(raw["stop"].dropna()) <= set(bench.runner.STOP_REASONS)
    for method in ("batch", "minibatch"):  # the bench's constant eta0=0.1 on raw units
        mine = _bench_row(raw, method)
        assert (mine["status"], mine["stop"]) == ("diverged", "diverged")
        if "torch.optim.SGD loop" in set(raw["impl"]):
            peer = _bench_row(raw, method, "torch.optim.SGD loop")
            assert (peer["status"], peer["stop"], peer["converged"]) == (
                "diverged",
                "diverged",
                False,
            )
            assert "at epoch 1, from" in peer["reason"]
            assert "scale the features" in peer["reason"]
    normal = _bench_row(raw, "normal", "sklearn.LinearRegression")
    assert (normal["status"], normal["stop"]) == ("ok", "exact")


def test_bench_sgd_peer_takes_groundups_auto_step_and_stalls_like_it(diabetes_bench) -> None:
    raw, scaled = diabetes_bench
    mine, peer = _bench_row(scaled, "sgd"), _bench_row(scaled, "sgd", "sklearn.SGDRegressor")
    assert mine["eta0"] == pytest.approx(peer["eta0"], rel=1e-12)  # eta0="auto", the same
    # raw, the peer takes the textbook step on the data as they come and stalls; groundup's
    # default descends on preconditioned data and reaches the minimum
    mine, peer = _bench_row(raw, "sgd"), _bench_row(raw, "sgd", "sklearn.SGDRegressor")
    assert peer["stop"] == "stalled"
    assert not peer["converged"]
    assert mine["converged"]


def test_bench_scale_leaves_closed_forms_and_helps_gradients(diabetes_bench) -> None:
    raw, scaled = diabetes_bench
    assert scaled["scaled"].all()
    assert not raw["scaled"].any()
    for impl in ("groundup", "sklearn.LinearRegression"):
        a, b = _bench_row(raw, "normal", impl), _bench_row(scaled, "normal", impl)
        for metric in ("rmse", "mae", "r2"):
            assert b[metric] == pytest.approx(a[metric], rel=1e-9)
        np.testing.assert_allclose(b["coef"], a["coef"], rtol=1e-8)  # raw units
        np.testing.assert_allclose(b["intercept"], a["intercept"], rtol=1e-8)
    for method in ("batch", "sgd", "minibatch"):
        a, b = _bench_row(raw, method), _bench_row(scaled, method)
        assert b["status"] == "ok"
        best = _bench_row(scaled, "normal")["r2"]  # raw with eta0="auto": as good as scaled
        assert a["status"] == "diverged" or a["r2"] > best - 0.02, method  # 0.1 diverges raw
        assert b["r2"] > best - 0.02, method


def test_judge_peer_rules() -> None:
    class Fake:
        n_iter_, dtype_, eta0_, converged_ = 3, "float64", 0.5, True

    X, y = load_diabetes(return_X_y=True)
    zero = float(np.mean(y**2))
    params = {"penalty": None}
    fake = Fake()
    fake.coef_, fake.intercept_ = np.zeros(10), np.asarray(0.0)
    fake.stop_reason_, fake.tol_ = "tol", 1e-3
    for history, epoch in (([zero / 2, np.inf], 2), ([zero / 2, 2e4 * zero], 2), ([2 * zero], 1)):
        fake.loss_history_ = np.asarray(history)
        out = judge_peer(fake, X, y, model="linear", params=params)
        assert (out.stop, out.converged) == ("diverged", False)
        assert f"at epoch {epoch}," in out.reason or "after 3 epoch" in out.reason
    fake.loss_history_ = None  # only the final coefficients: the intercept alone, far off
    fake.intercept_ = np.asarray(float(np.mean(y)))
    out = judge_peer(fake, X, y, model="linear", params=params)
    assert out.stop == "stalled"
    assert out.final_loss == pytest.approx(float(np.var(y)))
    assert "--scale" in cli_words(out.reason, FIT_SCALE_FLAGS)
    fake.coef_ = gu.fit(X, y).coef_
    fake.intercept_ = np.asarray(gu.fit(X, y).intercept_)
    assert judge_peer(fake, X, y, model="linear", params=params).stop == "tol"
    fake.stop_reason_ = "max_iter"
    assert judge_peer(fake, X, y, model="linear", params=params).stop == "max_iter"


def _bench_lines(text: str) -> list[str]:
    methods = ("normal", "beta", "batch", "sgd", "minibatch")
    return [ln for ln in text.splitlines() if ln.split()[:1] and ln.split()[0] in methods]


def test_bench_table_has_the_stop_column_at_100_columns(diabetes_bench) -> None:
    raw, scaled = diabetes_bench
    for frame in (raw, scaled):
        buf = io.StringIO()
        console = Console(file=buf, width=100, color_system=None, legacy_windows=False)
        report.print_table(frame, console, translate=lambda s: cli_words(s, FIT_SCALE_FLAGS))
        text = buf.getvalue()
        assert max(len(ln) for ln in text.splitlines()) <= 100
        header = next(ln for ln in text.splitlines() if ln.startswith("method"))
        assert "stop" in header.split()
        rows = _bench_lines(text)
        assert len(rows) == len(frame[frame["status"] != "skipped"])
        peer_sgd = next(ln for ln in rows if ln.startswith("sgd") and "peer sklearn" in ln)
        assert {"stalled", "tol", "max_iter"} & set(peer_sgd.split())
    diverged = [ln for ln in text.splitlines() if ln.startswith("diverged:")]
    assert not diverged  # scaled: nothing diverged
    buf = io.StringIO()
    console = Console(file=buf, width=100, color_system=None, legacy_windows=False)
    report.print_table(raw, console, translate=lambda s: cli_words(s, FIT_SCALE_FLAGS))
    text = buf.getvalue()
    under = text[text.index("fastest ") :]
    notes = [" ".join(b.split()) for b in re.split(r"\n(?=[a-z]+: )", under)[1:]]  # unwrapped
    assert any(
        n.startswith("diverged: diabetes (n=442) · batch · numpy: Divergence") for n in notes
    )
    assert any(n.startswith("stalled: diabetes (n=442) · sgd · peer sklearn: ") for n in notes)
    for note in notes:
        if note.startswith(("diverged", "stalled")):
            assert "(--scale)" in note, note


def test_bench_cli_every_groundup_run_diverged_exits_1_in_one_line(diabetes_csv, capsys) -> None:
    common = ("bench", "--data", str(diabetes_csv), "--target", "target", "--backends", "numpy",
              "--format", "csv", *QUICK)  # fmt: skip
    status, out, err = call(capsys, *common, "--methods", "batch,minibatch")
    assert status == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("groundup bench: error: every groundup run diverged (2 of 2)")
    assert "--scale" in lines[0]
    assert "--param eta0=0.01" in lines[0]
    table = pd.read_csv(io.StringIO(out))
    assert set(table[~table["peer"]]["status"]) == {"diverged"}
    status, out, err = call(capsys, *common, "--methods", "normal,batch")  # partial: fine
    assert status == 0, err
    status, out, err = call(capsys, *common, "--methods", "batch,minibatch", "--scale")
    assert status == 0, err
    table = pd.read_csv(io.StringIO(out))
    assert set(table["status"]) == {"ok"}
    assert table["scaled"].all()
    assert {"stop", "eta0"} <= set(table.columns)
    assert (table[table["method"] == "batch"]["eta0"] == 0.1).all()
