"""The logs of an app for its builders: conversations and messages with their full trace."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, cast, exists, func, or_, select
from sqlalchemy.orm import Session

from loomworks.core.errors import InvalidParamError, NotFoundError
from loomworks.services import apps
from loomworks.services.caller import Caller
from loomworks.store.tables import (
    Account,
    Annotation,
    AnnotationHit,
    App,
    Conversation,
    EndUser,
    Message,
    MessageFeedback,
    WorkflowAppLog,
    WorkflowRun,
)

ANNOTATION_STATUSES = ("all", "annotated", "not_annotated")
MESSAGE_STATUSES = ("normal", "error", "stopped")
FEEDBACKS = ("like", "dislike")
RUN_STATUSES = ("running", "succeeded", "failed", "stopped", "partial-succeeded")
SORTS = {"created_at": Conversation.created_at, "updated_at": Conversation.updated_at}


@dataclass(frozen=True, slots=True)
class LogFilters:
    """What the logs pages filter on; every field left `None` (or `all`) keeps every row.

    A conversation matches `status` or `feedback` when at least one of its messages does (a failed
    turn, a like or dislike from an end user or a builder); `annotated` means one of its answers
    has an annotation, as in Dify.
    """

    keyword: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    annotation_status: str = "all"
    status: str | None = None
    feedback: str | None = None
    end_user_session_id: str | None = None

    def check(self) -> None:
        if self.annotation_status not in ANNOTATION_STATUSES:
            raise InvalidParamError(
                "annotation_status must be all, annotated or not_annotated.", params="annotation_status"
            )
        if self.status is not None and self.status not in MESSAGE_STATUSES:
            raise InvalidParamError("status must be normal, error or stopped.", params="status")
        if self.feedback is not None and self.feedback not in FEEDBACKS:
            raise InvalidParamError("feedback must be like or dislike.", params="feedback")


def _pattern(keyword: str) -> str:
    return "%" + keyword.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


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
    annotated: bool = False


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


def _message_filters(app: App, filters: LogFilters) -> list[ColumnElement[bool]]:
    """Conditions on one message row (keyword, status, feedback), for chat and completion logs."""
    conditions: list[ColumnElement[bool]] = []
    if filters.keyword:
        pattern = _pattern(filters.keyword)
        conditions.append(or_(Message.query.ilike(pattern, escape="\\"), Message.answer.ilike(pattern, escape="\\")))
    if filters.status:
        conditions.append(Message.status == filters.status)
    if filters.feedback:
        # Scoped by the app's feedback (indexed by app), not a scan of every rating in the table.
        rated = select(MessageFeedback.message_id).where(
            MessageFeedback.app_id == app.id, MessageFeedback.rating == filters.feedback
        )
        conditions.append(Message.id.in_(rated))
    return conditions


def _end_user_ids(app: App, session_id: str) -> Select[tuple[str]]:
    return select(EndUser.id).where(EndUser.app_id == app.id, EndUser.session_id == session_id)


def _filtered(app: App, filters: LogFilters) -> Select[tuple[Conversation]]:
    query = select(Conversation).where(Conversation.app_id == app.id)
    if filters.start is not None:
        query = query.where(Conversation.created_at >= filters.start)
    if filters.end is not None:
        query = query.where(Conversation.created_at < filters.end)
    if filters.end_user_session_id:
        query = query.where(Conversation.from_end_user_id.in_(_end_user_ids(app, filters.end_user_session_id)))
    if filters.keyword:
        pattern = _pattern(filters.keyword)
        matching = select(Message.conversation_id).where(
            Message.app_id == app.id, *_message_filters(app, LogFilters(keyword=filters.keyword))
        )
        query = query.where(or_(Conversation.id.in_(matching), Conversation.name.ilike(pattern, escape="\\")))
    # Status and feedback are properties of messages: a conversation matches through any of its turns.
    turn_conditions = _message_filters(app, LogFilters(status=filters.status, feedback=filters.feedback))
    if turn_conditions:
        query = query.where(
            Conversation.id.in_(select(Message.conversation_id).where(Message.app_id == app.id, *turn_conditions))
        )
    if filters.annotation_status != "all":
        annotated = Conversation.id.in_(
            select(Annotation.conversation_id).where(
                Annotation.app_id == app.id, Annotation.conversation_id.is_not(None)
            )
        )
        query = query.where(annotated if filters.annotation_status == "annotated" else ~annotated)
    return query


def _page_bounds(page: int, limit: int) -> None:
    if not 1 <= limit <= 100:
        raise InvalidParamError("limit must be between 1 and 100.", params="limit")
    if page < 1:
        raise InvalidParamError("page must be at least 1.", params="page")


def conversations_page(
    session: Session,
    *,
    caller: Caller,
    app_id: str,
    page: int,
    limit: int,
    filters: LogFilters | None = None,
    sort_by: str = "-created_at",
) -> LogPage:
    """Conversations of an app (all end users and debug sessions), newest first by default."""
    app = apps.get(session, caller=caller, app_id=app_id)
    filters = filters or LogFilters()
    filters.check()
    _page_bounds(page, limit)
    column = SORTS.get(sort_by.lstrip("-"))
    if column is None:
        raise InvalidParamError("sort_by must be created_at, -created_at, updated_at or -updated_at.", params="sort_by")
    query = _filtered(app, filters)
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
    annotated: set[str] = set()
    if ids:
        annotated = {
            str(cid)
            for cid in session.scalars(select(Annotation.conversation_id).where(Annotation.conversation_id.in_(ids)))
        }
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
                # Through the conversation's messages: feedback has no index on conversation_id.
                .where(MessageFeedback.message_id.in_(select(Message.id).where(Message.conversation_id.in_(ids))))
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
            annotated=c.id in annotated,
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


# -- completion apps: each message is its own log row ------------------------------------------------


@dataclass(frozen=True, slots=True)
class CompletionRow:
    message: Message
    user_likes: int
    user_dislikes: int
    admin_likes: int
    admin_dislikes: int
    end_user_session_id: str | None
    annotated: bool


@dataclass(frozen=True, slots=True)
class CompletionPage:
    rows: list[CompletionRow]
    page: int
    limit: int
    total: int

    @property
    def has_more(self) -> bool:
        return self.page * self.limit < self.total


def completion_page(
    session: Session, *, caller: Caller, app_id: str, page: int, limit: int, filters: LogFilters | None = None
) -> CompletionPage:
    """The messages of a text generator, newest first (a completion turn has no conversation to group it)."""
    app = apps.get(session, caller=caller, app_id=app_id)
    filters = filters or LogFilters()
    filters.check()
    _page_bounds(page, limit)
    query = select(Message).where(Message.app_id == app.id, *_message_filters(app, filters))
    if filters.start is not None:
        query = query.where(Message.created_at >= filters.start)
    if filters.end is not None:
        query = query.where(Message.created_at < filters.end)
    if filters.end_user_session_id:
        query = query.where(Message.from_end_user_id.in_(_end_user_ids(app, filters.end_user_session_id)))
    if filters.annotation_status != "all":
        annotated = exists().where(Annotation.message_id == Message.id)
        query = query.where(annotated if filters.annotation_status == "annotated" else ~annotated)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    found = list(
        session.scalars(query.order_by(Message.created_at.desc(), Message.id).offset((page - 1) * limit).limit(limit))
    )
    return CompletionPage(rows=_completion_rows(session, found), page=page, limit=limit, total=total)


def _completion_rows(session: Session, found: list[Message]) -> list[CompletionRow]:
    ids = [m.id for m in found]
    feedback: dict[tuple[str, str, str], int] = {}
    sessions: dict[str, str] = {}
    annotated: set[str] = set()
    if ids:
        for row in session.scalars(select(MessageFeedback).where(MessageFeedback.message_id.in_(ids))):
            key = (row.message_id, row.from_source, row.rating)
            feedback[key] = feedback.get(key, 0) + 1
        annotated = {
            str(mid) for mid in session.scalars(select(Annotation.message_id).where(Annotation.message_id.in_(ids)))
        }
        user_ids = [m.from_end_user_id for m in found if m.from_end_user_id]
        if user_ids:
            sessions = {
                str(uid): str(sid)
                for uid, sid in session.execute(select(EndUser.id, EndUser.session_id).where(EndUser.id.in_(user_ids)))
            }
    return [
        CompletionRow(
            message=m,
            user_likes=feedback.get((m.id, "user", "like"), 0),
            user_dislikes=feedback.get((m.id, "user", "dislike"), 0),
            admin_likes=feedback.get((m.id, "admin", "like"), 0),
            admin_dislikes=feedback.get((m.id, "admin", "dislike"), 0),
            end_user_session_id=sessions.get(m.from_end_user_id or ""),
            annotated=m.id in annotated,
        )
        for m in found
    ]


def completion_message(session: Session, *, caller: Caller, app_id: str, message_id: str) -> CompletionRow:
    app = apps.get(session, caller=caller, app_id=app_id)
    found = session.scalar(select(Message).where(Message.app_id == app.id, Message.id == message_id))
    if found is None:
        raise NotFoundError("Conversation Not Exists.")
    return _completion_rows(session, [found])[0]


# -- annotations shown beside a message --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessageAnnotations:
    """A message's own annotation, and the annotation that answered it (annotation reply), with their authors."""

    annotation: dict[str, Annotation]
    hits: dict[str, tuple[AnnotationHit, Annotation | None]]
    accounts: dict[str, Account]


def annotations_of(session: Session, *, message_ids: list[str]) -> MessageAnnotations:
    own: dict[str, Annotation] = {}
    hits: dict[str, tuple[AnnotationHit, Annotation | None]] = {}
    if message_ids:
        own = {
            a.message_id or "": a
            for a in session.scalars(select(Annotation).where(Annotation.message_id.in_(message_ids)))
        }
        rows = session.execute(
            select(AnnotationHit, Annotation)
            .outerjoin(Annotation, Annotation.id == AnnotationHit.annotation_id)
            .where(AnnotationHit.message_id.in_(message_ids))
        ).all()
        hits = {hit.message_id: (hit, annotation) for hit, annotation in rows}
    account_ids = {a.account_id for a in own.values()} | {a.account_id for _, a in hits.values() if a is not None}
    accounts = (
        {a.id: a for a in session.scalars(select(Account).where(Account.id.in_(account_ids)))} if account_ids else {}
    )
    return MessageAnnotations(annotation=own, hits=hits, accounts=accounts)


# -- workflow apps: one log row per run ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorkflowLogPage:
    rows: list[tuple[WorkflowAppLog, WorkflowRun]]
    end_users: dict[str, EndUser]
    accounts: dict[str, Account]
    page: int
    limit: int
    total: int

    @property
    def has_more(self) -> bool:
        return self.page * self.limit < self.total


def workflow_logs_page(
    session: Session,
    *,
    caller: Caller,
    app_id: str,
    page: int,
    limit: int,
    keyword: str | None = None,
    status: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    end_user_session_id: str | None = None,
    account_email: str | None = None,
) -> WorkflowLogPage:
    """Dify's workflow app logs: the runs of an app (not single-node debug runs), newest first."""
    app = apps.get(session, caller=caller, app_id=app_id)
    _page_bounds(page, limit)
    if status and status not in RUN_STATUSES:
        raise InvalidParamError(f"status must be one of {', '.join(RUN_STATUSES)}.", params="status")
    query = (
        select(WorkflowAppLog, WorkflowRun)
        .join(WorkflowRun, WorkflowRun.id == WorkflowAppLog.workflow_run_id)
        .where(WorkflowAppLog.app_id == app.id)
    )
    if status:
        query = query.where(WorkflowRun.status == status)
    if keyword:
        pattern = _pattern(keyword)
        query = query.where(
            or_(
                cast(WorkflowRun.inputs, String).ilike(pattern, escape="\\"),
                cast(WorkflowRun.outputs, String).ilike(pattern, escape="\\"),
                WorkflowRun.error.ilike(pattern, escape="\\"),
            )
        )
    if start is not None:
        query = query.where(WorkflowAppLog.created_at >= start)
    if end is not None:
        query = query.where(WorkflowAppLog.created_at < end)
    if end_user_session_id:
        query = query.where(
            and_(
                WorkflowAppLog.created_by_role == "end_user",
                WorkflowAppLog.created_by.in_(_end_user_ids(app, end_user_session_id)),
            )
        )
    if account_email:
        query = query.where(
            WorkflowAppLog.created_by_role == "account",
            WorkflowAppLog.created_by.in_(select(Account.id).where(Account.email == account_email)),
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = [
        (log, run)
        for log, run in session.execute(
            query.order_by(WorkflowAppLog.created_at.desc(), WorkflowAppLog.id).offset((page - 1) * limit).limit(limit)
        )
    ]
    user_ids = [log.created_by for log, _ in rows if log.created_by_role == "end_user"]
    account_ids = [log.created_by for log, _ in rows if log.created_by_role == "account"]
    end_users = {u.id: u for u in session.scalars(select(EndUser).where(EndUser.id.in_(user_ids)))} if user_ids else {}
    accounts = (
        {a.id: a for a in session.scalars(select(Account).where(Account.id.in_(account_ids)))} if account_ids else {}
    )
    return WorkflowLogPage(rows=rows, end_users=end_users, accounts=accounts, page=page, limit=limit, total=total)
