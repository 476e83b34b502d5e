"""Ollama's native API: `/api/chat`, `/api/generate` (completion mode), `/api/embed`, `/api/tags`.

Streams are NDJSON: one JSON object per line, the last with `"done": true` plus the token counts
(`prompt_eval_count`, `eval_count`) and `done_reason`. A stream that ends before that line raises
`InvokeConnectionError`; an `{"error": …}` line raises `InvokeServerUnavailableError`. Ollama sends
tool calls whole, with `arguments` as a JSON object: they are serialised to a JSON string (and given
an id when the server has none). Images travel as a list of base64 strings (`images`) on the
message, so only data URLs can be sent. Sampling parameters go in `options` (`max_tokens` is
`num_predict`; the custom model's `context_size` credential is `num_ctx`); `response_format` becomes
`format` (`"json"` or a JSON Schema). Ollama has no API key.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx

from loomworks.providers.base import (
    Credentials,
    EmbeddingResult,
    LLMChunk,
    LLMRequest,
    ModelInfo,
    TokenCount,
    ToolCallDelta,
    WireAdapter,
)
from loomworks.providers.errors import (
    CredentialsValidateFailedError,
    InvokeBadRequestError,
    InvokeConnectionError,
    InvokeError,
    InvokeServerUnavailableError,
    error_for_status,
)

DEFAULT_BASE_URL = "http://localhost:11434"
_TIMEOUT = httpx.Timeout(300.0, connect=10.0)
# Names our parameter rules use that are Ollama `options` under another name.
_RENAMED = {"max_tokens": "num_predict"}
# Ollama `options` a model's parameter rules may carry under their own names (Dify's Ollama rules).
_OPTIONS = {
    "temperature",
    "top_p",
    "top_k",
    "min_p",
    "num_predict",
    "num_ctx",
    "repeat_penalty",
    "repeat_last_n",
    "presence_penalty",
    "frequency_penalty",
    "seed",
    "mirostat",
    "mirostat_eta",
    "mirostat_tau",
    "num_gpu",
    "num_thread",
    "tfs_z",
}


def _int(value: Any, default: int) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return "" if content is None else str(content)


def _images(content: Any, provider: str) -> list[str]:
    images: list[str] = []
    for part in content if isinstance(content, list) else []:
        if isinstance(part, dict) and part.get("type") == "image_url":
            image = part.get("image_url") or {}
            url = image.get("url", "") if isinstance(image, dict) else str(image)
            if not url.startswith("data:"):
                raise InvokeBadRequestError(f"[{provider}] Ollama takes images as data (base64) URLs only.")
            images.append(url.partition(",")[2])
    return images


def _arguments(call: dict[str, Any], provider: str) -> Any:
    arguments = (call.get("function") or {}).get("arguments") or "{}"
    if not isinstance(arguments, str):
        return arguments
    try:
        return json.loads(arguments)
    except json.JSONDecodeError as exc:
        raise InvokeBadRequestError(
            f"[{provider}] The arguments of tool call {call.get('id')} are not valid JSON."
        ) from exc


def convert_messages(messages: list[dict[str, Any]], provider: str = "ollama") -> list[dict[str, Any]]:
    """OpenAI-style messages as Ollama chat messages."""
    names: dict[str, str] = {}
    out: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role") or "user"
        item: dict[str, Any] = {"role": role, "content": _text_of(message.get("content"))}
        images = _images(message.get("content"), provider)
        if images:
            item["images"] = images
        if role == "assistant" and message.get("tool_calls"):
            calls = []
            for call in message["tool_calls"]:
                name = (call.get("function") or {}).get("name", "")
                names[str(call.get("id"))] = name
                calls.append({"function": {"name": name, "arguments": _arguments(call, provider)}})
            item["tool_calls"] = calls
        if role == "tool" and str(message.get("tool_call_id")) in names:
            item["tool_name"] = names[str(message.get("tool_call_id"))]
        out.append(item)
    return out


class OllamaAdapter(WireAdapter, wire="ollama"):
    """A local (or remote) Ollama server: chat and completion models, embeddings, the model list."""

    def _base_url(self, credentials: Credentials) -> str:
        base = credentials.base_url or credentials.get("base_url") or self.spec.get("base_url") or DEFAULT_BASE_URL
        return str(base).rstrip("/")

    def _options(self, request: LLMRequest, credentials: Credentials) -> dict[str, Any]:
        options: dict[str, Any] = {}
        for name, value in request.parameters.items():
            key = _RENAMED.get(name, name)
            if key in _OPTIONS and value is not None:
                options[key] = value
        context = _int(credentials.get("context_size"), 0)
        if "num_ctx" not in options and context > 0:
            options["num_ctx"] = context
        if request.stop:
            options["stop"] = list(request.stop)
        return options

    def build_body(self, request: LLMRequest, credentials: Credentials) -> dict[str, Any]:
        """The JSON body for `/api/chat` (chat mode) or `/api/generate` (completion mode)."""
        params = request.parameters
        body: dict[str, Any] = {"model": request.model, "stream": request.stream}
        if request.mode == "completion":
            system = "\n\n".join(_text_of(m.get("content")) for m in request.messages if m.get("role") == "system")
            others = [m for m in request.messages if m.get("role") != "system"]
            body["prompt"] = "\n\n".join(_text_of(m.get("content")) for m in others)
            if system:
                body["system"] = system
            images = [i for m in others for i in _images(m.get("content"), self.provider)]
            if images:
                body["images"] = images
        else:
            body["messages"] = convert_messages(request.messages, self.provider)
            if request.tools:
                body["tools"] = [
                    {
                        "type": "function",
                        "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
                    }
                    for t in request.tools
                ]
        options = self._options(request, credentials)
        if options:
            body["options"] = options
        fmt = params.get("response_format") or params.get("format")
        if fmt in ("json_object", "json", "JSON"):
            body["format"] = "json"
        elif fmt == "json_schema" and params.get("json_schema"):
            schema = params["json_schema"]
            try:
                schema = json.loads(schema) if isinstance(schema, str) else schema
            except json.JSONDecodeError as exc:
                raise InvokeBadRequestError(f"[{self.provider}] The json_schema parameter is not valid JSON.") from exc
            body["format"] = schema.get("schema", schema) if isinstance(schema, dict) else schema
        if params.get("think") is not None:
            body["think"] = bool(params["think"])
        if params.get("keep_alive"):
            body["keep_alive"] = params["keep_alive"]
        return body

    async def validate_credentials(self, credentials: Credentials, *, model_type: str, model: str | None) -> None:
        """The cheapest real call of the model type; a refused server names the `base_url` field."""
        try:
            await super().validate_credentials(credentials, model_type=model_type, model=model)
        except CredentialsValidateFailedError as exc:
            if isinstance(exc.__cause__, InvokeConnectionError):
                raise CredentialsValidateFailedError(exc.message, params="base_url") from exc.__cause__
            raise

    def _error(self, status: int, text: str) -> InvokeError:
        message = text
        try:
            payload = json.loads(text)
        except json.JSONDecodeError:
            payload = None
        if isinstance(payload, dict) and payload.get("error"):
            message = str(payload["error"])
        return error_for_status(status, f"[{self.provider}] {message or 'HTTP ' + str(status)}")

    async def stream_llm(self, request: LLMRequest, credentials: Credentials) -> AsyncIterator[LLMChunk]:
        """Chat (or generate, in completion mode); yields deltas, then the counts of the `done` line."""
        path = "/api/generate" if request.mode == "completion" else "/api/chat"
        url = self._base_url(credentials) + path
        body = self.build_body(request, credentials)
        state = _Answer(self.provider, completion=request.mode == "completion")
        try:
            async with self.http.stream("POST", url, json=body, timeout=_TIMEOUT) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise self._error(response.status_code, response.text)
                async for line in response.aiter_lines():
                    if not line.strip():
                        continue
                    chunk = state.chunk(line)
                    if chunk is not None:
                        yield chunk
                    if state.done:
                        return
        except httpx.RequestError as exc:
            raise InvokeConnectionError(f"[{self.provider}] Cannot reach Ollama at {url}: {exc}") from exc
        raise InvokeConnectionError(f"[{self.provider}] The stream ended before the answer was complete.")

    async def embed(
        self,
        model: str,
        texts: list[str],
        credentials: Credentials,
        *,
        input_type: str = "document",  # noqa: ARG002 - Ollama embeds documents and queries alike
    ) -> EmbeddingResult:
        """Embed texts with `/api/embed` (`input` list → `embeddings`)."""
        body: dict[str, Any] = {"model": model, "input": texts}
        payload = await self._json("POST", "/api/embed", credentials, body)
        vectors = payload.get("embeddings")
        if not isinstance(vectors, list) or len(vectors) != len(texts):
            raise InvokeConnectionError(f"[{self.provider}] The embedding answer does not match the input.")
        return EmbeddingResult(vectors=[list(v) for v in vectors], prompt_tokens=payload.get("prompt_eval_count"))

    async def list_models(self, credentials: Credentials) -> list[ModelInfo]:
        """The models pulled on the server (`/api/tags`); embedding models are told apart by name/family."""
        payload = await self._json("GET", "/api/tags", credentials)
        models: list[ModelInfo] = []
        context = _int(credentials.get("context_size"), 4096)
        for item in payload.get("models") or []:
            name = str(item.get("model") or item.get("name") or "")
            details = item.get("details") or {}
            families = {str(f) for f in details.get("families") or [details.get("family") or ""]}
            embedding = "embed" in name or bool(families & {"bert", "nomic-bert"})
            models.append(
                ModelInfo(
                    provider=self.provider,
                    model=name,
                    model_type="text-embedding" if embedding else "llm",
                    context_size=context,
                    properties={k: details.get(k) for k in ("family", "parameter_size", "quantization_level")},
                )
            )
        return models

    async def _json(
        self, method: str, path: str, credentials: Credentials, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        url = self._base_url(credentials) + path
        try:
            response = await self.http.request(method, url, json=body, timeout=_TIMEOUT)
        except httpx.RequestError as exc:
            raise InvokeConnectionError(f"[{self.provider}] Cannot reach Ollama at {url}: {exc}") from exc
        if response.status_code >= 400:
            raise self._error(response.status_code, response.text)
        try:
            payload = response.json()
        except ValueError as exc:
            raise InvokeConnectionError(f"[{self.provider}] The answer is not JSON: {response.text[:200]!r}") from exc
        if not isinstance(payload, dict):
            raise InvokeConnectionError(f"[{self.provider}] Unexpected answer: {response.text[:200]!r}")
        return payload


class _Answer:
    """The state of one NDJSON answer: tool calls seen so far and whether `done` came."""

    def __init__(self, provider: str, *, completion: bool) -> None:
        self.provider = provider
        self.completion = completion
        self.calls = 0
        self.done = False

    def chunk(self, line: str) -> LLMChunk | None:
        try:
            payload = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvokeConnectionError(f"[{self.provider}] Malformed stream line: {line[:200]!r}") from exc
        if not isinstance(payload, dict):
            raise InvokeConnectionError(f"[{self.provider}] Malformed stream line: {line[:200]!r}")
        if payload.get("error"):
            raise InvokeServerUnavailableError(f"[{self.provider}] {payload['error']}")
        chunk = LLMChunk()
        if self.completion:
            chunk.text = str(payload.get("response") or "")
            chunk.reasoning = str(payload.get("thinking") or "")
        else:
            message = payload.get("message") or {}
            chunk.text = str(message.get("content") or "")
            chunk.reasoning = str(message.get("thinking") or "")
            for call in message.get("tool_calls") or []:
                function = call.get("function") or {}
                arguments = function.get("arguments")
                chunk.tool_calls.append(
                    ToolCallDelta(
                        index=self.calls,
                        id=call.get("id") or f"call_{uuid.uuid4().hex[:24]}",
                        name=function.get("name"),
                        arguments=arguments if isinstance(arguments, str) else json.dumps(arguments or {}),
                    )
                )
                self.calls += 1
        if payload.get("done"):
            self.done = True
            reason = payload.get("done_reason") or "stop"
            chunk.finish_reason = "length" if reason == "length" else ("tool_calls" if self.calls else "stop")
            chunk.tokens = TokenCount(payload.get("prompt_eval_count"), payload.get("eval_count"))
        if not (chunk.text or chunk.reasoning or chunk.tool_calls or chunk.finish_reason):
            return None
        return chunk
