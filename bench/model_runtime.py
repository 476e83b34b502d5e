"""Overhead of one streamed LLM call through the model runtime vs. the same fake called directly.

    .venv/bin/python bench/model_runtime.py --calls 500

Starts the fake OpenAI server (tests/fakes/openai.py) in its own process, then times N streamed
chat calls (a) with a bare httpx client reading the SSE lines and (b) through
`ModelRuntime.llm(...).stream(...)` (parameter rules, adapter, usage, pricing). Both reuse one
pooled client, so the difference is the runtime's own cost per call.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from loomworks.providers.base import LLMRequest  # noqa: E402
from loomworks.providers.runtime import CredentialSet, ModelRuntime  # noqa: E402
from tests._live_server import free_port  # noqa: E402

MESSAGES = [{"role": "user", "content": "hello there, how are you today?"}]


async def direct(client: httpx.AsyncClient, base: str) -> float:
    started = time.perf_counter()
    body = {"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True, "stream_options": {"include_usage": True}}
    async with client.stream(
        "POST", f"{base}/chat/completions", json=body, headers={"Authorization": "Bearer sk-test"}
    ) as r:
        async for _line in r.aiter_lines():  # read to the end, so the connection goes back to the pool
            pass
    return time.perf_counter() - started


async def through_runtime(runtime: ModelRuntime, base: str) -> float:
    started = time.perf_counter()
    llm = runtime.llm(
        provider="openai",
        model="gpt-4o-mini",
        credentials=[CredentialSet(id="c", values={"openai_api_key": "sk-test", "openai_api_base": base})],
    )
    async for _ in llm.stream(LLMRequest(model="gpt-4o-mini", messages=MESSAGES)):
        pass
    return time.perf_counter() - started


def summary(name: str, samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[int(len(ordered) * 0.99) - 1] * 1000
    print(f"{name:>10}: p50 {p50:.3f} ms  p99 {p99:.3f} ms  (n={len(samples)})")
    return {"p50": p50, "p99": p99}


async def main(calls: int) -> None:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "tests.fakes.openai", "--port", str(port)], cwd=ROOT)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(100):
                try:
                    await client.get(f"{base}/models", headers={"Authorization": "Bearer sk-test"})
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            runtime = ModelRuntime()
            for _ in range(50):  # warm both paths
                await direct(client, base)
                await through_runtime(runtime, base)
            a, b = [], []
            for _ in range(calls):
                a.append(await direct(client, base))
                b.append(await through_runtime(runtime, base))
            plain = summary("direct", a)
            ours = summary("runtime", b)
            print(f"  overhead: p50 {ours['p50'] - plain['p50']:.3f} ms per streamed call")
            await runtime.aclose()
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=500)
    asyncio.run(main(parser.parse_args().calls))
