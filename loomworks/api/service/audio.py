"""`POST /v1/audio-to-text` and `POST /v1/text-to-audio` (Dify's Service API)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as StarletteUpload

from loomworks.api.deps import KeyApp, State
from loomworks.api.service.chat import _owner_of
from loomworks.core.errors import InvalidParamError, NoAudioUploadedError
from loomworks.services import speech

router = APIRouter(tags=["service: audio"])


@router.post("/audio-to-text")
async def audio_to_text(request: Request, app: KeyApp, state: State) -> dict[str, str]:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise NoAudioUploadedError()
    async with request.form(max_files=2, max_fields=8) as form:
        uploads = [v for v in form.getlist("file") if isinstance(v, StarletteUpload)]
        if not uploads:
            raise NoAudioUploadedError()
        user = form.get("user")
        data = await uploads[0].read(speech.AUDIO_LIMIT_BYTES + 1)
        filename = uploads[0].filename
    if not isinstance(user, str) or not user:
        raise InvalidParamError("Arg user must be provided.", params="user")
    speech.check_audio(filename, data)

    def config() -> None:
        with state.db.session() as session:
            speech.require_enabled(speech.features(session, app), "speech_to_text")

    await run_in_threadpool(config)
    text = await state.extras["speech"].transcribe(tenant_id=app.tenant_id, audio=data, filename=filename or "a")
    return {"text": text}


class TextToAudioBody(BaseModel):
    message_id: str | None = None
    text: str | None = None
    user: str | None = None
    voice: str | None = None
    streaming: bool = False


@router.post("/text-to-audio")
async def text_to_audio(body: TextToAudioBody, app: KeyApp, state: State) -> Response:
    def prepare() -> tuple[str, str | None]:
        owner = _owner_of(state, app, body.user)
        with state.db.session() as session:
            config = speech.features(session, app)
            voice = body.voice or (config.get("text_to_speech") or {}).get("voice") or None
            return speech.text_for(session, app=app, owner=owner, message_id=body.message_id, text=body.text), voice

    text, voice = await run_in_threadpool(prepare)
    audio, mime = await state.extras["speech"].synthesize(tenant_id=app.tenant_id, text=text, voice=voice)
    return Response(audio, media_type=mime)
