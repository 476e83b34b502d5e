"""Hugging Face: Text Embeddings Inference servers (`huggingface_tei`) and Inference Endpoints
(`huggingface_endpoint`).

TEI (`server_url`, optional Bearer `api_key`): `POST /embed` (`{"inputs": [...]}` → a list of
vectors, sent in batches of TEI's default `max_client_batch_size`, 32), `POST /rerank`
(`{"query", "texts"}` → `[{"index", "score"}]`), and `GET /info`, whose `model_type` tells an
embedding server from a reranker when credentials are validated. Errors are `{"error",
"error_type"}`.

Inference Endpoints (and the serverless router for `hosted_inference_api`) serve text generation
through TGI's OpenAI-compatible routes, `{endpoint_url}/v1/chat/completions`, and TEI containers the
OpenAI-style `/v1/embeddings`; that adapter therefore subclasses the OpenAI-compatible one and only
resolves the URL and the `huggingfacehub_api_token` credential.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from loomworks.providers.base import Credentials, EmbeddingResult, RerankHit, WireAdapter
from loomworks.providers.errors import (
    CredentialsValidateFailedError,
    InvokeBadRequestError,
    InvokeConnectionError,
    InvokeError,
    InvokeServerUnavailableError,
    error_for_status,
)
from loomworks.providers.wire.openai import OpenAICompatibleAdapter

TEI_BATCH = 32  # TEI's default --max-client-batch-size
HF_ROUTER = "https://router.huggingface.co/v1"
_TIMEOUT = httpx.Timeout(300.0, connect=10.0)
_TEI_TYPES = {"text-embedding": "embedding", "rerank": "reranker"}


def _message(text: str) -> str:
    try:
        payload = json.loads(text)
    except json.JSONDecodeError:
        return text.strip()[:500]
    if isinstance(payload, dict) and payload.get("error"):
        return str(payload["error"])
    return text.strip()[:500]


class TEIAdapter(WireAdapter, wire="huggingface_tei"):
    """A Text Embeddings Inference server: embeddings or reranking, whichever model it serves."""

    def _base(self, credentials: Credentials) -> str:
        base = str(credentials.base_url or credentials.get("server_url") or self.spec.get("base_url") or "")
        if not base:
            raise InvokeBadRequestError(f"[{self.provider}] No server URL is configured.")
        return base.rstrip("/")

    def _headers(self, credentials: Credentials) -> dict[str, str]:
        key = credentials.api_key or str(credentials.get("api_key") or "")
        return {"Authorization": f"Bearer {key}"} if key else {}

    async def _call(self, method: str, path: str, credentials: Credentials, body: dict[str, Any] | None = None) -> Any:
        url = self._base(credentials) + path
        try:
            response = await self.http.request(
                method, url, json=body, headers=self._headers(credentials), timeout=_TIMEOUT
            )
        except httpx.RequestError as exc:
            raise InvokeConnectionError(f"[{self.provider}] Cannot reach {url}: {exc}") from exc
        if response.status_code >= 400:
            raise self._error(response.status_code, response.text)
        try:
            return response.json()
        except ValueError as exc:
            raise InvokeConnectionError(f"[{self.provider}] The answer is not JSON: {response.text[:200]!r}") from exc

    def _error(self, status: int, text: str) -> InvokeError:
        return error_for_status(status, f"[{self.provider}] {_message(text) or 'HTTP ' + str(status)}")

    async def embed(
        self,
        model: str,  # noqa: ARG002 - a TEI server serves one model
        texts: list[str],
        credentials: Credentials,
        *,
        input_type: str = "document",  # noqa: ARG002 - TEI embeds documents and queries alike
    ) -> EmbeddingResult:
        """Embed texts with `POST /embed`, 32 per request, normalised, truncated to the model's length."""
        vectors: list[list[float]] = []
        for start in range(0, len(texts), TEI_BATCH):
            batch = texts[start : start + TEI_BATCH]
            payload = await self._call(
                "POST", "/embed", credentials, {"inputs": batch, "normalize": True, "truncate": True}
            )
            if not isinstance(payload, list) or len(payload) != len(batch):
                raise InvokeServerUnavailableError(f"[{self.provider}] The embedding answer does not match the input.")
            vectors += [list(vector) for vector in payload]
        return EmbeddingResult(vectors=vectors)

    async def rerank(
        self,
        model: str,  # noqa: ARG002 - a TEI server serves one model
        query: str,
        docs: list[str],
        credentials: Credentials,
        *,
        top_n: int | None = None,
    ) -> list[RerankHit]:
        """Rerank with `POST /rerank`; hits by descending score, cut to `top_n`."""
        if not docs:
            return []
        body = {"query": query, "texts": docs, "raw_scores": False, "truncate": True}
        payload = await self._call("POST", "/rerank", credentials, body)
        hits = []
        for item in payload if isinstance(payload, list) else []:
            index = int(item.get("index", -1))
            if not 0 <= index < len(docs):
                raise InvokeServerUnavailableError(f"[{self.provider}] Rerank answered an unknown index {index}.")
            hits.append(RerankHit(index=index, score=float(item.get("score", 0.0)), text=docs[index]))
        hits.sort(key=lambda hit: hit.score, reverse=True)
        return hits[:top_n] if top_n is not None else hits

    async def validate_credentials(
        self,
        credentials: Credentials,
        *,
        model_type: str,
        model: str | None,  # noqa: ARG002 - a TEI server serves one model
    ) -> None:
        """`GET /info`: the server answers, accepts the key, and serves the right kind of model."""
        try:
            info = await self._call("GET", "/info", credentials)
        except InvokeError as exc:
            field_name = "server_url" if isinstance(exc, InvokeConnectionError | InvokeBadRequestError) else "api_key"
            raise CredentialsValidateFailedError(exc.message, params=field_name) from exc
        served = set((info.get("model_type") or {}) if isinstance(info, dict) else {})
        wanted = _TEI_TYPES.get(model_type)
        if wanted is None or wanted not in served:
            kind = ", ".join(sorted(served)) or "unknown"
            raise CredentialsValidateFailedError(
                f"[{self.provider}] The server at this URL serves a {kind} model, not a {model_type} model.",
                params="server_url",
            )


class HuggingFaceEndpointAdapter(OpenAICompatibleAdapter, wire="huggingface_endpoint"):
    """Inference Endpoints (TGI / TEI containers) and the serverless router, over OpenAI routes."""

    api_key_required = True

    def base_url(self, credentials: Credentials) -> str:
        """`{endpoint_url}/v1`, or the serverless router for the `hosted_inference_api` type."""
        base = credentials.base_url or str(credentials.get("huggingfacehub_endpoint_url") or "")
        if not base and credentials.get("huggingfacehub_api_type") == "hosted_inference_api":
            base = HF_ROUTER
        base = base.rstrip("/")
        if not base:
            raise InvokeBadRequestError(f"[{self.provider}] No endpoint URL is configured.")
        return base if base.endswith("/v1") else base + "/v1"

    def api_key_field(self) -> str:
        """Dify's field name for the Hugging Face token."""
        return "huggingfacehub_api_token"
