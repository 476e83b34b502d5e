"""The `local` wire: models that run in this process (catalogue provider `local`), no HTTP involved.

The runtime imports the modules of `providers/wire/`; a one-line `wire/local.py` that imports
`LocalAdapter` from here registers it.
"""

from __future__ import annotations

from loomworks.providers.base import Credentials, EmbeddingResult, ModelInfo, WireAdapter
from loomworks.providers.errors import CredentialsValidateFailedError, InvokeBadRequestError

# The model module (numpy) is imported on first use: the runtime imports this adapter at start-up.


class LocalAdapter(WireAdapter, wire="local"):
    """Text embeddings with the bundled all-MiniLM-L6-v2 (`MiniLMEmbedder.shared()`); no credentials."""

    async def embed(
        self,
        model: str,
        texts: list[str],
        credentials: Credentials,  # noqa: ARG002 - nothing to authenticate
        *,
        input_type: str = "document",  # noqa: ARG002 - the model embeds queries and documents alike
    ) -> EmbeddingResult:
        """Embed texts in a worker thread; the token count is the model's own (whole texts, specials included)."""
        from loomworks.providers.local.minilm import MODEL_NAME, MiniLMEmbedder

        if model != MODEL_NAME:
            raise InvokeBadRequestError(f"[{self.provider}] Unknown local model {model!r}; there is {MODEL_NAME}.")
        embedder = MiniLMEmbedder.shared()
        vectors = await embedder.aembed(texts)
        counts = await embedder.acount_tokens(texts)
        return EmbeddingResult(vectors=vectors.tolist(), prompt_tokens=sum(counts))

    async def list_models(self, credentials: Credentials) -> list[ModelInfo]:  # noqa: ARG002
        """Nothing beyond the predefined models of the catalogue."""
        return []

    async def validate_credentials(self, credentials: Credentials, *, model_type: str, model: str | None) -> None:  # noqa: ARG002
        """There are no credentials; fail (with the reason) only when the model is not installed here."""
        from loomworks.providers.local.minilm import MiniLMEmbedder

        reason = MiniLMEmbedder.shared().unavailable_reason()
        if reason is not None:
            raise CredentialsValidateFailedError(reason)


__all__ = ["LocalAdapter"]
