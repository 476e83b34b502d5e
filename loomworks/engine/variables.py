"""The variable pool, Dify's value types and `{{#node.var#}}` templates.

Values are plain JSON-shaped Python values (str, int, float, bool, None, dict, list); a file is a
dict in Dify's file shape (`type`, `transfer_method`, `url`, `filename`, `extension`, ...). The
pool is keyed by selector: `[node_id, name, *path]`, with the roots `sys`, `env` and
`conversation`. Pools nest: an iteration round reads through to its parent and writes its own
layer, except for variables that already live in an ancestor layer (conversation variables, loop
variables), which are written where they live.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from loomworks.core.crypto import mask

Selector = tuple[str, ...]

SYSTEM_ROOTS = frozenset({"sys", "env", "conversation"})
FILE_IDENTITY = "__dify__file__"
FILE_ATTRIBUTES = ("type", "size", "name", "url", "extension", "mime_type", "transfer_method", "related_id")

# Dify's reference pattern: a node id (or root) and 1..10 attribute names.
TEMPLATE_PATTERN = re.compile(r"\{\{#([a-zA-Z0-9_]{1,50}(?:\.[a-zA-Z_][a-zA-Z0-9_]{0,29}){1,10})#\}\}")
_MISSING = object()


def is_file(value: Any) -> bool:
    """Tell whether `value` is a file object (Dify's identity marker, or the upload shape)."""
    return isinstance(value, dict) and (
        value.get("dify_model_identity") == FILE_IDENTITY or ("transfer_method" in value and "type" in value)
    )


def file_attribute(file: dict[str, Any], key: str) -> Any:
    """A file's attribute as Dify's file sub-conditions and list-operator see it."""
    if key == "name":
        return file.get("filename") or file.get("name")
    if key == "related_id":
        return file.get("related_id") or file.get("upload_file_id") or file.get("id")
    if key == "extension":
        ext = file.get("extension") or ""
        if not ext:
            name = str(file.get("filename") or file.get("name") or "")
            ext = name.rsplit(".", 1)[-1] if "." in name else ""
        return ext if not ext or ext.startswith(".") else f".{ext}"
    if key == "url":
        return file.get("url") or file.get("remote_url")
    return file.get(key)


def value_type(value: Any) -> str:
    """Dify's `SegmentType` name for a value."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if is_file(value):
        return "file"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        kinds = {value_type(item) for item in value}
        if len(kinds) == 1:
            return f"array[{kinds.pop()}]"
        return "array[any]"
    return "none"


def matches_type(value: Any, declared: str) -> bool:
    """Tell whether `value` fits a declared type (`string`, `number`, `object`, `array[...]`, `file`...)."""
    if declared in ("any", "array[any]", ""):
        return declared == "any" or declared == "" or isinstance(value, list)
    if declared in ("number", "integer", "float"):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if declared in ("string", "secret", "paragraph", "text-input", "select"):
        return isinstance(value, str)
    if declared == "boolean":
        return isinstance(value, bool)
    if declared == "object":
        return isinstance(value, dict) and not is_file(value)
    if declared == "file":
        return is_file(value)
    if declared.startswith("array[") and declared.endswith("]"):
        inner = declared[6:-1]
        return isinstance(value, list) and all(matches_type(item, inner) for item in value)
    return True


def convert_to_type(value: Any, declared: str) -> Any:
    """Convert a constant from the DSL (often a string) to a declared type; unchanged when it cannot."""
    if not isinstance(value, str):
        return value
    if declared == "number":
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() and "." not in value else number
    if declared == "boolean":
        return value.strip().lower() in ("true", "1", "yes")
    if declared == "object" or declared.startswith("array"):
        try:
            return json.loads(value) if value.strip() else ({} if declared == "object" else [])
        except ValueError:
            return value
    return value


def to_text(value: Any) -> str:
    """How a value is written into a template (Dify's segment `text`)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if is_file(value):
        return str(file_attribute(value, "url") or value.get("filename") or "")
    return json.dumps(value, ensure_ascii=False)


def walk(value: Any, path: Sequence[str]) -> Any:
    """Follow object keys or file attributes; `_MISSING` when a step does not exist."""
    for key in path:
        if is_file(value):
            value = file_attribute(value, key)
        elif isinstance(value, dict):
            if key not in value:
                return _MISSING
            value = value[key]
        else:
            return _MISSING
    return value


class VariablePool:
    """Values by selector. A child pool reads through to its parent (iteration/loop rounds).

    Attributes:
        values: this layer's values, `{node_id_or_root: {name: value}}`.
        parent: the enclosing pool, or None for a run's root pool.
        secrets: values of `secret` environment variables (masked in recorded inputs).
    """

    __slots__ = ("parent", "secrets", "values")

    def __init__(self, parent: VariablePool | None = None) -> None:
        self.values: dict[str, dict[str, Any]] = {}
        self.parent = parent
        self.secrets: set[str] = parent.secrets if parent is not None else set()

    @classmethod
    def build(
        cls,
        *,
        system: dict[str, Any] | None = None,
        environment: Iterable[dict[str, Any]] = (),
        conversation: Iterable[dict[str, Any]] = (),
        conversation_values: dict[str, Any] | None = None,
    ) -> VariablePool:
        """A root pool from system values, DSL environment variables and conversation variables.

        Args:
            system: `sys.*` values by name (query, files, conversation_id, user_id, ...).
            environment: `workflow.environment_variables` items (`name`, `value`, `value_type`).
            conversation: `workflow.conversation_variables` items (their `value` is the default).
            conversation_values: current values of conversation variables by name (override defaults).
        """
        pool = cls()
        pool.values["sys"] = dict(system or {})
        env: dict[str, Any] = {}
        for item in environment:
            if not isinstance(item, dict) or not item.get("name"):
                continue
            kind = str(item.get("value_type") or "string")
            env[item["name"]] = convert_to_type(item.get("value"), kind)
            if kind == "secret" and item.get("value"):
                pool.secrets.add(str(item["value"]))
        pool.values["env"] = env
        conv: dict[str, Any] = {}
        for item in conversation:
            if isinstance(item, dict) and item.get("name"):
                conv[item["name"]] = convert_to_type(item.get("value"), str(item.get("value_type") or "string"))
        conv.update(conversation_values or {})
        pool.values["conversation"] = conv
        return pool

    def child(self) -> VariablePool:
        """A new layer over this pool."""
        return VariablePool(self)

    def _layer(self, node_id: str) -> dict[str, Any] | None:
        pool: VariablePool | None = self
        while pool is not None:
            layer = pool.values.get(node_id)
            if layer is not None:
                return layer
            pool = pool.parent
        return None

    def get(self, selector: Sequence[str], default: Any = None) -> Any:
        """The value at `selector` (`[node_id, name, *path]`), or `default` when it does not exist."""
        if len(selector) < 2:
            return default
        layer = self._layer(selector[0])
        if layer is None:
            return default
        value = layer.get(selector[1], _MISSING)
        if value is _MISSING:
            return default
        if len(selector) > 2:
            value = walk(value, selector[2:])
            if value is _MISSING:
                return default
        return value

    def has(self, selector: Sequence[str]) -> bool:
        """Tell whether `selector` resolves to a value (None counts as a value)."""
        return self.get(selector, _MISSING) is not _MISSING

    def set_outputs(self, node_id: str, outputs: dict[str, Any]) -> None:
        """Record a node's outputs in this layer."""
        self.values[node_id] = outputs

    def assign(self, selector: Sequence[str], value: Any) -> None:
        """Write one variable where it lives (an ancestor layer when it is defined there)."""
        node_id, name = selector[0], selector[1]
        layer = self._layer(node_id)
        if layer is None:
            layer = self.values.setdefault(node_id, {})
        layer[name] = value

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """All values visible from this layer, flattened (for durability records and resume)."""
        chain: list[VariablePool] = []
        pool: VariablePool | None = self
        while pool is not None:
            chain.append(pool)
            pool = pool.parent
        merged: dict[str, dict[str, Any]] = {}
        for layer in reversed(chain):
            for key, values in layer.values.items():
                merged[key] = dict(values)
        return merged

    def restore(self, snapshot: dict[str, dict[str, Any]]) -> None:
        """Load a snapshot taken by `snapshot()` into this layer."""
        for key, values in snapshot.items():
            self.values[key] = dict(values)


class Template:
    """A text with `{{#node.var#}}` references, parsed once.

    Attributes:
        parts: literal strings and selectors, in order.
        selectors: the referenced selectors.
    """

    __slots__ = ("parts", "selectors", "source")

    def __init__(self, source: str) -> None:
        self.source = source if isinstance(source, str) else to_text(source)
        parts: list[str | Selector] = []
        position = 0
        for match in TEMPLATE_PATTERN.finditer(self.source):
            if match.start() > position:
                parts.append(self.source[position : match.start()])
            parts.append(tuple(match.group(1).split(".")))
            position = match.end()
        if position < len(self.source):
            parts.append(self.source[position:])
        self.parts = parts
        self.selectors: list[Selector] = [p for p in parts if isinstance(p, tuple)]

    def render(self, pool: VariablePool) -> str:
        """The text with every reference replaced by its value's text (missing values become "")."""
        if not self.selectors:
            return self.source
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            else:
                out.append(to_text(pool.get(part)))
        return "".join(out)

    def value(self, pool: VariablePool) -> Any:
        """A template made of one reference and nothing else yields the value itself, not its text."""
        if len(self.parts) == 1 and isinstance(self.parts[0], tuple):
            return pool.get(self.parts[0])
        return self.render(pool)


def selector_of(raw: Any) -> Selector | None:
    """A selector from the DSL (a list of strings), or None when `raw` is not one."""
    if isinstance(raw, list | tuple) and len(raw) >= 2 and all(isinstance(p, str | int) for p in raw):
        return tuple(str(p) for p in raw)
    return None


def mask_secrets(value: Any, secrets: Iterable[str]) -> Any:
    """A copy of `value` in which every occurrence of a secret is masked (for recorded inputs).

    Strings are searched for each secret (longest first, so that a secret containing another is
    masked whole): a secret rendered into a header or a URL is masked too. Masks follow Dify's
    obfuscation (first 6 and last 2 characters around 12 stars; stars only for short values).
    """
    ordered = sorted((s for s in secrets if s), key=len, reverse=True)
    if not ordered:
        return value
    return _mask(value, ordered)


def _mask(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, mask(secret))
        return value
    if isinstance(value, dict):
        return {key: _mask(item, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_mask(item, secrets) for item in value]
    return value
