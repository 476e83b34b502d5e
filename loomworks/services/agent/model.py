"""The model as an agent sees it: messages and offered tools in, text and tool calls out.

Two shapes of model reach an agent: a runtime-bound LLM (`BoundLLM`, which can be offered tools
when its YAML lists the `tool-call` feature) and any other chat model of the pipeline's port
(tests, custom resolvers), which only produces text and so can only run the ReAct strategy.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from loomworks.core.ids import new_id
from loomworks.providers.base import LLMChunk, LLMRequest, ToolSpec
from loomworks.providers.runtime import BoundLLM
from loomworks.providers.usage import Usage
from loomworks.services.chat.llm import ChatModel, ChatRequest
from loomworks.services.model_gateway import RuntimeChatModel

TOOL_FEATURES = frozenset({"tool-call", "multi-tool-call", "stream-tool-call"})


@dataclass(slots=True)
class ModelToolCall:
    """One complete tool call of a model step (`arguments` is the model's JSON text)."""

    id: str
    name: str
    arguments: str = ""


class AgentModel(Protocol):
    """A model an agent drives.

    `stream` yields the runtime's `LLMChunk`s (text, tool-call deltas) and ends with a chunk
    whose `usage` is set; it raises the model runtime's invoke errors. `tools` is only non-empty
    when `supports_tools` is true.
    """

    provider: str
    model: str
    supports_tools: bool

    def stream(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[ToolSpec],
        parameters: dict[str, Any],
        stop: list[str],
        user: str | None,
    ) -> AsyncIterator[LLMChunk]: ...


class BoundAgentModel:
    """A runtime-bound LLM; offers tools when the model's features include tool calling."""

    def __init__(self, bound: BoundLLM) -> None:
        self.bound = bound
        self.provider, self.model = bound.provider, bound.model
        self.supports_tools = bool(TOOL_FEATURES & set(bound.info.features))

    def stream(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[ToolSpec],
        parameters: dict[str, Any],
        stop: list[str],
        user: str | None,
    ) -> AsyncIterator[LLMChunk]:
        request = LLMRequest(
            model=self.model, messages=messages, parameters=parameters, stop=stop, tools=tools, user=user
        )
        return self.bound.stream(request)


class TextAgentModel:
    """A text-only chat model (no tool calling): ReAct prompting is the only way to use tools."""

    supports_tools = False

    def __init__(self, model: ChatModel) -> None:
        self.inner = model
        self.provider, self.model = model.provider, model.model

    async def stream(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[ToolSpec],  # noqa: ARG002 - never offered: `supports_tools` is false
        parameters: dict[str, Any],
        stop: list[str],
        user: str | None,
    ) -> AsyncIterator[LLMChunk]:
        request = ChatRequest(messages=messages, parameters=parameters, stop=stop, user=user)
        async for delta in self.inner.stream(request):
            yield LLMChunk(text=delta.text, usage=delta.usage, finish_reason=delta.finish_reason)


def agent_model(model: ChatModel) -> AgentModel:
    """The agent view of the chat pipeline's model for a turn."""
    if isinstance(model, RuntimeChatModel):
        return BoundAgentModel(model.bound)
    return TextAgentModel(model)


@dataclass(slots=True)
class StepCollector:
    """Gathers one streamed model step: its text, its tool calls (fragments joined), its usage."""

    parts: list[str] = field(default_factory=list)
    calls: dict[int, ModelToolCall] = field(default_factory=dict)
    usage: Usage | None = None

    def add(self, chunk: LLMChunk) -> None:
        if chunk.text:
            self.parts.append(chunk.text)
        for delta in chunk.tool_calls:
            call = self.calls.get(delta.index)
            if call is None:
                call = self.calls[delta.index] = ModelToolCall(id="", name="")
            call.id = delta.id or call.id
            call.name = delta.name or call.name
            call.arguments += delta.arguments
        if chunk.usage is not None:
            self.usage = chunk.usage

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def tool_calls(self) -> list[ModelToolCall]:
        """The step's calls in the model's order; vendors that omit ids get generated ones."""
        calls = [self.calls[i] for i in sorted(self.calls) if self.calls[i].name]
        for call in calls:
            call.id = call.id or f"call_{new_id().replace('-', '')[:24]}"
        return calls
