"""Model parameters checked against a model's parameter rules, as Dify's runtime does.

Unknown keys are dropped, numbers are coerced and clamped to `min`/`max` (and rounded to
`precision`), `options` are enforced, `required` parameters without a value take their default or
fail. `stop` never travels here: it is passed separately.
"""

from __future__ import annotations

import json
from typing import Any

from loomworks.core.errors import InvalidParamError


def _number(rule: dict[str, Any], name: str, value: Any) -> int | float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidParamError(f"Model Parameter {name} should be a number.", params=name) from None
    if rule.get("min") is not None:
        number = max(number, float(rule["min"]))
    if rule.get("max") is not None:
        number = min(number, float(rule["max"]))
    if rule.get("type") == "int":
        return int(round(number))
    precision = rule.get("precision")
    return round(number, int(precision)) if precision is not None else number


def _one(rule: dict[str, Any], name: str, value: Any) -> Any:
    kind = rule.get("type")
    if kind in ("int", "float"):
        return _number(rule, name, value)
    if kind == "boolean":
        return value if isinstance(value, bool) else str(value).lower() in ("true", "1", "yes", "on")
    if kind == "text" and not isinstance(value, str):
        return json.dumps(value)
    value = str(value) if not isinstance(value, str) else value
    options = rule.get("options") or []
    if options and value not in options:
        raise InvalidParamError(f"Model Parameter {name} should be one of {options}.", params=name)
    return value


def check_parameters(rules: list[dict[str, Any]], values: dict[str, Any] | None) -> dict[str, Any]:
    """The parameters to send: `values` filtered and normalised by `rules`."""
    values = values or {}
    checked: dict[str, Any] = {}
    for rule in rules:
        name = rule.get("name")
        if not name:
            continue
        value = values.get(name)
        if value is None or value == "":
            if rule.get("required"):
                if rule.get("default") is None:
                    raise InvalidParamError(f"Model Parameter {name} is required.", params=name)
                checked[name] = rule["default"]
            continue
        checked[name] = _one(rule, name, value)
    return checked
