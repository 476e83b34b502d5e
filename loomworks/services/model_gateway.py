"""The workspace's models, bound to its credentials, as the chat pipeline, workflows and knowledge use them.

Credentials are opened from their sealed form only here and handed to the model runtime; they never
leave this module in clear. A bound LLM is remembered for a few seconds per (workspace, provider,
model), so a busy app costs no credential query and no AES-GCM unsealing per turn; any change to
provider credentials or custom models saved in this process forgets them at once (other processes
see it within `BOUND_TTL_SECONDS`, as with the API-key cache).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from loomworks.core.crypto import KeyRing
from loomworks.core.errors import (
    ProviderNotInitializeError,
    ProviderNotSupportSpeechToTextError,
    ProviderNotSupportTextToSpeechError,
)
from loomworks.providers.base import LLMRequest
from loomworks.providers.errors import CredentialsValidateFailedError
from loomworks.providers.runtime import BoundLLM, BoundModel, CredentialSet, ModelRuntime
from loomworks.services import model_catalog, model_providers
from loomworks.services.chat.llm import ChatModel, ChatRequest, Delta
from loomworks.store.db import Database
from loomworks.store.tables import CustomModel, ProviderCredential

BOUND_TTL_SECONDS = 5.0
_BOUND_MAX = 4096

# Bumped whenever a credential row changes in this process (flush and commit), so that bound models
# cached before the change are never used after it.
_generation = itertools.count(1)
_credentials_generation = [next(_generation)]


def _credentials_changed(*_args: Any) -> None:
    _credentials_generation[0] = next(_generation)


def _row_changed(_mapper: Any, _connection: Any, target: Any) -> None:
    _credentials_changed()
    session = Session.object_session(target)
    if session is not None:
        # A model bound between this flush and the commit read the old rows: forget it again.
        event.listen(session, "after_commit", _credentials_changed, once=True)


for _table in (ProviderCredential, CustomModel):
    for _name in ("after_insert", "after_update", "after_delete"):
        event.listen(_table, _name, _row_changed)


class RuntimeChatModel:
    """The chat pipeline's model port over a runtime-bound LLM."""

    def __init__(self, bound: BoundLLM) -> None:
        self.bound = bound
        self.provider, self.model, self.context_size = bound.provider, bound.model, bound.context_size

    def count_tokens(self, messages: list[dict[str, Any]]) -> int:
        return self.bound.count_tokens(messages)

    async def stream(self, request: ChatRequest) -> AsyncIterator[Delta]:
        llm_request = LLMRequest(
            model=self.model,
            messages=request.messages,
            parameters=request.parameters,
            stop=request.stop,
            mode=request.mode,
            user=request.user,
        )
        async for chunk in self.bound.stream(llm_request):
            if chunk.usage is not None:
                yield Delta(usage=chunk.usage, finish_reason=chunk.finish_reason)
            elif chunk.text:
                yield Delta(text=chunk.text)


def _sets(rows: list[tuple[Any, dict[str, Any]]]) -> list[CredentialSet]:
    return [CredentialSet(id=row.id, values=values) for row, values in rows]


class WorkspaceModels:
    """Resolves `(provider, model)` for a workspace from its saved provider or custom-model credentials."""

    def __init__(self, keyring: KeyRing, runtime: ModelRuntime) -> None:
        self.keyring = keyring
        self.runtime = runtime
        self._bound: dict[tuple[str, str, str], tuple[int, float, BoundLLM]] = {}

    def credential_sets(
        self, session: Session, *, tenant_id: str, provider: str, model: str, model_type: str
    ) -> tuple[list[CredentialSet], dict[str, Any] | None]:
        """The credential sets to call a model with, and the custom model's own values if it is one."""
        name = model_providers.provider_name(provider)
        custom = model_providers.custom_model_credentials(
            session, keyring=self.keyring, tenant_id=tenant_id, provider=name, model=model, model_type=model_type
        )
        if custom is not None:
            return [CredentialSet(id=f"custom:{name}:{model}", values=custom)], custom
        rows = model_providers.credentials_of(session, keyring=self.keyring, tenant_id=tenant_id, provider=name)
        return _sets(rows), None

    def cached_llm(self, *, tenant_id: str, provider: str, model: str) -> BoundLLM | None:
        """The LLM bound recently with unchanged credentials, if any (no database access)."""
        found = self._bound.get((tenant_id, provider, model))
        if found is None or found[0] != _credentials_generation[0] or found[1] < time.monotonic():
            return None
        return found[2]

    def bind_llm(self, session: Session, *, tenant_id: str, provider: str, model: str) -> BoundLLM:
        if not provider or not model:
            raise ProviderNotInitializeError("The app has no model configured.")
        cached = self.cached_llm(tenant_id=tenant_id, provider=provider, model=model)
        if cached is not None:
            return cached
        generation = _credentials_generation[0]
        sets, custom = self.credential_sets(
            session, tenant_id=tenant_id, provider=provider, model=model, model_type="llm"
        )
        if not sets:
            raise ProviderNotInitializeError()
        bound = self.runtime.llm(
            provider=model_providers.provider_name(provider), model=model, credentials=sets, custom=custom
        )
        if len(self._bound) >= _BOUND_MAX:
            self._bound.clear()
        self._bound[(tenant_id, provider, model)] = (generation, time.monotonic() + BOUND_TTL_SECONDS, bound)
        return bound

    def resolve(self, session: Session, *, tenant_id: str, provider: str, model: str) -> ChatModel:
        return RuntimeChatModel(self.bind_llm(session, tenant_id=tenant_id, provider=provider, model=model))

    def cached(self, *, tenant_id: str, provider: str, model: str) -> ChatModel | None:
        """`resolve` without the database when the model was bound recently (the chat hot path)."""
        bound = self.cached_llm(tenant_id=tenant_id, provider=provider, model=model)
        return RuntimeChatModel(bound) if bound is not None else None

    def bind(self, session: Session, *, tenant_id: str, provider: str, model: str, model_type: str) -> BoundModel:
        """An embedding, rerank, speech or moderation model of the workspace."""
        sets, _ = self.credential_sets(
            session, tenant_id=tenant_id, provider=provider, model=model, model_type=model_type
        )
        if not sets:
            raise ProviderNotInitializeError()
        return self.runtime.speech(
            provider=model_providers.provider_name(provider), model=model, model_type=model_type, credentials=sets
        )

    def bind_default(self, session: Session, *, tenant_id: str, model_type: str) -> BoundModel | None:
        row = model_providers.default_model(session, tenant_id=tenant_id, model_type=model_type)
        if row is None:
            return None
        return self.bind(session, tenant_id=tenant_id, provider=row.provider, model=row.model, model_type=model_type)

    async def validate(self, provider: str, credentials: dict[str, Any], model: str | None = None) -> None:
        """The console's credential check: a real call through the provider's adapter."""
        spec = model_catalog.get_provider(provider)
        model_type = "llm"
        if model is None and "llm" not in (spec.get("supported_model_types") or []):
            model_type = (spec.get("supported_model_types") or ["llm"])[0]
        try:
            await self.runtime.validate(
                provider=spec["provider"], values=credentials, model_type=model_type, model=model
            )
        except CredentialsValidateFailedError as exc:
            if exc.params is None:
                secret = [f["variable"] for f in model_catalog.provider_form(spec) if f.get("type") == "secret-input"]
                exc.params = secret[0] if secret else None
            raise


class WorkspaceEmbedder:
    """The `Embed` seam (tenant, provider, model, texts → vectors) over the runtime."""

    def __init__(self, db: Database, models: WorkspaceModels) -> None:
        self.db, self.models = db, models

    async def __call__(self, tenant_id: str, provider: str, model: str, texts: list[str]) -> list[list[float]]:
        def bind() -> BoundModel:
            with self.db.session() as session:
                return self.models.bind(
                    session, tenant_id=tenant_id, provider=provider, model=model, model_type="text-embedding"
                )

        bound = await run_in_threadpool(bind)
        result, _ = await bound.embed(texts)
        return result.vectors


class WorkspaceSpeech:
    """The workspace's default speech-to-text and text-to-speech models."""

    def __init__(self, db: Database, models: WorkspaceModels) -> None:
        self.db, self.models = db, models

    async def _default(self, tenant_id: str, model_type: str) -> BoundModel | None:
        def bind() -> BoundModel | None:
            with self.db.session() as session:
                return self.models.bind_default(session, tenant_id=tenant_id, model_type=model_type)

        try:
            return await run_in_threadpool(bind)
        except ProviderNotInitializeError:
            return None

    async def transcribe(self, *, tenant_id: str, audio: bytes, filename: str) -> str:
        bound = await self._default(tenant_id, "speech2text")
        if bound is None:
            raise ProviderNotSupportSpeechToTextError()
        return await bound.transcribe(audio, filename)

    async def synthesize(self, *, tenant_id: str, text: str, voice: str | None) -> tuple[bytes, str]:
        bound = await self._default(tenant_id, "tts")
        if bound is None:
            raise ProviderNotSupportTextToSpeechError()
        audio = b"".join([piece async for piece in bound.synthesize(text, voice)])
        return audio, "audio/mpeg"


class WorkspaceReranker:
    """The knowledge `Rerank` seam (tenant, provider, model, query, documents → one score per document)."""

    def __init__(self, db: Database, models: WorkspaceModels) -> None:
        self.db, self.models = db, models

    async def __call__(
        self, tenant_id: str, provider: str, model: str, query: str, documents: list[str]
    ) -> list[float]:
        def bind() -> BoundModel:
            with self.db.session() as session:
                return self.models.bind(
                    session, tenant_id=tenant_id, provider=provider, model=model, model_type="rerank"
                )

        bound = await run_in_threadpool(bind)
        scores = [0.0] * len(documents)
        for hit in await bound.rerank(query, documents):
            if 0 <= hit.index < len(scores):
                scores[hit.index] = float(hit.score)
        return scores


class WorkspaceCompleter:
    """The knowledge `Complete` seam (tenant, prompt → text) over the workspace's default LLM (Q&A generation)."""

    def __init__(self, db: Database, models: WorkspaceModels) -> None:
        self.db, self.models = db, models

    async def __call__(self, tenant_id: str, prompt: str) -> str:
        def bind() -> BoundLLM:
            with self.db.session() as session:
                row = model_providers.default_model(session, tenant_id=tenant_id, model_type="llm")
                if row is None:
                    raise ProviderNotInitializeError("Set a default LLM to generate question-answer pairs.")
                return self.models.bind_llm(session, tenant_id=tenant_id, provider=row.provider, model=row.model)

        bound = await run_in_threadpool(bind)
        request = LLMRequest(model=bound.model, messages=[{"role": "user", "content": prompt}])
        return "".join([chunk.text async for chunk in bound.stream(request)])
