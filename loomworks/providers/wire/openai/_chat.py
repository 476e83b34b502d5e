"""Chat completions and legacy completions, blocking or streamed (`stream_options.include_usage`)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

from loomworks.providers.base import Credentials, LLMChunk, LLMRequest, TokenCount, ToolCallDelta
from loomworks.providers.errors import (
    InvokeBadRequestError,
    InvokeConnectionError,
    InvokeError,
    InvokeRateLimitError,
    InvokeServerUnavailableError,
)
from loomworks.providers.wire._sse import sse_events
from loomworks.providers.wire.openai._base import OpenAIBase

# Sampling knobs that OpenAI's reasoning models reject (they only accept the defaults).
SAMPLING = ("temperature", "top_p", "presence_penalty", "frequency_penalty")
REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")


def is_reasoning_model(name: str) -> bool:
    """True for OpenAI's reasoning models (o1, o3, o4-mini, gpt-5…): `max_completion_tokens`, no sampling knobs."""
    return name.lower().rsplit("/", 1)[-1].startswith(REASONING_PREFIXES)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def completion_prompt(messages: list[dict[str, Any]]) -> str:
    """The prompt of a legacy completion call: a lone message as is, a conversation as a transcript."""
    if len(messages) == 1:
        return _text_of(messages[0].get("content"))
    lines = []
    for message in messages:
        role = str(message.get("role", "user"))
        lines.append(f"{role.capitalize()}: {_text_of(message.get('content'))}")
    return "\n\n".join(lines) + "\n\nAssistant: "


def response_format(parameters: dict[str, Any], provider: str) -> dict[str, Any] | None:
    """OpenAI's `response_format` from the `response_format` / `json_schema` parameters."""
    kind = parameters.get("response_format")
    if not kind or kind == "text":
        return {"type": "text"} if kind == "text" else None
    if kind == "json_object":
        return {"type": "json_object"}
    raw = parameters.get("json_schema")
    if raw in (None, ""):
        raise InvokeBadRequestError(f"[{provider}] response_format json_schema needs the json_schema parameter.")
    try:
        schema = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError as exc:
        raise InvokeBadRequestError(f"[{provider}] json_schema is not valid JSON: {exc}") from exc
    if not isinstance(schema, dict):
        raise InvokeBadRequestError(f"[{provider}] json_schema must be a JSON object.")
    if isinstance(schema.get("schema"), dict):
        # Dify's form: the whole `{name, description, schema, strict}` wrapper.
        spec = {"name": str(schema.get("name") or "response"), "schema": schema["schema"]}
        if schema.get("description"):
            spec["description"] = schema["description"]
        spec["strict"] = bool(schema.get("strict", False))
    else:
        spec = {"name": "response", "schema": schema, "strict": False}
    return {"type": "json_schema", "json_schema": spec}


def _tokens(usage: Any) -> TokenCount | None:
    if not isinstance(usage, dict):
        return None
    return TokenCount(prompt_tokens=usage.get("prompt_tokens"), completion_tokens=usage.get("completion_tokens"))


def _tool_deltas(raw: Any) -> list[ToolCallDelta]:
    deltas = []
    for position, call in enumerate(raw or []):
        function = call.get("function") or {}
        deltas.append(
            ToolCallDelta(
                index=int(call.get("index", position)),
                id=call.get("id") or None,
                name=function.get("name") or None,
                arguments=function.get("arguments") or "",
            )
        )
    return deltas


class ChatMixin(OpenAIBase):
    """The `llm` model type: `/chat/completions`, and `/completions` for completion-mode models."""

    def reasoning(self, model: str, credentials: Credentials) -> bool:  # noqa: ARG002 - Azure reads credentials
        return is_reasoning_model(model)

    def chat_body(self, request: LLMRequest, credentials: Credentials) -> dict[str, Any]:
        """The `/chat/completions` body of a request."""
        params = {k: v for k, v in request.parameters.items() if v is not None}
        reasoning = self.reasoning(request.model, credentials)
        body: dict[str, Any] = {"model": self.wire_model(request.model, credentials)}
        body["messages"] = self.chat_messages(request.messages, reasoning, request.model)
        fmt = response_format(params, self.provider)
        params.pop("response_format", None)
        params.pop("json_schema", None)
        if fmt is not None:
            body["response_format"] = fmt
        if reasoning:
            for name in SAMPLING:
                params.pop(name, None)
            if "max_tokens" in params:
                params["max_completion_tokens"] = params.pop("max_tokens")
        body.update(params)
        if request.stop:
            body["stop"] = request.stop
        if request.tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
                }
                for t in request.tools
            ]
        return self._user_and_stream(body, request, credentials)

    def _user_and_stream(self, body: dict[str, Any], request: LLMRequest, credentials: Credentials) -> dict[str, Any]:
        """The end of both bodies: the end user, and `stream` (asking for the usage chunk where the server may)."""
        if request.user:
            body["user"] = request.user
        if request.stream:
            body["stream"] = True
            if self.stream_usage(credentials):
                body["stream_options"] = {"include_usage": True}
        return body

    def stream_usage(self, credentials: Credentials) -> bool:  # noqa: ARG002 - Azure reads the API version
        """Whether to ask for the usage chunk; YAML `stream_usage: false` for servers that refuse
        `stream_options` (Mistral answers 422 to it, and reports usage anyway)."""
        return self.spec.get("stream_usage", True) is not False

    def chat_messages(self, messages: list[dict[str, Any]], reasoning: bool, model: str) -> list[dict[str, Any]]:
        """Messages as the vendor takes them (already OpenAI-style; early o1 models refuse system messages)."""
        if reasoning and model.startswith(("o1-mini", "o1-preview")):
            return [{**m, "role": "user"} if m.get("role") == "system" else m for m in messages]
        return messages

    def completion_body(self, request: LLMRequest, credentials: Credentials) -> dict[str, Any]:
        """The legacy `/completions` body of a completion-mode request."""
        params = {
            k: v for k, v in request.parameters.items() if k not in ("response_format", "json_schema") and v is not None
        }
        body: dict[str, Any] = {
            "model": self.wire_model(request.model, credentials),
            "prompt": completion_prompt(request.messages),
            **params,
        }
        if request.stop:
            body["stop"] = request.stop
        return self._user_and_stream(body, request, credentials)

    async def stream_llm(self, request: LLMRequest, credentials: Credentials) -> AsyncIterator[LLMChunk]:
        """Chat (or, for `mode == "completion"`, legacy completion) call, streamed or blocking."""
        completion = request.mode == "completion"
        if completion:
            url = self.url(credentials, "/completions", request.model)
            body = self.completion_body(request, credentials)
        else:
            url = self.url(credentials, "/chat/completions", request.model)
            body = self.chat_body(request, credentials)
        if not request.stream:
            yield self._whole_answer(await self.post_json(url, credentials, body), completion)
            return
        async with self.open_stream(url, credentials, body) as response:
            if response.headers.get("content-type", "").startswith("application/json"):
                # Some compatible servers ignore `stream` and answer in one piece.
                await response.aread()
                try:
                    whole = response.json()
                except ValueError as exc:
                    raise InvokeConnectionError(f"[{self.provider}] The answer is not JSON: {exc}") from exc
                yield self._whole_answer(whole if isinstance(whole, dict) else {}, completion)
                return
            events = sse_events(response, provider=self.provider, terminator="[DONE]", required=True)
            async with aclosing(events):
                async for _, data in events:
                    chunk = self._parse_chunk(data, completion)
                    if chunk is not None:
                        yield chunk

    def _whole_answer(self, data: dict[str, Any], completion: bool) -> LLMChunk:
        if data.get("error"):
            raise self._stream_error(data["error"])
        choices = data.get("choices") or [{}]
        choice = choices[0]
        if completion:
            text, reasoning, calls = str(choice.get("text") or ""), "", []
        else:
            message = choice.get("message") or {}
            text = str(message.get("content") or "")
            reasoning = str(message.get("reasoning_content") or "")
            calls = _tool_deltas(message.get("tool_calls"))
        return LLMChunk(
            text=text,
            reasoning=reasoning,
            tool_calls=calls,
            tokens=_tokens(data.get("usage")),
            finish_reason=choice.get("finish_reason") or "stop",
        )

    def _parse_chunk(self, data: str, completion: bool) -> LLMChunk | None:
        try:
            payload = json.loads(data)
        except ValueError as exc:
            raise InvokeConnectionError(f"[{self.provider}] Malformed stream chunk: {data[:200]!r}") from exc
        if not isinstance(payload, dict):
            raise InvokeConnectionError(f"[{self.provider}] Malformed stream chunk: {data[:200]!r}")
        if payload.get("error"):
            raise self._stream_error(payload["error"])
        tokens = _tokens(payload.get("usage"))
        choices = payload.get("choices") or []
        if not choices:
            # The include_usage chunk (and Azure's prompt-filter chunk) has no choices.
            return LLMChunk(tokens=tokens) if tokens else None
        choice = choices[0]
        finish = choice.get("finish_reason") or None
        if completion:
            chunk = LLMChunk(text=str(choice.get("text") or ""), finish_reason=finish, tokens=tokens)
        else:
            delta = choice.get("delta") or {}
            chunk = LLMChunk(
                text=str(delta.get("content") or ""),
                reasoning=str(delta.get("reasoning_content") or delta.get("reasoning") or ""),
                tool_calls=_tool_deltas(delta.get("tool_calls")),
                finish_reason=finish,
                tokens=tokens,
            )
        if not (chunk.text or chunk.reasoning or chunk.tool_calls or chunk.finish_reason or chunk.tokens):
            return None
        return chunk

    def _stream_error(self, error: Any) -> InvokeError:
        """An error object sent inside a 200 answer (OpenAI does so mid-stream)."""
        if not isinstance(error, dict):
            return InvokeServerUnavailableError(f"[{self.provider}] {error}")
        message = f"[{self.provider}] {error.get('message') or error}"
        kind = f"{error.get('type') or ''} {error.get('code') or ''}"
        if "rate_limit" in kind or "insufficient_quota" in kind:
            return InvokeRateLimitError(message)
        if "invalid_request" in kind:
            return InvokeBadRequestError(message)
        return InvokeServerUnavailableError(message)
