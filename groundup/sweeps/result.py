"""What :func:`groundup.sweep` returns: the runs, the best one (as an estimator too), plots."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

import groundup.sweeps.plots as plots
from groundup import backends
from groundup._problem import Standardization
from groundup._typing import Array
from groundup.linear_model import estimator_class

__all__ = ["MAXIMISE", "SweepResult"]

# Criteria where higher is better; every other column of the table is minimised.
MAXIMISE = ("val_r2", "val_accuracy")


@dataclass
class SweepResult:
    """The outcome of :func:`sweep`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per configuration: the swept parameters, ``train_loss`` (final weighted
        training MSE, or mean log-loss for ``model="logistic"``), weighted validation metrics
        (``val_rmse``, ``val_r2``; logistic: ``val_accuracy``, ``val_log_loss``), ``n_iter``,
        ``converged``, ``diverged``, ``diverged_epoch``, ``fit_time`` (seconds: the group's
        time shared by its runs), ``group`` and ``group_time``.
    histories : list of ndarray
        Training loss after every epoch, one array per row of ``table`` (a diverged run
        ends with its first non-finite value).
    coefs : list of arrays
        Final coefficients per row, on the sweep's backend and device: (n_features,), or
        (n_classes, n_features) for multinomial models.
    intercepts : list of arrays
        0-d, or (n_classes,) for multinomial models.
    params : list of str
        The swept parameter names (columns of ``table``).
    fixed : dict
        The parameters shared by every configuration (method included).
    criterion : str
        The column ``best`` is chosen by.
    model : str
    backend, device : str
        Where the runs were computed.
    random_state : int
        The seed every run used (drawn when ``random_state=None``).
    train_index, val_index : ndarray
        Rows used for training and for the validation metrics (``val_index`` is ``None``
        with ``validation_fraction=None``).
    classes : ndarray of shape (n_classes,) or None
        ``model="logistic"``: the sorted labels (binary: the second is the positive class).
    sample_weight : bool
        Whether the runs were weighted.
    standardization : Standardization or None
        With ``scale=True``: the training rows' ``mean`` and ``scale`` (``coefs``,
        ``intercepts`` and ``estimator(i)`` are in the raw units all the same).
    """

    table: Any
    histories: list[np.ndarray]
    coefs: list[Array]
    intercepts: list[Array]
    params: list[str]
    fixed: dict[str, Any]
    criterion: str
    model: str
    backend: str
    device: str
    random_state: int
    train_index: np.ndarray
    val_index: np.ndarray | None
    classes: np.ndarray | None = None
    sample_weight: bool = False
    standardization: Standardization | None = None
    _template: Any = field(default=None, repr=False)

    @property
    def scaled(self) -> bool:
        """Whether the runs trained on standardised features (``scale=True``)."""
        return self.standardization is not None

    @property
    def maximise(self) -> bool:
        """Whether a higher ``criterion`` is better."""
        return self.maximised(self.criterion)

    @staticmethod
    def maximised(metric: str) -> bool:
        """Whether a higher ``metric`` (a column of ``table``) is better."""
        return metric in MAXIMISE

    @property
    def best_index(self) -> int | None:
        """Row of the best run by ``criterion`` among those that did not diverge."""
        col = self.table[self.criterion].astype(float)
        col = col[~self.table["diverged"].astype(bool) & np.isfinite(col)]
        if col.empty:
            return None
        return int(col.idxmax() if self.maximise else col.idxmin())

    @property
    def best(self) -> Any:
        """The best row of ``table`` (a pandas Series), or ``None`` when every run diverged."""
        i = self.best_index
        return None if i is None else self.table.loc[i]

    @property
    def best_params(self) -> dict[str, Any] | None:
        """The best run's parameters and ``model``, for ``gu.fit(X, y, **best_params)``."""
        i = self.best_index
        return None if i is None else {"model": self.model, **self.params_of(i)}

    def _unfitted(self, i: int | None) -> tuple[int, Any]:
        """Row ``i`` (``None``: the best) and an unfitted estimator with its parameters."""
        i = self.best_index if i is None else i
        if i is None:
            msg = (
                "Every configuration diverged: there is no best run; lower eta0 or scale "
                "the features (scale=True; --scale on the command line)."
            )
            raise ValueError(msg)
        cls = estimator_class(self.model)
        return i, cls(**self.params_of(i), backend=self.backend, device=self.device)

    def params_of(self, i: int) -> dict[str, Any]:
        """The estimator's parameters of row ``i`` (swept, fixed and ``random_state``)."""
        row = {k: _plain(self.table.loc[i, k]) for k in self.params}
        return {**self.fixed, **row, "random_state": self.random_state}

    def estimator(self, i: int | None = None) -> Any:
        """Row ``i`` of ``table`` (default: the best) as a fitted estimator on the sweep's
        device, in the raw features' units (after ``scale=True`` too)."""
        i, est = self._unfitted(i)
        row, be = self.table.loc[i], backends.resolve(self.backend, self.device)
        est._check_params()
        est.coef_, est.intercept_ = self.coefs[i], self.intercepts[i]
        if self.model == "logistic":
            est.classes_ = self.classes
            if len(self.classes) == 2:
                est.coef_ = be.xp.reshape(est.coef_, (1, -1))
                est.intercept_ = be.xp.reshape(est.intercept_, (1,))
        est.loss_history_ = self.histories[i]
        est.n_iter_, est.t_ = int(row["n_iter"]), int(row["t"])
        est.converged_, est.fit_time_ = bool(row["converged"]), float(row["fit_time"])
        if self.model == "linear":
            est.solver_, est.rank_ = est._method, None
        est.n_features_in_ = self._template.n_features_in_
        if hasattr(self._template, "feature_names_in_"):
            est.feature_names_in_ = self._template.feature_names_in_
        est._remember_backend(be)
        return est

    def pipeline(self, i: int | None = None) -> Any:
        """Row ``i`` (default: the best) as an unfitted pipeline for raw data:
        ``StandardScaler`` (after ``scale=True``) and the estimator; fitted on
        ``X[train_index]`` it repeats the run."""
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        _, est = self._unfitted(i)
        std = self.standardization
        return make_pipeline(*([] if std is None else [StandardScaler(with_mean=std.center)]), est)

    def plot_heatmap(self, metric: str | None = None, **kwargs: Any) -> Any:
        """See :func:`groundup.sweeps.plots.plot_heatmap`."""
        return plots.plot_heatmap(self, metric, **kwargs)

    def plot_losses(self, **kwargs: Any) -> Any:
        """See :func:`groundup.sweeps.plots.plot_losses`."""
        return plots.plot_losses(self, **kwargs)

    def plot_best(self, **kwargs: Any) -> Any:
        """See :func:`groundup.sweeps.plots.plot_best`."""
        return plots.plot_best(self, **kwargs)


def _plain(v: Any) -> Any:
    """A table cell as the Python value the estimator expects (NaN/None -> None)."""
    import pandas as pd

    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    return v.item() if isinstance(v, np.generic) else v
