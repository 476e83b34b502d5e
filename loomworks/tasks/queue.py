"""A durable job queue in the application database, and the runner that works it inside `serve`.

Jobs are rows. `enqueue` inserts one (optionally de-duplicated by key) and wakes the runner; the
runner claims a queued job by moving it to `running` with a lease, runs its handler, and records
the outcome. A failed attempt is retried with exponential backoff up to `max_attempts`. A job whose
lease expired (its process died) is queued again, so handlers must be idempotent: running one
twice must leave the same data as running it once.

The scaled mode replaces this with Celery workers behind the same `enqueue` call.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from loomworks.core.clock import now
from loomworks.store.db import Database
from loomworks.store.tables import Job

log = logging.getLogger("loomworks.jobs")

Handler = Callable[[dict[str, Any]], Awaitable[None]]


class PermanentJobError(Exception):
    """Raised by a handler when retrying cannot help (bad input): the job fails at once."""


class JobQueue:
    """Enqueue and run durable jobs. One per process; handlers are registered by kind."""

    def __init__(
        self,
        db: Database,
        *,
        concurrency: int = 2,
        lease_seconds: float = 60.0,
        sweep_seconds: float = 5.0,
        backoff_seconds: float = 2.0,
    ) -> None:
        self.db = db
        self.concurrency = concurrency
        self.lease = timedelta(seconds=lease_seconds)
        self.sweep_seconds = sweep_seconds
        self.backoff_seconds = backoff_seconds
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self._handlers: dict[str, Handler] = {}
        self._wake = asyncio.Event()
        self._workers: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False

    def register(self, kind: str, handler: Handler) -> None:
        self._handlers[kind] = handler

    # -- producing ------------------------------------------------------------------------------

    def enqueue_in(
        self, session: Any, kind: str, payload: dict[str, Any], *, dedupe_key: str | None = None, max_attempts: int = 3
    ) -> Job:
        """Add a job inside the caller's transaction (it runs only if that transaction commits)."""
        if dedupe_key is not None:
            existing = session.scalar(
                select(Job).where(Job.kind == kind, Job.dedupe_key == dedupe_key, Job.status.in_(("queued", "running")))
            )
            if existing is not None:
                return existing
        job = Job(kind=kind, payload=payload, dedupe_key=dedupe_key, max_attempts=max_attempts, run_after=now())
        session.add(job)
        session.flush()
        return job

    def wake(self) -> None:
        """Tell the runner that new work may be waiting (call after the enqueueing commit).

        Safe from any thread: request handlers run in worker threads, the runner in the event loop.
        """
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake.set()
        else:
            loop.call_soon_threadsafe(self._wake.set)

    # -- consuming ------------------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if any(not task.done() and task.get_loop() is loop for task in self._workers):
            return  # already running on this loop
        self._stopping = False
        self._wake = asyncio.Event()
        self._loop = loop
        await asyncio.to_thread(self._requeue_expired)
        self._workers = [asyncio.create_task(self._work(i)) for i in range(self.concurrency)]

    async def stop(self) -> None:
        """Stop the workers (those of another event loop are cancelled through their own loop)."""
        self._stopping = True
        loop = asyncio.get_running_loop()
        mine = [task for task in self._workers if task.get_loop() is loop]
        for task in self._workers:
            if task in mine:
                task.cancel()
            elif not task.get_loop().is_closed():
                task.get_loop().call_soon_threadsafe(task.cancel)
        if self._loop is loop:
            self._wake.set()
        await asyncio.gather(*mine, return_exceptions=True)
        self._workers = []

    async def run_until_idle(self, max_seconds: float = 30.0) -> None:
        """Work every runnable job, then return (tests and the CLI use this)."""
        deadline = asyncio.get_running_loop().time() + max_seconds
        while True:
            job = await asyncio.to_thread(self._claim)
            if job is None:
                return
            await self._run(job)
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("jobs still pending")

    def _requeue_expired(self) -> int:
        with self.db.session() as session:
            result = session.execute(
                update(Job)
                .where(Job.status == "running", Job.lease_until < now())
                .values(status="queued", worker=None, lease_until=None)
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def _claim(self) -> Job | None:
        current = now()
        with self.db.session() as session:
            query = (
                select(Job)
                .where(Job.status == "queued", Job.run_after <= current, Job.kind.in_(list(self._handlers)))
                .order_by(Job.run_after, Job.created_at)
                .limit(1)
            )
            if not self.db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            job = session.scalar(query)
            if job is None:
                return None
            claimed = session.execute(
                update(Job)
                .where(Job.id == job.id, Job.status == "queued")
                .values(
                    status="running", worker=self.worker_id, lease_until=current + self.lease, attempts=Job.attempts + 1
                )
            )
            if not claimed.rowcount:  # type: ignore[attr-defined]
                return None
            session.refresh(job)
            return job

    def _finish(self, job_id: str, *, error: str | None, permanent: bool) -> None:
        with self.db.session() as session:
            job = session.get(Job, job_id)
            if job is None or job.status != "running" or job.worker != self.worker_id:
                return
            job.lease_until = None
            if error is None:
                job.status, job.error = "succeeded", None
            elif permanent or job.attempts >= job.max_attempts:
                job.status, job.error = "failed", error
            else:
                job.status, job.error = "queued", error
                job.run_after = now() + timedelta(seconds=self.backoff_seconds * 2 ** (job.attempts - 1))

    def _renew(self, job_id: str) -> None:
        with self.db.session() as session:
            session.execute(
                update(Job).where(Job.id == job_id, Job.worker == self.worker_id).values(lease_until=now() + self.lease)
            )

    async def _run(self, job: Job) -> None:
        handler = self._handlers[job.kind]
        renewer = asyncio.create_task(self._keep_lease(job.id))
        error: str | None = None
        permanent = False
        try:
            await handler(dict(job.payload))
        except PermanentJobError as exc:
            error, permanent = str(exc) or type(exc).__name__, True
        except Exception as exc:  # noqa: BLE001 - a job's failure is recorded, never fatal to the runner
            log.exception("job failed", extra={"job_id": job.id, "kind": job.kind})
            error = f"{type(exc).__name__}: {exc}"
        finally:
            renewer.cancel()
        await asyncio.to_thread(self._finish, job.id, error=error, permanent=permanent)

    async def _keep_lease(self, job_id: str) -> None:
        interval = max(self.lease.total_seconds() / 3, 0.05)
        while True:
            await asyncio.sleep(interval)
            await asyncio.to_thread(self._renew, job_id)

    async def _work(self, index: int) -> None:
        while not self._stopping:
            try:
                job = await asyncio.to_thread(self._claim)
            except Exception:  # noqa: BLE001 - a database hiccup must not kill the runner
                log.exception("claiming a job failed")
                job = None
            if job is not None:
                await self._run(job)
                continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.sweep_seconds)
            except TimeoutError:
                # The sweep picks up retries whose backoff ended and jobs of dead processes.
                if index == 0:
                    await asyncio.to_thread(self._requeue_expired)
