"""Workflow runs and chatflow turns in the background (`run_in_worker`), in the embedded mode.

Real parts: a uvicorn server on loopback, the workflow engine, SQLite and PostgreSQL, the in-process
event bus and, for the delivery tests, the durable job table worked by two in-process job queues
(one "dies" mid-run: its runner is cancelled and leaves the job claimed). The workflow calls a local
HTTP endpoint (`Gate`) that holds each request until the test opens it, so that a run can be caught
mid-flight. The scaled mode (Celery workers, Redis, a SIGKILLed worker) is `tests/scale`.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from loomworks.api.app import build_state, create_app
from loomworks.api.deps import ServerState
from loomworks.core.config import Settings
from loomworks.services.background_workflows import CHATFLOW_JOB, WORKFLOW_JOB, BackgroundWorkflows
from loomworks.services.events import LocalEventBus
from loomworks.services.workflow_runs import RunRequest
from loomworks.store.tables import App, Job, Message, WorkflowAppLog, WorkflowNodeExecution, WorkflowRun
from loomworks.tasks.queue import JobQueue
from tests._live_server import live_server
from tests.fakes.openai import OpenAIFake, openai_fake

PASSWORD = "Passw0rd!"
Numbered = list[tuple[int | None, dict[str, Any]]]


class Gate:
    """A local endpoint the workflow's HTTP node calls: each request waits until the gate is open."""

    def __init__(self) -> None:
        self.hits = 0
        self.opened = threading.Event()
        self.entered = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.hits += 1
                owner.entered.set()
                owner.opened.wait(30)
                body = b"gate-ok"
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the run that called was stopped or cancelled meanwhile

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/gate"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.opened.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def _node(node_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": node_id, "type": "custom", "data": {"title": node_id, **data}}


def _edge(source: str, target: str) -> dict[str, Any]:
    return {"id": f"{source}-{target}", "source": source, "target": target, "sourceHandle": "source"}


def gate_graph(url: str) -> dict[str, Any]:
    """start(topic) -> gate (HTTP GET) -> join (template) -> end(result = "<topic>:<gate body>")."""
    return {
        "nodes": [
            _node(
                "start",
                {"type": "start", "variables": [{"variable": "topic", "type": "text-input", "required": True}]},
            ),
            _node(
                "gate",
                {
                    "type": "http-request",
                    "method": "get",
                    "url": url,
                    "authorization": {"type": "no-auth"},
                    "headers": "",
                    "params": "",
                    "body": {"type": "none", "data": []},
                    "timeout": {"connect": 5, "read": 60, "write": 5},
                },
            ),
            _node(
                "join",
                {
                    "type": "template-transform",
                    "template": "{{ topic }}:{{ body }}",
                    "variables": [
                        {"variable": "topic", "value_selector": ["start", "topic"]},
                        {"variable": "body", "value_selector": ["gate", "body"]},
                    ],
                },
            ),
            _node("end", {"type": "end", "outputs": [{"variable": "result", "value_selector": ["join", "output"]}]}),
        ],
        "edges": [_edge("start", "gate"), _edge("gate", "join"), _edge("join", "end")],
    }


MODEL = {"provider": "openai", "name": "gpt-4o-mini", "mode": "chat", "completion_params": {"temperature": 0}}
CHATFLOW = {
    "nodes": [
        _node("start", {"type": "start", "variables": []}),
        _node(
            "count",
            {
                "type": "assigner",
                "version": "2",
                "items": [
                    {
                        "variable_selector": ["conversation", "turns"],
                        "input_type": "constant",
                        "operation": "+=",
                        "value": 1,
                    }
                ],
            },
        ),
        _node(
            "llm",
            {
                "type": "llm",
                "model": MODEL,
                "prompt_template": [{"role": "system", "text": "Be brief."}],
                "memory": {"window": {"enabled": True, "size": 10}, "query_prompt_template": "{{#sys.query#}}"},
                "context": {"enabled": False, "variable_selector": []},
                "vision": {"enabled": False},
            },
        ),
        _node("answer", {"type": "answer", "answer": "{{#llm.text#}} (turn {{#conversation.turns#}})"}),
    ],
    "edges": [_edge("start", "count"), _edge("count", "llm"), _edge("llm", "answer")],
}
TURNS = [{"id": "var-turns", "name": "turns", "value_type": "number", "value": 0, "description": ""}]


@pytest.fixture
def gate() -> Iterator[Gate]:
    server = Gate()
    yield server
    server.close()


@pytest.fixture
def bg_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"run_in_worker": True, "ssrf_allow_private_networks": "127.0.0.1/32"})


@pytest.fixture
def server(bg_settings: Settings) -> Iterator[tuple[str, ServerState]]:
    state = build_state(bg_settings)
    with live_server(create_app(bg_settings, state=state)) as url:
        yield url, state


def publish(
    http: httpx.Client, mode: str, graph: dict[str, Any], variables: list[dict[str, Any]] | None = None, fake: str = ""
) -> dict[str, str]:
    """Set up (once), sign in, publish an app of `mode` with `graph`; returns its key headers."""
    http.post("/console/api/setup", json={"email": "bg@example.com", "name": "Bg", "password": PASSWORD})
    login = http.post("/console/api/login", json={"email": "bg@example.com", "password": PASSWORD})
    console = {"Authorization": f"Bearer {login.json()['data']['access_token']}"}

    def post(path: str, body: dict[str, Any] | None = None) -> Any:
        response = http.post(f"/console/api{path}", headers=console, json=body)
        assert response.status_code in (200, 201), response.text
        return response.json()

    if fake:
        post(
            "/workspaces/current/model-providers/openai",
            {"credentials": {"openai_api_key": "sk-test", "openai_api_base": fake}},
        )
    app = post("/apps", {"name": mode, "mode": mode})
    draft = http.get(f"/console/api/apps/{app['id']}/workflows/draft", headers=console).json()
    post(
        f"/apps/{app['id']}/workflows/draft",
        {
            "graph": graph,
            "features": draft["features"],
            "hash": draft["hash"],
            "conversation_variables": variables or [],
        },
    )
    post(f"/apps/{app['id']}/workflows/publish", {})
    token = post(f"/apps/{app['id']}/api-keys")["token"]
    return {"Authorization": f"Bearer {token}"}


def read(response: httpx.Response | Iterator[str], until: Callable[[dict[str, Any]], bool] | None = None) -> Numbered:
    """The (id, event) pairs of an SSE response (or of its lines, to go on reading them later), up to
    and including the first event `until` accepts."""
    events: Numbered = []
    seq: int | None = None
    lines = response.iter_lines() if isinstance(response, httpx.Response) else response
    for line in lines:
        if line.startswith("id: "):
            seq = int(line[4:])
        elif line.startswith("data: "):
            event = json.loads(line[6:])
            events.append((seq, event))
            seq = None
            if until is not None and until(event):
                break
    return events


def at_gate(event: dict[str, Any]) -> bool:
    return event["event"] == "node_started" and event["data"]["node_id"] == "gate"


def _run_body(topic: str = "tides", user: str = "u1") -> dict[str, Any]:
    return {"inputs": {"topic": topic}, "user": user, "response_mode": "streaming"}


def _resume(http: httpx.Client, key: dict[str, str], task_id: str, after: int, user: str = "u1") -> Numbered:
    headers = {**key, "Last-Event-ID": str(after)}
    with http.stream("GET", f"/v1/workflows/tasks/{task_id}/events", headers=headers, params={"user": user}) as r:
        assert r.status_code == 200, r.read()
        return read(r)


def test_a_background_run_streams_numbered_events_and_resumes_after_any_id(
    server: tuple[str, ServerState], gate: Gate
) -> None:
    base, state = server
    gate.opened.set()
    with httpx.Client(base_url=base, timeout=30) as http:
        key = publish(http, "workflow", gate_graph(gate.url))
        with http.stream("POST", "/v1/workflows/run", headers=key, json=_run_body()) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            task_id = response.headers["X-Task-Id"]
            events = read(response)
        assert [seq for seq, _ in events] == list(range(1, len(events) + 1))
        kinds = [event["event"] for _, event in events]
        assert kinds[0] == "workflow_started"
        assert kinds[-1] == "workflow_finished"
        assert kinds.count("node_finished") == 4
        run_id = events[0][1]["workflow_run_id"]
        assert {(e["task_id"], e["workflow_run_id"]) for _, e in events} == {(task_id, run_id)}
        finished = events[-1][1]["data"]
        assert (finished["status"], finished["outputs"]) == ("succeeded", {"result": "tides:gate-ok"})

        # Resume after any id (header or query parameter), from any point: the same events again.
        for after in (0, 3, len(events) - 1):
            assert _resume(http, key, task_id, after) == events[after:]
        with http.stream(
            "GET", f"/v1/workflows/tasks/{task_id}/events", headers=key, params={"user": "u1", "last_event_id": "2"}
        ) as again:
            assert read(again) == events[2:]
        fetched = http.get(f"/v1/workflows/run/{run_id}", headers=key).json()
        assert (fetched["id"], fetched["status"]) == (run_id, "succeeded")
    assert gate.hits == 1
    with state.db.session() as session:
        assert session.scalar(select(func.count()).select_from(WorkflowRun)) == 1
        nodes = session.scalars(
            select(WorkflowNodeExecution.node_id).where(WorkflowNodeExecution.workflow_run_id == run_id)
        )
        assert sorted(nodes) == ["end", "gate", "join", "start"]


def test_bad_input_and_bad_reconnects_get_plain_errors(server: tuple[str, ServerState], gate: Gate) -> None:
    base, state = server
    gate.opened.set()
    with httpx.Client(base_url=base, timeout=30) as http:
        key = publish(http, "workflow", gate_graph(gate.url))
        missing = http.post("/v1/workflows/run", headers=key, json={**_run_body(), "inputs": {}})
        assert missing.status_code == 400
        assert missing.headers["content-type"].startswith("application/json")
        assert missing.json()["code"] == "invalid_param"
        no_user = http.post("/v1/workflows/run", headers=key, json={**_run_body(), "user": None})
        assert (no_user.status_code, no_user.json()["code"]) == (400, "invalid_param")
        with state.db.session() as session:
            assert session.scalar(select(func.count()).select_from(WorkflowRun)) == 0  # nothing ran

        with http.stream("POST", "/v1/workflows/run", headers=key, json=_run_body()) as response:
            task_id = response.headers["X-Task-Id"]
            assert read(response)[-1][1]["event"] == "workflow_finished"
        events = f"/v1/workflows/tasks/{task_id}/events"
        someone_else = http.get(events, headers=key, params={"user": "u2"})
        assert (someone_else.status_code, someone_else.json()["code"]) == (404, "not_found")
        unknown = http.get("/v1/workflows/tasks/no-such-task/events", headers=key, params={"user": "u1"})
        assert unknown.status_code == 404
        assert http.get(events, headers=key).status_code == 400  # no user
        bad_id = http.get(events, headers={**key, "Last-Event-ID": "seven"}, params={"user": "u1"})
        assert (bad_id.status_code, bad_id.json()["params"]) == (400, "last_event_id")


def test_a_client_that_drops_reconnects_and_gets_the_rest_of_the_run(
    server: tuple[str, ServerState], gate: Gate
) -> None:
    base, state = server
    with httpx.Client(base_url=base, timeout=30) as http:
        key = publish(http, "workflow", gate_graph(gate.url))
        with http.stream("POST", "/v1/workflows/run", headers=key, json=_run_body("waves")) as response:
            task_id = response.headers["X-Task-Id"]
            first = read(response, until=at_gate)
        # The connection is gone while the run waits on the gate; the run is not.
        assert gate.entered.wait(10)
        gate.opened.set()
        run_id = first[0][1]["workflow_run_id"]
        last = first[-1][0]
        assert last is not None
        rest = _resume(http, key, task_id, last)
    assert [seq for seq, _ in rest] == list(range(last + 1, last + 1 + len(rest)))
    assert rest[-1][1]["event"] == "workflow_finished"
    assert rest[-1][1]["data"]["outputs"] == {"result": "waves:gate-ok"}
    with state.db.session() as session:
        row = session.get(WorkflowRun, run_id)
        assert row is not None
        assert row.status == "succeeded"


def test_stop_reaches_a_background_run(server: tuple[str, ServerState], gate: Gate) -> None:
    base, _ = server
    with httpx.Client(base_url=base, timeout=30) as http:
        key = publish(http, "workflow", gate_graph(gate.url))
        stop_mid_run(http, key, gate)


def stop_mid_run(http: httpx.Client, key: dict[str, str], gate: Gate) -> None:
    with http.stream("POST", "/v1/workflows/run", headers=key, json=_run_body()) as response:
        task_id = response.headers["X-Task-Id"]
        lines = response.iter_lines()
        seen = read(lines, until=at_gate)
        assert gate.entered.wait(10)
        stopped = http.post(f"/v1/workflows/tasks/{task_id}/stop", headers=key, json={"user": "u1"})
        assert stopped.json() == {"result": "success"}
        seen += read(lines)
    assert seen[-1][1]["event"] == "workflow_finished"
    assert seen[-1][1]["data"]["status"] == "stopped"


@pytest.fixture
def fake() -> Iterator[OpenAIFake]:
    with openai_fake() as server:
        yield server


def test_a_chatflow_turn_runs_in_the_background_and_resumes(server: tuple[str, ServerState], fake: OpenAIFake) -> None:
    base, state = server
    body = {"query": "hello", "inputs": {}, "user": "u1", "response_mode": "streaming"}
    with httpx.Client(base_url=base, timeout=30) as http:
        key = publish(http, "advanced-chat", CHATFLOW, TURNS, fake=fake.base_url)
        with http.stream("POST", "/v1/chat-messages", headers=key, json=body) as response:
            assert response.status_code == 200
            task_id = response.headers["X-Task-Id"]
            events = read(response)
        assert [seq for seq, _ in events] == list(range(1, len(events) + 1))
        kinds = [event["event"] for _, event in events]
        assert kinds[0] == "workflow_started"
        assert kinds[-2:] == ["workflow_finished", "message_end"]
        answer = "".join(e["answer"] for _, e in events if e["event"] == "message")
        assert answer == "Echo: hello (turn 1)"
        end = events[-1][1]
        conversation_id, message_id = end["conversation_id"], end["message_id"]

        headers = {**key, "Last-Event-ID": "1"}
        with http.stream("GET", f"/v1/chat-messages/{task_id}/events", headers=headers, params={"user": "u1"}) as again:
            assert read(again) == events[1:]
        other = http.get(f"/v1/chat-messages/{task_id}/events", headers=key, params={"user": "u2"})
        assert other.status_code == 404

        # The next turn of the same conversation sees the first one (memory, conversation variable).
        follow_up = {**body, "query": "again", "conversation_id": conversation_id}
        with http.stream("POST", "/v1/chat-messages", headers=key, json=follow_up) as response:
            second = read(response)
        assert second[-1][1]["event"] == "message_end"
        assert "".join(e["answer"] for _, e in second if e["event"] == "message") == "Echo: again (turn 2)"
        listed = http.get("/v1/messages", headers=key, params={"user": "u1", "conversation_id": conversation_id})
        assert [m["answer"] for m in listed.json()["data"]] == ["Echo: hello (turn 1)", "Echo: again (turn 2)"]
        invalid = http.post("/v1/chat-messages", headers=key, json={**follow_up, "conversation_id": "not-a-uuid"})
        assert invalid.status_code == 400  # still checked before anything runs
    with state.db.session() as session:
        saved = session.get(Message, message_id)
        assert saved is not None
        assert (saved.conversation_id, saved.status) == (conversation_id, "normal")
        assert session.scalar(select(func.count()).select_from(Message)) == 2


# -- delivery: the job table, a runner that dies mid-run, another that retries ------------------------


@pytest.fixture
def quiet_state(bg_settings: Settings) -> Iterator[ServerState]:
    """A server state whose own job runner stays off: the test's two job queues are the workers."""
    settings = bg_settings.model_copy(update={"run_jobs_in_process": False})
    state = build_state(settings)
    yield state
    state.db.dispose()


def _queue(state: ServerState, name: str, bus: LocalEventBus) -> tuple[JobQueue, BackgroundWorkflows]:
    queue = JobQueue(state.db, concurrency=1, lease_seconds=0.6, sweep_seconds=0.2)
    queue.worker_id = name
    flows = BackgroundWorkflows(
        state.db,
        state.extras["workflows"],
        state.extras["chatflow"],
        bus,
        jobs=queue,
        idle_timeout=0.5,
        repair_seconds=1.0,
    )
    flows.register(queue)
    return queue, flows


def _setup_app(state: ServerState, gate: Gate) -> App:
    # No lifespan: the state's job runner, clients and pools stay as the scenario needs them.
    client = TestClient(create_app(state.settings, state=state))
    try:
        publish(client, "workflow", gate_graph(gate.url))
    finally:
        client.close()
    with state.db.session() as session:
        app = session.scalars(select(App)).one()
        session.expunge(app)
        return app


async def _collect(flows: BackgroundWorkflows, task_id: str, run_id: str, into: Numbered) -> None:
    async for item in flows.follow_run(task_id, run_id=run_id):
        into.append(item)


async def _until(check: Any, seconds: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


def test_a_run_whose_worker_dies_is_retried_by_another_without_duplicates(quiet_state: ServerState, gate: Gate) -> None:
    state = quiet_state
    app = _setup_app(state, gate)
    bus = LocalEventBus()

    async def scenario() -> tuple[Numbered, str, str, dict[str, Any]]:
        queue_a, flows_a = _queue(state, "worker-a", bus)
        queue_b, flows_b = _queue(state, "worker-b", bus)
        run = await state.extras["workflows"].prepare(RunRequest(app=app, inputs={"topic": "tides"}, user="u1"))
        await flows_a.submit_run(run)
        events: Numbered = []
        reader = asyncio.ensure_future(_collect(flows_b, run.task_id, run.run_id, events))
        await queue_a.start()
        await _until(gate.entered.is_set)
        await _until(lambda: _nodes(state, run.run_id) == ["start"])
        await queue_a.stop()  # the worker dies mid-run: its job stays claimed until the lease ends
        await asyncio.sleep(0.7)
        gate.opened.set()
        await queue_b.start()  # finds the expired lease, claims the job again
        await asyncio.wait_for(reader, 20)
        await _until(lambda: _job(state, run.task_id).status == "succeeded")
        payload = dict(_job(state, run.task_id).payload)
        await queue_b.stop()
        # A retry of a run that finished only publishes its result again.
        before = await bus.last_id(run.task_id)
        await flows_b.run_workflow_job(payload)
        again = [event async for event in bus.read(run.task_id, after=before)]
        assert [event["event"] for _, event in again] == ["workflow_finished"]
        assert again[0][1]["data"]["outputs"] == {"result": "tides:gate-ok"}
        await state.extras["http_client"].aclose()
        await state.extras["runtime"].aclose()
        return events, run.task_id, run.run_id, payload

    events, task_id, run_id, payload = asyncio.run(scenario())
    kinds = [event["event"] for _, event in events]
    # The first attempt got as far as the gate; the retry tells the reader and starts over.
    restart = kinds.index("text_replace")
    assert kinds[:restart] == ["workflow_started", "node_started", "node_finished", "node_started"]
    assert kinds[restart + 1] == "workflow_started"
    assert kinds[-1] == "workflow_finished"
    assert {event["workflow_run_id"] for _, event in events} == {run_id}
    assert [seq for seq, _ in events] == list(range(1, len(events) + 1))
    assert events[-1][1]["data"]["status"] == "succeeded"
    assert gate.hits == 2  # the node cut off ran again
    assert payload["run_id"] == run_id
    job = _job(state, task_id)
    assert (job.kind, job.attempts) == (WORKFLOW_JOB, 2)
    with state.db.session() as session:
        assert session.scalar(select(func.count()).select_from(WorkflowRun)) == 1
        row = session.get(WorkflowRun, run_id)
        assert row is not None
        assert (row.status, row.outputs) == ("succeeded", {"result": "tides:gate-ok"})
        assert session.scalar(select(func.count()).select_from(WorkflowAppLog)) == 1
    assert sorted(_nodes(state, run_id)) == ["end", "gate", "join", "start"]  # the dead attempt's are gone


def test_a_stop_before_any_worker_took_the_run_still_stops_it(quiet_state: ServerState, gate: Gate) -> None:
    state = quiet_state
    app = _setup_app(state, gate)
    bus = LocalEventBus()

    async def scenario() -> Numbered:
        queue, flows = _queue(state, "worker", bus)
        run = await state.extras["workflows"].prepare(RunRequest(app=app, inputs={"topic": "x"}, user="u1"))
        await flows.submit_run(run)
        await flows.stop(run.task_id, app_id=app.id, owner_key="someone-else")  # not theirs: ignored
        assert (await bus.get_meta(run.task_id) or {}).get("stop") is None
        await flows.stop(run.task_id, app_id=app.id, owner_key=run.created_by)
        events: Numbered = []
        reader = asyncio.ensure_future(_collect(flows, run.task_id, run.run_id, events))
        await queue.start()
        await asyncio.wait_for(reader, 20)
        await queue.stop()
        await state.extras["http_client"].aclose()
        return events

    events = asyncio.run(scenario())
    assert events[-1][1]["event"] == "workflow_finished"
    assert events[-1][1]["data"]["status"] == "stopped"


def test_a_reader_that_hears_nothing_falls_back_to_the_database(quiet_state: ServerState, gate: Gate) -> None:
    state = quiet_state
    app = _setup_app(state, gate)
    gate.opened.set()
    worker_bus = LocalEventBus()

    async def scenario() -> tuple[Numbered, Numbered]:
        queue, flows = _queue(state, "worker", worker_bus)
        # Readers on another bus hear nothing of the run: the events were lost (as to a Redis restart).
        _, deaf = _queue(state, "reader", LocalEventBus())
        run = await state.extras["workflows"].prepare(RunRequest(app=app, inputs={"topic": "late"}, user="u1"))
        await flows.submit_run(run)
        finished: Numbered = []
        reader = asyncio.ensure_future(_collect(deaf, run.task_id, run.run_id, finished))
        await asyncio.sleep(1.0)  # silence longer than the idle timeout, but the job is queued: it waits
        assert not reader.done()
        await queue.start()
        await asyncio.wait_for(reader, 20)
        await queue.stop()

        # A run whose job is gone for good while its row says running: the stream ends with an error.
        other = await state.extras["workflows"].prepare(RunRequest(app=app, inputs={"topic": "lost"}, user="u1"))
        await flows.submit_run(other)
        await asyncio.to_thread(_give_up, state, other.task_id, other.run_id, app)
        lost: Numbered = []
        await asyncio.wait_for(_collect(deaf, other.task_id, other.run_id, lost), 20)
        await state.extras["http_client"].aclose()
        return finished, lost

    finished, lost = asyncio.run(scenario())
    assert finished == [(None, finished[0][1])]  # rebuilt from the row, so without an id
    assert finished[0][1]["event"] == "workflow_finished"
    assert finished[0][1]["data"]["status"] == "succeeded"
    assert finished[0][1]["data"]["outputs"] == {"result": "late:gate-ok"}
    [(seq, error)] = lost
    assert seq is None
    assert (error["event"], error["status"], error["code"]) == ("error", 503, "stream_interrupted")


def _give_up(state: ServerState, task_id: str, run_id: str, app: App) -> None:
    """The job ran out of attempts after recording the run as started."""
    with state.db.session() as session:
        session.execute(update(Job).where(Job.dedupe_key == task_id).values(status="failed", error="gone"))
        session.add(
            WorkflowRun(
                id=run_id,
                tenant_id=app.tenant_id,
                app_id=app.id,
                workflow_id=app.workflow_id or "",
                type="workflow",
                triggered_from="app-run",
                version="v",
                status="running",
                created_by_role="end_user",
                created_by="someone",
            )
        )


def _nodes(state: ServerState, run_id: str) -> list[str]:
    with state.db.session() as session:
        return list(
            session.scalars(
                select(WorkflowNodeExecution.node_id)
                .where(WorkflowNodeExecution.workflow_run_id == run_id)
                .order_by(WorkflowNodeExecution.index)
            )
        )


def _job(state: ServerState, task_id: str) -> Job:
    with state.db.session() as session:
        job = session.scalars(select(Job).where(Job.dedupe_key == task_id)).one()
        session.expunge(job)
        return job


def test_streamed_runs_go_to_the_workflow_queue() -> None:
    from loomworks.tasks.celery_app import queue_for

    assert {queue_for(kind) for kind in (WORKFLOW_JOB, CHATFLOW_JOB, "chat_turn")} == {"workflow"}
    assert queue_for("index_document") == "indexing"
