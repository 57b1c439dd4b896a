"""The engine's contract (``kernels/losses.py``): every objective in ``kernels/`` is an
``Objective`` with the capabilities the module's table lists; an objective with only the
required methods runs every method of the engine and gives the reference's iterates."""

from __future__ import annotations

import array_api_compat.numpy as xp
import numpy as np
import pytest
from _helpers import make_regression

from groundup.kernels import reference
from groundup.kernels.descent import Column, DescentSettings, descend
from groundup.kernels.logistic import BinaryLogLoss, MultinomialLogLoss
from groundup.kernels.losses import ExactSGDEpoch, Objective, SquaredLoss
from groundup.kernels.schedules import Schedule

X, Y, _ = make_regression(n=40, d=3, seed=1)
CODES = np.digitize(Y, [2.0, 6.0]).astype(np.int32)
Y01 = (Y > np.median(Y)).astype(float)

# objective, ExactSGDEpoch (the module's table)
TABLE = [
    (lambda: SquaredLoss(X, Y, None, xp=xp), True),
    (lambda: BinaryLogLoss(X, Y01, None, xp=xp), True),
    (lambda: MultinomialLogLoss(X, CODES, None, n_classes=3, xp=xp), True),
]
IDS = ["SquaredLoss", "BinaryLogLoss", "MultinomialLogLoss"]


@pytest.mark.parametrize(("make", "exact"), TABLE, ids=IDS)
def test_every_objective_conforms(make, exact):
    obj = make()
    assert isinstance(obj, Objective)
    assert isinstance(obj, ExactSGDEpoch) is exact


class RequiredOnly(Objective):
    """An objective with only what :class:`Objective` requires (the squared loss's methods,
    none of its capabilities)."""

    def __init__(self, loss: SquaredLoss) -> None:
        super().__init__(loss.X, loss.y, loss.sw, xp=xp)
        self.batch_residuals, self.full_grad = loss.batch_residuals, loss.full_grad
        self.losses, self.zero_loss = loss.losses, loss.zero_loss
        self.scores, self.keep = loss.scores, loss.keep

    # the abstract methods, bound to the wrapped loss's in __init__
    batch_residuals = full_grad = losses = zero_loss = scores = keep = None


@pytest.mark.parametrize("batch_size", [1, 16, 40], ids=["sgd", "minibatch", "batch"])
def test_the_required_methods_are_enough(batch_size):
    obj = RequiredOnly(SquaredLoss(X, Y, None, xp=xp))
    assert isinstance(obj, Objective)
    assert not isinstance(obj, ExactSGDEpoch)
    rng = np.random.default_rng(0)
    perms = [rng.permutation(40) for _ in range(3)]
    orders = iter(perms)
    W0, b0 = np.zeros((3, 1)), np.zeros(1)
    (res,) = descend(
        obj,
        X,
        Y,
        None,
        W0,
        b0,
        columns=[Column(Schedule("invscaling", 0.1), max_iter=3, alpha=0.01, tol=None)],
        settings=DescentSettings(batch_size=batch_size),
        orders=orders,
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
