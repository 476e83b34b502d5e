"""Logs and monitoring of an app in the console (Dify's paths): conversations, messages, statistics."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy.orm import Session

from loomworks.api.deps import CurrentCaller, State
from loomworks.api.service.chat import file_url
from loomworks.api.workflow_views import log_public
from loomworks.core.clock import to_timestamp
from loomworks.core.errors import InvalidParamError, NotChatAppError, NotCompletionAppError
from loomworks.services import app_logs, app_statistics, apps, conversations
from loomworks.services.app_logs import CompletionRow, ConversationRow, LogFilters, MessageAnnotations
from loomworks.store.tables import Account, Message, MessageFeedback

router = APIRouter(prefix="/apps/{app_id}", tags=["console: logs"])


def _model_config(message: Message | None) -> dict[str, Any] | None:
    return {"provider": message.model_provider, "model_id": message.model_id} if message else None


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
        "annotated": row.annotated,
        "invoke_from": c.invoke_from,
        "name": c.name,
        "summary": c.summary or (row.first_message.query if row.first_message else ""),
        "message_count": row.message_count,
        "user_feedback_stats": {"like": row.user_likes, "dislike": row.user_dislikes},
        "admin_feedback_stats": {"like": row.admin_likes, "dislike": row.admin_dislikes},
        "model_config": _model_config(row.first_message),
    }
    if with_message:
        body["message"] = app_logs.first_message_preview(row)
    return body


def _completion(row: CompletionRow, message: dict[str, Any]) -> dict[str, Any]:
    """A text generator's turn in the shape of Dify's completion conversation (the message is the row)."""
    m = row.message
    return {
        "id": m.id,
        "status": "normal",
        "from_source": m.from_source,
        "from_end_user_id": m.from_end_user_id,
        "from_end_user_session_id": row.end_user_session_id,
        "from_account_id": m.from_account_id,
        "read_at": None,
        "created_at": to_timestamp(m.created_at),
        "updated_at": to_timestamp(m.updated_at),
        "annotated": row.annotated,
        "invoke_from": m.invoke_from,
        "message_count": 1,
        "user_feedback_stats": {"like": row.user_likes, "dislike": row.user_dislikes},
        "admin_feedback_stats": {"like": row.admin_likes, "dislike": row.admin_dislikes},
        "model_config": _model_config(m),
        "message": message,
    }


def _account(account: Account | None) -> dict[str, Any] | None:
    return {"id": account.id, "name": account.name, "email": account.email} if account else None


def _annotation(message_id: str, found: MessageAnnotations) -> dict[str, Any] | None:
    row = found.annotation.get(message_id)
    if row is None:
        return None
    return {
        "id": row.id,
        "question": row.question,
        "content": row.content,
        "account": _account(found.accounts.get(row.account_id)),
        "created_at": to_timestamp(row.created_at),
    }


def _hit(message_id: str, found: MessageAnnotations) -> dict[str, Any] | None:
    pair = found.hits.get(message_id)
    if pair is None:
        return None
    hit, annotation = pair
    return {
        "annotation_id": hit.annotation_id,
        "annotation_create_account": _account(found.accounts.get(annotation.account_id) if annotation else None),
        "score": hit.score,
        "created_at": to_timestamp(hit.created_at),
    }


def _feedback(row: MessageFeedback) -> dict[str, Any]:
    return {
        "rating": row.rating,
        "content": row.content,
        "from_source": row.from_source,
        "from_end_user_id": row.from_end_user_id,
        "from_account_id": row.from_account_id,
    }


def message_detail(
    message: Message,
    feedbacks: list[MessageFeedback],
    files: list[Any],
    secret: str,
    found: MessageAnnotations | None = None,
) -> dict[str, Any]:
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
        "annotation": _annotation(message.id, found) if found else None,
        "annotation_hit_history": _hit(message.id, found) if found else None,
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


def _details(session: Session, state: Any, rows: list[Message]) -> list[dict[str, Any]]:
    ids = [m.id for m in rows]
    feedbacks = app_logs.feedbacks_of(session, message_ids=ids)
    files = conversations.files_of(session, message_ids=ids)
    found = app_logs.annotations_of(session, message_ids=ids)
    secret = state.auth.secret_key
    return [message_detail(m, feedbacks.get(m.id, []), files.get(m.id, []), secret, found) for m in rows]


def _filters(session: Session, caller: CurrentCaller, params: LogParams) -> LogFilters:
    offset = _offset(session, caller.account_id)
    return LogFilters(
        keyword=params.keyword,
        start=app_logs.parse_time(params.start, "start", offset),
        end=app_logs.parse_time(params.end, "end", offset),
        annotation_status=params.annotation_status,
        status=params.status,
        feedback=params.feedback,
        end_user_session_id=params.created_by_end_user_session_id,
    )


class LogParams(BaseModel):
    """The filters of the logs pages (Dify's names, plus status, feedback and end user)."""

    page: int = 1
    limit: int = 20
    keyword: str | None = None
    start: str | None = None
    end: str | None = None
    annotation_status: str = "all"
    status: str | None = None
    feedback: str | None = None
    created_by_end_user_session_id: str | None = None


@router.get("/chat-conversations")
def chat_conversations(
    app_id: str,
    caller: CurrentCaller,
    state: State,
    params: Annotated[LogParams, Query()],
    sort_by: str = "-updated_at",
) -> dict[str, Any]:
    with state.db.session() as session:
        app = apps.get(session, caller=caller, app_id=app_id)
        if app.mode == "completion":
            raise NotChatAppError()
        result = app_logs.conversations_page(
            session,
            caller=caller,
            app_id=app_id,
            page=params.page,
            limit=params.limit,
            filters=_filters(session, caller, params),
            sort_by=sort_by,
        )
        return {
            "page": result.page,
            "limit": result.limit,
            "total": result.total,
            "has_more": result.has_more,
            "data": [_conversation(row, with_message=False) for row in result.rows],
        }


@router.get("/completion-conversations")
def completion_conversations(
    app_id: str, caller: CurrentCaller, state: State, params: Annotated[LogParams, Query()]
) -> dict[str, Any]:
    with state.db.session() as session:
        app = apps.get(session, caller=caller, app_id=app_id)
        if app.mode != "completion":
            raise NotCompletionAppError()
        result = app_logs.completion_page(
            session,
            caller=caller,
            app_id=app_id,
            page=params.page,
            limit=params.limit,
            filters=_filters(session, caller, params),
        )
        details = _details(session, state, [row.message for row in result.rows])
        return {
            "page": result.page,
            "limit": result.limit,
            "total": result.total,
            "has_more": result.has_more,
            "data": [_completion(row, detail) for row, detail in zip(result.rows, details, strict=True)],
        }


@router.get("/chat-conversations/{conversation_id}")
def conversation_detail(app_id: str, conversation_id: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        row = app_logs.conversation(session, caller=caller, app_id=app_id, conversation_id=conversation_id)
        return _conversation(row, with_message=True)


@router.get("/completion-conversations/{conversation_id}")
def completion_detail(app_id: str, conversation_id: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    """A text generator's turn with its full trace (its id is the message's)."""
    with state.db.session() as session:
        row = app_logs.completion_message(session, caller=caller, app_id=app_id, message_id=conversation_id)
        return _completion(row, _details(session, state, [row.message])[0])


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
        return {"limit": limit, "has_more": has_more, "data": _details(session, state, rows)}


@router.get("/workflow-app-logs")
def workflow_app_logs(
    app_id: str,
    caller: CurrentCaller,
    state: State,
    page: int = Query(1),
    limit: int = Query(20),
    keyword: str | None = None,
    status: str | None = None,
    created_at__before: str | None = None,
    created_at__after: str | None = None,
    created_by_end_user_session_id: str | None = None,
    created_by_account: str | None = None,
) -> dict[str, Any]:
    """Dify's workflow logs: runs of the app with who ran them; `/workflow-runs/{id}/node-executions` has the nodes."""
    with state.db.session() as session:
        result = app_logs.workflow_logs_page(
            session,
            caller=caller,
            app_id=app_id,
            page=page,
            limit=limit,
            keyword=keyword,
            status=status,
            start=_iso(created_at__after, "created_at__after"),
            end=_iso(created_at__before, "created_at__before"),
            end_user_session_id=created_by_end_user_session_id,
            account_email=created_by_account,
        )
        data = []
        for log, run in result.rows:
            body = log_public(log, run, result.end_users.get(log.created_by))
            body["created_by_account"] = _account(result.accounts.get(log.created_by))
            data.append(body)
        return {
            "page": result.page,
            "limit": result.limit,
            "total": result.total,
            "has_more": result.has_more,
            "data": data,
        }


def _iso(value: str | None, field: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidParamError(f"{field} must be an ISO-8601 time.", params=field) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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
