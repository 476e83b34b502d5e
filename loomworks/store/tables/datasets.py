"""Knowledge: datasets, documents, segments (chunks), child chunks, metadata fields and tags."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from loomworks.store.tables._base import Base, JsonType, UTCDateTime, created_column, id_column, updated_column


class Dataset(Base):
    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    provider: Mapped[str] = mapped_column(String(32), default="vendor")  # vendor, external
    permission: Mapped[str] = mapped_column(String(32), default="only_me")
    data_source_type: Mapped[str | None] = mapped_column(String(32))
    indexing_technique: Mapped[str | None] = mapped_column(String(32))  # high_quality, economy
    doc_form: Mapped[str] = mapped_column(String(32), default="text_model")
    embedding_model: Mapped[str | None] = mapped_column(String(255))
    embedding_model_provider: Mapped[str | None] = mapped_column(String(255))
    retrieval_model: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    process_rule: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    built_in_field_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    enable_api: Mapped[bool] = mapped_column(Boolean, default=True)
    external_knowledge_api_id: Mapped[str | None] = mapped_column(String(36))
    external_knowledge_id: Mapped[str | None] = mapped_column(String(255))
    external_retrieval_model: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    partial_member_list: Mapped[list[str]] = mapped_column(JsonType, default=list)
    created_by: Mapped[str] = mapped_column(String(36))
    updated_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (
        Index("ix_documents_dataset_position", "dataset_id", "position"),
        Index("ix_documents_batch", "dataset_id", "batch"),
    )
    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(String(36))
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    data_source_type: Mapped[str] = mapped_column(String(32))  # upload_file, text (ours: created by text)
    data_source_info: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    process_rule: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    batch: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    created_from: Mapped[str] = mapped_column(String(16))  # api, web
    created_by: Mapped[str] = mapped_column(String(36))
    source_text_key: Mapped[str | None] = mapped_column(String(255))  # storage key of the text or file
    word_count: Mapped[int] = mapped_column(Integer, default=0)
    tokens: Mapped[int] = mapped_column(Integer, default=0)
    indexing_status: Mapped[str] = mapped_column(String(16), default="waiting")
    processing_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    parsing_completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cleaning_completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    splitting_completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    indexing_latency: Mapped[float | None] = mapped_column(Float)
    is_paused: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disabled_by: Mapped[str | None] = mapped_column(String(36))
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    doc_form: Mapped[str] = mapped_column(String(32), default="text_model")
    doc_language: Mapped[str] = mapped_column(String(32), default="English")
    doc_metadata: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    hit_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


class Segment(Base):
    __tablename__ = "document_segments"
    __table_args__ = (
        Index("ix_document_segments_document_position", "document_id", "position"),
        Index("ix_document_segments_dataset", "dataset_id", "enabled"),
    )
    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(String(36))
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text)
    word_count: Mapped[int] = mapped_column(Integer, default=0)
    tokens: Mapped[int] = mapped_column(Integer, default=0)
    keywords: Mapped[list[str]] = mapped_column(JsonType, default=list)
    index_node_id: Mapped[str | None] = mapped_column(String(255))
    index_node_hash: Mapped[str | None] = mapped_column(String(255))
    hit_count: Mapped[int] = mapped_column(Integer, default=0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disabled_by: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(16), default="waiting")  # waiting, indexing, completed, error
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(36))
    updated_by: Mapped[str | None] = mapped_column(String(36))
    indexing_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


class ChildChunk(Base):
    __tablename__ = "child_chunks"
    __table_args__ = (Index("ix_child_chunks_segment_position", "segment_id", "position"),)
    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(String(36))
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    segment_id: Mapped[str] = mapped_column(ForeignKey("document_segments.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    word_count: Mapped[int] = mapped_column(Integer, default=0)
    index_node_id: Mapped[str | None] = mapped_column(String(255))
    index_node_hash: Mapped[str | None] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(16), default="automatic")
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


class DatasetMetadataField(Base):
    __tablename__ = "dataset_metadata_fields"
    __table_args__ = (UniqueConstraint("dataset_id", "name"),)
    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(String(36))
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(16))  # string, number, time
    name: Mapped[str] = mapped_column(String(255))
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


class Tag(Base):
    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("tenant_id", "type", "name"),)
    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(16))  # knowledge, app
    name: Mapped[str] = mapped_column(String(255))
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = created_column()


class TagBinding(Base):
    __tablename__ = "tag_bindings"
    __table_args__ = (UniqueConstraint("tag_id", "target_id"),)
    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(String(36))
    tag_id: Mapped[str] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"))
    target_id: Mapped[str] = mapped_column(String(36), index=True)
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = created_column()
