"""Background runs: a run goes on apart from the request that started it; its events travel on the bus.

With `run_in_worker` a streamed request is checked by the API process (bad input still gets a plain
4xx), then handed off — as a job to a Celery worker in the scaled mode, or as a task of this process
in the embedded mode — and the API process streams the run's events from the bus. The client's
connection is no longer the run's lifeline: a client that drops can reconnect to any API process and
resume after the last event id it read (`Last-Event-ID`).

`BackgroundRuns` is what every kind shares (starting the run elsewhere, following its events with a
database fallback, its owner); this module adds chat and completion turns (`BackgroundChat`, job kind
`chat_turn`); `background_workflows` adds workflow runs and chatflow turns.

Chat delivery: the job carries the ids the API chose (task, message, conversation), so a retry — a
worker killed mid-turn, its lease expired, another worker claims the job — answers the same message:
if the first attempt saved it, the retry only publishes the saved result; otherwise it starts the
stream over with a `message_replace` of an empty answer (Dify's event for "the answer so far is
void") and generates again. The message row is written once, by the attempt that finishes.

A reader that loses events (Redis restarted and took unread events along) or hears nothing for too
long falls back to the database: the finished message is sent as `message_replace` + `message_end`,
or the stream ends with an `error` event saying what happened.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from loomworks.core.clock import to_timestamp
from loomworks.core.errors import LoomworksError, NotFoundError
from loomworks.services.chat.pipeline import ChatService, PreparedTurn, TurnRequest
from loomworks.services.events import EventBus, EventBusUnavailableError, EventsLostError
from loomworks.store.db import Database
from loomworks.store.tables import App, Job, Message
from loomworks.tasks.queue import JobQueue, PermanentJobError

log = logging.getLogger("loomworks.background")

CHAT_JOB = "chat_turn"
FINAL_EVENTS = ("message_end", "error")

Numbered = AsyncIterator[tuple[int | None, dict[str, Any]]]
Repair = Callable[[str], Awaitable[list[dict[str, Any]]]]


class BackgroundRuns:
    """Starts runs elsewhere and follows their events on the bus; one subclass per kind of run.

    Subclasses name their job kinds in `JOB_KINDS` (the job row is where a run's owner is found when
    the bus forgot it) and register their handlers with `register`.
    """

    JOB_KINDS: tuple[str, ...] = ()

    def __init__(
        self,
        db: Database,
        bus: EventBus,
        *,
        jobs: JobQueue | None = None,
        idle_timeout: float = 60.0,
        repair_seconds: float = 30.0,
    ) -> None:
        self.db = db
        self.bus = bus
        self.jobs = jobs  # None: run as tasks of this process
        self.idle_timeout = idle_timeout
        self.repair_seconds = repair_seconds
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def register(self, queue: JobQueue) -> None:  # pragma: no cover - every subclass registers its kinds
        raise NotImplementedError

    async def _start(self, kind: str, payload: dict[str, Any], handler: Callable[[dict[str, Any]], Any]) -> None:
        """Run `payload` as a job of `kind` (deduplicated by its task id), or as a task of this process."""
        if self.jobs is None:
            task_id = str(payload["task_id"])
            task = asyncio.ensure_future(self._as_task(task_id, handler(payload)))
            self._tasks[task_id] = task
            task.add_done_callback(lambda _: self._tasks.pop(task_id, None))
            return
        await run_in_threadpool(self._enqueue, kind, payload)

    async def _as_task(self, task_id: str, work: Awaitable[None]) -> None:
        try:
            await work
        except PermanentJobError:
            log.warning("background run failed", extra={"task_id": task_id})

    def _enqueue(self, kind: str, payload: dict[str, Any]) -> None:
        assert self.jobs is not None
        with self.db.session() as session:
            self.jobs.enqueue_in(session, kind, payload, dedupe_key=payload["task_id"])
        self.jobs.wake()

    async def _follow(
        self, task_id: str, *, after: int, repair: Repair, alive: Callable[[], Awaitable[bool]] | None = None
    ) -> Numbered:
        """The bus events after number `after`; when the bus fails the reader, what `repair` rebuilds.

        Silence for `idle_timeout` is only a failure when `alive` (if given) says the run is no longer
        queued or running: a long node may well say nothing for minutes.
        """
        last = after
        while True:
            try:
                async for seq, event in self.bus.read(task_id, after=last, idle_timeout=self.idle_timeout):
                    last = seq
                    yield seq, event
                return
            except EventsLostError as exc:
                reason = f"{exc}"
            except EventBusUnavailableError as exc:
                reason = f"the event bus is unavailable ({exc})"
            except TimeoutError:
                if alive is not None and await alive():
                    continue
                reason = f"no event for {self.idle_timeout:g} s"
            break
        log.warning("stream repaired from the database", extra={"task_id": task_id, "reason": reason, "after": last})
        for event in await repair(reason):
            yield None, event

    def _saved_message(self, message_id: str) -> dict[str, Any] | None:
        with self.db.session() as session:
            row = session.get(Message, message_id)
            if row is None:
                return None
            return {
                "id": row.id,
                "conversation_id": row.conversation_id,
                "answer": row.answer,
                "status": row.status,
                "error": row.error,
                "metadata": row.message_metadata or {},
                "created_at": to_timestamp(row.created_at),
            }

    async def _repair_message(
        self, task_id: str, message_id: str, reason: str, *, alive: Callable[[], Awaitable[bool]] | None = None
    ) -> list[dict[str, Any]]:
        """The end of a message's stream from its saved row, waiting up to `repair_seconds` for it (and,
        when `alive` is given, as long as it says the run is still queued or running)."""
        deadline = time.monotonic() + self.repair_seconds
        while True:
            found = await run_in_threadpool(self._saved_message, message_id)
            if found is not None:
                return saved_events(task_id, found)
            if time.monotonic() > deadline and alive is not None and await alive():
                deadline = time.monotonic() + self.repair_seconds
            elif time.monotonic() > deadline:
                return [
                    error_event(
                        task_id,
                        message_id,
                        503,
                        "stream_interrupted",
                        f"The answer's stream was interrupted: {reason}. Read the message back later or ask again.",
                    )
                ]
            await asyncio.sleep(0.5)

    async def owner_of(self, task_id: str) -> dict[str, str]:
        """The stored owner (app, end user or account, message or run id) of a run; 404 when unknown."""
        try:
            meta = await self.bus.get_meta(task_id)
        except EventBusUnavailableError:
            meta = None
        if meta is None:  # expired, or lost with a Redis restart: the job row knows it too
            meta = await run_in_threadpool(self._owner_from_job, task_id)
        if meta is None:
            raise NotFoundError("Task not found.")
        return meta

    def _owner_from_job(self, task_id: str) -> dict[str, str] | None:
        with self.db.session() as session:
            job = session.scalar(
                select(Job).where(Job.kind.in_(self.JOB_KINDS), Job.dedupe_key == task_id).order_by(Job.created_at)
            )
            if job is None:
                return None
            payload = job.payload
            keys = ("app_id", "owner_key", "message_id", "run_id", "conversation_id")
            return {key: str(payload[key]) for key in keys if payload.get(key) is not None}

    def _job_alive(self, task_id: str) -> bool:
        with self.db.session() as session:
            status = session.scalar(
                select(Job.status)
                .where(Job.kind.in_(self.JOB_KINDS), Job.dedupe_key == task_id)
                .order_by(Job.created_at.desc())
            )
            return status in ("queued", "running")

    async def alive(self, task_id: str) -> bool:
        """Whether a run is still queued or running (as a job, or as a task of this process)."""
        task = self._tasks.get(task_id)
        if task is not None:
            return not task.done()
        if self.jobs is None:
            return False
        return await run_in_threadpool(self._job_alive, task_id)

    async def drain(self) -> None:
        """Wait for the runs this process runs as tasks (shutdown and tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)


class BackgroundChat(BackgroundRuns):
    """Hands streamed turns to a worker (or a task) and follows their events on the bus."""

    JOB_KINDS = (CHAT_JOB,)

    def __init__(
        self,
        db: Database,
        chat: ChatService,
        bus: EventBus,
        *,
        jobs: JobQueue | None = None,
        idle_timeout: float = 60.0,
        repair_seconds: float = 30.0,
    ) -> None:
        super().__init__(db, bus, jobs=jobs, idle_timeout=idle_timeout, repair_seconds=repair_seconds)
        self.chat = chat

    def register(self, queue: JobQueue) -> None:
        queue.register(CHAT_JOB, self.run_job)

    # -- API side -----------------------------------------------------------------------------------

    async def submit(self, turn: PreparedTurn, *, expect_chat: bool) -> None:
        """Record who may read the run's events, then start the run elsewhere."""
        request = turn.request
        owner_key = turn.owner.end_user_id or turn.owner.account_id or ""
        meta = {
            "app_id": request.app.id,
            "owner_key": owner_key,
            "message_id": turn.message_id,
            "conversation_id": turn.conversation_id,
        }
        try:
            await self.bus.set_meta(turn.task_id, meta)
        except EventBusUnavailableError:
            # The job row carries the same owner (see `owner_of`); the run need not wait for Redis.
            log.warning("run owner not recorded on the bus", extra={"task_id": turn.task_id})
        payload = {
            "app_id": request.app.id,
            "query": request.query,
            "inputs": request.inputs,
            "user": request.user,
            "account_id": request.account_id,
            "conversation_id": request.conversation_id,
            "files": request.files,
            "auto_generate_name": request.auto_generate_name,
            "invoke_from": request.invoke_from,
            "expect_chat": expect_chat,
            "task_id": turn.task_id,
            "message_id": turn.message_id,
            "new_conversation_id": turn.conversation_id,
            "created_at": turn.created_at,
            "owner_key": owner_key,
        }
        await self._start(CHAT_JOB, payload, self.run_job)

    def follow(self, task_id: str, *, message_id: str, after: int = 0) -> Numbered:
        """The run's events after number `after`, each with its number; ends with a final event."""

        async def repair(reason: str) -> list[dict[str, Any]]:
            return await self._repair_message(task_id, message_id, reason)

        return self._follow(task_id, after=after, repair=repair)

    # -- worker side --------------------------------------------------------------------------------

    async def run_job(self, payload: dict[str, Any]) -> None:
        """Run one turn and publish its events (the `chat_turn` job handler)."""
        task_id, message_id = payload["task_id"], payload["message_id"]
        saved = await run_in_threadpool(self._saved_message, message_id)
        if saved is not None:  # an earlier attempt finished: publish its result again, run nothing
            await publish_all(self.bus, task_id, saved_events(task_id, saved))
            return
        if await self.bus.last_id(task_id) > 0:
            await self.bus.publish(task_id, replace_event(task_id, message_id, payload, ""))
        try:
            turn = await self._prepare(payload)
        except LoomworksError as exc:
            await self.bus.publish(
                task_id, error_event(task_id, message_id, exc.status, exc.code, exc.message), final=True
            )
            return
        try:
            async for event in self.chat.stream(turn):
                await self.bus.publish(task_id, event, final=event.get("event") in FINAL_EVENTS)
        except Exception as exc:  # noqa: BLE001 - the reader must get a final event, and no retry repeats it
            log.exception("background turn failed", extra={"task_id": task_id})
            await self.bus.publish(
                task_id, error_event(task_id, message_id, 500, "internal_server_error", str(exc)), final=True
            )
            raise PermanentJobError(str(exc)) from exc

    async def _prepare(self, payload: dict[str, Any]) -> PreparedTurn:
        app = await run_in_threadpool(load_app, self.db, payload["app_id"])
        request = TurnRequest(
            app=app,
            query=payload["query"],
            inputs=payload["inputs"],
            user=payload["user"],
            account_id=payload["account_id"],
            conversation_id=payload["conversation_id"],
            files=list(payload["files"] or []),
            auto_generate_name=bool(payload["auto_generate_name"]),
            invoke_from=payload["invoke_from"],
        )
        turn = await self.chat.prepare(request, expect_chat=bool(payload["expect_chat"]))
        # The ids the API process announced: a retry answers the same message.
        turn.task_id, turn.message_id = payload["task_id"], payload["message_id"]
        turn.created_at = int(payload["created_at"])
        if turn.is_chat and request.conversation_id is None:
            turn.conversation_id = payload["new_conversation_id"]
        return turn


def load_app(db: Database, app_id: str) -> App:
    """The app a job runs, detached; a permanent failure when it was deleted meanwhile."""
    with db.session() as session:
        app = session.get(App, app_id)
        if app is None:
            raise PermanentJobError(f"app {app_id} no longer exists")
        session.expunge(app)
        return app


async def publish_all(bus: EventBus, task_id: str, events: list[dict[str, Any]]) -> None:
    """Publish `events` in order, the last one marked final."""
    for index, event in enumerate(events):
        await bus.publish(task_id, event, final=index == len(events) - 1)


def replace_event(task_id: str, message_id: str, payload: dict[str, Any], answer: str) -> dict[str, Any]:
    """`message_replace`: the answer so far is `answer` (empty: start again)."""
    event: dict[str, Any] = {"event": "message_replace", "task_id": task_id, "id": message_id}
    event["message_id"] = message_id
    if payload.get("new_conversation_id"):
        event["conversation_id"] = payload["new_conversation_id"]
    event.update({"created_at": payload.get("created_at"), "answer": answer})
    return event


def error_event(task_id: str, message_id: str, status: int, code: str, message: str) -> dict[str, Any]:
    """Dify's stream `error` event for a message."""
    return {
        "event": "error",
        "task_id": task_id,
        "message_id": message_id,
        "status": status,
        "code": code,
        "message": message,
    }


def saved_events(task_id: str, saved: dict[str, Any]) -> list[dict[str, Any]]:
    """The end of a stream rebuilt from a saved message: the full answer, then its final event."""
    base: dict[str, Any] = {"task_id": task_id, "id": saved["id"], "message_id": saved["id"]}
    if saved["conversation_id"]:
        base["conversation_id"] = saved["conversation_id"]
    base["created_at"] = saved["created_at"]
    if saved["status"] == "error":
        return [
            error_event(task_id, saved["id"], 400, "completion_request_error", saved["error"] or "The turn failed.")
        ]
    replace = {"event": "message_replace", **base, "answer": saved["answer"]}
    end = {"event": "message_end", **base, "metadata": saved["metadata"]}
    return [replace, end]
