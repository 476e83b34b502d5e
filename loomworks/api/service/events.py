"""Streams of background runs, with SSE ids, and reconnecting to them (`Last-Event-ID`).

A streamed chat or completion turn, workflow run or chatflow turn that runs in the background
(`run_in_worker`) is answered with Dify's events, each preceded by an `id:` line, and an `X-Task-Id`
header. A client whose connection dropped reconnects to any API process with
`GET /v1/chat-messages/{task_id}/events?user=…` (`/completion-messages/…` for completion apps,
`/workflows/tasks/…` for workflow apps), sending the last id it read as the `Last-Event-ID` header
(what a browser's EventSource sends by itself) or the `last_event_id` query parameter; the stream
goes on from the next event. Someone else's task, or an unknown one, is a 404.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Header, Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from loomworks.api.deps import KeyApp, State
from loomworks.api.responses import dumps
from loomworks.api.sse import HEADERS, PING
from loomworks.core.errors import InvalidParamError, NotFoundError, NotWorkflowAppError
from loomworks.services import end_users
from loomworks.services.background import BackgroundChat
from loomworks.services.background_workflows import BackgroundWorkflows
from loomworks.services.chatflow import PreparedChatflow
from loomworks.services.workflow_runs import PreparedRun
from loomworks.store.tables import App

router = APIRouter(tags=["service: chat"])

Numbered = AsyncIterator[tuple[int | None, dict[str, Any]]]


def encode(seq: int | None, event: dict[str, Any]) -> bytes:
    head = f"id: {seq}\n".encode() if seq is not None else b""
    return head + b"data: " + dumps(event) + b"\n\n"


async def _with_pings(events: Numbered, interval: float) -> AsyncIterator[bytes]:
    iterator = aiter(events)
    pending: asyncio.Task[tuple[int | None, dict[str, Any]]] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(iterator))
            done, _ = await asyncio.wait({pending}, timeout=interval)
            if not done:
                yield PING
                continue
            try:
                seq, event = pending.result()
            except StopAsyncIteration:
                return
            finally:
                pending = None
            yield encode(seq, event)
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()


def numbered_sse(events: Numbered, *, task_id: str, ping_interval: float = 10.0) -> StreamingResponse:
    """An SSE response whose events carry their bus number as `id:` (for `Last-Event-ID`).

    The `X-Task-Id` header names the run before its first event, so that a client cut off even then
    can reconnect to it.
    """
    headers = {**HEADERS, "X-Task-Id": task_id}
    return StreamingResponse(_with_pings(events, ping_interval), media_type="text/event-stream", headers=headers)


def background_runs(state: Any) -> BackgroundChat:
    return state.extras["background"]


def background_workflows(state: Any) -> BackgroundWorkflows:
    return state.extras["background_workflows"]


async def background_workflow(state: Any, run: PreparedRun) -> StreamingResponse:
    """Start a prepared workflow run in the background and stream it from the bus."""
    runner = background_workflows(state)
    await runner.submit_run(run)
    return numbered_sse(runner.follow_run(run.task_id, run_id=run.run_id), task_id=run.task_id)


async def background_chatflow(state: Any, turn: PreparedChatflow) -> StreamingResponse:
    """Start a prepared chatflow turn in the background and stream it from the bus."""
    runner = background_workflows(state)
    await runner.submit_turn(turn)
    return numbered_sse(runner.follow_turn(turn.task_id, message_id=turn.message_id), task_id=turn.task_id)


def _after(header: str | None, query: str | None) -> int:
    raw = (query or header or "0").strip()
    try:
        value = int(raw)
    except ValueError:
        raise InvalidParamError("Last-Event-ID must be an event id of this stream.", params="last_event_id") from None
    if value < 0:
        raise InvalidParamError("Last-Event-ID must be an event id of this stream.", params="last_event_id")
    return value


def _end_user_id(state: Any, app: App, user: str | None) -> str:
    with state.db.session() as session:
        return end_users.get_or_create(session, app=app, user=user).id


async def _owned(
    task_id: str, app: App, state: Any, user: str | None, runs: BackgroundChat | BackgroundWorkflows
) -> dict[str, str]:
    if not user:
        raise InvalidParamError("Arg user must be provided.", params="user")
    meta = await runs.owner_of(task_id)
    owner = await run_in_threadpool(_end_user_id, state, app, user)
    if meta.get("app_id") != app.id or meta.get("owner_key") != owner:
        raise NotFoundError("Task not found.")  # someone else's run looks like no run at all
    return meta


async def _events(
    task_id: str, app: App, state: Any, user: str | None, last_event_id: str | None, header: str | None
) -> StreamingResponse:
    after = _after(header, last_event_id)
    if app.mode == "advanced-chat":
        flows = background_workflows(state)
        meta = await _owned(task_id, app, state, user, flows)
        return numbered_sse(flows.follow_turn(task_id, message_id=meta["message_id"], after=after), task_id=task_id)
    runs = background_runs(state)
    meta = await _owned(task_id, app, state, user, runs)
    return numbered_sse(runs.follow(task_id, message_id=meta["message_id"], after=after), task_id=task_id)


@router.get("/chat-messages/{task_id}/events")
async def chat_events(
    task_id: str,
    app: KeyApp,
    state: State,
    user: str | None = None,
    last_event_id: str | None = Query(None),
    last_event_id_header: str | None = Header(None, alias="Last-Event-ID"),
) -> StreamingResponse:
    return await _events(task_id, app, state, user, last_event_id, last_event_id_header)


@router.get("/completion-messages/{task_id}/events")
async def completion_events(
    task_id: str,
    app: KeyApp,
    state: State,
    user: str | None = None,
    last_event_id: str | None = Query(None),
    last_event_id_header: str | None = Header(None, alias="Last-Event-ID"),
) -> StreamingResponse:
    return await _events(task_id, app, state, user, last_event_id, last_event_id_header)


@router.get("/workflows/tasks/{task_id}/events", tags=["service: workflows"])
async def workflow_events(
    task_id: str,
    app: KeyApp,
    state: State,
    user: str | None = None,
    last_event_id: str | None = Query(None),
    last_event_id_header: str | None = Header(None, alias="Last-Event-ID"),
) -> StreamingResponse:
    if app.mode != "workflow":
        raise NotWorkflowAppError()
    after = _after(last_event_id_header, last_event_id)
    runner = background_workflows(state)
    meta = await _owned(task_id, app, state, user, runner)
    if not meta.get("run_id"):
        raise NotFoundError("Task not found.")
    return numbered_sse(runner.follow_run(task_id, run_id=meta["run_id"], after=after), task_id=task_id)
