"""The tracing dispatcher: traces leave the answer's path at once and reach their collector at least once.

`submit` is O(1) and never blocks or raises: it appends to a bounded in-memory queue. Worker tasks
take batches, group them by app, look up each app's destination (cached for a few seconds), encode
and send one request per group. A failed send is retried with exponential backoff (timers, so no
worker sleeps); after `max_attempts` the items go to the outbox table.

Back-pressure: when the queue is full, new traces are not dropped but spilled, in batches by one
background task, to the `trace_outbox` table; the outbox drainer sends them once the queue has room
again, and keeps retrying failed outbox rows with a longer backoff until they are delivered (or the
app's tracing config is deleted). At shutdown whatever is still queued, waiting for a retry or in
flight goes to the outbox too, and the next start resumes it. Delivery is at least once: items keep
their ids across retries, so collectors that deduplicate by id (Langfuse, LangSmith) store them once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import delete, func, or_, select, update

from loomworks.core.clock import now
from loomworks.core.crypto import KeyRing
from loomworks.core.ssrf import OutboundRequestError, ResponseTooLargeError, SafeHttpClient, SSRFBlockedError
from loomworks.services.tracing.config import Destination, destination
from loomworks.services.tracing.events import Trace
from loomworks.services.tracing.exporter import EXPORTERS, ExportError
from loomworks.store.db import Database
from loomworks.store.tables import TraceOutbox

log = logging.getLogger("loomworks.tracing")


class TraceSink(Protocol):
    """What the chat pipeline and the workflow service call (never blocks, never raises)."""

    def wants(self, app_id: str) -> bool: ...

    def submit(self, trace: Trace) -> None: ...


@dataclass
class DispatchOptions:
    """Tuning of the dispatcher (the defaults suit a server; tests shorten the waits)."""

    max_queue: int = 10_000
    batch_size: int = 100
    workers: int = 4
    max_attempts: int = 4
    backoff_seconds: float = 0.5
    max_backoff_seconds: float = 30.0
    outbox_poll_seconds: float = 5.0
    outbox_max_backoff_seconds: float = 600.0
    outbox_lease_seconds: float = 120.0
    request_timeout_seconds: float = 10.0
    config_ttl_seconds: float = 5.0
    drain_seconds: float = 3.0


@dataclass
class DispatchStats:
    submitted: int = 0
    sent_requests: int = 0
    sent_items: int = 0
    failed_requests: int = 0
    retries: int = 0
    spilled: int = 0
    from_outbox: int = 0
    rejected_items: int = 0
    skipped: int = 0  # traces of apps without an active destination


@dataclass
class _Entry:
    app_id: str
    trace: Trace | None = None
    provider: str | None = None
    items: list[dict[str, Any]] = field(default_factory=list)
    attempt: int = 0
    error: str | None = None


class TraceDispatcher:
    """One per process; `start` in the server's lifespan, `stop` at shutdown."""

    def __init__(
        self, db: Database, keyring: KeyRing | None, http: SafeHttpClient, options: DispatchOptions | None = None
    ) -> None:
        self.db = db
        self.keyring = keyring
        self.http = http
        self.options = options or DispatchOptions()
        self.stats = DispatchStats()
        self._queue: deque[_Entry] = deque()
        self._spill: list[_Entry] = []
        self._timers: dict[int, tuple[asyncio.TimerHandle, _Entry]] = {}
        self._inflight: dict[int, list[_Entry]] = {}
        self._ids = itertools.count()
        self._cache: dict[tuple[str, str | None], tuple[float, Destination | None]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self._spill_wake = asyncio.Event()
        self._outbox_wake = asyncio.Event()
        self._outbox_pending = True  # rows may be left from an earlier process
        self._spilling: tuple[list[_Entry], asyncio.Future[None]] | None = None
        self._claimed: set[str] = set()
        self._lock = threading.Lock()

    # -- the answer's side -------------------------------------------------------------------------

    def wants(self, app_id: str) -> bool:
        """False only when the app is known (recently) to have no active destination."""
        cached = self._cache.get((app_id, None))
        return cached is None or cached[0] < time.monotonic() or cached[1] is not None

    def submit(self, trace: Trace) -> None:
        """Queue `trace` for export; never blocks the caller and never raises."""
        try:
            self.stats.submitted += 1
            entry = _Entry(app_id=trace.app_id, trace=trace)
            loop = self._loop
            if loop is None or loop.is_closed():
                self._offline(entry)
                return
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                self._accept(entry)
            else:
                loop.call_soon_threadsafe(self._accept, entry)
        except Exception:  # noqa: BLE001 - tracing must never break an answer
            log.exception("could not queue a trace")

    def invalidate(self, app_id: str) -> None:
        """Forget the cached destination of `app_id` (after its tracing settings changed)."""
        for key in [k for k in self._cache if k[0] == app_id]:
            self._cache.pop(key, None)

    def _offline(self, entry: _Entry) -> None:
        # Not running (a CLI or a test without the lifespan): keep what fits, store the rest.
        with self._lock:
            if len(self._queue) < self.options.max_queue:
                self._queue.append(entry)
                return
        self.stats.spilled += 1
        self._write_outbox([entry])

    def _accept(self, entry: _Entry) -> None:
        if len(self._queue) < self.options.max_queue:
            self._queue.append(entry)
            self._wake.set()
            return
        self.stats.spilled += 1
        self._spill.append(entry)
        self._spill_wake.set()

    # -- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is loop and any(not t.done() for t in self._tasks):
            return
        self._loop = loop
        self._wake, self._spill_wake, self._outbox_wake = asyncio.Event(), asyncio.Event(), asyncio.Event()
        self._outbox_pending = True
        self._tasks = [asyncio.create_task(self._work(i)) for i in range(self.options.workers)]
        self._tasks += [asyncio.create_task(self._spiller()), asyncio.create_task(self._drain_outbox())]
        if self._queue:
            self._wake.set()
        self._outbox_wake.set()

    async def stop(self) -> None:
        """Send what can be sent within `drain_seconds`, then store the rest in the outbox."""
        try:
            await self._stop()
        finally:  # the pool is closed even when storing the rest failed
            await self.http.aclose()

    async def _stop(self) -> None:
        deadline = time.monotonic() + self.options.drain_seconds
        while (self._queue or self._inflight) and time.monotonic() < deadline:  # noqa: ASYNC110 - shutdown only
            await asyncio.sleep(0.01)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        left = list(self._queue) + self._spill
        if self._spilling is not None:
            chunk, write = self._spilling
            self._spilling = None
            if (await asyncio.gather(write, return_exceptions=True))[0] is not None:
                left += chunk
        self._queue.clear()
        self._spill = []
        for handle, entry in self._timers.values():
            handle.cancel()
            left.append(entry)
        self._timers.clear()
        for entries in self._inflight.values():
            left.extend(entries)
        self._inflight.clear()
        self._loop = None
        if left:
            self.stats.spilled += len(left)
            await asyncio.to_thread(self._write_outbox, left)
        if self._claimed:
            await asyncio.to_thread(self._release, set(self._claimed))

    def pending(self) -> int:
        """Traces or item groups held in memory (queued, waiting for a retry, in flight, to spill)."""
        return len(self._queue) + len(self._timers) + sum(len(v) for v in self._inflight.values()) + len(self._spill)

    def outbox_size(self) -> int:
        with self.db.session() as session:
            return int(session.scalar(select(func.count()).select_from(TraceOutbox)) or 0)

    # -- workers -----------------------------------------------------------------------------------

    async def _work(self, index: int) -> None:
        while True:
            while not self._queue:
                if self._outbox_pending:
                    self._outbox_wake.set()
                self._wake.clear()
                await self._wake.wait()
            count = min(len(self._queue), self.options.batch_size)
            batch = [self._queue.popleft() for _ in range(count)]
            key = next(self._ids)
            self._inflight[key] = batch
            try:
                await self._deliver(batch)
            except asyncio.CancelledError:
                raise  # stopping: `stop` stores the batch still marked in flight
            except Exception:  # noqa: BLE001 - one bad batch must not stop the worker
                log.exception("delivering traces failed", extra={"worker": index})
            self._inflight.pop(key, None)

    async def _resolve(self, app_id: str, provider: str | None) -> Destination | None:
        key = (app_id, provider)
        cached = self._cache.get(key)
        if cached is not None and cached[0] >= time.monotonic():
            return cached[1]

        def load() -> Destination | None:
            if self.keyring is None:
                return None
            with self.db.session() as session:
                return destination(session, self.keyring, app_id=app_id, provider=provider)

        found = await asyncio.to_thread(load)
        self._cache[key] = (time.monotonic() + self.options.config_ttl_seconds, found)
        return found

    async def _group(self, batch: list[_Entry]) -> list[tuple[Destination, list[dict[str, Any]], int]]:
        """(destination, items, attempt) per app and provider; entries without a destination are skipped."""
        groups: dict[tuple[str, str | None, int], list[_Entry]] = {}
        for entry in batch:
            groups.setdefault((entry.app_id, entry.provider, entry.attempt), []).append(entry)
        out = []
        for (app_id, provider, attempt), entries in groups.items():
            dest = await self._resolve(app_id, provider)
            if dest is None:
                self.stats.skipped += len(entries)
                continue
            items: list[dict[str, Any]] = []
            exporter = EXPORTERS[dest.provider]
            for entry in entries:
                if entry.trace is None:
                    items.extend(entry.items)
                    continue
                try:
                    items.extend(exporter.encode(entry.trace, dest.config))
                except Exception:  # noqa: BLE001 - a trace we cannot encode is a bug to log, not to retry
                    log.exception("could not encode a trace", extra={"trace_id": entry.trace.id})
                    self.stats.rejected_items += 1
            if items:
                out.append((dest, items, attempt))
        return out

    async def _deliver(self, batch: list[_Entry]) -> None:
        for dest, items, attempt in await self._group(batch):
            retry, error = await self._attempt(dest, items)
            if retry:
                self._retry(_Entry(dest.app_id, provider=dest.provider, items=retry, attempt=attempt + 1, error=error))

    async def _attempt(self, dest: Destination, items: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str]:
        """Send once; returns the items to send again (none when delivered or refused for good)."""
        exporter = EXPORTERS[dest.provider]
        try:
            result = await exporter.send(self.http, dest.config, items, seconds=self.options.request_timeout_seconds)
        except ExportError as exc:
            return self._failed(items, str(exc), retryable=exc.retryable)
        except (SSRFBlockedError, ResponseTooLargeError) as exc:
            return self._failed(items, exc.message, retryable=False)
        except OutboundRequestError as exc:
            return self._failed(items, exc.message, retryable=True)
        self.stats.sent_requests += 1
        self.stats.sent_items += max(len(items) - len(result.retry) - result.rejected, 0)
        self.stats.rejected_items += result.rejected
        return result.retry, "some items failed"

    def _failed(self, items: list[dict[str, Any]], error: str, *, retryable: bool) -> tuple[list[dict[str, Any]], str]:
        self.stats.failed_requests += 1
        if not retryable:
            self.stats.rejected_items += len(items)
            log.warning("a tracing collector refused a batch", extra={"error": error, "items": len(items)})
            return [], error
        return items, error

    def _retry(self, entry: _Entry) -> None:
        if entry.attempt >= self.options.max_attempts:
            self.stats.spilled += 1
            self._spill.append(entry)
            self._spill_wake.set()
            return
        self.stats.retries += 1
        delay = min(self.options.backoff_seconds * 2 ** (entry.attempt - 1), self.options.max_backoff_seconds)
        delay *= random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not security
        key = next(self._ids)
        assert self._loop is not None
        handle = self._loop.call_later(delay, self._requeue, key)
        self._timers[key] = (handle, entry)

    def _requeue(self, key: int) -> None:
        found = self._timers.pop(key, None)
        if found is not None:
            # A retry already holds memory: it goes to the front, past the bound, rather than to disk.
            self._queue.appendleft(found[1])
            self._wake.set()

    # -- the outbox --------------------------------------------------------------------------------

    def _write_outbox(self, entries: list[_Entry]) -> None:
        current = now()
        with self.db.session() as session:
            for entry in entries:
                if entry.trace is not None:
                    payload: dict[str, Any] = {"trace": entry.trace.to_dict()}
                    due = current
                else:
                    payload = {"items": entry.items}
                    due = current + timedelta(seconds=self._outbox_backoff(entry.attempt))
                session.add(
                    TraceOutbox(
                        app_id=entry.app_id,
                        provider=entry.provider,
                        payload=payload,
                        attempts=entry.attempt,
                        next_attempt_at=due,
                        last_error=entry.error,
                    )
                )
        self._outbox_pending = True

    def _release(self, ids: set[str]) -> None:
        # Rows this process was sending when it stopped: the next start may take them at once.
        with self.db.session() as session:
            session.execute(update(TraceOutbox).where(TraceOutbox.id.in_(ids)).values(lease_until=None))
        self._claimed -= ids

    def _outbox_backoff(self, attempts: int) -> float:
        base = self.options.backoff_seconds * 2 ** min(attempts, 20)
        return min(base, self.options.outbox_max_backoff_seconds)

    async def _spiller(self) -> None:
        while True:
            await self._spill_wake.wait()
            self._spill_wake.clear()
            while self._spill:
                chunk, self._spill = self._spill[:500], self._spill[500:]
                # Shielded, and remembered, so that `stop` waits for a write in progress instead of losing it.
                self._spilling = (chunk, asyncio.get_running_loop().run_in_executor(None, self._write_outbox, chunk))
                try:
                    await asyncio.shield(self._spilling[1])
                except asyncio.CancelledError:
                    raise
                except Exception:  # noqa: BLE001 - the database may be down for a moment: keep them, try again
                    log.exception("could not store traces in the outbox")
                    self._spilling = None
                    self._spill[:0] = chunk
                    await asyncio.sleep(1.0)
                self._spilling = None

    def _claim(self, limit: int) -> list[TraceOutbox]:
        current = now()
        lease = current + timedelta(seconds=self.options.outbox_lease_seconds)
        with self.db.session() as session:
            rows = session.scalars(
                select(TraceOutbox)
                .where(
                    TraceOutbox.next_attempt_at <= current,
                    or_(TraceOutbox.lease_until.is_(None), TraceOutbox.lease_until < current),
                )
                .order_by(TraceOutbox.next_attempt_at)
                .limit(limit)
            ).all()
            claimed = []
            for row in rows:
                # Another process may claim the same row: the lease condition lets one of them win.
                won = session.execute(
                    update(TraceOutbox)
                    .where(
                        TraceOutbox.id == row.id,
                        or_(TraceOutbox.lease_until.is_(None), TraceOutbox.lease_until < current),
                    )
                    .values(lease_until=lease)
                )
                if won.rowcount:  # type: ignore[attr-defined]
                    claimed.append(row)
            for row in claimed:
                session.expunge(row)
            if not rows:
                self._outbox_pending = bool(session.scalar(select(func.count()).select_from(TraceOutbox)))
            return claimed

    def _settle(self, outcomes: list[tuple[TraceOutbox, list[dict[str, Any]], str | None, str]]) -> None:
        """Delete delivered rows; reschedule the others with what is left of them."""
        with self.db.session() as session:
            for row, retry, provider, error in outcomes:
                if not retry:
                    session.execute(delete(TraceOutbox).where(TraceOutbox.id == row.id))
                    continue
                attempts = row.attempts + 1
                session.execute(
                    update(TraceOutbox)
                    .where(TraceOutbox.id == row.id)
                    .values(
                        payload={"items": retry},
                        provider=provider,
                        attempts=attempts,
                        lease_until=None,
                        last_error=error[:2000],
                        next_attempt_at=now() + timedelta(seconds=self._outbox_backoff(attempts)),
                    )
                )

    async def _send_rows(self, rows: list[TraceOutbox]) -> None:
        """One request per destination for the claimed rows, then one transaction to settle them."""
        self.stats.from_outbox += len(rows)
        groups: dict[tuple[str, str | None], list[TraceOutbox]] = {}
        for row in rows:
            groups.setdefault((row.app_id, row.provider), []).append(row)
        outcomes: list[tuple[TraceOutbox, list[dict[str, Any]], str | None, str]] = []
        for (app_id, provider), members in groups.items():
            dest = await self._resolve(app_id, provider)
            if dest is None:
                # Tracing was switched off or its config deleted since: nothing to deliver to.
                self.stats.skipped += len(members)
                outcomes += [(row, [], None, "") for row in members]
                continue
            exporter = EXPORTERS[dest.provider]
            per_row: list[tuple[TraceOutbox, list[dict[str, Any]]]] = []
            for row in members:
                if "trace" in row.payload:
                    per_row.append((row, exporter.encode(Trace.from_dict(row.payload["trace"]), dest.config)))
                else:
                    per_row.append((row, list(row.payload.get("items") or [])))
            retry, error = await self._attempt(dest, [item for _, items in per_row for item in items])
            again = {id(item) for item in retry}
            outcomes += [(row, [i for i in items if id(i) in again], dest.provider, error) for row, items in per_row]
        await asyncio.to_thread(self._settle, outcomes)

    def _has_room(self) -> bool:
        return len(self._queue) + len(self._timers) < self.options.max_queue // 2

    async def _drain_outbox(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outbox_wake.wait(), timeout=self.options.outbox_poll_seconds)
            self._outbox_wake.clear()
            while self._has_room():
                try:
                    rows = await asyncio.to_thread(self._claim, self.options.batch_size)
                except Exception:  # noqa: BLE001 - retried on the next poll
                    log.exception("could not read the tracing outbox")
                    break
                if not rows:
                    break
                self._claimed |= {row.id for row in rows}
                try:
                    await self._send_rows(rows)
                except Exception:  # noqa: BLE001 - the rows' leases expire and they are tried again
                    log.exception("could not deliver traces from the outbox")
                self._claimed -= {row.id for row in rows}
