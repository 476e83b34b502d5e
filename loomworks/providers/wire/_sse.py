"""A small server-sent-events reader shared by the wire adapters.

`sse_events(response, provider=…)` turns `httpx.Response.aiter_lines()` into an async iterator of
`(event, data)` pairs, following the WHATWG framing: `field: value` lines, a blank line dispatches
the event, several `data:` lines join with `\\n`, lines starting with `:` are comments
(keep-alives), one space after the colon is dropped, `id:`/`retry:` are ignored. `event` is `""`
when the server named none (the OpenAI style); `data` is the raw text, which the caller decodes.

Ending a stream — pick what the format promises:
- `terminator="[DONE]"` (OpenAI): a data value that ends the stream; it is not yielded.
- `end_event="message_stop"` (Anthropic): an event name that ends the stream; it IS yielded, last.
- `required=True`: the body must not end before that marker (or, with neither set, before the
  caller stops iterating); otherwise `InvokeConnectionError` is raised.

When the marker arrives, the reader first reads the rest of the body (briefly, at most
`DRAIN_SECONDS`): httpx pools a connection only when its body was read to the end, so a caller
that `break`s at the end marker would otherwise pay for a new connection on its next call.
Network failures while reading (httpx `TransportError`, which includes a connection cut mid-body)
become `InvokeConnectionError` too.

Example::

    async with http.stream("POST", url, json=body) as response:
        events = sse_events(response, provider="openai", terminator="[DONE]", required=True)
        async with contextlib.aclosing(events):
            async for event, data in events:
                chunk = json.loads(data)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx

from loomworks.providers.errors import InvokeConnectionError

DRAIN_SECONDS = 0.5


async def sse_events(
    response: httpx.Response,
    *,
    provider: str,
    terminator: str | None = None,
    end_event: str | None = None,
    required: bool = False,
) -> AsyncIterator[tuple[str, str]]:
    """Yield `(event, data)` for each event of an SSE response.

    Args:
        response: an open streaming response (`async with client.stream(...) as response`).
        provider: the provider name, for the `[provider] ` prefix of error messages.
        terminator: a data value that ends the stream (e.g. `"[DONE]"`); not yielded.
        end_event: an event name that ends the stream (e.g. `"message_stop"`); yielded last.
        required: raise `InvokeConnectionError` when the body ends before the end marker.

    Raises:
        InvokeConnectionError: the connection broke, or a required end marker never came.
    """
    lines = response.aiter_lines()
    event = ""
    data: list[str] = []
    try:
        async for line in lines:
            if line:
                if not line.startswith(":"):
                    name, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if name == "data":
                        data.append(value)
                    elif name == "event":
                        event = value
                continue
            if data:
                text = "\n".join(data)
                if terminator is not None and text == terminator:
                    await _drain(lines)
                    return
                if end_event is not None and event == end_event:
                    await _drain(lines)
                    yield event, text
                    return
                yield event, text
            event, data = "", []
    except httpx.TransportError as exc:
        raise InvokeConnectionError(f"[{provider}] The connection broke while streaming: {exc}") from exc
    if data:
        # A last event without its blank line: servers that close right after the final data line.
        text = "\n".join(data)
        if terminator is not None and text == terminator:
            return
        yield event, text
        if end_event is not None and event == end_event:
            return
        if terminator is None and end_event is None and not required:
            return
    if required:
        raise InvokeConnectionError(f"[{provider}] The stream ended before it was complete.")


async def _drain(lines: AsyncIterator[str]) -> None:
    """Read what follows the end marker (normally only the end of the chunked body)."""
    try:
        async with asyncio.timeout(DRAIN_SECONDS):
            async for _ in lines:
                pass
    except (TimeoutError, httpx.TransportError):
        pass  # the connection is closed instead of pooled; the answer itself is complete
