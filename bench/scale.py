"""Throughput of the scaled setup vs. the embedded one on this machine, and memory per process.

    .venv/bin/python bench/scale.py --turns 500 --concurrency 100

Embedded: one `loomworks serve` on SQLite. Scaled: 2 `serve` + 2 `worker` processes on PostgreSQL and a
private Redis, streamed chat turns running on the workers (`run_in_worker`). Both answer from the fake
OpenAI server (tests/fakes/openai.py, chunks 10 ms apart); each turn streams ~14 chunks. Reports turns/s,
p50/p99 of the whole streamed turn and the RSS of every process after the load.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.scale._cluster import (  # noqa: E402
    Cluster,
    configure_chat_app,
    scaled_env,
    start_fake_openai,
    stream_turn,
)
from tests.scale._services import clean_env, pg_database, redis_server  # noqa: E402

WORDS = " ".join(f"w{n}" for n in range(12))


async def load(bases: list[str], key: str, turns: int, concurrency: int) -> tuple[float, list[float], int]:
    limits = httpx.Limits(max_connections=concurrency + 10, max_keepalive_connections=concurrency)
    gate = asyncio.Semaphore(concurrency)
    times: list[float] = []
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        for index in range(4):
            await stream_turn(client, bases, key, 50_000 + index, "warm up")

        async def one(index: int) -> bool:
            async with gate:
                started = time.perf_counter()
                result = await stream_turn(client, bases, key, index, f"q-{index} {WORDS}")
                times.append(time.perf_counter() - started)
                return result.outcome == "completed"

        started = time.perf_counter()
        ok = await asyncio.gather(*(one(i) for i in range(turns)))
        elapsed = time.perf_counter() - started
    return elapsed, times, sum(ok)


def report(label: str, elapsed: float, times: list[float], ok: int, turns: int, cluster: Cluster) -> None:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(
        f"{label:9}: {turns / elapsed:7.1f} turns/s  ok {ok}/{turns}  "
        f"p50 {statistics.median(times) * 1000:6.0f} ms  p99 {p99 * 1000:6.0f} ms"
    )
    for proc in cluster.procs:
        print(f"           {proc.name:9} RSS {proc.rss_mb():6.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        logs = Path(tmp) / "logs"
        logs.mkdir()
        fake, fake_url = start_fake_openai(logs)
        try:
            embedded = Cluster(env={**clean_env(), "LOOMWORKS_DATA_DIR": f"{tmp}/embedded"}, log_dir=logs)
            api = embedded.api("serve")
            embedded.wait_healthy(api)
            key = configure_chat_app(api.url, fake_url)
            report("embedded", *asyncio.run(load([api.url], key, args.turns, args.concurrency)), args.turns, embedded)
            embedded.stop()
            with redis_server() as redis_srv, pg_database("loomworks_bench") as url:
                scaled = Cluster(
                    env=scaled_env(database_url=url, redis_url=redis_srv.url, data_dir=Path(tmp) / "scaled", lease=30),
                    log_dir=logs,
                )
                scaled.migrate()
                apis = [scaled.api("api-a"), scaled.api("api-b")]
                workers = [scaled.worker("worker-1"), scaled.worker("worker-2")]
                for proc in apis:
                    scaled.wait_healthy(proc)
                for proc in workers:
                    scaled.wait_worker_ready(proc)
                key = configure_chat_app(apis[0].url, fake_url)
                bases = [proc.url for proc in apis]
                report("scaled", *asyncio.run(load(bases, key, args.turns, args.concurrency)), args.turns, scaled)
                scaled.stop()
        finally:
            fake.terminate()
            fake.wait(10)


if __name__ == "__main__":
    main()
