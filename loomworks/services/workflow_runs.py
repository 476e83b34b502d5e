"""Running workflow apps: start a run of the published (or draft) graph, stream its events, record it.

The engine yields Dify's event payloads (spec §1.5) without the request-level ids; this service adds
`task_id` and `workflow_run_id`, records the run as soon as it starts, each node execution as soon as
it finishes (off the stream's path, in order, by one writer task), and the final state before the
last event is sent — so a client that reads `workflow_finished` can read the run back at once.

Durability: a run a dead process left `running` goes on from its recorded node executions when the
server starts again (`recover`), inside iterations and loops too (see `engine.Resume`). Workflow
runs go on here; chatflow runs are handed to the resumer the chatflow service registered, which
answers the turn's message once. A chatflow run records its `sys.*` values with its inputs, as
Dify does (`sys.query`, `sys.files`, ...), so that the turn can be rebuilt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from loomworks.core.clock import now, timestamp, to_timestamp
from loomworks.core.crypto import KeyRing
from loomworks.core.errors import InvalidParamError, LoomworksError, NotFoundError, NotWorkflowAppError
from loomworks.core.ids import new_id
from loomworks.engine import Resume, compile_graph
from loomworks.services import end_users, workflow_secrets
from loomworks.services.chat.tasks import TaskRegistry
from loomworks.services.tracing import TraceSink, workflow_trace
from loomworks.services.workflow_defaults import DRAFT
from loomworks.store.db import Database
from loomworks.store.tables import App, EndUser, Workflow, WorkflowAppLog, WorkflowNodeExecution, WorkflowRun

FINAL_STATUSES = ("succeeded", "failed", "stopped", "partial-succeeded")
CHAT_TYPES = ("chat", "advanced-chat")
# The `sys.*` values a chatflow run records with its inputs (Dify's run inputs carry them too).
_RECORDED_SYSTEM = ("query", "files", "conversation_id", "dialogue_count", "user_id", "app_id", "workflow_id")


class EngineRunner(Protocol):
    """Runs one graph and yields Dify-shaped events: `{"event": name, "data": {...}}`.

    The stream starts with `workflow_started` and ends with `workflow_finished`; `stop` is set when
    the run must stop (the engine then finishes with status `stopped`). `resume` (a `Resume`: node
    executions to replay) is passed only when a recorded run goes on or is re-run from a node.
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
    # Chatflow turns: extra `sys.*` values (query, conversation_id, conversation_variables, ...)
    # and the conversation and message the run answers.
    system: dict[str, Any] = field(default_factory=dict)
    conversation_id: str | None = None
    message_id: str | None = None


@dataclass(slots=True)
class PreparedRun:
    request: RunRequest
    workflow: Workflow
    inputs: dict[str, Any]
    created_by_role: str
    created_by: str
    task_id: str = field(default_factory=new_id)
    run_id: str = field(default_factory=new_id)
    resume: Resume | None = None  # recorded node executions to replay (restart, rerun from a node)
    recorded: bool = False  # the run row exists already (a resumed run)
    index_offset: int = 0  # a resumed run numbers its new node executions after the recorded ones
    created_at: int | None = None  # when a resumed run was first started (its row's `created_at`)
    # Called with the session and the final data in the transaction that records the run's end, so
    # that what the caller saves with it (a chatflow's message) is saved exactly when the run ends.
    on_finish: Callable[[Session, dict[str, Any]], None] | None = None


Resumer = Callable[[PreparedRun], Awaitable[None]]


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

    def __init__(
        self,
        db: Database,
        engine: EngineRunner,
        *,
        tasks: TaskRegistry | None = None,
        tracer: TraceSink | None = None,
        keyring: KeyRing | None = None,
    ) -> None:
        self.db = db
        self.engine = engine
        self.keyring = keyring  # opens secret environment variables for the runs it builds
        self.tasks = tasks or TaskRegistry()
        self.tracer = tracer
        self._recovering: set[asyncio.Future[None]] = set()
        # How runs of other workflow types (chatflows) go on after a restart; see `register_resumer`.
        self.resumers: dict[str, Resumer] = {}

    def register_resumer(self, types: Iterable[str], resumer: Resumer) -> None:
        """Let `recover` hand interrupted runs of these workflow types to `resumer`.

        The resumer gets a `PreparedRun` rebuilt from the run row (its `resume` holds the recorded
        node executions; `request.system` the recorded `sys.*` values) and must drive the run to
        its end, or record why it cannot (`mark_failed`).
        """
        for kind in types:
            self.resumers[kind] = resumer

    async def prepare(self, request: RunRequest) -> PreparedRun:
        return await run_in_threadpool(self._prepare, request)

    def _prepare(self, request: RunRequest) -> PreparedRun:
        app = request.app
        if app.mode != "workflow":
            raise NotWorkflowAppError()
        if request.account_id is None and not request.user:
            raise InvalidParamError("Arg user must be provided.", params="user")
        with self.db.session() as session:
            workflow = self.workflow_for(session, app, request)
            inputs = check_inputs(workflow.graph, request.inputs)
            if request.account_id is not None:
                role, creator = "account", request.account_id
            else:
                kind = "browser" if request.invoke_from == "web-app" else "service_api"
                role, creator = "end_user", end_users.get_or_create(session, app=app, user=request.user, kind=kind).id
            session.expunge(workflow)
        return PreparedRun(request=request, workflow=workflow, inputs=inputs, created_by_role=role, created_by=creator)

    @staticmethod
    def workflow_for(session: Session, app: App, request: RunRequest) -> Workflow:
        """The version a request runs: the draft, a chosen published version, or the current one."""
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

    def _environment(self, app: App, workflow: Workflow) -> list[Any]:
        """The version's environment variables with secret values opened (only ever for a run)."""
        return workflow_secrets.opened(
            self.keyring, tenant_id=app.tenant_id, app_id=app.id, variables=workflow.environment_variables
        )

    def _system(self, run: PreparedRun) -> dict[str, Any]:
        return {
            "user_id": run.created_by,
            "app_id": run.request.app.id,
            "workflow_id": run.workflow.id,
            "workflow_run_id": run.run_id,
            "files": run.request.files,
            **run.request.system,
            # Not a `sys.*` value: the engine runner takes it as the run's environment variables.
            "environment_variables": self._environment(run.request.app, run.workflow),
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
        # Node executions with the time each one finished, kept only when the app exports traces.
        traced = self.tracer is not None and self.tracer.wants(run.request.app.id)
        nodes: list[tuple[dict[str, Any], float]] = []
        wall_start = time.time()
        try:
            async for event in self.engine.run(
                tenant_id=run.request.app.tenant_id,
                app_id=run.request.app.id,
                workflow=run.workflow,
                run_id=run.run_id,
                inputs=run.inputs,
                system=self._system(run),
                stop=running.stop,
                **({"resume": run.resume} if run.resume is not None else {}),
            ):
                event = {**event, "task_id": run.task_id, "workflow_run_id": run.run_id}
                kind = event.get("event")
                if kind == "node_finished":
                    writes.put_nowait(event)
                    if traced:
                        nodes.append((event.get("data") or {}, time.time()))
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
        if traced:
            self._trace(run, finished["data"], nodes, wall_start)
        yield finished

    def _trace(
        self, run: PreparedRun, data: dict[str, Any], nodes: list[tuple[dict[str, Any], float]], started: float
    ) -> None:
        """Hand the recorded run to tracing export (queued: the answer never waits for it)."""
        assert self.tracer is not None
        app = run.request.app
        try:
            trace = workflow_trace(
                app_id=app.id,
                tenant_id=app.tenant_id,
                run_id=run.run_id,
                workflow_id=run.workflow.id,
                inputs=run.inputs,
                finished=data,
                nodes=nodes,
                started=started,
                ended=time.time(),
                user_id=run.created_by,
                invoke_from=run.request.invoke_from,
            )
        except Exception:  # noqa: BLE001 - tracing must never break a run
            logging.getLogger("loomworks.tracing").exception("could not build a workflow trace")
            return
        self.tracer.submit(trace)

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
        inputs = run.inputs
        if run.workflow.type in CHAT_TYPES:
            system = {**run.request.system, "files": run.request.files, "user_id": run.created_by}
            system.update(app_id=app.id, workflow_id=run.workflow.id)
            inputs = {**inputs, **{f"sys.{k}": system[k] for k in _RECORDED_SYSTEM if k in system}}
        with self.db.session() as session:
            if run.recorded:
                return
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
                    inputs=inputs,
                    status="running",
                    created_by_role=run.created_by_role,
                    created_by=run.created_by,
                    conversation_id=run.request.conversation_id,
                    message_id=run.request.message_id,
                )
            )

    def _record_nodes(
        self, run: PreparedRun, events: list[dict[str, Any]], triggered_from: str = "workflow-run"
    ) -> None:
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
                        triggered_from=triggered_from,
                        workflow_run_id=run.run_id if triggered_from == "workflow-run" else None,
                        index=int(data.get("index") or 0) + run.index_offset,
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
            if run.on_finish is not None:
                run.on_finish(session, data)
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

    # -- durability: resume after a restart, rerun from a node ------------------------------------

    async def recover(self) -> list[str]:
        """Resume the runs a dead process left `running`, from their recorded node executions.

        Called once at start-up in the embedded mode (one process owns the database's runs).
        Workflow runs go on in the background under their own run id; chatflow runs go to the
        resumer registered for them (`register_resumer`), or are marked failed without one.
        Returns the ids of the runs resumed.
        """
        resumable = await run_in_threadpool(self._interrupted, now())
        for run in resumable:
            resumer = self.resumers.get(run.workflow.type, self._drain)
            task = asyncio.ensure_future(resumer(run))
            self._recovering.add(task)
            task.add_done_callback(self._recovering.discard)
        return [run.run_id for run in resumable]

    async def _drain(self, run: PreparedRun) -> None:
        async for _ in self.stream(run):
            pass

    async def mark_failed(self, run_id: str, message: str) -> None:
        """Record that a run cannot go on (a resumer that cannot rebuild it)."""

        def mark() -> None:
            with self.db.session() as session:
                row = session.get(WorkflowRun, run_id)
                if row is not None and row.status not in FINAL_STATUSES:
                    row.status, row.error, row.finished_at = "failed", message, now()

        await run_in_threadpool(mark)

    async def attach_resume(self, run: PreparedRun) -> None:
        """Make a prepared run go on from what an earlier attempt under the same run id recorded.

        Loads the run's recorded node executions as its `resume`; the run row is kept (not created
        again) and new node executions are numbered after the recorded ones. A run with no row yet
        is left as it is.
        """

        def load() -> None:
            with self.db.session() as session:
                if session.get(WorkflowRun, run.run_id) is not None:
                    self._attach(session, run)

        await run_in_threadpool(load)

    def _attach(self, session: Session, run: PreparedRun) -> None:
        records = self._records(session, run.run_id)
        run.resume = Resume(records)
        run.recorded = True
        run.index_offset = max((int(r["index"]) for r in records), default=0)

    def _interrupted(self, before: datetime) -> list[PreparedRun]:
        resumable: list[PreparedRun] = []
        with self.db.session() as session:
            rows = list(
                session.scalars(
                    select(WorkflowRun).where(WorkflowRun.status == "running", WorkflowRun.created_at < before)
                )
            )
            for row in rows:
                app = session.get(App, row.app_id)
                workflow = session.get(Workflow, row.workflow_id)
                if (row.type != "workflow" and row.type not in self.resumers) or app is None or workflow is None:
                    row.status, row.finished_at = "failed", now()
                    row.error = "The server stopped during this run; it cannot be resumed."
                    continue
                request = self._recorded_request(session, row, app)
                session.expunge(app)
                session.expunge(workflow)
                run = PreparedRun(
                    request=request,
                    workflow=workflow,
                    inputs=dict(request.inputs or {}),
                    created_by_role=row.created_by_role,
                    created_by=row.created_by,
                    run_id=row.id,
                    created_at=to_timestamp(row.created_at),
                )
                self._attach(session, run)
                resumable.append(run)
        return resumable

    @staticmethod
    def _recorded_request(session: Session, row: WorkflowRun, app: App) -> RunRequest:
        """The request of a recorded run, as far as the run row tells it."""
        recorded = dict(row.inputs or {})
        system = {k[4:]: recorded.pop(k) for k in list(recorded) if k.startswith("sys.")}
        draft = row.triggered_from == "debugging"
        user, invoke_from = None, "debugger" if draft else "service-api"
        if row.created_by_role == "end_user":
            end_user = session.get(EndUser, row.created_by)
            if end_user is not None:
                user = end_user.session_id
                invoke_from = "web-app" if end_user.type == "browser" else invoke_from
        files = system.pop("files", None)
        return RunRequest(
            app=app,
            inputs=recorded,
            user=user,
            account_id=row.created_by if row.created_by_role == "account" else None,
            workflow_id=None if draft else row.workflow_id,
            draft=draft,
            files=list(files) if isinstance(files, list) else [],
            invoke_from=invoke_from,
            system={k: system[k] for k in ("query", "conversation_id", "dialogue_count") if k in system},
            conversation_id=row.conversation_id,
            message_id=row.message_id,
        )

    @staticmethod
    def _records(session: Session, run_id: str) -> list[dict[str, Any]]:
        rows = session.scalars(
            select(WorkflowNodeExecution)
            .where(WorkflowNodeExecution.workflow_run_id == run_id)
            .order_by(WorkflowNodeExecution.index, WorkflowNodeExecution.created_at)
        )
        return [
            {
                "node_id": r.node_id,
                "node_type": r.node_type,
                "status": r.status,
                "outputs": r.outputs,
                "process_data": r.process_data,
                "error": r.error,
                "iteration_id": r.iteration_id,
                "loop_id": r.loop_id,
                "index": r.index,
                "execution_metadata": r.execution_metadata,
            }
            for r in rows
        ]

    async def prepare_rerun(self, *, app: App, run_id: str, node_id: str, account_id: str) -> PreparedRun:
        """A new run of a recorded run's workflow version and inputs that replays every recorded node
        execution except `node_id` and what follows it, which run again (the console's "run from here")."""
        return await run_in_threadpool(self._prepare_rerun, app, run_id, node_id, account_id)

    def _prepare_rerun(self, app: App, run_id: str, node_id: str, account_id: str) -> PreparedRun:
        with self.db.session() as session:
            row = session.scalar(select(WorkflowRun).where(WorkflowRun.id == run_id, WorkflowRun.app_id == app.id))
            if row is None:
                raise NotFoundError("Workflow run not found.")
            workflow = session.get(Workflow, row.workflow_id)
            if workflow is None:
                raise NotFoundError("The workflow version of this run no longer exists.")
            mode = "advanced-chat" if workflow.type in ("chat", "advanced-chat") else "workflow"
            if mode != "workflow":
                raise InvalidParamError("Only workflow runs can be re-run from a node.", params="run_id")
            graph = compile_graph(workflow.graph or {}, mode=mode)
            if node_id not in graph.nodes:
                raise NotFoundError(f"Node {node_id} not found in this run's workflow.")
            again = graph.descendants(node_id)
            records = [r for r in self._records(session, row.id) if r["node_id"] not in again]
            session.expunge(workflow)
            request = RunRequest(app=app, inputs=row.inputs, account_id=account_id, draft=True, invoke_from="debugger")
            return PreparedRun(
                request=request,
                workflow=workflow,
                inputs=dict(row.inputs or {}),
                created_by_role="account",
                created_by=account_id,
                resume=Resume(records),
            )

    async def run_single_node(
        self, *, app: App, node_id: str, values: dict[str, Any], account_id: str
    ) -> dict[str, Any]:
        """Run one node of the draft alone with the given upstream values (the console's step debugger).

        The execution is recorded as a `single-step` node execution; returns its `node_finished` data.
        """
        run_node = getattr(self.engine, "run_node", None)
        if run_node is None:
            raise LoomworksError("This engine cannot run a single node.")
        request = RunRequest(app=app, inputs=None, account_id=account_id, draft=True, invoke_from="debugger")
        workflow = await run_in_threadpool(self._draft_of, app, request)
        if not any(n.get("id") == node_id for n in (workflow.graph or {}).get("nodes") or []):
            raise NotFoundError("Node not found in the draft.")
        system = {
            "user_id": account_id,
            "app_id": app.id,
            "workflow_id": workflow.id,
            "files": [],
            "environment_variables": self._environment(app, workflow),
        }
        finished: dict[str, Any] | None = None
        async for event in run_node(
            tenant_id=app.tenant_id, app_id=app.id, workflow=workflow, node_id=node_id, values=values, system=system
        ):
            if event.get("event") == "node_finished" and (event.get("data") or {}).get("node_id") == node_id:
                finished = event
        if finished is None:
            raise LoomworksError("The node did not finish.")
        run = PreparedRun(
            request=request, workflow=workflow, inputs={}, created_by_role="account", created_by=account_id
        )
        await run_in_threadpool(self._record_nodes, run, [finished], "single-step")
        return finished["data"]

    def _draft_of(self, app: App, request: RunRequest) -> Workflow:
        with self.db.session() as session:
            workflow = self.workflow_for(session, app, request)
            session.expunge(workflow)
            return workflow
