"""Variable assigner (v1 and v2): writes conversation (or loop) variables.

The new values are reported in `process_data.updated_variables` (`name`, `selector`,
`value_type`, `new_value`) so that the chat service can persist conversation variables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loomworks.engine.errors import NodeConfigError, NodeError
from loomworks.engine.nodes.base import Node, NodeResult
from loomworks.engine.variables import Selector, selector_of, value_type

if TYPE_CHECKING:
    from loomworks.engine.runner import NodeContext

OPERATIONS = frozenset(
    {"over-write", "clear", "set", "append", "extend", "remove-first", "remove-last", "+=", "-=", "*=", "/="}
)


@dataclass(slots=True)
class Item:
    target: Selector
    operation: str
    input_type: str  # variable | constant
    value: Any


def _empty_like(current: Any) -> Any:
    if isinstance(current, str):
        return ""
    if isinstance(current, bool):
        return False
    if isinstance(current, int | float):
        return 0
    if isinstance(current, dict):
        return {}
    if isinstance(current, list):
        return []
    return None


def apply(operation: str, current: Any, value: Any) -> Any:
    """The new value of a variable after one operation (raises NodeError when it does not apply)."""
    if operation in ("over-write", "set"):
        return value
    if operation == "clear":
        return _empty_like(current)
    if operation in ("append", "extend", "remove-first", "remove-last"):
        return _apply_to_list(operation, current, value)
    return _apply_to_number(operation, current, value)


def _apply_to_list(operation: str, current: Any, value: Any) -> list[Any]:
    items = list(current) if isinstance(current, list) else ([] if current is None else None)
    if items is None:
        raise NodeError(f"{operation} needs an array variable, got {value_type(current)}")
    if operation == "append":
        items.append(value)
    elif operation == "extend":
        if not isinstance(value, list):
            raise NodeError("extend needs an array value")
        items.extend(value)
    elif items:
        items.pop(0 if operation == "remove-first" else -1)
    return items


def _apply_to_number(operation: str, current: Any, value: Any) -> Any:
    if not isinstance(current, int | float) or isinstance(current, bool):
        raise NodeError(f"{operation} needs a number variable, got {value_type(current)}")
    if not isinstance(value, int | float) or isinstance(value, bool):
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise NodeError(f"{operation} needs a number value") from None
    if operation == "+=":
        return current + value
    if operation == "-=":
        return current - value
    if operation == "*=":
        return current * value
    if value == 0:
        raise NodeError("division by zero")
    return current / value


class AssignerNode(Node):
    """`version: "1"` (`assigned_variable_selector`, `write_mode`, `input_variable_selector`) or `"2"` (`items`)."""

    type = "assigner"

    def configure(self, data: dict[str, Any]) -> None:
        self.items: list[Item] = []
        if str(data.get("version") or "1") == "2" or "items" in data:
            for raw in data.get("items") or []:
                if not isinstance(raw, dict):
                    raise NodeConfigError("an item must be an object")
                target = selector_of(raw.get("variable_selector"))
                operation = str(raw.get("operation") or "over-write")
                if operation not in OPERATIONS:
                    raise NodeConfigError(f"unknown operation {operation!r}")
                if target is None:
                    continue  # Dify's editor leaves unfinished rows; they do nothing
                input_type = str(raw.get("input_type") or "variable")
                value = raw.get("value")
                if input_type == "variable":
                    value = selector_of(value)
                self.items.append(Item(target, operation, input_type, value))
            return
        target = selector_of(data.get("assigned_variable_selector"))
        mode = str(data.get("write_mode") or "over-write")
        if mode not in ("over-write", "append", "clear"):
            raise NodeConfigError(f"unknown write_mode {mode!r}")
        if target is not None:
            self.items.append(Item(target, mode, "variable", selector_of(data.get("input_variable_selector"))))

    def references(self) -> list[Selector]:
        refs: list[Selector] = []
        for item in self.items:
            refs.append(item.target)
            if (
                item.input_type == "variable"
                and item.value
                and item.operation not in ("clear", "remove-first", "remove-last")
            ):
                refs.append(item.value)
        return refs

    def run_sync(self, ctx: NodeContext) -> NodeResult:
        pool = ctx.pool
        updated: list[dict[str, Any]] = []
        for item in self.items:
            current = pool.get(item.target)
            value = (pool.get(item.value) if item.value else None) if item.input_type == "variable" else item.value
            new = apply(item.operation, current, value)
            pool.assign(item.target, new)
            updated.append(
                {
                    "name": item.target[-1],
                    "selector": list(item.target),
                    "value_type": value_type(new),
                    "new_value": new,
                }
            )
        return NodeResult(outputs={}, inputs={}, process_data={"updated_variables": updated})

    def replay(self, ctx: NodeContext, process_data: dict[str, Any] | None) -> None:
        """Write the recorded new values again (conversation and loop variables live in the pool)."""
        for item in (process_data or {}).get("updated_variables") or []:
            selector = selector_of(item.get("selector")) if isinstance(item, dict) else None
            if selector is not None:
                ctx.pool.assign(selector, item.get("new_value"))
