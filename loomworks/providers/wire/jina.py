"""Jina AI: embeddings (`POST {base}/embeddings`, OpenAI-like) and rerank (`POST {base}/rerank`), Bearer.

The base URL ends in `/v1` (`https://api.jina.ai/v1`, Dify's default). Models of the v3/v4 families
take a `task` (`retrieval.passage` for documents, `retrieval.query` for queries); CLIP models take
inputs as `{"text": …}` objects. Errors are FastAPI-style `{"detail": …}` bodies.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from loomworks.providers.base import Credentials, EmbeddingResult, RerankHit, WireAdapter
from loomworks.providers.errors import (
    CredentialsValidateFailedError,
    InvokeAuthorizationError,
    InvokeConnectionError,
    InvokeError,
    InvokeServerUnavailableError,
    error_for_status,
)

DEFAULT_BASE_URL = "https://api.jina.ai/v1"
EMBED_BATCH = 2048
_TIMEOUT = httpx.Timeout(300.0, connect=10.0)
_TASK_FAMILIES = ("jina-embeddings-v3", "jina-embeddings-v4", "jina-clip-v2")


def vendor_message(text: str) -> str:
    """The message of a Jina (or TEI / OpenAI-style) error body."""
    try:
        payload = json.loads(text)
    except json.JSONDecodeError:
        return text.strip()[:500]
    if isinstance(payload, dict):
        for key in ("detail", "error", "message"):
            value = payload.get(key)
            if isinstance(value, dict) and value.get("message"):
                return str(value["message"])
            if isinstance(value, list) and value:
                return "; ".join(str(v.get("msg", v)) if isinstance(v, dict) else str(v) for v in value)
            if value:
                return str(value)
    return text.strip()[:500]


class JinaAdapter(WireAdapter, wire="jina"):
    """Jina embeddings and rerankers."""

    def _url(self, credentials: Credentials, path: str) -> str:
        base = credentials.base_url or credentials.get("base_url") or self.spec.get("base_url") or DEFAULT_BASE_URL
        return str(base).rstrip("/") + path

    def _headers(self, credentials: Credentials) -> dict[str, str]:
        key = credentials.api_key or str(credentials.get("api_key", ""))
        return {"Authorization": f"Bearer {key}", "Accept": "application/json"}

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

    def _error(self, status: int, text: str) -> InvokeError:
        return error_for_status(status, f"[{self.provider}] {vendor_message(text) or 'HTTP ' + str(status)}")

    async def embed(
        self, model: str, texts: list[str], credentials: Credentials, *, input_type: str = "document"
    ) -> EmbeddingResult:
        """Embed texts; v3/v4 models get the retrieval task that matches `input_type`."""
        vectors: list[list[float]] = []
        tokens = 0
        for start in range(0, len(texts), EMBED_BATCH):
            batch = texts[start : start + EMBED_BATCH]
            inputs: list[Any] = [{"text": t} for t in batch] if "clip" in model else list(batch)
            body: dict[str, Any] = {"model": model, "input": inputs, "embedding_type": "float"}
            if model.startswith(_TASK_FAMILIES):
                body["task"] = "retrieval.query" if input_type == "query" else "retrieval.passage"
            payload = await self._post(self._url(credentials, "/embeddings"), credentials, body)
            data = sorted(payload.get("data") or [], key=lambda item: int(item.get("index", 0)))
            if len(data) != len(batch):
                raise InvokeServerUnavailableError(f"[{self.provider}] The embedding answer does not match the input.")
            vectors += [list(item.get("embedding") or []) for item in data]
            tokens += int((payload.get("usage") or {}).get("total_tokens") or 0)
        return EmbeddingResult(vectors=vectors, prompt_tokens=tokens)

    async def rerank(
        self, model: str, query: str, docs: list[str], credentials: Credentials, *, top_n: int | None = None
    ) -> list[RerankHit]:
        """Rerank with `/rerank`; hits by descending `relevance_score`."""
        if not docs:
            return []
        body: dict[str, Any] = {"model": model, "query": query, "documents": docs, "return_documents": False}
        if top_n is not None:
            body["top_n"] = top_n
        payload = await self._post(self._url(credentials, "/rerank"), credentials, body)
        hits = []
        for item in payload.get("results") or []:
            index = int(item.get("index", -1))
            if not 0 <= index < len(docs):
                raise InvokeServerUnavailableError(f"[{self.provider}] Rerank answered an unknown index {index}.")
            hits.append(RerankHit(index=index, score=float(item.get("relevance_score", 0.0)), text=docs[index]))
        hits.sort(key=lambda hit: hit.score, reverse=True)
        return hits

    async def validate_credentials(self, credentials: Credentials, *, model_type: str, model: str | None) -> None:
        """One-word embedding or rerank; a refused key names the `api_key` field."""
        try:
            await super().validate_credentials(credentials, model_type=model_type, model=model)
        except CredentialsValidateFailedError as exc:
            if isinstance(exc.__cause__, InvokeAuthorizationError):
                raise CredentialsValidateFailedError(exc.message, params="api_key") from exc.__cause__
            raise
