"""tool providers: built-in credentials, OpenAPI, workflow and MCP providers, app MCP servers

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 16:14:12.718909
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[object]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "tool_api_providers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("icon", _json(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("schema", sa.Text(), nullable=False),
        sa.Column("schema_type", sa.String(length=32), nullable=False),
        sa.Column("tools", _json(), nullable=False),
        sa.Column("credentials", _json(), nullable=False),
        sa.Column("sealed", _json(), nullable=False),
        sa.Column("privacy_policy", sa.Text(), nullable=False),
        sa.Column("custom_disclaimer", sa.Text(), nullable=False),
        sa.Column("labels", _json(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_tool_api_providers_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tool_api_providers")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_tool_api_providers_tenant_id_name")),
    )
    with op.batch_alter_table("tool_api_providers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tool_api_providers_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "tool_builtin_providers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("config", _json(), nullable=False),
        sa.Column("sealed", _json(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_tool_builtin_providers_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tool_builtin_providers")),
        sa.UniqueConstraint("tenant_id", "provider", name=op.f("uq_tool_builtin_providers_tenant_id_provider")),
    )
    with op.batch_alter_table("tool_builtin_providers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tool_builtin_providers_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "tool_mcp_providers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("server_identifier", sa.String(length=64), nullable=False),
        sa.Column("icon", _json(), nullable=False),
        sa.Column("transport", sa.String(length=32), nullable=False),
        sa.Column("sealed", _json(), nullable=False),
        sa.Column("url_hint", sa.String(length=255), nullable=False),
        sa.Column("tools", _json(), nullable=False),
        sa.Column("timeout", sa.Float(), nullable=False),
        sa.Column("sse_read_timeout", sa.Float(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_tool_mcp_providers_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tool_mcp_providers")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_tool_mcp_providers_tenant_id_name")),
        sa.UniqueConstraint(
            "tenant_id", "server_identifier", name=op.f("uq_tool_mcp_providers_tenant_id_server_identifier")
        ),
    )
    with op.batch_alter_table("tool_mcp_providers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tool_mcp_providers_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "app_mcp_servers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("app_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("server_code", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("parameters", _json(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_app_mcp_servers_app_id_apps"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_app_mcp_servers_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_mcp_servers")),
        sa.UniqueConstraint("app_id", name=op.f("uq_app_mcp_servers_app_id")),
        sa.UniqueConstraint("server_code", name=op.f("uq_app_mcp_servers_server_code")),
    )
    with op.batch_alter_table("app_mcp_servers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_app_mcp_servers_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "tool_workflow_providers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("app_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("icon", _json(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("parameters", _json(), nullable=False),
        sa.Column("privacy_policy", sa.Text(), nullable=False),
        sa.Column("labels", _json(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_tool_workflow_providers_app_id_apps"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_tool_workflow_providers_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tool_workflow_providers")),
        sa.UniqueConstraint("tenant_id", "app_id", name=op.f("uq_tool_workflow_providers_tenant_id_app_id")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_tool_workflow_providers_tenant_id_name")),
    )
    with op.batch_alter_table("tool_workflow_providers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tool_workflow_providers_tenant_id"), ["tenant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tool_workflow_providers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tool_workflow_providers_tenant_id"))

    op.drop_table("tool_workflow_providers")
    with op.batch_alter_table("app_mcp_servers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_app_mcp_servers_tenant_id"))

    op.drop_table("app_mcp_servers")
    with op.batch_alter_table("tool_mcp_providers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tool_mcp_providers_tenant_id"))

    op.drop_table("tool_mcp_providers")
    with op.batch_alter_table("tool_builtin_providers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tool_builtin_providers_tenant_id"))

    op.drop_table("tool_builtin_providers")
    with op.batch_alter_table("tool_api_providers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tool_api_providers_tenant_id"))

    op.drop_table("tool_api_providers")
