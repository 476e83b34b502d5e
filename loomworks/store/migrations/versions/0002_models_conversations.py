"""models and conversations

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 02:35:44.045274
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "model_calls",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("app_id", sa.String(length=36), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.String(length=36), nullable=True),
        sa.Column("provider", sa.String(length=128), nullable=False),
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("model_type", sa.String(length=32), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("total_tokens", sa.Integer(), nullable=False),
        sa.Column("prompt_price", sa.Numeric(precision=18, scale=7), nullable=False),
        sa.Column("completion_price", sa.Numeric(precision=18, scale=7), nullable=False),
        sa.Column("total_price", sa.Numeric(precision=18, scale=7), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("latency", sa.Float(), nullable=False),
        sa.Column("time_to_first_token", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_calls")),
    )
    with op.batch_alter_table("model_calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_model_calls_app_id"), ["app_id"], unique=False)
        batch_op.create_index("ix_model_calls_tenant_created", ["tenant_id", "created_at"], unique=False)

    op.create_table(
        "custom_models",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("provider", sa.String(length=128), nullable=False),
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("model_type", sa.String(length=32), nullable=False),
        sa.Column("config", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("secrets", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_custom_models_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_models")),
        sa.UniqueConstraint(
            "tenant_id",
            "provider",
            "model",
            "model_type",
            name=op.f("uq_custom_models_tenant_id_provider_model_model_type"),
        ),
    )
    with op.batch_alter_table("custom_models", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_custom_models_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "default_models",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("model_type", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=128), nullable=False),
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_default_models_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_default_models")),
        sa.UniqueConstraint("tenant_id", "model_type", name=op.f("uq_default_models_tenant_id_model_type")),
    )
    op.create_table(
        "provider_credentials",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("provider", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("config", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("secrets", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("is_valid", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_provider_credentials_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_credentials")),
        sa.UniqueConstraint(
            "tenant_id", "provider", "name", name=op.f("uq_provider_credentials_tenant_id_provider_name")
        ),
    )
    with op.batch_alter_table("provider_credentials", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_provider_credentials_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "conversations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("app_id", sa.String(length=36), nullable=False),
        sa.Column("app_model_config_id", sa.String(length=36), nullable=True),
        sa.Column("workflow_id", sa.String(length=36), nullable=True),
        sa.Column("mode", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("inputs", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("introduction", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("invoke_from", sa.String(length=32), nullable=False),
        sa.Column("from_source", sa.String(length=16), nullable=False),
        sa.Column("from_end_user_id", sa.String(length=36), nullable=True),
        sa.Column("from_account_id", sa.String(length=36), nullable=True),
        sa.Column("dialogue_count", sa.Integer(), nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("is_deleted", sa.Boolean(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["app_id"], ["apps.id"], name=op.f("fk_conversations_app_id_apps"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
    )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.create_index("ix_conversations_app_created", ["app_id", "created_at"], unique=False)
        batch_op.create_index(
            "ix_conversations_app_user_updated", ["app_id", "from_end_user_id", "updated_at"], unique=False
        )

    op.create_table(
        "messages",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("app_id", sa.String(length=36), nullable=False),
        sa.Column("conversation_id", sa.String(length=36), nullable=True),
        sa.Column("parent_message_id", sa.String(length=36), nullable=True),
        sa.Column("app_model_config_id", sa.String(length=36), nullable=True),
        sa.Column("workflow_run_id", sa.String(length=36), nullable=True),
        sa.Column("model_provider", sa.String(length=128), nullable=True),
        sa.Column("model_id", sa.String(length=255), nullable=True),
        sa.Column("inputs", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("message", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("message_tokens", sa.Integer(), nullable=False),
        sa.Column("message_unit_price", sa.Numeric(precision=18, scale=7), nullable=False),
        sa.Column("message_price_unit", sa.Numeric(precision=18, scale=7), nullable=False),
        sa.Column("answer_tokens", sa.Integer(), nullable=False),
        sa.Column("answer_unit_price", sa.Numeric(precision=18, scale=7), nullable=False),
        sa.Column("answer_price_unit", sa.Numeric(precision=18, scale=7), nullable=False),
        sa.Column("total_price", sa.Numeric(precision=18, scale=7), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("provider_response_latency", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("message_metadata", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("agent_thoughts", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("invoke_from", sa.String(length=32), nullable=False),
        sa.Column("from_source", sa.String(length=16), nullable=False),
        sa.Column("from_end_user_id", sa.String(length=36), nullable=True),
        sa.Column("from_account_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["app_id"], ["apps.id"], name=op.f("fk_messages_app_id_apps"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_app_created", ["app_id", "created_at"], unique=False)
        batch_op.create_index("ix_messages_conversation_created", ["conversation_id", "created_at"], unique=False)

    op.create_table(
        "message_feedbacks",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("app_id", sa.String(length=36), nullable=False),
        sa.Column("conversation_id", sa.String(length=36), nullable=True),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("rating", sa.String(length=16), nullable=False),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("from_source", sa.String(length=16), nullable=False),
        sa.Column("from_end_user_id", sa.String(length=36), nullable=True),
        sa.Column("from_account_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_message_feedbacks_app_id_apps"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_message_feedbacks_message_id_messages"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_feedbacks")),
    )
    with op.batch_alter_table("message_feedbacks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_message_feedbacks_app_id"), ["app_id"], unique=False)
        batch_op.create_index("ix_message_feedbacks_message", ["message_id", "from_source"], unique=False)

    op.create_table(
        "message_files",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("transfer_method", sa.String(length=16), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("upload_file_id", sa.String(length=36), nullable=True),
        sa.Column("belongs_to", sa.String(length=16), nullable=False),
        sa.Column("created_by_role", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_message_files_message_id_messages"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_files")),
    )
    with op.batch_alter_table("message_files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_message_files_message_id"), ["message_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("message_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_files_message_id"))

    op.drop_table("message_files")
    with op.batch_alter_table("message_feedbacks", schema=None) as batch_op:
        batch_op.drop_index("ix_message_feedbacks_message")
        batch_op.drop_index(batch_op.f("ix_message_feedbacks_app_id"))

    op.drop_table("message_feedbacks")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_conversation_created")
        batch_op.drop_index("ix_messages_app_created")

    op.drop_table("messages")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_conversations_app_user_updated")
        batch_op.drop_index("ix_conversations_app_created")

    op.drop_table("conversations")
    with op.batch_alter_table("provider_credentials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provider_credentials_tenant_id"))

    op.drop_table("provider_credentials")
    op.drop_table("default_models")
    with op.batch_alter_table("custom_models", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_custom_models_tenant_id"))

    op.drop_table("custom_models")
    with op.batch_alter_table("model_calls", schema=None) as batch_op:
        batch_op.drop_index("ix_model_calls_tenant_created")
        batch_op.drop_index(batch_op.f("ix_model_calls_app_id"))

    op.drop_table("model_calls")
