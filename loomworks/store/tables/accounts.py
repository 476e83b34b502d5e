"""Accounts, workspaces (tenants), memberships, sign-in sessions and invitations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from loomworks.store.tables._base import Base, UTCDateTime, created_column, id_column, updated_column


class Setup(Base):
    """The single row written when the first admin finishes `/install`."""

    __tablename__ = "setups"
    version: Mapped[str] = mapped_column(String(32), primary_key=True)
    setup_at: Mapped[datetime] = created_column()


class Account(Base):
    __tablename__ = "accounts"
    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(255), unique=True, index=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    avatar: Mapped[str | None] = mapped_column(String(255))
    interface_language: Mapped[str] = mapped_column(String(16), default="en-US")
    interface_theme: Mapped[str] = mapped_column(String(16), default="light")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # pending (invited, not activated), active, banned, closed
    status: Mapped[str] = mapped_column(String(16), default="active")
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_ip: Mapped[str | None] = mapped_column(String(64))
    last_active_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    initialized_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


class Tenant(Base):
    """A workspace."""

    __tablename__ = "tenants"
    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(255))
    plan: Mapped[str] = mapped_column(String(32), default="basic")
    status: Mapped[str] = mapped_column(String(16), default="normal")  # normal, archive
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


class TenantAccountJoin(Base):
    """Membership of an account in a workspace, with its role."""

    __tablename__ = "tenant_account_joins"
    __table_args__ = (UniqueConstraint("tenant_id", "account_id"),)
    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))  # owner, admin, editor, normal, dataset_operator
    current: Mapped[bool] = mapped_column(Boolean, default=False)
    invited_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


class AccountSession(Base):
    """A sign-in: holds the hash of its refresh token; access tokens name it and die with it."""

    __tablename__ = "account_sessions"
    id: Mapped[str] = id_column()
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    refresh_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_column()


class Invitation(Base):
    """An invitation into a workspace; the token is shown once in the activation URL, stored hashed."""

    __tablename__ = "invitations"
    id: Mapped[str] = id_column()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_column()
