"""Console uploads: `GET/POST /console/api/files/upload` (documents for knowledge, images for chats)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as StarletteUpload

from loomworks.api.deps import CurrentCaller, State
from loomworks.api.responses import JsonResponse
from loomworks.core.clock import to_timestamp
from loomworks.core.errors import FileTooLargeError, NoFileUploadedError, TooManyFilesError
from loomworks.services import files

router = APIRouter(prefix="/files", tags=["console: files"])


@router.get("/upload")
def upload_limits(caller: CurrentCaller, state: State) -> dict[str, Any]:
    s = state.settings
    return {
        "file_size_limit": s.upload_file_size_limit_mb,
        "batch_count_limit": 5,
        "image_file_size_limit": s.upload_image_file_size_limit_mb,
        "video_file_size_limit": s.upload_video_file_size_limit_mb,
        "audio_file_size_limit": s.upload_audio_file_size_limit_mb,
        "workflow_file_upload_limit": s.workflow_file_upload_limit,
    }


@router.post("/upload", status_code=201)
async def upload(request: Request, caller: CurrentCaller, state: State, source: str | None = None) -> JsonResponse:
    limits = state.size_limits
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limits.largest_bytes + 65536:
        raise FileTooLargeError()
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise NoFileUploadedError()
    async with request.form(max_files=4, max_fields=8) as form:
        uploads = [v for v in form.getlist("file") if isinstance(v, StarletteUpload)]
        if not uploads:
            raise NoFileUploadedError()
        if len(uploads) > 1:
            raise TooManyFilesError()
        data = await uploads[0].read(limits.largest_bytes + 1)
        filename = uploads[0].filename
    kinds = frozenset({"document"}) if source == "datasets" else frozenset({"image", "document", "audio", "video"})

    def save() -> dict[str, Any]:
        with state.db.session() as session:
            record = files.save_upload(
                session,
                state.storage,
                tenant_id=caller.tenant_id,
                filename=filename,
                data=data,
                created_by_role="account",
                created_by=caller.account_id,
                limits=limits,
                allowed_kinds=kinds,
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
