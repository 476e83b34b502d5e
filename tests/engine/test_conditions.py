"""Every comparison operator (incl. the literal ≠ ≥ ≤ and the ASCII spellings) and file sub-conditions."""

from __future__ import annotations

from typing import Any

import pytest

from loomworks.engine.conditions import Condition, evaluate_all
from loomworks.engine.errors import NodeConfigError
from loomworks.engine.variables import VariablePool

FILE = {
    "dify_model_identity": "__dify__file__",
    "type": "image",
    "transfer_method": "local_file",
    "filename": "cat.png",
    "extension": ".png",
    "mime_type": "image/png",
    "size": 10,
    "url": "/f/1",
}

CASES: list[tuple[Any, str, Any, bool]] = [
    ("hello world", "contains", "world", True),
    ("hello", "contains", "x", False),
    (["a", "b"], "contains", "b", True),
    (None, "contains", "a", False),
    ("hello", "not contains", "x", True),
    (["a"], "not contains", "a", False),
    ("hello", "start with", "he", True),
    ("hello", "start with", "lo", False),
    ("hello", "end with", "lo", True),
    ("hello", "is", "hello", True),
    ("hello", "is", "hell", False),
    ("hello", "is not", "hell", True),
    (True, "is", "true", True),
    (False, "is not", True, True),
    ("", "empty", None, True),
    ([], "empty", None, True),
    (None, "empty", None, True),
    ("x", "not empty", None, True),
    ([], "not empty", None, False),
    ("b", "in", ["a", "b"], True),
    ("c", "in", ["a", "b"], False),
    ("c", "not in", ["a", "b"], True),
    (["a", "b", "c"], "all of", ["a", "c"], True),
    (["a"], "all of", ["a", "c"], False),
    (3, "=", "3", True),
    (3.5, "=", 3.5, True),
    (3, "≠", "4", True),
    (3, "!=", 3, False),
    (5, ">", "4", True),
    (5, "<", "4", False),
    (4, "≥", "4", True),
    (4, ">=", 5, False),
    (4, "≤", "4", True),
    (3, "<=", 2, False),
    ("7", ">", 3, True),
    (None, ">", 3, False),
    (None, "null", None, True),
    (0, "null", None, False),
    (0, "not null", None, True),
    (FILE, "exists", None, True),
    (None, "exists", None, False),
    (None, "not exists", None, True),
]


@pytest.mark.parametrize(("actual", "op", "expected", "result"), CASES)
def test_operator(actual: Any, op: str, expected: Any, result: bool) -> None:
    pool = VariablePool()
    pool.set_outputs("n", {"v": actual})
    condition = Condition.parse({"variable_selector": ["n", "v"], "comparison_operator": op, "value": expected})
    assert condition.evaluate(pool)[0] is result


def test_value_templates_and_value_selectors() -> None:
    pool = VariablePool()
    pool.set_outputs("n", {"v": "abc", "w": "abc"})
    by_template = Condition.parse({"variable_selector": ["n", "v"], "comparison_operator": "is", "value": "{{#n.w#}}"})
    legacy = Condition.parse(
        {
            "variable_selector": ["n", "v"],
            "comparison_operator": "is",
            "value_type": "value_selector",
            "value_selector": ["n", "w"],
        }
    )
    assert by_template.evaluate(pool)[0]
    assert legacy.evaluate(pool)[0]


@pytest.mark.parametrize(
    ("subs", "logical", "result"),
    [
        ([{"key": "type", "comparison_operator": "in", "value": ["image"]}], "and", True),
        ([{"key": "extension", "comparison_operator": "is", "value": "png"}], "and", True),
        ([{"key": "extension", "comparison_operator": "is", "value": ".pdf"}], "and", False),
        (
            [
                {"key": "name", "comparison_operator": "start with", "value": "cat"},
                {"key": "size", "comparison_operator": ">", "value": 100},
            ],
            "and",
            False,
        ),
        (
            [
                {"key": "name", "comparison_operator": "start with", "value": "cat"},
                {"key": "size", "comparison_operator": ">", "value": 100},
            ],
            "or",
            True,
        ),
    ],
)
def test_file_sub_conditions(subs: list[dict[str, Any]], logical: str, result: bool) -> None:
    pool = VariablePool()
    pool.set_outputs("n", {"files": [FILE]})
    condition = Condition.parse(
        {
            "variable_selector": ["n", "files"],
            "comparison_operator": "contains",
            "sub_variable_condition": {"logical_operator": logical, "conditions": subs},
        }
    )
    assert condition.evaluate(pool)[0] is result


def test_and_or() -> None:
    pool = VariablePool()
    pool.set_outputs("n", {"v": 1})
    yes = Condition.parse({"variable_selector": ["n", "v"], "comparison_operator": "=", "value": "1"})
    no = Condition.parse({"variable_selector": ["n", "v"], "comparison_operator": "=", "value": "2"})
    assert evaluate_all([yes, no], "or", pool)[0] is True
    assert evaluate_all([yes, no], "and", pool)[0] is False


def test_unknown_operator_is_a_config_error() -> None:
    with pytest.raises(NodeConfigError, match="unknown comparison operator"):
        Condition.parse({"variable_selector": ["n", "v"], "comparison_operator": "approximately"})
