"""Regression tests of apps: test cases (inputs + assertions) and the recorded results of each run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from loomworks.store.tables._base import Base, JsonType, UTCDateTime, created_column, id_column, updated_column


class AppTestCase(Base):
    __tablename__ = "app_test_cases"
    __table_args__ = (Index("ix_app_test_cases_app", "app_id", "created_at"),)
    id: Mapped[str] = id_column()
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    query: Mapped[str] = mapped_column(Text, default="")
    inputs: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    assertions: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


class AppTestRun(Base):
    __tablename__ = "app_test_runs"
    __table_args__ = (Index("ix_app_test_runs_app", "app_id", "created_at"),)
    id: Mapped[str] = id_column()
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    target: Mapped[str] = mapped_column(String(64))  # "draft", "published" or a version id
    version: Mapped[str | None] = mapped_column(String(64))  # model config id or workflow id tested
    status: Mapped[str] = mapped_column(String(16), default="running")  # running, passed, failed
    passed: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    results: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    triggered_by: Mapped[str] = mapped_column(String(32), default="console")  # console, cli, publish
    created_by: Mapped[str | None] = mapped_column(String(36))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_column()
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
