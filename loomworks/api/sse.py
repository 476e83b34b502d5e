"""Server-sent events the way Dify writes them: `data: <json>` blocks, `event: ping` every 10 s."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.responses import StreamingResponse

from loomworks.api.responses import dumps

PING = b"event: ping\n\n"
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Connection": "keep-alive"}


def encode(event: dict[str, Any]) -> bytes:
    return b"data: " + dumps(event) + b"\n\n"


async def with_pings(events: AsyncIterator[dict[str, Any]], interval: float) -> AsyncIterator[bytes]:
    """Encode `events`, writing a ping whenever `interval` seconds pass without one.

    The pending `anext()` is never cancelled by a ping (that would break the generator); it is
    awaited again after each ping.
    """
    iterator = aiter(events)
    pending: asyncio.Task[dict[str, Any]] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(iterator))
            done, _ = await asyncio.wait({pending}, timeout=interval)
            if not done:
                yield PING
                continue
            try:
                event = pending.result()
            except StopAsyncIteration:
                return
            finally:
                pending = None
            yield encode(event)
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()


def sse_response(events: AsyncIterator[dict[str, Any]], *, ping_interval: float = 10.0) -> StreamingResponse:
    return StreamingResponse(with_pings(events, ping_interval), media_type="text/event-stream", headers=HEADERS)
