"""Check a request's `inputs` against the app's `user_input_form` (Dify's rules and messages)."""

from __future__ import annotations

from typing import Any

from loomworks.core.errors import InvalidParamError

_TEXT_KINDS = ("text-input", "paragraph", "select", "number", "checkbox", "json_object")


def _fields(form: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    fields: list[tuple[str, dict[str, Any]]] = []
    for item in form or []:
        if isinstance(item, dict) and len(item) == 1:
            kind, spec = next(iter(item.items()))
            if isinstance(spec, dict) and spec.get("variable"):
                fields.append((kind, spec))
    return fields


def validate(form: list[dict[str, Any]], inputs: dict[str, Any] | None) -> dict[str, Any]:
    """Return the inputs the app declares, checked and normalised; unknown keys are dropped."""
    if inputs is not None and not isinstance(inputs, dict):
        raise InvalidParamError("inputs must be an object.", params="inputs")
    given = inputs or {}
    cleaned: dict[str, Any] = {}
    for kind, spec in _fields(form):
        name = spec["variable"]
        value = given.get(name)
        if value is None or value == "":
            if spec.get("required") and kind in _TEXT_KINDS:
                raise InvalidParamError(f"{name} is required in input form", params=name)
            default = spec.get("default")
            if default in (None, ""):
                default = "" if kind in ("text-input", "paragraph", "select") else None
            cleaned[name] = default
            continue
        cleaned[name] = _check(kind, spec, name, value)
    return cleaned


def _check(kind: str, spec: dict[str, Any], name: str, value: Any) -> Any:
    if kind in ("text-input", "paragraph", "select"):
        if not isinstance(value, str):
            raise InvalidParamError(f"{name} in input form must be a string", params=name)
        max_length = spec.get("max_length") or 0
        if max_length and len(value) > int(max_length):
            raise InvalidParamError(f"{name} in input form must be less than {max_length} characters", params=name)
        options = spec.get("options") or []
        if kind == "select" and options and value not in options:
            raise InvalidParamError(f"{name} in input form must be one of the following: {options}", params=name)
        return value.replace("\x00", "")
    if kind == "number":
        if isinstance(value, bool):
            raise InvalidParamError(f"{name} in input form must be a valid number", params=name)
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InvalidParamError(f"{name} in input form must be a valid number", params=name) from None
        return int(number) if number.is_integer() else number
    if kind == "checkbox":
        if not isinstance(value, bool):
            raise InvalidParamError(f"{name} in input form must be a boolean", params=name)
        return value
    return value
