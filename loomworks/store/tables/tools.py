"""Tool providers of a workspace: built-in credentials, OpenAPI, workflow and MCP providers, app MCP servers.

Secret values (API keys, MCP headers) are sealed with the key ring, bound to the workspace and
provider, in the `sealed` columns; `config`/`credentials` hold the plain fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from loomworks.store.tables._base import Base, JsonType, created_column, id_column, updated_column


class BuiltinToolCredential(Base):
    """Dify's `tool_builtin_providers`: a workspace's credentials for one built-in provider."""

    __tablename__ = "tool_builtin_providers"
    __table_args__ = (UniqueConstraint("tenant_id", "provider"),)
    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    sealed: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


class ApiToolProvider(Base):
    """Dify's `tool_api_providers`: custom tools from an OpenAPI / Swagger document."""

    __tablename__ = "tool_api_providers"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    icon: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    description: Mapped[str] = mapped_column(Text, default="")
    schema: Mapped[str] = mapped_column(Text)
    schema_type: Mapped[str] = mapped_column(String(32), default="openapi")
    tools: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)  # parsed operations
    credentials: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    sealed: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    privacy_policy: Mapped[str] = mapped_column(Text, default="")
    custom_disclaimer: Mapped[str] = mapped_column(Text, default="")
    labels: Mapped[list[str]] = mapped_column(JsonType, default=list)
    created_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


class WorkflowToolProvider(Base):
    """Dify's `tool_workflow_providers`: a published workflow app offered as a tool."""

    __tablename__ = "tool_workflow_providers"
    __table_args__ = (UniqueConstraint("tenant_id", "name"), UniqueConstraint("tenant_id", "app_id"))
    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    label: Mapped[str] = mapped_column(String(255), default="")
    icon: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    description: Mapped[str] = mapped_column(Text, default="")
    parameters: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    privacy_policy: Mapped[str] = mapped_column(Text, default="")
    labels: Mapped[list[str]] = mapped_column(JsonType, default=list)
    created_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


class McpToolProvider(Base):
    """Dify's `tool_mcp_providers`: a remote MCP server; its URL and headers are sealed."""

    __tablename__ = "tool_mcp_providers"
    __table_args__ = (UniqueConstraint("tenant_id", "name"), UniqueConstraint("tenant_id", "server_identifier"))
    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    server_identifier: Mapped[str] = mapped_column(String(64))
    icon: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    transport: Mapped[str] = mapped_column(String(32), default="streamable-http")
    sealed: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)  # server_url, headers, command
    url_hint: Mapped[str] = mapped_column(String(255), default="")  # masked URL for listing
    tools: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)  # cached `tools/list`
    timeout: Mapped[float] = mapped_column(Float, default=30.0)
    sse_read_timeout: Mapped[float] = mapped_column(Float, default=300.0)
    created_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


class AppMcpServer(Base):
    """Dify's `app_mcp_servers`: an app published as an MCP server; `server_code` is its key."""

    __tablename__ = "app_mcp_servers"
    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    server_code: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    parameters: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)  # variable -> description
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()
