"""The ``groundup`` command line end to end: subprocesses whose CSV / JSON output is parsed back
and checked against scikit-learn, the README's default run (once), config files, exit status 2
on bad arguments, ``fit`` with a saved model, and ``backends``."""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import subprocess
import sys
import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression as SkLinear
from sklearn.metrics import root_mean_squared_error

from groundup import backends, cli, datasets
from groundup.cli.common import cli_words, parse_params

SCRIPT = Path(sys.executable).with_name("groundup")
QUICK = ["--repeats", "1", "--warmup", "0", "-q"]
HAS_TORCH = backends.available().get("torch", {}).get("installed", False)


def run(*args: str, timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
    cmd = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "groundup.cli"]
    return subprocess.run(
        [*cmd, *args], capture_output=True, text=True, timeout=timeout, check=False,
        env=None if env is None else {**os.environ, **env},
    )  # fmt: skip


def call(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    """Run the command line in this process (same code path as the script, no start-up)."""
    try:
        status = cli.main(list(argv))
    except SystemExit as exc:  # argparse's own errors and --version
        status = exc.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_default_run_is_the_readme_main_job() -> None:
    """``groundup bench`` with no flags, at 100 columns: every linear method on every
    backend, with peers; each result on one line of at most 100 characters, a verdict under
    each data set, and the hint that ``--out`` writes the files.

    Its wall time (the issue asks for under a minute) is measured in
    ``benchmarks/bench_cli.py``, not asserted here.
    """
    out = run("bench", timeout=300, env={"COLUMNS": "100"})
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100
    header = next(line for line in lines if "RMSE" in line)
    for word in ("method", "backend", "RMSE", "R2", "fit ms", "epochs", "stop"):
        assert word in header
    methods = ("normal", "beta", "batch", "sgd", "minibatch")
    rows = [line.split() for line in lines if line.split()[:1] and line.split()[0] in methods]
    info = backends.available()
    here = [n for n in ("numpy", "torch", "jax", "array_api_strict") if info[n]["devices"]]
    peers = 2 + (2 if info["torch"]["installed"] else 0)  # per data set: sklearn x2, torch x2
    assert len(rows) == 2 * (len(methods) * len(here) + peers)  # line and multi
    stops = ("exact", "tol", "max_iter", "stalled")
    for row in rows:  # nothing folded: every cell of the run is on its line
        assert row[-1] in stops or row[-1].endswith("Warning"), row
        float(row[-2] if row[-1] in stops else row[-3])  # epochs
    for name in here:
        assert any(row[1] == name for row in rows)
    assert any(row[1:3] == ["peer", "sklearn"] for row in rows)
    assert sum(line.startswith("fastest ") for line in lines) == 2
    assert "--out DIR" in out.stdout
    assert not any(re.match(r"^\s+[\d.]+\s*$", line) for line in lines)


@pytest.mark.parametrize("width", [80, 120])
def test_bench_table_fits_80_and_120_columns(width: int, capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    status, out, err = call(
        capsys, "bench", "--data", "line,classes", "--models", "linear,logistic",
        "--methods", "normal,sgd,newton", "--backends", "numpy", *QUICK,
    )  # fmt: skip
    assert status == 0, err
    assert max(len(line) for line in out.splitlines()) <= width
    rows = [ln for ln in out.splitlines() if ln.split()[:1] in (["normal"], ["sgd"], ["newton"])]
    assert len(rows) == 4 + 4  # line: normal, sgd (+2 peers); classes: sgd, newton (+2 peers)
    assert sum(line.startswith("fastest ") for line in out.splitlines()) == 2  # one per set


def test_bench_optimizers_one_row_each_within_100_columns(capsys, monkeypatch) -> None:
    """``--optimizers sgd,momentum,adam``: each gradient method once per optimiser, its
    label ``minibatch·adam``, the torch.optim loop beside it; the compact table fits 100
    columns; ``--param optimizer=adam`` alone labels the gradient rows too."""
    monkeypatch.setenv("COLUMNS", "100")
    status, out, err = call(
        capsys, "bench", "--data", "line", "--methods", "normal,minibatch", "--backends",
        "numpy", "--optimizers", "sgd,momentum,adam", "--param", "max_iter=5", *QUICK,
    )  # fmt: skip
    assert status == 0, err
    assert max(len(line) for line in out.splitlines()) <= 100
    firsts = [ln.split()[0] for ln in out.splitlines() if ln.strip()]
    for opt in ("sgd", "momentum", "adam"):
        assert firsts.count(f"minibatch·{opt}") == (2 if HAS_TORCH else 1)
    assert firsts.count("normal") == 2
    status, out, err = call(
        capsys, "bench", "--data", "line", "--methods", "batch", "--backends", "numpy",
        "--param", "optimizer=adam", "--param", "max_iter=5", "--no-peers", *QUICK,
    )  # fmt: skip
    assert status == 0, err
    assert "batch·adam" in out


def test_bench_wide_prints_every_column(capsys) -> None:
    status, out, err = call(
        capsys, "bench", "--data", "line", "--methods", "normal", "--backends", "numpy",
        "--wide", *QUICK,
    )  # fmt: skip
    assert status == 0, err
    for header in ("MAE", "min-max ms", "repeats", "final loss", "host MiB"):
        assert header in out


def test_bench_out_refuses_a_folder_that_holds_files(tmp_path: Path, capsys) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    argv = ["bench", "--data", "line", "--methods", "normal", "--backends", "numpy",
            "--no-peers", "--no-plots", "--out", str(tmp_path), *QUICK]  # fmt: skip
    status, out, err = call(capsys, *argv)
    assert status == 2
    assert f"--out {tmp_path} already holds files (notes.txt)" in err
    assert "--force" in err
    assert out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]  # nothing written
    argv.remove("-q")
    status, out, err = call(capsys, *argv, "--force")
    assert status == 0, err
    assert f"--force: writing into {tmp_path}, which already holds notes.txt" in err
    assert (tmp_path / "results.csv").exists()
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert f"wrote 5 files to {tmp_path}" in out


def test_csv_output_parses_back_and_matches_scikit_learn() -> None:
    out = run(
        "bench", "--data", "line", "--methods", "normal,sgd", "--backends", "numpy",
        "--format", "csv", *QUICK,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""  # --quiet: no progress bar, no messages
    table = pd.read_csv(io.StringIO(out.stdout))
    assert set(zip(table["method"], table["impl"], strict=True)) == {
        ("normal", "groundup"), ("normal", "sklearn.LinearRegression"),
        ("sgd", "groundup"), ("sgd", "sklearn.SGDRegressor"),
    }  # fmt: skip
    assert (table["status"] == "ok").all()
    X_train, X_test, y_train, y_test = datasets.load("line").split(0.25, 0)
    expected = root_mean_squared_error(y_test, SkLinear().fit(X_train, y_train).predict(X_test))
    normal = table[table["method"] == "normal"]
    np.testing.assert_allclose(normal["rmse"], expected, rtol=1e-10)


def test_json_output_keeps_the_histories() -> None:
    out = run(
        "bench", "--data", "multi", "--sizes", "120", "--methods", "minibatch",
        "--backends", "numpy", "--no-peers", "--format", "json", *QUICK,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    (rec,) = json.loads(out.stdout)
    assert rec["method"] == "minibatch"
    assert rec["n_samples"] == 120
    assert len(rec["loss_history"]) == rec["epochs"] > 1
    assert rec["final_loss"] == pytest.approx(rec["loss_history"][-1])
    assert len(rec["coef"]) == 8


def test_out_directory_with_html_report(tmp_path: Path, capsys) -> None:
    status, out, err = call(
        capsys, "bench", "--data", "line", "--sizes", "60,120", "--methods", "normal,batch",
        "--backends", "numpy", "--out", str(tmp_path), "--format", "html",
        "--repeats", "1", "--warmup", "0",
    )  # fmt: skip
    assert status == 0, err
    assert out.strip() == str(tmp_path / "report.html")
    assert "wrote" in err
    page = (tmp_path / "report.html").read_text()
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert {"fit_times.png", "loss_per_epoch.png", "scaling.png", "loss_surface_line.png"} <= set(
        pngs
    )
    assert page.count("data:image/png;base64,") == len(pngs)
    assert "](fit_times.png)" in (tmp_path / "report.md").read_text()
    assert len(pd.read_csv(tmp_path / "results.csv")) == len(
        json.loads((tmp_path / "results.json").read_text())
    )


def test_markdown_to_stdout(capsys) -> None:
    status, out, err = call(
        capsys, "bench", "--data", "line", "--methods", "beta", "--backends", "numpy",
        "--no-peers", "--format", "markdown", *QUICK,
    )  # fmt: skip
    assert status == 0, err
    lines = [ln for ln in out.splitlines() if ln.startswith("|")]
    assert "| RMSE | MAE | R2 |" in lines[0]
    assert len(lines) == 3  # header, rule, one row


def test_config_file_and_flags_override_it(tmp_path: Path, capsys) -> None:
    config = tmp_path / "exp.toml"
    config.write_text(
        '[bench]\nmethods = ["normal", "batch"]\nbackends = "numpy"\ndata = ["line"]\n'
        'sizes = [80]\npeers = false\nrepeats = 1\nwarmup = 0\nformat = "csv"\n'
        "[params]\nmax_iter = 3\n[params.batch]\neta0 = 0.05\n"
    )
    status, out, err = call(capsys, "bench", "--config", str(config), "-q")
    assert status == 0, err
    table = pd.read_csv(io.StringIO(out))
    assert sorted(table["method"]) == ["batch", "normal"]
    assert (table["n_samples"] == 80).all()
    batch = table[table["method"] == "batch"].iloc[0]
    assert batch["epochs"] == 3  # [params] max_iter reached the fit
    assert "ConvergenceWarning" in batch["warnings"]
    _, out, _ = call(capsys, "bench", "--config", str(config), "--methods", "sgd", "-q")
    assert list(pd.read_csv(io.StringIO(out))["method"]) == ["sgd"]


def test_missing_device_is_skipped_and_a_failed_fit_exits_1(capsys) -> None:
    status, out, _ = call(
        capsys, "bench", "--data", "line", "--methods", "normal,batch,minibatch",
        "--backends", "numpy", "--devices", "cpu,cuda", "--no-peers",
        "--param", "batch.eta0=1e4", "--param", "minibatch.batch_size=0",
        "--format", "csv", *QUICK,
    )  # fmt: skip
    assert status == 1
    table = pd.read_csv(io.StringIO(out))
    skipped = table[table["status"] == "skipped"]
    assert list(skipped["device"]) == ["cuda"]
    failed = table[table["status"] == "error"]
    assert list(failed["method"]) == ["minibatch"]
    assert "batch_size" in failed["reason"].iloc[0]
    diverged = table[table["status"] == "diverged"]
    assert list(diverged["method"]) == ["batch"]
    assert "diverged" in diverged["reason"].iloc[0]
    ok = table[table["status"] == "ok"]
    assert list(ok["method"]) == ["normal"]


def test_bad_argument_exits_2_in_a_subprocess() -> None:
    out = run("bench", "--backends", "tensorflow")
    assert out.returncode == 2
    assert "Unknown backend 'tensorflow'" in out.stderr
    assert out.stdout == ""


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["bench", "--format", "xml"], "invalid choice: 'xml'"),
        (["bench", "--repeats", "0"], "expected an integer >= 1"),
        (["bench", "--sizes", "1e3,abc"], "sizes must be whole numbers"),
        (["bench", "--models", "tree"], "Unknown model 'tree'"),
        (["bench", "--methods", "lbfgs"], "Unknown method 'lbfgs'"),
        (["bench", "--dtypes", "float16"], "Unknown dtype 'float16'"),
        (["bench", "--data", "nosuch"], "Unknown data 'nosuch'"),
        (["bench", "--data", "x.csv"], "No such CSV file"),
        (["bench", "--param", "eta0"], "--param expects KEY=VALUE"),
        (["bench", "--param", "etaa=1"], "Unknown hyper-parameter 'etaa'"),
        (["bench", "--config", "/no/such.toml"], "does not exist"),
        (["fit"], "the following arguments are required: FILE"),
        (["fit", "line", "--method", "newton"], "Unknown method 'newton'"),
        (["fit", "line", "--backend", "tf"], "Unknown backend 'tf'"),
        (["fit", "line", "--param", "etaa=1"], "unknown --param etaa; valid names: alpha,"),
        (["fit", "line", "--param", "method=sgd"], "use --method instead"),
        (["fit", "line", "--features", "x,zz"], "--features: no column 'zz' in line"),
        (["bench", "--param", "eta0=0.1,0.2"], "for a grid of values use groundup sweep"),
        (["bench", "--optimizers", "adam,lion"], "Unknown optimizer 'lion'; choose from"),
        (
            ["bench", "--optimizers", "adam", "--param", "optimizer=sgd"],
            "--optimizers adam and --param optimizer=...: give the optimiser once",
        ),
        (["fit", "line", "--model", "logistic"], "continuous target"),
        ([], "required: COMMAND"),
    ],
)
def test_bad_arguments_exit_2(argv: list[str], message: str, capsys) -> None:
    status, out, err = call(capsys, *argv)
    assert status == 2
    assert message in err
    assert out == ""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[bench]\nrepeat = 3\n", "unknown [bench] option(s) ['repeat']"),
        ("[benchmark]\n", "unknown table(s) ['benchmark']"),
        ("[bench\n", "not valid TOML"),
        ('[bench]\nformat = "xls"\n', "format must be one of"),
        ("[bench]\nsizes = [2]\n", "sizes must be whole numbers >= 8"),
        ("[params]\nlbfgs = {m = 1}\n", "'lbfgs' is not a method"),
    ],
)
def test_bad_config_exits_2(tmp_path: Path, text: str, message: str, capsys) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    assert cli.main(["bench", "--config", str(path), "-q"]) == 2
    assert message in capsys.readouterr().err


def _csv(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    X = rng.normal(size=(80, 3))
    y = X @ np.array([1.5, -2.0, 0.5]) + 3.0 + 0.1 * rng.normal(size=80)
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(target=y)
    path = tmp_path / "train.csv"
    frame.to_csv(path, index=False)
    return path, X, y


def test_fit_prints_coefficients_and_saves_the_model(tmp_path: Path) -> None:
    path, X, y = _csv(tmp_path)
    saved = tmp_path / "model.joblib"
    out = run("fit", str(path), "--target", "target", "--format", "json", "--save", str(saved))
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    sk = SkLinear().fit(X, y)
    np.testing.assert_allclose(list(summary["coef"].values()), sk.coef_, rtol=1e-10)
    assert list(summary["coef"]) == ["a", "b", "c"]  # {name: value}, one intercept
    assert summary["intercept"] == pytest.approx(sk.intercept_, rel=1e-10)
    assert summary["metrics"]["r2"] == pytest.approx(sk.score(X, y), rel=1e-10)
    assert summary["metrics_on"] == "training data"
    model = joblib.load(saved)
    assert list(model.feature_names_in_) == ["a", "b", "c"]
    with warnings.catch_warnings():  # a DataFrame predicts without "X has feature names"
        warnings.simplefilter("error")
        pred = model.predict(pd.DataFrame(X, columns=["a", "b", "c"]))
    np.testing.assert_allclose(pred, sk.predict(X), rtol=1e-10)


def test_fit_json_logistic_lists_per_class(tmp_path: Path) -> None:
    from sklearn.datasets import load_iris

    iris = load_iris(as_frame=True).frame
    iris.to_csv(tmp_path / "iris.csv", index=False)
    out = run("fit", str(tmp_path / "iris.csv"), "--target", "target", "--model", "logistic",
              "--format", "json")  # fmt: skip
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["classes"] == [0, 1, 2]
    assert list(summary["coef"]) == list(iris.columns[:4])
    assert all(len(v) == 3 for v in summary["coef"].values())
    assert len(summary["intercept"]) == 3


def test_fit_gradient_method_on_a_split_and_pickle(tmp_path: Path, capsys) -> None:
    path, _, _ = _csv(tmp_path)
    saved = tmp_path / "model.pkl"
    status, out, err = call(
        capsys, "fit", str(path), "--target", "target", "--method", "minibatch",
        "--param", "learning_rate=constant", "--param", "eta0=0.1", "--param", "tol=1e-6",
        "--random-state", "0", "--test-size", "0.25", "--save", str(saved),
    )  # fmt: skip
    assert status == 0, err
    assert "(on the held-out data)" in out
    with open(saved, "rb") as fh:
        model = pickle.load(fh)
    assert model.method == "minibatch"
    assert model.learning_rate == "constant"
    X_train, X_test, y_train, y_test = datasets.load(str(path), target="target").split(0.25, 0)
    sk = SkLinear().fit(X_train, y_train)
    # Constant-step mini-batch SGD ends in a noise ball around the least-squares solution.
    np.testing.assert_allclose(model.coef_, sk.coef_, atol=0.02)
    named = pd.DataFrame(X_test, columns=["a", "b", "c"])
    assert model.score(named, y_test) == pytest.approx(sk.score(X_test, y_test), abs=1e-3)


def test_one_seed_flag_reproducible_by_default_and_recorded(tmp_path: Path) -> None:
    """``--random-state`` on every subcommand that fits (``bench --seed`` is its old, hidden
    name); without it a run repeats (seed 0), prints its seed and keeps it in its record."""
    for command in ("fit", "sweep", "bench", "diagnose"):
        assert "--random-state N" in run(command, "--help").stdout
    assert "--seed" not in run("bench", "--help").stdout
    path, _, _ = _csv(tmp_path)
    sgd = ("fit", str(path), "--target", "target", "--method", "sgd", "--scale")
    first, again = run(*sgd, "--format", "json"), run(*sgd, "--format", "json")
    assert first.returncode == again.returncode == 0, first.stderr
    a, b = json.loads(first.stdout), json.loads(again.stdout)
    assert a["random_state"] == 0
    assert (a["epochs"], a["coef"]) == (b["epochs"], b["coef"])
    other = json.loads(run(*sgd, "--random-state", "3", "--format", "json").stdout)
    assert other["random_state"] == 3
    assert other["coef"] != a["coef"]
    assert "--random-state 0" in run(*sgd).stdout
    assert "use --random-state" in run(*sgd, "--param", "random_state=1").stderr
    out = run("bench", "--data", "line", "--methods", "sgd", "--backends", "numpy",
              "--no-peers", "--no-plots", "--out", str(tmp_path / "b"), "--seed", "5", *QUICK)  # fmt: skip
    assert out.returncode == 0, out.stderr
    record = json.loads((tmp_path / "b" / "run.json").read_text())
    assert record["settings"]["random_state"] == 5
    assert record["settings"]["params"]["random_state"] == 5  # the estimators' shuffling too
    diag = run("diagnose", str(path), "--target", "target", "--random-state", "4",
               "--out", str(tmp_path / "d"))  # fmt: skip
    assert diag.returncode == 0, diag.stderr
    assert "fitted with --random-state 4" in diag.stdout
    assert json.loads((tmp_path / "d" / "report.json").read_text())["random_state"] == 4


def test_fit_table_output(tmp_path: Path, capsys) -> None:
    path, _, _ = _csv(tmp_path)
    status, out, err = call(capsys, "fit", str(path), "--target", "target", "--backend", "numpy")
    assert status == 0, err
    for word in ("(intercept)", "R2", "RMSE", "MAE", "training data", "epochs 1"):
        assert word in out


def test_fit_divergence_exits_1(tmp_path: Path, capsys) -> None:
    path, _, _ = _csv(tmp_path)
    status = cli.main(
        ["fit", str(path), "--target", "target", "--method", "batch", "--param", "eta0=1e4"]
    )
    assert status == 1
    assert "diverged" in capsys.readouterr().err


def test_fit_keeps_column_names_as_written(tmp_path: Path, capsys) -> None:
    """Names with brackets and spaces print as they are (never read as rich markup)."""
    path, _, _ = _csv(tmp_path)
    frame = pd.read_csv(path).rename(columns={"a": "bmi[kg/m2]", "b": "bp [mmHg]"})
    frame.to_csv(path, index=False)
    status, out, err = call(capsys, "fit", str(path), "--target", "target")
    assert status == 0, err
    assert "│ bmi[kg/m2]  │" in out
    assert "│ bp [mmHg]   │" in out
    status, out, err = call(
        capsys, "fit", str(path), "--target", "target", "--features", "bp [mmHg]", "c",
        "--format", "json",
    )  # fmt: skip
    assert status == 0, err
    assert list(json.loads(out)["coef"]) == ["bp [mmHg]", "c"]
    status, out, _ = call(
        capsys, "fit", str(path), "--target", "target", "--features", "c,bmi[kg/m2]",
        "--format", "json",
    )  # fmt: skip
    assert status == 0
    assert list(json.loads(out)["coef"]) == ["c", "bmi[kg/m2]"]


def test_fit_speaks_in_command_line_words(tmp_path: Path, capsys) -> None:
    path, _, _ = _csv(tmp_path)
    status, _, err = call(
        capsys, "fit", str(path), "--target", "target", "--method", "batch",
        "--param", "learning_rate=0.1",
    )  # fmt: skip
    assert status == 2
    assert "--param learning_rate=0.1" in err
    assert "--param eta0=0.1" in err
    assert "='" not in err
    status, _, err = call(
        capsys, "fit", str(path), "--target", "target", "--method", "batch",
        "--param", "max_iter=2", "--param", "learning_rate=constant", "--param", "eta0=0.001",
    )  # fmt: skip
    assert status == 0
    assert "groundup fit: warning:" in err
    assert "='" not in err
    assert "--param tol=" in err


def test_advice_applies_to_the_command_typed(tmp_path: Path) -> None:
    """No advice already taken or not available, in the command line's words (issue 21.3)."""
    path, _, _ = _csv(tmp_path)
    base = ("--target", "target", "--method", "batch", "--param", "max_iter=1")
    err = run("fit", str(path), *base, "--scale").stderr
    assert "raise --param max_iter" in err
    assert "scal" not in err  # --scale was given
    err = run("fit", str(path), *base).stderr  # preconditioned by default: no advice to scale
    assert "raise --param max_iter" in err
    assert "--scale" not in err
    err = run("diagnose", str(path), *base).stderr  # diagnose has no --scale
    assert "The gradient fit ran --param max_iter=1 epochs" in err
    assert "--scale" not in err
    out = run("fit", str(path), "--target", "target", "--method", "newton")
    assert out.returncode == 2
    assert "Newton's method (IRLS) is for logistic regression: --model logistic" in out.stderr
    out = run("fit", str(path), "--target", "target", "--method", "batch",
              "--param", "learning_rate=constant", "--param", "eta0=1e4")  # fmt: skip
    assert out.returncode == 1
    assert "--param eta0=10000.0, --param learning_rate=constant" in out.stderr  # value once
    assert "(1e+04)" not in out.stderr
    stalled = (
        "far from the minimum: scale the features (sklearn.preprocessing.StandardScaler; "
        "--scale on the command line), or lower tol."
    )
    assert cli_words(stalled).endswith(
        "(sklearn.preprocessing.StandardScaler), or lower --param tol."
    )


def test_text_columns_one_rule_for_every_subcommand(tmp_path: Path) -> None:
    """A text column is an error naming it and the fix, exit 2, in fit, sweep, bench and
    diagnose alike; ``--features`` leaving it out fits (issue 21.4)."""
    path, _, _ = _csv(tmp_path)
    frame = pd.read_csv(path)
    frame.insert(1, "colour", np.where(frame["a"] > 0, "red", "blue"))
    frame.to_csv(path, index=False)
    out_dir = str(tmp_path / "out")
    for argv in (
        ["fit", str(path), "--target", "target"],
        ["diagnose", str(path), "--target", "target"],
        ["sweep", str(path), "--target", "target", "--param", "eta0=0.01,0.1", "--out", out_dir],
        ["bench", "--data", str(path), "--target", "target", "-q"],
    ):
        out = run(*argv)
        assert out.returncode == 2, argv
        assert "Feature column(s) colour of" in out.stderr, argv
        assert "are not numeric; encode them as numbers" in out.stderr, argv
        fix = "(--features)" if argv[0] in ("fit", "diagnose") else "(drop the columns)"
        assert fix in out.stderr, argv
    fit = run("fit", str(path), "--target", "target", "--features", "a", "b", "c",
              "--format", "json")  # fmt: skip
    assert fit.returncode == 0, fit.stderr
    diagnosed = run("diagnose", str(path), "--target", "target", "--features", "a,b,c")
    assert diagnosed.returncode == 0, diagnosed.stderr
    r2 = json.loads(fit.stdout)["metrics"]["r2"]
    assert re.search(rf"R-squared:\s+{r2:.3f}", diagnosed.stdout)


def test_bench_backend_not_installed_exits_2_with_the_install_hint() -> None:
    missing = next((n for n in ("jax", "cupy") if not backends.available()[n]["installed"]), None)
    if missing is None:
        pytest.skip("jax and cupy are both installed")
    for argv in (["fit", "diabetes", "--backend", missing], ["bench", "--backends", missing, "-q"]):
        out = run(*argv)
        assert out.returncode == 2, argv
        assert f'pip install "groundup[{missing}]"' in out.stderr, argv


def test_cli_words() -> None:
    words = cli_words(
        "penalty='l1' is not supported; use None or 'l2' (method='batch', eta0=5.0, "
        "shuffle=False); choose from ['constant', 'invscaling']; params['sgd'] is a table; "
        'pip install "groundup[jax]"'
    )
    assert words == (
        "--param penalty=l1 is not supported; use none or 'l2' (--method batch, --param "
        "eta0=5.0, --param shuffle=false); choose from constant, invscaling; params['sgd'] "
        'is a table; pip install "groundup[jax]"'
    )
    assert cli_words("(method='sgd')", {"method": "--methods"}) == "(--methods sgd)"
    assert cli_words("give --param eta0=0.1") == "give --param eta0=0.1"  # said once


def test_every_subcommand_takes_param_and_hides_the_old_spellings() -> None:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    helps = {name: p.format_help() for name, p in sub.choices.items()}
    for name in ("bench", "fit", "sweep", "diagnose"):
        assert "--param" in helps[name], name
    assert "--set" not in helps["sweep"]
    assert "--eta0" not in helps["sweep"]
    assert "--significance" in helps["diagnose"]
    for old in ("--alpha", "--max-iter", "--eta0", "--learning-rate", "--batch-size"):
        assert old not in helps["diagnose"]
    for name in ("bench", "sweep", "diagnose"):
        assert "--force" in helps[name]
    assert "--features" in helps["fit"]
    assert "--wide" in helps["bench"]


def test_backends_lists_versions_and_devices(capsys) -> None:
    out = run("backends", "--format", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == backends.available()
    status, table, _ = call(capsys, "backends")
    assert status == 0
    assert "numpy" in table
    assert np.__version__ in table


def test_backends_prints_the_install_hint_as_written(capsys, monkeypatch) -> None:
    fake = {
        "cupy": {"installed": False, "version": None, "devices": [], "float64": None,
                 "reason": 'not installed: pip install "groundup[cupy]"'},
    }  # fmt: skip
    monkeypatch.setattr(backends, "available", lambda: fake)
    status, out, _ = call(capsys, "backends")
    assert status == 0
    assert '"groundup[cupy]"' in out


def test_diagnose_and_sweep_are_registered() -> None:
    text = cli.build_parser().format_help()
    for name in ("bench", "fit", "backends", "diagnose", "sweep"):
        assert name in text


@pytest.mark.parametrize("argv", [["--help"], ["fit", "--help"]])
def test_help_imports_no_heavy_library(argv: list[str]) -> None:
    """``groundup --help`` and ``groundup fit --help`` start fast: they import neither
    scikit-learn nor numpy, pandas, scipy or matplotlib (the start-up time is what those
    imports cost; measured with ``time``, not asserted)."""
    code = (
        "import sys\nfrom groundup.cli import main\ntry:\n    main(ARGV)\nexcept SystemExit:\n"
        "    pass\nheavy = ('sklearn', 'numpy', 'pandas', 'scipy', 'matplotlib', 'torch')\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)), file=sys.stderr)"
    ).replace("ARGV", repr(argv))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "usage: groundup" in out.stdout
    assert out.stderr.strip() == "[]"


def test_version(capsys) -> None:
    status, out, _ = call(capsys, "--version")
    assert status == 0
    assert out.startswith("groundup ")


def test_param_values_are_toml() -> None:
    got = parse_params(["eta0=0.5", "sgd.tol=none", "penalty=l2", "shuffle=false", 'a="x"'])
    assert got == {"eta0": 0.5, "sgd": {"tol": None}, "penalty": "l2", "shuffle": False, "a": "x"}


@pytest.fixture(autouse=True)
def _no_color(monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "250")
    os.environ.pop("FORCE_COLOR", None)


def test_plots_without_matplotlib_is_a_clear_error(monkeypatch, capsys, tmp_path: Path) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "matplotlib" else real(name, *a),
    )
    status, _, err = call(capsys, "bench", "--out", str(tmp_path), "-q")
    assert status == 2
    assert 'pip install "groundup[plot]"' in err
    assert list(tmp_path.iterdir()) == []
