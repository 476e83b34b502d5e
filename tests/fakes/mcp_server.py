"""A fake MCP server on 127.0.0.1 speaking both HTTP transports, from the MCP specification.

- Streamable HTTP (2025-03-26): `POST /mcp` with a JSON-RPC message; requests are answered as
  `application/json`, or as a `text/event-stream` carrying the answer when `fake.sse_answers` is
  set; notifications get 202. `initialize` hands out an `Mcp-Session-Id` that later calls must send.
- HTTP+SSE (2024-11-05): `GET /sse` opens the stream whose first event is `endpoint`
  (`/messages?session_id=…`); `POST` there gets 202 and the answer arrives on the stream.

Tools: `add(a, b)` → the sum as text, `lookup(city)` → structured content, `broken()` → `isError`.
`fake.calls` records the JSON-RPC methods received; `fake.headers` the last request's headers.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from tests._live_server import live_server

TOOLS = [
    {
        "name": "add",
        "description": "Add two numbers.",
        "inputSchema": {
            "type": "object",
            "properties": {"a": {"type": "number", "description": "first"}, "b": {"type": "number"}},
            "required": ["a", "b"],
        },
    },
    {
        "name": "lookup",
        "description": "Weather of a city.",
        "inputSchema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
    {"name": "broken", "description": "Always fails.", "inputSchema": {"type": "object", "properties": {}}},
]


@dataclass
class McpFake:
    base_url: str = ""
    sse_answers: bool = False
    calls: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    sessions: set[str] = field(default_factory=set)
    streams: dict[str, asyncio.Queue[dict[str, Any]]] = field(default_factory=dict)


def answer(message: dict[str, Any]) -> dict[str, Any]:
    method, ident, params = message["method"], message.get("id"), message.get("params") or {}
    if method == "initialize":
        result: dict[str, Any] = {
            "protocolVersion": params.get("protocolVersion", "2025-03-26"),
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "fake-mcp", "version": "0.1"},
        }
    elif method == "tools/list":
        result = {"tools": TOOLS}
    elif method == "tools/call":
        args = params.get("arguments") or {}
        if params.get("name") == "add":
            result = {"content": [{"type": "text", "text": str(args["a"] + args["b"])}], "isError": False}
        elif params.get("name") == "lookup":
            weather = {"city": args["city"], "sky": "clear", "celsius": 21}
            result = {"content": [{"type": "text", "text": json.dumps(weather)}], "structuredContent": weather}
        elif params.get("name") == "broken":
            result = {"content": [{"type": "text", "text": "the backend is down"}], "isError": True}
        else:
            return {"jsonrpc": "2.0", "id": ident, "error": {"code": -32602, "message": "Unknown tool"}}
    elif method == "ping":
        result = {}
    else:
        return {"jsonrpc": "2.0", "id": ident, "error": {"code": -32601, "message": "Method not found"}}
    return {"jsonrpc": "2.0", "id": ident, "result": result}


def build(fake: McpFake) -> FastAPI:
    app = FastAPI()

    @app.post("/mcp")
    async def streamable(request: Request) -> Response:
        fake.headers = dict(request.headers)
        message = json.loads(await request.body())
        fake.calls.append(message["method"])
        if message["method"] != "initialize" and request.headers.get("mcp-session-id") not in fake.sessions:
            return JSONResponse({"error": "missing session"}, status_code=400)
        if "id" not in message:
            return Response(status_code=202)
        reply = answer(message)
        headers = {}
        if message["method"] == "initialize":
            session = uuid.uuid4().hex
            fake.sessions.add(session)
            headers["Mcp-Session-Id"] = session
        if fake.sse_answers:
            body = f"event: message\ndata: {json.dumps(reply)}\n\n"
            return Response(body, media_type="text/event-stream", headers=headers)
        return JSONResponse(reply, headers=headers)

    @app.get("/sse")
    async def sse() -> Response:
        session = uuid.uuid4().hex
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        fake.streams[session] = queue

        async def events() -> AsyncIterator[str]:
            yield f"event: endpoint\ndata: /messages?session_id={session}\n\n"
            while True:
                reply = await queue.get()
                yield f"event: message\ndata: {json.dumps(reply)}\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    @app.post("/messages")
    async def messages(session_id: str, request: Request) -> Response:
        message = json.loads(await request.body())
        fake.calls.append(message["method"])
        queue = fake.streams.get(session_id)
        if queue is None:
            return Response(status_code=404)
        if "id" in message:
            await queue.put(answer(message))
        return Response(status_code=202)

    return app


@contextmanager
def mcp_fake() -> Iterator[McpFake]:
    fake = McpFake()
    with live_server(build(fake)) as url:
        fake.base_url = url
        yield fake
