"""A scaled Loomworks on loopback: N `serve` and M `worker` processes on PostgreSQL + a private Redis.

Used by `test_scaled_setup.py` and `bench/scale.py`. Every process is a real child process started
with the scaled settings; logs go to files under `log_dir`. `stream_turn` (a chat turn) and
`stream_workflow` (a workflow run) drive one streamed request each the way a careful client does:
a POST refused outright goes to the next API process, a stream cut off resumes with `Last-Event-ID`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from tests._live_server import free_port
from tests.scale._services import ROOT, clean_env

PASSWORD = "Passw0rd!"


def scaled_env(*, database_url: str, redis_url: str, data_dir: Path, lease: float = 3.0) -> dict[str, str]:
    return {
        **clean_env(),
        "LOOMWORKS_DATABASE_URL": database_url,
        "LOOMWORKS_REDIS_URL": redis_url,
        "LOOMWORKS_JOB_BACKEND": "celery",
        "LOOMWORKS_RUN_IN_WORKER": "true",
        "LOOMWORKS_JOB_LEASE_SECONDS": str(lease),
        "LOOMWORKS_EVENT_BUS_RECONNECT_SECONDS": "10",
        "LOOMWORKS_DATA_DIR": str(data_dir),
        "LOOMWORKS_SECRET_KEY": "scale-test-secret-key-0123456789-0123456789",
        "LOOMWORKS_ENCRYPTION_KEYS": "k1:" + base64.b64encode(b"s" * 32).decode(),
        "LOOMWORKS_MIGRATE_ON_START": "false",
        "LOOMWORKS_SANDBOX_CHECK_ON_START": "false",
        "LOOMWORKS_LOG_LEVEL": "INFO",
        "LOOMWORKS_DB_POOL_SIZE": "20",
    }


@dataclass
class Proc:
    name: str
    process: subprocess.Popen[bytes]
    url: str = ""

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def rss_mb(self) -> float:
        """Resident memory of the process and its children (Celery's pool lives in the same process)."""
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except FileNotFoundError:
            pass
        return 0.0


@dataclass
class Cluster:
    env: dict[str, str]
    log_dir: Path
    procs: list[Proc] = field(default_factory=list)
    logs: list[BinaryIO] = field(default_factory=list)

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed by stop()
        self.logs.append(log)
        return subprocess.Popen(
            [sys.executable, "-m", "loomworks.cli", *args], env=self.env, cwd=ROOT, stdout=log, stderr=log
        )

    def migrate(self) -> None:
        subprocess.run(
            [sys.executable, "-m", "loomworks.cli", "migrate"], env=self.env, cwd=ROOT, check=True, capture_output=True
        )

    def api(self, name: str) -> Proc:
        port = free_port()
        proc = Proc(name, self._spawn(name, ["serve", "--port", str(port)]), f"http://127.0.0.1:{port}")
        self.procs.append(proc)
        return proc

    def worker(self, name: str, concurrency: int = 32) -> Proc:
        proc = Proc(name, self._spawn(name, ["worker", "--concurrency", str(concurrency)]))
        self.procs.append(proc)
        return proc

    def wait_healthy(self, proc: Proc, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        while True:
            try:
                if httpx.get(proc.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if proc.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{proc.name} did not start: {(self.log_dir / f'{proc.name}.log').read_text()}")
            time.sleep(0.05)

    def wait_worker_ready(self, proc: Proc, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        log = self.log_dir / f"{proc.name}.log"
        while "ready." not in log.read_text(errors="replace"):
            if proc.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{proc.name} did not start: {log.read_text()}")
            time.sleep(0.05)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.process.poll() is None:
                proc.process.terminate()
        for proc in self.procs:
            try:
                proc.process.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in self.logs:
            log.close()


def start_fake_openai(log_dir: Path, chunk_delay: float = 0.01) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.openai", "--port", str(port), "--chunk-delay", str(chunk_delay)],
        cwd=ROOT,
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(url + "/models", headers={"Authorization": "Bearer sk-test"}, timeout=1)
            return process, url
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the fake OpenAI server did not start") from None
            time.sleep(0.05)


def configure_chat_app(base: str, fake: str) -> str:
    """Set up, sign in, point the OpenAI provider at the fake, create a chat app; returns its API key."""
    with httpx.Client(base_url=base, timeout=30) as http:
        http.post("/console/api/setup", json={"email": "s@example.com", "name": "Scale", "password": PASSWORD})
        login = http.post("/console/api/login", json={"email": "s@example.com", "password": PASSWORD})
        console = {"Authorization": f"Bearer {login.json()['data']['access_token']}"}
        http.post(
            "/console/api/workspaces/current/model-providers/openai",
            headers=console,
            json={"credentials": {"openai_api_key": "sk-test", "openai_api_base": fake}},
        ).raise_for_status()
        app = http.post("/console/api/apps", headers=console, json={"name": "scale", "mode": "chat"}).json()
        config = dict(app["model_config"])
        config["model"] = {"provider": "openai", "name": "gpt-4o-mini", "mode": "chat", "completion_params": {}}
        http.post(f"/console/api/apps/{app['id']}/model-config", headers=console, json=config).raise_for_status()
        return str(http.post(f"/console/api/apps/{app['id']}/api-keys", headers=console).json()["token"])


def _console_login(http: httpx.Client) -> dict[str, str]:
    login = http.post("/console/api/login", json={"email": "s@example.com", "password": PASSWORD})
    return {"Authorization": f"Bearer {login.json()['data']['access_token']}"}


# start(q) -> llm (echoes q through the fake) -> end(result): the answer streams as `text_chunk` events.
WORKFLOW_GRAPH = {
    "nodes": [
        {
            "id": "start",
            "data": {"type": "start", "title": "Start", "variables": [{"variable": "q", "type": "paragraph"}]},
        },
        {
            "id": "llm",
            "data": {
                "type": "llm",
                "title": "LLM",
                "model": {"provider": "openai", "name": "gpt-4o-mini", "mode": "chat", "completion_params": {}},
                "prompt_template": [{"role": "user", "text": "{{#start.q#}}"}],
                "context": {"enabled": False, "variable_selector": []},
                "vision": {"enabled": False},
            },
        },
        {
            "id": "end",
            "data": {
                "type": "end",
                "title": "End",
                "outputs": [{"variable": "result", "value_selector": ["llm", "text"]}],
            },
        },
    ],
    "edges": [
        {"id": "start-llm", "source": "start", "target": "llm", "sourceHandle": "source"},
        {"id": "llm-end", "source": "llm", "target": "end", "sourceHandle": "source"},
    ],
}


def configure_workflow_app(base: str) -> str:
    """A published workflow app answering through the model `configure_chat_app` set up; returns its key."""
    with httpx.Client(base_url=base, timeout=30) as http:
        console = _console_login(http)
        app = http.post("/console/api/apps", headers=console, json={"name": "scale-flow", "mode": "workflow"}).json()
        apps = f"/console/api/apps/{app['id']}"
        draft = http.get(f"{apps}/workflows/draft", headers=console).json()
        http.post(
            f"{apps}/workflows/draft",
            headers=console,
            json={"graph": WORKFLOW_GRAPH, "features": {}, "hash": draft["hash"]},
        ).raise_for_status()
        http.post(f"{apps}/workflows/publish", headers=console, json={}).raise_for_status()
        return str(http.post(f"{apps}/api-keys", headers=console).json()["token"])


@dataclass
class StreamResult:
    index: int
    query: str
    outcome: str = "pending"  # completed | error_event | transport_error
    answer: str = ""
    task_id: str | None = None
    message_id: str | None = None
    run_id: str | None = None  # workflow runs: the `workflow_run_id` of the stream
    status: str = ""  # workflow runs: the status in `workflow_finished`
    last_id: str | None = None
    events: list[str] = field(default_factory=list)
    resumed: int = 0
    failovers: int = 0  # POSTs refused by a dead API process and sent to another one
    detail: str = ""


def _take(result: StreamResult, event: dict[str, Any]) -> bool:
    """Fold one event into `result`; True when it is the stream's final event."""
    kind = event.get("event", "")
    result.events.append(kind)
    result.task_id = event.get("task_id", result.task_id)
    result.message_id = event.get("message_id", result.message_id)
    result.run_id = event.get("workflow_run_id", result.run_id)
    if kind in ("message", "text_chunk"):
        result.answer += event.get("answer", "") or (event.get("data") or {}).get("text", "")
    elif kind == "message_replace":
        result.answer = event.get("answer", "")
    elif kind == "text_replace":
        result.answer = (event.get("data") or {}).get("text", "")
    elif kind in ("message_end", "workflow_finished"):
        if kind == "workflow_finished":
            data = event.get("data") or {}
            result.status = str(data.get("status"))
            result.answer = str((data.get("outputs") or {}).get("result", ""))
        result.outcome = "completed"
        return True
    elif kind == "error":
        result.outcome, result.detail = "error_event", f"{event.get('code')}: {event.get('message')}"
        return True
    return False


async def _read_sse(response: httpx.Response, result: StreamResult) -> bool:
    """Consume one SSE response into `result`; True when a final event was read."""
    event_id: str | None = None
    async for line in response.aiter_lines():
        if line.startswith("id: "):
            event_id = line[4:]
            continue
        if not line.startswith("data: "):
            continue
        if event_id is not None:
            result.last_id = event_id
            event_id = None
        if _take(result, json.loads(line[6:])):
            return True
    return False


async def _stream(
    client: httpx.AsyncClient,
    bases: list[str],
    key: str,
    result: StreamResult,
    *,
    post: str,
    body: dict[str, Any],
    events: str,
    resume_tries: int,
) -> StreamResult:
    """POST `body` to `post` and read the stream; when it drops, resume at `events` (with `{task_id}`)."""
    index = result.index
    headers = {"Authorization": f"Bearer {key}"}
    for attempt in range(len(bases)):
        base = bases[(index + attempt) % len(bases)]
        try:
            async with client.stream("POST", f"{base}{post}", json=body, headers=headers) as response:
                if response.status_code != 200:
                    result.outcome, result.detail = "error_event", f"HTTP {response.status_code}"
                    return result
                result.task_id = response.headers.get("X-Task-Id")
                if await _read_sse(response, result):
                    return result
            break
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            # Nothing was sent: like a load balancer, try the next API process (no duplicate run possible).
            result.detail = f"{type(exc).__name__}"
            result.failovers += 1
        except httpx.TransportError as exc:
            result.detail = f"{type(exc).__name__}"
            break
    for attempt in range(resume_tries):
        if result.task_id is None:
            break  # nothing to resume: the request itself failed
        other = bases[(index + 1 + attempt) % len(bases)]
        resume = dict(headers)
        if result.last_id is not None:
            resume["Last-Event-ID"] = result.last_id
        result.resumed += 1
        try:
            async with client.stream(
                "GET", f"{other}{events.format(task_id=result.task_id)}", params={"user": body["user"]}, headers=resume
            ) as response:
                if response.status_code == 200 and await _read_sse(response, result):
                    return result
        except httpx.TransportError as exc:
            result.detail = f"{type(exc).__name__} on resume"
        await asyncio.sleep(0.3)
    result.outcome = "transport_error"
    return result


async def stream_turn(
    client: httpx.AsyncClient, bases: list[str], key: str, index: int, query: str, resume_tries: int = 6
) -> StreamResult:
    """One streamed chat turn; when its connection drops, resume from `Last-Event-ID` on another process."""
    body = {"query": query, "inputs": {}, "user": f"user-{index}", "response_mode": "streaming"}
    result = StreamResult(index=index, query=query)
    return await _stream(
        client,
        bases,
        key,
        result,
        post="/v1/chat-messages",
        body=body,
        events="/v1/chat-messages/{task_id}/events",
        resume_tries=resume_tries,
    )


async def stream_workflow(
    client: httpx.AsyncClient, bases: list[str], key: str, index: int, query: str, resume_tries: int = 6
) -> StreamResult:
    """One streamed workflow run (`inputs.q = query`), resumed like `stream_turn`; `answer` is its output."""
    body = {"inputs": {"q": query}, "user": f"user-{index}", "response_mode": "streaming"}
    result = StreamResult(index=index, query=query)
    return await _stream(
        client,
        bases,
        key,
        result,
        post="/v1/workflows/run",
        body=body,
        events="/v1/workflows/tasks/{task_id}/events",
        resume_tries=resume_tries,
    )
