"""Running workflow apps: start a run of the published (or draft) graph, stream its events, record it.

The engine yields Dify's event payloads (spec §1.5) without the request-level ids; this service adds
`task_id` and `workflow_run_id`, records the run as soon as it starts, each node execution as soon as
it finishes (off the stream's path, in order, by one writer task), and the final state before the
last event is sent — so a client that reads `workflow_finished` can read the run back at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from loomworks.core.clock import now, timestamp
from loomworks.core.errors import InvalidParamError, LoomworksError, NotFoundError, NotWorkflowAppError
from loomworks.core.ids import new_id
from loomworks.services import end_users
from loomworks.services.chat.tasks import TaskRegistry
from loomworks.services.workflow_defaults import DRAFT
from loomworks.store.db import Database
from loomworks.store.tables import App, Workflow, WorkflowAppLog, WorkflowNodeExecution, WorkflowRun

FINAL_STATUSES = ("succeeded", "failed", "stopped", "partial-succeeded")


class EngineRunner(Protocol):
    """Runs one graph and yields Dify-shaped events: `{"event": name, "data": {...}}`.

    The stream starts with `workflow_started` and ends with `workflow_finished`; `stop` is set when
    the run must stop (the engine then finishes with status `stopped`).
    """

    def run(
        self,
        *,
        tenant_id: str,
        app_id: str,
        workflow: Workflow,
        run_id: str,
        inputs: dict[str, Any],
        system: dict[str, Any],
        stop: asyncio.Event,
    ) -> AsyncIterator[dict[str, Any]]: ...


class UnavailableEngine:
    """Stands in until the workflow engine is wired: every run fails with a clear error."""

    async def run(self, **_: Any) -> AsyncIterator[dict[str, Any]]:
        raise LoomworksError("The workflow engine is not available in this build yet.")
        yield {}  # pragma: no cover - makes this an async generator


@dataclass(slots=True)
class RunRequest:
    app: App
    inputs: dict[str, Any] | None
    user: str | None = None
    account_id: str | None = None
    workflow_id: str | None = None
    draft: bool = False
    files: list[dict[str, Any]] = field(default_factory=list)
    invoke_from: str = "service-api"


@dataclass(slots=True)
class PreparedRun:
    request: RunRequest
    workflow: Workflow
    inputs: dict[str, Any]
    created_by_role: str
    created_by: str
    task_id: str = field(default_factory=new_id)
    run_id: str = field(default_factory=new_id)


def start_variables(graph: dict[str, Any]) -> list[dict[str, Any]]:
    for node in graph.get("nodes") or []:
        data = node.get("data") or {}
        if data.get("type") == "start":
            return list(data.get("variables") or [])
    return []


def check_inputs(graph: dict[str, Any], inputs: dict[str, Any] | None) -> dict[str, Any]:
    """Check `inputs` against the Start node's variables (required, types, options, lengths)."""
    if inputs is not None and not isinstance(inputs, dict):
        raise InvalidParamError("inputs must be an object.", params="inputs")
    given = dict(inputs or {})
    for variable in start_variables(graph):
        name = variable.get("variable")
        if not name:
            continue
        value = given.get(name)
        kind = variable.get("type", "text-input")
        if value is None or value == "":
            if variable.get("required"):
                raise InvalidParamError(f"{name} is required in input form", params=name)
            continue
        if kind in ("text-input", "paragraph", "select") and not isinstance(value, str):
            raise InvalidParamError(f"{name} in input form must be a string", params=name)
        if kind == "number" and (isinstance(value, bool) or not isinstance(value, int | float | str)):
            raise InvalidParamError(f"{name} in input form must be a valid number", params=name)
        if kind == "number" and isinstance(value, str):
            try:
                given[name] = float(value) if "." in value else int(value)
            except ValueError:
                raise InvalidParamError(f"{name} in input form must be a valid number", params=name) from None
        max_length = variable.get("max_length")
        if isinstance(value, str) and max_length and len(value) > int(max_length):
            raise InvalidParamError(f"{name} in input form must be less than {max_length} characters", params=name)
        options = variable.get("options") or []
        if kind == "select" and options and value not in options:
            raise InvalidParamError(f"{name} in input form must be one of the following: {options}", params=name)
    return given


def _ts(value: Any) -> datetime | None:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return None


class WorkflowRunService:
    """Starts, streams, records and stops workflow runs; one per server process."""

    def __init__(self, db: Database, engine: EngineRunner, *, tasks: TaskRegistry | None = None) -> None:
        self.db = db
        self.engine = engine
        self.tasks = tasks or TaskRegistry()

    async def prepare(self, request: RunRequest) -> PreparedRun:
        return await run_in_threadpool(self._prepare, request)

    def _prepare(self, request: RunRequest) -> PreparedRun:
        app = request.app
        if app.mode != "workflow":
            raise NotWorkflowAppError()
        if request.account_id is None and not request.user:
            raise InvalidParamError("Arg user must be provided.", params="user")
        with self.db.session() as session:
            workflow = self._workflow(session, app, request)
            inputs = check_inputs(workflow.graph, request.inputs)
            if request.account_id is not None:
                role, creator = "account", request.account_id
            else:
                kind = "browser" if request.invoke_from == "web-app" else "service_api"
                role, creator = "end_user", end_users.get_or_create(session, app=app, user=request.user, kind=kind).id
            session.expunge(workflow)
        return PreparedRun(request=request, workflow=workflow, inputs=inputs, created_by_role=role, created_by=creator)

    @staticmethod
    def _workflow(session: Session, app: App, request: RunRequest) -> Workflow:
        if request.draft:
            found = session.scalar(select(Workflow).where(Workflow.app_id == app.id, Workflow.version == DRAFT))
        elif request.workflow_id:
            found = session.scalar(
                select(Workflow).where(
                    Workflow.app_id == app.id, Workflow.id == request.workflow_id, Workflow.version != DRAFT
                )
            )
            if found is None:
                raise NotFoundError("Workflow not found.")
        else:
            found = session.get(Workflow, app.workflow_id) if app.workflow_id else None
            if found is None:
                raise InvalidParamError("The app has no published workflow. Publish it first.", params="app")
        if found is None:
            raise NotFoundError("Workflow not found.")
        return found

    def _system(self, run: PreparedRun) -> dict[str, Any]:
        return {
            "user_id": run.created_by,
            "app_id": run.request.app.id,
            "workflow_id": run.workflow.id,
            "workflow_run_id": run.run_id,
            "files": run.request.files,
        }

    async def stream(self, run: PreparedRun) -> AsyncIterator[dict[str, Any]]:
        """Dify's workflow events for one run, each with `task_id` and `workflow_run_id`."""
        owner = run.created_by
        running = self.tasks.start(task_id=run.task_id, app_id=run.request.app.id, owner_key=owner)
        await run_in_threadpool(self._record_start, run)
        writes: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        writer = asyncio.create_task(self._writer(run, writes))
        finished: dict[str, Any] | None = None
        started = time.perf_counter()
        try:
            async for event in self.engine.run(
                tenant_id=run.request.app.tenant_id,
                app_id=run.request.app.id,
                workflow=run.workflow,
                run_id=run.run_id,
                inputs=run.inputs,
                system=self._system(run),
                stop=running.stop,
            ):
                event = {**event, "task_id": run.task_id, "workflow_run_id": run.run_id}
                kind = event.get("event")
                if kind == "node_finished":
                    writes.put_nowait(event)
                if kind == "workflow_finished":
                    finished = event
                    break
                yield event
        except LoomworksError as exc:
            finished = self._failure(run, exc.message, started)
        except Exception as exc:  # noqa: BLE001 - the stream must end with a final event whatever happens
            finished = self._failure(run, f"{type(exc).__name__}: {exc}", started)
        finally:
            self.tasks.finish(run.task_id)
            writes.put_nowait(None)
            with contextlib.suppress(Exception):
                await writer
        if finished is None:
            finished = self._failure(run, "The run ended without a result.", started)
        await run_in_threadpool(self._record_finish, run, finished["data"])
        yield finished

    def _failure(self, run: PreparedRun, message: str, started: float) -> dict[str, Any]:
        return {
            "event": "workflow_finished",
            "task_id": run.task_id,
            "workflow_run_id": run.run_id,
            "data": {
                "id": run.run_id,
                "workflow_id": run.workflow.id,
                "status": "failed",
                "outputs": None,
                "error": message,
                "elapsed_time": round(time.perf_counter() - started, 4),
                "total_tokens": 0,
                "total_steps": 0,
                "created_at": timestamp(),
                "finished_at": timestamp(),
                "exceptions_count": 0,
                "files": [],
            },
        }

    async def _writer(self, run: PreparedRun, writes: asyncio.Queue[dict[str, Any] | None]) -> None:
        while True:
            event = await writes.get()
            if event is None:
                return
            batch = [event]
            while not writes.empty():
                more = writes.get_nowait()
                if more is None:
                    await run_in_threadpool(self._record_nodes, run, batch)
                    return
                batch.append(more)
            await run_in_threadpool(self._record_nodes, run, batch)

    def _record_start(self, run: PreparedRun) -> None:
        app = run.request.app
        with self.db.session() as session:
            session.add(
                WorkflowRun(
                    id=run.run_id,
                    tenant_id=app.tenant_id,
                    app_id=app.id,
                    workflow_id=run.workflow.id,
                    type=run.workflow.type,
                    triggered_from="debugging" if run.request.draft else "app-run",
                    version=run.workflow.version,
                    graph=run.workflow.graph,
                    inputs=run.inputs,
                    status="running",
                    created_by_role=run.created_by_role,
                    created_by=run.created_by,
                )
            )

    def _record_nodes(self, run: PreparedRun, events: list[dict[str, Any]]) -> None:
        app = run.request.app
        with self.db.session() as session:
            for event in events:
                data = event.get("data") or {}
                metadata = data.get("execution_metadata") or {}
                session.add(
                    WorkflowNodeExecution(
                        id=data.get("id") or new_id(),
                        tenant_id=app.tenant_id,
                        app_id=app.id,
                        workflow_id=run.workflow.id,
                        triggered_from="workflow-run",
                        workflow_run_id=run.run_id,
                        index=int(data.get("index") or 0),
                        predecessor_node_id=data.get("predecessor_node_id"),
                        node_id=str(data.get("node_id", "")),
                        node_type=str(data.get("node_type", "")),
                        title=str(data.get("title") or ""),
                        inputs=data.get("inputs"),
                        process_data=data.get("process_data"),
                        outputs=data.get("outputs"),
                        status=str(data.get("status", "succeeded")),
                        error=data.get("error"),
                        elapsed_time=float(data.get("elapsed_time") or 0),
                        execution_metadata=metadata,
                        iteration_id=metadata.get("iteration_id") or data.get("iteration_id"),
                        loop_id=metadata.get("loop_id") or data.get("loop_id"),
                        created_by_role=run.created_by_role,
                        created_by=run.created_by,
                        created_at=_ts(data.get("created_at")) or now(),
                        finished_at=_ts(data.get("finished_at")) or now(),
                    )
                )

    def _record_finish(self, run: PreparedRun, data: dict[str, Any]) -> None:
        with self.db.session() as session:
            row = session.get(WorkflowRun, run.run_id)
            if row is None:
                return
            row.status = str(data.get("status") or "failed")
            row.outputs = data.get("outputs")
            row.error = data.get("error")
            row.elapsed_time = float(data.get("elapsed_time") or 0)
            row.total_tokens = int(data.get("total_tokens") or 0)
            row.total_steps = int(data.get("total_steps") or 0)
            row.exceptions_count = int(data.get("exceptions_count") or 0)
            row.finished_at = now()
            session.add(
                WorkflowAppLog(
                    tenant_id=row.tenant_id,
                    app_id=row.app_id,
                    workflow_id=row.workflow_id,
                    workflow_run_id=row.id,
                    created_from="debugger" if run.request.draft else run.request.invoke_from,
                    created_by_role=run.created_by_role,
                    created_by=run.created_by,
                )
            )

    async def blocking(self, run: PreparedRun) -> dict[str, Any]:
        """Run to the end and answer Dify's blocking shape."""
        final: dict[str, Any] = {}
        async for event in self.stream(run):
            if event.get("event") == "workflow_finished":
                final = event
        data = final.get("data") or {}
        keys = (
            "id",
            "workflow_id",
            "status",
            "outputs",
            "error",
            "elapsed_time",
            "total_tokens",
            "total_steps",
            "created_at",
            "finished_at",
        )
        return {"task_id": run.task_id, "workflow_run_id": run.run_id, "data": {k: data.get(k) for k in keys}}

    def stop(self, *, task_id: str, app_id: str, owner_key: str) -> None:
        self.tasks.request_stop(task_id=task_id, app_id=app_id, owner_key=owner_key)
