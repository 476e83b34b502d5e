"""Calls to the web APIs behind built-in tools: SSRF-safe, with errors that name the tool."""

from __future__ import annotations

from typing import Any

import httpx

from loomworks.services.tools.base import ToolCall, ToolProviderError
from loomworks.services.tools.registry import ToolServices


async def call(
    services: ToolServices,
    tool_call: ToolCall,
    method: str,
    url: str,
    *,
    timeout: float = 30.0,  # noqa: ASYNC109 - the SSRF client's total deadline
    **kwargs: Any,
) -> httpx.Response:
    """Send one request through the SSRF-safe client; a status of 400 or more is a `ToolProviderError`."""
    key = tool_call.descriptor.key
    response = await services.need_http(key).request(method, url, timeout=timeout, **kwargs)
    if response.status_code >= 400:
        detail = response.text[:200].strip()
        raise ToolProviderError(
            f"Tool {key}: the service answered HTTP {response.status_code}" + (f": {detail}" if detail else "."),
            tool=key,
        )
    return response


async def call_json(services: ToolServices, tool_call: ToolCall, method: str, url: str, **kwargs: Any) -> Any:
    """Like `call`, and the body parsed as JSON; anything else is a `ToolProviderError`."""
    response = await call(services, tool_call, method, url, **kwargs)
    try:
        return response.json()
    except ValueError:
        raise ToolProviderError(
            f"Tool {tool_call.descriptor.key}: the service answered something that is not JSON "
            f"({response.text[:80]!r}).",
            tool=tool_call.descriptor.key,
        ) from None
