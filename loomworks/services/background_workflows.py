"""Background workflow runs and chatflow turns: run on a worker, streamed by any API process.

With `run_in_worker`, `POST /v1/workflows/run` (and `POST /v1/chat-messages` to a chatflow app) with
`response_mode: streaming` is checked by the API process — bad input is still a plain Dify 4xx —
which then chooses the task id, the workflow run id (and for a chatflow the message and conversation
ids), records who owns the run on the bus, and enqueues a `workflow_run` (or `chatflow_turn`) job on
the `workflow` queue. A worker runs it and publishes its events to the bus; the API process streams
them with `id:` lines. A client reconnects to any API process with
`GET /v1/workflows/tasks/{task_id}/events` (`/v1/chat-messages/{task_id}/events` for a chatflow) and
`Last-Event-ID`; `POST /v1/workflows/tasks/{task_id}/stop` reaches the run wherever it runs, even
before a worker has picked it up (the stop is recorded with the run's owner on the bus, and the
worker looks once its run has started).

Delivery. The ids travel in the job's payload, so every attempt works on the same rows:

- the run row is already final (an earlier attempt finished but died before the job was marked
  done): nothing runs; the saved result is published again as `workflow_finished` (a chatflow turn
  whose message is saved republishes `message_replace` + `message_end`);
- the run row exists but is not final (the attempt died mid-run): the run **starts over** under the
  same run id. What the dead attempt recorded of it (node executions, a log entry) is deleted first,
  so the finished run has one row and one set of node executions. The reader is told: a
  `text_replace` with empty text (chatflow: `message_replace` with an empty answer) voids the text
  streamed so far, and a fresh `workflow_started` with the same `workflow_run_id` begins the run
  again; node events after it replace those of the first attempt;
- no row yet: the first attempt, or one that died before the run was recorded: the run starts.

A stream always ends with `workflow_finished` or `error` (a chatflow's with `message_end` or
`error`). A reader that loses events (a Redis restart), loses the bus, or hears nothing while the
run's job is no longer queued or running falls back to the database: the finished run row becomes
`workflow_finished` (the saved message `message_replace` + `message_end`); it waits while the job is
alive, and gives up with an `error` event (`stream_interrupted`) `repair_seconds` after it died.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from sqlalchemy import delete, update
from starlette.concurrency import run_in_threadpool

from loomworks.core.clock import now, to_timestamp
from loomworks.core.errors import LoomworksError, NotFoundError
from loomworks.services.background import (
    BackgroundChat,
    BackgroundRuns,
    Numbered,
    error_event,
    load_app,
    publish_all,
    replace_event,
    saved_events,
)
from loomworks.services.chatflow import ChatflowRequest, ChatflowService, PreparedChatflow
from loomworks.services.events import EventBus, EventBusUnavailableError
from loomworks.services.workflow_runs import FINAL_STATUSES, PreparedRun, RunRequest, WorkflowRunService
from loomworks.store.db import Database
from loomworks.store.tables import App, Workflow, WorkflowAppLog, WorkflowNodeExecution, WorkflowRun
from loomworks.tasks.queue import JobQueue, PermanentJobError

log = logging.getLogger("loomworks.background")

WORKFLOW_JOB = "workflow_run"
CHATFLOW_JOB = "chatflow_turn"
WORKFLOW_FINAL = ("workflow_finished", "error")
CHATFLOW_FINAL = ("message_end", "error")


class BackgroundWorkflows(BackgroundRuns):
    """Hands streamed workflow runs and chatflow turns to a worker (or a task) and follows them."""

    JOB_KINDS = (WORKFLOW_JOB, CHATFLOW_JOB)

    def __init__(
        self,
        db: Database,
        runs: WorkflowRunService,
        chatflow: ChatflowService,
        bus: EventBus,
        *,
        jobs: JobQueue | None = None,
        idle_timeout: float = 60.0,
        repair_seconds: float = 30.0,
    ) -> None:
        super().__init__(db, bus, jobs=jobs, idle_timeout=idle_timeout, repair_seconds=repair_seconds)
        self.runs = runs
        self.chatflow = chatflow

    @classmethod
    def alongside(
        cls, chat: BackgroundChat, runs: WorkflowRunService, chatflow: ChatflowService
    ) -> BackgroundWorkflows:
        """The same database, bus, job queue and timeouts as the chat turns use."""
        return cls(
            chat.db,
            runs,
            chatflow,
            chat.bus,
            jobs=chat.jobs,
            idle_timeout=chat.idle_timeout,
            repair_seconds=chat.repair_seconds,
        )

    def register(self, queue: JobQueue) -> None:
        queue.register(WORKFLOW_JOB, self.run_workflow_job)
        queue.register(CHATFLOW_JOB, self.run_chatflow_job)

    # -- API side: workflow runs -------------------------------------------------------------------

    async def submit_run(self, run: PreparedRun) -> None:
        """Record who may read and stop the run, then start it elsewhere under the ids chosen here."""
        request = run.request
        meta = {"app_id": request.app.id, "owner_key": run.created_by, "run_id": run.run_id, "kind": "workflow"}
        await self._announce(run.task_id, meta)
        payload = {
            "app_id": request.app.id,
            "workflow_id": run.workflow.id,
            "inputs": run.inputs,
            "user": request.user,
            "account_id": request.account_id,
            "files": request.files,
            "draft": request.draft,
            "invoke_from": request.invoke_from,
            "created_by_role": run.created_by_role,
            "created_by": run.created_by,
            "owner_key": run.created_by,
            "task_id": run.task_id,
            "run_id": run.run_id,
        }
        await self._start(WORKFLOW_JOB, payload, self.run_workflow_job)

    def follow_run(self, task_id: str, *, run_id: str, after: int = 0) -> Numbered:
        """The run's events after number `after`; ends with `workflow_finished` or `error`."""

        async def repair(reason: str) -> list[dict[str, Any]]:
            return await self._repair_run(task_id, run_id, reason)

        async def alive() -> bool:
            return await self.alive(task_id)

        return self._follow(task_id, after=after, repair=repair, alive=alive)

    async def stop(self, task_id: str, *, app_id: str, owner_key: str) -> None:
        """Stop a run of this app and owner wherever it runs, or as soon as it starts."""
        tasks = self.runs.tasks
        signals = getattr(tasks, "signals", None)
        if signals is None:  # the in-process registry: set the flag on this loop (asyncio events are not thread-safe)
            stopped = tasks.request_stop(task_id=task_id, app_id=app_id, owner_key=owner_key)
        else:  # Redis calls, off the loop
            stopped = await run_in_threadpool(tasks.request_stop, task_id=task_id, app_id=app_id, owner_key=owner_key)
        if stopped:
            return
        try:
            meta = await self.bus.get_meta(task_id)
            if meta is None or meta.get("app_id") != app_id or meta.get("owner_key") != owner_key:
                return  # unknown, finished long ago, or someone else's: succeed quietly, as Dify does
            await self.bus.set_meta(task_id, {**meta, "stop": "1"})
        except EventBusUnavailableError:
            log.warning("stop not recorded: the bus is unreachable", extra={"task_id": task_id})
            return
        # The run may have started between the two looks, before its owner reached Redis: signal it too.
        if signals is not None:
            from loomworks.services.signals import STOP_CHANNEL

            await run_in_threadpool(signals.publish, STOP_CHANNEL, task_id)

    # -- API side: chatflow turns ------------------------------------------------------------------

    async def submit_turn(self, turn: PreparedChatflow) -> None:
        """Like `submit_run`, for a chatflow turn (the message and conversation ids are chosen here too)."""
        request = turn.request
        owner_key = turn.owner.end_user_id or turn.owner.account_id or ""
        meta = {
            "app_id": request.app.id,
            "owner_key": owner_key,
            "message_id": turn.message_id,
            "conversation_id": turn.conversation_id,
            "run_id": turn.run.run_id,
            "kind": "chatflow",
        }
        await self._announce(turn.task_id, meta)
        payload = {
            "app_id": request.app.id,
            "query": request.query,
            "inputs": request.inputs,
            "user": request.user,
            "account_id": request.account_id,
            "conversation_id": request.conversation_id,
            "files": request.files,
            # The version the API process resolved, so that a publish meanwhile changes nothing.
            "workflow_id": None if request.draft else turn.run.workflow.id,
            "draft": request.draft,
            "invoke_from": request.invoke_from,
            "owner_key": owner_key,
            "task_id": turn.task_id,
            "run_id": turn.run.run_id,
            "message_id": turn.message_id,
            "new_conversation_id": turn.conversation_id,
            "created_at": turn.created_at,
        }
        await self._start(CHATFLOW_JOB, payload, self.run_chatflow_job)

    def follow_turn(self, task_id: str, *, message_id: str, after: int = 0) -> Numbered:
        """The turn's events after number `after`; ends with `message_end` or `error`."""

        async def alive() -> bool:
            return await self.alive(task_id)

        async def repair(reason: str) -> list[dict[str, Any]]:
            return await self._repair_message(task_id, message_id, reason, alive=alive)

        return self._follow(task_id, after=after, repair=repair, alive=alive)

    async def _announce(self, task_id: str, meta: dict[str, str]) -> None:
        try:
            await self.bus.set_meta(task_id, meta)
        except EventBusUnavailableError:
            # The job row carries the same owner (see `owner_of`); the run need not wait for Redis.
            log.warning("run owner not recorded on the bus", extra={"task_id": task_id})

    # -- worker side -------------------------------------------------------------------------------

    async def run_workflow_job(self, payload: dict[str, Any]) -> None:
        """Run one workflow run and publish its events (the `workflow_run` job handler)."""
        task_id, run_id = payload["task_id"], payload["run_id"]
        status = await run_in_threadpool(self._run_status, run_id)
        if status in FINAL_STATUSES:  # an earlier attempt finished: publish its result again, run nothing
            finished = await run_in_threadpool(self._finished_run, task_id, run_id)
            await publish_all(self.bus, task_id, [finished] if finished else [])
            return
        try:
            run = await run_in_threadpool(self._prepared_run, payload)
        except (LoomworksError, PermanentJobError) as exc:
            await self.bus.publish(task_id, _run_error(task_id, run_id, exc), final=True)
            return
        if status is not None:  # an earlier attempt died mid-run: start over under the same run id
            await self._start_over(task_id, run_id)
            run.recorded = True
            await self.bus.publish(task_id, _text_replace(task_id, run_id))
        owner = (run.request.app.id, run.created_by)
        await self._relay(
            task_id, run_id, self.runs.stream(run), WORKFLOW_FINAL, owner, lambda exc: _run_error(task_id, run_id, exc)
        )

    async def run_chatflow_job(self, payload: dict[str, Any]) -> None:
        """Run one chatflow turn and publish its events (the `chatflow_turn` job handler)."""
        task_id, message_id, run_id = payload["task_id"], payload["message_id"], payload["run_id"]
        saved = await run_in_threadpool(self._saved_message, message_id)
        if saved is not None:  # an earlier attempt saved the answer: publish it again, run nothing
            await publish_all(self.bus, task_id, saved_events(task_id, saved))
            return
        status = await run_in_threadpool(self._run_status, run_id)

        def failure(exc: BaseException) -> dict[str, Any]:
            code, http = (exc.code, exc.status) if isinstance(exc, LoomworksError) else ("internal_server_error", 500)
            message = exc.message if isinstance(exc, LoomworksError) else str(exc)
            return error_event(task_id, message_id, http, code, message)

        try:
            turn = await self._prepared_turn(payload)
        except (LoomworksError, PermanentJobError) as exc:
            await self.bus.publish(task_id, failure(exc), final=True)
            return
        if status is not None:  # the run was cut off (or finished without its message saved): again
            await self._start_over(task_id, run_id)
            turn.run.recorded = True
        if await self.bus.last_id(task_id) > 0:
            await self.bus.publish(task_id, replace_event(task_id, message_id, payload, ""))
        owner = (turn.request.app.id, str(payload["owner_key"]))
        await self._relay(task_id, run_id, self.chatflow.stream(turn), CHATFLOW_FINAL, owner, failure)

    async def _relay(
        self,
        task_id: str,
        run_id: str,
        events: AsyncIterator[dict[str, Any]],
        finals: tuple[str, ...],
        owner: tuple[str, str],
        failure: Callable[[BaseException], dict[str, Any]],
    ) -> None:
        """Publish a run's events; whatever happens, the stream gets a final event and no retry follows."""
        checked = False
        try:
            async for event in events:
                await self.bus.publish(task_id, event, final=event.get("event") in finals)
                if not checked:  # the run is registered now: a stop asked for before it began applies
                    checked = True
                    await self._stop_if_asked(task_id, *owner)
        except LoomworksError as exc:  # e.g. the conversation is busy with another turn
            await self.bus.publish(task_id, failure(exc), final=True)
        except Exception as exc:  # noqa: BLE001 - the reader must get a final event, and no retry repeats it
            log.exception("background run failed", extra={"task_id": task_id})
            await self.bus.publish(task_id, failure(exc), final=True)
            with contextlib.suppress(Exception):  # the database may be what failed
                await run_in_threadpool(self._fail_run, run_id, f"{type(exc).__name__}: {exc}")
            raise PermanentJobError(str(exc)) from exc

    def _fail_run(self, run_id: str, error: str) -> None:
        """Record a run cut short by a crash as failed (no attempt will finish it)."""
        with self.db.session() as session:
            session.execute(
                update(WorkflowRun)
                .where(WorkflowRun.id == run_id, WorkflowRun.status == "running")
                .values(status="failed", error=error, finished_at=now())
            )

    async def _stop_if_asked(self, task_id: str, app_id: str, owner_key: str) -> None:
        try:
            meta = await self.bus.get_meta(task_id)
        except EventBusUnavailableError:
            return
        if meta and meta.get("stop"):
            self.runs.tasks.request_stop(task_id=task_id, app_id=app_id, owner_key=owner_key)

    def _prepared_run(self, payload: dict[str, Any]) -> PreparedRun:
        with self.db.session() as session:
            app = session.get(App, payload["app_id"])
            if app is None:
                raise PermanentJobError(f"app {payload['app_id']} no longer exists")
            workflow = session.get(Workflow, payload["workflow_id"])
            if workflow is None or workflow.app_id != app.id:
                raise NotFoundError("Workflow not found.")
            session.expunge(app)
            session.expunge(workflow)
        draft = bool(payload.get("draft"))
        request = RunRequest(
            app=app,
            inputs=payload["inputs"],
            user=payload["user"],
            account_id=payload["account_id"],
            workflow_id=None if draft else workflow.id,
            draft=draft,
            files=list(payload["files"] or []),
            invoke_from=payload["invoke_from"],
        )
        return PreparedRun(
            request=request,
            workflow=workflow,
            inputs=dict(payload["inputs"] or {}),
            created_by_role=payload["created_by_role"],
            created_by=payload["created_by"],
            task_id=payload["task_id"],
            run_id=payload["run_id"],
        )

    async def _prepared_turn(self, payload: dict[str, Any]) -> PreparedChatflow:
        app = await run_in_threadpool(load_app, self.db, payload["app_id"])
        request = ChatflowRequest(
            app=app,
            query=payload["query"],
            inputs=payload["inputs"],
            user=payload["user"],
            account_id=payload["account_id"],
            conversation_id=payload["conversation_id"],
            files=list(payload["files"] or []),
            workflow_id=payload["workflow_id"],
            draft=bool(payload["draft"]),
            invoke_from=payload["invoke_from"],
        )
        turn = await self.chatflow.prepare(request)
        # The ids the API process announced: a retry answers the same message in the same run.
        turn.run.task_id, turn.run.run_id = payload["task_id"], payload["run_id"]
        turn.message_id = turn.run.request.message_id = payload["message_id"]
        turn.created_at = int(payload["created_at"])
        if turn.is_new:
            conversation_id = payload["new_conversation_id"]
            turn.conversation_id = turn.run.request.conversation_id = conversation_id
            turn.run.request.system["conversation_id"] = conversation_id
        return turn

    def _run_status(self, run_id: str) -> str | None:
        with self.db.session() as session:
            row = session.get(WorkflowRun, run_id)
            return row.status if row is not None else None

    async def _start_over(self, task_id: str, run_id: str) -> None:
        log.warning("run started over after a lost attempt", extra={"task_id": task_id, "run_id": run_id})
        await run_in_threadpool(self._forget_attempt, run_id)

    def _forget_attempt(self, run_id: str) -> None:
        """Delete what an attempt that died recorded of a run, and mark the run running again."""
        with self.db.session() as session:
            session.execute(delete(WorkflowNodeExecution).where(WorkflowNodeExecution.workflow_run_id == run_id))
            session.execute(delete(WorkflowAppLog).where(WorkflowAppLog.workflow_run_id == run_id))
            row = session.get(WorkflowRun, run_id)
            if row is not None:
                row.status, row.outputs, row.error, row.finished_at = "running", None, None, None

    # -- reader side: the database fallback ----------------------------------------------------------

    def _finished_run(self, task_id: str, run_id: str) -> dict[str, Any] | None:
        with self.db.session() as session:
            row = session.get(WorkflowRun, run_id)
            if row is None or row.status not in FINAL_STATUSES:
                return None
            return finished_event(task_id, row)

    async def _repair_run(self, task_id: str, run_id: str, reason: str) -> list[dict[str, Any]]:
        deadline = time.monotonic() + self.repair_seconds
        while True:
            finished = await run_in_threadpool(self._finished_run, task_id, run_id)
            if finished is not None:
                return [finished]
            if time.monotonic() > deadline:
                if not await self.alive(task_id):
                    message = f"The run's stream was interrupted: {reason}. Read the run back later."
                    return [_run_error(task_id, run_id, LoomworksError(message), status=503, code="stream_interrupted")]
                deadline = time.monotonic() + self.repair_seconds  # still queued or running: wait for it
            await asyncio.sleep(0.5)


def finished_event(task_id: str, row: WorkflowRun) -> dict[str, Any]:
    """`workflow_finished` rebuilt from a finished run row."""
    return {
        "event": "workflow_finished",
        "task_id": task_id,
        "workflow_run_id": row.id,
        "data": {
            "id": row.id,
            "workflow_id": row.workflow_id,
            "status": row.status,
            "outputs": row.outputs,
            "error": row.error,
            "elapsed_time": row.elapsed_time,
            "total_tokens": row.total_tokens,
            "total_steps": row.total_steps,
            "created_at": to_timestamp(row.created_at),
            "finished_at": to_timestamp(row.finished_at),
            "exceptions_count": row.exceptions_count,
            "files": [],
        },
    }


def _text_replace(task_id: str, run_id: str) -> dict[str, Any]:
    return {"event": "text_replace", "task_id": task_id, "workflow_run_id": run_id, "data": {"text": ""}}


def _run_error(
    task_id: str, run_id: str, exc: BaseException, *, status: int | None = None, code: str | None = None
) -> dict[str, Any]:
    if isinstance(exc, LoomworksError):
        status, code, message = status or exc.status, code or exc.code, exc.message
    else:
        status, code, message = status or 500, code or "internal_server_error", str(exc) or type(exc).__name__
    return {
        "event": "error",
        "task_id": task_id,
        "workflow_run_id": run_id,
        "status": status,
        "code": code,
        "message": message,
    }
