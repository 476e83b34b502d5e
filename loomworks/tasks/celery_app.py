"""Jobs on Celery workers (the scaled mode): the job table stays the record, Celery carries the work.

`CeleryJobQueue` is the `JobQueue` interface with the same rows, claims and handlers. What changes is
who runs a job and how it is woken:

- `enqueue_in` adds the row in the caller's transaction, as before; when that transaction commits,
  one Celery message naming the job id goes to the job's queue (`indexing`, `workflow` — which
  also carries the streamed runs of `run_in_worker` —, `tracing` or `mail`). A rolled-back job sends
  nothing.
- A worker (`loomworks worker`) receives the message and claims the row by id — the same atomic
  `queued -> running` update with a lease that the embedded runner uses — then runs the handler
  registered for its kind and records the outcome. Messages are acknowledged late (after the
  handler) and re-delivered when a worker is lost, but the claim is what makes them idempotent: a
  message for a job that is running elsewhere, finished or already claimed does nothing.
- Each worker sweeps: jobs whose lease expired (their worker died) go back to `queued`, and queued
  jobs nobody took for a while are sent again (their message may have been lost with a Redis
  restart). A retry after a failure is sent with the backoff as its countdown.

`serve` with `job_backend=celery` only enqueues; `start()` here runs nothing.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

from celery import Celery
from kombu import Exchange, Queue
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from loomworks.core.clock import now
from loomworks.store.db import Database
from loomworks.store.tables import Job
from loomworks.tasks.queue import JobQueue

log = logging.getLogger("loomworks.jobs")

QUEUES = ("indexing", "workflow", "tracing", "mail")
TASK_NAME = "loomworks.run_job"
_PENDING = "loomworks_celery_jobs"
# Runs a client is streaming (workflow runs, chatflow and chat turns): the `workflow` queue, which a
# deployment can give workers of their own so that a backlog of indexing never delays an answer.
RUN_KINDS = ("workflow_run", "chatflow_turn", "chat_turn")


def queue_for(kind: str) -> str:
    """The Celery queue of a job kind (document indexing, runs, trace export, mail)."""
    if kind in RUN_KINDS:
        return "workflow"
    if kind.startswith(("index", "sync_", "drop_dataset")) or kind.startswith("knowledge"):
        return "indexing"
    if kind.startswith(("trace", "tracing")):
        return "tracing"
    if kind.startswith("mail"):
        return "mail"
    return "workflow"


def create_celery(broker_url: str) -> Celery:
    """A Celery app on a Redis broker with at-least-once delivery settings."""
    app = Celery("loomworks", broker=broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,  # acknowledge after the handler: a lost worker's job is delivered again
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        task_queues=[Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUES],
        task_default_queue="workflow",
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # ride out a Redis restart
        # No broker-side redelivery bookkeeping: the job row and the sweep are what re-deliver (a lost
        # worker's job is sent again when its lease expires). kombu's unacked-restore on a lost Redis
        # connection also takes the consumer down with it (AttributeError in `_connparams`).
        broker_transport_options={"ack_emulation": False},
        worker_hijack_root_logger=False,
        worker_cancel_long_running_tasks_on_connection_loss=False,
    )
    return app


class CeleryJobQueue(JobQueue):
    """The job table worked by Celery workers (see the module docstring)."""

    def __init__(self, db: Database, celery: Celery, **kwargs: Any) -> None:
        super().__init__(db, **kwargs)
        self.celery = celery
        self._sweeper: asyncio.Task[None] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        celery.task(name=TASK_NAME, acks_late=True)(self._celery_task)

    # -- producing ------------------------------------------------------------------------------

    def enqueue_in(
        self, session: Any, kind: str, payload: dict[str, Any], *, dedupe_key: str | None = None, max_attempts: int = 3
    ) -> Job:
        job = super().enqueue_in(session, kind, payload, dedupe_key=dedupe_key, max_attempts=max_attempts)
        pending: list[tuple[str, str]] | None = session.info.get(_PENDING)
        if pending is None:
            pending = session.info[_PENDING] = []

            def sent_after_commit(committed: Session) -> None:
                for job_id, job_kind in committed.info.pop(_PENDING, []):
                    self.dispatch(job_id, job_kind)

            def dropped_after_rollback(rolled_back: Session) -> None:
                rolled_back.info.pop(_PENDING, None)

            event.listen(session, "after_commit", sent_after_commit, once=True)
            event.listen(session, "after_rollback", dropped_after_rollback, once=True)
        pending.append((job.id, kind))
        return job

    def dispatch(self, job_id: str, kind: str, countdown: float | None = None) -> bool:
        """Send one job's message; a broker outage is logged (the sweep sends it later)."""
        try:
            self.celery.send_task(TASK_NAME, args=[job_id], queue=queue_for(kind), countdown=countdown)
        except Exception:  # noqa: BLE001 - the row is durable; the sweep re-sends it
            log.warning("could not send a job to the broker", extra={"job_id": job_id, "kind": kind})
            return False
        return True

    def wake(self) -> None:
        """Nothing to wake: messages leave when the enqueueing transaction commits."""

    async def start(self) -> None:
        """`serve` runs no jobs in this mode."""

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None

    # -- consuming (inside `loomworks worker`) ----------------------------------------------------

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Run handlers on `loop` (the worker's event loop thread) and sweep from there."""
        self.loop = loop
        self._loop = loop

        def begin() -> None:
            self._sweeper = asyncio.ensure_future(self._sweep_forever())

        loop.call_soon_threadsafe(begin)

    def _celery_task(self, job_id: str) -> None:
        self.run_coroutine(self.run_one(job_id))

    def run_coroutine(self, coroutine: Coroutine[Any, Any, None]) -> None:
        if self.loop is None:
            raise RuntimeError("the worker's event loop is not attached")
        asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    async def run_one(self, job_id: str) -> None:
        """Claim job `job_id` and run it; a job not claimable now is left to its owner or the sweep."""
        job = await asyncio.to_thread(self._claim_id, job_id)
        if job is None:
            return
        await self._run(job)

    def _claim_id(self, job_id: str) -> Job | None:
        current = now()
        with self.db.session() as session:
            job = session.get(Job, job_id)
            if job is None or job.status != "queued" or job.kind not in self._handlers:
                return None
            if job.run_after > current:
                self.dispatch(job.id, job.kind, countdown=(job.run_after - current).total_seconds())
                return None
            claimed = session.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == "queued")
                .values(
                    status="running", worker=self.worker_id, lease_until=current + self.lease, attempts=Job.attempts + 1
                )
            )
            if not claimed.rowcount:  # type: ignore[attr-defined]
                return None
            session.refresh(job)
            session.expunge(job)
            return job

    def _finish(self, job_id: str, *, error: str | None, permanent: bool) -> None:
        super()._finish(job_id, error=error, permanent=permanent)
        with self.db.session() as session:
            job = session.get(Job, job_id)
            if job is not None and job.status == "queued":
                delay = max((job.run_after - now()).total_seconds(), 0.0)
                self.dispatch(job.id, job.kind, countdown=delay)

    def sweep(self) -> int:
        """Requeue jobs of dead workers and re-send queued jobs nobody took; returns how many were sent."""
        current = now()
        with self.db.session() as session:
            expired = session.execute(
                select(Job.id, Job.kind).where(Job.status == "running", Job.lease_until < current)
            ).all()
            if expired:
                session.execute(
                    update(Job)
                    .where(Job.id.in_([r.id for r in expired]), Job.status == "running", Job.lease_until < current)
                    .values(status="queued", worker=None, lease_until=None)
                )
        sent = 0
        for job_id, kind in expired:
            sent += self.dispatch(job_id, kind)
        grace = max(self.lease.total_seconds(), 5.0)
        stale = current - timedelta(seconds=grace)
        with self.db.session() as session:
            rows = session.execute(
                select(Job.id, Job.kind)
                .where(
                    Job.status == "queued",
                    Job.run_after <= stale,
                    Job.updated_at <= stale,
                    Job.kind.in_(list(self._handlers)),
                )
                .limit(500)
            ).all()
            if rows:
                session.execute(update(Job).where(Job.id.in_([r.id for r in rows])).values(updated_at=current))
        for job_id, kind in rows:
            sent += self.dispatch(job_id, kind)
        return sent

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_seconds)
            try:
                sent = await asyncio.to_thread(self.sweep)
                if sent:
                    log.info("re-sent stuck jobs", extra={"count": sent})
            except Exception:  # noqa: BLE001 - a database hiccup must not end the sweep
                log.exception("job sweep failed")


def start_loop_thread() -> asyncio.AbstractEventLoop:
    """An event loop running in a daemon thread (handlers are coroutines; Celery's pool is threads)."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        loop.run_forever()

    threading.Thread(target=run, name="loomworks-worker-loop", daemon=True).start()
    ready.wait()
    return loop


def worker_argv(*, concurrency: int, queues: tuple[str, ...] = QUEUES, name: str = "loomworks") -> list[str]:
    """Arguments of `celery worker`: a thread pool (handlers await I/O), all queues, no chatter."""
    return [
        "worker",
        "--pool=threads",
        f"--concurrency={concurrency}",
        f"--queues={','.join(queues)}",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        f"--hostname={name}@%h",
        "--loglevel=INFO",
    ]
