"""The workspace's models, bound to its credentials, as the chat pipeline and workflows use them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from loomworks.core.errors import (
    ProviderNotInitializeError,
    ProviderNotSupportSpeechToTextError,
    ProviderNotSupportTextToSpeechError,
)
from loomworks.services.chat.llm import ChatModel
from loomworks.store.tables import ProviderCredential


class WorkspaceModels:
    """Resolves `(provider, model)` for a workspace from its saved provider credentials."""

    def resolve(self, session: Session, *, tenant_id: str, provider: str, model: str) -> ChatModel:
        if not provider or not model:
            raise ProviderNotInitializeError("The app has no model configured.")
        credential = session.scalar(
            select(ProviderCredential).where(
                ProviderCredential.tenant_id == tenant_id,
                ProviderCredential.provider == provider,
                ProviderCredential.enabled.is_(True),
            )
        )
        if credential is None:
            raise ProviderNotInitializeError()
        # TODO(#3): bind the model runtime's adapter for this provider with the decrypted credentials.
        raise ProviderNotInitializeError(f"Provider {provider} is not available in this build yet.")


class WorkspaceSpeech:
    """The workspace's default speech-to-text and text-to-speech models."""

    async def transcribe(self, *, tenant_id: str, audio: bytes, filename: str) -> str:  # noqa: ARG002
        # TODO(#3): the workspace's default speech2text model through the model runtime.
        raise ProviderNotSupportSpeechToTextError()

    async def synthesize(self, *, tenant_id: str, text: str, voice: str | None) -> tuple[bytes, str]:  # noqa: ARG002
        # TODO(#3): the workspace's default tts model through the model runtime.
        raise ProviderNotSupportTextToSpeechError()
