"""Per-day statistics of an app, aggregated in SQL (Dify's monitoring charts).

Days are the account's calendar days: timestamps are shifted by the time zone's current UTC offset
before taking the date. Debugger turns are left out, as in Dify.

Conversations are counted as Dify counts them, as distinct conversations of the day's messages. A
text generator's turn belongs to no conversation here, while Dify stores a conversation per
completion message, so a message without one counts as its own conversation: a completion app's
daily conversations equal its daily messages, and its session interactions are 1.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from loomworks.core.errors import InvalidParamError
from loomworks.services import apps
from loomworks.services.caller import Caller
from loomworks.store.tables import Message, MessageFeedback

KINDS = (
    "daily-conversations",
    "daily-end-users",
    "daily-messages",
    "token-costs",
    "average-session-interactions",
    "user-satisfaction-rate",
    "average-response-time",
    "tokens-per-second",
)


def utc_offset(timezone: str | None) -> timedelta:
    try:
        zone = ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return datetime.now(zone).utcoffset() or timedelta(0)


def _day(session: Session, column: Any, offset: timedelta) -> ColumnElement[Any]:
    seconds = int(offset.total_seconds())
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column) + offset, "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", column, f"{seconds:+d} seconds")


def _number(value: Any, digits: int = 2) -> float:
    return round(float(value or 0), digits)


def statistics(
    session: Session,
    *,
    caller: Caller,
    app_id: str,
    kind: str,
    start: datetime | None,
    end: datetime | None,
    offset: timedelta,
) -> list[dict[str, Any]]:
    """Rows `{date, <metric>}` for one of `KINDS`, oldest day first."""
    if kind not in KINDS:
        raise InvalidParamError(f"Unknown statistic {kind}.", params="kind")
    app = apps.get(session, caller=caller, app_id=app_id)
    day = _day(session, Message.created_at, offset).label("date")
    conversation = func.coalesce(Message.conversation_id, Message.id)  # see the module docstring
    likes = (
        select(func.count())
        .select_from(MessageFeedback)
        .where(
            MessageFeedback.message_id == Message.id,
            MessageFeedback.rating == "like",
            MessageFeedback.from_source == "user",
        )
        .correlate(Message)
        .scalar_subquery()
    )
    metrics: dict[str, tuple[list[Any], Callable[[Any], dict[str, Any]]]] = {
        "daily-conversations": (
            [func.count(func.distinct(conversation))],
            lambda r: {"conversation_count": int(r[1])},
        ),
        "daily-end-users": (
            [func.count(func.distinct(Message.from_end_user_id))],
            lambda r: {"terminal_count": int(r[1])},
        ),
        "daily-messages": ([func.count(Message.id)], lambda r: {"message_count": int(r[1])}),
        "token-costs": (
            [func.sum(Message.message_tokens + Message.answer_tokens), func.sum(Message.total_price)],
            lambda r: {
                "token_count": int(r[1] or 0),
                "total_price": str(Decimal(r[2] or 0).quantize(Decimal("0.0000001"))),
                "currency": "USD",
            },
        ),
        "average-session-interactions": (
            [func.count(Message.id), func.count(func.distinct(conversation))],
            lambda r: {"interactions": _number(r[1] / r[2] if r[2] else 0)},
        ),
        "user-satisfaction-rate": (
            [func.count(Message.id), func.sum(case((likes > 0, 1), else_=0))],
            lambda r: {"rate": _number((r[2] or 0) * 1000 / r[1] if r[1] else 0)},
        ),
        "average-response-time": (
            [func.avg(Message.provider_response_latency)],
            lambda r: {"latency": _number((r[1] or 0) * 1000, 4)},
        ),
        "tokens-per-second": (
            [func.sum(Message.answer_tokens), func.sum(Message.provider_response_latency)],
            lambda r: {"tps": _number((r[1] or 0) / r[2] if r[2] else 0, 4)},
        ),
    }
    columns, shape = metrics[kind]
    query = select(day, *columns).where(Message.app_id == app.id, Message.invoke_from != "debugger")
    if start is not None:
        query = query.where(Message.created_at >= start)
    if end is not None:
        query = query.where(Message.created_at < end)
    rows = session.execute(query.group_by(day).order_by(day)).all()
    return [{"date": row[0], **shape(row)} for row in rows]
