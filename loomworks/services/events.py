"""The event bus: a run's events, from the process that runs it to the process that streams them.

A stream is named by the run's task id. The producer appends events in order, each numbered
`1, 2, 3…` (the number is the SSE `id:` a client sends back as `Last-Event-ID`); the last one is
marked final. A reader replays the stream after a given number and then follows it until the final
event, so a client that reconnects — to any API process — resumes where it stopped.

Two implementations, chosen by settings (DESIGN §2):

- `LocalEventBus`: in this process (the embedded mode; also what the tests of the seam use).
- `RedisEventBus`: Redis Streams, one stream key per run with explicit ids `0-<n>`, expiring
  `ttl` seconds after its last event. Events survive the producer's death, and the explicit ids
  let a reader notice events lost to a Redis restart (a gap in the numbers) instead of streaming
  a silently shortened answer.

Contract for both: `publish` never raises for a bus outage (it retries for `reconnect_seconds`,
then drops the event and logs: the run's result is in the database either way); `read` raises
`EventsLostError` on a gap and `EventBusUnavailableError` when the bus stays unreachable longer
than `reconnect_seconds`; it returns after the final event or raises `TimeoutError` after
`idle_timeout` seconds without an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import orjson

# redis (~40 ms at import) is imported where the Redis bus uses it: the embedded mode never does.
if TYPE_CHECKING:
    import redis.asyncio as aioredis

log = logging.getLogger("loomworks.events")


def _outage() -> tuple[type[BaseException], ...]:
    """The errors that mean "Redis is away" (an `except` evaluates this only when something was raised)."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return (RedisConnectionError, RedisTimeoutError, OSError)


def _response_error() -> type[BaseException]:
    from redis.exceptions import ResponseError

    return ResponseError


class EventsLostError(Exception):
    """The stream skipped events (they were lost, e.g. to a Redis restart)."""

    def __init__(self, expected: int, got: int) -> None:
        super().__init__(f"events {expected}..{got - 1} of the stream were lost")
        self.expected, self.got = expected, got


class EventBusUnavailableError(Exception):
    """The bus could not be reached for longer than the reconnect window."""


class EventBus(Protocol):
    """Ordered, replayable event streams keyed by task id (see the module docstring)."""

    async def publish(self, stream: str, event: dict[str, Any], *, final: bool = False) -> int: ...

    def read(
        self, stream: str, *, after: int = 0, idle_timeout: float = 60.0
    ) -> AsyncIterator[tuple[int, dict[str, Any]]]: ...

    async def last_id(self, stream: str) -> int: ...

    async def set_meta(self, stream: str, meta: dict[str, str]) -> None: ...

    async def get_meta(self, stream: str) -> dict[str, str] | None: ...


@dataclass
class _LocalStream:
    events: list[tuple[dict[str, Any], bool]] = field(default_factory=list)
    meta: dict[str, str] | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    touched: float = field(default_factory=time.monotonic)


class LocalEventBus:
    """Streams in this process's memory; forgotten `ttl` seconds after their last event."""

    def __init__(self, ttl: float = 600.0) -> None:
        self.ttl = ttl
        self._streams: dict[str, _LocalStream] = {}

    def _stream(self, name: str) -> _LocalStream:
        stream = self._streams.get(name)
        if stream is None:
            self._expire()
            stream = self._streams[name] = _LocalStream()
        return stream

    def _expire(self) -> None:
        cutoff = time.monotonic() - self.ttl
        for name in [n for n, s in self._streams.items() if s.touched < cutoff]:
            del self._streams[name]

    async def publish(self, stream: str, event: dict[str, Any], *, final: bool = False) -> int:
        state = self._stream(stream)
        state.events.append((event, final))
        state.touched = time.monotonic()
        state.changed.set()
        state.changed = asyncio.Event()
        return len(state.events)

    async def read(
        self, stream: str, *, after: int = 0, idle_timeout: float = 60.0
    ) -> AsyncIterator[tuple[int, dict[str, Any]]]:
        state = self._stream(stream)
        position = after
        while True:
            while position < len(state.events):
                event, final = state.events[position]
                position += 1
                yield position, event
                if final:
                    return
            waiter = state.changed
            try:
                await asyncio.wait_for(waiter.wait(), idle_timeout)
            except TimeoutError:
                raise TimeoutError(f"no event on {stream} for {idle_timeout:g} s") from None

    async def last_id(self, stream: str) -> int:
        state = self._streams.get(stream)
        return len(state.events) if state else 0

    async def set_meta(self, stream: str, meta: dict[str, str]) -> None:
        self._stream(stream).meta = dict(meta)

    async def get_meta(self, stream: str) -> dict[str, str] | None:
        state = self._streams.get(stream)
        return dict(state.meta) if state and state.meta is not None else None


class RedisEventBus:
    """Redis Streams: `<prefix>:run:<task id>` with ids `0-<n>`; meta in `<prefix>:run:<task id>:meta`."""

    def __init__(
        self,
        url: str,
        *,
        ttl: int = 600,
        reconnect_seconds: float = 10.0,
        prefix: str = "loomworks",
        max_connections: int = 2000,
    ) -> None:
        self.url = url
        self.ttl = ttl
        self.reconnect_seconds = reconnect_seconds
        self.prefix = prefix
        self.max_connections = max_connections
        # A blocking XREAD holds its connection, so each live reader needs one; clients are made per
        # event loop (a worker's loop thread, the server's loop, a test's loop).
        self._clients: dict[int, aioredis.Redis] = {}
        self._next_seq: dict[str, int] = {}

    def _client(self) -> aioredis.Redis:
        loop = asyncio.get_running_loop()
        client = self._clients.get(id(loop))
        if client is None:
            import redis.asyncio as aioredis

            client = aioredis.Redis.from_url(
                self.url,
                max_connections=self.max_connections,
                socket_connect_timeout=2,
                socket_timeout=15,  # above the 5 s XREAD block, so only a dead server times out
                health_check_interval=15,
            )
            self._clients[id(loop)] = client
        return client

    def _key(self, stream: str) -> str:
        return f"{self.prefix}:run:{stream}"

    async def _retrying(self, what: str, call: Any) -> Any:
        """Run `call()` until it succeeds or the bus has been away for `reconnect_seconds`."""
        started = time.monotonic()
        delay = 0.1
        while True:
            try:
                return await call()
            except _outage() as exc:
                if time.monotonic() - started > self.reconnect_seconds:
                    raise EventBusUnavailableError(f"Redis unreachable during {what}: {exc}") from exc
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)

    async def last_id(self, stream: str) -> int:
        async def call() -> int:
            entries = await self._client().xrevrange(self._key(stream), count=1)
            return int(entries[0][0].split(b"-")[1]) if entries else 0

        return int(await self._retrying("xrevrange", call))

    async def publish(self, stream: str, event: dict[str, Any], *, final: bool = False) -> int:
        key = self._key(stream)
        try:
            seq = self._next_seq.get(stream)
            if seq is None:
                # A retried run continues the numbering of the attempt that died.
                seq = await self.last_id(stream) + 1
            fields: dict[str | bytes, bytes | str] = {"d": orjson.dumps(event)}
            if final:
                fields["f"] = "1"

            async def call() -> None:
                async with self._client().pipeline(transaction=True) as pipe:
                    pipe.xadd(key, fields, id=f"0-{seq}")
                    pipe.expire(key, self.ttl)
                    await pipe.execute()

            await self._retrying("publish", call)
        except EventBusUnavailableError:
            log.warning("event dropped: the bus is unreachable", extra={"stream": stream})
            return 0
        except _response_error() as exc:
            # An id at or below the top: another producer wrote meanwhile; renumber from the stream.
            log.warning("event numbering resynchronised", extra={"stream": stream, "error": str(exc)})
            self._next_seq.pop(stream, None)
            return 0
        if final:
            self._next_seq.pop(stream, None)
        else:
            self._next_seq[stream] = seq + 1
        return seq

    async def read(
        self, stream: str, *, after: int = 0, idle_timeout: float = 60.0
    ) -> AsyncIterator[tuple[int, dict[str, Any]]]:
        key = self._key(stream)
        position = after
        idle_since = time.monotonic()
        down_since: float | None = None
        block_ms = int(min(idle_timeout, 5.0) * 1000)
        while True:
            try:
                answer = await self._client().xread({key: f"0-{position}"}, count=200, block=block_ms)
                down_since = None
            except _outage() as exc:
                down_since = down_since or time.monotonic()
                if time.monotonic() - down_since > self.reconnect_seconds:
                    raise EventBusUnavailableError(f"Redis unreachable: {exc}") from exc
                idle_since = time.monotonic()  # an outage is not the producer's silence
                await asyncio.sleep(0.2)
                continue
            if not answer:
                if time.monotonic() - idle_since > idle_timeout:
                    raise TimeoutError(f"no event on {stream} for {idle_timeout:g} s")
                continue
            idle_since = time.monotonic()
            for raw_id, fields in answer[0][1]:
                seq = int(raw_id.split(b"-")[1])
                if seq != position + 1:
                    raise EventsLostError(position + 1, seq)
                position = seq
                yield seq, orjson.loads(fields[b"d"])
                if fields.get(b"f"):
                    return

    async def set_meta(self, stream: str, meta: dict[str, str]) -> None:
        key = self._key(stream) + ":meta"

        async def call() -> None:
            async with self._client().pipeline(transaction=True) as pipe:
                pipe.hset(key, mapping=meta)
                pipe.expire(key, self.ttl)
                await pipe.execute()

        await self._retrying("set_meta", call)

    async def get_meta(self, stream: str) -> dict[str, str] | None:
        async def call() -> dict[bytes, bytes]:
            return await self._client().hgetall(self._key(stream) + ":meta")

        raw = await self._retrying("get_meta", call)
        return {k.decode(): v.decode() for k, v in raw.items()} if raw else None

    async def aclose(self) -> None:
        """Close the connection pool of the running loop."""
        with contextlib.suppress(RuntimeError):
            client = self._clients.pop(id(asyncio.get_running_loop()), None)
            if client is not None:
                await client.aclose()
