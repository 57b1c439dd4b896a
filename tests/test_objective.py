"""The engines' protocols (``kernels/objective.py``): every objective in ``kernels/`` is what its
engine requires and has the capabilities the module's table lists; an objective with only the
required methods runs every method of the engine and gives the reference's iterates."""

from __future__ import annotations

import array_api_compat.numpy as xp
import numpy as np
import pytest
from _helpers import make_regression

from groundup.kernels import reference
from groundup.kernels.descent import DescentSettings, descend
from groundup.kernels.logistic import BinaryLogLoss, MultinomialLogLoss
from groundup.kernels.losses import SquaredLoss
from groundup.kernels.objective import ColumnObjective, ExactSGDEpoch, FusedStep, Objective
from groundup.kernels.schedules import Schedule
from groundup.kernels.sweep import SquaredLossColumns
from groundup.kernels.sweep_logistic import BinaryLogLossColumns, MultinomialLogLossColumns

X, Y, _ = make_regression(n=40, d=3, seed=1)
CODES = np.digitize(Y, [2.0, 6.0]).astype(np.int32)
ONEHOT = np.eye(3)[CODES]
Y01 = (Y > np.median(Y)).astype(float)

# objective, Objective, FusedStep, ExactSGDEpoch, ColumnObjective (the module's table)
TABLE = [
    (lambda: SquaredLoss(X, Y, None, xp=xp), True, True, True, False),
    (lambda: BinaryLogLoss(X, Y01, None, xp=xp), True, False, False, False),
    (lambda: MultinomialLogLoss(X, CODES, None, n_classes=3, xp=xp), True, False, False, False),
    (lambda: SquaredLossColumns(X, Y, None, xp=xp), True, True, True, True),
    (lambda: BinaryLogLossColumns(X, Y01, None, xp=xp), False, True, False, True),
    (
        lambda: MultinomialLogLossColumns(X, ONEHOT, None, n_classes=3, xp=xp),
        False,
        True,
        False,
        True,
    ),
]
IDS = [
    "SquaredLoss",
    "BinaryLogLoss",
    "MultinomialLogLoss",
    "SquaredLossColumns",
    "BinaryLogLossColumns",
    "MultinomialLogLossColumns",
]


@pytest.mark.parametrize(("make", "objective", "fused", "exact", "columns"), TABLE, ids=IDS)
def test_every_objective_conforms(make, objective, fused, exact, columns):
    obj = make()
    assert isinstance(obj, Objective) is objective
    assert isinstance(obj, FusedStep) is fused
    assert isinstance(obj, ExactSGDEpoch) is exact
    assert isinstance(obj, ColumnObjective) is columns


class RequiredOnly:
    """An objective with only what :class:`Objective` requires (the squared loss's methods,
    none of its fast-path capabilities)."""

    def __init__(self, loss: SquaredLoss) -> None:
        self.batch_grad, self.full_grad = loss.batch_grad, loss.full_grad
        self.loss, self.zero_loss, self.score = loss.loss, loss.zero_loss, loss.score


@pytest.mark.parametrize("batch_size", [1, 16, 40], ids=["sgd", "minibatch", "batch"])
def test_the_required_methods_are_enough(batch_size):
    obj = RequiredOnly(SquaredLoss(X, Y, None, xp=xp))
    assert isinstance(obj, Objective)
    assert not isinstance(obj, FusedStep)
    assert not isinstance(obj, ExactSGDEpoch)
    rng = np.random.default_rng(0)
    perms = [rng.permutation(40) for _ in range(3)]
    orders = iter(perms)
    W0, b0 = np.zeros((3, 1)), np.zeros(1)
    res = descend(
        obj,
        X,
        Y,
        None,
        W0,
        b0,
        schedule=Schedule("invscaling", 0.1),
        settings=DescentSettings(max_iter=3, batch_size=batch_size, alpha=0.01, tol=None),
        orders=lambda: next(orders),
        xp=xp,
    )
    W, b = reference.gradient_descent(
        X,
        Y,
        None,
        W0,
        b0,
        loss="squared",
        eta=Schedule("invscaling", 0.1),
        epochs=3,
        batch_size=batch_size,
        alpha=0.01,
        orders=None if batch_size >= 40 else perms,
        xp=xp,
    )
    assert len(res.history) == 3
    np.testing.assert_allclose(res.W, W, rtol=1e-12)
    np.testing.assert_allclose(res.b, b, rtol=1e-12)
