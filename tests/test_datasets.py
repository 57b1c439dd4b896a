"""groundup.datasets: the synthetic sets against the models they are drawn from, scikit-learn's
bundled data, CSV files (and their bad cases), and the name resolution of ``--data``."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression as SkLinear
from sklearn.linear_model import LogisticRegression as SkLogistic

from groundup import datasets


def test_line_is_the_original_shape() -> None:
    d = datasets.make_line(4000, random_state=1)
    assert d.X.shape == (4000, 1)
    assert d.task == "regression"
    assert d.simple
    assert d.X.min() >= 0.0
    assert d.X.max() <= 2.0
    ols = SkLinear().fit(d.X, d.y)
    # y = 4 + 3x + N(0, 1): with 4000 points the estimates are within ~0.1 of the truth.
    assert ols.intercept_ == pytest.approx(4.0, abs=0.15)
    assert ols.coef_[0] == pytest.approx(3.0, abs=0.15)
    assert np.std(d.y - ols.predict(d.X)) == pytest.approx(1.0, abs=0.05)


def test_synthetic_sets_are_seeded() -> None:
    a, b = datasets.make_multi(50, random_state=3), datasets.make_multi(50, random_state=3)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    c = datasets.make_multi(50, random_state=4)
    assert not np.array_equal(a.X, c.X)


def test_multi_recovers_its_coefficients() -> None:
    d = datasets.make_multi(5000, n_features=5)
    ols = SkLinear().fit(d.X, d.y)
    np.testing.assert_allclose(ols.coef_, np.linspace(-2.0, 3.0, 5), atol=0.05)
    assert ols.intercept_ == pytest.approx(4.0, abs=0.05)
    assert d.feature_names == ["x0", "x1", "x2", "x3", "x4"]


def test_classes_follow_their_logistic_model() -> None:
    d = datasets.make_classes(20000, n_features=3)
    assert d.task == "classification"
    assert set(np.unique(d.y)) == {0, 1}
    fit = SkLogistic(C=1e6, max_iter=1000).fit(d.X, d.y)
    np.testing.assert_allclose(fit.coef_[0], np.linspace(-1.5, 2.0, 3), atol=0.15)
    assert fit.intercept_[0] == pytest.approx(0.5, abs=0.1)


@pytest.mark.parametrize(
    ("name", "shape", "task"),
    [("diabetes", (442, 10), "regression"), ("breast_cancer", (569, 30), "classification")],
)
def test_real_data_are_standardised(name: str, shape: tuple[int, int], task: str) -> None:
    d = datasets.load(name)
    assert d.X.shape == shape
    assert d.task == task
    assert not d.synthetic
    np.testing.assert_allclose(d.X.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(d.X.std(axis=0), 1.0, rtol=1e-12)
    assert len(d.feature_names) == shape[1]


def test_split_is_seeded_and_stratified() -> None:
    d = datasets.load("breast_cancer")
    Xtr, Xte, ytr, yte = d.split(0.25, 3)
    assert len(Xte) == int(np.ceil(0.25 * 569))
    assert len(Xtr) + len(Xte) == 569
    assert np.mean(yte) == pytest.approx(np.mean(d.y), abs=0.01)
    np.testing.assert_array_equal(d.split(0.25, 3)[1], Xte)


def _write(tmp_path, text: str) -> str:
    path = tmp_path / "data.csv"
    path.write_text(text)
    return str(path)


def test_csv_regression_and_classification(tmp_path) -> None:
    path = _write(tmp_path, "a,b,price\n1,2,10.5\n2,1,11.25\n3,5,20.0\n4,4,21.5\n")
    d = datasets.load(path, target="price")
    assert d.name == "data"
    assert d.task == "regression"
    assert d.feature_names == ["a", "b"]
    np.testing.assert_array_equal(d.X, [[1, 2], [2, 1], [3, 5], [4, 4]])
    np.testing.assert_array_equal(d.y, [10.5, 11.25, 20.0, 21.5])
    labels = _write(tmp_path, "a,kind\n1,cat\n2,dog\n3,cat\n4,dog\n")
    assert datasets.load_csv(labels, "kind").task == "classification"


@pytest.mark.parametrize(
    ("text", "target", "match"),
    [
        ("a,y\n1,2\n", None, "needs --target"),
        ("a,y\n1,2\n", "z", r"Target column 'z' is not in .*columns: \['a', 'y'\]"),
        ("a,y\nx,2\nw,3\n", "y", r"Feature column\(s\) \['a'\] .* not numeric"),
        ("a,y\n1,2\n,3\n", "y", r"1 missing value\(s\) \(first rows: \[1\]\)"),
        ("y\n1\n2\n", "y", "no feature column"),
    ],
)
def test_csv_bad_input(tmp_path, text: str, target: str | None, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        datasets.load_csv(_write(tmp_path, text), target)


def test_csv_missing_file(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="No such CSV file"):
        datasets.load(str(tmp_path / "nope.csv"), target="y")


def test_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"Unknown data 'iris'.*'diabetes'.*'synthetic'"):
        datasets.load("iris")
    with pytest.raises(ValueError, match="n_samples must be >= 4"):
        datasets.load("line", n_samples=2)


def test_resolve_expands_groups_and_sizes() -> None:
    sets = datasets.resolve(["synthetic", "diabetes"], sizes=[30, 60])
    got = [(d.name, d.n_samples) for d in sets]
    assert got == [
        ("line", 30), ("line", 60), ("multi", 30), ("multi", 60),
        ("classes", 30), ("classes", 60), ("diabetes", 442),
    ]  # fmt: skip
    x = np.arange(10.0)
    (pair,) = datasets.resolve((x, 2 * x))
    assert pair.X.shape == (10, 1)
    assert pair.task == "regression"
    (labels,) = datasets.resolve([(np.ones((6, 2)), np.array([0, 1, 0, 1, 0, 1]))])
    assert labels.task == "classification"
