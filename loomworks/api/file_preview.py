"""Signed, short-lived links to stored files (`/files/{id}/file-preview`, `/files/{id}/image-preview`)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import select

from loomworks.api.deps import State
from loomworks.core.errors import ForbiddenError, NotFoundError
from loomworks.services import message_files
from loomworks.store.tables import UploadFile

router = APIRouter(prefix="/files", tags=["files"])


@router.get("/{file_id}/file-preview")
@router.get("/{file_id}/image-preview")
def preview(file_id: str, state: State, timestamp: str = "", sign: str = "") -> Response:
    if not message_files.verify(state.auth.secret_key, file_id, timestamp, sign):
        raise ForbiddenError("Invalid or expired file link.")
    with state.db.session() as session:
        row = session.scalar(select(UploadFile).where(UploadFile.id == file_id))
    if row is None:
        raise NotFoundError("File not found.")
    try:
        data = state.storage.load(row.key)
    except FileNotFoundError as exc:
        raise NotFoundError("File not found.") from exc
    return Response(
        data,
        media_type=row.mime_type,
        headers={
            "Cache-Control": "private, max-age=300",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'",
        },
    )
