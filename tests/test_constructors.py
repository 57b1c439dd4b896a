"""The estimators' constructors are written out in the source (scikit-learn's ``BaseSGD``
style: every parameter stored as given), every parameter is documented with its default, and
the parameters and attributes the two estimators share are documented alike."""

from __future__ import annotations

import ast
import inspect
import re

import pytest

import groundup as gu

ESTIMATORS = [gu.LinearRegression, gu.LogisticRegression]
_ids = pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)


def _section(cls: type, title: str) -> dict[str, str]:
    """name -> numpydoc entry (the ``name : type`` line and its description) of a section of
    the class docstring."""
    doc = inspect.cleandoc(cls.__doc__)
    found = re.search(rf"^{title}\n-+\n(.*?)(?:\n\n|\Z)", doc, re.S | re.M)
    assert found is not None, f"{cls.__name__} has no {title} section"
    entries = re.split(r"\n(?=\S)", found.group(1).strip())
    return {entry.split(" : ", 1)[0]: entry for entry in entries}


@_ids
def test_init_is_written_out_and_stores_every_parameter(cls):
    assert cls.__init__.__qualname__ == f"{cls.__name__}.__init__"
    params = inspect.signature(cls).parameters
    kinds = [p.kind for p in params.values()]
    assert list(params)[0] == "method"
    assert kinds[0] is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert all(k is inspect.Parameter.KEYWORD_ONLY for k in kinds[1:])
    source = inspect.getsource(cls.__init__)
    for name in params:
        assert f"self.{name} = {name}\n" in source, name
    # stored as given: an odd value stays as it is until fit checks it
    odd = object()
    assert cls(alpha=odd).alpha is odd


@_ids
def test_every_parameter_is_documented_with_its_default(cls):
    docs = _section(cls, "Parameters")
    params = inspect.signature(cls).parameters
    assert list(docs) == list(params)
    for name, p in params.items():
        head = docs[name].splitlines()[0]
        assert ast.literal_eval(head.rsplit("default=", 1)[1]) == p.default, head


def test_shared_parameters_and_attributes_are_documented_alike():
    linear, logistic = (_section(c, "Parameters") for c in ESTIMATORS)
    shared = [name for name in linear if name in logistic and name != "method"]
    assert len(shared) == 34
    for name in shared:
        assert linear[name] == logistic[name], name
    linear, logistic = (_section(c, "Attributes") for c in ESTIMATORS)
    shared = [name for name in linear if name in logistic]
    assert {"t_", "converged_", "stop_reason_", "optimizer_state_"} <= set(shared)
    for name in shared:
        if name not in ("coef_", "intercept_", "loss_history_", "n_iter_", "path_"):
            assert linear[name] == logistic[name], name
