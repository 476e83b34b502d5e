"""List operator: filter, order, limit and extract over an array variable."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loomworks.engine.conditions import check, operator
from loomworks.engine.errors import NodeConfigError, NodeError
from loomworks.engine.nodes.base import Node, NodeResult
from loomworks.engine.variables import Selector, Template, file_attribute, is_file, selector_of

if TYPE_CHECKING:
    from loomworks.engine.runner import NodeContext


def _key_of(item: Any, key: str) -> Any:
    if is_file(item):
        return file_attribute(item, key)
    if isinstance(item, dict) and key:
        return item.get(key)
    return item


class ListOperatorNode(Node):
    """Outputs `result`, `first_record`, `last_record`."""

    type = "list-operator"

    def configure(self, data: dict[str, Any]) -> None:
        selector = selector_of(data.get("variable"))
        if selector is None:
            raise NodeConfigError("no variable selected")
        self.variable = selector
        filter_by = data.get("filter_by") or {}
        self.filters: list[tuple[str, str, Any]] = []
        if filter_by.get("enabled"):
            for cond in filter_by.get("conditions") or []:
                self.filters.append(
                    (str(cond.get("key") or ""), operator(cond.get("comparison_operator")), cond.get("value"))
                )
        order_by = data.get("order_by") or {}
        self.order: tuple[str, bool] | None = None
        if order_by.get("enabled"):
            self.order = (str(order_by.get("key") or ""), str(order_by.get("value") or "asc") == "desc")
        limit = data.get("limit") or {}
        self.limit = int(limit.get("size", -1)) if limit.get("enabled") else -1
        extract = data.get("extract_by") or {}
        self.extract = Template(str(extract.get("serial") or "1")) if extract.get("enabled") else None

    def references(self) -> list[Selector]:
        return [self.variable, *(self.extract.selectors if self.extract else [])]

    def run_sync(self, ctx: NodeContext) -> NodeResult:
        value = ctx.pool.get(self.variable)
        if value is None:
            value = []
        if not isinstance(value, list):
            raise NodeError(f"{'.'.join(self.variable)} is not an array")
        items = list(value)
        for key, op, expected in self.filters:
            if isinstance(expected, str) and "{{#" in expected:
                expected = Template(expected).render(ctx.pool)
            items = [item for item in items if check(op, _key_of(item, key), expected)]
        if self.order is not None:
            key, reverse = self.order
            items.sort(key=lambda item: _sort_key(_key_of(item, key)), reverse=reverse)
        if self.limit >= 0:
            items = items[: self.limit]
        if self.extract is not None:
            serial = self.extract.render(ctx.pool)
            try:
                position = int(serial)
            except ValueError:
                raise NodeError(f"extract serial {serial!r} is not a number") from None
            if position < 1 or position > len(items):
                raise NodeError(f"extract serial {position} is out of range (1..{len(items)})")
            items = [items[position - 1]]
        return NodeResult(
            outputs={
                "result": items,
                "first_record": items[0] if items else None,
                "last_record": items[-1] if items else None,
            },
            inputs={"variable": value},
        )


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (1, value)
    return (2, str(value))
