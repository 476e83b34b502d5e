"""Google Gemini API (Google AI Studio, `generativelanguage.googleapis.com/v1beta`).

- chat: `POST /v1beta/models/{model}:generateContent`, streamed with `:streamGenerateContent?alt=sse`
  (SSE `data:` lines, each a whole `GenerateContentResponse`; no end marker: the last one carries a
  `finishReason`, and a stream that ends without one raises `InvokeConnectionError`);
- embeddings: `POST /v1beta/models/{model}:batchEmbedContents`;
- model list: `GET /v1beta/models` (paged).

The key travels in the `x-goog-api-key` header. Translation from the OpenAI-style request: system
messages become `systemInstruction`; `assistant` is the `model` role; images become `inline_data`
(data URLs) or `file_data` (other URLs); tool calls and answers become `functionCall` /
`functionResponse` parts (Gemini pairs them by function name, so answers are named after the call
they answer); JSON Schemas are reduced to the OpenAPI subset Gemini accepts. Parts flagged `thought`
are reasoning. A safety-blocked answer finishes with `content_filter`; a blocked prompt is an
`InvokeBadRequestError`. A bad API key comes back as HTTP 400 `API_KEY_INVALID` and is reported as
an authorization error.
"""

from __future__ import annotations

import json
import mimetypes
import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
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
    InvokeAuthorizationError,
    InvokeBadRequestError,
    InvokeConnectionError,
    InvokeError,
    error_for_status,
)
from loomworks.providers.wire._sse import sse_events

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
EMBED_BATCH = 100  # the API's limit of requests per batchEmbedContents call
_TIMEOUT = httpx.Timeout(300.0, connect=10.0)

_FINISH = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
}
# The keys of Gemini's `Schema` object (an OpenAPI 3.0 subset); anything else is refused by the API.
_SCHEMA_KEYS = {
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "example",
    "anyOf",
    "propertyOrdering",
    "default",
    "items",
    "minimum",
    "maximum",
}


def gemini_schema(schema: Any) -> Any:
    """A JSON Schema reduced to the keys Gemini's `Schema` accepts (recursively)."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key not in _SCHEMA_KEYS:
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: gemini_schema(sub) for name, sub in value.items()}
        elif key == "items":
            out[key] = gemini_schema(value)
        elif key == "anyOf" and isinstance(value, list):
            out[key] = [gemini_schema(sub) for sub in value]
        elif key == "type" and isinstance(value, list):
            # JSON Schema's ["string", "null"] is Gemini's nullable string.
            kinds = [k for k in value if k != "null"]
            out[key] = kinds[0] if kinds else "string"
            if "null" in value:
                out["nullable"] = True
        else:
            out[key] = value
    return out


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return "" if content is None else str(content)


def _image_part(url: str) -> dict[str, Any]:
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        return {"inline_data": {"mime_type": header[5:].split(";", 1)[0] or "image/png", "data": data}}
    mime = mimetypes.guess_type(url.split("?", 1)[0])[0] or "image/jpeg"
    return {"file_data": {"mime_type": mime, "file_uri": url}}


def _parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts: list[dict[str, Any]] = []
    for part in content or []:
        if part.get("type") == "text" and part.get("text"):
            parts.append({"text": part["text"]})
        elif part.get("type") == "image_url":
            image = part.get("image_url") or {}
            parts.append(_image_part(image.get("url", "") if isinstance(image, dict) else str(image)))
    return parts


def _function_response(message: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    text = _text_of(message.get("content"))
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = text
    call_id = str(message.get("tool_call_id") or "")
    response = value if isinstance(value, dict) else {"result": value}
    part: dict[str, Any] = {"name": names.get(call_id, call_id), "response": response}
    if call_id:
        part["id"] = call_id
    return {"functionResponse": part}


def convert_messages(messages: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """OpenAI-style messages as Gemini's `systemInstruction` and `contents`."""
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool call id -> function name
    for message in messages:
        role = message.get("role")
        if role == "system":
            system += _parts(_text_of(message.get("content")))
            continue
        if role == "assistant":
            role, parts = "model", _parts(message.get("content"))
            for call in message.get("tool_calls") or []:
                function = call.get("function") or {}
                names[str(call.get("id"))] = function.get("name", "")
                arguments = function.get("arguments") or "{}"
                try:
                    args = json.loads(arguments) if isinstance(arguments, str) else arguments
                except json.JSONDecodeError as exc:
                    raise InvokeBadRequestError(
                        f"[google] The arguments of tool call {call.get('id')} are not valid JSON."
                    ) from exc
                parts.append({"functionCall": {"id": call.get("id"), "name": function.get("name"), "args": args}})
        elif role == "tool":
            role, parts = "user", [_function_response(message, names)]
        else:
            role, parts = "user", _parts(message.get("content"))
        if not parts:
            continue
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    return ({"parts": system} if system else None), contents


class GeminiAdapter(WireAdapter, wire="gemini"):
    """Gemini chat (streamed), embeddings and the model list."""

    def _root(self, credentials: Credentials) -> str:
        base = str(credentials.base_url or self.spec.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        return (base[: -len("/v1beta")] if base.endswith("/v1beta") else base) + "/v1beta"

    def _headers(self, credentials: Credentials) -> dict[str, str]:
        return {"x-goog-api-key": credentials.api_key or str(credentials.get("google_api_key", ""))}

    @staticmethod
    def _model_path(model: str) -> str:
        return model if model.startswith(("models/", "tunedModels/")) else f"models/{model}"

    @staticmethod
    def _generation_config(request: LLMRequest) -> dict[str, Any]:
        params = request.parameters
        config: dict[str, Any] = {}
        for ours, theirs in (
            ("temperature", "temperature"),
            ("top_p", "topP"),
            ("top_k", "topK"),
            ("presence_penalty", "presencePenalty"),
            ("frequency_penalty", "frequencyPenalty"),
        ):
            if params.get(ours) is not None:
                config[theirs] = params[ours]
        max_tokens = params.get("max_output_tokens") or params.get("max_tokens")
        if max_tokens:
            config["maxOutputTokens"] = int(max_tokens)
        if request.stop:
            config["stopSequences"] = list(request.stop)
        response_format = params.get("response_format")
        if response_format in ("json_object", "json_schema", "JSON"):
            config["responseMimeType"] = "application/json"
            schema = params.get("json_schema")
            if response_format == "json_schema" and schema:
                try:
                    schema = json.loads(schema) if isinstance(schema, str) else schema
                except json.JSONDecodeError as exc:
                    raise InvokeBadRequestError("[google] The json_schema parameter is not valid JSON.") from exc
                # OpenAI-style `{"name", "schema": {...}}` wrappers carry the schema one level down.
                if isinstance(schema, dict) and isinstance(schema.get("schema"), dict):
                    schema = schema["schema"]
                config["responseSchema"] = gemini_schema(schema)
        thinking: dict[str, Any] = {}
        if params.get("include_thoughts") is not None:
            thinking["includeThoughts"] = bool(params["include_thoughts"])
        if params.get("thinking_budget") is not None:
            thinking["thinkingBudget"] = int(params["thinking_budget"])
        if thinking:
            config["thinkingConfig"] = thinking
        return config

    def build_body(self, request: LLMRequest) -> dict[str, Any]:
        """The JSON body of a generateContent call for `request`."""
        system, contents = convert_messages(request.messages)
        body: dict[str, Any] = {"contents": contents}
        if system:
            body["systemInstruction"] = system
        config = self._generation_config(request)
        if config:
            body["generationConfig"] = config
        if request.tools:
            declarations = []
            for tool in request.tools:
                declaration: dict[str, Any] = {"name": tool.name, "description": tool.description}
                # Gemini refuses an OBJECT schema without properties: a call without parameters omits it.
                if (tool.parameters or {}).get("properties"):
                    declaration["parameters"] = gemini_schema(tool.parameters)
                declarations.append(declaration)
            body["tools"] = [{"functionDeclarations": declarations}]
        return body

    async def validate_credentials(self, credentials: Credentials, *, model_type: str, model: str | None) -> None:
        """The cheapest real call of the model type; a refused key names the `google_api_key` field."""
        try:
            await super().validate_credentials(credentials, model_type=model_type, model=model)
        except CredentialsValidateFailedError as exc:
            if isinstance(exc.__cause__, InvokeAuthorizationError):
                raise CredentialsValidateFailedError(exc.message, params="google_api_key") from exc.__cause__
            raise

    def _error(self, status: int, text: str) -> InvokeError:
        message, reason = text, ""
        try:
            payload = json.loads(text)
        except json.JSONDecodeError:
            payload = None
        if isinstance(payload, list) and payload:
            payload = payload[0]  # non-SSE streaming wraps the error in a JSON array
        if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
            error = payload["error"]
            message = str(error.get("message") or text)
            for detail in error.get("details") or []:
                if isinstance(detail, dict) and detail.get("reason"):
                    reason = str(detail["reason"])
        message = f"[{self.provider}] {message or 'HTTP ' + str(status)}"
        if reason in ("API_KEY_INVALID", "API_KEY_SERVICE_BLOCKED"):
            return InvokeAuthorizationError(message)
        return error_for_status(status, message)

    async def stream_llm(self, request: LLMRequest, credentials: Credentials) -> AsyncIterator[LLMChunk]:
        """Call generateContent (or streamGenerateContent with SSE); yields deltas, then usage."""
        model = self._model_path(request.model)
        body = self.build_body(request)
        headers = self._headers(credentials)
        state = _Answer(self.provider)
        try:
            if not request.stream:
                url = f"{self._root(credentials)}/{model}:generateContent"
                response = await self.http.post(url, json=body, headers=headers, timeout=_TIMEOUT)
                if response.status_code >= 400:
                    raise self._error(response.status_code, response.text)
                try:
                    payload = response.json()
                except ValueError as exc:
                    raise InvokeConnectionError(f"[{self.provider}] The answer is not JSON.") from exc
                yield state.chunk(payload)
                return
            url = f"{self._root(credentials)}/{model}:streamGenerateContent"
            async with self.http.stream(
                "POST", url, params={"alt": "sse"}, json=body, headers=headers, timeout=_TIMEOUT
            ) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise self._error(response.status_code, response.text)
                async with aclosing(sse_events(response, provider=self.provider)) as events:
                    async for _event, data in events:
                        try:
                            payload = json.loads(data)
                        except json.JSONDecodeError as exc:
                            raise InvokeConnectionError(
                                f"[{self.provider}] Malformed stream chunk: {data[:200]!r}"
                            ) from exc
                        if isinstance(payload, dict) and "error" in payload:
                            raise self._error(int(payload["error"].get("code") or 500), data)
                        yield state.chunk(payload)
                        if state.finished:
                            return
        except httpx.RequestError as exc:
            raise InvokeConnectionError(f"[{self.provider}] Cannot reach the Gemini API: {exc}") from exc
        raise InvokeConnectionError(f"[{self.provider}] The stream ended before the answer was complete.")

    async def embed(
        self, model: str, texts: list[str], credentials: Credentials, *, input_type: str = "document"
    ) -> EmbeddingResult:
        """Embed texts with batchEmbedContents (`RETRIEVAL_DOCUMENT` / `RETRIEVAL_QUERY` task types)."""
        path = self._model_path(model)
        task = "RETRIEVAL_QUERY" if input_type == "query" else "RETRIEVAL_DOCUMENT"
        vectors: list[list[float]] = []
        for start in range(0, len(texts), EMBED_BATCH):
            batch = texts[start : start + EMBED_BATCH]
            body = {"requests": [{"model": path, "content": {"parts": [{"text": t}]}, "taskType": task} for t in batch]}
            payload = await self._json(
                "POST", f"{self._root(credentials)}/{path}:batchEmbedContents", credentials, body
            )
            vectors += [list(item.get("values") or []) for item in payload.get("embeddings") or []]
        return EmbeddingResult(vectors=vectors)

    async def list_models(self, credentials: Credentials) -> list[ModelInfo]:
        """Every model of `GET /v1beta/models` (following `nextPageToken`)."""
        models: list[ModelInfo] = []
        token = ""
        while True:
            params = {"pageSize": "1000", **({"pageToken": token} if token else {})}
            payload = await self._json("GET", f"{self._root(credentials)}/models", credentials, params=params)
            for item in payload.get("models") or []:
                info = self._model_info(item)
                if info is not None:
                    models.append(info)
            token = payload.get("nextPageToken") or ""
            if not token:
                return models

    def _model_info(self, item: dict[str, Any]) -> ModelInfo | None:
        methods = item.get("supportedGenerationMethods") or []
        name = str(item.get("name", "")).removeprefix("models/")
        if "generateContent" in methods:
            features = ["tool-call", "multi-tool-call", "stream-tool-call"]
            if name.startswith("gemini"):
                features.append("vision")
            kind = "llm"
        elif "embedContent" in methods:
            kind, features = "text-embedding", []
        else:
            return None
        return ModelInfo(
            provider=self.provider,
            model=name,
            model_type=kind,
            context_size=int(item.get("inputTokenLimit") or 4096),
            features=features,
            properties={"display_name": item.get("displayName"), "max_output_tokens": item.get("outputTokenLimit")},
        )

    async def _json(
        self,
        method: str,
        url: str,
        credentials: Credentials,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        try:
            response = await self.http.request(
                method, url, json=body, params=params, headers=self._headers(credentials), timeout=_TIMEOUT
            )
        except httpx.RequestError as exc:
            raise InvokeConnectionError(f"[{self.provider}] Cannot reach the Gemini API: {exc}") from exc
        if response.status_code >= 400:
            raise self._error(response.status_code, response.text)
        try:
            payload = response.json()
        except ValueError as exc:
            raise InvokeConnectionError(f"[{self.provider}] The answer is not JSON.") from exc
        if not isinstance(payload, dict):
            raise InvokeConnectionError(f"[{self.provider}] Unexpected answer: {response.text[:200]!r}")
        return payload


class _Answer:
    """What one answer has shown so far: tool calls seen, usage, and whether it finished."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.calls = 0
        self.finished = False

    def chunk(self, payload: Any) -> LLMChunk:
        if not isinstance(payload, dict):
            raise InvokeConnectionError(f"[{self.provider}] Malformed answer: {str(payload)[:200]!r}")
        candidates = payload.get("candidates") or []
        feedback = payload.get("promptFeedback") or {}
        if not candidates and feedback.get("blockReason"):
            raise InvokeBadRequestError(f"[{self.provider}] The prompt was blocked ({feedback['blockReason']}).")
        chunk = LLMChunk()
        candidate = candidates[0] if candidates else {}
        for part in (candidate.get("content") or {}).get("parts") or []:
            if "functionCall" in part:
                call = part["functionCall"] or {}
                chunk.tool_calls.append(
                    ToolCallDelta(
                        index=self.calls,
                        id=call.get("id") or f"call_{uuid.uuid4().hex[:24]}",
                        name=call.get("name"),
                        arguments=json.dumps(call.get("args") or {}, ensure_ascii=False),
                    )
                )
                self.calls += 1
            elif part.get("thought"):
                chunk.reasoning += part.get("text", "")
            elif "text" in part:
                chunk.text += part["text"]
        reason = candidate.get("finishReason")
        if reason and reason != "FINISH_REASON_UNSPECIFIED":
            self.finished = True
            chunk.finish_reason = "tool_calls" if self.calls and reason == "STOP" else _FINISH.get(reason, "stop")
            usage = payload.get("usageMetadata") or {}
            completion = usage.get("candidatesTokenCount")
            if usage.get("thoughtsTokenCount") is not None:
                # Thinking tokens are billed as output.
                completion = (completion or 0) + int(usage["thoughtsTokenCount"])
            chunk.tokens = TokenCount(usage.get("promptTokenCount"), completion)
        return chunk
