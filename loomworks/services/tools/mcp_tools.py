"""The `mcp` provider type: tools of remote MCP servers a workspace added.

The server URL, headers and (stdio) command are sealed; the listing shows a masked URL. The
server's `tools/list` is cached on the row when the provider is added or refreshed, so listing
tools does not call the server; calling one opens a session (initialize, `tools/call`, close).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from loomworks.core.crypto import KeyRing
from loomworks.core.errors import ConflictError, InvalidParamError, NotFoundError
from loomworks.core.ids import new_id
from loomworks.core.ssrf import SafeHttpClient
from loomworks.services.tools.base import ToolCall, ToolDescriptor, ToolOutput, ToolParameter, i18n
from loomworks.services.tools.credentials import sealer
from loomworks.services.tools.mcp_client import TRANSPORTS, McpError, McpServerConfig, open_session
from loomworks.store.db import Database
from loomworks.store.tables import McpToolProvider

_IDENTIFIER = re.compile(r"^[a-z0-9_-]{1,24}$")
_TYPES = {"integer": "number", "number": "number", "boolean": "boolean", "array": "array", "object": "object"}


def descriptor_of(row: McpToolProvider, tool: dict[str, Any]) -> ToolDescriptor:
    schema = tool.get("inputSchema") if isinstance(tool.get("inputSchema"), dict) else {}
    required = set(schema.get("required") or [])
    params = []
    for name, prop in (schema.get("properties") or {}).items():
        prop = prop if isinstance(prop, dict) else {}
        params.append(
            ToolParameter(
                str(name),
                _TYPES.get(str(prop.get("type")), "string"),  # type: ignore[arg-type]
                required=name in required,
                label=i18n(str(name)),
                llm_description=str(prop.get("description") or ""),
                human_description=i18n(str(prop.get("description") or "")),
                default=prop.get("default"),
                schema={k: v for k, v in prop.items() if k != "description"} or None,
            )
        )
    return ToolDescriptor(
        provider_type="mcp",
        provider_id=row.id,
        provider_name=row.name,
        name=str(tool["name"]),
        label=i18n(str(tool.get("title") or tool["name"])),
        description=i18n(str(tool.get("description") or "")),
        parameters=params,
        output_schema=tool.get("outputSchema") if isinstance(tool.get("outputSchema"), dict) else None,
    )


def _masked_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}/******" if parts.scheme else "******"


def config_of(keyring: KeyRing, row: McpToolProvider) -> McpServerConfig:
    secrets = sealer(keyring, row.tenant_id, f"mcp:{row.id}").open({}, row.sealed)
    headers = secrets.get("headers")
    return McpServerConfig(
        transport=row.transport,
        url=str(secrets.get("server_url") or ""),
        headers=json.loads(headers) if isinstance(headers, str) and headers else {},
        command=str(secrets.get("command") or ""),
        timeout=row.timeout,
        sse_read_timeout=row.sse_read_timeout,
    )


class McpToolSource:
    """Serves `provider_type: mcp`; also fetches a server's tools for the console."""

    provider_type = "mcp"

    def __init__(
        self, db: Database, keyring: KeyRing, http: SafeHttpClient, *, allowed_commands: frozenset[str] = frozenset()
    ) -> None:
        self.db, self.keyring, self.http, self.allowed_commands = db, keyring, http, allowed_commands

    async def fetch_tools(self, config: McpServerConfig, label: str) -> tuple[str, list[dict[str, Any]]]:
        """Connect and list the server's tools; with no transport named, streamable HTTP then SSE."""
        transports = [config.transport] if config.transport else ["streamable-http", "sse"]
        last: Exception | None = None
        for transport in transports:
            config.transport = transport
            try:
                async with open_session(
                    config, client=self.http, label=label, allowed_commands=self.allowed_commands
                ) as session:
                    return transport, await session.list_tools()
            except McpError as exc:
                last = exc
        assert last is not None
        raise last

    def list_tools(self, tenant_id: str) -> list[ToolDescriptor]:
        with self.db.session() as session:
            rows = session.scalars(select(McpToolProvider).where(McpToolProvider.tenant_id == tenant_id))
            return [descriptor_of(row, tool) for row in rows for tool in row.tools or []]

    def get(self, tenant_id: str, provider_id: str, tool_name: str) -> ToolDescriptor | None:
        with self.db.session() as session:
            row = _row(session, tenant_id, provider_id)
            if row is None:
                return None
            tool = next((t for t in row.tools or [] if t.get("name") == tool_name), None)
            return descriptor_of(row, tool) if tool else None

    def _config(self, tenant_id: str, provider_id: str) -> McpServerConfig | None:
        with self.db.session() as session:
            row = _row(session, tenant_id, provider_id)
            return config_of(self.keyring, row) if row else None

    async def invoke(self, call: ToolCall) -> ToolOutput:
        d = call.descriptor
        config = await run_in_threadpool(self._config, call.tenant_id, d.provider_id)
        if config is None:
            raise McpError(f"Tool {d.key}: the MCP provider was removed.", tool=d.key)
        async with open_session(
            config, client=self.http, label=d.provider_name or d.provider_id, allowed_commands=self.allowed_commands
        ) as session:
            return await session.call_tool(d.name, call.parameters)


def _row(session: Session, tenant_id: str, key: str) -> McpToolProvider | None:
    return session.scalar(
        select(McpToolProvider).where(
            McpToolProvider.tenant_id == tenant_id,
            or_(McpToolProvider.id == key, McpToolProvider.server_identifier == key, McpToolProvider.name == key),
        )
    )


def get_provider(session: Session, *, tenant_id: str, provider_id: str) -> McpToolProvider:
    row = _row(session, tenant_id, provider_id)
    if row is None:
        raise NotFoundError("The MCP tool provider was not found.")
    return row


def check_body(body: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """The add/update form, checked: name, server_identifier, transport, URL or command, timeouts."""
    out: dict[str, Any] = {}
    name = str(body.get("name") or "").strip()
    if name or not partial:
        if not name or len(name) > 255:
            raise InvalidParamError("name is required (at most 255 characters).", params="name")
        out["name"] = name
    ident = str(body.get("server_identifier") or "").strip()
    if ident or not partial:
        if not _IDENTIFIER.match(ident):
            raise InvalidParamError(
                "server_identifier must be 1-24 lowercase letters, digits, '_' or '-'.", params="server_identifier"
            )
        out["server_identifier"] = ident
    transport = str(body.get("transport") or "")
    if transport and transport not in TRANSPORTS:
        raise InvalidParamError(f"transport must be one of {', '.join(TRANSPORTS)}.", params="transport")
    out["transport"] = transport
    url = str(body.get("server_url") or "").strip()
    if transport == "stdio":
        if not str(body.get("command") or "").strip():
            raise InvalidParamError("command is required for a stdio server.", params="command")
        out["command"] = str(body["command"]).strip()
    elif url or not partial:
        if not url.startswith(("http://", "https://")):
            raise InvalidParamError("server_url must be an http(s) URL.", params="server_url")
        out["server_url"] = url
    headers = body.get("headers") or {}
    if not isinstance(headers, dict):
        raise InvalidParamError("headers must be an object.", params="headers")
    out["headers"] = {str(k): str(v) for k, v in headers.items()}
    for key, default in (("timeout", 30.0), ("sse_read_timeout", 300.0)):
        try:
            value = float(body.get(key) or default)
        except (TypeError, ValueError):
            raise InvalidParamError(f"{key} must be a number of seconds.", params=key) from None
        out[key] = min(max(value, 1.0), 3600.0)
    icon = body.get("icon")
    out["icon"] = {
        "content": icon if isinstance(icon, str) else "",
        "background": str(body.get("icon_background") or ""),
        "type": str(body.get("icon_type") or "emoji"),
    }
    return out


def store(
    session: Session,
    *,
    keyring: KeyRing,
    tenant_id: str,
    account_id: str | None,
    form: dict[str, Any],
    transport: str,
    tools: list[dict[str, Any]],
    row: McpToolProvider | None = None,
) -> McpToolProvider:
    """Create or update a provider row from a checked form and the tools just fetched."""
    for key in ("name", "server_identifier"):
        clash = session.scalar(
            select(McpToolProvider).where(
                McpToolProvider.tenant_id == tenant_id, getattr(McpToolProvider, key) == form.get(key)
            )
        )
        if clash is not None and clash is not row:
            raise ConflictError(f"An MCP provider with this {key} already exists.")
    if row is None:
        row = McpToolProvider(id=new_id(), tenant_id=tenant_id, created_by=account_id)
        session.add(row)
    row.name, row.server_identifier = form["name"], form["server_identifier"]
    row.transport, row.icon = transport, form["icon"]
    row.timeout, row.sse_read_timeout = form["timeout"], form["sse_read_timeout"]
    secrets = {"server_url": form.get("server_url", ""), "headers": json.dumps(form["headers"])}
    if form.get("command"):
        secrets["command"] = form["command"]
    _, row.sealed = sealer(keyring, tenant_id, f"mcp:{row.id}").seal(secrets, set(secrets))
    row.url_hint = _masked_url(form.get("server_url", "")) if transport != "stdio" else "stdio"
    row.tools = tools
    session.flush()
    return row


def to_dify(row: McpToolProvider) -> dict[str, Any]:
    """Dify's MCP provider entity (`tools/mcp` list item)."""
    return {
        "id": row.id,
        "author": "",
        "name": row.name,
        "icon": row.icon.get("content") if row.icon else "",
        "label": i18n(row.name),
        "type": "mcp",
        "is_team_authorization": True,
        "server_url": row.url_hint,
        "server_identifier": row.server_identifier,
        "transport": row.transport,
        "timeout": row.timeout,
        "sse_read_timeout": row.sse_read_timeout,
        "updated_at": int(row.updated_at.timestamp()) if row.updated_at else None,
        "tools": [descriptor_of(row, t).to_dify() for t in row.tools or []],
        "labels": [],
        "description": i18n(""),
        "allow_delete": True,
    }
