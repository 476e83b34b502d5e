"""Tracing export: each app's tracing switch, its provider configs (secrets sealed), and the outbox.

The outbox holds traces that could not be delivered from memory (the queue was full, the collector
kept failing, or the server stopped first); the dispatcher sends them from there until they arrive.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from loomworks.store.tables._base import Base, JsonType, UTCDateTime, created_column, id_column, updated_column


class TraceSetting(Base):
    """Dify's `app.tracing`: whether the app exports traces, and to which provider."""

    __tablename__ = "app_trace_settings"
    id: Mapped[str] = id_column()
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    tracing_provider: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


class TraceConfig(Base):
    """Dify's `trace_app_config`: one provider's settings for one app; secret fields are sealed."""

    __tablename__ = "trace_app_configs"
    __table_args__ = (UniqueConstraint("app_id", "tracing_provider"),)
    id: Mapped[str] = id_column()
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    tracing_provider: Mapped[str] = mapped_column(String(32))
    tracing_config: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    sealed: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


class TraceOutbox(Base):
    """A trace (or a provider's encoded items) waiting to be delivered; deleted once delivered."""

    __tablename__ = "trace_outbox"
    __table_args__ = (Index("ix_trace_outbox_next_attempt_at", "next_attempt_at"),)
    id: Mapped[str] = id_column()
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str | None] = mapped_column(String(32))  # set when `payload` holds encoded items
    payload: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_column()
