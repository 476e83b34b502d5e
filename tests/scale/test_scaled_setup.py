"""The scaled setup end to end: 2 `serve` + 2 `worker` processes, PostgreSQL, a private Redis.

Streamed chat turns run on the workers (`run_in_worker`) and reach the clients through the Redis
event bus, across both API processes. Mid-load one worker and one API process are killed and Redis
is restarted (without persistence). Every request must complete or end with a clear error, every
stream that got an answer must end with its final event, and no message may be duplicated or lost.
500 concurrent streamed turns by default (the issue's load; ~1 min here); `LOOMWORKS_SCALE_TURNS`
overrides it. A POST refused by the dead API process (nothing was sent) goes to the other one, as a
load balancer would, so the only turns allowed to fail outright are those cut off in flight.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.scale._cluster import Cluster, configure_chat_app, scaled_env, start_fake_openai, stream_turn
from tests.scale._services import RedisServer, pg_database, redis_server

pytestmark = pytest.mark.integration

TURNS = int(os.environ.get("LOOMWORKS_SCALE_TURNS", "500"))
WORDS = " ".join(f"w{n}" for n in range(12))  # ~14 streamed chunks, 10 ms apart


async def drive(cluster: Cluster, redis_srv: RedisServer, bases: list[str], key: str) -> list:
    api_b, worker_1 = cluster.procs[1], cluster.procs[2]
    limits = httpx.Limits(max_connections=TURNS + 20, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=httpx.Timeout(60, connect=5), limits=limits) as client:

        async def one(index: int) -> object:
            await asyncio.sleep(index * 4.0 / TURNS)  # spread the load over ~4 s
            return await stream_turn(client, bases, key, index, f"q-{index} {WORDS}")

        async def chaos() -> None:
            await asyncio.sleep(1.0)
            worker_1.kill()
            await asyncio.sleep(1.0)
            api_b.kill()
            await asyncio.sleep(0.6)
            await asyncio.to_thread(redis_srv.restart, 0.5)

        # Warm both API processes and the workers (model catalogue, tokenizer, connections) first.
        for index in range(4):
            warm = await stream_turn(client, bases, key, 10_000 + index, "warm up")
            assert warm.outcome == "completed", warm

        results, _ = await asyncio.gather(asyncio.gather(*(one(i) for i in range(TURNS))), chaos())
    return list(results)


def test_scaled_setup_survives_a_dead_worker_a_dead_api_and_a_redis_restart(tmp_path: Path) -> None:
    started = time.monotonic()
    logs = Path(os.environ.get("LOOMWORKS_SCALE_LOG_DIR") or tmp_path / "logs")  # keep them with the env
    logs.mkdir(parents=True, exist_ok=True)
    with redis_server() as redis_srv, pg_database() as database_url:
        fake, fake_url = start_fake_openai(logs)
        env = scaled_env(database_url=database_url, redis_url=redis_srv.url, data_dir=tmp_path / "data")
        cluster = Cluster(env=env, log_dir=logs)
        try:
            cluster.migrate()
            api_a, api_b = cluster.api("api-a"), cluster.api("api-b")
            workers = [cluster.worker("worker-1"), cluster.worker("worker-2")]
            for api in (api_a, api_b):
                cluster.wait_healthy(api)
            for worker in workers:
                cluster.wait_worker_ready(worker)
            key = configure_chat_app(api_a.url, fake_url)
            # Only the surviving API process is listed second, so that resumes go to a live one first.
            results = asyncio.run(drive(cluster, redis_srv, [api_a.url, api_b.url], key))

            outcomes = Counter(r.outcome for r in results)
            cut_off = Counter(
                (r.detail, "with task id" if r.task_id else "no task id")
                for r in results
                if r.outcome == "transport_error"
            )
            assert outcomes["pending"] == 0
            assert outcomes["completed"] >= TURNS * 0.7, (
                outcomes,
                [(r.index, r.detail, r.resumed, r.last_id, r.events[-2:]) for r in results if r.outcome != "completed"][
                    :12
                ],
            )
            # A stream the client knew the task id of is always resumed to its end; the only turns
            # lost outright are POSTs cut off in flight by the killed API process.
            assert not [r for r in results if r.outcome == "transport_error" and r.task_id], cut_off
            for result in results:
                if result.outcome != "transport_error":
                    # Every stream that got going ends with its final event, and nothing after it.
                    assert result.events[-1] in ("message_end", "error"), result
                if result.outcome == "error_event":
                    assert result.detail and ":" in result.detail or result.detail.startswith("HTTP"), result
            # Let retried jobs (the killed worker's) finish before counting rows.
            engine = create_engine(database_url)
            deadline = time.monotonic() + 30
            with engine.connect() as connection:
                while True:
                    busy = connection.execute(
                        text("SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')")
                    ).scalar()
                    if not busy or time.monotonic() > deadline:
                        break
                    time.sleep(0.3)
                    connection.rollback()
                assert busy == 0, "jobs were left behind"
                rows = connection.execute(text("SELECT query, answer, status, id FROM messages")).all()
            engine.dispose()
            rows = [row for row in rows if row.query != "warm up"]
            per_query = Counter(row.query for row in rows)
            assert max(per_query.values()) == 1, "a message was duplicated"
            saved = {row.query: row for row in rows}
            for result in results:
                if result.outcome == "completed":
                    row = saved.get(result.query)
                    assert row is not None, f"message of completed turn {result.index} is lost"
                    assert row.id == result.message_id
                    assert row.status == "normal"
                    assert result.answer == row.answer == f"Echo: {result.query}"
            assert set(saved) <= {r.query for r in results}
            print(  # noqa: T201 - the summary is the point of a `-s` run
                f"\n{TURNS} turns: {dict(outcomes)}, resumed {sum(r.resumed > 0 for r in results)}, "
                f"failed over {sum(r.failovers > 0 for r in results)}, "
                f"{len(rows)} messages, {time.monotonic() - started:.1f} s; cut off: {dict(cut_off)}"
            )
        finally:
            cluster.stop()
            fake.terminate()
            fake.wait(10)
