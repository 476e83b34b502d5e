"""The two registered adapters, each put together from the model-type mixins beside this module."""

from __future__ import annotations

from loomworks.providers.base import Credentials, WireAdapter
from loomworks.providers.errors import CredentialsValidateFailedError, InvokeBadRequestError, InvokeError
from loomworks.providers.wire.openai._audio import AudioMixin
from loomworks.providers.wire.openai._chat import ChatMixin
from loomworks.providers.wire.openai._embeddings import EmbeddingsMixin, RerankMixin
from loomworks.providers.wire.openai._models import ModelsMixin
from loomworks.providers.wire.openai._moderation import ModerationMixin


class OpenAIAdapter(ChatMixin, EmbeddingsMixin, AudioMixin, ModerationMixin, ModelsMixin, wire="openai"):
    """OpenAI's own API: chat, completions, embeddings, audio, moderation and the model list."""


class OpenAICompatibleAdapter(RerankMixin, OpenAIAdapter, wire="openai_compatible"):
    """Any server that speaks OpenAI's format at its own base URL; the API key is optional."""

    api_key_required = False
    embed_encoding = "float"  # not every compatible server knows base64

    def wire_model(self, model: str, credentials: Credentials) -> str:
        """Xinference names the model by its uid; Dify's compatible form may name the endpoint's model."""
        return str(credentials.get("model_uid") or credentials.get("endpoint_model_name") or model)

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
