"""Workspace model settings: provider credentials, custom models, defaults, and accounted calls."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from loomworks.store.tables._base import Base, JsonType, created_column, id_column, updated_column


class ProviderCredential(Base):
    """One named set of credentials for a provider in a workspace (several allow load balancing).

    `secrets` holds the envelope-encrypted secret fields; `config` the plain ones.
    """

    __tablename__ = "provider_credentials"
    __table_args__ = (UniqueConstraint("tenant_id", "provider", "name"),)
    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(128), default="default")
    config: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    secrets: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    is_valid: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


class CustomModel(Base):
    """A customizable-model entry: one model with its own credentials (e.g. an Xinference model uid)."""

    __tablename__ = "custom_models"
    __table_args__ = (UniqueConstraint("tenant_id", "provider", "model", "model_type"),)
    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(128))
    model: Mapped[str] = mapped_column(String(255))
    model_type: Mapped[str] = mapped_column(String(32))
    config: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    secrets: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


class DefaultModel(Base):
    __tablename__ = "default_models"
    __table_args__ = (UniqueConstraint("tenant_id", "model_type"),)
    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    model_type: Mapped[str] = mapped_column(String(32))
    provider: Mapped[str] = mapped_column(String(128))
    model: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


class ModelCall(Base):
    """One accounted model invocation: tokens, prices, latency, time to first token."""

    __tablename__ = "model_calls"
    __table_args__ = (Index("ix_model_calls_tenant_created", "tenant_id", "created_at"),)
    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(String(36))
    app_id: Mapped[str | None] = mapped_column(String(36), index=True)
    source: Mapped[str] = mapped_column(String(32), default="app")  # app, workflow, validation, indexing
    source_id: Mapped[str | None] = mapped_column(String(36))
    provider: Mapped[str] = mapped_column(String(128))
    model: Mapped[str] = mapped_column(String(255))
    model_type: Mapped[str] = mapped_column(String(32))
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    total_tokens: Mapped[int] = mapped_column(Integer, default=0)
    prompt_price: Mapped[Decimal] = mapped_column(Numeric(18, 7), default=Decimal(0))
    completion_price: Mapped[Decimal] = mapped_column(Numeric(18, 7), default=Decimal(0))
    total_price: Mapped[Decimal] = mapped_column(Numeric(18, 7), default=Decimal(0))
    currency: Mapped[str] = mapped_column(String(8), default="USD")
    latency: Mapped[float] = mapped_column(Float, default=0.0)
    time_to_first_token: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="succeeded")
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_column()
