"""Speech to text (`/audio/transcriptions`) and text to speech (`/audio/speech`, streamed)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from loomworks.providers.base import Credentials
from loomworks.providers.errors import InvokeConnectionError
from loomworks.providers.wire.openai._base import OpenAIBase


class AudioMixin(OpenAIBase):
    """The `speech2text` and `tts` model types."""

    async def transcribe(self, model: str, audio: bytes, filename: str, credentials: Credentials) -> str:
        """`/audio/transcriptions` with a multipart `file` and `model`."""
        response = await self.request(
            "POST",
            self.url(credentials, "/audio/transcriptions", model),
            credentials,
            files={"file": (filename or "audio.mp3", audio)},
            data={"model": self.wire_model(model, credentials)},
        )
        try:
            return str(response.json()["text"])
        except (ValueError, KeyError, TypeError) as exc:
            raise InvokeConnectionError(f"[{self.provider}] Unexpected transcription: {response.text[:200]}") from exc

    async def synthesize(
        self, model: str, text: str, voice: str | None, credentials: Credentials
    ) -> AsyncIterator[bytes]:
        """`/audio/speech`, streamed; the voice defaults to the model's `default_voice` (else `alloy`)."""
        props = self.model_yaml(model, "tts").get("model_properties") or {}
        body = {
            "model": self.wire_model(model, credentials),
            "input": text,
            "voice": voice or props.get("default_voice") or "alloy",
            "response_format": props.get("audio_type") or "mp3",
        }
        async with self.open_stream(self.url(credentials, "/audio/speech", model), credentials, body) as response:
            try:
                async for piece in response.aiter_bytes():
                    yield piece
            except httpx.TransportError as exc:
                raise InvokeConnectionError(f"[{self.provider}] The audio stream broke: {exc}") from exc
