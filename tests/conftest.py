"""The ``case`` / ``case64`` fixtures: every installed backend x device x dtype
(``tests/_cases.py``)."""

from __future__ import annotations

import os

# scikit-learn's Array API mode wants this before scipy is imported (used by a few oracles).
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from _cases import CASES, Case  # noqa: E402
from _helpers import make_regression  # noqa: E402
from hypothesis import settings  # noqa: E402

# CI runs the property tests on a fixed seed (the same examples every run, so that a red CI is
# a change's doing); elsewhere hypothesis draws new examples each run.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(params=CASES)
def case(request: pytest.FixtureRequest) -> Case:
    """Every installed backend x device x dtype."""
    return request.param


@pytest.fixture(params=[c for c in CASES if c.values[0].dtype == "float64"])
def case64(request: pytest.FixtureRequest) -> Case:
    """Every installed backend x device, float64 only."""
    return request.param


@pytest.fixture
def regression_data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return make_regression()
