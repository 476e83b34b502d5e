"""One writer for the records a turn saves before its final event (conversation, message, usage).

Every turn used to open its own transaction in the shared thread pool; under load on SQLite those
transactions queued for the single write lock, each waiting in the busy handler's sleeps (the pool
has 40 threads, and all of them could be waiting). Here the writes go through one thread: a turn
hands over a function that adds its rows to a session, and all turns waiting at that moment are
committed in one transaction. `write` returns only after the commit, so a client that reads the
message right after `message_end` finds it.

A batch that fails is retried one turn at a time, so one bad turn never takes its neighbours down.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.orm import Session

from loomworks.store.db import Database

log = logging.getLogger("loomworks.chat")

Records = Callable[[Session], None]
_Pending = tuple[Records, "asyncio.Future[None]", asyncio.AbstractEventLoop]


class RecordWriter:
    """Commits the records of concurrent turns together, in one thread, in arrival order."""

    def __init__(self, db: Database, *, max_batch: int = 64) -> None:
        self.db = db
        self.max_batch = max_batch
        self._pending: list[_Pending] = []
        self._lock = threading.Lock()
        self._draining = False
        self._thread: ThreadPoolExecutor | None = None  # started by the first write after `close`

    def write(self, records: Records) -> asyncio.Future[None]:
        """Queue `records` (called with the batch's session); the future resolves after the commit."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            self._pending.append((records, future, loop))
            start = not self._draining
            self._draining = True
            if start and self._thread is None:
                self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="loomworks-writes")
            thread = self._thread
        if start and thread is not None:
            thread.submit(self._drain)
        return future

    def _drain(self) -> None:
        while True:
            with self._lock:
                batch = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
                if not batch:
                    self._draining = False
                    return
            self._commit(batch)

    def _commit(self, batch: list[_Pending]) -> None:
        try:
            self._transaction([records for records, _, _ in batch])
        except Exception as exc:  # noqa: BLE001 - each turn gets its own error below
            if len(batch) == 1:
                _settle(batch[0], exc)
                return
            for item in batch:
                try:
                    self._transaction([item[0]])
                except Exception as single:  # noqa: BLE001 - handed to the turn that owns it
                    _settle(item, single)
                else:
                    _settle(item, None)
            return
        for item in batch:
            _settle(item, None)

    def _transaction(self, batch: list[Records]) -> None:
        with self.db.session() as session:
            for records in batch:
                records(session)

    def close(self) -> None:
        """Finish the queued writes and stop the thread (a later write starts a new one)."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.shutdown(wait=True)


def _settle(item: _Pending, error: BaseException | None) -> None:
    _, future, loop = item

    def resolve() -> None:
        if future.done():  # the turn was cancelled (client gone); its rows are written all the same
            return
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)

    try:
        loop.call_soon_threadsafe(resolve)
    except RuntimeError:  # the loop closed while the write ran (shutdown)
        log.debug("write finished after its event loop closed")
