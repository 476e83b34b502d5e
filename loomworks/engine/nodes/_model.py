"""What the llm, question-classifier and parameter-extractor nodes share: the model call and memory."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loomworks.engine.errors import NodeConfigError, PortUnavailableError
from loomworks.engine.ports import ModelRequest, ToolCallRequest, Usage
from loomworks.engine.variables import Selector, Template, is_file, selector_of

if TYPE_CHECKING:
    from loomworks.engine.runner import NodeContext


@dataclass(slots=True)
class ModelConfig:
    """A node's `model` block."""

    provider: str
    name: str
    mode: str
    parameters: dict[str, Any]
    stop: list[str]

    @classmethod
    def parse(cls, raw: Any) -> ModelConfig:
        if not isinstance(raw, dict) or not raw.get("name"):
            raise NodeConfigError("no model selected")
        params = dict(raw.get("completion_params") or {})
        stop = params.pop("stop", None) or []
        return cls(str(raw.get("provider") or ""), str(raw["name"]), str(raw.get("mode") or "chat"), params, list(stop))


@dataclass(slots=True)
class Memory:
    """A node's chatflow `memory` block."""

    window: int
    query: Template | None
    user_prefix: str = "Human"
    assistant_prefix: str = "Assistant"

    @classmethod
    def parse(cls, raw: Any) -> Memory | None:
        if not isinstance(raw, dict):
            return None
        window = raw.get("window") or {}
        size = int(window.get("size") or 50) if window.get("enabled") else 50
        query = raw.get("query_prompt_template")
        prefix = raw.get("role_prefix") or {}
        return cls(
            size,
            Template(str(query)) if query else None,
            str(prefix.get("user") or "Human"),
            str(prefix.get("assistant") or "Assistant"),
        )


@dataclass(slots=True)
class Vision:
    """A node's `vision` block: which files go to the model as images."""

    enabled: bool = False
    selector: Selector = ("sys", "files")
    detail: str = "high"

    @classmethod
    def parse(cls, raw: Any) -> Vision:
        if not isinstance(raw, dict) or not raw.get("enabled"):
            return cls()
        configs = raw.get("configs") or {}
        selector = selector_of(configs.get("variable_selector")) or ("sys", "files")
        return cls(True, selector, str(configs.get("detail") or "high"))

    def images(self, ctx: NodeContext) -> list[dict[str, Any]]:
        if not self.enabled:
            return []
        value = ctx.pool.get(self.selector)
        files = value if isinstance(value, list) else [value]
        parts = []
        for file in files:
            if is_file(file) and file.get("type") == "image" and (file.get("url") or file.get("remote_url")):
                url = file.get("url") or file.get("remote_url")
                parts.append({"type": "image_url", "image_url": {"url": url, "detail": self.detail}})
        return parts


@dataclass(slots=True)
class ModelAnswer:
    text: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    finish_reason: str | None = None


async def call_model(
    ctx: NodeContext,
    config: ModelConfig,
    messages: list[dict[str, Any]],
    *,
    purpose: str,
    stream_output: str | None = None,
    tools: list[ToolCallRequest] | None = None,
    json_schema: dict[str, Any] | None = None,
) -> ModelAnswer:
    """Call the model port; forward deltas to `stream_output` (Answer/End streaming) when given."""
    port = ctx.ports.model
    if port is None:
        raise PortUnavailableError(
            f"Model {config.provider}/{config.name} is unavailable: no model runtime is configured.",
            error_type="ModelUnavailableError",
        )
    request = ModelRequest(
        tenant_id=ctx.state.tenant_id,
        provider=config.provider,
        model=config.name,
        mode=config.mode,
        messages=messages,
        parameters=dict(config.parameters),
        stop=list(config.stop),
        tools=list(tools or []),
        json_schema=json_schema,
        purpose=purpose,
        user=ctx.state.user_id,
    )
    answer = ModelAnswer()
    pieces: list[str] = []
    began = time.perf_counter()
    async for delta in port.stream(request):
        if delta.text:
            pieces.append(delta.text)
            if stream_output is not None:
                ctx.stream(stream_output, delta.text)
        if delta.tool_calls:
            answer.tool_calls.extend(delta.tool_calls)
        if delta.usage is not None:
            answer.usage = delta.usage
        if delta.finish_reason:
            answer.finish_reason = delta.finish_reason
    answer.text = "".join(pieces)
    if not answer.usage.latency:
        answer.usage.latency = time.perf_counter() - began
    return answer


def usage_metadata(usage: Usage) -> dict[str, Any]:
    """`execution_metadata` keys for a model call."""
    return {"total_tokens": usage.total_tokens, "total_price": str(usage.total_price), "currency": usage.currency}


async def history(ctx: NodeContext, memory: Memory | None) -> list[dict[str, Any]]:
    """Past turns of the conversation (chatflows with memory and a memory port)."""
    if memory is None or ctx.mode != "advanced-chat" or ctx.ports.memory is None:
        return []
    conversation_id = ctx.pool.get(("sys", "conversation_id"))
    if not conversation_id:
        return []
    return await ctx.ports.memory.history(conversation_id=str(conversation_id), limit=memory.window)


def find_json(text: str) -> Any:
    """The first JSON object (or array) in a model's text, or None."""
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.strip("`")
        stripped = stripped[4:] if stripped.startswith("json") else stripped
    try:
        return json.loads(stripped)
    except ValueError:
        pass
    decoder = json.JSONDecoder()
    for index, char in enumerate(text):
        if char in "{[":
            try:
                value, _ = decoder.raw_decode(text, index)
            except ValueError:
                continue
            return value
    return None
