"""The model runtime: binds a provider's wire adapter to credentials and accounts for every call.

What it adds on top of an adapter, once for all of them:
- parameters checked against the model's parameter rules (`params.check_parameters`);
- retries with exponential backoff on rate limits, 5xx and connection errors, as long as nothing
  has been streamed to the caller yet (a broken stream is never replayed twice);
- load balancing over several credential sets of one provider, with a cooldown for a set that hit
  a rate limit;
- usage: the vendor's token counts (or offline counts, marked estimated), prices from the model's
  YAML, latency and time to first token.

A few pooled `httpx.AsyncClient`s per event loop serve every adapter (no client or TLS context per
call). They are several because httpcore scans its whole pool, and the queue of requests waiting
for it, on every request and every response close: one pool of 200 connections made 2,000
concurrent streams quadratic (minutes), and 32 busy connections cost a sixth of a turn's CPU.
Calls take the pools in turn, so each holds a few connections. Model endpoints are configured by
workspace admins, so they do not go through the SSRF guard that user-supplied URLs go through;
`allow_private_endpoints` is the admin's switch for that.
"""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
import sys
import time
import weakref
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from loomworks.core.errors import ProviderNotInitializeError
from loomworks.providers import registry, tokens
from loomworks.providers.base import (
    Credentials,
    EmbeddingResult,
    LLMChunk,
    LLMRequest,
    ModelInfo,
    RerankHit,
    WireAdapter,
)
from loomworks.providers.errors import InvokeError, InvokeRateLimitError
from loomworks.providers.params import check_parameters
from loomworks.providers.usage import Usage, price_usage

_URL_FIELDS = (
    "endpoint_url",
    "server_url",
    "base_url",
    "openai_api_base",
    "anthropic_api_url",
    "huggingfacehub_endpoint_url",
    "api_base",
)
# Structured-output parameters travel even when a model's rules do not list them.
_PASS_THROUGH = ("response_format", "json_schema")
_POOLS = 32  # connection pools per event loop (see the module docstring)
_POOL_CONNECTIONS = 128  # per pool: 4,096 concurrent model calls per process before any waits

if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
    # httpcore tries `import sniffio` several times per request; without the package each try
    # searches the whole sys.path again (measured at ~2 % of a chat turn's CPU). A None entry makes
    # the miss immediate, exactly as Python documents for blocked imports.
    sys.modules["sniffio"] = None  # type: ignore[assignment]


def load_adapters() -> dict[str, type[WireAdapter]]:
    """Import every wire module once, so that each adapter registers itself."""
    import importlib
    import pkgutil

    from loomworks.providers import wire

    for module in pkgutil.iter_modules(wire.__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{wire.__name__}.{module.name}")
    return WireAdapter.adapters


def normalise_credentials(spec: dict[str, Any], values: dict[str, Any]) -> Credentials:
    """Find the api key and base URL among a provider's own field names (Dify's YAML varies by vendor)."""
    forms = registry.provider_form(spec) + registry.model_form(spec)
    secret_names = [f["variable"] for f in forms if f.get("type") == "secret-input"]
    api_key = ""
    for name in sorted(secret_names, key=lambda n: ("key" not in n and "token" not in n, n)):
        if values.get(name):
            api_key = str(values[name])
            break
    base_url = next((str(values[n]) for n in _URL_FIELDS if values.get(n)), "") or str(spec.get("base_url") or "")
    base_url = base_url.rstrip("/")
    suffix = str(spec.get("url_path") or "")
    if suffix and base_url and not base_url.endswith(suffix):
        base_url += suffix
    return Credentials(values=dict(values), api_key=api_key, base_url=base_url)


@dataclass(slots=True)
class CredentialSet:
    """One named credential set (several of one provider are load-balanced)."""

    id: str
    values: dict[str, Any]


@dataclass
class _Balancer:
    cooldown: float
    until: dict[str, float] = field(default_factory=dict)
    counter: itertools.count[int] = field(default_factory=itertools.count)

    def order(self, sets: list[CredentialSet]) -> list[CredentialSet]:
        """Sets to try, rotated round-robin, those cooling down last."""
        if len(sets) <= 1:
            return sets
        start = next(self.counter) % len(sets)
        rotated = sets[start:] + sets[:start]
        now = time.monotonic()
        return sorted(rotated, key=lambda s: self.until.get(s.id, 0.0) > now)

    def cool(self, credential_id: str) -> None:
        self.until[credential_id] = time.monotonic() + self.cooldown


class ModelRuntime:
    """Binds models to credentials; one per process.

    Args:
        max_retries: retries of a call that failed before anything was streamed (429, 5xx, network).
        backoff: first retry delay in seconds, doubled each time.
        cooldown: seconds a credential set that hit a rate limit is tried last.
        timeout: read timeout of a call, in seconds.
        transport: an httpx transport (tests may route to an in-process app).
    """

    def __init__(
        self,
        *,
        max_retries: int = 2,
        backoff: float = 0.5,
        cooldown: float = 60.0,
        timeout: float = 300.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.max_retries = max_retries
        self.backoff = backoff
        self.timeout = timeout
        self.transport = transport
        self.balancer = _Balancer(cooldown)
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[httpx.AsyncClient | None]] = (
            weakref.WeakKeyDictionary()
        )
        self._adapters: dict[tuple[int, str, int], WireAdapter] = {}
        self._turn = itertools.count()
        self._tls: Any = None  # one TLS context shared by the pools (loading CA certificates is slow)
        self.wires = load_adapters()

    def http(self, pool: int = 0) -> httpx.AsyncClient:
        """A pooled client of the running event loop (`pool` picks one of its pools)."""
        loop = asyncio.get_running_loop()
        clients = self._clients.get(loop)
        if clients is None:
            clients = self._clients[loop] = [None] * _POOLS
            self._adapters = {k: v for k, v in self._adapters.items() if k[0] != id(loop)}
        client = clients[pool]
        if client is None:
            if self._tls is None:
                self._tls = httpx.create_ssl_context()
            client = clients[pool] = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout, connect=10.0),
                limits=httpx.Limits(max_connections=_POOL_CONNECTIONS, max_keepalive_connections=16),
                transport=self.transport,
                follow_redirects=False,
                trust_env=False,
                verify=self._tls,
            )
        return client

    async def aclose(self) -> None:
        """Close the clients of the running loop."""
        for client in self._clients.pop(asyncio.get_running_loop(), None) or []:
            if client is not None:
                await client.aclose()

    def adapter(self, provider: str) -> WireAdapter:
        """The adapter of a provider for the running loop, on the next of its connection pools."""
        spec = registry.get_provider(provider)
        pool = next(self._turn) % _POOLS
        client = self.http(pool)
        key = (id(asyncio.get_running_loop()), spec["provider"], pool)
        found = self._adapters.get(key)
        if found is None or found.http is not client:
            wire = self.wires.get(str(spec.get("wire") or ""))
            if wire is None:
                raise ProviderNotInitializeError(f"Provider {provider} has no wire adapter in this build.")
            found = wire(client, provider=spec["provider"], spec=spec)
            self._adapters[key] = found
        return found

    def llm(
        self,
        *,
        provider: str,
        model: str,
        credentials: Iterable[CredentialSet],
        custom: dict[str, Any] | None = None,
    ) -> BoundLLM:
        """An LLM bound to credential sets (a custom model passes its own values as `custom`)."""
        spec = registry.get_provider(provider)
        sets = list(credentials)
        if not sets:
            raise ProviderNotInitializeError()
        info = registry.model_info(spec, model, "llm", custom)
        return BoundLLM(self, spec, info, sets)

    def embedding(self, *, provider: str, model: str, credentials: Iterable[CredentialSet]) -> BoundModel:
        return self._bound(provider, model, "text-embedding", credentials)

    def rerank(self, *, provider: str, model: str, credentials: Iterable[CredentialSet]) -> BoundModel:
        return self._bound(provider, model, "rerank", credentials)

    def speech(self, *, provider: str, model: str, model_type: str, credentials: Iterable[CredentialSet]) -> BoundModel:
        return self._bound(provider, model, model_type, credentials)

    def _bound(self, provider: str, model: str, model_type: str, credentials: Iterable[CredentialSet]) -> BoundModel:
        spec = registry.get_provider(provider)
        sets = list(credentials)
        if not sets:
            raise ProviderNotInitializeError()
        return BoundModel(self, spec, registry.model_info(spec, model, model_type, sets[0].values), sets)

    async def validate(
        self, *, provider: str, values: dict[str, Any], model_type: str = "llm", model: str | None = None
    ) -> None:
        """Check credentials with a real call; raises `CredentialsValidateFailedError`."""
        spec = registry.get_provider(provider)
        if model is None and model_type == "llm":
            predefined = [m for m in spec.get("models") or [] if m.get("model_type") == "llm"]
            model = predefined[0]["model"] if predefined else None
        await self.adapter(provider).validate_credentials(
            normalise_credentials(spec, values), model_type=model_type, model=model
        )

    async def _attempts(self, sets: list[CredentialSet]) -> AsyncIterator[CredentialSet]:
        """Credential sets to try, with backoff between attempts."""
        order = self.balancer.order(sets)
        for attempt in range(self.max_retries + 1):
            if attempt:
                await asyncio.sleep(self.backoff * (2 ** (attempt - 1)))
            yield order[attempt % len(order)]


class BoundModel:
    """A non-LLM model bound to credentials: embeddings, rerank, speech, moderation."""

    def __init__(self, runtime: ModelRuntime, spec: dict[str, Any], info: ModelInfo, sets: list[CredentialSet]):
        self.runtime, self.spec, self.info, self.sets = runtime, spec, info, sets
        self.provider, self.model = spec["provider"], info.model

    async def _call(self, operation: Any) -> Any:
        adapter = self.runtime.adapter(self.provider)
        last: InvokeError | None = None
        async for chosen in self.runtime._attempts(self.sets):
            try:
                return await operation(adapter, normalise_credentials(self.spec, chosen.values))
            except InvokeError as exc:
                if isinstance(exc, InvokeRateLimitError):
                    self.runtime.balancer.cool(chosen.id)
                if not exc.retryable:
                    raise
                last = exc
        assert last is not None
        raise last

    async def embed(self, texts: list[str], *, input_type: str = "document") -> tuple[EmbeddingResult, Usage]:
        """Vectors of texts, and the priced usage of the call."""
        started = time.perf_counter()
        result: EmbeddingResult = await self._call(lambda a, c: a.embed(self.model, texts, c, input_type=input_type))
        estimated = result.prompt_tokens is None
        prompt = result.prompt_tokens if result.prompt_tokens is not None else sum(map(tokens.count_text, texts))
        usage = price_usage(
            self.info.pricing,
            prompt_tokens=prompt,
            completion_tokens=0,
            latency=time.perf_counter() - started,
            estimated=estimated,
        )
        return result, usage

    async def rerank(
        self, query: str, docs: list[str], *, top_n: int | None = None, score_threshold: float | None = None
    ) -> list[RerankHit]:
        """Docs scored against the query, best first, above the threshold."""
        hits: list[RerankHit] = await self._call(lambda a, c: a.rerank(self.model, query, docs, c, top_n=top_n))
        hits = sorted(hits, key=lambda h: h.score, reverse=True)
        if score_threshold is not None:
            hits = [h for h in hits if h.score >= score_threshold]
        for hit in hits:
            hit.text = hit.text or docs[hit.index]
        return hits[:top_n] if top_n else hits

    async def transcribe(self, audio: bytes, filename: str) -> str:
        return str(await self._call(lambda a, c: a.transcribe(self.model, audio, filename, c)))

    async def moderate(self, text: str) -> bool:
        return bool(await self._call(lambda a, c: a.moderate(self.model, text, c)))

    async def synthesize(self, text: str, voice: str | None) -> AsyncIterator[bytes]:
        """Audio bytes as they arrive (no retry once bytes have been yielded)."""
        adapter = self.runtime.adapter(self.provider)
        chosen = self.runtime.balancer.order(self.sets)[0]
        voice = voice or self.info.properties.get("default_voice")
        async for piece in adapter.synthesize(self.model, text, voice, normalise_credentials(self.spec, chosen.values)):
            yield piece


class BoundLLM:
    """An LLM bound to credentials: `stream` yields chunks, the last one with `usage` set."""

    def __init__(self, runtime: ModelRuntime, spec: dict[str, Any], info: ModelInfo, sets: list[CredentialSet]):
        self.runtime, self.spec, self.info, self.sets = runtime, spec, info, sets
        self.provider, self.model, self.context_size = spec["provider"], info.model, info.context_size
        self.encoding, self.estimated = tokens.encoding_for(self.provider, self.model)

    def count_tokens(self, messages: list[dict[str, Any]]) -> int:
        """Prompt tokens, counted offline (an estimate for vendors without a public tokenizer)."""
        return tokens.count_messages(messages, self.encoding)

    def prepare(self, request: LLMRequest) -> LLMRequest:
        """The request as it is sent: parameters checked by the model's rules, the model's mode."""
        params = check_parameters(self.info.parameter_rules, request.parameters)
        for name in _PASS_THROUGH:
            if request.parameters.get(name) not in (None, ""):
                params.setdefault(name, request.parameters[name])
        return LLMRequest(
            model=self.model,
            messages=request.messages,
            parameters=params,
            stop=[s for s in request.stop if s][:4] if request.stop else [],
            tools=request.tools,
            mode=self.info.mode if request.mode == "chat" else request.mode,
            stream=request.stream,
            user=request.user,
        )

    async def stream(self, request: LLMRequest) -> AsyncIterator[LLMChunk]:
        """The answer in chunks; the last chunk carries `usage` (Dify's LLMUsage)."""
        prepared = self.prepare(request)
        adapter = self.runtime.adapter(self.provider)
        started = time.perf_counter()
        first: float | None = None
        text: list[str] = []
        reported = None
        finish = None
        last_error: InvokeError | None = None
        async for chosen in self.runtime._attempts(self.sets):
            credentials = normalise_credentials(self.spec, chosen.values)
            try:
                async for chunk in adapter.stream_llm(prepared, credentials):
                    if first is None and (chunk.text or chunk.tool_calls or chunk.reasoning):
                        first = time.perf_counter() - started
                    if chunk.tokens is not None:
                        reported = chunk.tokens
                    finish = chunk.finish_reason or finish
                    if chunk.text:
                        text.append(chunk.text)
                    if chunk.text or chunk.tool_calls or chunk.reasoning:
                        yield chunk
            except InvokeError as exc:
                if isinstance(exc, InvokeRateLimitError):
                    self.runtime.balancer.cool(chosen.id)
                if first is not None or not exc.retryable:
                    raise
                last_error = exc
                continue
            break
        else:
            assert last_error is not None
            raise last_error
        yield LLMChunk(finish_reason=finish or "stop", usage=self._usage(prepared, text, reported, started, first))

    def _usage(self, request: LLMRequest, text: list[str], reported: Any, started: float, first: float | None) -> Usage:
        prompt = reported.prompt_tokens if reported is not None else None
        completion = reported.completion_tokens if reported is not None else None
        estimated = prompt is None or completion is None
        if prompt is None:
            prompt = self.count_tokens(request.messages)
        if completion is None:
            completion = tokens.count_text("".join(text), self.encoding)
        return price_usage(
            self.info.pricing,
            prompt_tokens=prompt,
            completion_tokens=completion,
            latency=time.perf_counter() - started,
            time_to_first_token=first,
            estimated=estimated or self.estimated and reported is None,
        )
