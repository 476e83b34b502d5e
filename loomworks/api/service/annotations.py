"""Annotations through the Service API (`/v1/apps/annotations…`), acting as the app's creator."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from loomworks.api.annotation_views import annotation_public
from loomworks.api.deps import KeyApp, State
from loomworks.api.responses import JsonResponse
from loomworks.core.errors import InvalidActionError, NotChatAppError
from loomworks.core.ids import new_id
from loomworks.services import annotations
from loomworks.services.caller import Caller
from loomworks.store.tables import Account, App

router = APIRouter(prefix="/apps", tags=["service: annotations"])


class AnnotationBody(BaseModel):
    question: str
    answer: str


class ReplyBody(BaseModel):
    score_threshold: float | None = None
    embedding_provider_name: str | None = None
    embedding_model_name: str | None = None


def _as_creator(session: Session, app: App) -> Caller:
    if app.mode not in ("chat", "agent-chat", "advanced-chat"):
        raise NotChatAppError()
    account = session.get(Account, app.created_by) if app.created_by else None
    if account is None:
        raise NotChatAppError("The app has no creator to act as.")
    return Caller(account=account, tenant_id=app.tenant_id, role="editor")


@router.get("/annotations")
def list_annotations(app: KeyApp, state: State, page: int = Query(1), limit: int = Query(20)) -> dict[str, Any]:
    with state.db.session() as session:
        result = annotations.list_page(session, caller=_as_creator(session, app), app_id=app.id, page=page, limit=limit)
        return {
            "data": [annotation_public(a) for a in result.items],
            "has_more": result.has_more,
            "limit": result.limit,
            "total": result.total,
            "page": result.page,
        }


@router.post("/annotations", status_code=201)
def create(body: AnnotationBody, app: KeyApp, state: State) -> JsonResponse:
    with state.db.session() as session:
        row = annotations.create(
            session, caller=_as_creator(session, app), app_id=app.id, question=body.question, answer=body.answer
        )
        return JsonResponse(annotation_public(row), status_code=201)


@router.put("/annotations/{annotation_id}")
def update(annotation_id: str, body: AnnotationBody, app: KeyApp, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        row = annotations.update(
            session,
            caller=_as_creator(session, app),
            app_id=app.id,
            annotation_id=annotation_id,
            question=body.question,
            answer=body.answer,
        )
        return annotation_public(row)


@router.delete("/annotations/{annotation_id}", status_code=204)
def delete(annotation_id: str, app: KeyApp, state: State) -> Response:
    with state.db.session() as session:
        annotations.remove(session, caller=_as_creator(session, app), app_id=app.id, annotation_id=annotation_id)
    return Response(status_code=204)


@router.post("/annotation-reply/{action}")
def reply(action: str, app: KeyApp, state: State, body: ReplyBody | None = None) -> dict[str, Any]:
    if action not in ("enable", "disable"):
        raise InvalidActionError(f"Invalid action: {action}.")
    body = body or ReplyBody()
    with state.db.session() as session:
        annotations.configure_reply(
            session,
            caller=_as_creator(session, app),
            app_id=app.id,
            enabled=action == "enable",
            score_threshold=body.score_threshold,
            provider=body.embedding_provider_name,
            model=body.embedding_model_name,
        )
    return {"job_id": new_id(), "job_status": "completed"}


@router.get("/annotation-reply/{action}/status/{job_id}")
def reply_status(action: str, job_id: str, app: KeyApp) -> dict[str, Any]:
    return {"job_id": job_id, "job_status": "completed", "error_msg": ""}
