"""Parameter extractor: the model fills typed parameters (function-call or prompt mode)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loomworks.engine.errors import NodeConfigError
from loomworks.engine.nodes._model import Memory, ModelConfig, call_model, find_json, history, usage_metadata
from loomworks.engine.nodes.base import Node, NodeResult
from loomworks.engine.ports import ToolCallRequest
from loomworks.engine.variables import Selector, Template, selector_of, to_text

if TYPE_CHECKING:
    from loomworks.engine.runner import NodeContext

FUNCTION = "extract_parameters"
_JSON_TYPES = {"string": "string", "select": "string", "number": "number", "bool": "boolean", "boolean": "boolean"}


@dataclass(slots=True)
class Parameter:
    name: str
    type: str
    description: str
    required: bool
    options: list[str]

    def schema(self) -> dict[str, Any]:
        if self.type.startswith("array["):
            inner = self.type[6:-1]
            return {
                "type": "array",
                "items": {"type": _JSON_TYPES.get(inner, "object")},
                "description": self.description,
            }
        schema: dict[str, Any] = {"type": _JSON_TYPES.get(self.type, "string"), "description": self.description}
        if self.options:
            schema["enum"] = self.options
        return schema

    def empty(self) -> Any:
        if self.type.startswith("array["):
            return []
        return {"number": 0, "bool": False, "boolean": False}.get(self.type, "")

    def convert(self, value: Any) -> Any:
        """The value in the declared type; raises ValueError when it cannot be."""
        if self.type == "number":
            if isinstance(value, bool):
                raise ValueError("not a number")
            number = float(value)
            return int(number) if number.is_integer() else number
        if self.type in ("bool", "boolean"):
            if isinstance(value, str):
                return value.strip().lower() in ("true", "1", "yes")
            return bool(value)
        if self.type.startswith("array["):
            if not isinstance(value, list):
                raise ValueError("not an array")
            return value
        text = value if isinstance(value, str) else to_text(value)
        if self.type == "select" and self.options and text not in self.options:
            raise ValueError(f"not one of {self.options}")
        return text


class ParameterExtractorNode(Node):
    """Outputs each parameter, `__is_success` (1/0), `__reason` and `usage`."""

    type = "parameter-extractor"
    inline = False

    def configure(self, data: dict[str, Any]) -> None:
        self.model = ModelConfig.parse(data.get("model"))
        self.query = selector_of(data.get("query"))
        self.parameters = [
            Parameter(
                str(p["name"]),
                str(p.get("type") or "string"),
                str(p.get("description") or ""),
                bool(p.get("required")),
                [str(o) for o in p.get("options") or []],
            )
            for p in data.get("parameters") or []
            if isinstance(p, dict) and p.get("name")
        ]
        if not self.parameters:
            raise NodeConfigError("no parameters to extract")
        self.instruction = Template(str(data.get("instruction") or ""))
        self.mode = str(data.get("reasoning_mode") or "function_call")
        self.memory = Memory.parse(data.get("memory"))

    def references(self) -> list[Selector]:
        return [*([self.query] if self.query else []), *self.instruction.selectors]

    def _schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {p.name: p.schema() for p in self.parameters},
            "required": [p.name for p in self.parameters if p.required],
        }

    def _messages(self, query: str, instruction: str) -> list[dict[str, Any]]:
        system = "Extract the parameters described by the schema from the user's text."
        if instruction:
            system += f"\nInstructions: {instruction}"
        if self.mode != "function_call":
            system += "\nAnswer with one JSON object and nothing else, following this JSON schema:\n" + json.dumps(
                self._schema(), ensure_ascii=False
            )
        return [{"role": "system", "content": system}, {"role": "user", "content": query}]

    async def run(self, ctx: NodeContext) -> NodeResult:
        query = to_text(ctx.pool.get(self.query)) if self.query else ""
        messages = self._messages(query, self.instruction.render(ctx.pool))
        messages[1:1] = await history(ctx, self.memory)
        tools = (
            [ToolCallRequest(FUNCTION, "Extract parameters from the text.", self._schema())]
            if self.mode == "function_call"
            else []
        )
        answer = await call_model(ctx, self.model, messages, purpose="parameter-extractor", tools=tools)
        raw: Any = None
        for call in answer.tool_calls:
            try:
                raw = json.loads(call.get("arguments") or "{}")
            except (TypeError, ValueError):
                raw = None
            break
        if raw is None:
            raw = find_json(answer.text)
        outputs, reason = self._validate(raw)
        outputs.update({"__is_success": 0 if reason else 1, "__reason": reason, "usage": answer.usage.as_dict()})
        return NodeResult(
            outputs=outputs,
            inputs={"query": query},
            process_data={
                "reasoning_mode": self.mode,
                "prompts": messages,
                "text": answer.text,
                "tool_calls": answer.tool_calls,
            },
            metadata=usage_metadata(answer.usage),
        )

    def _validate(self, raw: Any) -> tuple[dict[str, Any], str | None]:
        outputs = {p.name: p.empty() for p in self.parameters}
        if not isinstance(raw, dict):
            return outputs, "The model's answer holds no JSON object of parameters."
        problems = []
        for parameter in self.parameters:
            if parameter.name not in raw or raw[parameter.name] is None:
                if parameter.required:
                    problems.append(f"required parameter {parameter.name} is missing")
                continue
            try:
                outputs[parameter.name] = parameter.convert(raw[parameter.name])
            except (TypeError, ValueError) as exc:
                problems.append(f"parameter {parameter.name}: {exc}")
        return outputs, "; ".join(problems) or None
