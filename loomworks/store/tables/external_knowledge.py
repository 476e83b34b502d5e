"""External knowledge APIs (Dify's `external_knowledge_apis`): a workspace's retrieval endpoints.

A dataset with `provider = "external"` names one of these by `external_knowledge_api_id`; its
retrieval is a call to `POST {endpoint}/retrieval`. The API key is sealed with the keyring.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from loomworks.store.tables._base import Base, created_column, id_column, updated_column


class ExternalKnowledgeApi(Base):
    __tablename__ = "external_knowledge_apis"
    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    endpoint: Mapped[str] = mapped_column(String(2048))
    api_key_sealed: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(36))
    updated_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()
