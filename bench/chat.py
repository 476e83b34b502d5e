"""Platform overhead per chat turn, and concurrent SSE streams held by one `serve`.

    .venv/bin/python bench/chat.py --turns 300 --streams 2000

Starts the fake OpenAI server (tests/fakes/openai.py) and a real `loomworks serve` on a fresh
SQLite data directory, each in its own process; configures the OpenAI provider to point at the
fake, creates a chat app and an API key through the console API, then measures:

1. blocking turns: the fake called directly vs. `POST /v1/chat-messages` (same question, one
   client, sequential) — the difference is the platform's own time per turn (p50/p99);
2. concurrent streams: N clients each open a streaming chat turn at once, answered by a second
   fake that paces its chunks (50 ms apart, through a custom OpenAI-compatible model); counts the
   streams that end with `message_end`.
"""

from __future__ import annotations

import argparse
import asyncio
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


async def blocking(client: httpx.AsyncClient, base: str, fake: str, key: str, turns: int) -> None:
    chat = {"query": "hello", "inputs": {}, "user": "bench", "auto_generate_name": False}
    headers = {"Authorization": f"Bearer {key}"}
    for _ in range(30):
        await fake_turn(client, fake)
        await client.post(f"{base}/v1/chat-messages", json=chat, headers=headers)
    direct, ours = [], []
    for _ in range(turns):
        started = time.perf_counter()
        await fake_turn(client, fake)
        direct.append(time.perf_counter() - started)
        started = time.perf_counter()
        answer = await client.post(f"{base}/v1/chat-messages", json=chat, headers=headers)
        ours.append(time.perf_counter() - started)
        answer.raise_for_status()
    d50, o50 = statistics.median(direct) * 1000, statistics.median(ours) * 1000
    print(f"fake direct : p50 {d50:.2f} ms  p99 {pct(direct, 0.99):.2f} ms")
    print(f"/v1 blocking: p50 {o50:.2f} ms  p99 {pct(ours, 0.99):.2f} ms")
    print(f"overhead    : p50 {o50 - d50:.2f} ms  p99 {pct(ours, 0.99) - pct(direct, 0.99):.2f} ms per turn")


async def one_stream(client: httpx.AsyncClient, base: str, key: str, index: int) -> bool:
    chat = {"query": f"stream {index}", "inputs": {}, "user": f"u{index}", "response_mode": "streaming"}
    last = ""
    try:
        async with client.stream(
            "POST", f"{base}/v1/chat-messages", json=chat, headers={"Authorization": f"Bearer {key}"}
        ) as response:
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    last = json.loads(line[6:]).get("event", "")
    except httpx.HTTPError:
        return False
    return last == "message_end"


async def streams(base: str, key: str, count: int) -> None:
    limits = httpx.Limits(max_connections=count + 10, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        started = time.perf_counter()
        results = await asyncio.gather(*(one_stream(client, base, key, i) for i in range(count)))
        elapsed = time.perf_counter() - started
    ok = sum(results)
    print(f"concurrent streams: {ok}/{count} ended with message_end in {elapsed:.1f} s ({count - ok} dropped)")


async def main(turns: int, count: int) -> None:
    data = tempfile.mkdtemp(prefix="loomworks-bench-")
    fake_port, slow_port, port = free_port(), free_port(), free_port()
    env = {**os.environ, "LOOMWORKS_LOG_LEVEL": "WARNING"}
    fake_proc = subprocess.Popen([sys.executable, "-m", "tests.fakes.openai", "--port", str(fake_port)], cwd=ROOT)
    slow_proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.openai", "--port", str(slow_port), "--chunk-delay", "0.05"], cwd=ROOT
    )
    serve = subprocess.Popen(
        [str(ROOT / ".venv/bin/loomworks"), "serve", "--port", str(port), "--data-dir", data], cwd=ROOT, env=env
    )
    base, fake = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{fake_port}/v1"
    slow = f"http://127.0.0.1:{slow_port}/open/v1"
    try:
        async with httpx.AsyncClient(timeout=60) as client:
            await wait_up(client, f"{base}/health")
            await wait_up(client, f"{fake}/models")
            await wait_up(client, f"{slow}/models")
            key = await prepare(client, base, fake)
            await blocking(client, base, fake, key, turns)
            slow_key = await slow_app(client, base, slow) if count else ""
        if count:
            await streams(base, slow_key, count)
    finally:
        for proc in (serve, fake_proc, slow_proc):
            proc.terminate()
            proc.wait(timeout=20)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--streams", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(main(args.turns, args.streams))
