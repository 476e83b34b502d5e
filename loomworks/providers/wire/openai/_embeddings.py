"""Embeddings (`/embeddings`, base64 or float) and the common `/rerank` endpoint."""

from __future__ import annotations

import base64
import sys
from array import array
from typing import Any

from loomworks.providers.base import Credentials, EmbeddingResult, RerankHit
from loomworks.providers.errors import InvokeConnectionError, InvokeServerUnavailableError
from loomworks.providers.wire.openai._base import OpenAIBase

EMBED_BATCH = 2048


class EmbeddingsMixin(OpenAIBase):
    """The `text-embedding` model type."""

    embed_encoding = "base64"  # OpenAI's own API: a quarter of the bytes of float JSON.

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


class RerankMixin(OpenAIBase):
    """The `rerank` model type, as the compatible servers offer it (OpenAI itself has none)."""

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
