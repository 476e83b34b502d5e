"""Tool and agent nodes: parameters resolved from the pool, the call made through the tool/agent port.

The agent node streams its `text` as the agent answers, sends Dify's `agent_log` events for the
agent's rounds, model steps and tool calls (see `_agent_log`), and in chatflows gives the agent the
conversation's past turns when its `memory` is set (window size as for the LLM node).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loomworks.engine.errors import PortUnavailableError
from loomworks.engine.nodes._agent_log import AgentLogBook
from loomworks.engine.nodes._model import Memory, history
from loomworks.engine.nodes.base import Node, NodeResult
from loomworks.engine.ports import AgentInvocation, ToolInvocation, ToolResult
from loomworks.engine.variables import Selector, Template, selector_of

if TYPE_CHECKING:
    from loomworks.engine.runner import NodeContext


class Parameters:
    """Dify's `{name: {type: mixed|variable|constant, value}}` parameter maps, parsed once."""

    def __init__(self, raw: Any) -> None:
        self.items: list[tuple[str, str, Any]] = []
        for name, spec in (raw or {}).items() if isinstance(raw, dict) else ():
            if not isinstance(spec, dict):
                self.items.append((str(name), "constant", spec))
                continue
            kind = str(spec.get("type") or "constant")
            value = spec.get("value")
            if kind == "mixed":
                value = Template(value if isinstance(value, str) else str(value or ""))
            elif kind == "variable":
                value = selector_of(value)
            self.items.append((str(name), kind, value))

    def references(self) -> list[Selector]:
        refs: list[Selector] = []
        for _, kind, value in self.items:
            if kind == "mixed":
                refs.extend(value.selectors)
            elif kind == "variable" and value:
                refs.append(value)
        return refs

    def resolve(self, ctx: NodeContext) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, kind, value in self.items:
            if kind == "mixed":
                values[name] = value.render(ctx.pool)
            elif kind == "variable":
                values[name] = ctx.pool.get(value) if value else None
            else:
                values[name] = value
        return values


def _outputs(result: ToolResult) -> dict[str, Any]:
    return {**result.variables, "text": result.text, "files": result.files, "json": result.json}


class ToolNode(Node):
    """Outputs `text`, `files`, `json` and the tool's declared variables."""

    type = "tool"
    inline = False

    def configure(self, data: dict[str, Any]) -> None:
        self.provider_type = str(data.get("provider_type") or "builtin")
        self.provider_id = str(data.get("provider_id") or "")
        self.provider_name = str(data.get("provider_name") or self.provider_id)
        self.tool_name = str(data.get("tool_name") or "")
        self.parameters = Parameters(data.get("tool_parameters"))
        self.configurations = dict(data.get("tool_configurations") or {})

    @property
    def tool_label(self) -> str:
        """The tool as users know it: `provider/tool`."""
        return f"{self.provider_id or self.provider_name}/{self.tool_name}"

    def references(self) -> list[Selector]:
        return self.parameters.references()

    async def run(self, ctx: NodeContext) -> NodeResult:
        parameters = self.parameters.resolve(ctx)
        port = ctx.ports.tools
        if port is None:
            raise PortUnavailableError(
                f"Tool {self.tool_label} is unavailable: no tool runtime is configured.", error_type="ToolNotFoundError"
            )
        result = await port.invoke(
            ToolInvocation(
                tenant_id=ctx.state.tenant_id,
                app_id=ctx.state.app_id,
                user_id=ctx.state.user_id,
                provider_type=self.provider_type,
                provider_id=self.provider_id,
                provider_name=self.provider_name,
                tool_name=self.tool_name,
                parameters=parameters,
                configurations=self.configurations,
                plugin_unique_identifier=self.data.get("plugin_unique_identifier"),
                credential_id=self.data.get("credential_id"),
            )
        )
        metadata: dict[str, Any] = {"tool_info": {"provider_type": self.provider_type, "provider_id": self.provider_id}}
        if result.usage is not None:
            metadata.update(total_tokens=result.usage.total_tokens, total_price=str(result.usage.total_price))
        return NodeResult(outputs=_outputs(result), inputs=parameters, metadata=metadata)


class AgentNode(Node):
    """An agent strategy (a plugin) run through the agent port; outputs `text`, `files`, `json`."""

    type = "agent"
    inline = False
    streams = frozenset({"text"})

    def configure(self, data: dict[str, Any]) -> None:
        self.strategy_provider = str(data.get("agent_strategy_provider_name") or "")
        self.strategy_name = str(data.get("agent_strategy_name") or "")
        self.parameters = Parameters(data.get("agent_parameters"))
        self.memory = Memory.parse(data.get("memory"))

    def references(self) -> list[Selector]:
        return self.parameters.references()

    async def run(self, ctx: NodeContext) -> NodeResult:
        parameters = self.parameters.resolve(ctx)
        port = ctx.ports.agents
        if port is None:
            raise PortUnavailableError(
                f"Agent strategy {self.strategy_provider}/{self.strategy_name} is unavailable: "
                "no agent runtime is configured.",
                error_type="AgentStrategyNotFoundError",
            )
        past = await history(ctx, self.memory)
        book = AgentLogBook(ctx)
        result = await port.run(
            AgentInvocation(
                tenant_id=ctx.state.tenant_id,
                app_id=ctx.state.app_id,
                user_id=ctx.state.user_id,
                strategy_provider=self.strategy_provider,
                strategy_name=self.strategy_name,
                parameters=parameters,
                plugin_unique_identifier=self.data.get("plugin_unique_identifier"),
                history=past,
                reporter=book,
            )
        )
        metadata: dict[str, Any] = {"agent_strategy": self.strategy_name, "agent_log": book.entries()}
        if result.usage is not None:
            metadata.update(
                total_tokens=result.usage.total_tokens,
                total_price=str(result.usage.total_price),
                currency=result.usage.currency,
            )
        return NodeResult(outputs=_outputs(result), inputs=parameters, metadata=metadata)
