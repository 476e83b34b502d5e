"""JSON shapes of workflow runs, node executions and run logs (Dify's field names)."""

from __future__ import annotations

from typing import Any

from loomworks.core.clock import to_timestamp
from loomworks.store.tables import EndUser, WorkflowAppLog, WorkflowNodeExecution, WorkflowRun


def run_public(row: WorkflowRun) -> dict[str, Any]:
    return {
        "id": row.id,
        "workflow_id": row.workflow_id,
        "sequence_number": None,
        "version": row.version,
        "graph": row.graph,
        "inputs": row.inputs,
        "status": row.status,
        "outputs": row.outputs,
        "error": row.error,
        "elapsed_time": row.elapsed_time,
        "total_tokens": row.total_tokens,
        "total_steps": row.total_steps,
        "exceptions_count": row.exceptions_count,
        "created_by_role": row.created_by_role,
        "created_at": to_timestamp(row.created_at),
        "finished_at": to_timestamp(row.finished_at),
    }


def run_summary(row: WorkflowRun) -> dict[str, Any]:
    return {k: v for k, v in run_public(row).items() if k not in ("graph", "inputs", "outputs")}


def node_public(row: WorkflowNodeExecution) -> dict[str, Any]:
    return {
        "id": row.id,
        "index": row.index,
        "predecessor_node_id": row.predecessor_node_id,
        "node_id": row.node_id,
        "node_type": row.node_type,
        "title": row.title,
        "inputs": row.inputs,
        "process_data": row.process_data,
        "outputs": row.outputs,
        "status": row.status,
        "error": row.error,
        "elapsed_time": row.elapsed_time,
        "execution_metadata": row.execution_metadata,
        "extras": {},
        "created_at": to_timestamp(row.created_at),
        "created_by_role": row.created_by_role,
        "finished_at": to_timestamp(row.finished_at),
    }


def log_public(log: WorkflowAppLog, run: WorkflowRun, end_user: EndUser | None) -> dict[str, Any]:
    return {
        "id": log.id,
        "workflow_run": {
            "id": run.id,
            "version": run.version,
            "status": run.status,
            "error": run.error,
            "elapsed_time": run.elapsed_time,
            "total_tokens": run.total_tokens,
            "total_steps": run.total_steps,
            "created_at": to_timestamp(run.created_at),
            "finished_at": to_timestamp(run.finished_at),
            "exceptions_count": run.exceptions_count,
        },
        "created_from": log.created_from,
        "created_by_role": log.created_by_role,
        "created_by_account": None,
        "created_by_end_user": {
            "id": end_user.id,
            "type": end_user.type,
            "is_anonymous": end_user.is_anonymous,
            "session_id": end_user.session_id,
        }
        if end_user
        else None,
        "created_at": to_timestamp(log.created_at),
    }
