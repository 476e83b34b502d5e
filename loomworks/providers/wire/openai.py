"""The OpenAI wire format, and the many vendors that speak it.

`OpenAIAdapter` (wire `openai`) talks to `api.openai.com` (or a proxy set in `openai_api_base`):
chat completions (streamed with `stream_options.include_usage`), legacy completions for
completion-mode models, embeddings, audio transcription and speech, moderation and the model list.

`OpenAICompatibleAdapter` (wire `openai_compatible`) is the same format at any base URL — DeepSeek,
Groq, Mistral, Together, OpenRouter, Moonshot, Zhipu, Qwen's compatible mode, SiliconFlow,
Xinference, LocalAI, vLLM, LM Studio, … — with an optional API key, the common `/rerank` endpoint,
and a credential check that falls back to a one-token chat call when the server has no `/models`.

Vendor quirks live in the provider YAML, not here:
- `url_path` (e.g. `/v1` for Xinference and LocalAI, whose form asks for the bare server URL) is
  appended to the base URL unless it already ends with it, so it works whether or not the runtime
  has applied it;
- a model's `model_properties.max_chunks` bounds an embedding batch (default 2048 inputs);
- a TTS model's `model_properties.default_voice` / `audio_type` set the default voice and format.
"""

from __future__ import annotations

import base64
import json
import sys
from array import array
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from typing import Any

import httpx

from loomworks.providers.base import (
    Credentials,
    EmbeddingResult,
    LLMChunk,
    LLMRequest,
    ModelInfo,
    RerankHit,
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
    InvokeRateLimitError,
    InvokeServerUnavailableError,
    error_for_status,
)
from loomworks.providers.registry import find_model, model_form, provider_form
from loomworks.providers.wire._sse import sse_events

TIMEOUT = httpx.Timeout(300.0, connect=10.0)
EMBED_BATCH = 2048
# Sampling knobs that OpenAI's reasoning models reject (they only accept the defaults).
SAMPLING = ("temperature", "top_p", "presence_penalty", "frequency_penalty")
REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")


def is_reasoning_model(name: str) -> bool:
    """True for OpenAI's reasoning models (o1, o3, o4-mini, gpt-5…): `max_completion_tokens`, no sampling knobs."""
    return name.lower().rsplit("/", 1)[-1].startswith(REASONING_PREFIXES)


def vendor_message(response: httpx.Response) -> str:
    """The vendor's error text from an (already read) error response."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    if isinstance(error, str):
        return error
    for key in ("message", "detail"):
        if isinstance(body, dict) and body.get(key):
            return str(body[key])
    return response.text.strip()[:500]


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


class OpenAIAdapter(WireAdapter, wire="openai"):
    """OpenAI's own API: chat, completions, embeddings, audio, moderation and the model list."""

    api_key_required = True
    embed_encoding = "base64"  # OpenAI's own API: a quarter of the bytes of float JSON.

    # -- addressing -------------------------------------------------------------------------

    def base_url(self, credentials: Credentials) -> str:
        """The API root (ending in `/v1` for OpenAI); raises `InvokeBadRequestError` when there is none."""
        base = credentials.base_url or self._form_url(credentials) or str(self.spec.get("base_url") or "")
        base = base.rstrip("/")
        form = str(credentials.get("openai_api_base") or "").rstrip("/")
        if self.wire == "openai" and form and base == form and not base.endswith("/v1"):
            # Dify's OpenAI form takes `https://host` and the client adds `/v1`.
            base += "/v1"
        url_path = str(self.spec.get("url_path") or "").rstrip("/")
        if url_path and not base.endswith(url_path):
            base += url_path
        if not base:
            raise InvokeBadRequestError(f"[{self.provider}] No API endpoint is configured.")
        return base

    def _form_url(self, credentials: Credentials) -> str:
        for name in ("openai_api_base", "endpoint_url", "server_url", "base_url"):
            if credentials.get(name):
                return str(credentials.get(name))
        return ""

    def url(self, credentials: Credentials, path: str, model: str = "") -> str:  # noqa: ARG002 - Azure needs model
        """The full URL of an endpoint path such as `/chat/completions`."""
        return self.base_url(credentials) + path

    def api_key_field(self) -> str:
        """The credential form field that holds the API key (for `CredentialsValidateFailedError.params`)."""
        for field_spec in provider_form(self.spec) + model_form(self.spec):
            if field_spec.get("type") == "secret-input":
                return str(field_spec["variable"])
        return "api_key"

    def api_key(self, credentials: Credentials) -> str:
        return credentials.api_key or str(credentials.get(self.api_key_field()) or "")

    def headers(self, credentials: Credentials) -> dict[str, str]:
        """Auth headers: `Authorization: Bearer`, plus `OpenAI-Organization` when set."""
        headers: dict[str, str] = {}
        key = self.api_key(credentials)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        elif self.api_key_required:
            raise InvokeAuthorizationError(f"[{self.provider}] The API key is missing.")
        if credentials.get("openai_organization"):
            headers["OpenAI-Organization"] = str(credentials.get("openai_organization"))
        return headers

    def wire_model(self, model: str, credentials: Credentials) -> str:  # noqa: ARG002 - compatible vendors use it
        """The model name the vendor expects in the body."""
        return model

    def reasoning(self, model: str, credentials: Credentials) -> bool:  # noqa: ARG002 - Azure reads credentials
        return is_reasoning_model(model)

    def model_yaml(self, model: str, model_type: str) -> dict[str, Any]:
        return find_model(self.spec, model, model_type) or {}

    # -- HTTP plumbing -----------------------------------------------------------------------

    def error(self, status: int, message: str) -> InvokeError:
        return error_for_status(status, f"[{self.provider}] {message}")

    async def _check(self, response: httpx.Response) -> None:
        if response.is_success:
            return
        await response.aread()
        raise self.error(response.status_code, vendor_message(response))

    async def request(self, method: str, url: str, credentials: Credentials, **kwargs: Any) -> httpx.Response:
        """One non-streaming call; returns the successful response or raises the unified error."""
        try:
            response = await self.http.request(
                method, url, headers=self.headers(credentials), timeout=TIMEOUT, **kwargs
            )
        except httpx.TransportError as exc:
            raise InvokeConnectionError(f"[{self.provider}] Cannot reach {url}: {exc}") from exc
        await self._check(response)
        return response

    async def post_json(self, url: str, credentials: Credentials, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.request("POST", url, credentials, json=body)
        try:
            data = response.json()
        except ValueError as exc:
            raise InvokeConnectionError(f"[{self.provider}] The answer is not JSON: {response.text[:200]}") from exc
        if not isinstance(data, dict):
            raise InvokeConnectionError(f"[{self.provider}] Unexpected answer: {response.text[:200]}")
        return data

    @asynccontextmanager
    async def open_stream(
        self, url: str, credentials: Credentials, body: dict[str, Any]
    ) -> AsyncIterator[httpx.Response]:
        """A streaming POST whose status has been checked (errors are raised before the first byte)."""
        try:
            async with self.http.stream(
                "POST", url, json=body, headers=self.headers(credentials), timeout=TIMEOUT
            ) as response:
                await self._check(response)
                yield response
        except httpx.TransportError as exc:
            raise InvokeConnectionError(f"[{self.provider}] Cannot reach {url}: {exc}") from exc

    # -- LLM ---------------------------------------------------------------------------------

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
        if request.user:
            body["user"] = request.user
        if request.stream:
            body["stream"] = True
            if self.stream_usage(credentials):
                body["stream_options"] = {"include_usage": True}
        return body

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

    # -- other model types -------------------------------------------------------------------

    async def embed(
        self,
        model: str,
        texts: list[str],
        credentials: Credentials,
        *,
        input_type: str = "document",  # noqa: ARG002 - OpenAI embeds queries and documents alike
    ) -> EmbeddingResult:
        """Embed texts in batches of the model's `max_chunks` (default 2048), keeping their order."""
        props = self.model_yaml(model, "text-embedding").get("model_properties") or {}
        batch = int(props.get("max_chunks") or EMBED_BATCH)
        url = self.url(credentials, "/embeddings", model)
        vectors: list[list[float]] = []
        prompt_tokens: int | None = None
        for start in range(0, len(texts), batch):
            body: dict[str, Any] = {"model": self.wire_model(model, credentials), "input": texts[start : start + batch]}
            if self.embed_encoding == "base64":
                body["encoding_format"] = "base64"
            data = await self.post_json(url, credentials, body)
            items = sorted(data.get("data") or [], key=lambda item: int(item.get("index", 0)))
            if len(items) != len(body["input"]):
                raise InvokeServerUnavailableError(
                    f"[{self.provider}] Asked for {len(body['input'])} embeddings, got {len(items)}."
                )
            vectors += [self._vector(item.get("embedding")) for item in items]
            used = (data.get("usage") or {}).get("prompt_tokens")
            if used is not None:
                prompt_tokens = (prompt_tokens or 0) + int(used)
        return EmbeddingResult(vectors=vectors, prompt_tokens=prompt_tokens)

    def _vector(self, raw: Any) -> list[float]:
        if isinstance(raw, str):
            # base64 of little-endian float32 values.
            try:
                values = array("f", base64.b64decode(raw))
            except ValueError as exc:
                raise InvokeConnectionError(f"[{self.provider}] Malformed base64 embedding: {exc}") from exc
            if sys.byteorder == "big":
                values.byteswap()
            return values.tolist()
        if isinstance(raw, list):
            return [float(x) for x in raw]
        raise InvokeConnectionError(f"[{self.provider}] Malformed embedding in the answer.")

    async def transcribe(self, model: str, audio: bytes, filename: str, credentials: Credentials) -> str:
        """`/audio/transcriptions` with a multipart `file` and `model`."""
        response = await self.request(
            "POST",
            self.url(credentials, "/audio/transcriptions", model),
            credentials,
            files={"file": (filename or "audio.mp3", audio)},
            data={"model": self.wire_model(model, credentials)},
        )
        try:
            return str(response.json()["text"])
        except (ValueError, KeyError, TypeError) as exc:
            raise InvokeConnectionError(f"[{self.provider}] Unexpected transcription: {response.text[:200]}") from exc

    async def synthesize(
        self, model: str, text: str, voice: str | None, credentials: Credentials
    ) -> AsyncIterator[bytes]:
        """`/audio/speech`, streamed; the voice defaults to the model's `default_voice` (else `alloy`)."""
        props = self.model_yaml(model, "tts").get("model_properties") or {}
        body = {
            "model": self.wire_model(model, credentials),
            "input": text,
            "voice": voice or props.get("default_voice") or "alloy",
            "response_format": props.get("audio_type") or "mp3",
        }
        async with self.open_stream(self.url(credentials, "/audio/speech", model), credentials, body) as response:
            try:
                async for piece in response.aiter_bytes():
                    yield piece
            except httpx.TransportError as exc:
                raise InvokeConnectionError(f"[{self.provider}] The audio stream broke: {exc}") from exc

    async def moderate(self, model: str, text: str, credentials: Credentials) -> bool:
        """`/moderations`: true when any piece is flagged.

        Long texts are cut into the model's `max_characters_per_chunk` (default 2000) and sent
        `max_chunks` (default 32) pieces a call, as the YAML describes; the first flag stops early.
        """
        props = self.model_yaml(model, "moderation").get("model_properties") or {}
        size = int(props.get("max_characters_per_chunk") or 2000)
        per_call = int(props.get("max_chunks") or 32)
        pieces = [text[i : i + size] for i in range(0, len(text), size)] or [""]
        url = self.url(credentials, "/moderations", model)
        for start in range(0, len(pieces), per_call):
            batch = pieces[start : start + per_call]
            body = {"model": self.wire_model(model, credentials), "input": batch[0] if len(batch) == 1 else batch}
            data = await self.post_json(url, credentials, body)
            if any(bool(result.get("flagged")) for result in data.get("results") or []):
                return True
        return False

    async def list_models(self, credentials: Credentials) -> list[ModelInfo]:
        """`GET /models`; each id becomes a ModelInfo, with the predefined YAML's facts when known."""
        response = await self.request("GET", self.url(credentials, "/models"), credentials)
        try:
            items = response.json().get("data") or []
        except (ValueError, AttributeError) as exc:
            raise InvokeConnectionError(f"[{self.provider}] Unexpected model list: {response.text[:200]}") from exc
        return [self._model_info(str(item["id"])) for item in items if isinstance(item, dict) and item.get("id")]

    def _model_info(self, model_id: str) -> ModelInfo:
        lowered = model_id.lower()
        model_type = "llm"
        if "embedding" in lowered or "embed" in lowered:
            model_type = "text-embedding"
        elif "rerank" in lowered:
            model_type = "rerank"
        elif "whisper" in lowered or "transcribe" in lowered:
            model_type = "speech2text"
        elif "tts" in lowered:
            model_type = "tts"
        elif "moderation" in lowered:
            model_type = "moderation"
        found = self.model_yaml(model_id, model_type)
        props = found.get("model_properties") or {}
        return ModelInfo(
            provider=self.provider,
            model=model_id,
            model_type=model_type,
            mode=str(props.get("mode") or "chat"),
            context_size=int(props.get("context_size") or 4096),
            features=list(found.get("features") or []),
            properties=dict(props),
            parameter_rules=list(found.get("parameter_rules") or []),
            pricing=found.get("pricing"),
        )

    async def validate_credentials(
        self,
        credentials: Credentials,
        *,
        model_type: str,  # noqa: ARG002 - one key check serves every model type
        model: str | None,  # noqa: ARG002
    ) -> None:
        """The cheapest real call: `GET /models`. A refused key names the API key field."""
        try:
            await self.list_models(credentials)
        except InvokeError as exc:
            raise self._validation_error(exc) from exc

    def _validation_error(self, exc: InvokeError) -> CredentialsValidateFailedError:
        field_name = self.api_key_field() if isinstance(exc, InvokeAuthorizationError) else None
        return CredentialsValidateFailedError(exc.message, params=field_name)


class OpenAICompatibleAdapter(OpenAIAdapter, wire="openai_compatible"):
    """Any server that speaks OpenAI's format at its own base URL; the API key is optional."""

    api_key_required = False
    embed_encoding = "float"  # not every compatible server knows base64

    def wire_model(self, model: str, credentials: Credentials) -> str:
        """Xinference names the model by its uid; Dify's compatible form may name the endpoint's model."""
        return str(credentials.get("model_uid") or credentials.get("endpoint_model_name") or model)

    async def rerank(
        self, model: str, query: str, docs: list[str], credentials: Credentials, *, top_n: int | None = None
    ) -> list[RerankHit]:
        """The common `/rerank` endpoint (Jina/Cohere-style body), used by Xinference, SiliconFlow, vLLM."""
        if not docs:
            return []
        body: dict[str, Any] = {"model": self.wire_model(model, credentials), "query": query, "documents": docs}
        if top_n is not None:
            body["top_n"] = top_n
        data = await self.post_json(self.url(credentials, "/rerank", model), credentials, body)
        hits = []
        for item in data.get("results") or []:
            index = int(item["index"])
            if not 0 <= index < len(docs):
                raise InvokeServerUnavailableError(f"[{self.provider}] Rerank answered an unknown index {index}.")
            score = item.get("relevance_score", item.get("score", 0.0))
            hits.append(RerankHit(index=index, score=float(score), text=docs[index]))
        hits.sort(key=lambda hit: hit.score, reverse=True)
        return hits[:top_n] if top_n is not None else hits

    async def validate_credentials(self, credentials: Credentials, *, model_type: str, model: str | None) -> None:
        """`GET /models` when the server has it and lists the model; else the cheapest real call."""
        try:
            listed = await self.list_models(credentials)
        except InvokeBadRequestError:
            listed = None  # no /models here (404): fall through to a real call
        except InvokeError as exc:
            raise self._validation_error(exc) from exc
        wanted = self.wire_model(model, credentials) if model else None
        if listed is not None and (wanted is None or any(info.model == wanted for info in listed)):
            return
        try:
            await WireAdapter.validate_credentials(self, credentials, model_type=model_type, model=model)
        except CredentialsValidateFailedError as exc:
            cause = exc.__cause__
            if isinstance(cause, InvokeError):
                raise self._validation_error(cause) from cause
            raise
