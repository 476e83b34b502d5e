"""Azure OpenAI: OpenAI's format under per-deployment paths.

Each custom model is a *deployment*: its name is the model name, and the URL is
`{openai_api_base}/openai/deployments/{deployment}/<endpoint>?api-version={openai_api_version}` with
the key in an `api-key` header. `base_model_name` says which OpenAI model the deployment runs, which
decides the request shape (reasoning models take `max_completion_tokens` and no sampling knobs).
"""

from __future__ import annotations

import io
import wave
from typing import Any
from urllib.parse import quote

from loomworks.providers.base import Credentials, LLMRequest, ModelInfo
from loomworks.providers.errors import InvokeAuthorizationError, InvokeBadRequestError, InvokeError
from loomworks.providers.wire.openai import OpenAIAdapter, is_reasoning_model

DEFAULT_API_VERSION = "2024-10-21"


class AzureOpenAIAdapter(OpenAIAdapter, wire="azure_openai"):
    """Azure OpenAI deployments: chat, completions, embeddings, transcription and speech."""

    embed_encoding = "float"

    def base_url(self, credentials: Credentials) -> str:
        """The resource endpoint, e.g. `https://my-resource.openai.azure.com` (no `/openai`)."""
        base = (credentials.base_url or str(credentials.get("openai_api_base") or "")).rstrip("/")
        base = base.removesuffix("/openai")
        if not base:
            raise InvokeBadRequestError(f"[{self.provider}] The Azure endpoint (openai_api_base) is not set.")
        return base

    def url(self, credentials: Credentials, path: str, model: str = "") -> str:
        """`{base}/openai/deployments/{deployment}{path}?api-version=…`."""
        version = quote(str(credentials.get("openai_api_version") or DEFAULT_API_VERSION), safe="")
        if not model:
            return f"{self.base_url(credentials)}/openai{path}?api-version={version}"
        deployment = quote(model, safe="")
        return f"{self.base_url(credentials)}/openai/deployments/{deployment}{path}?api-version={version}"

    def api_key_field(self) -> str:
        return "openai_api_key"

    def headers(self, credentials: Credentials) -> dict[str, str]:
        """Azure's `api-key` header (not a bearer token)."""
        key = self.api_key(credentials)
        if not key:
            raise InvokeAuthorizationError(f"[{self.provider}] The API key (openai_api_key) is missing.")
        return {"api-key": key}

    def reasoning(self, model: str, credentials: Credentials) -> bool:
        return is_reasoning_model(str(credentials.get("base_model_name") or model))

    def stream_usage(self, credentials: Credentials) -> bool:
        """Azure takes `stream_options` from API version 2024-09-01 on; older versions refuse it."""
        version = str(credentials.get("openai_api_version") or DEFAULT_API_VERSION)
        return version[:10] >= "2024-09-01"

    def chat_body(self, request: LLMRequest, credentials: Credentials) -> dict[str, Any]:
        body = super().chat_body(request, credentials)
        # The deployment in the path chooses the model; Azure ignores a body `model`.
        body.pop("model", None)
        return body

    async def list_models(self, credentials: Credentials) -> list[ModelInfo]:  # noqa: ARG002 - the base signature
        """Deployments are listed by Azure's management API, not the data plane: not supported."""
        raise self._unsupported("fetching the model list")

    async def validate_credentials(self, credentials: Credentials, *, model_type: str, model: str | None) -> None:
        """The cheapest real call on the deployment (Azure's data plane has no key check of its own)."""
        try:
            if model_type == "text-embedding":
                await self.embed(model or "", ["ping"], credentials)
            elif model_type == "speech2text":
                await self.transcribe(model or "", _silence(), "ping.wav", credentials)
            elif model_type == "tts":
                async for _ in self.synthesize(model or "", "ping", None, credentials):
                    pass
            else:
                request = LLMRequest(
                    model=model or "",
                    messages=[{"role": "user", "content": "ping"}],
                    parameters={"max_tokens": 1},
                    stream=False,
                )
                async for _ in self.stream_llm(request, credentials):
                    pass
        except InvokeError as exc:
            raise self._validation_error(exc) from exc


def _silence() -> bytes:
    """A tenth of a second of 16 kHz mono silence as WAV: the smallest audio a transcription accepts."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\0\0" * 1600)
    return buffer.getvalue()
