"""Annotations of an app in the console (Dify's paths): list, annotate, edit, import/export, reply settings."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel
from starlette.datastructures import UploadFile as StarletteUpload

from loomworks.api.annotation_views import annotation_public
from loomworks.api.deps import CurrentCaller, State
from loomworks.core.clock import to_timestamp
from loomworks.core.errors import InvalidActionError, NoFileUploadedError
from loomworks.core.ids import new_id
from loomworks.services import annotations, apps

router = APIRouter(prefix="/apps/{app_id}", tags=["console: annotations"])


class AnnotationBody(BaseModel):
    question: str | None = None
    answer: str | None = None
    content: str | None = None
    message_id: str | None = None


class ReplyBody(BaseModel):
    score_threshold: float | None = None
    embedding_provider_name: str | None = None
    embedding_model_name: str | None = None


@router.get("/annotations")
def list_annotations(
    app_id: str,
    caller: CurrentCaller,
    state: State,
    page: int = Query(1),
    limit: int = Query(20),
    keyword: str | None = None,
) -> dict[str, Any]:
    with state.db.session() as session:
        result = annotations.list_page(session, caller=caller, app_id=app_id, page=page, limit=limit, keyword=keyword)
        return {
            "data": [annotation_public(a) for a in result.items],
            "has_more": result.has_more,
            "limit": result.limit,
            "total": result.total,
            "page": result.page,
        }


@router.post("/annotations")
def annotate(app_id: str, body: AnnotationBody, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        row = annotations.create(
            session,
            caller=caller,
            app_id=app_id,
            question=body.question,
            answer=body.answer if body.answer is not None else body.content,
            message_id=body.message_id,
        )
        return annotation_public(row)


@router.delete("/annotations", status_code=204)
def delete_all(app_id: str, caller: CurrentCaller, state: State) -> Response:
    with state.db.session() as session:
        annotations.remove(session, caller=caller, app_id=app_id)
    return Response(status_code=204)


@router.get("/annotations/export")
def export(app_id: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        return {"data": [annotation_public(a) for a in annotations.export_all(session, caller=caller, app_id=app_id)]}


@router.post("/annotations/batch-import")
async def batch_import(app_id: str, request: Request, caller: CurrentCaller, state: State) -> dict[str, Any]:
    async with request.form(max_files=1, max_fields=4) as form:
        upload = form.get("file")
        if not isinstance(upload, StarletteUpload):
            raise NoFileUploadedError()
        data = await upload.read(5 * 1024 * 1024)
    with state.db.session() as session:
        count = annotations.import_csv(session, caller=caller, app_id=app_id, data=data)
    return {"job_id": new_id(), "job_status": "completed", "record_count": count}


@router.post("/annotations/{annotation_id}")
def update(
    app_id: str, annotation_id: str, body: AnnotationBody, caller: CurrentCaller, state: State
) -> dict[str, Any]:
    with state.db.session() as session:
        row = annotations.update(
            session,
            caller=caller,
            app_id=app_id,
            annotation_id=annotation_id,
            question=body.question,
            answer=body.answer if body.answer is not None else body.content,
        )
        return annotation_public(row)


@router.delete("/annotations/{annotation_id}", status_code=204)
def delete_one(app_id: str, annotation_id: str, caller: CurrentCaller, state: State) -> Response:
    with state.db.session() as session:
        annotations.remove(session, caller=caller, app_id=app_id, annotation_id=annotation_id)
    return Response(status_code=204)


@router.get("/annotations/{annotation_id}/hit-histories")
def hit_histories(
    app_id: str, annotation_id: str, caller: CurrentCaller, state: State, page: int = Query(1), limit: int = Query(20)
) -> dict[str, Any]:
    with state.db.session() as session:
        rows, total = annotations.hits(
            session, caller=caller, app_id=app_id, annotation_id=annotation_id, page=page, limit=limit
        )
        return {
            "data": [
                {
                    "id": h.id,
                    "source": h.source,
                    "score": h.score,
                    "question": h.question,
                    "created_at": to_timestamp(h.created_at),
                    "match": h.annotation_question,
                    "response": h.annotation_content,
                }
                for h in rows
            ],
            "has_more": page * limit < total,
            "limit": limit,
            "total": total,
            "page": page,
        }


@router.post("/annotation-reply/{action}")
def annotation_reply(
    app_id: str, action: str, caller: CurrentCaller, state: State, body: ReplyBody | None = None
) -> dict[str, Any]:
    body = body or ReplyBody()
    if action not in ("enable", "disable"):
        raise InvalidActionError(f"Invalid action: {action}.")
    with state.db.session() as session:
        annotations.configure_reply(
            session,
            caller=caller,
            app_id=app_id,
            enabled=action == "enable",
            score_threshold=body.score_threshold,
            provider=body.embedding_provider_name,
            model=body.embedding_model_name,
        )
    return {"job_id": new_id(), "job_status": "completed"}


@router.get("/annotation-reply/{action}/status/{job_id}")
def reply_status(app_id: str, action: str, job_id: str, caller: CurrentCaller) -> dict[str, Any]:
    return {"job_id": job_id, "job_status": "completed", "error_msg": ""}


@router.get("/annotation-setting")
def get_setting(app_id: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        app = apps.get(session, caller=caller, app_id=app_id)
        row = annotations.setting(session, app_id=app.id)
        if row is None or not row.enabled:
            return {"enabled": False}
        return {
            "id": row.id,
            "enabled": True,
            "score_threshold": row.score_threshold,
            "embedding_model": {
                "embedding_provider_name": row.embedding_provider_name,
                "embedding_model_name": row.embedding_model_name,
            },
        }
