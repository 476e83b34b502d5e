"""Publish an app as an MCP server (Dify's `app_mcp_servers`): one tool, the app, behind its own key.

`handle(message)` answers one JSON-RPC message: `initialize`, `ping`, `tools/list` (the app as one
tool whose input schema is the app's input form, plus `query` for chat apps), `tools/call` (runs
the app through the chat, chatflow or workflow run service, blocking). Notifications answer None.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loomworks import __version__
from loomworks.core.errors import InvalidParamError, LoomworksError, NotFoundError
from loomworks.services import apps as app_service
from loomworks.services.chat.pipeline import TurnRequest
from loomworks.services.chatflow import ChatflowRequest
from loomworks.services.workflow_runs import RunRequest, start_variables
from loomworks.store.tables import App, AppMcpServer, Workflow

SUPPORTED_VERSIONS = ("2025-06-18", "2025-03-26", "2024-11-05")
_CHAT_MODES = ("chat", "agent-chat", "advanced-chat")


def new_server_code() -> str:
    return secrets.token_urlsafe(12)


def form_of(session: Session, app: App) -> list[dict[str, Any]]:
    """The app's input variables as flat dicts (`variable`, `type`, `label`, `required`, `options`)."""
    if app.mode in ("workflow", "advanced-chat"):
        workflow = session.get(Workflow, app.workflow_id) if app.workflow_id else None
        return start_variables(workflow.graph) if workflow else []
    config = app_service.model_config(session, app=app) or {}
    flat = []
    for item in config.get("user_input_form") or []:
        if isinstance(item, dict) and len(item) == 1:
            kind, body = next(iter(item.items()))
            if isinstance(body, dict):
                flat.append({**body, "type": kind})
    return flat


def input_schema(app: App, form: list[dict[str, Any]], descriptions: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    if app.mode in _CHAT_MODES:
        properties["query"] = {
            "type": "string",
            "description": str(descriptions.get("query") or "The user's question."),
        }
        required.append("query")
    for variable in form:
        name = str(variable.get("variable") or "")
        kind = str(variable.get("type") or "text-input")
        if not name or kind in ("file", "file-list", "external_data_tool"):
            continue
        prop: dict[str, Any] = {"type": {"number": "number", "checkbox": "boolean"}.get(kind, "string")}
        if kind == "select" and variable.get("options"):
            prop["enum"] = [str(o) for o in variable["options"]]
        prop["description"] = str(descriptions.get(name) or variable.get("label") or name)
        properties[name] = prop
        if variable.get("required"):
            required.append(name)
    return {"type": "object", "properties": properties, "required": required}


def tool_name(app: App) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", app.name).strip("_")[:64] or "app"


@dataclass(slots=True)
class McpServerContext:
    server: AppMcpServer
    app: App
    schema: dict[str, Any]


def load(session: Session, server_code: str) -> McpServerContext:
    """The active server behind `server_code`, its app and the tool schema."""
    server = session.scalar(select(AppMcpServer).where(AppMcpServer.server_code == server_code))
    if server is None or server.status != "active":
        raise NotFoundError("The MCP server was not found or is not active.")
    app = session.get(App, server.app_id)
    if app is None:
        raise NotFoundError("App not found.")
    schema = input_schema(app, form_of(session, app), server.parameters or {})
    session.expunge(app)
    session.expunge(server)
    return McpServerContext(server, app, schema)


def _error(ident: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": ident, "error": {"code": code, "message": message}}


def _ok(ident: Any, result: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": ident, "result": result}


async def handle(message: Any, context: McpServerContext, extras: dict[str, Any]) -> dict[str, Any] | None:
    """Answer one JSON-RPC message (None for a notification)."""
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0" or not isinstance(message.get("method"), str):
        return _error(message.get("id") if isinstance(message, dict) else None, -32600, "Invalid Request")
    ident, method = message.get("id"), message["method"]
    params = message.get("params") if isinstance(message.get("params"), dict) else {}
    if "id" not in message:
        return None
    if method == "initialize":
        asked = str(params.get("protocolVersion") or "")
        return _ok(
            ident,
            {
                "protocolVersion": asked if asked in SUPPORTED_VERSIONS else SUPPORTED_VERSIONS[0],
                "capabilities": {"tools": {"listChanged": False}},
                "serverInfo": {"name": "Loomworks", "version": __version__},
                "instructions": context.server.description or context.app.description or "",
            },
        )
    if method == "ping":
        return _ok(ident, {})
    if method == "tools/list":
        description = context.server.description or context.app.description or context.app.name
        tool = {"name": tool_name(context.app), "description": description, "inputSchema": context.schema}
        return _ok(ident, {"tools": [tool]})
    if method == "tools/call":
        if params.get("name") != tool_name(context.app):
            return _error(ident, -32602, f"Unknown tool: {params.get('name')}")
        arguments = params.get("arguments") if isinstance(params.get("arguments"), dict) else {}
        try:
            text = await _run(context, arguments, extras)
        except LoomworksError as exc:
            return _ok(ident, {"content": [{"type": "text", "text": exc.message}], "isError": True})
        return _ok(ident, {"content": [{"type": "text", "text": text}], "isError": False})
    return _error(ident, -32601, f"Method not found: {method}")


async def _run(context: McpServerContext, arguments: dict[str, Any], extras: dict[str, Any]) -> str:
    app = context.app
    user = f"mcp-{context.server.id}"
    inputs = {k: v for k, v in arguments.items() if k != "query"}
    if app.mode == "workflow":
        runs = extras["workflows"]
        answer = await runs.blocking(await runs.prepare(RunRequest(app=app, inputs=inputs, user=user)))
        data = answer.get("data") or {}
        if data.get("status") != "succeeded":
            raise InvalidParamError(f"The workflow failed: {data.get('error') or data.get('status')}")
        outputs = data.get("outputs") or {}
        if len(outputs) == 1 and isinstance(next(iter(outputs.values())), str):
            return str(next(iter(outputs.values())))
        return json.dumps(outputs, ensure_ascii=False)
    query = str(arguments.get("query") or "")
    if app.mode == "advanced-chat":
        flow = extras["chatflow"]
        result = await flow.blocking(
            await flow.prepare(ChatflowRequest(app=app, query=query, inputs=inputs, user=user))
        )
    else:
        chat = extras["chat"]
        turn = await chat.prepare(
            TurnRequest(app=app, query=query, inputs=inputs, user=user, auto_generate_name=False),
            expect_chat=app.mode != "completion",
        )
        result = await chat.blocking(turn)
    return str(result.get("answer") or "")
