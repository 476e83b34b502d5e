"""Conversations, messages, feedback and message files (the data the logs pages read)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from loomworks.store.tables._base import Base, JsonType, UTCDateTime, created_column, id_column, updated_column


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_app_user_updated", "app_id", "from_end_user_id", "updated_at"),
        Index("ix_conversations_app_created", "app_id", "created_at"),
    )
    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(String(36))
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    app_model_config_id: Mapped[str | None] = mapped_column(String(36))
    workflow_id: Mapped[str | None] = mapped_column(String(36))
    mode: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255), default="New conversation")
    summary: Mapped[str | None] = mapped_column(Text)
    inputs: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    introduction: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="normal")
    invoke_from: Mapped[str] = mapped_column(String(32))  # service-api, web-app, debugger, explore
    from_source: Mapped[str] = mapped_column(String(16))  # api (end user), console (account)
    from_end_user_id: Mapped[str | None] = mapped_column(String(36))
    from_account_id: Mapped[str | None] = mapped_column(String(36))
    dialogue_count: Mapped[int] = mapped_column(Integer, default=0)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    is_deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_conversation_created", "conversation_id", "created_at"),
        Index("ix_messages_app_created", "app_id", "created_at"),
    )
    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(String(36))
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    conversation_id: Mapped[str | None] = mapped_column(String(36))
    parent_message_id: Mapped[str | None] = mapped_column(String(36))
    app_model_config_id: Mapped[str | None] = mapped_column(String(36))
    workflow_run_id: Mapped[str | None] = mapped_column(String(36))
    model_provider: Mapped[str | None] = mapped_column(String(128))
    model_id: Mapped[str | None] = mapped_column(String(255))
    inputs: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    query: Mapped[str] = mapped_column(Text, default="")
    message: Mapped[list[Any]] = mapped_column(JsonType, default=list)  # the final prompt messages
    answer: Mapped[str] = mapped_column(Text, default="")
    message_tokens: Mapped[int] = mapped_column(Integer, default=0)
    message_unit_price: Mapped[Decimal] = mapped_column(Numeric(18, 7), default=Decimal(0))
    message_price_unit: Mapped[Decimal] = mapped_column(Numeric(18, 7), default=Decimal("0.001"))
    answer_tokens: Mapped[int] = mapped_column(Integer, default=0)
    answer_unit_price: Mapped[Decimal] = mapped_column(Numeric(18, 7), default=Decimal(0))
    answer_price_unit: Mapped[Decimal] = mapped_column(Numeric(18, 7), default=Decimal("0.001"))
    total_price: Mapped[Decimal] = mapped_column(Numeric(18, 7), default=Decimal(0))
    currency: Mapped[str] = mapped_column(String(8), default="USD")
    provider_response_latency: Mapped[float] = mapped_column(Float, default=0.0)
    status: Mapped[str] = mapped_column(String(16), default="normal")  # normal, error, stopped
    error: Mapped[str | None] = mapped_column(Text)
    message_metadata: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    agent_thoughts: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    invoke_from: Mapped[str] = mapped_column(String(32))
    from_source: Mapped[str] = mapped_column(String(16))
    from_end_user_id: Mapped[str | None] = mapped_column(String(36))
    from_account_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


class MessageFeedback(Base):
    __tablename__ = "message_feedbacks"
    __table_args__ = (Index("ix_message_feedbacks_message", "message_id", "from_source"),)
    id: Mapped[str] = id_column()
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[str | None] = mapped_column(String(36))
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    rating: Mapped[str] = mapped_column(String(16))  # like, dislike
    content: Mapped[str | None] = mapped_column(Text)
    from_source: Mapped[str] = mapped_column(String(16))  # user, admin
    from_end_user_id: Mapped[str | None] = mapped_column(String(36))
    from_account_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


class MessageFile(Base):
    __tablename__ = "message_files"
    id: Mapped[str] = id_column()
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(16))  # image, document, audio, video, custom
    transfer_method: Mapped[str] = mapped_column(String(16))  # remote_url, local_file, tool_file
    url: Mapped[str | None] = mapped_column(Text)
    upload_file_id: Mapped[str | None] = mapped_column(String(36))
    belongs_to: Mapped[str] = mapped_column(String(16), default="user")  # user, assistant
    created_by_role: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = created_column()
