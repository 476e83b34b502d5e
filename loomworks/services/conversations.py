"""Conversations and messages of an app, always seen through one end user or one console account.

Dify scopes conversations by (app, end user): another user's conversation id is "Conversation
Not Exists." (404) — never someone else's data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from loomworks.core.clock import now
from loomworks.core.errors import InvalidParamError, NotFoundError
from loomworks.core.ids import is_uuid
from loomworks.store.tables import App, Conversation, Message, MessageFeedback, MessageFile

T = TypeVar("T")
SORTS = {"created_at", "-created_at", "updated_at", "-updated_at"}


@dataclass(frozen=True, slots=True)
class Owner:
    """Who a conversation belongs to: an end user (Service API, web app) or a console account."""

    end_user_id: str | None = None
    account_id: str | None = None

    def where(self, column_end_user: object, column_account: object) -> object:
        if self.end_user_id is not None:
            return column_end_user == self.end_user_id
        return column_account == self.account_id


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    limit: int
    has_more: bool


def _check_limit(limit: int) -> int:
    if limit < 1 or limit > 100:
        raise InvalidParamError("limit must be between 1 and 100.", params="limit")
    return limit


def _scoped(app: App, owner: Owner) -> Select[tuple[Conversation]]:
    return select(Conversation).where(
        Conversation.app_id == app.id,
        Conversation.is_deleted.is_(False),
        owner.where(Conversation.from_end_user_id, Conversation.from_account_id),  # type: ignore[arg-type]
    )


def get(session: Session, *, app: App, owner: Owner, conversation_id: str) -> Conversation:
    if not is_uuid(conversation_id):
        raise NotFoundError("Conversation Not Exists.")
    found = session.scalar(_scoped(app, owner).where(Conversation.id == conversation_id))
    if found is None:
        raise NotFoundError("Conversation Not Exists.")
    return found


def list_page(
    session: Session,
    *,
    app: App,
    owner: Owner,
    last_id: str | None,
    limit: int,
    sort_by: str = "-updated_at",
    pinned: bool | None = None,
) -> Page[Conversation]:
    """Conversations after the cursor `last_id` in `sort_by` order (Dify's `GET /conversations`)."""
    _check_limit(limit)
    if sort_by not in SORTS:
        raise InvalidParamError(f"sort_by must be one of {', '.join(sorted(SORTS))}.", params="sort_by")
    column = Conversation.created_at if sort_by.endswith("created_at") else Conversation.updated_at
    descending = sort_by.startswith("-")
    query = _scoped(app, owner)
    if pinned is not None:
        query = query.where(Conversation.pinned.is_(pinned))
    if last_id:
        anchor = session.scalar(_scoped(app, owner).where(Conversation.id == last_id))
        if anchor is None:
            raise NotFoundError("Last Conversation Not Exists.")
        value = getattr(anchor, column.key)
        beyond = column < value if descending else column > value
        tie = and_(column == value, Conversation.id < anchor.id if descending else Conversation.id > anchor.id)
        query = query.where(or_(beyond, tie))
    order = (column.desc(), Conversation.id.desc()) if descending else (column.asc(), Conversation.id.asc())
    rows = list(session.scalars(query.order_by(*order).limit(limit + 1)))
    return Page(items=rows[:limit], limit=limit, has_more=len(rows) > limit)


def rename(session: Session, *, app: App, owner: Owner, conversation_id: str, name: str) -> Conversation:
    conversation = get(session, app=app, owner=owner, conversation_id=conversation_id)
    name = (name or "").strip()
    if not name:
        raise InvalidParamError("name is required when auto_generate is false.", params="name")
    conversation.name = name[:255]
    conversation.updated_at = now()
    return conversation


def delete(session: Session, *, app: App, owner: Owner, conversation_id: str) -> None:
    """Soft-delete: logs and statistics keep the messages; the user no longer sees the conversation."""
    conversation = get(session, app=app, owner=owner, conversation_id=conversation_id)
    conversation.is_deleted = True


def messages_page(
    session: Session, *, app: App, owner: Owner, conversation_id: str, first_id: str | None, limit: int
) -> Page[Message]:
    """A page of messages older than `first_id`, returned oldest first (Dify's `GET /messages`)."""
    _check_limit(limit)
    conversation = get(session, app=app, owner=owner, conversation_id=conversation_id)
    query = select(Message).where(Message.conversation_id == conversation.id)
    if first_id:
        anchor = session.scalar(query.where(Message.id == first_id))
        if anchor is None:
            raise NotFoundError("First Message Not Exists.")
        query = query.where(
            or_(
                Message.created_at < anchor.created_at,
                and_(Message.created_at == anchor.created_at, Message.id < anchor.id),
            )
        )
    rows = list(session.scalars(query.order_by(Message.created_at.desc(), Message.id.desc()).limit(limit + 1)))
    page = rows[:limit]
    page.reverse()
    return Page(items=page, limit=limit, has_more=len(rows) > limit)


def get_message(session: Session, *, app: App, owner: Owner, message_id: str) -> Message:
    if not is_uuid(message_id):
        raise NotFoundError("Message Not Exists.")
    message = session.scalar(
        select(Message).where(
            Message.id == message_id,
            Message.app_id == app.id,
            owner.where(Message.from_end_user_id, Message.from_account_id),  # type: ignore[arg-type]
        )
    )
    if message is None:
        raise NotFoundError("Message Not Exists.")
    return message


def set_feedback(
    session: Session, *, app: App, owner: Owner, message_id: str, rating: str | None, content: str | None
) -> None:
    """Like, dislike, or (rating None) revoke the user's feedback on one of their messages."""
    if rating not in (None, "like", "dislike"):
        raise InvalidParamError("rating must be like, dislike or null.", params="rating")
    message = get_message(session, app=app, owner=owner, message_id=message_id)
    source = "user" if owner.end_user_id is not None else "admin"
    existing = session.scalar(
        select(MessageFeedback).where(MessageFeedback.message_id == message.id, MessageFeedback.from_source == source)
    )
    if rating is None:
        if existing is None:
            raise NotFoundError("Feedback Not Exists.")
        session.delete(existing)
        return
    if existing is None:
        session.add(
            MessageFeedback(
                app_id=app.id,
                conversation_id=message.conversation_id,
                message_id=message.id,
                rating=rating,
                content=content,
                from_source=source,
                from_end_user_id=owner.end_user_id,
                from_account_id=owner.account_id,
            )
        )
    else:
        existing.rating = rating
        existing.content = content


def feedback_ratings(session: Session, *, message_ids: list[str], source: str = "user") -> dict[str, str]:
    if not message_ids:
        return {}
    rows = session.execute(
        select(MessageFeedback.message_id, MessageFeedback.rating).where(
            MessageFeedback.message_id.in_(message_ids), MessageFeedback.from_source == source
        )
    )
    return {str(row[0]): str(row[1]) for row in rows}


def files_of(session: Session, *, message_ids: list[str]) -> dict[str, list[MessageFile]]:
    """The files attached to each of `message_ids`."""
    found: dict[str, list[MessageFile]] = {}
    if not message_ids:
        return found
    for row in session.scalars(
        select(MessageFile).where(MessageFile.message_id.in_(message_ids)).order_by(MessageFile.created_at)
    ):
        found.setdefault(row.message_id, []).append(row)
    return found
