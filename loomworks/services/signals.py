"""Signals between processes over Redis: stop-generation and key-cache invalidation (the scaled mode).

`RedisSignals` is one pub/sub listener thread per process that survives Redis restarts. On top of it:

- `RedisTaskRegistry`: the `TaskRegistry` interface, with each running task's owner recorded in
  Redis, so a stop request reaching any API process stops the generation on whichever process
  (API or worker) runs it.
- `SharedAppKeyCache`: the `AppKeyCache` whose `clear()` clears every process's copy at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import redis
from redis.exceptions import RedisError

from loomworks.services.api_keys import AppKeyCache
from loomworks.services.chat.tasks import RunningTask, TaskRegistry

log = logging.getLogger("loomworks.signals")

STOP_CHANNEL = "loomworks:stop"
KEYS_CHANNEL = "loomworks:keys"
TASK_TTL_SECONDS = 3600


class RedisSignals:
    """A pub/sub listener thread: after `on(channel, handler)` and `start()`, `handler(message)` runs for
    each message, in the listener thread."""

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
        self._url = url
        self._handlers: dict[str, Callable[[str], None]] = {}
        self._reconnect_hooks: list[Callable[[], None]] = []
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    def on(self, channel: str, handler: Callable[[str], None]) -> None:
        """Listen on `channel` (register every channel before `start`)."""
        self._handlers[channel] = handler

    def on_reconnect(self, hook: Callable[[], None]) -> None:
        """Called after the listener got back a lost connection (messages sent meanwhile were missed)."""
        self._reconnect_hooks.append(hook)

    def publish(self, channel: str, message: str) -> bool:
        try:
            self.client.publish(channel, message)
        except RedisError:
            log.warning("could not publish a signal", extra={"channel": channel})
            return False
        return True

    def start(self) -> None:
        """Start the listener thread (idempotent)."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._listen, name="loomworks-signals", daemon=True)
                self._thread.start()

    def _listen(self) -> None:
        connected_before = False
        while not self._stopping.is_set():
            listener = redis.Redis.from_url(self._url, socket_connect_timeout=1, health_check_interval=10)
            pubsub = listener.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(*self._handlers)
                if connected_before:
                    for hook in self._reconnect_hooks:
                        hook()
                connected_before = True
                while not self._stopping.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    handler = self._handlers.get(message["channel"].decode())
                    if handler is not None:
                        handler(message["data"].decode())
            except (RedisError, OSError):
                time.sleep(0.5)  # Redis is away: try again shortly
            except Exception:  # noqa: BLE001 - a handler's bug must not end the listener
                log.exception("signal handler failed")
            finally:
                pubsub.close()
                listener.close()

    def close(self) -> None:
        self._stopping.set()
        self.client.close()


class RedisTaskRegistry(TaskRegistry):
    """Running tasks of this process, plus their owners in Redis so any process may stop them."""

    def __init__(self, signals: RedisSignals) -> None:
        super().__init__()
        self.signals = signals
        self._loops: dict[str, asyncio.AbstractEventLoop] = {}
        # Redis writes leave the event loop (an outage must not stall streaming), in order.
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="loomworks-tasks")
        signals.on(STOP_CHANNEL, self._stop_local)

    @staticmethod
    def _key(task_id: str) -> str:
        return f"loomworks:task:{task_id}"

    def start(self, *, task_id: str, app_id: str, owner_key: str) -> RunningTask:
        task = super().start(task_id=task_id, app_id=app_id, owner_key=owner_key)
        with contextlib.suppress(RuntimeError):  # started outside a loop: stop flags are set directly
            self._loops[task_id] = asyncio.get_running_loop()
        self._writer.submit(self._record, task_id, app_id, owner_key)
        return task

    def _record(self, task_id: str, app_id: str, owner_key: str) -> None:
        try:
            with self.signals.client.pipeline(transaction=True) as pipe:
                pipe.hset(self._key(task_id), mapping={"app_id": app_id, "owner_key": owner_key})
                pipe.expire(self._key(task_id), TASK_TTL_SECONDS)
                pipe.execute()
        except RedisError:
            log.warning("could not record a running task (stop works on this process only)")

    def finish(self, task_id: str) -> None:
        super().finish(task_id)
        self._loops.pop(task_id, None)
        self._writer.submit(self._forget, task_id)

    def _forget(self, task_id: str) -> None:
        with contextlib.suppress(RedisError):  # it expires anyway
            self.signals.client.delete(self._key(task_id))

    def request_stop(self, *, task_id: str, app_id: str, owner_key: str) -> bool:
        local = self._tasks.get(task_id)
        if local is not None:
            if local.app_id != app_id or local.owner_key != owner_key:
                return False
            self._set(task_id)
            return True
        try:
            owner = self.signals.client.hgetall(self._key(task_id))
        except RedisError:
            return False
        if owner.get(b"app_id", b"").decode() != app_id or owner.get(b"owner_key", b"").decode() != owner_key:
            return False
        return self.signals.publish(STOP_CHANNEL, task_id)

    def _stop_local(self, task_id: str) -> None:
        if task_id in self._tasks:
            self._set(task_id)

    def _set(self, task_id: str) -> None:
        task = self._tasks.get(task_id)
        if task is None:
            return
        loop = self._loops.get(task_id)
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(task.stop.set)
        else:
            task.stop.set()


class SharedAppKeyCache(AppKeyCache):
    """An `AppKeyCache` whose `clear()` reaches every process; cleared too after a lost connection."""

    def __init__(self, signals: RedisSignals, ttl: float = 5.0, max_entries: int = 10_000) -> None:
        super().__init__(ttl=ttl, max_entries=max_entries)
        self.signals = signals
        signals.on(KEYS_CHANNEL, lambda _: self.clear_local())
        signals.on_reconnect(self.clear_local)

    def clear(self) -> None:
        self.clear_local()
        self.signals.publish(KEYS_CHANNEL, "clear")

    def clear_local(self) -> None:
        super().clear()
