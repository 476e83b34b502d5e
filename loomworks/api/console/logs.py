"""Logs and monitoring of an app in the console (Dify's paths): conversations, messages, statistics."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy.orm import Session

from loomworks.api.deps import CurrentCaller, State
from loomworks.api.service.chat import file_url
from loomworks.core.clock import to_timestamp
from loomworks.core.errors import NotChatAppError, NotCompletionAppError
from loomworks.services import app_logs, app_statistics, apps, conversations
from loomworks.services.app_logs import ConversationRow
from loomworks.store.tables import Account, Message, MessageFeedback

router = APIRouter(prefix="/apps/{app_id}", tags=["console: logs"])


def _conversation(row: ConversationRow, *, with_message: bool) -> dict[str, Any]:
    c = row.conversation
    body: dict[str, Any] = {
        "id": c.id,
        "status": c.status,
        "from_source": c.from_source,
        "from_end_user_id": c.from_end_user_id,
        "from_end_user_session_id": row.end_user_session_id,
        "from_account_id": c.from_account_id,
        "read_at": to_timestamp(c.read_at),
        "created_at": to_timestamp(c.created_at),
        "updated_at": to_timestamp(c.updated_at),
        "annotated": False,
        "invoke_from": c.invoke_from,
        "name": c.name,
        "summary": c.summary or (row.first_message.query if row.first_message else ""),
        "message_count": row.message_count,
        "user_feedback_stats": {"like": row.user_likes, "dislike": row.user_dislikes},
        "admin_feedback_stats": {"like": row.admin_likes, "dislike": row.admin_dislikes},
        "model_config": {"provider": row.first_message.model_provider, "model_id": row.first_message.model_id}
        if row.first_message
        else None,
    }
    if with_message:
        body["message"] = app_logs.first_message_preview(row)
    return body


def _feedback(row: MessageFeedback) -> dict[str, Any]:
    return {
        "rating": row.rating,
        "content": row.content,
        "from_source": row.from_source,
        "from_end_user_id": row.from_end_user_id,
        "from_account_id": row.from_account_id,
    }


def message_detail(message: Message, feedbacks: list[MessageFeedback], files: list[Any], secret: str) -> dict[str, Any]:
    """A message with everything that explains its answer: prompt, tokens, latency, feedback, errors."""
    metadata = message.message_metadata or {}
    return {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "parent_message_id": message.parent_message_id,
        "inputs": message.inputs,
        "query": message.query,
        "message": message.message,
        "message_tokens": message.message_tokens,
        "answer": message.answer,
        "answer_tokens": message.answer_tokens,
        "provider_response_latency": message.provider_response_latency,
        "total_price": str(message.total_price),
        "currency": message.currency,
        "model_provider": message.model_provider,
        "model_id": message.model_id,
        "from_source": message.from_source,
        "from_end_user_id": message.from_end_user_id,
        "from_account_id": message.from_account_id,
        "invoke_from": message.invoke_from,
        "feedbacks": [_feedback(f) for f in feedbacks],
        "annotation": None,
        "annotation_hit_history": None,
        "agent_thoughts": message.agent_thoughts or [],
        "message_files": [
            {"id": f.id, "type": f.type, "url": file_url(secret, f), "belongs_to": f.belongs_to} for f in files
        ],
        "metadata": metadata,
        "workflow_run_id": message.workflow_run_id,
        "status": message.status,
        "error": message.error,
        "created_at": to_timestamp(message.created_at),
    }


def _offset(session: Session, account_id: str) -> Any:
    account = session.get(Account, account_id)
    return app_statistics.utc_offset(account.timezone if account else None)


def _page(
    app_id: str,
    caller: CurrentCaller,
    state: State,
    page: int,
    limit: int,
    keyword: str | None,
    start: str | None,
    end: str | None,
    sort_by: str,
    mode: Literal["chat", "completion"],
) -> dict[str, Any]:
    with state.db.session() as session:
        offset = _offset(session, caller.account_id)
        app = apps.get(session, caller=caller, app_id=app_id)
        if (mode == "completion") != (app.mode == "completion"):
            raise NotCompletionAppError() if mode == "completion" else NotChatAppError()
        result = app_logs.conversations_page(
            session,
            caller=caller,
            app_id=app_id,
            page=page,
            limit=limit,
            keyword=keyword,
            start=app_logs.parse_time(start, "start", offset),
            end=app_logs.parse_time(end, "end", offset),
            sort_by=sort_by,
        )
        return {
            "page": result.page,
            "limit": result.limit,
            "total": result.total,
            "has_more": result.has_more,
            "data": [_conversation(row, with_message=mode == "completion") for row in result.rows],
        }


@router.get("/chat-conversations")
def chat_conversations(
    app_id: str,
    caller: CurrentCaller,
    state: State,
    page: int = Query(1),
    limit: int = Query(20),
    keyword: str | None = None,
    start: str | None = None,
    end: str | None = None,
    annotation_status: str = "all",
    sort_by: str = "-updated_at",
) -> dict[str, Any]:
    return _page(app_id, caller, state, page, limit, keyword, start, end, sort_by, "chat")


@router.get("/completion-conversations")
def completion_conversations(
    app_id: str,
    caller: CurrentCaller,
    state: State,
    page: int = Query(1),
    limit: int = Query(20),
    keyword: str | None = None,
    start: str | None = None,
    end: str | None = None,
    annotation_status: str = "all",
) -> dict[str, Any]:
    return _page(app_id, caller, state, page, limit, keyword, start, end, "-created_at", "completion")


@router.get("/chat-conversations/{conversation_id}")
@router.get("/completion-conversations/{conversation_id}")
def conversation_detail(app_id: str, conversation_id: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        row = app_logs.conversation(session, caller=caller, app_id=app_id, conversation_id=conversation_id)
        return _conversation(row, with_message=True)


@router.get("/chat-messages")
def chat_messages(
    app_id: str,
    caller: CurrentCaller,
    state: State,
    conversation_id: str = "",
    first_id: str | None = None,
    limit: int = Query(20),
) -> dict[str, Any]:
    with state.db.session() as session:
        rows, has_more = app_logs.messages(
            session, caller=caller, app_id=app_id, conversation_id=conversation_id, first_id=first_id, limit=limit
        )
        ids = [m.id for m in rows]
        feedbacks = app_logs.feedbacks_of(session, message_ids=ids)
        files = conversations.files_of(session, message_ids=ids)
        secret = state.auth.secret_key
        return {
            "limit": limit,
            "has_more": has_more,
            "data": [message_detail(m, feedbacks.get(m.id, []), files.get(m.id, []), secret) for m in rows],
        }


class AdminFeedback(BaseModel):
    message_id: str
    rating: Literal["like", "dislike"] | None = None


@router.post("/feedbacks")
def admin_feedback(app_id: str, body: AdminFeedback, caller: CurrentCaller, state: State) -> dict[str, str]:
    with state.db.session() as session:
        app_logs.admin_feedback(session, caller=caller, app_id=app_id, message_id=body.message_id, rating=body.rating)
    return {"result": "success"}


@router.get("/statistics/{kind}")
def statistics(
    app_id: str, kind: str, caller: CurrentCaller, state: State, start: str | None = None, end: str | None = None
) -> dict[str, Any]:
    with state.db.session() as session:
        offset = _offset(session, caller.account_id)
        data = app_statistics.statistics(
            session,
            caller=caller,
            app_id=app_id,
            kind=kind,
            start=app_logs.parse_time(start, "start", offset),
            end=app_logs.parse_time(end, "end", offset),
            offset=offset,
        )
    return {"data": data}
