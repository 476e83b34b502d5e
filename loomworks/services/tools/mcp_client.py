"""A small MCP client (JSON-RPC 2.0): streamable HTTP and SSE through the SSRF-safe client; stdio when allowed.

We speak the protocol ourselves rather than through the `mcp` SDK because every byte to a remote
server must go through `SafeHttpClient` (address checks, redirects re-checked, size and time
caps), which the SDK's own httpx client would bypass.

One `session` opens a connection, runs `initialize` + `notifications/initialized`, and then
`list_tools()` / `call_tool()`; errors are `McpError` (a `ToolProviderError`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import shlex
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from loomworks.core.ssrf import SafeHttpClient
from loomworks.services.tools.base import ToolOutput, ToolProviderError

PROTOCOL_VERSION = "2025-03-26"
CLIENT_INFO = {"name": "loomworks", "version": "1.0"}
TRANSPORTS = ("streamable-http", "sse", "stdio")
_MAX_MESSAGE_BYTES = 4 * 1024 * 1024


class McpError(ToolProviderError):
    code, status, default_message = "mcp_error", 400, "The MCP server failed."


@dataclass(slots=True)
class McpServerConfig:
    """Where an MCP server is and how to reach it (`url` for HTTP transports, `command` for stdio)."""

    transport: str = "streamable-http"
    url: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    command: str = ""
    timeout: float = 30.0
    sse_read_timeout: float = 300.0


def _parse_sse(lines: list[str]) -> tuple[str, str]:
    event, data = "message", []
    for line in lines:
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    return event, "\n".join(data)


async def _sse_events(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str, str]]:
    pending: list[str] = []
    async for raw in lines:
        line = raw.rstrip("\r")
        if line:
            pending.append(line)
            continue
        if pending:
            yield _parse_sse(pending)
            pending = []
    if pending:
        yield _parse_sse(pending)


def _result(message: Any, label: str) -> dict[str, Any]:
    if not isinstance(message, dict):
        raise McpError(f"{label}: the server sent something that is not a JSON-RPC message.")
    if "error" in message:
        error = message["error"] if isinstance(message["error"], dict) else {}
        raise McpError(f"{label}: the server answered error {error.get('code')}: {error.get('message')}")
    result = message.get("result")
    if not isinstance(result, dict):
        raise McpError(f"{label}: the server's answer has no result.")
    return result


class McpSession:
    """One initialized connection. Use `async with open_session(...) as session:`."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._ids = itertools.count(1)
        self.server_info: dict[str, Any] = {}

    async def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        raise NotImplementedError

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        raise NotImplementedError

    async def initialize(self) -> None:
        result = await self.request(
            "initialize", {"protocolVersion": PROTOCOL_VERSION, "capabilities": {}, "clientInfo": CLIENT_INFO}
        )
        self.server_info = result
        await self.notify("notifications/initialized")

    async def list_tools(self) -> list[dict[str, Any]]:
        """Every tool the server offers (following `nextCursor` pages)."""
        tools: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(50):
            result = await self.request("tools/list", {"cursor": cursor} if cursor else {})
            page = result.get("tools")
            if not isinstance(page, list):
                raise McpError(f"{self.label}: tools/list answered no tools list.")
            tools.extend(t for t in page if isinstance(t, dict) and isinstance(t.get("name"), str))
            cursor = result.get("nextCursor")
            if not cursor:
                break
        return tools

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> ToolOutput:
        """Call a tool; `isError` results become `McpError` with the server's text."""
        result = await self.request("tools/call", {"name": name, "arguments": arguments})
        return content_to_output(result, f"{self.label}/{name}")


def content_to_output(result: dict[str, Any], label: str) -> ToolOutput:
    texts: list[str] = []
    files: list[dict[str, Any]] = []
    for item in result.get("content") or []:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "text":
            texts.append(str(item.get("text") or ""))
        elif item.get("type") in {"image", "audio"}:
            files.append({"type": item["type"], "mime_type": item.get("mimeType"), "data": item.get("data")})
        elif item.get("type") == "resource" and isinstance(item.get("resource"), dict):
            texts.append(str(item["resource"].get("text") or ""))
    text = "\n".join(texts)
    if result.get("isError"):
        raise McpError(f"Tool {label} failed: {text or 'the MCP server reported an error'}", tool=label)
    structured = result.get("structuredContent")
    return ToolOutput(text=text, json=[structured] if isinstance(structured, dict) else [], files=files)


class _StreamableHttpSession(McpSession):
    def __init__(self, client: SafeHttpClient, config: McpServerConfig, label: str) -> None:
        super().__init__(label)
        self.client, self.config = client, config
        self.session_id: str | None = None

    def _headers(self) -> dict[str, str]:
        headers = {
            **self.config.headers,
            "Accept": "application/json, text/event-stream",
            "Content-Type": "application/json",
        }
        if self.session_id:
            headers["Mcp-Session-Id"] = self.session_id
        if self.server_info:
            headers["MCP-Protocol-Version"] = str(self.server_info.get("protocolVersion") or PROTOCOL_VERSION)
        return headers

    async def _post(self, body: dict[str, Any], want: int | None) -> dict[str, Any] | None:
        async with self.client.stream(
            "POST",
            self.config.url,
            headers=self._headers(),
            content=json.dumps(body).encode(),
            timeout=self.config.timeout,
            max_bytes=_MAX_MESSAGE_BYTES,
        ) as response:
            if response.headers.get("mcp-session-id"):
                self.session_id = response.headers["mcp-session-id"]
            if response.status_code >= 400:
                detail = (await response.aread())[:200].decode(errors="replace")
                raise McpError(f"{self.label}: the MCP server answered HTTP {response.status_code}: {detail}")
            if want is None:
                return None
            kind = response.headers.get("content-type", "")
            if "text/event-stream" in kind:
                async for _event, data in _sse_events(response.aiter_lines()):
                    message = _loads(data, self.label)
                    if isinstance(message, dict) and message.get("id") == want:
                        return message
                raise McpError(f"{self.label}: the event stream ended without the answer.")
            return _loads((await response.aread()).decode(errors="replace"), self.label)

    async def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        ident = next(self._ids)
        message = await self._post({"jsonrpc": "2.0", "id": ident, "method": method, "params": params or {}}, ident)
        return _result(message, self.label)

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        await self._post({"jsonrpc": "2.0", "method": method, "params": params or {}}, None)


def _loads(text: str, label: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise McpError(f"{label}: the MCP server sent something that is not JSON ({text[:80]!r}).") from None


class _SseSession(McpSession):
    """The 2024-11-05 transport: GET an event stream, POST messages to the `endpoint` it names."""

    def __init__(self, client: SafeHttpClient, config: McpServerConfig, label: str) -> None:
        super().__init__(label)
        self.client, self.config = client, config
        self.endpoint: str | None = None
        self.waiting: dict[int, asyncio.Future[Any]] = {}
        self.endpoint_ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def pump(self, events: AsyncIterator[tuple[str, str]]) -> None:
        try:
            async for event, data in events:
                if event == "endpoint" and not self.endpoint_ready.done():
                    endpoint = urljoin(self.config.url, data.strip())
                    # The stream must not send our messages (and their headers) to another origin.
                    if urlsplit(endpoint)[:2] != urlsplit(self.config.url)[:2]:
                        self.endpoint_ready.set_exception(McpError(f"{self.label}: the endpoint is on another origin."))
                        return
                    self.endpoint_ready.set_result(endpoint)
                elif event == "message":
                    message = _loads(data, self.label)
                    waiter = self.waiting.pop(message.get("id"), None) if isinstance(message, dict) else None
                    if waiter is not None and not waiter.done():
                        waiter.set_result(message)
        except Exception as exc:  # noqa: BLE001 - handed to whoever waits, never lost
            self._fail(exc)
        else:
            self._fail(McpError(f"{self.label}: the event stream closed."))

    def _fail(self, exc: BaseException) -> None:
        if not self.endpoint_ready.done():
            self.endpoint_ready.set_exception(exc)
        for waiter in self.waiting.values():
            if not waiter.done():
                waiter.set_exception(exc)

    async def _send(self, body: dict[str, Any]) -> None:
        endpoint = await asyncio.wait_for(asyncio.shield(self.endpoint_ready), self.config.timeout)
        response = await self.client.request(
            "POST",
            endpoint,
            headers={**self.config.headers, "Content-Type": "application/json"},
            content=json.dumps(body).encode(),
            timeout=self.config.timeout,
        )
        if response.status_code >= 400:
            raise McpError(f"{self.label}: the MCP server answered HTTP {response.status_code}: {response.text[:200]}")

    async def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        ident = next(self._ids)
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.waiting[ident] = waiter
        await self._send({"jsonrpc": "2.0", "id": ident, "method": method, "params": params or {}})
        try:
            message = await asyncio.wait_for(waiter, self.config.timeout)
        except TimeoutError:
            raise McpError(f"{self.label}: no answer to {method} within {self.config.timeout:g} s.") from None
        return _result(message, self.label)

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        await self._send({"jsonrpc": "2.0", "method": method, "params": params or {}})


class _StdioSession(McpSession):
    def __init__(self, process: asyncio.subprocess.Process, config: McpServerConfig, label: str) -> None:
        super().__init__(label)
        self.process, self.config = process, config

    async def _write(self, body: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(body).encode() + b"\n")
        await self.process.stdin.drain()

    async def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        ident = next(self._ids)
        await self._write({"jsonrpc": "2.0", "id": ident, "method": method, "params": params or {}})
        assert self.process.stdout is not None
        async with asyncio.timeout(self.config.timeout):
            while True:
                line = await self.process.stdout.readline()
                if not line:
                    raise McpError(f"{self.label}: the server process exited.")
                message = _loads(line.decode(errors="replace"), self.label)
                if isinstance(message, dict) and message.get("id") == ident:
                    return _result(message, self.label)

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        await self._write({"jsonrpc": "2.0", "method": method, "params": params or {}})


@contextlib.asynccontextmanager
async def open_session(
    config: McpServerConfig,
    *,
    client: SafeHttpClient | None,
    label: str = "MCP",
    allowed_commands: frozenset[str] = frozenset(),
) -> AsyncIterator[McpSession]:
    """Connect, initialize, yield the session, close.

    Raises:
        McpError: the transport is unknown, stdio is not allowed for the command, or the server failed.
        OutboundRequestError: the URL is refused by the SSRF policy or cannot be reached.
    """
    if config.transport == "stdio":
        argv = shlex.split(config.command)
        if not argv or argv[0] not in allowed_commands:
            raise McpError(
                f"{label}: stdio servers run only for commands the administrator allows "
                f"({argv[0] if argv else 'no command'} is not allowed)."
            )
        process = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
        )
        try:
            session: McpSession = _StdioSession(process, config, label)
            await session.initialize()
            yield session
        finally:
            if process.returncode is None:
                process.kill()
            await process.wait()
        return
    if client is None:
        raise McpError(f"{label}: outbound HTTP is not configured.")
    if config.transport == "streamable-http":
        http_session = _StreamableHttpSession(client, config, label)
        await http_session.initialize()
        yield http_session
        return
    if config.transport != "sse":
        raise McpError(f"{label}: unknown transport '{config.transport}' (use {', '.join(TRANSPORTS)}).")
    sse = _SseSession(client, config, label)
    async with client.stream(
        "GET",
        config.url,
        headers={**config.headers, "Accept": "text/event-stream"},
        timeout=config.sse_read_timeout,
        max_bytes=_MAX_MESSAGE_BYTES * 4,
    ) as response:
        if response.status_code >= 400:
            raise McpError(f"{label}: the MCP server answered HTTP {response.status_code}.")
        pump = asyncio.create_task(sse.pump(_sse_events(response.aiter_lines())))
        try:
            await sse.initialize()
            yield sse
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pump
