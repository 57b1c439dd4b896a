"""One descent engine: a single fit of every gradient method and every sweep run through the
same epoch loop (``kernels.descent.descend``), and no other function of
``groundup/kernels`` walks epochs."""

from __future__ import annotations

import ast
import pathlib
import sys

import numpy as np
import pytest
from _helpers import make_regression

import groundup as gu
from groundup.kernels import descent

KERNELS = pathlib.Path(descent.__file__).parent


def _called(fn) -> set[str]:
    """Qualified names of the ``groundup.kernels`` functions ``fn()`` calls."""
    names: set[str] = set()

    def profile(frame, event, arg):
        if event == "call" and frame.f_code.co_filename.startswith(str(KERNELS)):
            names.add(f"{pathlib.Path(frame.f_code.co_filename).stem}.{frame.f_code.co_qualname}")

    sys.setprofile(profile)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return names


@pytest.mark.parametrize("method", ["batch", "minibatch", "sgd"])
@pytest.mark.parametrize("model", ["linear", "logistic"])
def test_single_fits_and_sweeps_share_the_epoch_loop(model, method):
    X, y, _ = make_regression(n=120, d=3, seed=2)
    if model == "logistic":
        y = (y > np.median(y)).astype(int)
    cls = gu.LinearRegression if model == "linear" else gu.LogisticRegression
    kw = {"penalty": "l2"} if model == "logistic" else {}  # the classes are separable
    single = _called(
        lambda: cls(method=method, max_iter=3, tol=None, random_state=0, **kw).fit(X, y)
    )
    swept = _called(
        lambda: gu.sweep(
            X, y, model=model, grid={"eta0": [0.01, 0.02]}, method=method, max_iter=3, tol=None
        )
    )
    assert "descent.descend" in single
    assert "descent.descend" in swept


def test_no_other_kernel_walks_epochs():
    """Every loop over epochs in ``groundup/kernels`` (a ``for`` whose target names an epoch,
    or a loop that counts epochs in its body) is in ``descend`` or in the textbook
    oracle (``reference.gradient_descent``)."""
    owners = set()
    for path in KERNELS.glob("*.py"):
        tree = ast.parse(path.read_text())
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef):
                continue
            for node in ast.walk(fn):
                if not isinstance(node, ast.For | ast.While):
                    continue
                heads = [node.target] if isinstance(node, ast.For) else []
                heads += [s.target for s in node.body if isinstance(s, ast.AugAssign)]
                if any("epoch" in ast.unparse(h) for h in heads):
                    owners.add(f"{path.stem}.{fn.name}")
    assert owners <= {"descent.descend", "reference.gradient_descent"}
    assert "descent.descend" in owners
