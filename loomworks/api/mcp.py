"""An app published as an MCP server: `POST /mcp/server/{server_code}/mcp` (streamable HTTP, JSON answers).

The server code in the path is the key (Dify's scheme); `GET` is answered 405 because we open no
server-initiated stream. A batch (a JSON array) gets an array of answers.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from loomworks.api.deps import State
from loomworks.api.responses import JsonResponse
from loomworks.services.tools import mcp_server

router = APIRouter(tags=["mcp server"])
_MAX_BODY = 1024 * 1024


@router.post("/mcp/server/{server_code}/mcp")
async def mcp_endpoint(server_code: str, request: Request, state: State) -> Response:
    def load() -> mcp_server.McpServerContext:
        with state.db.session() as session:
            return mcp_server.load(session, server_code)

    context = await run_in_threadpool(load)
    raw = await request.body()
    if len(raw) > _MAX_BODY:
        return JsonResponse({"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Request too large"}})
    try:
        message: Any = json.loads(raw)
    except ValueError:
        return JsonResponse({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}})
    if isinstance(message, list):
        answers = [a for m in message[:50] if (a := await mcp_server.handle(m, context, state.extras)) is not None]
        return JsonResponse(answers) if answers else Response(status_code=202)
    answer = await mcp_server.handle(message, context, state.extras)
    if answer is None:
        return Response(status_code=202)
    return JsonResponse(answer)


@router.get("/mcp/server/{server_code}/mcp")
def mcp_stream(server_code: str) -> Response:
    del server_code
    return JsonResponse(
        {"code": "method_not_allowed", "message": "This MCP server answers POST requests only.", "status": 405},
        status_code=405,
        headers={"Allow": "POST"},
    )
