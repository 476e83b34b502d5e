"""Start, End and Answer: where a run's inputs enter and its outputs and answer text leave."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loomworks.engine.nodes.base import Node, NodeResult, variable_bindings
from loomworks.engine.variables import Selector, Template, is_file

if TYPE_CHECKING:
    from loomworks.engine.runner import NodeContext


class StartNode(Node):
    """Outputs the run's inputs (with `default`s filled in) and the `sys.*` values, flattened."""

    type = "start"

    def configure(self, data: dict[str, Any]) -> None:
        self.variables = [v for v in data.get("variables") or [] if isinstance(v, dict) and v.get("variable")]

    def run_sync(self, ctx: NodeContext) -> NodeResult:
        inputs = dict(ctx.state.inputs)
        for variable in self.variables:
            name = variable["variable"]
            if inputs.get(name) is None and variable.get("default") not in (None, ""):
                inputs[name] = variable["default"]
            inputs.setdefault(name, None)
        outputs = dict(inputs)
        for key, value in (ctx.pool.values.get("sys") or {}).items():
            outputs[f"sys.{key}"] = value
        return NodeResult(outputs=outputs, inputs=outputs)


class EndNode(Node):
    """Collects the workflow outputs `[{variable, value_selector}]`."""

    type = "end"

    def configure(self, data: dict[str, Any]) -> None:
        self.outputs = variable_bindings(data.get("outputs"))

    def references(self) -> list[Selector]:
        return [s for _, s in self.outputs if s]

    def stream_parts(self) -> list[str | Selector]:
        return [s for _, s in self.outputs if s]

    def run_sync(self, ctx: NodeContext) -> NodeResult:
        outputs = {name: (ctx.pool.get(selector) if selector else None) for name, selector in self.outputs}
        return NodeResult(outputs=outputs, inputs=outputs)


class AnswerNode(Node):
    """A chatflow reply: its `answer` template is streamed to the chat as its parts become available."""

    type = "answer"

    def configure(self, data: dict[str, Any]) -> None:
        self.template = Template(str(data.get("answer") or ""))

    def references(self) -> list[Selector]:
        return list(self.template.selectors)

    def stream_parts(self) -> list[str | Selector]:
        return list(self.template.parts)

    def run_sync(self, ctx: NodeContext) -> NodeResult:
        text = self.template.render(ctx.pool)
        files = [v for v in (ctx.pool.get(s) for s in self.template.selectors) if is_file(v)]
        return NodeResult(outputs={"answer": text, "files": files})
