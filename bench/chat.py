"""Platform overhead, CPU, throughput, overload, memory and concurrent SSE streams of chat turns.

    .venv/bin/python bench/chat.py --turns 300 --throughput-turns 10000 --overload 1000 --streams 2000

Starts the fake OpenAI server (tests/fakes/openai.py) and a real `loomworks serve` on a fresh
SQLite data directory, each in its own process; configures the OpenAI provider to point at the
fake, creates a chat app and an API key through the console API, then measures:

1. blocking turns: the fake called directly vs. `POST /v1/chat-messages` (same question, one
   client, sequential) — the difference is the platform's own time per turn (p50/p99); the
   server's CPU time per turn comes from /proc for the same turns;
2. throughput: 32 clients (`--clients`) send blocking turns back to back, `--throughput-turns` in
   all, against an instant model (a minimal asyncio server in this file, so that neither the fake
   nor the client library eats the two cores); turns/s, p50/p99, CPU per turn, and the server's
   RSS idle (after start-up), warm (after 100 turns) and after all the turns;
3. overload: `--overload N` connections each send one blocking turn at the same moment; every one
   must get its answer or a fast 429/503, never wait in an unbounded queue. `--max-blocking K` starts
   the server with `LOOMWORKS_CHAT_MAX_BLOCKING_TURNS=K` (default 256); `--turns 0 --max-blocking 0
   --overload N` refuses every one of them, which shows the floor that connecting N clients at once
   sets on this machine;
4. concurrent streams: N clients each open a streaming chat turn at once, answered by a second
   fake that paces its chunks (50 ms apart, through a custom OpenAI-compatible model); counts the
   streams that end with `message_end`, and why the others did not.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests._live_server import free_port  # noqa: E402

AUTH = {"Authorization": "Bearer sk-test"}


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


async def wait_up(client: httpx.AsyncClient, url: str) -> None:
    for _ in range(400):
        try:
            if (await client.get(url)).status_code < 500:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


async def prepare(client: httpx.AsyncClient, base: str, fake: str) -> str:
    await client.post(
        f"{base}/console/api/setup", json={"email": "b@example.com", "name": "Bench", "password": "Passw0rd!"}
    )
    login = await client.post(f"{base}/console/api/login", json={"email": "b@example.com", "password": "Passw0rd!"})
    token = login.json()["data"]["access_token"]
    console = {"Authorization": f"Bearer {token}"}
    saved = await client.post(
        f"{base}/console/api/workspaces/current/model-providers/openai",
        headers=console,
        json={"credentials": {"openai_api_key": "sk-test", "openai_api_base": fake}},
    )
    saved.raise_for_status()
    app = (await client.post(f"{base}/console/api/apps", headers=console, json={"name": "b", "mode": "chat"})).json()
    config = dict(app["model_config"])
    config["model"] = {"provider": "openai", "name": "gpt-4o-mini", "mode": "chat", "completion_params": {}}
    (
        await client.post(f"{base}/console/api/apps/{app['id']}/model-config", headers=console, json=config)
    ).raise_for_status()
    return (await client.post(f"{base}/console/api/apps/{app['id']}/api-keys", headers=console)).json()["token"]


async def slow_app(client: httpx.AsyncClient, base: str, slow: str) -> str:
    login = await client.post(f"{base}/console/api/login", json={"email": "b@example.com", "password": "Passw0rd!"})
    console = {"Authorization": f"Bearer {login.json()['data']['access_token']}"}
    model = {
        "model": "slow-llm",
        "model_type": "llm",
        "credentials": {"endpoint_url": slow, "mode": "chat", "context_size": "4096"},
    }
    saved = await client.post(
        f"{base}/console/api/workspaces/current/model-providers/openai_api_compatible/models",
        headers=console,
        json=model,
    )
    saved.raise_for_status()
    app = (await client.post(f"{base}/console/api/apps", headers=console, json={"name": "s", "mode": "chat"})).json()
    config = dict(app["model_config"])
    config["model"] = {"provider": "openai_api_compatible", "name": "slow-llm", "mode": "chat", "completion_params": {}}
    (
        await client.post(f"{base}/console/api/apps/{app['id']}/model-config", headers=console, json=config)
    ).raise_for_status()
    return (await client.post(f"{base}/console/api/apps/{app['id']}/api-keys", headers=console)).json()["token"]


async def fake_turn(client: httpx.AsyncClient, fake: str) -> None:
    """One streamed call to the fake, read to the end (the pipeline streams from the model too)."""
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}], "stream": True}
    async with client.stream("POST", f"{fake}/chat/completions", json=body, headers=AUTH) as response:
        async for _ in response.aiter_lines():
            pass


async def blocking(client: httpx.AsyncClient, base: str, fake: str, key: str, turns: int, pid: int) -> None:
    chat = {"query": "hello", "inputs": {}, "user": "bench", "auto_generate_name": False}
    headers = {"Authorization": f"Bearer {key}"}
    for _ in range(30):
        await fake_turn(client, fake)
        await client.post(f"{base}/v1/chat-messages", json=chat, headers=headers)
    direct, ours = [], []
    cpu = 0.0
    for _ in range(turns):
        started = time.perf_counter()
        await fake_turn(client, fake)
        direct.append(time.perf_counter() - started)
        used, started = cpu_seconds(pid), time.perf_counter()
        answer = await client.post(f"{base}/v1/chat-messages", json=chat, headers=headers)
        ours.append(time.perf_counter() - started)
        cpu += cpu_seconds(pid) - used
        answer.raise_for_status()
    d50, o50 = statistics.median(direct) * 1000, statistics.median(ours) * 1000
    print(f"fake direct : p50 {d50:.2f} ms  p99 {pct(direct, 0.99):.2f} ms")
    print(f"/v1 blocking: p50 {o50:.2f} ms  p99 {pct(ours, 0.99):.2f} ms")
    print(f"overhead    : p50 {o50 - d50:.2f} ms  p99 {pct(ours, 0.99) - pct(direct, 0.99):.2f} ms per turn")
    print(f"server CPU  : {cpu / turns * 1000:.2f} ms per blocking turn (/proc, {turns} turns)")


async def one_stream(client: httpx.AsyncClient, base: str, key: str, index: int) -> str:
    """`message_end`, or why the stream ended otherwise (status, last event or client error)."""
    chat = {"query": f"stream {index}", "inputs": {}, "user": f"u{index}", "response_mode": "streaming"}
    last = ""
    try:
        async with client.stream(
            "POST", f"{base}/v1/chat-messages", json=chat, headers={"Authorization": f"Bearer {key}"}
        ) as response:
            if response.status_code != 200:
                return f"http {response.status_code}"
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    event = json.loads(line[6:])
                    last = event.get("event", "")
                    if last == "error":
                        last = f"error {event.get('code')}: {str(event.get('message'))[:80]}"
    except httpx.HTTPError as exc:
        return type(exc).__name__
    return last or "no events"


async def streams(base: str, key: str, count: int) -> None:
    # httpx scans its whole pool on every request: one client per 25 streams keeps the harness cheap.
    limits = httpx.Limits(max_connections=30, max_keepalive_connections=0)
    clients = [httpx.AsyncClient(timeout=120, limits=limits) for _ in range(count // 25 + 1)]
    try:
        started = time.perf_counter()
        results = await asyncio.gather(*(one_stream(clients[i // 25], base, key, i) for i in range(count)))
        elapsed = time.perf_counter() - started
    finally:
        for client in clients:
            await client.aclose()
    ok = results.count("message_end")
    print(f"concurrent streams: {ok}/{count} ended with message_end in {elapsed:.1f} s ({count - ok} dropped)")
    others = collections.Counter(r for r in results if r != "message_end")
    if others:
        print(f"  dropped: {dict(others.most_common(5))}")


# -- server resources --------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# -- an instant model and a light client: the two cores go to `serve`, not to the harness -----------

_WORDS = ["Echo:", " hello", " there"]


def _sse_body(model: str) -> bytes:
    frames = []
    for word in _WORDS:
        delta = {"choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}
        frames.append({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": model, **delta})
    frames.append({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": model,
                   "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})  # fmt: skip
    usage = {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}
    frames.append({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": model, "choices": [],
                   "usage": usage})  # fmt: skip
    return b"".join(b"data: " + json.dumps(f).encode() + b"\n\n" for f in frames) + b"data: [DONE]\n\n"


async def _instant_model(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers every `POST …/chat/completions` at once (SSE or JSON) and every GET with a model list."""
    stream_body = _sse_body("instant")
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length) if length else b""
            if head.startswith(b"GET"):
                payload, kind = (
                    json.dumps({"object": "list", "data": [{"id": "instant"}]}).encode(),
                    b"application/json",
                )
            elif b'"stream": true' in body or b'"stream":true' in body:
                payload, kind = stream_body, b"text/event-stream"
            else:
                message = {"role": "assistant", "content": "".join(_WORDS)}
                answer = {"id": "c", "object": "chat.completion", "created": 0, "model": "instant",
                          "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                          "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}}  # fmt: skip
                payload, kind = json.dumps(answer).encode(), b"application/json"
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: " + kind + b"\r\ncontent-length: "
                + str(len(payload)).encode() + b"\r\n\r\n" + payload
            )  # fmt: skip
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
        pass  # the client hung up, or the bench is over
    finally:
        writer.close()


class RawClient:
    """One keep-alive HTTP/1.1 connection that posts JSON and reads a content-length answer."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, key: str) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer {key}\r\n"
            f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n".encode()
            + body
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length, close = 0, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
            elif name.lower() == b"connection" and value.strip().lower() == b"close":
                close = True
        payload = await self.reader.readexactly(length)
        if close:
            self.close()
        return status, payload

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def _turn_body(user: str) -> bytes:
    return json.dumps({"query": "hello", "inputs": {}, "user": user, "auto_generate_name": False}).encode()


async def throughput(port: int, pid: int, key: str, clients: int, total: int) -> None:
    warm = RawClient(port)
    for _ in range(100):
        await warm.post("/v1/chat-messages", _turn_body("warm"), key)
    warm.close()
    warm_rss = rss_mb(pid)
    latencies: list[float] = []
    failures: collections.Counter[int] = collections.Counter()
    remaining = [total]

    async def worker(index: int) -> None:
        client = RawClient(port)
        body = _turn_body(f"t{index}")
        while remaining[0] > 0:
            remaining[0] -= 1
            started = time.perf_counter()
            status, _ = await client.post("/v1/chat-messages", body, key)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                failures[status] += 1
        client.close()

    cpu, started = cpu_seconds(pid), time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(clients)))
    elapsed, cpu = time.perf_counter() - started, cpu_seconds(pid) - cpu
    print(
        f"throughput  : {total / elapsed:.0f} turns/s with {clients} clients  p50 {pct(latencies, 0.5):.1f} ms"
        f"  p99 {pct(latencies, 0.99):.1f} ms  server CPU {cpu / total * 1000:.2f} ms/turn"
        f"  non-200: {dict(failures) or 0}"
    )
    print(f"memory      : RSS warm {warm_rss:.0f} MB, after {total} more turns {rss_mb(pid):.0f} MB")


async def overload(port: int, key: str, count: int) -> None:
    async def one(index: int) -> tuple[int, float]:
        client = RawClient(port)
        started = time.perf_counter()
        try:
            status, _ = await client.post("/v1/chat-messages", _turn_body(f"o{index}"), key)
        except (ConnectionError, asyncio.IncompleteReadError):
            status = 0
        finally:
            client.close()
        return status, time.perf_counter() - started

    started = time.perf_counter()
    results = await asyncio.gather(*(one(i) for i in range(count)))
    elapsed = time.perf_counter() - started
    statuses = collections.Counter(status for status, _ in results)
    served = [t for status, t in results if status == 200]
    refused = [t for status, t in results if status in (429, 503)]
    line = f"overload    : {count} at once in {elapsed:.1f} s: {dict(statuses)}"
    if served:
        line += f"; answered p50 {pct(served, 0.5):.0f} ms p99 {pct(served, 0.99):.0f} ms"
    if refused:
        line += f"; refused p50 {pct(refused, 0.5):.0f} ms p99 {pct(refused, 0.99):.0f} ms"
    print(line)


async def instant_app(client: httpx.AsyncClient, base: str, instant: str) -> str:
    login = await client.post(f"{base}/console/api/login", json={"email": "b@example.com", "password": "Passw0rd!"})
    console = {"Authorization": f"Bearer {login.json()['data']['access_token']}"}
    model = {
        "model": "instant",
        "model_type": "llm",
        "credentials": {"endpoint_url": instant, "mode": "chat", "context_size": "4096"},
    }
    saved = await client.post(
        f"{base}/console/api/workspaces/current/model-providers/openai_api_compatible/models",
        headers=console,
        json=model,
    )
    saved.raise_for_status()
    app = (await client.post(f"{base}/console/api/apps", headers=console, json={"name": "i", "mode": "chat"})).json()
    config = dict(app["model_config"])
    config["model"] = {"provider": "openai_api_compatible", "name": "instant", "mode": "chat", "completion_params": {}}
    (
        await client.post(f"{base}/console/api/apps/{app['id']}/model-config", headers=console, json=config)
    ).raise_for_status()
    return (await client.post(f"{base}/console/api/apps/{app['id']}/api-keys", headers=console)).json()["token"]


async def main(args: argparse.Namespace) -> None:
    data = tempfile.mkdtemp(prefix="loomworks-bench-")
    fake_port, slow_port, instant_port, port = free_port(), free_port(), free_port(), free_port()
    env = {**os.environ, "LOOMWORKS_LOG_LEVEL": "WARNING"}
    if args.max_blocking is not None:
        env["LOOMWORKS_CHAT_MAX_BLOCKING_TURNS"] = str(args.max_blocking)
    fake_proc = subprocess.Popen([sys.executable, "-m", "tests.fakes.openai", "--port", str(fake_port)], cwd=ROOT)
    slow_proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.openai", "--port", str(slow_port), "--chunk-delay", "0.05"], cwd=ROOT
    )
    log_path = Path(data) / "serve.log"
    with log_path.open("wb") as log_file:
        serve = subprocess.Popen(
            [str(ROOT / ".venv/bin/loomworks"), "serve", "--port", str(port), "--data-dir", data],
            cwd=ROOT,
            env=env,
            stderr=log_file,
        )
    instant_server = await asyncio.start_server(_instant_model, "127.0.0.1", instant_port, backlog=4096)
    base, fake = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{fake_port}/v1"
    slow, instant = f"http://127.0.0.1:{slow_port}/open/v1", f"http://127.0.0.1:{instant_port}/v1"
    try:
        async with httpx.AsyncClient(timeout=60) as client:
            await wait_up(client, f"{base}/health")
            await wait_up(client, f"{fake}/models")
            await wait_up(client, f"{slow}/models")
            idle = rss_mb(serve.pid)
            key = await prepare(client, base, fake)
            print(f"memory      : RSS idle {idle:.0f} MB (after start-up)")
            if args.turns:
                await blocking(client, base, fake, key, args.turns, serve.pid)
            instant_key = await instant_app(client, base, instant)
            slow_key = await slow_app(client, base, slow) if args.streams else ""
        if args.throughput_turns:
            await throughput(port, serve.pid, instant_key, args.clients, args.throughput_turns)
        if args.overload:
            await overload(port, instant_key, args.overload)
        if args.streams:
            await streams(base, slow_key, args.streams)
    finally:
        instant_server.close()
        for proc in (serve, fake_proc, slow_proc):
            proc.terminate()
            proc.wait(timeout=20)
    errors = [line for line in log_path.read_text(errors="replace").splitlines() if "ERROR" in line]
    print(f"server log  : {log_path} ({len(errors)} error lines)")
    for line in errors[:3]:
        print(f"  {line[:200]}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--throughput-turns", type=int, default=0)
    parser.add_argument("--overload", type=int, default=0)
    parser.add_argument("--max-blocking", type=int, default=None, help="the server's blocking-turn limit")
    parser.add_argument("--streams", type=int, default=0)
    asyncio.run(main(parser.parse_args()))
