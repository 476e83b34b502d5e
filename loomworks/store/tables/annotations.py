"""Annotations: curated answers to questions, their reply settings per app, and their hits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from loomworks.store.tables._base import Base, created_column, id_column, updated_column


class Annotation(Base):
    __tablename__ = "message_annotations"
    __table_args__ = (Index("ix_message_annotations_app_created", "app_id", "created_at"),)
    id: Mapped[str] = id_column()
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    conversation_id: Mapped[str | None] = mapped_column(String(36))
    message_id: Mapped[str | None] = mapped_column(String(36), index=True)
    question: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)
    hit_count: Mapped[int] = mapped_column(Integer, default=0)
    account_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


class AnnotationSetting(Base):
    __tablename__ = "app_annotation_settings"
    id: Mapped[str] = id_column()
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    score_threshold: Mapped[float] = mapped_column(Float, default=0.9)
    embedding_provider_name: Mapped[str] = mapped_column(String(255), default="")
    embedding_model_name: Mapped[str] = mapped_column(String(255), default="")
    created_by: Mapped[str] = mapped_column(String(36))
    updated_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


class AnnotationHit(Base):
    __tablename__ = "app_annotation_hit_histories"
    __table_args__ = (Index("ix_annotation_hits_annotation_created", "annotation_id", "created_at"),)
    id: Mapped[str] = id_column()
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    annotation_id: Mapped[str] = mapped_column(ForeignKey("message_annotations.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(32))  # service-api, web-app, debugger
    question: Mapped[str] = mapped_column(Text)
    account_id: Mapped[str | None] = mapped_column(String(36))
    end_user_id: Mapped[str | None] = mapped_column(String(36))
    message_id: Mapped[str] = mapped_column(String(36))
    score: Mapped[float] = mapped_column(Float, default=0.0)
    annotation_question: Mapped[str] = mapped_column(Text)
    annotation_content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = created_column()
