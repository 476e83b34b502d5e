"""The model runtime's contract: request and result entities, and the wire-adapter base class.

A *wire adapter* speaks one vendor wire format (OpenAI chat/completions, Anthropic messages,
Ollama, Gemini, Cohere, Jina, Hugging Face TEI, …). Vendors that speak an existing format need only
YAML under `catalog/` naming that `wire`. Adapters register themselves by subclassing `WireAdapter`
with a `wire=` class keyword; nothing keeps a dictionary in sync by hand.

Messages are OpenAI-style dicts, the lingua franca of the callers (chat pipeline, workflow nodes,
agents):

- `{"role": "system" | "user" | "assistant", "content": str | list[part]}` where a part is
  `{"type": "text", "text": …}` or `{"type": "image_url", "image_url": {"url": <https or data: URL>,
  "detail": "low" | "high" | "auto"}}`;
- an assistant message may carry `tool_calls: [{"id", "type": "function", "function": {"name",
  "arguments": <JSON string>}}]`;
- `{"role": "tool", "tool_call_id": …, "content": str}` answers a tool call.

Adapters translate to and from their vendor's format. They never compute prices, retry, or time
calls: `runtime.ModelRuntime` does that once for every adapter.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx

from loomworks.providers.errors import CredentialsValidateFailedError, InvokeError, ModelTypeNotSupportedError
from loomworks.providers.usage import Usage


@dataclass(slots=True)
class Credentials:
    """A provider's (or a custom model's) credential values, with the common ones normalised.

    Attributes:
        values: the raw form values, keyed by the YAML's `variable` names (e.g. `openai_api_key`).
        api_key: the secret the vendor wants, found under the vendor's own field name.
        base_url: the endpoint, from the form or the provider YAML's `base_url`; no trailing slash.
    """

    values: dict[str, Any]
    api_key: str = ""
    base_url: str = ""

    def get(self, name: str, default: Any = None) -> Any:
        value = self.values.get(name)
        return default if value in (None, "") else value


@dataclass(slots=True)
class ModelInfo:
    """What the runtime knows of one model (from its YAML or a custom model's credentials)."""

    provider: str
    model: str
    model_type: str = "llm"
    mode: str = "chat"  # chat | completion
    context_size: int = 4096
    features: list[str] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)
    parameter_rules: list[dict[str, Any]] = field(default_factory=list)
    pricing: dict[str, Any] | None = None


@dataclass(slots=True)
class ToolSpec:
    """A function the model may call: `parameters` is a JSON Schema object."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})


@dataclass(slots=True)
class LLMRequest:
    """One LLM call.

    `parameters` are already checked against the model's parameter rules (unknown keys dropped);
    `response_format` (`text` | `json_object` | `json_schema`) and `json_schema` (a schema object or
    its JSON text) ride in it for vendors that support structured output.
    """

    model: str
    messages: list[dict[str, Any]]
    parameters: dict[str, Any] = field(default_factory=dict)
    stop: list[str] = field(default_factory=list)
    tools: list[ToolSpec] = field(default_factory=list)
    mode: str = "chat"
    stream: bool = True
    user: str | None = None


@dataclass(slots=True)
class ToolCallDelta:
    """A piece of a tool call. Pieces with the same `index` concatenate: `id` and `name` come once,
    `arguments` arrives in fragments (also when the vendor sends whole calls at once)."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(slots=True)
class TokenCount:
    """Token counts as the vendor reported them (None when it did not)."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None


@dataclass(slots=True)
class LLMChunk:
    """One piece of an answer. Adapters yield text deltas, tool-call deltas, and (usually in the last
    chunk) the vendor's token counts and finish reason; the runtime adds a last chunk with `usage`."""

    text: str = ""
    reasoning: str = ""
    tool_calls: list[ToolCallDelta] = field(default_factory=list)
    tokens: TokenCount | None = None
    finish_reason: str | None = None
    usage: Usage | None = None  # set by the runtime on the last chunk, never by adapters


@dataclass(slots=True)
class EmbeddingResult:
    vectors: list[list[float]]
    prompt_tokens: int | None = None


@dataclass(slots=True)
class RerankHit:
    index: int
    score: float
    text: str = ""


class WireAdapter:
    """Base of every wire adapter: one instance per (wire, provider), sharing one HTTP client.

    Subclasses declare `class OpenAIAdapter(WireAdapter, wire="openai"): ...` and implement the
    methods of the model types their format has; the others raise `ModelTypeNotSupportedError`.

    Every method raises only `providers.errors` exceptions: `InvokeConnectionError` (network, broken
    stream, malformed chunk), `InvokeServerUnavailableError` (5xx), `InvokeRateLimitError` (429),
    `InvokeAuthorizationError` (401/403) and `InvokeBadRequestError` (other 4xx), with the vendor's
    own message in the text. A failure in the middle of a stream is raised from the iterator.
    """

    wire: ClassVar[str] = ""
    adapters: ClassVar[dict[str, type[WireAdapter]]] = {}

    def __init_subclass__(cls, wire: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if wire:
            cls.wire = wire
            WireAdapter.adapters[wire] = cls

    def __init__(self, http: httpx.AsyncClient, *, provider: str, spec: dict[str, Any] | None = None) -> None:
        self.http = http
        self.provider = provider
        self.spec = spec or {}

    def _unsupported(self, what: str) -> ModelTypeNotSupportedError:
        return ModelTypeNotSupportedError(f"[{self.provider}] {what} is not supported by the {self.wire} format.")

    def stream_llm(self, request: LLMRequest, credentials: Credentials) -> AsyncIterator[LLMChunk]:
        """Stream an answer (also for `request.stream = False`: then one chunk may hold it all)."""
        raise self._unsupported("llm")

    async def embed(
        self, model: str, texts: list[str], credentials: Credentials, *, input_type: str = "document"
    ) -> EmbeddingResult:
        """Embed texts (`input_type` document | query, for vendors that distinguish them)."""
        raise self._unsupported("text-embedding")

    async def rerank(
        self, model: str, query: str, docs: list[str], credentials: Credentials, *, top_n: int | None = None
    ) -> list[RerankHit]:
        """Score docs against the query; hits sorted by descending score, `index` into `docs`."""
        raise self._unsupported("rerank")

    async def transcribe(self, model: str, audio: bytes, filename: str, credentials: Credentials) -> str:
        """Speech to text."""
        raise self._unsupported("speech2text")

    def synthesize(self, model: str, text: str, voice: str | None, credentials: Credentials) -> AsyncIterator[bytes]:
        """Text to speech, streamed audio bytes (mp3 unless the model says otherwise)."""
        raise self._unsupported("tts")

    async def moderate(self, model: str, text: str, credentials: Credentials) -> bool:
        """True when the text is flagged."""
        raise self._unsupported("moderation")

    async def list_models(self, credentials: Credentials) -> list[ModelInfo]:
        """The vendor's model list (`fetch-from-remote`)."""
        raise self._unsupported("fetching the model list")

    async def validate_credentials(self, credentials: Credentials, *, model_type: str, model: str | None) -> None:
        """Raise `CredentialsValidateFailedError` when the credentials do not work.

        The default makes the cheapest real call for the model type (a one-token answer, a one-word
        embedding, …); adapters with a cheaper check (a model list) override it.
        """
        try:
            if model_type == "text-embedding":
                await self.embed(model or "", ["ping"], credentials)
            elif model_type == "rerank":
                await self.rerank(model or "", "ping", ["ping"], credentials)
            elif model_type == "llm" and model:
                request = LLMRequest(
                    model=model, messages=[{"role": "user", "content": "ping"}], parameters={"max_tokens": 1}
                )
                async for _ in self.stream_llm(request, credentials):
                    pass
            else:
                await self.list_models(credentials)
        except InvokeError as exc:
            raise CredentialsValidateFailedError(exc.message) from exc
