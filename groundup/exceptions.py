"""groundup's own exception and warning classes.

scikit-learn's ``NotFittedError`` and ``ConvergenceWarning`` are used as they are; these two
say what scikit-learn has no class for.
"""

from __future__ import annotations

__all__ = ["DivergenceError", "RankDeficientWarning"]


class DivergenceError(ValueError, RuntimeError):
    """Gradient descent diverged: the loss stopped being finite (or ran away).

    A ``ValueError`` (as scikit-learn's SGD raises) and a ``RuntimeError``.
    """


class RankDeficientWarning(UserWarning):
    """X is rank deficient: the closed form returned the minimum-norm solution."""
