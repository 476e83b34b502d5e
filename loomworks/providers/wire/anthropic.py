"""Anthropic Messages API (`POST {base}/v1/messages`), blocking and streamed.

Translation from the OpenAI-style request of `base.LLMRequest`:

- `system` messages become the top-level `system` text (Anthropic has no system role);
- image parts become `image` blocks: data URLs as a `base64` source, https URLs as a `url` source;
- assistant `tool_calls` become `tool_use` blocks; `role: tool` answers become `tool_result` blocks of
  a user message; consecutive messages of one role are merged, because the API wants user and
  assistant turns to alternate;
- `max_tokens` is required by the API: the request's value, else the model's rule default, else 4096;
- `thinking` (bool) and `thinking_budget` parameters switch on extended thinking, streamed back as
  `reasoning`;
- structured output (`response_format` `json_schema` with `json_schema`, or `json_object` / `JSON`):
  Anthropic has no response format, so the schema becomes the `input_schema` of one extra *answer
  tool* that the request forces (`tool_choice: {"type": "tool"}`, or `any` when the caller's own
  tools are offered too). The answer tool's input comes back as the JSON text of the answer, streamed
  from its `input_json_delta` fragments, and never as a tool call. Extended thinking refuses a
  forced tool choice, so with thinking on the choice stays `auto` and the system text asks for the
  tool; text the model writes beside the answer tool is dropped, and kept only when it never calls it.

Streaming is SSE with named events (`message_start`, `content_block_start`, `content_block_delta`,
`content_block_stop`, `message_delta`, `message_stop`, `ping`, `error`). `message_stop` is the
terminator: a stream that ends before it raises `InvokeConnectionError`. Finish reasons are reported
in the OpenAI vocabulary (`stop`, `length`, `tool_calls`).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

import httpx

from loomworks.providers.base import (
    Credentials,
    LLMChunk,
    LLMRequest,
    TokenCount,
    ToolCallDelta,
    ToolSpec,
    WireAdapter,
)
from loomworks.providers.errors import (
    CredentialsValidateFailedError,
    InvokeAuthorizationError,
    InvokeBadRequestError,
    InvokeConnectionError,
    InvokeError,
    InvokeRateLimitError,
    InvokeServerUnavailableError,
    error_for_status,
)
from loomworks.providers.wire._sse import sse_events

API_VERSION = "2023-06-01"
DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_MAX_TOKENS = 4096
_TIMEOUT = httpx.Timeout(300.0, connect=10.0)

# Anthropic's error `type`s (HTTP bodies and mid-stream `error` events) and the unified error each is.
_ERROR_TYPES: dict[str, type[InvokeError]] = {
    "invalid_request_error": InvokeBadRequestError,
    "not_found_error": InvokeBadRequestError,
    "request_too_large": InvokeBadRequestError,
    "authentication_error": InvokeAuthorizationError,
    "permission_error": InvokeAuthorizationError,
    "billing_error": InvokeAuthorizationError,
    "rate_limit_error": InvokeRateLimitError,
    "api_error": InvokeServerUnavailableError,
    "overloaded_error": InvokeServerUnavailableError,
    "timeout_error": InvokeServerUnavailableError,
}

_STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return "" if content is None else str(content)


def image_block(url: str) -> dict[str, Any]:
    """An Anthropic `image` block for a data URL (base64 source) or an http(s) URL (url source)."""
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        media_type = header[5:].split(";", 1)[0] or "image/png"
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for part in content or []:
        kind = part.get("type")
        if kind == "text" and part.get("text"):
            blocks.append({"type": "text", "text": part["text"]})
        elif kind == "image_url":
            image = part.get("image_url") or {}
            url = image.get("url", "") if isinstance(image, dict) else str(image)
            blocks.append(image_block(url))
    return blocks


def _tool_use(call: dict[str, Any], provider: str) -> dict[str, Any]:
    function = call.get("function") or {}
    arguments = function.get("arguments") or "{}"
    try:
        tool_input = json.loads(arguments) if isinstance(arguments, str) else arguments
    except json.JSONDecodeError as exc:
        raise InvokeBadRequestError(
            f"[{provider}] The arguments of tool call {call.get('id')} are not valid JSON."
        ) from exc
    return {"type": "tool_use", "id": call.get("id"), "name": function.get("name"), "input": tool_input}


def convert_messages(messages: list[dict[str, Any]], provider: str = "anthropic") -> tuple[str, list[dict[str, Any]]]:
    """Split OpenAI-style messages into Anthropic's `system` text and alternating `messages`."""
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role == "system":
            text = _text_of(message.get("content"))
            if text:
                system.append(text)
            continue
        if role == "tool":
            role = "user"
            blocks = [
                {
                    "type": "tool_result",
                    "tool_use_id": message.get("tool_call_id"),
                    "content": _text_of(message.get("content")),
                }
            ]
        else:
            role = "assistant" if role == "assistant" else "user"
            blocks = _blocks(message.get("content"))
            if role == "assistant":
                blocks += [_tool_use(call, provider) for call in message.get("tool_calls") or []]
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    return "\n\n".join(system), turns


_TOOL_NAME = re.compile(r"[^a-zA-Z0-9_-]")
_ANSWER_DESCRIPTION = (
    "Give the final answer by calling this tool: its input is the answer, in the required JSON format."
)


def answer_tool(parameters: dict[str, Any], tools: list[ToolSpec], provider: str) -> dict[str, Any] | None:
    """The answer tool that carries structured output, or None when the answer is free text.

    `response_format` `json_schema` takes the schema from `json_schema` (a schema, Dify's
    `{name, description, schema, strict}` wrapper, or the JSON text of either); `json_object` and
    Dify's older `JSON` take any object. Raises `InvokeBadRequestError` for a missing or invalid
    schema and for a schema whose root is not an object (a tool's input always is one).
    """
    kind = parameters.get("response_format")
    if kind in ("json_object", "JSON"):
        name, description, schema = "response", "", {"type": "object"}
    elif kind == "json_schema":
        name, description, schema = _schema_of(parameters.get("json_schema"), provider)
    else:
        return None
    root = schema.get("type", "object")
    if root != "object":
        raise InvokeBadRequestError(
            f"[{provider}] Structured output on Anthropic needs a schema whose root type is object, not {root!r}."
        )
    base = _TOOL_NAME.sub("_", name)[:56] or "response"
    taken = {t.name for t in tools}
    name, n = base, 1
    while name in taken:  # never shadow one of the caller's tools
        name, n = f"{base}_{n}", n + 1
    return {
        "name": name,
        "description": description or _ANSWER_DESCRIPTION,
        "input_schema": {"type": "object", **schema},
    }


def _schema_of(raw: Any, provider: str) -> tuple[str, str, dict[str, Any]]:
    if raw in (None, ""):
        raise InvokeBadRequestError(f"[{provider}] response_format json_schema needs the json_schema parameter.")
    try:
        schema = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError as exc:
        raise InvokeBadRequestError(f"[{provider}] json_schema is not valid JSON: {exc}") from exc
    if not isinstance(schema, dict):
        raise InvokeBadRequestError(f"[{provider}] json_schema must be a JSON object.")
    if isinstance(schema.get("schema"), dict):
        return str(schema.get("name") or "response"), str(schema.get("description") or ""), schema["schema"]
    return "response", "", schema


@dataclass(slots=True)
class _Answer:
    """What a streamed structured answer has shown so far."""

    name: str
    blocks: set[int] = field(default_factory=set)  # content blocks that are the answer tool (one, normally)
    extra: set[int] = field(default_factory=set)  # further calls of the answer tool, ignored
    filled: set[int] = field(default_factory=set)  # answer blocks that received JSON
    held: list[str] = field(default_factory=list)  # text kept back until it is known whether the tool comes

    def text(self, text: str) -> None:
        if not self.blocks and text:
            self.held.append(text)

    def flush(self) -> str:
        """The held text, once the stream ended without the answer tool."""
        text = "" if self.blocks else "".join(self.held)
        self.held.clear()
        return text


# The stream's last event: the reader drains the body before yielding it, so the pooled
# connection goes back to the pool.
_END_EVENT = "message_stop"


class AnthropicAdapter(WireAdapter, wire="anthropic"):
    """Claude models over the Messages API (LLM only; Anthropic has no embeddings or rerank)."""

    def _base_url(self, credentials: Credentials) -> str:
        base = credentials.base_url or credentials.get("anthropic_api_url") or self.spec.get("base_url")
        base = str(base or DEFAULT_BASE_URL).rstrip("/")
        # Dify's form accepts the URL with or without the version segment.
        return base[: -len("/v1")] if base.endswith("/v1") else base

    def _headers(self, credentials: Credentials) -> dict[str, str]:
        key = credentials.api_key or str(credentials.get("anthropic_api_key", ""))
        return {"x-api-key": key, "anthropic-version": API_VERSION, "content-type": "application/json"}

    def _default_max_tokens(self, model: str) -> int:
        for item in self.spec.get("models") or []:
            if item.get("model") == model:
                for rule in item.get("parameter_rules") or []:
                    if rule.get("name") == "max_tokens" and rule.get("default"):
                        return int(rule["default"])
        return DEFAULT_MAX_TOKENS

    def build_body(self, request: LLMRequest) -> dict[str, Any]:
        """The JSON body of a Messages API call for `request`."""
        return self._body(request)[0]

    def _body(self, request: LLMRequest) -> tuple[dict[str, Any], str | None]:
        """The body, and the name of the answer tool when the call asks for structured output."""
        params = request.parameters
        system, messages = convert_messages(request.messages, self.provider)
        body: dict[str, Any] = {
            "model": request.model,
            "max_tokens": int(params.get("max_tokens") or self._default_max_tokens(request.model)),
            "messages": messages,
        }
        thinking = params.get("thinking") in (True, "true", "enabled")
        if thinking:
            budget = int(params.get("thinking_budget") or 1024)
            body["thinking"] = {"type": "enabled", "budget_tokens": max(budget, 1024)}
            body["max_tokens"] = max(body["max_tokens"], body["thinking"]["budget_tokens"] + 1)
        else:
            # Extended thinking refuses sampling parameters, so they only go without it.
            for name in ("temperature", "top_p", "top_k"):
                if params.get(name) is not None:
                    body[name] = params[name]
        if request.stop:
            body["stop_sequences"] = list(request.stop)
        tools = [{"name": t.name, "description": t.description, "input_schema": t.parameters} for t in request.tools]
        answer = answer_tool(params, request.tools, self.provider)
        if answer is not None:
            tools.append(answer)
            if thinking:
                # A forced tool choice is refused while thinking: ask for the tool in words instead.
                system = "\n\n".join(
                    filter(None, [system, f"Give your final answer by calling the `{answer['name']}` tool."])
                )
                body["tool_choice"] = {"type": "auto"}
            elif request.tools:
                body["tool_choice"] = {"type": "any"}  # the caller's tools stay callable
            else:
                body["tool_choice"] = {"type": "tool", "name": answer["name"]}
        if system:
            body["system"] = system
        if tools:
            body["tools"] = tools
        if request.user:
            body["metadata"] = {"user_id": request.user}
        body["stream"] = request.stream
        return body, None if answer is None else answer["name"]

    async def validate_credentials(self, credentials: Credentials, *, model_type: str, model: str | None) -> None:
        """The cheapest real call of the model type; a refused key names the `anthropic_api_key` field."""
        try:
            await super().validate_credentials(credentials, model_type=model_type, model=model)
        except CredentialsValidateFailedError as exc:
            if isinstance(exc.__cause__, InvokeAuthorizationError):
                raise CredentialsValidateFailedError(exc.message, params="anthropic_api_key") from exc.__cause__
            raise

    def _error(self, status: int | None, text: str) -> InvokeError:
        message, kind = text, ""
        try:
            payload = json.loads(text)
        except json.JSONDecodeError:
            payload = None
        if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
            message = str(payload["error"].get("message") or text)
            kind = str(payload["error"].get("type") or "")
        message = f"[{self.provider}] {message or 'HTTP ' + str(status)}"
        if status is not None:
            return error_for_status(status, message)
        return _ERROR_TYPES.get(kind, InvokeServerUnavailableError)(message)

    def _decode(self, data: str) -> dict[str, Any]:
        try:
            payload = json.loads(data)
        except json.JSONDecodeError as exc:
            raise InvokeConnectionError(f"[{self.provider}] Malformed stream event: {data[:200]!r}") from exc
        if not isinstance(payload, dict):
            raise InvokeConnectionError(f"[{self.provider}] Malformed stream event: {data[:200]!r}")
        return payload

    async def stream_llm(self, request: LLMRequest, credentials: Credentials) -> AsyncIterator[LLMChunk]:
        """Call the Messages API; yields text, reasoning and tool-call deltas, then usage and finish.

        With structured output the answer tool's input is yielded as text (see the module docstring).
        """
        url = f"{self._base_url(credentials)}/v1/messages"
        body, answer = self._body(request)
        headers = self._headers(credentials)
        try:
            if not request.stream:
                response = await self.http.post(url, json=body, headers=headers, timeout=_TIMEOUT)
                if response.status_code >= 400:
                    raise self._error(response.status_code, response.text)
                yield self._whole(response, answer)
                return
            async with self.http.stream("POST", url, json=body, headers=headers, timeout=_TIMEOUT) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise self._error(response.status_code, response.text)
                async for chunk in self._events(response, None if answer is None else _Answer(answer)):
                    yield chunk
        except httpx.RequestError as exc:
            raise InvokeConnectionError(f"[{self.provider}] Cannot reach {url}: {exc}") from exc

    def _whole(self, response: httpx.Response, answer: str | None) -> LLMChunk:
        try:
            payload = response.json()
        except ValueError as exc:
            raise InvokeConnectionError(f"[{self.provider}] The answer is not JSON: {response.text[:200]!r}") from exc
        chunk = LLMChunk()
        content = payload.get("content") or []
        answered = [b for b in content if b.get("type") == "tool_use" and answer and b.get("name") == answer][:1]
        for block in content:
            kind = block.get("type")
            if kind == "text" and not answered:
                chunk.text += block.get("text", "")
            elif kind == "thinking":
                chunk.reasoning += block.get("thinking", "")
            elif kind == "tool_use" and answer and block.get("name") == answer:
                if block is answered[0]:
                    chunk.text += json.dumps(block.get("input") or {}, ensure_ascii=False)
            elif kind == "tool_use":
                chunk.tool_calls.append(
                    ToolCallDelta(
                        index=len(chunk.tool_calls),
                        id=block.get("id"),
                        name=block.get("name"),
                        arguments=json.dumps(block.get("input") or {}, ensure_ascii=False),
                    )
                )
        usage = payload.get("usage") or {}
        chunk.tokens = TokenCount(usage.get("input_tokens"), usage.get("output_tokens"))
        chunk.finish_reason = _finish(payload.get("stop_reason"), called=bool(chunk.tool_calls))
        return chunk

    async def _events(self, response: httpx.Response, answer: _Answer | None) -> AsyncIterator[LLMChunk]:
        prompt_tokens: int | None = None
        blocks = _Blocks(answer)
        async with aclosing(
            sse_events(response, provider=self.provider, end_event=_END_EVENT, required=True)
        ) as events:
            async for event, data in events:
                payload = self._decode(data)
                kind = payload.get("type") or event
                if kind in ("content_block_start", "content_block_delta", "content_block_stop"):
                    chunk = blocks.event(kind, payload)
                    if chunk is not None:
                        yield chunk
                elif kind == "message_start":
                    usage = (payload.get("message") or {}).get("usage") or {}
                    prompt_tokens = usage.get("input_tokens")
                elif kind == "message_delta":
                    held = answer.flush() if answer is not None else ""
                    if held:
                        yield LLMChunk(text=held)
                    usage = payload.get("usage") or {}
                    reason = (payload.get("delta") or {}).get("stop_reason")
                    yield LLMChunk(
                        tokens=TokenCount(usage.get("input_tokens", prompt_tokens), usage.get("output_tokens")),
                        finish_reason=_finish(reason, called=bool(blocks.tools)),
                    )
                elif kind == "message_stop":
                    return
                elif kind == "error":
                    error = payload.get("error") or {}
                    raise self._error(None, json.dumps({"error": error}))
                # `ping` and unknown future events carry nothing we need.


class _Blocks:
    """Content-block events of one stream, turned into chunks."""

    def __init__(self, answer: _Answer | None) -> None:
        self.answer = answer
        self.tools: dict[int, int] = {}  # content block index -> tool call ordinal (the caller's tools only)
        self.argued: set[int] = set()  # tool calls that received argument text

    def event(self, kind: str, payload: dict[str, Any]) -> LLMChunk | None:
        if self.answer is not None:
            taken = _answer_event(kind, payload, self.answer)
            if taken is not None:
                return taken if taken.text else None
        index = int(payload.get("index", 0))
        if kind == "content_block_start":
            block = payload.get("content_block") or {}
            if block.get("type") == "tool_use":
                ordinal = self.tools.setdefault(index, len(self.tools))
                return LLMChunk(tool_calls=[ToolCallDelta(ordinal, id=block.get("id"), name=block.get("name"))])
            if block.get("type") == "text" and block.get("text"):
                return LLMChunk(text=block["text"])
            return None
        if kind == "content_block_delta":
            chunk = self._delta(index, payload.get("delta") or {})
            if chunk is not None:
                self.argued.update(d.index for d in chunk.tool_calls if d.arguments)
            return chunk
        ordinal = self.tools.get(index)
        if ordinal is not None and ordinal not in self.argued:
            # A call without parameters streams no JSON at all; callers expect an object.
            self.argued.add(ordinal)
            return LLMChunk(tool_calls=[ToolCallDelta(ordinal, arguments="{}")])
        return None

    def _delta(self, index: int, delta: dict[str, Any]) -> LLMChunk | None:
        kind = delta.get("type")
        if kind == "text_delta":
            return LLMChunk(text=delta.get("text", ""))
        if kind == "thinking_delta":
            return LLMChunk(reasoning=delta.get("thinking", ""))
        if kind == "input_json_delta":
            ordinal = self.tools.setdefault(index, len(self.tools))
            return LLMChunk(tool_calls=[ToolCallDelta(ordinal, arguments=delta.get("partial_json", ""))])
        return None  # signature_delta, citations_delta: nothing to show


def _finish(stop_reason: str | None, *, called: bool) -> str:
    """The finish reason; an answer tool that was the only call finished the answer, not a tool turn."""
    reason = _STOP_REASONS.get(stop_reason or "end_turn", "stop")
    return "stop" if reason == "tool_calls" and not called else reason


def _answer_event(kind: str, payload: dict[str, Any], answer: _Answer) -> LLMChunk | None:
    """Handle a content-block event of a structured call: a chunk (maybe empty) when it was taken,
    None when it belongs to one of the caller's tools or is thinking, for the normal path."""
    index = int(payload.get("index", 0))
    if kind == "content_block_start":
        block = payload.get("content_block") or {}
        if block.get("type") == "tool_use" and block.get("name") == answer.name:
            # Only the first answer call counts: two JSON objects in a row would be no JSON at all.
            (answer.blocks if not answer.blocks else answer.extra).add(index)
            answer.held.clear()
            return LLMChunk()
        if block.get("type") == "text":
            answer.text(block.get("text") or "")
            return LLMChunk()
        return None
    if index in answer.extra:
        return LLMChunk()
    if kind == "content_block_delta":
        delta = payload.get("delta") or {}
        if index in answer.blocks and delta.get("type") == "input_json_delta":
            answer.filled.add(index)
            return LLMChunk(text=delta.get("partial_json", ""))
        if delta.get("type") == "text_delta":
            answer.text(delta.get("text", ""))
            return LLMChunk()
        return None
    if index in answer.blocks:
        if index not in answer.filled:
            # An empty object streams no JSON at all; the answer is still an object.
            answer.filled.add(index)
            return LLMChunk(text="{}")
        return LLMChunk()
    return None
