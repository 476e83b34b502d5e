"""annotations

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 03:04:14.772066
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql  # noqa: F401  (JSONB columns)

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "app_annotation_settings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("app_id", sa.String(length=36), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("score_threshold", sa.Float(), nullable=False),
        sa.Column("embedding_provider_name", sa.String(length=255), nullable=False),
        sa.Column("embedding_model_name", sa.String(length=255), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=False),
        sa.Column("updated_by", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_app_annotation_settings_app_id_apps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_annotation_settings")),
        sa.UniqueConstraint("app_id", name=op.f("uq_app_annotation_settings_app_id")),
    )
    op.create_table(
        "message_annotations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("app_id", sa.String(length=36), nullable=False),
        sa.Column("conversation_id", sa.String(length=36), nullable=True),
        sa.Column("message_id", sa.String(length=36), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("hit_count", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_message_annotations_app_id_apps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_annotations")),
    )
    with op.batch_alter_table("message_annotations", schema=None) as batch_op:
        batch_op.create_index("ix_message_annotations_app_created", ["app_id", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_message_annotations_message_id"), ["message_id"], unique=False)

    op.create_table(
        "app_annotation_hit_histories",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("app_id", sa.String(length=36), nullable=False),
        sa.Column("annotation_id", sa.String(length=36), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=True),
        sa.Column("end_user_id", sa.String(length=36), nullable=True),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("annotation_question", sa.Text(), nullable=False),
        sa.Column("annotation_content", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["annotation_id"],
            ["message_annotations.id"],
            name=op.f("fk_app_annotation_hit_histories_annotation_id_message_annotations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_app_annotation_hit_histories_app_id_apps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_annotation_hit_histories")),
    )
    with op.batch_alter_table("app_annotation_hit_histories", schema=None) as batch_op:
        batch_op.create_index("ix_annotation_hits_annotation_created", ["annotation_id", "created_at"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("app_annotation_hit_histories", schema=None) as batch_op:
        batch_op.drop_index("ix_annotation_hits_annotation_created")

    op.drop_table("app_annotation_hit_histories")
    with op.batch_alter_table("message_annotations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_annotations_message_id"))
        batch_op.drop_index("ix_message_annotations_app_created")

    op.drop_table("message_annotations")
    op.drop_table("app_annotation_settings")
