"""Workflows (draft and published versions), their runs and node executions, and run logs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from loomworks.store.tables._base import Base, JsonType, UTCDateTime, created_column, id_column, updated_column


class Workflow(Base):
    """A workflow graph of an app: the one `draft` and any number of published versions."""

    __tablename__ = "workflows"
    __table_args__ = (Index("ix_workflows_app_version", "app_id", "version"),)
    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(String(36))
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(16))  # workflow, chat
    version: Mapped[str] = mapped_column(String(64))  # "draft" or the publication timestamp
    marked_name: Mapped[str] = mapped_column(String(255), default="")
    marked_comment: Mapped[str] = mapped_column(Text, default="")
    graph: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    features: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    environment_variables: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    conversation_variables: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    unique_hash: Mapped[str] = mapped_column(String(64), default="")
    # Keys of an imported DSL that we do not interpret, kept so that an export gives them back.
    dsl_extra: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_by: Mapped[str | None] = mapped_column(String(36))
    updated_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


class WorkflowRun(Base):
    __tablename__ = "workflow_runs"
    __table_args__ = (Index("ix_workflow_runs_app_created", "app_id", "created_at"),)
    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(String(36))
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    workflow_id: Mapped[str] = mapped_column(String(36))
    type: Mapped[str] = mapped_column(String(16))
    triggered_from: Mapped[str] = mapped_column(String(32))  # debugging, app-run
    version: Mapped[str] = mapped_column(String(64))
    graph: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    inputs: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    status: Mapped[str] = mapped_column(String(32), default="running")
    outputs: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    error: Mapped[str | None] = mapped_column(Text)
    elapsed_time: Mapped[float] = mapped_column(Float, default=0.0)
    total_tokens: Mapped[int] = mapped_column(Integer, default=0)
    total_steps: Mapped[int] = mapped_column(Integer, default=0)
    exceptions_count: Mapped[int] = mapped_column(Integer, default=0)
    conversation_id: Mapped[str | None] = mapped_column(String(36))
    message_id: Mapped[str | None] = mapped_column(String(36))
    created_by_role: Mapped[str] = mapped_column(String(16))  # account, end_user
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = created_column()
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WorkflowNodeExecution(Base):
    """One node's execution in a run, recorded as soon as it finishes (runs resume from these)."""

    __tablename__ = "workflow_node_executions"
    __table_args__ = (
        Index("ix_workflow_node_executions_run_index", "workflow_run_id", "index"),
        Index("ix_workflow_node_executions_app_node", "app_id", "workflow_id", "node_id"),
    )
    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(String(36))
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    workflow_id: Mapped[str] = mapped_column(String(36))
    triggered_from: Mapped[str] = mapped_column(String(32))  # workflow-run, single-step
    workflow_run_id: Mapped[str | None] = mapped_column(String(36))
    index: Mapped[int] = mapped_column(Integer, default=0)
    predecessor_node_id: Mapped[str | None] = mapped_column(String(255))
    node_id: Mapped[str] = mapped_column(String(255))
    node_type: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(255), default="")
    inputs: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    process_data: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    outputs: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    status: Mapped[str] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    elapsed_time: Mapped[float] = mapped_column(Float, default=0.0)
    execution_metadata: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    iteration_id: Mapped[str | None] = mapped_column(String(255))
    loop_id: Mapped[str | None] = mapped_column(String(255))
    created_by_role: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = created_column()
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WorkflowAppLog(Base):
    __tablename__ = "workflow_app_logs"
    __table_args__ = (Index("ix_workflow_app_logs_app_created", "app_id", "created_at"),)
    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(String(36))
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    workflow_id: Mapped[str] = mapped_column(String(36))
    workflow_run_id: Mapped[str] = mapped_column(String(36))
    created_from: Mapped[str] = mapped_column(String(32))  # service-api, web-app, debugger
    created_by_role: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = created_column()


class ConversationVariable(Base):
    """A chatflow's conversation variable value, per conversation."""

    __tablename__ = "conversation_variables"
    __table_args__ = (UniqueConstraint("conversation_id", "variable_id"),)
    id: Mapped[str] = id_column()
    conversation_id: Mapped[str] = mapped_column(String(36), index=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    variable_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    value_type: Mapped[str] = mapped_column(String(32))
    value: Mapped[Any] = mapped_column(JsonType, nullable=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


class PendingImport(Base):
    """A DSL import waiting for the user's confirmation (newer or older-major version)."""

    __tablename__ = "pending_imports"
    id: Mapped[str] = id_column()
    tenant_id: Mapped[str] = mapped_column(String(36), index=True)
    account_id: Mapped[str] = mapped_column(String(36))
    yaml_content: Mapped[str] = mapped_column(Text)
    options: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_column()
