"""A workflow run cut off by a crash goes on when `loomworks serve` starts again.

The real server process runs a workflow whose second HTTP node hangs on a slow local endpoint; the
test kills the process with SIGKILL while that node is in flight, starts the server again on the
same database, and checks that the run finishes and that the node that had already finished
before the crash was not executed a second time (the local server counts its hits).
"""

from __future__ import annotations

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
    """Counts hits per path; the first `/slow` hit hangs until released (the crash happens meanwhile)."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.release = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                owner.hits[path] += 1
                if path == "/slow" and owner.hits[path] == 1:
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
    deadline = time.monotonic() + 30
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
            http.post("/console/api/setup", json={"email": "me@example.com", "name": "Me", "password": "Passw0rd!"})
            login = http.post("/console/api/login", json={"email": "me@example.com", "password": "Passw0rd!"})
            console = {"Authorization": f"Bearer {login.json()['data']['access_token']}"}
            app = http.post("/console/api/apps", headers=console, json={"name": "Slow", "mode": "workflow"}).json()
            apps = f"/console/api/apps/{app['id']}"
            draft = http.get(f"{apps}/workflows/draft", headers=console).json()
            synced = http.post(
                f"{apps}/workflows/draft",
                headers=console,
                json={"graph": _graph(slow.url), "features": {}, "hash": draft["hash"]},
            )
            assert synced.status_code == 200, synced.text
            assert http.post(f"{apps}/workflows/publish", headers=console, json={}).status_code == 200
            key = {"Authorization": f"Bearer {http.post(f'{apps}/api-keys', headers=console).json()['token']}"}

            def run() -> None:
                try:
                    with httpx.Client(base_url=base, timeout=60) as runner:
                        runner.post("/v1/workflows/run", headers=key, json={"inputs": {}, "user": "u"})
                except httpx.TransportError:
                    pass  # the server is killed under this request

            caller = threading.Thread(target=run, daemon=True)
            caller.start()
            runs = _until(lambda: http.get(f"{apps}/workflow-runs", headers=console).json()["data"], "the run")
            run_id = runs[0]["id"]

            def recorded() -> list[str]:
                nodes = http.get(f"{apps}/workflow-runs/{run_id}/node-executions", headers=console).json()["data"]
                return [n["node_id"] for n in nodes]

            _until(lambda: slow.hits["/slow"] == 1 and "fast" in recorded(), "the slow node in flight")
            assert recorded() == ["start", "fast"]
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            _stop(first)
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
            nodes = http.get(f"{apps}/workflow-runs/{run_id}/node-executions", headers=console).json()["data"]
            # Listed in execution order: the resumed run numbers its executions after the recorded ones.
            assert [n["node_id"] for n in nodes] == ["start", "fast", "slow", "join", "end"]
        finally:
            output = _stop(second)
        # The finished node was replayed from its record; only the one cut off ran again.
        assert slow.hits == Counter({"/fast": 1, "/slow": 2}), output[-3000:]
