"""Apps, their configuration, web-app sites, API keys, end users and uploaded files."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from loomworks.store.tables._base import Base, JsonType, UTCDateTime, created_column, id_column, updated_column


class App(Base):
    __tablename__ = "apps"
    __table_args__ = (Index("ix_apps_tenant_created", "tenant_id", "created_at"),)
    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    mode: Mapped[str] = mapped_column(String(32))  # chat, completion, agent-chat, workflow, advanced-chat
    icon_type: Mapped[str | None] = mapped_column(String(16))  # emoji, image, link
    icon: Mapped[str | None] = mapped_column(String(255))
    icon_background: Mapped[str | None] = mapped_column(String(32))
    app_model_config_id: Mapped[str | None] = mapped_column(String(36))
    workflow_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(16), default="normal")
    enable_site: Mapped[bool] = mapped_column(Boolean, default=True)
    enable_api: Mapped[bool] = mapped_column(Boolean, default=True)
    api_rpm: Mapped[int] = mapped_column(Integer, default=0)
    api_rph: Mapped[int] = mapped_column(Integer, default=0)
    use_icon_as_answer_icon: Mapped[bool] = mapped_column(Boolean, default=False)
    tags: Mapped[list[str]] = mapped_column(JsonType, default=list)
    created_by: Mapped[str | None] = mapped_column(String(36))
    updated_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


class AppModelConfig(Base):
    """One saved version of a chat/completion/agent app's `model_config` (Dify's keys, as JSON)."""

    __tablename__ = "app_model_configs"
    id: Mapped[str] = id_column()
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    config: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


class Site(Base):
    """The end-user web app of an app: its public code and presentation settings."""

    __tablename__ = "sites"
    id: Mapped[str] = id_column()
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), unique=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    icon_type: Mapped[str | None] = mapped_column(String(16))
    icon: Mapped[str | None] = mapped_column(String(255))
    icon_background: Mapped[str | None] = mapped_column(String(32))
    chat_color_theme: Mapped[str | None] = mapped_column(String(32))
    chat_color_theme_inverted: Mapped[bool] = mapped_column(Boolean, default=False)
    copyright: Mapped[str | None] = mapped_column(String(255))
    privacy_policy: Mapped[str | None] = mapped_column(String(255))
    custom_disclaimer: Mapped[str] = mapped_column(Text, default="")
    default_language: Mapped[str] = mapped_column(String(16), default="en-US")
    show_workflow_steps: Mapped[bool] = mapped_column(Boolean, default=True)
    use_icon_as_answer_icon: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


class ApiToken(Base):
    """An API key. Only its SHA-256 is stored; the full token is shown once, at creation."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        Index("ix_api_tokens_app_type", "app_id", "type"),
        Index("ix_api_tokens_tenant_type", "tenant_id", "type"),
    )
    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    app_id: Mapped[str | None] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(16))  # app, dataset
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_hint: Mapped[str] = mapped_column(String(32))  # e.g. "app-…Xy12"
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = created_column()


class EndUser(Base):
    """A user of a published app, identified by the developer's `user` string or a web-app session."""

    __tablename__ = "end_users"
    __table_args__ = (Index("ix_end_users_app_session", "app_id", "session_id", "type", unique=True),)
    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(32))  # service_api, browser
    session_id: Mapped[str] = mapped_column(String(255))
    external_user_id: Mapped[str | None] = mapped_column(String(255))
    is_anonymous: Mapped[bool] = mapped_column(Boolean, default=True)
    name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


class UploadFile(Base):
    """An uploaded file. `key` is the storage key we chose; the user's file name is never a path."""

    __tablename__ = "upload_files"
    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    storage_type: Mapped[str] = mapped_column(String(16), default="local")
    key: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    extension: Mapped[str] = mapped_column(String(32))
    mime_type: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    created_by_role: Mapped[str] = mapped_column(String(16))  # account, end_user
    created_by: Mapped[str] = mapped_column(String(36))
    used: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = created_column()
