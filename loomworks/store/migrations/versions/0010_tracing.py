"""tracing export

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-24 05:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql  # noqa: F401  (JSONB columns)

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[object]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:

    op.create_table(
        "app_trace_settings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("app_id", sa.String(length=36), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("tracing_provider", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_app_trace_settings_app_id_apps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_trace_settings")),
        sa.UniqueConstraint("app_id", name=op.f("uq_app_trace_settings_app_id")),
    )
    op.create_table(
        "trace_app_configs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("app_id", sa.String(length=36), nullable=False),
        sa.Column("tracing_provider", sa.String(length=32), nullable=False),
        sa.Column("tracing_config", _json(), nullable=False),
        sa.Column("sealed", _json(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_trace_app_configs_app_id_apps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trace_app_configs")),
        sa.UniqueConstraint("app_id", "tracing_provider", name=op.f("uq_trace_app_configs_app_id_tracing_provider")),
    )
    op.create_table(
        "trace_outbox",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("app_id", sa.String(length=36), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=True),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["app_id"], ["apps.id"], name=op.f("fk_trace_outbox_app_id_apps"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trace_outbox")),
    )
    with op.batch_alter_table("trace_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_trace_outbox_next_attempt_at", ["next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_trace_outbox_app_id"), ["app_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("trace_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trace_outbox_app_id"))
        batch_op.drop_index("ix_trace_outbox_next_attempt_at")

    op.drop_table("trace_outbox")
    op.drop_table("trace_app_configs")
    op.drop_table("app_trace_settings")
