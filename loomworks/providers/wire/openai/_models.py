"""The model list (`GET /models`) and the credential check built on it."""

from __future__ import annotations

from loomworks.providers.base import Credentials, ModelInfo
from loomworks.providers.errors import (
    CredentialsValidateFailedError,
    InvokeAuthorizationError,
    InvokeConnectionError,
    InvokeError,
)
from loomworks.providers.wire.openai._base import OpenAIBase


class ModelsMixin(OpenAIBase):
    """Listing the server's models, and checking credentials with the cheapest real call."""

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
