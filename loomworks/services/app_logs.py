"""The logs of an app for its builders: conversations and messages with their full trace."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from loomworks.core.errors import InvalidParamError, NotFoundError
from loomworks.services import apps
from loomworks.services.caller import Caller
from loomworks.store.tables import App, Conversation, EndUser, Message, MessageFeedback

ANNOTATION_STATUSES = ("all", "annotated", "not_annotated")
SORTS = {"created_at": Conversation.created_at, "updated_at": Conversation.updated_at}


@dataclass(frozen=True, slots=True)
class ConversationRow:
    conversation: Conversation
    message_count: int
    user_likes: int
    user_dislikes: int
    admin_likes: int
    admin_dislikes: int
    end_user_session_id: str | None
    first_message: Message | None


@dataclass(frozen=True, slots=True)
class LogPage:
    rows: list[ConversationRow]
    page: int
    limit: int
    total: int

    @property
    def has_more(self) -> bool:
        return self.page * self.limit < self.total


def parse_time(value: str | None, field: str, tz_offset: timedelta) -> datetime | None:
    """Dify's `YYYY-MM-DD HH:MM` in the account's time zone, as UTC."""
    if not value:
        return None
    for pattern in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            local = datetime.strptime(value, pattern)
        except ValueError:
            continue
        return (local - tz_offset).replace(tzinfo=UTC)
    raise InvalidParamError(f"{field} must look like 2024-01-31 23:59.", params=field)


def _filtered(
    app: App, *, keyword: str | None, start: datetime | None, end: datetime | None
) -> Select[tuple[Conversation]]:
    query = select(Conversation).where(Conversation.app_id == app.id)
    if start is not None:
        query = query.where(Conversation.created_at >= start)
    if end is not None:
        query = query.where(Conversation.created_at < end)
    if keyword:
        pattern = "%" + keyword.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        matching = select(Message.conversation_id).where(
            Message.app_id == app.id,
            or_(Message.query.ilike(pattern, escape="\\"), Message.answer.ilike(pattern, escape="\\")),
        )
        query = query.where(or_(Conversation.id.in_(matching), Conversation.name.ilike(pattern, escape="\\")))
    return query


def conversations_page(
    session: Session,
    *,
    caller: Caller,
    app_id: str,
    page: int,
    limit: int,
    keyword: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    sort_by: str = "-created_at",
) -> LogPage:
    """Conversations of an app (all end users and debug sessions), newest first by default."""
    app = apps.get(session, caller=caller, app_id=app_id)
    if not 1 <= limit <= 100:
        raise InvalidParamError("limit must be between 1 and 100.", params="limit")
    if page < 1:
        raise InvalidParamError("page must be at least 1.", params="page")
    column = SORTS.get(sort_by.lstrip("-"))
    if column is None:
        raise InvalidParamError("sort_by must be created_at, -created_at, updated_at or -updated_at.", params="sort_by")
    query = _filtered(app, keyword=keyword, start=start, end=end)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    order = column.desc() if sort_by.startswith("-") else column.asc()
    conversations = list(
        session.scalars(query.order_by(order, Conversation.id).offset((page - 1) * limit).limit(limit))
    )
    return LogPage(rows=_decorate(session, conversations), page=page, limit=limit, total=total)


def _decorate(session: Session, conversations: list[Conversation]) -> list[ConversationRow]:
    ids = [c.id for c in conversations]
    counts: dict[str, int] = {}
    feedback: dict[tuple[str, str, str], int] = {}
    first: dict[str, Message] = {}
    sessions: dict[str, str] = {}
    if ids:
        counts = {
            str(cid): int(n)
            for cid, n in session.execute(
                select(Message.conversation_id, func.count())
                .where(Message.conversation_id.in_(ids))
                .group_by(Message.conversation_id)
            )
        }
        feedback = {
            (str(cid), str(source), str(rating)): int(n)
            for cid, source, rating, n in session.execute(
                select(
                    MessageFeedback.conversation_id, MessageFeedback.from_source, MessageFeedback.rating, func.count()
                )
                .where(MessageFeedback.conversation_id.in_(ids))
                .group_by(MessageFeedback.conversation_id, MessageFeedback.from_source, MessageFeedback.rating)
            )
        }
        for message in session.scalars(
            select(Message).where(Message.conversation_id.in_(ids)).order_by(Message.created_at.desc())
        ):
            first[message.conversation_id or ""] = message
        user_ids = [c.from_end_user_id for c in conversations if c.from_end_user_id]
        if user_ids:
            sessions = {
                str(uid): str(sid)
                for uid, sid in session.execute(select(EndUser.id, EndUser.session_id).where(EndUser.id.in_(user_ids)))
            }
    return [
        ConversationRow(
            conversation=c,
            message_count=counts.get(c.id, 0),
            user_likes=feedback.get((c.id, "user", "like"), 0),
            user_dislikes=feedback.get((c.id, "user", "dislike"), 0),
            admin_likes=feedback.get((c.id, "admin", "like"), 0),
            admin_dislikes=feedback.get((c.id, "admin", "dislike"), 0),
            end_user_session_id=sessions.get(c.from_end_user_id or ""),
            first_message=first.get(c.id),
        )
        for c in conversations
    ]


def conversation(session: Session, *, caller: Caller, app_id: str, conversation_id: str) -> ConversationRow:
    app = apps.get(session, caller=caller, app_id=app_id)
    found = session.scalar(
        select(Conversation).where(Conversation.app_id == app.id, Conversation.id == conversation_id)
    )
    if found is None:
        raise NotFoundError("Conversation Not Exists.")
    return _decorate(session, [found])[0]


def messages(
    session: Session, *, caller: Caller, app_id: str, conversation_id: str, first_id: str | None, limit: int
) -> tuple[list[Message], bool]:
    """A page of a conversation's messages, oldest first, older than `first_id`."""
    conversation(session, caller=caller, app_id=app_id, conversation_id=conversation_id)
    if not 1 <= limit <= 100:
        raise InvalidParamError("limit must be between 1 and 100.", params="limit")
    query = select(Message).where(Message.conversation_id == conversation_id)
    if first_id:
        anchor = session.scalar(query.where(Message.id == first_id))
        if anchor is None:
            raise NotFoundError("First message not found.")
        query = query.where(Message.created_at < anchor.created_at)
    rows = list(session.scalars(query.order_by(Message.created_at.desc()).limit(limit + 1)))
    page = rows[:limit]
    page.reverse()
    return page, len(rows) > limit


def feedbacks_of(session: Session, *, message_ids: list[str]) -> dict[str, list[MessageFeedback]]:
    found: dict[str, list[MessageFeedback]] = {}
    if message_ids:
        for row in session.scalars(select(MessageFeedback).where(MessageFeedback.message_id.in_(message_ids))):
            found.setdefault(row.message_id, []).append(row)
    return found


def admin_feedback(session: Session, *, caller: Caller, app_id: str, message_id: str, rating: str | None) -> None:
    """A builder's own rating of an answer (kept apart from end users' ratings)."""
    app = apps.get(session, caller=caller, app_id=app_id)
    message = session.scalar(select(Message).where(Message.app_id == app.id, Message.id == message_id))
    if message is None:
        raise NotFoundError("Message Not Exists.")
    if rating not in (None, "like", "dislike"):
        raise InvalidParamError("rating must be like, dislike or null.", params="rating")
    existing = session.scalar(
        select(MessageFeedback).where(MessageFeedback.message_id == message.id, MessageFeedback.from_source == "admin")
    )
    if rating is None:
        if existing is not None:
            session.delete(existing)
        return
    if existing is None:
        session.add(
            MessageFeedback(
                app_id=app.id,
                conversation_id=message.conversation_id,
                message_id=message.id,
                rating=rating,
                from_source="admin",
                from_account_id=caller.account_id,
            )
        )
    else:
        existing.rating = rating


def first_message_preview(row: ConversationRow) -> dict[str, Any] | None:
    message = row.first_message
    if message is None:
        return None
    return {"inputs": message.inputs, "query": message.query, "message": message.message, "answer": message.answer}
