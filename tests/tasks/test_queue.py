"""The durable job queue on SQLite and PostgreSQL: runs, retries, permanent failures, crash recovery."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from loomworks.core.clock import now
from loomworks.store.db import Database
from loomworks.store.tables import Job
from loomworks.tasks.queue import JobQueue, PermanentJobError


def _job(db: Database, job_id: str) -> Job:
    with db.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


async def test_jobs_run_retry_and_fail(database_url: str) -> None:
    db = Database(database_url)
    queue = JobQueue(db, backoff_seconds=0.0)
    seen: list[dict[str, Any]] = []
    flaky_calls = 0

    async def ok(payload: dict[str, Any]) -> None:
        seen.append(payload)

    async def flaky(payload: dict[str, Any]) -> None:
        nonlocal flaky_calls
        flaky_calls += 1
        if flaky_calls < 3:
            raise ConnectionError("upstream down")

    async def hopeless(payload: dict[str, Any]) -> None:
        raise PermanentJobError("the file is not a PDF")

    queue.register("ok", ok)
    queue.register("flaky", flaky)
    queue.register("hopeless", hopeless)
    with db.session() as session:
        first = queue.enqueue_in(session, "ok", {"n": 1}, dedupe_key="doc-1")
        again = queue.enqueue_in(session, "ok", {"n": 2}, dedupe_key="doc-1")
        retried = queue.enqueue_in(session, "flaky", {})
        failed = queue.enqueue_in(session, "hopeless", {})
    assert again.id == first.id
    await queue.run_until_idle()
    assert seen == [{"n": 1}]
    assert _job(db, first.id).status == "succeeded"
    assert (_job(db, retried.id).status, _job(db, retried.id).attempts) == ("succeeded", 3)
    assert (_job(db, failed.id).status, _job(db, failed.id).attempts) == ("failed", 1)
    assert _job(db, failed.id).error == "the file is not a PDF"
    db.dispose()


async def test_a_dead_workers_job_is_picked_up_again(database_url: str) -> None:
    db = Database(database_url)
    crashed = JobQueue(db)
    runs: list[str] = []

    async def handler(payload: dict[str, Any]) -> None:
        runs.append(payload["id"])

    crashed.register("index", handler)
    with db.session() as session:
        job = crashed.enqueue_in(session, "index", {"id": "doc"})
    claimed = crashed._claim()  # the process claims the job, then dies before finishing it
    assert claimed is not None
    with db.session() as session:
        session.execute(update(Job).where(Job.id == job.id).values(lease_until=now() - timedelta(seconds=1)))
    survivor = JobQueue(db)
    survivor.register("index", handler)
    await survivor.start()
    try:
        survivor.wake()
        for _ in range(200):
            if _job(db, job.id).status == "succeeded":
                break
            await asyncio.sleep(0.01)
    finally:
        await survivor.stop()
    assert runs == ["doc"]
    assert _job(db, job.id).attempts == 2
    db.dispose()


async def test_two_runners_never_run_a_job_twice(database_url: str) -> None:
    db = Database(database_url)
    runs: list[int] = []

    async def handler(payload: dict[str, Any]) -> None:
        runs.append(payload["n"])
        await asyncio.sleep(0.001)

    queues = [JobQueue(db, concurrency=2) for _ in range(2)]
    for queue in queues:
        queue.register("count", handler)
    with db.session() as session:
        for n in range(40):
            queues[0].enqueue_in(session, "count", {"n": n})
    for queue in queues:
        await queue.start()
        queue.wake()
    try:
        for _ in range(500):
            with db.session() as session:
                left = session.scalars(select(Job).where(Job.status != "succeeded")).all()
            if not left:
                break
            await asyncio.sleep(0.02)
    finally:
        for queue in queues:
            await queue.stop()
    assert sorted(runs) == list(range(40))
    db.dispose()
