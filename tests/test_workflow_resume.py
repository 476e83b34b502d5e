"""A run cut off by a crash goes on when `loomworks serve` starts again.

The real server process runs a graph whose HTTP node hangs on a slow local endpoint; the test kills
the process with SIGKILL while that node is in flight, starts the server again on the same
database, and checks that the run finishes with the outputs an uncrashed run has, that no node that
had finished before the crash was executed a second time (the local server counts its hits), and
that the run's history holds each node execution once. Covered: a plain chain; a loop whose rounds
each run an iteration (the crash lands inside a round of the inner iteration, with loop variables
written by an assigner); and a chatflow turn answering inside an iteration, whose message gets its
whole answer exactly once.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests._live_server import free_port
from tests.conftest import PG_ADMIN_DSN, _pg_url

pytestmark = pytest.mark.integration


class SlowServer:
    """Counts hits per path; the first hit of `hang` hangs until released (the crash happens meanwhile)."""

    def __init__(self, hang: str = "/slow") -> None:
        self.hits: Counter[str] = Counter()
        self.release = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                owner.hits[path] += 1
                if path == hang and owner.hits[path] == 1:
                    owner.release.wait(30)
                body = f"{path.strip('/')}-ok".encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client died with the killed server

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> SlowServer:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def _http(node_id: str, url: str) -> dict[str, Any]:
    return {
        "id": node_id,
        "data": {
            "type": "http-request",
            "title": node_id,
            "method": "get",
            "url": url,
            "authorization": {"type": "no-auth"},
            "headers": "",
            "params": "",
            "body": {"type": "none", "data": []},
            "timeout": {"connect": 5, "read": 60, "write": 5},
        },
    }


def _graph(base: str) -> dict[str, Any]:
    def edge(source: str, target: str) -> dict[str, Any]:
        return {"id": f"{source}-{target}", "source": source, "target": target, "sourceHandle": "source"}

    return {
        "nodes": [
            {"id": "start", "data": {"type": "start", "title": "Start", "variables": []}},
            _http("fast", f"{base}/fast"),
            _http("slow", f"{base}/slow"),
            {
                "id": "join",
                "data": {
                    "type": "template-transform",
                    "title": "Join",
                    "template": "{{ a }}+{{ b }}",
                    "variables": [
                        {"variable": "a", "value_selector": ["fast", "body"]},
                        {"variable": "b", "value_selector": ["slow", "body"]},
                    ],
                },
            },
            {
                "id": "end",
                "data": {
                    "type": "end",
                    "title": "End",
                    "outputs": [{"variable": "result", "value_selector": ["join", "output"]}],
                },
            },
        ],
        "edges": [edge("start", "fast"), edge("fast", "slow"), edge("slow", "join"), edge("join", "end")],
    }


@pytest.fixture(params=["sqlite", "postgresql"])
def server_env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOMWORKS_")}
    env["LOOMWORKS_SSRF_ALLOW_PRIVATE_NETWORKS"] = "127.0.0.1/32"
    env["LOOMWORKS_LOG_JSON"] = "false"
    if request.param == "sqlite":
        yield env
        return
    name = f"loomworks_resume_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield {**env, "LOOMWORKS_DATABASE_URL": _pg_url(name)}
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _serve(env: dict[str, str], data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "loomworks.cli", "serve", "--port", str(port), "--data-dir", str(data_dir)]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _wait_healthy(http: httpx.Client, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90  # start-up takes ~2 s, but the test machine may be loaded
    while True:
        try:
            if http.get("/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
        assert time.monotonic() < deadline, "server did not become healthy"
        time.sleep(0.05)


def _until(check: Any, what: str, seconds: float = 20) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _stop(process: subprocess.Popen[bytes]) -> str:
    if process.poll() is None:
        process.terminate()
    return process.communicate(timeout=15)[0].decode(errors="replace")


def _sign_in(http: httpx.Client) -> dict[str, str]:
    http.post("/console/api/setup", json={"email": "me@example.com", "name": "Me", "password": "Passw0rd!"})
    login = http.post("/console/api/login", json={"email": "me@example.com", "password": "Passw0rd!"})
    return {"Authorization": f"Bearer {login.json()['data']['access_token']}"}


def _publish(
    http: httpx.Client, console: dict[str, str], mode: str, graph: dict[str, Any], **draft: Any
) -> tuple[str, dict[str, str]]:
    """An app of `mode` with `graph` published; returns its console path and Service API headers."""
    app = http.post("/console/api/apps", headers=console, json={"name": "Crash", "mode": mode}).json()
    apps = f"/console/api/apps/{app['id']}"
    current = http.get(f"{apps}/workflows/draft", headers=console).json()
    synced = http.post(
        f"{apps}/workflows/draft",
        headers=console,
        json={"graph": graph, "features": {}, "hash": current["hash"], **draft},
    )
    assert synced.status_code == 200, synced.text
    assert http.post(f"{apps}/workflows/publish", headers=console, json={}).status_code == 200
    key = {"Authorization": f"Bearer {http.post(f'{apps}/api-keys', headers=console).json()['token']}"}
    return apps, key


def _executions(http: httpx.Client, console: dict[str, str], apps: str, run_id: str) -> list[dict[str, Any]]:
    return http.get(f"{apps}/workflow-runs/{run_id}/node-executions", headers=console).json()["data"]


def _level(execution: dict[str, Any]) -> tuple[Any, ...]:
    """Where an execution ran: the top level, or a round (its whole path when nested)."""
    metadata = execution.get("execution_metadata") or {}
    if metadata.get("round_path"):
        return tuple(tuple(p) for p in metadata["round_path"])
    for kind in ("iteration", "loop"):
        if metadata.get(f"{kind}_id"):
            return ((metadata[f"{kind}_id"], metadata[f"{kind}_index"]),)
    return ()


def _in_background(post: Any) -> threading.Thread:
    def call() -> None:
        with contextlib.suppress(httpx.TransportError):  # the server is killed under this request
            post()

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    return thread


def _kill(process: subprocess.Popen[bytes]) -> None:
    try:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        _stop(process)


def test_a_run_killed_mid_flight_resumes_after_restart_without_redoing_finished_nodes(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with SlowServer() as slow, httpx.Client(base_url=base, timeout=10) as http:
        first = _serve(server_env, data_dir, port)
        try:
            _wait_healthy(http, first)
            console = _sign_in(http)
            apps, key = _publish(http, console, "workflow", _graph(slow.url))

            def run() -> None:
                with httpx.Client(base_url=base, timeout=60) as runner:
                    runner.post("/v1/workflows/run", headers=key, json={"inputs": {}, "user": "u"})

            _in_background(run)
            runs = _until(lambda: http.get(f"{apps}/workflow-runs", headers=console).json()["data"], "the run")
            run_id = runs[0]["id"]

            def recorded() -> list[str]:
                return [n["node_id"] for n in _executions(http, console, apps, run_id)]

            _until(lambda: slow.hits["/slow"] == 1 and "fast" in recorded(), "the slow node in flight")
            assert recorded() == ["start", "fast"]
        finally:
            _kill(first)
        assert slow.hits == Counter({"/fast": 1, "/slow": 1})

        second = _serve(server_env, data_dir, port)
        try:
            _wait_healthy(http, second)

            def finished() -> dict[str, Any] | None:
                body = http.get(f"/v1/workflows/run/{run_id}", headers=key).json()
                return body if body["status"] != "running" else None

            result = _until(finished, "the resumed run to finish")
            assert result["status"] == "succeeded", result
            assert result["outputs"] == {"result": "fast-ok+slow-ok"}
            nodes = _executions(http, console, apps, run_id)
            # Listed in execution order: the resumed run numbers its executions after the recorded ones.
            assert [n["node_id"] for n in nodes] == ["start", "fast", "slow", "join", "end"]
        finally:
            output = _stop(second)
        # The finished node was replayed from its record; only the one cut off ran again.
        assert slow.hits == Counter({"/fast": 1, "/slow": 2}), output[-3000:]


def _child(node_id: str, parent: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": node_id, "parentId": parent, "data": {"title": node_id, **data}}


def _edge(source: str, target: str, handle: str = "source") -> dict[str, Any]:
    return {"id": f"{source}-{target}", "source": source, "target": target, "sourceHandle": handle}


def _get(node_id: str, url: str, parent: str) -> dict[str, Any]:
    node = _http(node_id, url)
    node["parentId"] = parent
    return node


def _containers_graph(base: str) -> dict[str, Any]:
    """A loop of 3 rounds; each round iterates over two letters, fetching `/r<round>-<letter>`, then
    appends `[bodies]` to the loop variable `acc` and counts `n` up (an assigner)."""
    loop = {
        "type": "loop",
        "title": "Rounds",
        "start_node_id": "ls",
        "loop_count": 3,
        "break_conditions": [],
        "logical_operator": "and",
        "loop_variables": [
            {"label": "n", "var_type": "number", "value_type": "constant", "value": "0"},
            {"label": "acc", "var_type": "string", "value_type": "constant", "value": ""},
            {"label": "letters", "var_type": "array[string]", "value_type": "constant", "value": ["x", "y"]},
        ],
    }
    iteration = {
        "type": "iteration",
        "iterator_selector": ["lp", "letters"],
        "output_selector": ["fetch", "body"],
        "start_node_id": "its",
        "is_parallel": False,
    }
    join = {
        "type": "template-transform",
        "template": "{{ acc }}[{{ parts | join(',') }}]",
        "variables": [
            {"variable": "acc", "value_selector": ["lp", "acc"]},
            {"variable": "parts", "value_selector": ["it", "output"]},
        ],
    }
    assign = {
        "type": "assigner",
        "version": "2",
        "items": [
            {"variable_selector": ["lp", "n"], "input_type": "constant", "operation": "+=", "value": 1},
            {
                "variable_selector": ["lp", "acc"],
                "input_type": "variable",
                "operation": "over-write",
                "value": ["join", "output"],
            },
        ],
    }
    end = {"type": "end", "outputs": [{"variable": "acc", "value_selector": ["lp", "acc"]}]}
    return {
        "nodes": [
            {"id": "start", "data": {"type": "start", "title": "Start", "variables": []}},
            {"id": "lp", "data": loop},
            _child("ls", "lp", {"type": "loop-start"}),
            _child("it", "lp", iteration),
            _child("its", "it", {"type": "iteration-start"}),
            _get("fetch", base + "/r{{#lp.n#}}-{{#it.item#}}", "it"),
            _child("join", "lp", join),
            _child("set", "lp", assign),
            {"id": "end", "data": {"title": "End", **end}},
        ],
        "edges": [
            _edge("start", "lp"),
            _edge("lp", "end"),
            _edge("ls", "it"),
            _edge("it", "join"),
            _edge("join", "set"),
            _edge("its", "fetch"),
        ],
    }


def test_a_run_killed_inside_an_iteration_inside_a_loop_resumes_from_that_round(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    expected = "[r0-x-ok,r0-y-ok][r1-x-ok,r1-y-ok][r2-x-ok,r2-y-ok]"
    with SlowServer(hang="/r1-y") as slow, httpx.Client(base_url=base, timeout=10) as http:
        first = _serve(server_env, data_dir, port)
        try:
            _wait_healthy(http, first)
            console = _sign_in(http)
            apps, key = _publish(http, console, "workflow", _containers_graph(slow.url))

            def run() -> None:
                with httpx.Client(base_url=base, timeout=60) as runner:
                    runner.post("/v1/workflows/run", headers=key, json={"inputs": {}, "user": "u"})

            _in_background(run)
            runs = _until(lambda: http.get(f"{apps}/workflow-runs", headers=console).json()["data"], "the run")
            run_id = runs[0]["id"]

            def cut_off() -> bool:
                # Round 1's first fetch is recorded while its second hangs.
                fetched = [_level(n) for n in _executions(http, console, apps, run_id) if n["node_id"] == "fetch"]
                return slow.hits["/r1-y"] == 1 and (("lp", 1), ("it", 0)) in fetched

            _until(cut_off, "round 1 of the loop in flight")
        finally:
            _kill(first)
        assert slow.hits == Counter({"/r0-x": 1, "/r0-y": 1, "/r1-x": 1, "/r1-y": 1})

        second = _serve(server_env, data_dir, port)
        try:
            _wait_healthy(http, second)

            def finished() -> dict[str, Any] | None:
                body = http.get(f"/v1/workflows/run/{run_id}", headers=key).json()
                return body if body["status"] != "running" else None

            result = _until(finished, "the resumed run to finish", seconds=60)
            assert result["status"] == "succeeded", result
            assert result["outputs"] == {"acc": expected}
            executions = _executions(http, console, apps, run_id)
        finally:
            output = _stop(second)
        # Only the fetch cut off ran twice (once in flight when the process died); no round started over.
        assert slow.hits == Counter({"/r0-x": 1, "/r0-y": 1, "/r1-x": 1, "/r1-y": 2, "/r2-x": 1, "/r2-y": 1}), output[
            -3000:
        ]
        assert all(n["status"] == "succeeded" for n in executions)
        counted = Counter((n["node_id"], _level(n)) for n in executions)
        assert set(counted.values()) == {1}, counted  # each execution once in the history
        fetches = sorted(_level(n) for n in executions if n["node_id"] == "fetch")
        assert fetches == [(("lp", r), ("it", i)) for r in range(3) for i in range(2)]
        assert [n["node_id"] for n in executions if not _level(n)] == ["start", "lp", "end"]
        assert len(executions) == 3 + 3 * (
            1 + 1 + 2 * 2 + 2
        )  # start/loop/end + per round: ls, it, (its, fetch)×2, join, set


def _chatflow_graph(base: str) -> dict[str, Any]:
    """An iteration over the conversation's `letters` answers `<body>` per item; then an assigner
    keeps the bodies in `seen` and the last answer shows them."""
    iteration = {
        "type": "iteration",
        "iterator_selector": ["conversation", "letters"],
        "output_selector": ["fetch", "body"],
        "start_node_id": "its",
    }
    keep = {
        "type": "assigner",
        "version": "2",
        "items": [
            {
                "variable_selector": ["conversation", "seen"],
                "input_type": "variable",
                "operation": "over-write",
                "value": ["it", "output"],
            }
        ],
    }
    shown = {
        "type": "template-transform",
        "template": "{{ seen | join(',') }} for {{ q }}",
        "variables": [
            {"variable": "seen", "value_selector": ["conversation", "seen"]},
            {"variable": "q", "value_selector": ["sys", "query"]},
        ],
    }
    return {
        "nodes": [
            {"id": "start", "data": {"type": "start", "title": "Start", "variables": []}},
            {"id": "it", "data": {"title": "Letters", **iteration}},
            _child("its", "it", {"type": "iteration-start"}),
            _get("fetch", base + "/c-{{#it.item#}}", "it"),
            _child("say", "it", {"type": "answer", "answer": "<{{#fetch.body#}}>"}),
            {"id": "keep", "data": {"title": "Keep", **keep}},
            {"id": "shown", "data": {"title": "Shown", **shown}},
            {"id": "done", "data": {"type": "answer", "title": "Done", "answer": "| {{#shown.output#}}"}},
        ],
        "edges": [
            _edge("start", "it"),
            _edge("it", "keep"),
            _edge("keep", "shown"),
            _edge("shown", "done"),
            _edge("its", "fetch"),
            _edge("fetch", "say"),
        ],
    }


CONVERSATION_VARIABLES = [
    {"id": "v-letters", "name": "letters", "value_type": "array[string]", "value": ["x", "y", "z"], "description": ""},
    {"id": "v-seen", "name": "seen", "value_type": "array[string]", "value": [], "description": ""},
]


def test_a_chatflow_turn_killed_mid_run_is_answered_once_after_restart(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    answer = "<c-x-ok><c-y-ok><c-z-ok>| c-x-ok,c-y-ok,c-z-ok for hello"
    with SlowServer(hang="/c-y") as slow, httpx.Client(base_url=base, timeout=10) as http:
        first = _serve(server_env, data_dir, port)
        seen: dict[str, Any] = {}
        try:
            _wait_healthy(http, first)
            console = _sign_in(http)
            apps, key = _publish(
                http, console, "advanced-chat", _chatflow_graph(slow.url), conversation_variables=CONVERSATION_VARIABLES
            )

            def turn() -> None:
                body = {"query": "hello", "inputs": {}, "user": "u", "response_mode": "streaming"}
                with (
                    httpx.Client(base_url=base, timeout=60) as client,
                    client.stream("POST", "/v1/chat-messages", headers=key, json=body) as response,
                ):
                    for line in response.iter_lines():
                        if line.startswith("data: "):
                            event = json.loads(line[6:])
                            seen.setdefault("conversation_id", event.get("conversation_id"))
                            seen.setdefault("message_id", event.get("message_id"))
                            if event.get("event") == "message":
                                seen.setdefault("answer", []).append(event["answer"])

            _in_background(turn)
            runs = _until(lambda: http.get(f"{apps}/workflow-runs", headers=console).json()["data"], "the run")
            run_id = runs[0]["id"]

            def cut_off() -> bool:
                # Round 0 has answered and is recorded; round 1's fetch hangs.
                recorded = [n["node_id"] for n in _executions(http, console, apps, run_id)]
                return slow.hits["/c-y"] == 1 and "say" in recorded

            _until(cut_off, "the second fetch in flight")
        finally:
            _kill(first)
        assert "".join(seen["answer"]).startswith("<c-x-ok>")
        conversation_id = seen["conversation_id"]
        # Nothing of the turn was saved: the conversation does not exist yet.
        second = _serve(server_env, data_dir, port)
        try:
            _wait_healthy(http, second)
            params = {"user": "u", "conversation_id": conversation_id}

            def answered() -> list[dict[str, Any]] | None:
                found = http.get("/v1/messages", headers=key, params=params)
                return found.json()["data"] if found.status_code == 200 and found.json()["data"] else None

            messages = _until(answered, "the resumed turn's message", seconds=60)
            assert [(m["id"], m["query"], m["answer"]) for m in messages] == [(seen["message_id"], "hello", answer)]
            run = http.get(f"{apps}/workflow-runs/{run_id}", headers=console).json()
            assert run["status"] == "succeeded", run
            assert run["outputs"]["answer"] == "| c-x-ok,c-y-ok,c-z-ok for hello"
            variables = http.get(f"/v1/conversations/{conversation_id}/variables", headers=key, params={"user": "u"})
            values = {v["name"]: v["value"] for v in variables.json()["data"]}
            assert values["seen"] == ["c-x-ok", "c-y-ok", "c-z-ok"]
            executions = _executions(http, console, apps, run_id)
            counted = Counter((n["node_id"], _level(n)) for n in executions)
            assert set(counted.values()) == {1}, counted
            assert len(executions) == 1 + 3 * 3 + 1 + 3  # start, (its, fetch, say)×3, it, keep, shown, done

            # The next turn of the conversation sees the first turn and its variables.
            body = {"query": "again", "inputs": {}, "user": "u", "conversation_id": conversation_id}
            again = http.post("/v1/chat-messages", headers=key, json={**body, "response_mode": "blocking"}, timeout=30)
            assert again.status_code == 200, again.text
            assert again.json()["answer"].endswith("| c-x-ok,c-y-ok,c-z-ok for again")
            later = http.get("/v1/messages", headers=key, params=params).json()["data"]
            assert [m["query"] for m in later] == ["hello", "again"]
        finally:
            output = _stop(second)
        # Once per turn, and the fetch in flight at the crash once more.
        assert slow.hits == Counter({"/c-x": 2, "/c-y": 3, "/c-z": 2}), output[-3000:]
