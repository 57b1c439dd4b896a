"""Data for the benchmark runner and the command line, all as one :class:`Dataset`: seeded
synthetic sets (the original's ``y = 4 + 3x`` line, a multivariate regression, two classes),
scikit-learn's bundled diabetes and breast cancer data, and CSV files with a target column.

>>> from groundup import datasets
>>> line = datasets.load("line", n_samples=100)
>>> line.X.shape, line.task
((100, 1), 'regression')
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "BUILTIN",
    "GROUPS",
    "Dataset",
    "load",
    "load_csv",
    "make_classes",
    "make_line",
    "make_multi",
    "resolve",
]

DEFAULT_N_SAMPLES = 500  # rows of each synthetic set unless --sizes says otherwise
MAX_CLASSES = 20  # an integer target with more distinct values is a regression target


@dataclass
class Dataset:
    """One data set: features, target and what kind of problem it is.

    Parameters
    ----------
    name : str
        Short name shown in tables (``"line"``, ``"diabetes"``, a CSV file's stem).
    X : ndarray of shape (n_samples, n_features)
        Features, float64.
    y : ndarray of shape (n_samples,)
        Target: float64 for regression, class labels for classification.
    task : {"regression", "classification"}
    feature_names : list of str
    description : str
    synthetic : bool
        Generated here (so ``--sizes`` can draw it at any size).
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    task: str
    feature_names: list[str] = field(default_factory=list)
    description: str = ""
    synthetic: bool = False

    def __post_init__(self) -> None:
        if not self.feature_names:
            self.feature_names = [f"x{j}" for j in range(self.X.shape[1])]

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def simple(self) -> bool:
        """One feature: simple regression (the fitted line and the loss surface can be drawn)."""
        return self.n_features == 1

    def split(
        self, test_size: float = 0.25, random_state: int = 0
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Seeded train/test split ``X_train, X_test, y_train, y_test``, stratified for
        classification (every class in both parts)."""
        from sklearn.model_selection import train_test_split

        strat = self.y if self.task == "classification" else None
        return train_test_split(
            self.X, self.y, test_size=test_size, random_state=random_state, stratify=strat
        )


def make_line(n_samples: int = DEFAULT_N_SAMPLES, *, random_state: int = 0) -> Dataset:
    """The original project's simple regression: ``x = 2·U(0, 1)``, ``y = 4 + 3x + N(0, 1)``
    (``X`` of shape (n_samples, 1))."""
    rng = np.random.default_rng(random_state)
    x = 2.0 * rng.random((n_samples, 1))
    y = 4.0 + 3.0 * x[:, 0] + rng.standard_normal(n_samples)
    return Dataset("line", x, y, "regression", ["x"], "y = 4 + 3x + N(0, 1), x ~ 2·U(0, 1)", True)


def make_multi(
    n_samples: int = DEFAULT_N_SAMPLES, n_features: int = 8, *, random_state: int = 0
) -> Dataset:
    """Well-scaled multivariate regression: ``X ~ N(0, 1)``, ``y = 4 + X w + N(0, 0.5²)``,
    ``w`` evenly from -2 to 3 (the original's multivariate shape, with more features)."""
    rng = np.random.default_rng(random_state)
    X = rng.standard_normal((n_samples, n_features))
    w = np.linspace(-2.0, 3.0, n_features)
    y = 4.0 + X @ w + 0.5 * rng.standard_normal(n_samples)
    return Dataset(
        "multi", X, y, "regression", [], f"y = 4 + Xw + N(0, 0.25), {n_features} features", True
    )


def make_classes(
    n_samples: int = DEFAULT_N_SAMPLES, n_features: int = 4, *, random_state: int = 0
) -> Dataset:
    """Two overlapping classes from a logistic model: ``P(y=1) = σ(0.5 + X w)``; integer
    labels 0/1 (not separable, so unpenalised fits converge)."""
    rng = np.random.default_rng(random_state)
    X = rng.standard_normal((n_samples, n_features))
    w = np.linspace(-1.5, 2.0, n_features)
    p = 1.0 / (1.0 + np.exp(-(0.5 + X @ w)))
    y = (rng.random(n_samples) < p).astype(np.int64)
    return Dataset("classes", X, y, "classification", [], "P(y=1) = sigmoid(0.5 + Xw)", True)


_REAL = {
    "diabetes": ("load_diabetes", "regression", "diabetes progression after one year (442 x 10)"),
    "breast_cancer": ("load_breast_cancer", "classification", "breast cancer, benign or not"),
}


def _sklearn_set(name: str) -> Dataset:
    from sklearn import datasets as skd

    loader, task, desc = _REAL[name]
    bunch = getattr(skd, loader)()
    X = np.asarray(bunch.data, dtype=np.float64)
    # Standardised (as a fitted StandardScaler would), so that the default gradient settings
    # fit: breast cancer's raw features span five orders of magnitude, and scikit-learn's
    # diabetes features are scaled to unit norm (about 0.05 each), which stalls descent.
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return Dataset(name, X, np.asarray(bunch.target), task, list(bunch.feature_names), desc)


def not_numeric(columns: Sequence[Any], source: Any) -> str:
    """The one message for feature columns that hold text (every subcommand says it)."""
    return (
        f"Feature column(s) {[str(c) for c in columns]} of {os.fspath(source)!r} are not "
        "numeric; encode them as numbers (e.g. pandas.get_dummies) or leave them out (drop "
        "the columns; --features on the command line)."
    )


def load_csv(
    path: str | os.PathLike[str], target: str | None, features: Sequence[str] | None = None
) -> Dataset:
    """Read a CSV file whose column ``target`` is the target and every other one (or each of
    ``features``) a feature. ``task`` is ``"classification"`` for labels (strings, booleans,
    two values, or integers with at most 20 distinct values), else ``"regression"``. A missing
    file is a ``FileNotFoundError``; no or an absent target, text features or missing values
    a ``ValueError``."""
    import pandas as pd

    if not os.path.isfile(path):
        msg = f"No such CSV file: {os.fspath(path)!r}; give the path of an existing file."
        raise FileNotFoundError(msg)
    frame = pd.read_csv(path)
    cols = list(frame.columns)
    if target is None:
        msg = f"A CSV file needs --target COLUMN (the column to predict); columns: {cols}."
        raise ValueError(msg)
    if target not in frame.columns:
        msg = f"Target column {target!r} is not in {os.fspath(path)!r}; columns: {cols}."
        raise ValueError(msg)
    if features is not None:
        absent = [f for f in features if f not in frame.columns or f == target]
        if absent:
            msg = f"No feature column(s) {absent} in {os.fspath(path)!r}; columns: {cols}."
            raise ValueError(msg)
        frame = frame[[*features, target]]
    table = frame.drop(columns=[target])
    if table.shape[1] == 0:
        msg = f"{os.fspath(path)!r} has no feature column besides the target {target!r}."
        raise ValueError(msg)
    bad = [c for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])]
    if bad:
        raise ValueError(not_numeric(bad, path))
    missing = int(frame.isna().to_numpy().sum())
    if missing:
        rows = frame.index[frame.isna().any(axis=1)].tolist()[:5]
        msg = (
            f"{os.fspath(path)!r} has {missing} missing value(s) (first rows: {rows}); "
            "drop or impute them before fitting."
        )
        raise ValueError(msg)
    y, task = _target(frame[target].to_numpy())
    stem = os.path.splitext(os.path.basename(os.fspath(path)))[0]
    X = table.to_numpy(dtype=np.float64)
    names = [str(c) for c in table.columns]
    return Dataset(stem, X, y, task, names, f"{os.fspath(path)} (target {target!r})")


_MAKERS = {"line": make_line, "multi": make_multi, "classes": make_classes}
BUILTIN: tuple[str, ...] = ("line", "multi", "classes", "diabetes", "breast_cancer")
GROUPS: dict[str, tuple[str, ...]] = {"synthetic": ("line", "multi", "classes")}


def load(
    name: str,
    *,
    n_samples: int | None = None,
    random_state: int = 0,
    target: str | None = None,
    features: Sequence[str] | None = None,
) -> Dataset:
    """One data set by name, or a CSV file by path.

    Parameters
    ----------
    name : str
        ``"line"``, ``"multi"``, ``"classes"`` (synthetic), ``"diabetes"``,
        ``"breast_cancer"`` (scikit-learn's bundled data) or the path of a ``.csv`` file.
    n_samples : int, optional
        Rows of a synthetic set (default 500); not used for real data.
    random_state : int, default=0
        Seed of a synthetic set.
    target : str, optional
        Target column of a CSV file.
    features : sequence of str, optional
        Feature columns of a CSV file (default: every column but the target).

    Raises
    ------
    ValueError
        An unknown name (the message lists the valid ones) or ``n_samples < 4``.
    """
    key = name.lower().replace("-", "_")
    if key in _MAKERS:
        n = DEFAULT_N_SAMPLES if n_samples is None else int(n_samples)
        if n < 4:
            msg = f"n_samples must be >= 4 for a train/test split, got {n}."
            raise ValueError(msg)
        return _MAKERS[key](n, random_state=random_state)
    if key in _REAL:
        return _sklearn_set(key)
    if name.lower().endswith(".csv") or os.path.isfile(name):
        return load_csv(name, target, features)
    valid = [*BUILTIN, *GROUPS]
    msg = f"Unknown data {name!r}; choose one of {valid} or the path of a CSV file."
    raise ValueError(msg)


def resolve(
    specs: str | Sequence[str | Dataset | tuple[Any, Any]],
    *,
    sizes: Iterable[int] | None = None,
    random_state: int = 0,
    target: str | None = None,
) -> list[Dataset]:
    """Expand data specifications into data sets.

    Parameters
    ----------
    specs : str or sequence
        Names (``"synthetic"`` is ``line``, ``multi`` and ``classes``), CSV paths,
        :class:`Dataset` objects or ``(X, y)`` pairs (a regression target unless ``y`` holds
        class labels).
    sizes : iterable of int, optional
        Draw every synthetic set at each of these sizes (real data keep their size).
    random_state : int, default=0
    target : str, optional
        Target column of CSV files.
    """
    if isinstance(specs, str | Dataset | tuple):
        specs = [specs]
    sizes = list(sizes) if sizes else [None]
    out: list[Dataset] = []
    for spec in specs:
        if isinstance(spec, Dataset):
            out.append(spec)
        elif isinstance(spec, tuple):
            X = np.asarray(spec[0], dtype=np.float64)
            y, task = _target(np.asarray(spec[1]))
            out.append(Dataset("data", X.reshape(-1, 1) if X.ndim == 1 else X, y, task))
        else:
            for name in GROUPS.get(spec.lower(), (spec,)):
                for n in sizes if name.lower() in _MAKERS else [None]:
                    out.append(load(name, n_samples=n, random_state=random_state, target=target))
    return out


def _target(y: np.ndarray) -> tuple[np.ndarray, str]:
    """The target and its task: labels (strings, booleans), a two-valued column and integers
    with at most ``MAX_CLASSES`` distinct values are classification; the rest regression."""
    if y.dtype.kind in "OUSb":
        return y, "classification"
    n_unique = len(np.unique(y))
    if n_unique == 2 or (y.dtype.kind in "iu" and n_unique <= MAX_CLASSES):
        return y, "classification"
    return y.astype(np.float64), "regression"
