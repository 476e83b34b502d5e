"""If-else: the first case whose conditions hold chooses the edge (its case id), else `false`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loomworks.engine.conditions import Condition, evaluate_all
from loomworks.engine.errors import NodeConfigError
from loomworks.engine.nodes.base import Node, NodeResult
from loomworks.engine.variables import Selector

if TYPE_CHECKING:
    from loomworks.engine.runner import NodeContext


@dataclass(slots=True)
class Case:
    case_id: str
    logical: str
    conditions: list[Condition]


def parse_conditions(raw: Any) -> list[Condition]:
    """A list of Dify conditions."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise NodeConfigError("conditions must be a list")
    return [Condition.parse(item) for item in raw]


class IfElseNode(Node):
    """Dify's `cases` (or the legacy top-level `logical_operator` + `conditions`, case `true`)."""

    type = "if-else"

    def configure(self, data: dict[str, Any]) -> None:
        cases = data.get("cases")
        self.cases: list[Case] = []
        if isinstance(cases, list) and cases:
            for raw in cases:
                if not isinstance(raw, dict):
                    raise NodeConfigError("a case must be an object")
                case_id = str(raw.get("case_id") or raw.get("id") or "true")
                logical = str(raw.get("logical_operator") or "and")
                self.cases.append(Case(case_id, logical, parse_conditions(raw.get("conditions"))))
        else:
            logical = str(data.get("logical_operator") or "and")
            self.cases.append(Case("true", logical, parse_conditions(data.get("conditions"))))
        self.first_case_id = self.cases[0].case_id if self.cases else None

    def own_handles(self) -> frozenset[str]:
        return frozenset({c.case_id for c in self.cases} | {"false"})

    def recorded_handle(self, outputs: dict[str, Any]) -> str:
        return str(outputs.get("selected_case_id") or "false")

    def references(self) -> list[Selector]:
        return [s for case in self.cases for c in case.conditions for s in c.references()]

    def run_sync(self, ctx: NodeContext) -> NodeResult:
        records: list[dict[str, Any]] = []
        selected = "false"
        for case in self.cases:
            result, case_records = evaluate_all(case.conditions, case.logical, ctx.pool)
            records.append({"case_id": case.case_id, "conditions": case_records, "result": result})
            if result:
                selected = case.case_id
                break
        return NodeResult(
            outputs={"result": selected != "false", "selected_case_id": selected},
            inputs={},
            process_data={"condition_results": records},
            handle=selected,
        )
