"""`POST /v1/files/upload`: one multipart file per request, scoped to the app's end user."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as StarletteUpload

from loomworks.api.deps import KeyApp, State
from loomworks.api.responses import JsonResponse
from loomworks.core.clock import to_timestamp
from loomworks.core.errors import FileTooLargeError, InvalidParamError, NoFileUploadedError, TooManyFilesError
from loomworks.services import end_users, files

router = APIRouter(tags=["service: files"])

# Room for the multipart framing and the other form fields around the file itself.
_MULTIPART_OVERHEAD = 64 * 1024


@router.post("/files/upload", status_code=201)
async def upload(request: Request, app: KeyApp, state: State) -> JsonResponse:
    limits = state.size_limits
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limits.largest_bytes + _MULTIPART_OVERHEAD:
        raise FileTooLargeError()
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise NoFileUploadedError()
    async with request.form(max_files=8, max_fields=32) as form:
        uploads = [value for value in form.getlist("file") if isinstance(value, StarletteUpload)]
        if not uploads:
            raise NoFileUploadedError()
        if len(uploads) > 1:
            raise TooManyFilesError()
        user = form.get("user")
        if not isinstance(user, str) or not user:
            raise InvalidParamError("Arg user must be provided.", params="user")
        upload_file = uploads[0]
        data = await upload_file.read(limits.largest_bytes + 1)
        filename = upload_file.filename

    def save() -> dict[str, Any]:
        with state.db.session() as session:
            end_user = end_users.get_or_create(session, app=app, user=user)
            record = files.save_upload(
                session,
                state.storage,
                tenant_id=app.tenant_id,
                filename=filename,
                data=data,
                created_by_role="end_user",
                created_by=end_user.id,
                limits=limits,
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
