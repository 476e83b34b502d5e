"""Workflow apps through the Service API: run (blocking or streaming), read a run, stop, logs.

With `run_in_worker` a streamed run goes to a background worker once its input is checked; its
events come from the event bus with `id:` lines, and `GET /workflows/tasks/{task_id}/events` (in
`events.py`) resumes them after `Last-Event-ID`. Stop reaches the run on whichever process runs it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import String, cast, func, or_, select
from starlette.concurrency import run_in_threadpool

from loomworks.api.deps import KeyApp, State
from loomworks.api.service import events
from loomworks.api.service.chat import _owner_of
from loomworks.api.sse import sse_response
from loomworks.api.workflow_views import log_public, run_public
from loomworks.core.errors import InvalidParamError, NotFoundError, NotWorkflowAppError
from loomworks.services.workflow_runs import RunRequest, WorkflowRunService
from loomworks.store.tables import App, EndUser, WorkflowAppLog, WorkflowRun

router = APIRouter(prefix="/workflows", tags=["service: workflows"])


class RunBody(BaseModel):
    inputs: dict[str, Any]
    response_mode: Literal["blocking", "streaming"] | None = None
    user: str | None = None
    files: list[dict[str, Any]] | None = None


class StopBody(BaseModel):
    user: str | None = None


def runs(state: Any) -> WorkflowRunService:
    return state.extras["workflows"]


async def _run(app: App, body: RunBody, state: Any, workflow_id: str | None) -> Any:
    service = runs(state)
    prepared = await service.prepare(
        RunRequest(app=app, inputs=body.inputs, user=body.user, workflow_id=workflow_id, files=body.files or [])
    )
    if body.response_mode == "streaming":
        if state.settings.run_in_worker:
            # A background run: it goes on without this connection; its events come from the bus.
            return await events.background_workflow(state, prepared)
        return sse_response(service.stream(prepared))
    return await service.blocking(prepared)


@router.post("/run")
async def run_published(body: RunBody, app: KeyApp, state: State) -> Any:
    return await _run(app, body, state, None)


@router.post("/{workflow_id}/run")
async def run_version(workflow_id: str, body: RunBody, app: KeyApp, state: State) -> Any:
    return await _run(app, body, state, workflow_id)


@router.get("/run/{workflow_run_id}")
def get_run(workflow_run_id: str, app: KeyApp, state: State) -> dict[str, Any]:
    if app.mode not in ("workflow", "advanced-chat"):
        raise NotWorkflowAppError()
    with state.db.session() as session:
        row = session.scalar(select(WorkflowRun).where(WorkflowRun.id == workflow_run_id, WorkflowRun.app_id == app.id))
        if row is None:
            raise NotFoundError("Workflow run not found.")
        body = run_public(row)
        return {
            k: body[k]
            for k in (
                "id",
                "workflow_id",
                "status",
                "inputs",
                "outputs",
                "error",
                "total_steps",
                "total_tokens",
                "created_at",
                "finished_at",
                "elapsed_time",
            )
        }


@router.post("/tasks/{task_id}/stop")
@router.post("/{task_id}/stop", include_in_schema=False)
async def stop(task_id: str, body: StopBody, app: KeyApp, state: State) -> dict[str, str]:
    owner = await run_in_threadpool(_owner_of, state, app, body.user)
    owner_key = owner.end_user_id or ""
    if state.settings.run_in_worker:
        await events.background_workflows(state).stop(task_id, app_id=app.id, owner_key=owner_key)
    else:
        await run_in_threadpool(runs(state).stop, task_id=task_id, app_id=app.id, owner_key=owner_key)
    return {"result": "success"}


@router.get("/logs")
def logs(
    app: KeyApp,
    state: State,
    keyword: str | None = None,
    status: str | None = None,
    page: int = Query(1),
    limit: int = Query(20),
    created_at__before: str | None = None,
    created_at__after: str | None = None,
    created_by_end_user_session_id: str | None = None,
) -> dict[str, Any]:
    if app.mode != "workflow":
        raise NotWorkflowAppError()
    if not 1 <= limit <= 100 or not 1 <= page <= 99999:
        raise InvalidParamError("page must be 1–99999 and limit 1–100.", params="limit")
    if status and status not in ("succeeded", "failed", "stopped", "partial-succeeded"):
        raise InvalidParamError("status must be succeeded, failed or stopped.", params="status")
    with state.db.session() as session:
        query = select(WorkflowAppLog, WorkflowRun).join(WorkflowRun, WorkflowRun.id == WorkflowAppLog.workflow_run_id)
        query = query.where(WorkflowAppLog.app_id == app.id)
        if status:
            query = query.where(WorkflowRun.status == status)
        if keyword:
            pattern = "%" + keyword.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.where(
                or_(
                    cast(WorkflowRun.inputs, String).ilike(pattern, escape="\\"),
                    cast(WorkflowRun.outputs, String).ilike(pattern, escape="\\"),
                )
            )
        for value, compare in ((created_at__before, "lt"), (created_at__after, "gt")):
            if value:
                try:
                    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
                except ValueError as exc:
                    raise InvalidParamError("Dates must be ISO-8601.", params="created_at") from exc
                query = query.where(
                    WorkflowAppLog.created_at < moment if compare == "lt" else WorkflowAppLog.created_at > moment
                )
        if created_by_end_user_session_id:
            user_ids = select(EndUser.id).where(
                EndUser.app_id == app.id, EndUser.session_id == created_by_end_user_session_id
            )
            query = query.where(WorkflowAppLog.created_by.in_(user_ids))
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.execute(
            query.order_by(WorkflowAppLog.created_at.desc()).offset((page - 1) * limit).limit(limit)
        ).all()
        users = {
            u.id: u
            for u in session.scalars(
                select(EndUser).where(
                    EndUser.id.in_([log.created_by for log, _ in rows if log.created_by_role == "end_user"])
                )
            )
        }
        return {
            "page": page,
            "limit": limit,
            "total": total,
            "has_more": page * limit < total,
            "data": [log_public(log, run, users.get(log.created_by)) for log, run in rows],
        }
