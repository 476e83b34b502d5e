"""The tools of one agent run: descriptors loaded once, offered to the model, called by name.

A tool that fails never fails the run: its error becomes the observation the model reads next
(Dify's wording: `tool invoke error: …`, `there is not a tool named …`), so the model can try
another way or tell the user.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from loomworks.core.errors import LoomworksError
from loomworks.providers.base import ToolSpec
from loomworks.services.agent.entities import ToolRef
from loomworks.services.agent.model import ModelToolCall
from loomworks.services.tools.base import ToolDescriptor, ToolNotFoundError, ToolRuntime, i18n

log = logging.getLogger("loomworks.agent")

RuntimeGetter = Callable[[], ToolRuntime | None]


@dataclass(slots=True)
class AgentTool:
    """A tool as offered to the model under `name` (unique within the run)."""

    name: str
    ref: ToolRef
    descriptor: ToolDescriptor
    spec: ToolSpec

    @property
    def label(self) -> dict[str, str]:
        return self.descriptor.label or i18n(self.descriptor.name)

    def configurations(self) -> dict[str, Any]:
        """The app's form values for this tool (values of model-filled parameters are not used)."""
        values: dict[str, Any] = {}
        for name, value in self.ref.configurations.items():
            param = self.descriptor.parameter(name)
            if param is not None and param.form == "form":
                values[name] = value
        return values


@dataclass(slots=True)
class ToolOutcome:
    """A finished call: the text the model reads next, files produced, the parsed arguments."""

    call: ModelToolCall
    text: str
    arguments: dict[str, Any] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


def _spec(descriptor: ToolDescriptor, name: str, fixed: dict[str, Any]) -> ToolSpec:
    spec = descriptor.llm_spec(name)
    if fixed:
        # Parameters the builder fixed are not the model's to fill.
        schema = dict(spec.parameters)
        schema["properties"] = {k: v for k, v in (schema.get("properties") or {}).items() if k not in fixed}
        schema["required"] = [k for k in schema.get("required") or [] if k not in fixed]
        spec = ToolSpec(name=spec.name, description=spec.description, parameters=schema)
    return spec


class Toolbox:
    """The tools of a run, bound to the caller (workspace, app, user)."""

    def __init__(
        self,
        runtime: ToolRuntime | None,
        tools: list[AgentTool],
        *,
        tenant_id: str,
        app_id: str | None = None,
        user_id: str | None = None,
    ) -> None:
        self.runtime = runtime
        self.tools = tools
        self.by_name = {tool.name: tool for tool in tools}
        self.tenant_id, self.app_id, self.user_id = tenant_id, app_id, user_id

    @classmethod
    async def load(
        cls,
        runtime: ToolRuntime | None,
        refs: list[ToolRef],
        *,
        tenant_id: str,
        app_id: str | None = None,
        user_id: str | None = None,
    ) -> Toolbox:
        """Look every configured tool up once.

        Raises:
            ToolNotFoundError: a configured tool does not exist in the workspace (or no tool
                runtime is configured) — the run cannot do what its builder meant.
        """
        if refs and runtime is None:
            raise ToolNotFoundError("This server has no tool runtime configured; the agent's tools cannot run.")
        tools: list[AgentTool] = []
        taken: set[str] = set()
        for ref in refs:
            assert runtime is not None
            descriptor = await runtime.aget(tenant_id, ref.provider_type, ref.provider_id, ref.tool_name)
            name = descriptor.llm_name or descriptor.name
            suffix = 2
            while name in taken:  # two providers' tools of one name must stay tellable apart
                name = f"{descriptor.llm_name or descriptor.name}_{suffix}"
                suffix += 1
            taken.add(name)
            tools.append(AgentTool(name=name, ref=ref, descriptor=descriptor, spec=_spec(descriptor, name, ref.fixed)))
        return cls(runtime, tools, tenant_id=tenant_id, app_id=app_id, user_id=user_id)

    @property
    def specs(self) -> list[ToolSpec]:
        return [tool.spec for tool in self.tools]

    def label(self, name: str) -> dict[str, str]:
        tool = self.by_name.get(name)
        return tool.label if tool is not None else i18n(name)

    def shown_input(self, call: ModelToolCall) -> Any:
        """A call's input as the thought records it: the model's arguments with the fixed values."""
        try:
            parsed = json.loads(call.arguments) if call.arguments.strip() else {}
        except ValueError:
            return call.arguments
        tool = self.by_name.get(call.name)
        return {**parsed, **tool.ref.fixed} if isinstance(parsed, dict) and tool is not None else parsed

    def arguments_from(self, name: str, raw: Any) -> dict[str, Any]:
        """Arguments a ReAct model wrote: a JSON object, or one bare value for a one-parameter tool."""
        if isinstance(raw, dict):
            return raw
        tool = self.by_name.get(name)
        properties = list((tool.spec.parameters.get("properties") or {}) if tool else {})
        if raw in (None, ""):
            return {}
        if len(properties) == 1:
            return {properties[0]: raw}
        return {"query": raw} if isinstance(raw, str) else {}

    async def run(self, call: ModelToolCall) -> ToolOutcome:
        """Call one tool; every failure comes back as the outcome's text."""
        tool = self.by_name.get(call.name)
        if tool is None or self.runtime is None:
            return ToolOutcome(call, f"there is not a tool named {call.name}", error="tool not found")
        try:
            parsed = json.loads(call.arguments) if call.arguments.strip() else {}
        except ValueError as exc:
            text = f"tool parameters validation error: the arguments are not valid JSON ({exc})"
            return ToolOutcome(call, text, error=text)
        if not isinstance(parsed, dict):
            text = "tool parameters validation error: the arguments must be a JSON object"
            return ToolOutcome(call, text, error=text)
        arguments = {**parsed, **tool.ref.fixed}
        try:
            output = await self.runtime.invoke(
                self.tenant_id,
                tool.ref.provider_type,
                tool.ref.provider_id,
                tool.ref.tool_name,
                arguments,
                user_id=self.user_id,
                app_id=self.app_id,
                configurations=tool.configurations(),
            )
        except LoomworksError as exc:  # ToolError and the errors of what the tool called
            return ToolOutcome(call, f"tool invoke error: {exc.message}", arguments, error=exc.message)
        except Exception as exc:  # noqa: BLE001 - a broken tool must not break the agent's turn
            log.exception("tool %s raised", tool.descriptor.key)
            return ToolOutcome(call, f"unknown error: {exc}", arguments, error=str(exc))
        return ToolOutcome(call, output.for_llm(), arguments, files=list(output.files))

    async def run_all(self, calls: list[ModelToolCall]) -> list[ToolOutcome]:
        """The calls of one model step, concurrently (parallel tool calls), in the model's order."""
        if len(calls) == 1:
            return [await self.run(calls[0])]
        return list(await asyncio.gather(*(self.run(call) for call in calls)))
