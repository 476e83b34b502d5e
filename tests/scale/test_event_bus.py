"""The event bus seam: one behaviour suite for the in-process bus and Redis Streams (a private redis-server)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from loomworks.services.events import EventBus, EventsLostError, LocalEventBus, RedisEventBus
from tests.scale._services import RedisServer, redis_server

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def redis_srv() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


@pytest.fixture(params=["local", "redis"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[EventBus]:
    if request.param == "local":
        yield LocalEventBus()
        return
    server: RedisServer = request.getfixturevalue("redis_srv")
    redis_bus = RedisEventBus(server.url, reconnect_seconds=3)
    yield redis_bus
    await redis_bus.aclose()


async def collect(bus: EventBus, stream: str, after: int = 0, idle: float = 5.0) -> list[tuple[int, dict[str, object]]]:
    return [item async for item in bus.read(stream, after=after, idle_timeout=idle)]


async def test_events_are_numbered_replayed_and_end_with_the_final_one(bus: EventBus) -> None:
    for index in range(3):
        assert await bus.publish("t1", {"event": "message", "answer": str(index)}) == index + 1
    reader = asyncio.ensure_future(collect(bus, "t1"))
    await asyncio.sleep(0.05)
    await bus.publish("t1", {"event": "message_end"}, final=True)
    got = await asyncio.wait_for(reader, 5)
    assert [seq for seq, _ in got] == [1, 2, 3, 4]
    assert got[-1][1] == {"event": "message_end"}
    # Reconnecting with Last-Event-ID 2 gives what follows 2, and nothing after the final event.
    assert [seq for seq, _ in await collect(bus, "t1", after=2)] == [3, 4]
    assert await bus.last_id("t1") == 4


async def test_meta_and_an_idle_stream(bus: EventBus) -> None:
    assert await bus.get_meta("t2") is None
    await bus.set_meta("t2", {"app_id": "a", "owner_key": "u"})
    assert await bus.get_meta("t2") == {"app_id": "a", "owner_key": "u"}
    with pytest.raises(TimeoutError):
        await collect(bus, "t2", idle=0.3)


async def test_a_second_producer_continues_the_numbering(bus: EventBus) -> None:
    await bus.publish("t3", {"n": 1})
    await bus.publish("t3", {"n": 2})
    # Another process knows nothing of the first one's counter.
    other = RedisEventBus(bus.url) if isinstance(bus, RedisEventBus) else bus
    assert await other.publish("t3", {"n": 3}, final=True) == 3
    assert [event["n"] for _, event in await collect(bus, "t3")] == [1, 2, 3]
    if isinstance(other, RedisEventBus) and other is not bus:
        await other.aclose()


async def test_a_redis_restart_is_survived_or_reported(redis_srv: RedisServer) -> None:
    bus = RedisEventBus(redis_srv.url, reconnect_seconds=8)
    await bus.publish("t4", {"n": 1})
    got: list[int] = []

    async def read() -> None:
        async for seq, _ in bus.read("t4", idle_timeout=20):
            got.append(seq)

    reader = asyncio.ensure_future(read())
    await asyncio.sleep(0.2)
    assert got == [1]
    await asyncio.to_thread(redis_srv.restart, 0.5)  # the stream is gone with it (no persistence)
    # The producer goes on: the reader reconnects and, having read everything before, misses nothing.
    await bus.publish("t4", {"n": 2})
    await bus.publish("t4", {"n": 3}, final=True)
    await asyncio.wait_for(reader, 10)
    assert got == [1, 2, 3]

    # Events published before a restart and not read yet are lost: the reader says so.
    await bus.publish("t5", {"n": 1})
    await bus.publish("t5", {"n": 2})
    await asyncio.to_thread(redis_srv.restart, 0.2)
    fresh = RedisEventBus(redis_srv.url)
    fresh._next_seq["t5"] = 3  # the producer's own counter survives (it is the same process)
    await fresh.publish("t5", {"n": 3}, final=True)
    with pytest.raises(EventsLostError):
        await collect(bus, "t5")
    await bus.aclose()
    await fresh.aclose()
