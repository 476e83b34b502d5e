"""Speech for apps: audio to text for the user's voice, text to audio for answers."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.orm import Session

from loomworks.core.errors import (
    AppUnavailableError,
    AudioTooLargeError,
    InvalidParamError,
    NoAudioUploadedError,
    UnsupportedAudioTypeError,
)
from loomworks.services import apps, conversations
from loomworks.services.app_config import normalise_model_config
from loomworks.services.conversations import Owner
from loomworks.store.tables import App, Workflow

AUDIO_EXTENSIONS = ("mp3", "mp4", "mpeg", "mpga", "m4a", "wav", "webm", "amr")
AUDIO_LIMIT_BYTES = 30 * 1024 * 1024


class SpeechModels(Protocol):
    """The workspace's default speech-to-text and text-to-speech models.

    `transcribe` raises ProviderNotSupportSpeechToTextError and `synthesize`
    ProviderNotSupportTextToSpeechError when the workspace has no such model.
    """

    async def transcribe(self, *, tenant_id: str, audio: bytes, filename: str) -> str: ...

    async def synthesize(self, *, tenant_id: str, text: str, voice: str | None) -> tuple[bytes, str]: ...


def features(session: Session, app: App) -> dict[str, Any]:
    """The app's feature switches: `model_config` for chat apps, the workflow's `features` otherwise."""
    if app.mode in ("workflow", "advanced-chat"):
        workflow = session.get(Workflow, app.workflow_id) if app.workflow_id else None
        return dict(workflow.features) if workflow else {}
    return normalise_model_config(apps.model_config(session, app=app), app.mode)


def check_audio(filename: str | None, data: bytes) -> str:
    if not data:
        raise NoAudioUploadedError()
    extension = (filename or "").rsplit(".", 1)[-1].lower() if filename and "." in filename else ""
    if extension not in AUDIO_EXTENSIONS:
        raise UnsupportedAudioTypeError()
    if len(data) > AUDIO_LIMIT_BYTES:
        raise AudioTooLargeError(f"Audio size larger than {AUDIO_LIMIT_BYTES // 1024 // 1024} mb")
    return extension


def require_enabled(config: dict[str, Any], key: str) -> None:
    if not (config.get(key) or {}).get("enabled"):
        raise AppUnavailableError()


def text_for(session: Session, *, app: App, owner: Owner, message_id: str | None, text: str | None) -> str:
    """The text to speak: a message's answer (preferred when both are given) or the text sent."""
    if message_id:
        return conversations.get_message(session, app=app, owner=owner, message_id=message_id).answer
    if not text or not text.strip():
        raise InvalidParamError("text or message_id is required.", params="text")
    return text
