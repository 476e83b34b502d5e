"""The web app's files and speech: `POST /api/files/upload`, `/api/audio-to-text`, `/api/text-to-audio`.

The same services as the Service API's routes, with the visitor's passport in place of an app key
and its `user` field: uploads belong to the visitor's end user, and spoken answers are looked up
among the visitor's own messages. Each route is open only when the app turns the feature on (file
upload, or a file field in its form; speech to text; text to speech), as the web app's buttons are.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as StarletteUpload

from loomworks.api.deps import ServerState, State
from loomworks.api.responses import JsonResponse
from loomworks.api.web.routes import Visitor
from loomworks.core.clock import to_timestamp
from loomworks.core.errors import (
    AppUnavailableError,
    AudioTooLargeError,
    FileTooLargeError,
    NoAudioUploadedError,
    NoFileUploadedError,
    TooManyFilesError,
    UnsupportedFileTypeError,
)
from loomworks.services import apps, files, speech
from loomworks.services.app_config import normalise_model_config, parameters
from loomworks.services.conversations import Owner
from loomworks.services.workflow_parameters import WORKFLOW_MODES, app_parameters
from loomworks.store.tables import App

router = APIRouter(prefix="/api", tags=["web app"])

# Room for the multipart framing around the file itself.
_MULTIPART_OVERHEAD = 64 * 1024
_KINDS = ("image", "document", "audio", "video")
_FILE_FIELDS = ("file", "file-list")


def _app_parameters(state: ServerState, app: App) -> dict[str, Any]:
    """What `/api/parameters` tells the browser: the upload settings and the form's file fields."""
    with state.db.session() as session:
        if app.mode in WORKFLOW_MODES:
            return app_parameters(session, app=app, limits=state.upload_limits)
        config = apps.model_config(session, app=app)
    return parameters(normalise_model_config(config, app.mode), state.upload_limits)


def _accepts(setting: dict[str, Any], kinds: set[str], extensions: set[str]) -> None:
    """Add what one upload setting (`file_upload`, or a file field of the form) lets visitors send."""
    types = setting.get("allowed_file_types") or list(_KINDS)
    kinds.update(t for t in types if t in _KINDS)
    if "custom" in types:
        extensions.update(str(e).lstrip(".").lower() for e in setting.get("allowed_file_extensions") or [])


def accepted_files(params: dict[str, Any]) -> tuple[frozenset[str], frozenset[str]]:
    """The kinds of file (`image`, `document`, …) and the extra extensions an app takes from visitors.

    Both Dify layouts of `file_upload` count (the older `image` block, and `enabled` with
    `allowed_file_types`), and so does every `file`/`file-list` field of the app's input form.
    """
    kinds: set[str] = set()
    extensions: set[str] = set()
    upload = params.get("file_upload") or {}
    if (upload.get("image") or {}).get("enabled"):
        kinds.add("image")
    if upload.get("enabled"):
        _accepts(upload, kinds, extensions)
    for item in params.get("user_input_form") or []:
        for kind, field in item.items() if isinstance(item, dict) else ():
            if kind in _FILE_FIELDS and isinstance(field, dict):
                _accepts(field, kinds, extensions)
    return frozenset(kinds), frozenset(extensions)


def _accepted_or_refuse(state: ServerState, app: App) -> tuple[frozenset[str], frozenset[str]]:
    kinds, extensions = accepted_files(_app_parameters(state, app))
    if not kinds and not extensions:
        raise AppUnavailableError("File upload is not enabled for this app.")
    return kinds, extensions


def _allowed_kind(kinds: frozenset[str], extensions: frozenset[str], filename: str | None) -> frozenset[str]:
    """The kind this upload may be stored as (`unsupported_file_type` when the app does not take it)."""
    if not filename:
        return kinds  # `save_upload` answers `filename_not_exists_error`
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    extension = base.rsplit(".", 1)[-1].lower() if "." in base else ""
    kind = files.kind_of(extension)
    if kind is None or (kind not in kinds and extension not in extensions):
        raise UnsupportedFileTypeError()
    return frozenset({kind})


def _too_large(request: Request, limit: int) -> bool:
    declared = request.headers.get("content-length")
    return declared is not None and declared.isdigit() and int(declared) > limit + _MULTIPART_OVERHEAD


def _is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith("multipart/form-data")


@router.post("/files/upload", status_code=201)
async def upload(request: Request, visitor: Visitor, state: State) -> JsonResponse:
    limits = state.size_limits
    if _too_large(request, limits.largest_bytes):
        raise FileTooLargeError()
    if not _is_multipart(request):
        raise NoFileUploadedError()
    # Refuse before reading the body when the app takes no files at all.
    kinds, extensions = await run_in_threadpool(_accepted_or_refuse, state, visitor.app)
    # A few files are read so that more than one is refused as `too_many_files`, as Dify does.
    async with request.form(max_files=8, max_fields=32) as form:
        uploads = [value for value in form.getlist("file") if isinstance(value, StarletteUpload)]
        if not uploads:
            raise NoFileUploadedError()
        if len(uploads) > 1:
            raise TooManyFilesError()
        data = await uploads[0].read(limits.largest_bytes + 1)
        filename = uploads[0].filename

    def save() -> dict[str, Any]:
        allowed = _allowed_kind(kinds, extensions, filename)
        with state.db.session() as session:
            record = files.save_upload(
                session,
                state.storage,
                tenant_id=visitor.app.tenant_id,
                filename=filename,
                data=data,
                created_by_role="end_user",
                created_by=visitor.end_user.id,
                limits=limits,
                allowed_kinds=allowed,
            )
            return {
                "id": record.id,
                "name": record.name,
                "size": record.size,
                "extension": record.extension,
                "mime_type": record.mime_type,
                "created_by": record.created_by,
                "created_at": to_timestamp(record.created_at),
            }

    return JsonResponse(await run_in_threadpool(save), status_code=201)


def _features(state: ServerState, app: App, key: str) -> dict[str, Any]:
    """The app's feature switches, once `key` (`speech_to_text`, `text_to_speech`) is known to be on."""
    with state.db.session() as session:
        config = speech.features(session, app)
    speech.require_enabled(config, key)
    return config


@router.post("/audio-to-text")
async def audio_to_text(request: Request, visitor: Visitor, state: State) -> dict[str, str]:
    if _too_large(request, speech.AUDIO_LIMIT_BYTES):
        raise AudioTooLargeError(f"Audio size larger than {speech.AUDIO_LIMIT_BYTES // 1024 // 1024} mb")
    if not _is_multipart(request):
        raise NoAudioUploadedError()
    await run_in_threadpool(_features, state, visitor.app, "speech_to_text")
    async with request.form(max_files=2, max_fields=8) as form:
        uploads = [value for value in form.getlist("file") if isinstance(value, StarletteUpload)]
        if not uploads:
            raise NoAudioUploadedError()
        data = await uploads[0].read(speech.AUDIO_LIMIT_BYTES + 1)
        filename = uploads[0].filename
    speech.check_audio(filename, data)
    models: speech.SpeechModels = state.extras["speech"]
    return {"text": await models.transcribe(tenant_id=visitor.app.tenant_id, audio=data, filename=filename or "a")}


class WebTextToAudioBody(BaseModel):
    message_id: str | None = None
    text: str | None = None
    voice: str | None = None
    streaming: bool = False


@router.post("/text-to-audio")
async def text_to_audio(body: WebTextToAudioBody, visitor: Visitor, state: State) -> Response:
    def prepare() -> tuple[str, str | None]:
        config = _features(state, visitor.app, "text_to_speech")
        voice = body.voice or (config.get("text_to_speech") or {}).get("voice") or None
        owner = Owner(end_user_id=visitor.end_user.id)
        with state.db.session() as session:
            text = speech.text_for(session, app=visitor.app, owner=owner, message_id=body.message_id, text=body.text)
        return text, voice

    text, voice = await run_in_threadpool(prepare)
    models: speech.SpeechModels = state.extras["speech"]
    audio, mime = await models.synthesize(tenant_id=visitor.app.tenant_id, text=text, voice=voice)
    return Response(audio, media_type=mime)
