"""Running the draft and reading run history in the console (Dify's paths)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import and_, or_, select
from starlette.concurrency import run_in_threadpool

from loomworks.api.deps import CurrentCaller, State
from loomworks.api.service.chat import chatflow_service
from loomworks.api.service.workflows import runs
from loomworks.api.sse import sse_response
from loomworks.api.workflow_views import node_public, run_public, run_summary
from loomworks.core.errors import InvalidParamError, NotFoundError
from loomworks.core.ids import is_uuid
from loomworks.services import apps
from loomworks.services.chatflow import ChatflowRequest
from loomworks.services.workflow_runs import RunRequest
from loomworks.store.tables import WorkflowNodeExecution, WorkflowRun

router = APIRouter(prefix="/apps/{app_id}", tags=["console: workflow runs"])


class DraftRunBody(BaseModel):
    inputs: dict[str, Any] = {}
    files: list[dict[str, Any]] | None = None


@router.post("/workflows/draft/run")
async def run_draft(app_id: str, body: DraftRunBody, caller: CurrentCaller, state: State) -> Any:
    def load() -> Any:
        caller.require_editor()
        with state.db.session() as session:
            return apps.get(session, caller=caller, app_id=app_id)

    app = await run_in_threadpool(load)
    service = runs(state)
    prepared = await service.prepare(
        RunRequest(
            app=app,
            inputs=body.inputs,
            account_id=caller.account_id,
            draft=True,
            files=body.files or [],
            invoke_from="debugger",
        )
    )
    return sse_response(service.stream(prepared))


class ChatflowDraftRunBody(BaseModel):
    query: str = ""
    inputs: dict[str, Any] = {}
    conversation_id: str | None = None
    files: list[dict[str, Any]] | None = None
    parent_message_id: str | None = None  # accepted for Dify's client; threads are linear here


@router.post("/advanced-chat/workflows/draft/run")
async def run_chatflow_draft(app_id: str, body: ChatflowDraftRunBody, caller: CurrentCaller, state: State) -> Any:
    app = await run_in_threadpool(_editable_app, state, caller, app_id)
    conversation_id = body.conversation_id or None
    if conversation_id is not None and not is_uuid(conversation_id):
        raise InvalidParamError("conversation_id is not a valid uuid.", params="conversation_id")
    service = chatflow_service(state)
    turn = await service.prepare(
        ChatflowRequest(
            app=app,
            query=body.query,
            inputs=body.inputs,
            account_id=caller.account_id,
            conversation_id=conversation_id,
            files=body.files or [],
            draft=True,
            invoke_from="debugger",
        )
    )
    return sse_response(service.stream(turn))


class NodeRunBody(BaseModel):
    inputs: dict[str, Any] = {}
    query: str | None = None  # chatflows: `sys.query` for the node
    files: list[dict[str, Any]] | None = None


@router.post("/workflows/draft/nodes/{node_id}/run")
@router.post("/advanced-chat/workflows/draft/nodes/{node_id}/run", include_in_schema=False)
async def run_draft_node(
    app_id: str, node_id: str, body: NodeRunBody, caller: CurrentCaller, state: State
) -> dict[str, Any]:
    app = await run_in_threadpool(_editable_app, state, caller, app_id)
    values = dict(body.inputs)
    if body.query is not None:
        values.setdefault("sys.query", body.query)
    if body.files is not None:
        values.setdefault("sys.files", body.files)
    data = await runs(state).run_single_node(app=app, node_id=node_id, values=values, account_id=caller.account_id)
    return {**data, "extras": data.get("extras") or {}, "created_by_role": "account"}


@router.post("/workflow-runs/{run_id}/rerun")
async def rerun_from_node(app_id: str, run_id: str, caller: CurrentCaller, state: State, from_node: str) -> Any:
    """Run a recorded run again from `from_node`: what ran before it is replayed from the records."""
    app = await run_in_threadpool(_editable_app, state, caller, app_id)
    service = runs(state)
    prepared = await service.prepare_rerun(app=app, run_id=run_id, node_id=from_node, account_id=caller.account_id)
    return sse_response(service.stream(prepared))


def _editable_app(state: Any, caller: Any, app_id: str) -> Any:
    caller.require_editor()
    with state.db.session() as session:
        return apps.get(session, caller=caller, app_id=app_id)


@router.post("/workflow-runs/tasks/{task_id}/stop")
def stop(app_id: str, task_id: str, caller: CurrentCaller, state: State) -> dict[str, str]:
    runs(state).stop(task_id=task_id, app_id=app_id, owner_key=caller.account_id)
    return {"result": "success"}


@router.get("/workflow-runs")
def list_runs(
    app_id: str, caller: CurrentCaller, state: State, last_id: str | None = None, limit: int = Query(20)
) -> dict[str, Any]:
    if not 1 <= limit <= 100:
        raise InvalidParamError("limit must be between 1 and 100.", params="limit")
    with state.db.session() as session:
        app = apps.get(session, caller=caller, app_id=app_id)
        query = select(WorkflowRun).where(WorkflowRun.app_id == app.id)
        if last_id:
            anchor = session.scalar(query.where(WorkflowRun.id == last_id))
            if anchor is None:
                raise NotFoundError("Last workflow run not exists.")
            query = query.where(
                or_(
                    WorkflowRun.created_at < anchor.created_at,
                    and_(WorkflowRun.created_at == anchor.created_at, WorkflowRun.id < anchor.id),
                )
            )
        rows = list(
            session.scalars(query.order_by(WorkflowRun.created_at.desc(), WorkflowRun.id.desc()).limit(limit + 1))
        )
        return {"limit": limit, "has_more": len(rows) > limit, "data": [run_summary(r) for r in rows[:limit]]}


def _run(session: Any, caller: Any, app_id: str, run_id: str) -> WorkflowRun:
    app = apps.get(session, caller=caller, app_id=app_id)
    row = session.scalar(select(WorkflowRun).where(WorkflowRun.id == run_id, WorkflowRun.app_id == app.id))
    if row is None:
        raise NotFoundError("Workflow run not found.")
    return row


@router.get("/workflow-runs/{run_id}")
def get_run(app_id: str, run_id: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        return run_public(_run(session, caller, app_id, run_id))


@router.get("/workflow-runs/{run_id}/node-executions")
def node_executions(app_id: str, run_id: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        row = _run(session, caller, app_id, run_id)
        nodes = session.scalars(
            select(WorkflowNodeExecution)
            .where(WorkflowNodeExecution.workflow_run_id == row.id)
            .order_by(WorkflowNodeExecution.index, WorkflowNodeExecution.created_at)
        )
        return {"data": [node_public(n) for n in nodes]}
