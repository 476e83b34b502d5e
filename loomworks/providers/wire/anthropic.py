"""Anthropic Messages API (`POST {base}/v1/messages`), blocking and streamed.

Translation from the OpenAI-style request of `base.LLMRequest`:

- `system` messages become the top-level `system` text (Anthropic has no system role);
- image parts become `image` blocks: data URLs as a `base64` source, https URLs as a `url` source;
- assistant `tool_calls` become `tool_use` blocks; `role: tool` answers become `tool_result` blocks of
  a user message; consecutive messages of one role are merged, because the API wants user and
  assistant turns to alternate;
- `max_tokens` is required by the API: the request's value, else the model's rule default, else 4096;
- `thinking` (bool) and `thinking_budget` parameters switch on extended thinking, streamed back as
  `reasoning`.

Streaming is SSE with named events (`message_start`, `content_block_start`, `content_block_delta`,
`content_block_stop`, `message_delta`, `message_stop`, `ping`, `error`). `message_stop` is the
terminator: a stream that ends before it raises `InvokeConnectionError`. Finish reasons are reported
in the OpenAI vocabulary (`stop`, `length`, `tool_calls`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import httpx

from loomworks.providers.base import Credentials, LLMChunk, LLMRequest, TokenCount, ToolCallDelta, WireAdapter
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
        params = request.parameters
        system, messages = convert_messages(request.messages, self.provider)
        body: dict[str, Any] = {
            "model": request.model,
            "max_tokens": int(params.get("max_tokens") or self._default_max_tokens(request.model)),
            "messages": messages,
        }
        if system:
            body["system"] = system
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
        if request.tools:
            body["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters} for t in request.tools
            ]
        if request.user:
            body["metadata"] = {"user_id": request.user}
        body["stream"] = request.stream
        return body

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
        """Call the Messages API; yields text, reasoning and tool-call deltas, then usage and finish."""
        url = f"{self._base_url(credentials)}/v1/messages"
        body = self.build_body(request)
        headers = self._headers(credentials)
        try:
            if not request.stream:
                response = await self.http.post(url, json=body, headers=headers, timeout=_TIMEOUT)
                if response.status_code >= 400:
                    raise self._error(response.status_code, response.text)
                yield self._whole(response)
                return
            async with self.http.stream("POST", url, json=body, headers=headers, timeout=_TIMEOUT) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise self._error(response.status_code, response.text)
                async for chunk in self._events(response):
                    yield chunk
        except httpx.RequestError as exc:
            raise InvokeConnectionError(f"[{self.provider}] Cannot reach {url}: {exc}") from exc

    def _whole(self, response: httpx.Response) -> LLMChunk:
        try:
            payload = response.json()
        except ValueError as exc:
            raise InvokeConnectionError(f"[{self.provider}] The answer is not JSON: {response.text[:200]!r}") from exc
        chunk = LLMChunk()
        for block in payload.get("content") or []:
            kind = block.get("type")
            if kind == "text":
                chunk.text += block.get("text", "")
            elif kind == "thinking":
                chunk.reasoning += block.get("thinking", "")
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
        chunk.finish_reason = _STOP_REASONS.get(payload.get("stop_reason") or "end_turn", "stop")
        return chunk

    async def _events(self, response: httpx.Response) -> AsyncIterator[LLMChunk]:
        prompt_tokens: int | None = None
        tools: dict[int, int] = {}  # content block index -> tool call ordinal
        argued: set[int] = set()  # tool blocks that received argument text
        async with aclosing(
            sse_events(response, provider=self.provider, end_event=_END_EVENT, required=True)
        ) as events:
            async for event, data in events:
                payload = self._decode(data)
                kind = payload.get("type") or event
                if kind == "message_start":
                    usage = (payload.get("message") or {}).get("usage") or {}
                    prompt_tokens = usage.get("input_tokens")
                elif kind == "content_block_start":
                    block = payload.get("content_block") or {}
                    if block.get("type") == "tool_use":
                        ordinal = tools.setdefault(int(payload.get("index", 0)), len(tools))
                        yield LLMChunk(tool_calls=[ToolCallDelta(ordinal, id=block.get("id"), name=block.get("name"))])
                    elif block.get("type") == "text" and block.get("text"):
                        yield LLMChunk(text=block["text"])
                elif kind == "content_block_delta":
                    chunk = self._delta(payload, tools)
                    if chunk is not None:
                        argued.update(d.index for d in chunk.tool_calls if d.arguments)
                        yield chunk
                elif kind == "content_block_stop":
                    ordinal = tools.get(int(payload.get("index", 0)))
                    if ordinal is not None and ordinal not in argued:
                        # A call without parameters streams no JSON at all; callers expect an object.
                        argued.add(ordinal)
                        yield LLMChunk(tool_calls=[ToolCallDelta(ordinal, arguments="{}")])
                elif kind == "message_delta":
                    usage = payload.get("usage") or {}
                    reason = (payload.get("delta") or {}).get("stop_reason") or "end_turn"
                    yield LLMChunk(
                        tokens=TokenCount(usage.get("input_tokens", prompt_tokens), usage.get("output_tokens")),
                        finish_reason=_STOP_REASONS.get(reason, "stop"),
                    )
                elif kind == "message_stop":
                    return
                elif kind == "error":
                    error = payload.get("error") or {}
                    raise self._error(None, json.dumps({"error": error}))
                # `ping` and unknown future events carry nothing we need.

    @staticmethod
    def _delta(payload: dict[str, Any], tools: dict[int, int]) -> LLMChunk | None:
        delta = payload.get("delta") or {}
        kind = delta.get("type")
        if kind == "text_delta":
            return LLMChunk(text=delta.get("text", ""))
        if kind == "thinking_delta":
            return LLMChunk(reasoning=delta.get("thinking", ""))
        if kind == "input_json_delta":
            ordinal = tools.setdefault(int(payload.get("index", 0)), len(tools))
            return LLMChunk(tool_calls=[ToolCallDelta(ordinal, arguments=delta.get("partial_json", ""))])
        return None  # signature_delta, citations_delta: nothing to show
