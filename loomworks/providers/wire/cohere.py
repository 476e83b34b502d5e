"""Cohere API v2: chat (`/v2/chat`), embeddings (`/v2/embed`) and rerank (`/v2/rerank`), Bearer auth.

Chat messages are close to OpenAI's (`system`/`user`/`assistant`/`tool`, `tool_calls` with JSON string
arguments, `image_url` parts); an assistant's text next to its tool calls travels as `tool_plan`.
Sampling names differ (`p`, `k`, `stop_sequences`); `response_format` becomes `{"type":
"json_object", "json_schema"?}`. Streams are SSE events named by their `type`: `message-start`,
`content-start`/`content-delta`/`content-end`, `tool-plan-delta`, `tool-call-start`/`-delta`/`-end`,
`citation-*`, and `message-end`, the terminator, with `finish_reason` and `usage` (`billed_units`,
the billed counts, preferred over `tokens`). A stream without `message-end` raises
`InvokeConnectionError`. The tool plan and `thinking` content are reported as reasoning.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import httpx

from loomworks.providers.base import (
    Credentials,
    EmbeddingResult,
    LLMChunk,
    LLMRequest,
    RerankHit,
    TokenCount,
    ToolCallDelta,
    WireAdapter,
)
from loomworks.providers.errors import (
    CredentialsValidateFailedError,
    InvokeAuthorizationError,
    InvokeConnectionError,
    InvokeError,
    InvokeServerUnavailableError,
    error_for_status,
)
from loomworks.providers.wire._sse import sse_events

DEFAULT_BASE_URL = "https://api.cohere.com"
EMBED_BATCH = 96  # the API's limit of texts per embed call
_TIMEOUT = httpx.Timeout(300.0, connect=10.0)
_PARAMS = {
    "temperature": "temperature",
    "top_p": "p",
    "p": "p",
    "top_k": "k",
    "k": "k",
    "max_tokens": "max_tokens",
    "presence_penalty": "presence_penalty",
    "frequency_penalty": "frequency_penalty",
    "seed": "seed",
}
_FINISH = {
    "COMPLETE": "stop",
    "STOP_SEQUENCE": "stop",
    "MAX_TOKENS": "length",
    "TOOL_CALL": "tool_calls",
    "ERROR_TOXIC": "content_filter",
}


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return "" if content is None else str(content)


def _user_content(content: Any) -> Any:
    if not isinstance(content, list):
        return _text_of(content)
    parts: list[dict[str, Any]] = []
    for part in content:
        if part.get("type") == "text":
            parts.append({"type": "text", "text": part.get("text", "")})
        elif part.get("type") == "image_url":
            image = part.get("image_url") or {}
            url = image.get("url", "") if isinstance(image, dict) else str(image)
            parts.append({"type": "image_url", "image_url": {"url": url}})
    return parts


def convert_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI-style messages as Cohere v2 chat messages."""
    out: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role == "assistant":
            item: dict[str, Any] = {"role": "assistant"}
            text = _text_of(message.get("content"))
            if message.get("tool_calls"):
                item["tool_calls"] = [
                    {
                        "id": call.get("id"),
                        "type": "function",
                        "function": {
                            "name": (call.get("function") or {}).get("name"),
                            "arguments": (call.get("function") or {}).get("arguments") or "{}",
                        },
                    }
                    for call in message["tool_calls"]
                ]
                if text:
                    item["tool_plan"] = text
            else:
                item["content"] = text
            out.append(item)
        elif role == "tool":
            out.append(
                {
                    "role": "tool",
                    "tool_call_id": message.get("tool_call_id"),
                    "content": [{"type": "document", "document": {"data": _text_of(message.get("content"))}}],
                }
            )
        elif role == "system":
            out.append({"role": "system", "content": _text_of(message.get("content"))})
        else:
            out.append({"role": "user", "content": _user_content(message.get("content"))})
    return out


# The stream's last event: the reader drains the body before yielding it, so the pooled
# connection goes back to the pool.
_END_EVENT = "message-end"


class CohereAdapter(WireAdapter, wire="cohere"):
    """Cohere Command models, Embed and Rerank."""

    def _url(self, credentials: Credentials, path: str) -> str:
        base = credentials.base_url or credentials.get("base_url") or self.spec.get("base_url") or DEFAULT_BASE_URL
        base = str(base).rstrip("/")
        for suffix in ("/v2", "/v1"):
            base = base.removesuffix(suffix)
        return base + path

    def _headers(self, credentials: Credentials) -> dict[str, str]:
        key = credentials.api_key or str(credentials.get("api_key", ""))
        return {"Authorization": f"Bearer {key}", "Accept": "application/json"}

    def build_body(self, request: LLMRequest) -> dict[str, Any]:
        """The JSON body of a v2 chat call for `request`."""
        body: dict[str, Any] = {"model": request.model, "messages": convert_messages(request.messages)}
        for ours, theirs in _PARAMS.items():
            if request.parameters.get(ours) is not None:
                body[theirs] = request.parameters[ours]
        if request.stop:
            body["stop_sequences"] = list(request.stop)
        fmt = request.parameters.get("response_format")
        if fmt in ("json_object", "json_schema", "JSON"):
            body["response_format"] = {"type": "json_object"}
            schema = request.parameters.get("json_schema")
            if fmt == "json_schema" and schema:
                try:
                    schema = json.loads(schema) if isinstance(schema, str) else schema
                except json.JSONDecodeError as exc:
                    raise error_for_status(
                        400, f"[{self.provider}] The json_schema parameter is not valid JSON."
                    ) from exc
                if isinstance(schema, dict) and isinstance(schema.get("schema"), dict):
                    schema = schema["schema"]
                body["response_format"]["json_schema"] = schema
        if request.tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
                }
                for t in request.tools
            ]
        body["stream"] = request.stream
        return body

    def _error(self, status: int, text: str) -> InvokeError:
        message = text
        try:
            payload = json.loads(text)
        except json.JSONDecodeError:
            payload = None
        if isinstance(payload, dict) and payload.get("message"):
            message = str(payload["message"])
        message = f"[{self.provider}] {message or 'HTTP ' + str(status)}"
        if status == 498:  # Cohere's "invalid token"
            return InvokeAuthorizationError(message)
        return error_for_status(status, message)

    async def stream_llm(self, request: LLMRequest, credentials: Credentials) -> AsyncIterator[LLMChunk]:
        """Call v2 chat; yields text, plan/thinking (as reasoning) and tool-call deltas, then usage."""
        url = self._url(credentials, "/v2/chat")
        body = self.build_body(request)
        try:
            if not request.stream:
                yield _whole(await self._post(url, credentials, body), self.provider)
                return
            headers = {**self._headers(credentials), "Accept": "text/event-stream"}
            async with self.http.stream("POST", url, json=body, headers=headers, timeout=_TIMEOUT) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise self._error(response.status_code, response.text)
                async with aclosing(
                    sse_events(response, provider=self.provider, end_event=_END_EVENT, required=True)
                ) as events:
                    async for event, data in events:
                        chunk = self._event(event, data)
                        if chunk is not None:
                            yield chunk
                            if chunk.finish_reason:
                                return
        except httpx.RequestError as exc:
            raise InvokeConnectionError(f"[{self.provider}] Cannot reach {url}: {exc}") from exc

    def _event(self, event: str, data: str) -> LLMChunk | None:
        try:
            payload = json.loads(data)
        except json.JSONDecodeError as exc:
            raise InvokeConnectionError(f"[{self.provider}] Malformed stream event: {data[:200]!r}") from exc
        if not isinstance(payload, dict):
            raise InvokeConnectionError(f"[{self.provider}] Malformed stream event: {data[:200]!r}")
        kind = payload.get("type") or event
        message = (payload.get("delta") or {}).get("message") or {}
        index = int(payload.get("index") or 0)
        if kind == "content-delta":
            content = message.get("content") or {}
            return LLMChunk(text=content.get("text") or "", reasoning=content.get("thinking") or "")
        if kind == "tool-plan-delta":
            return LLMChunk(reasoning=message.get("tool_plan") or "")
        if kind == "tool-call-start":
            call = message.get("tool_calls") or {}
            function = call.get("function") or {}
            delta = ToolCallDelta(
                index, id=call.get("id"), name=function.get("name"), arguments=function.get("arguments") or ""
            )
            return LLMChunk(tool_calls=[delta])
        if kind == "tool-call-delta":
            function = (message.get("tool_calls") or {}).get("function") or {}
            return LLMChunk(tool_calls=[ToolCallDelta(index, arguments=function.get("arguments") or "")])
        if kind == "message-end":
            delta = payload.get("delta") or {}
            return _finish(delta.get("finish_reason"), delta.get("usage"), self.provider)
        return None  # message-start, content-start/-end, tool-call-end, citation-*: nothing to show

    async def embed(
        self, model: str, texts: list[str], credentials: Credentials, *, input_type: str = "document"
    ) -> EmbeddingResult:
        """Embed texts (`search_document` / `search_query`), float vectors, 96 texts per call."""
        vectors: list[list[float]] = []
        tokens = 0
        for start in range(0, len(texts), EMBED_BATCH):
            body = {
                "model": model,
                "texts": texts[start : start + EMBED_BATCH],
                "input_type": "search_query" if input_type == "query" else "search_document",
                "embedding_types": ["float"],
                "truncate": "END",
            }
            payload = await self._post(self._url(credentials, "/v2/embed"), credentials, body)
            vectors += [list(v) for v in (payload.get("embeddings") or {}).get("float") or []]
            tokens += int(((payload.get("meta") or {}).get("billed_units") or {}).get("input_tokens") or 0)
        return EmbeddingResult(vectors=vectors, prompt_tokens=tokens)

    async def rerank(
        self, model: str, query: str, docs: list[str], credentials: Credentials, *, top_n: int | None = None
    ) -> list[RerankHit]:
        """Rerank with `/v2/rerank`; hits by descending `relevance_score`."""
        if not docs:
            return []
        body: dict[str, Any] = {"model": model, "query": query, "documents": docs}
        if top_n is not None:
            body["top_n"] = top_n
        payload = await self._post(self._url(credentials, "/v2/rerank"), credentials, body)
        hits = []
        for item in payload.get("results") or []:
            index = int(item.get("index", -1))
            if not 0 <= index < len(docs):
                raise InvokeServerUnavailableError(f"[{self.provider}] Rerank answered an unknown index {index}.")
            hits.append(RerankHit(index=index, score=float(item.get("relevance_score", 0.0)), text=docs[index]))
        hits.sort(key=lambda hit: hit.score, reverse=True)
        return hits

    async def validate_credentials(self, credentials: Credentials, *, model_type: str, model: str | None) -> None:
        """The cheapest real call of the model type; a refused key names the `api_key` field."""
        try:
            await super().validate_credentials(credentials, model_type=model_type, model=model)
        except CredentialsValidateFailedError as exc:
            if isinstance(exc.__cause__, InvokeAuthorizationError):
                raise CredentialsValidateFailedError(exc.message, params="api_key") from exc.__cause__
            raise

    async def _post(self, url: str, credentials: Credentials, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self.http.post(url, json=body, headers=self._headers(credentials), timeout=_TIMEOUT)
        except httpx.RequestError as exc:
            raise InvokeConnectionError(f"[{self.provider}] Cannot reach {url}: {exc}") from exc
        if response.status_code >= 400:
            raise self._error(response.status_code, response.text)
        try:
            payload = response.json()
        except ValueError as exc:
            raise InvokeConnectionError(f"[{self.provider}] The answer is not JSON: {response.text[:200]!r}") from exc
        if not isinstance(payload, dict):
            raise InvokeConnectionError(f"[{self.provider}] Unexpected answer: {response.text[:200]!r}")
        return payload


def _finish(reason: Any, usage: Any, provider: str) -> LLMChunk:
    if reason in ("ERROR", "TIMEOUT"):
        raise InvokeServerUnavailableError(f"[{provider}] The model stopped with {reason}.")
    usage = usage or {}
    counts = usage.get("billed_units") or usage.get("tokens") or {}
    return LLMChunk(
        tokens=TokenCount(counts.get("input_tokens"), counts.get("output_tokens")),
        finish_reason=_FINISH.get(str(reason), "stop"),
    )


def _whole(payload: dict[str, Any], provider: str) -> LLMChunk:
    message = payload.get("message") or {}
    final = _finish(payload.get("finish_reason"), payload.get("usage"), provider)
    for item in message.get("content") or []:
        if item.get("type") == "text":
            final.text += item.get("text", "")
        elif item.get("type") == "thinking":
            final.reasoning += item.get("thinking", "")
    if message.get("tool_plan"):
        final.reasoning += message["tool_plan"]
    for index, call in enumerate(message.get("tool_calls") or []):
        function = call.get("function") or {}
        final.tool_calls.append(
            ToolCallDelta(
                index, id=call.get("id"), name=function.get("name"), arguments=function.get("arguments") or ""
            )
        )
    return final
