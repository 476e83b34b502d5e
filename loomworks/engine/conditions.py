"""Conditions of if-else cases, loop break conditions and list-operator filters (Dify's operators).

Operators are Dify's exact strings, including the literal `≠ ≥ ≤`; the ASCII spellings `!=`,
`>=`, `<=` are accepted too. A condition's `value` may hold `{{#node.var#}}` references.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from loomworks.engine.errors import NodeConfigError
from loomworks.engine.variables import Selector, Template, VariablePool, file_attribute, is_file, selector_of

_ALIASES = {"!=": "≠", ">=": "≥", "<=": "≤", "==": "=", "not exist": "not exists", "exist": "exists"}


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and value.strip():
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _empty(actual: Any) -> bool:
    return actual is None or actual == "" or actual == [] or actual == {}


def _as_list(expected: Any) -> list[Any]:
    if isinstance(expected, list):
        return expected
    if isinstance(expected, str):
        return [part.strip() for part in expected.split(",")] if "," in expected else [expected]
    return [expected]


def _same(actual: Any, expected: Any) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):
        left = actual if isinstance(actual, bool) else str(actual).strip().lower() in ("true", "1")
        right = expected if isinstance(expected, bool) else str(expected).strip().lower() in ("true", "1")
        return left == right
    if isinstance(actual, int | float) and not isinstance(actual, bool):
        number = _number(expected)
        return number is not None and float(actual) == number
    if actual is None:
        return expected is None
    return str(actual) == ("" if expected is None else str(expected))


def _contains(actual: Any, expected: Any) -> bool:
    if actual is None:
        return False
    if isinstance(actual, str):
        return str(expected) in actual
    if isinstance(actual, list):
        return any(_same(item, expected) for item in actual)
    if isinstance(actual, dict):
        return str(expected) in actual
    return False


def _compare(op: str) -> Callable[[Any, Any], bool]:
    def check(actual: Any, expected: Any) -> bool:
        left, right = _number(actual), _number(expected)
        if left is None or right is None:
            return False
        if op == ">":
            return left > right
        if op == "<":
            return left < right
        if op == "≥":
            return left >= right
        return left <= right

    return check


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "contains": _contains,
    "not contains": lambda a, e: not _contains(a, e),
    "start with": lambda a, e: isinstance(a, str) and a.startswith(str(e or "")),
    "end with": lambda a, e: isinstance(a, str) and a.endswith(str(e or "")),
    "is": _same,
    "is not": lambda a, e: not _same(a, e),
    "empty": lambda a, _e: _empty(a),
    "not empty": lambda a, _e: not _empty(a),
    "in": lambda a, e: any(_same(a, item) for item in _as_list(e)),
    "not in": lambda a, e: not any(_same(a, item) for item in _as_list(e)),
    "all of": lambda a, e: isinstance(a, list) and all(_contains(a, item) for item in _as_list(e)),
    "=": lambda a, e: _number(a) is not None and _number(a) == _number(e),
    "≠": lambda a, e: _number(a) is None or _number(a) != _number(e),
    ">": _compare(">"),
    "<": _compare("<"),
    "≥": _compare("≥"),
    "≤": _compare("≤"),
    "null": lambda a, _e: a is None,
    "not null": lambda a, _e: a is not None,
    "exists": lambda a, _e: not _empty(a),
    "not exists": lambda a, _e: _empty(a),
    "before": _compare("<"),
    "after": _compare(">"),
}


def operator(name: Any) -> str:
    """Dify's canonical spelling of an operator; raises NodeConfigError for an unknown one."""
    canonical = _ALIASES.get(str(name), str(name))
    if canonical not in OPERATORS:
        raise NodeConfigError(f"unknown comparison operator {name!r}")
    return canonical


def check(op: str, actual: Any, expected: Any) -> bool:
    """Apply operator `op` (canonical) to an actual and an expected value."""
    return OPERATORS[op](actual, expected)


@dataclass(slots=True)
class SubCondition:
    """A file attribute test (`key` is a file attribute such as `type` or `extension`)."""

    key: str
    op: str
    value: Any


@dataclass(slots=True)
class Condition:
    """One comparison: a variable, an operator and a value (maybe a template or a selector)."""

    selector: Selector
    op: str
    value: Any = None
    template: Template | None = None
    value_selector: Selector | None = None
    sub_logical: str = "and"
    sub_conditions: list[SubCondition] = field(default_factory=list)

    @classmethod
    def parse(cls, raw: Any) -> Condition:
        """Parse Dify's condition dict (with legacy `value_type: value_selector`)."""
        if not isinstance(raw, dict):
            raise NodeConfigError("a condition must be an object")
        selector = selector_of(raw.get("variable_selector"))
        if selector is None:
            raise NodeConfigError("a condition has no variable_selector")
        op = operator(raw.get("comparison_operator"))
        value = raw.get("value")
        template = Template(value) if isinstance(value, str) and "{{#" in value else None
        value_selector = selector_of(raw.get("value_selector")) if raw.get("value_type") == "value_selector" else None
        sub = raw.get("sub_variable_condition") or {}
        subs = []
        if isinstance(sub, dict):
            for item in sub.get("conditions") or []:
                if isinstance(item, dict):
                    subs.append(
                        SubCondition(
                            str(item.get("key") or ""), operator(item.get("comparison_operator")), item.get("value")
                        )
                    )
        logical = str(sub.get("logical_operator") or "and") if isinstance(sub, dict) else "and"
        return cls(selector, op, value, template, value_selector, logical, subs)

    def references(self) -> list[Selector]:
        """Selectors this condition reads."""
        refs = [self.selector]
        if self.template is not None:
            refs.extend(self.template.selectors)
        if self.value_selector is not None:
            refs.append(self.value_selector)
        return refs

    def expected(self, pool: VariablePool) -> Any:
        """The right-hand side, resolved against the pool."""
        if self.value_selector is not None:
            return pool.get(self.value_selector)
        if self.template is not None:
            return self.template.render(pool)
        return self.value

    def evaluate(self, pool: VariablePool) -> tuple[bool, dict[str, Any]]:
        """The result and a record of what was compared (for `process_data`)."""
        actual = pool.get(self.selector)
        expected = self.expected(pool)
        if self.sub_conditions:
            result = evaluate_files(actual, self.sub_conditions, self.sub_logical)
            if self.op in ("not contains", "not in", "not exists"):
                result = not result
        else:
            result = check(self.op, actual, expected)
        return result, {"actual_value": actual, "expected_value": expected, "comparison_operator": self.op}


def evaluate_files(actual: Any, subs: Sequence[SubCondition], logical: str) -> bool:
    """File sub-conditions: true when some file of `actual` (a file or a list) satisfies them."""
    files = [f for f in (actual if isinstance(actual, list) else [actual]) if is_file(f)]
    if not files:
        return False

    def one(file: dict[str, Any]) -> bool:
        results = []
        for sub in subs:
            attr = file_attribute(file, sub.key)
            expected = sub.value
            if sub.key == "extension" and isinstance(expected, str) and expected and not expected.startswith("."):
                expected = f".{expected}"
            if sub.key == "extension" and isinstance(expected, list):
                expected = [e if str(e).startswith(".") else f".{e}" for e in expected]
            results.append(check(sub.op, attr, expected))
        return all(results) if logical == "and" else any(results)

    return any(one(file) for file in files)


def evaluate_all(
    conditions: Sequence[Condition], logical: str, pool: VariablePool
) -> tuple[bool, list[dict[str, Any]]]:
    """Combine conditions with `and`/`or` (every condition is evaluated so that the record is complete)."""
    records: list[dict[str, Any]] = []
    results: list[bool] = []
    for condition in conditions:
        result, record = condition.evaluate(pool)
        results.append(result)
        records.append({**record, "result": result})
    if not results:
        return False, records
    return (all(results) if logical == "and" else any(results)), records
