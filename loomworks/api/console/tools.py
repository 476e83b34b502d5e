"""Tool providers in the console (Dify's paths): built-in credentials, OpenAPI, workflow and MCP providers.

Plus the app MCP server settings (`/apps/{app_id}/server`) and one route of ours to test any tool
(`POST /workspaces/current/tool-provider/{type}/{provider}/tools/{tool}/test`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from loomworks.api.deps import CurrentCaller, State
from loomworks.core.errors import InvalidParamError, LoomworksError, NotFoundError
from loomworks.core.ssrf import OutboundRequestError
from loomworks.services import apps as app_service
from loomworks.services.caller import Caller
from loomworks.services.tools import api_tools, mcp_server, mcp_tools, registry, workflow_tool
from loomworks.services.tools import credentials as tool_credentials
from loomworks.services.tools.base import ToolError, ToolRuntime, coerce_parameters, i18n
from loomworks.services.tools.mcp_client import McpServerConfig
from loomworks.services.tools.openapi import OpenAPISchemaError, auth_secret_fields, call_operation, parse_schema
from loomworks.store.tables import AppMcpServer, McpToolProvider, WorkflowToolProvider

router = APIRouter(tags=["console: tools"])
_WS = "/workspaces/current"
_OK = {"result": "success"}


class CredentialsBody(BaseModel):
    credentials: dict[str, Any] = {}


class ApiProviderBody(BaseModel):
    provider: str
    schema_: str = ""
    schema_type: str = "openapi"
    credentials: dict[str, Any] = {}
    icon: dict[str, Any] = {}
    privacy_policy: str | None = ""
    custom_disclaimer: str | None = ""
    labels: list[str] | None = None
    original_provider: str | None = None
    description: str | None = ""

    model_config = {"populate_by_name": True, "extra": "allow"}

    def __init__(self, **data: Any) -> None:
        if "schema" in data:
            data["schema_"] = data.pop("schema")
        super().__init__(**data)


class ProviderNameBody(BaseModel):
    provider: str


class SchemaBody(BaseModel):
    schema_: str = ""

    def __init__(self, **data: Any) -> None:
        if "schema" in data:
            data["schema_"] = data.pop("schema")
        super().__init__(**data)


class TestBody(BaseModel):
    tool_name: str
    provider_name: str | None = ""
    credentials: dict[str, Any] = {}
    parameters: dict[str, Any] = {}
    schema_type: str = "openapi"
    schema_: str = ""

    def __init__(self, **data: Any) -> None:
        if "schema" in data:
            data["schema_"] = data.pop("schema")
        super().__init__(**data)


class ToolTestBody(BaseModel):
    parameters: dict[str, Any] = {}


def _runtime(state: Any) -> ToolRuntime:
    return state.extras["tools"]


def _services(state: Any) -> registry.ToolServices:
    source = _runtime(state).source("builtin")
    return source.services  # type: ignore[attr-defined]


# --- lists ---------------------------------------------------------------------------------------


def _builtin_list(state: Any, caller: Caller) -> list[dict[str, Any]]:
    with state.db.session() as session:
        authorized = tool_credentials.authorized_providers(session, tenant_id=caller.tenant_id)
    return [p.to_dify(authorized=p.name in authorized) for p in registry.providers()]


def _api_entity(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "author": "",
        "name": row.name,
        "description": i18n(row.description or ""),
        "icon": row.icon or {},
        "label": i18n(row.name),
        "type": "api",
        "is_team_authorization": True,
        "allow_delete": True,
        "tools": [d.to_dify() for d in api_tools.descriptors_of(row)],
        "labels": row.labels or [],
    }


def _api_list(state: Any, caller: Caller) -> list[dict[str, Any]]:
    with state.db.session() as session:
        return [_api_entity(row) for row in api_tools.list_providers(session, tenant_id=caller.tenant_id)]


def _workflow_list(state: Any, caller: Caller) -> list[dict[str, Any]]:
    source = _runtime(state).source("workflow")
    by_id = {d.provider_id: d for d in source.list_tools(caller.tenant_id)}
    with state.db.session() as session:
        rows = session.query(WorkflowToolProvider).filter(WorkflowToolProvider.tenant_id == caller.tenant_id).all()
        return [
            {
                "id": row.id,
                "author": "",
                "name": row.name,
                "description": i18n(row.description),
                "icon": row.icon or {},
                "label": i18n(row.label or row.name),
                "type": "workflow",
                "workflow_app_id": row.app_id,
                "is_team_authorization": True,
                "allow_delete": True,
                "tools": [by_id[row.id].to_dify()] if row.id in by_id else [],
                "labels": row.labels or [],
            }
            for row in rows
        ]


def _mcp_list(state: Any, caller: Caller) -> list[dict[str, Any]]:
    with state.db.session() as session:
        rows = session.query(McpToolProvider).filter(McpToolProvider.tenant_id == caller.tenant_id).all()
        return [mcp_tools.to_dify(row) for row in rows]


_LISTS = {"builtin": _builtin_list, "api": _api_list, "workflow": _workflow_list, "mcp": _mcp_list}


@router.get(f"{_WS}/tool-providers")
def list_tool_providers(caller: CurrentCaller, state: State, type: str | None = None) -> list[dict[str, Any]]:  # noqa: A002 - Dify's query name
    kinds = [type] if type else list(_LISTS)
    found: list[dict[str, Any]] = []
    for kind in kinds:
        if kind not in _LISTS:
            raise InvalidParamError("type must be builtin, api, workflow or mcp.", params="type")
        found.extend(_LISTS[kind](state, caller))
    return found


@router.get(f"{_WS}/tools/{{kind}}")
def list_tools_of_kind(kind: str, caller: CurrentCaller, state: State) -> list[dict[str, Any]]:
    if kind not in _LISTS:
        raise NotFoundError("Unknown tool type.")
    return _LISTS[kind](state, caller)


# --- built-in providers --------------------------------------------------------------------------


def _builtin(provider: str) -> type[registry.BuiltinToolProvider]:
    found = registry.provider(provider)
    if found is None:
        raise NotFoundError(f"The built-in tool provider '{provider}' was not found.")
    return found


@router.get(f"{_WS}/tool-provider/builtin/{{provider}}/tools")
def builtin_tools(provider: str, caller: CurrentCaller) -> list[dict[str, Any]]:
    del caller
    return [tool.descriptor().to_dify() for tool in _builtin(provider).tools()]


@router.get(f"{_WS}/tool-provider/builtin/{{provider}}/info")
def builtin_info(provider: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    cls = _builtin(provider)
    with state.db.session() as session:
        authorized = cls.name in tool_credentials.authorized_providers(session, tenant_id=caller.tenant_id)
    return cls.to_dify(authorized=authorized)


@router.get(f"{_WS}/tool-provider/builtin/{{provider}}/credentials_schema")
def builtin_credentials_schema(provider: str, caller: CurrentCaller) -> list[dict[str, Any]]:
    del caller
    return [{**field, "name": field["variable"]} for field in _builtin(provider).credentials_schema]


@router.get(f"{_WS}/tool-provider/builtin/{{provider}}/credentials")
def builtin_credentials(provider: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    cls = _builtin(provider)
    with state.db.session() as session:
        return tool_credentials.builtin_credentials(
            session, keyring=state.keyring, tenant_id=caller.tenant_id, provider=cls.name, masked=True
        )


@router.post(f"{_WS}/tool-provider/builtin/{{provider}}/update")
async def update_builtin_credentials(
    provider: str, body: CredentialsBody, caller: CurrentCaller, state: State
) -> dict[str, Any]:
    caller.require_admin()
    cls = _builtin(provider)

    def prepare() -> dict[str, Any]:
        with state.db.session() as session:
            return tool_credentials.prepare_builtin(
                session,
                keyring=state.keyring,
                tenant_id=caller.tenant_id,
                provider=cls.name,
                form=cls.credentials_schema,
                values=body.credentials,
            )

    cleaned = await run_in_threadpool(prepare)
    try:
        await cls.validate_credentials(cleaned, _services(state))
    except (ToolError, OutboundRequestError) as exc:
        raise InvalidParamError(f"The credentials do not work: {exc.message}", params="credentials") from None

    def save() -> None:
        with state.db.session() as session:
            tool_credentials.save_builtin(
                session,
                keyring=state.keyring,
                tenant_id=caller.tenant_id,
                account_id=caller.account_id,
                provider=cls.name,
                form=cls.credentials_schema,
                cleaned=cleaned,
            )

    await run_in_threadpool(save)
    return _OK


@router.post(f"{_WS}/tool-provider/builtin/{{provider}}/delete")
def delete_builtin_credentials(provider: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    caller.require_admin()
    cls = _builtin(provider)
    with state.db.session() as session:
        tool_credentials.delete_builtin(session, tenant_id=caller.tenant_id, provider=cls.name)
    return _OK


# --- OpenAPI providers ---------------------------------------------------------------------------


def _operations_public(text: str) -> dict[str, Any]:
    schema_type, operations = parse_schema(text)
    return {
        "schema_type": schema_type,
        "parameters_schema": [
            {
                "server_url": op.server_url,
                "method": op.method,
                "summary": op.summary,
                "operation_id": op.operation_id,
                "author": "",
                "parameters": [p.to_dify() for p in op.descriptor("", "").parameters],
            }
            for op in operations
        ],
        "credentials_schema": [
            {"name": "auth_type", "type": "select", "required": True, "default": "none"},
            {"name": "api_key_header", "type": "text-input", "required": False},
            {"name": "api_key_value", "type": "secret-input", "required": False},
        ],
        "warning": {},
    }


@router.post(f"{_WS}/tool-provider/api/schema")
def parse_api_schema(body: SchemaBody, caller: CurrentCaller) -> dict[str, Any]:
    del caller
    return _operations_public(body.schema_)


@router.get(f"{_WS}/tool-provider/api/remote")
async def fetch_api_schema(url: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    del caller
    text = await state.extras["http_client"].fetch_text(url, 2 * 1024 * 1024)
    parse_schema(text, base_url=url)
    return {"schema": text}


def _save_api(state: Any, caller: Caller, body: ApiProviderBody, original: str | None) -> dict[str, Any]:
    caller.require_admin()
    with state.db.session() as session:
        api_tools.save_provider(
            session,
            keyring=state.keyring,
            tenant_id=caller.tenant_id,
            account_id=caller.account_id,
            name=body.provider,
            schema=body.schema_,
            credentials=body.credentials,
            original=original,
            icon=body.icon,
            description=body.description or "",
            privacy_policy=body.privacy_policy or "",
            custom_disclaimer=body.custom_disclaimer or "",
            labels=body.labels,
        )
    return _OK


@router.post(f"{_WS}/tool-provider/api/add")
def add_api_provider(body: ApiProviderBody, caller: CurrentCaller, state: State) -> dict[str, Any]:
    return _save_api(state, caller, body, None)


@router.post(f"{_WS}/tool-provider/api/update")
def update_api_provider(body: ApiProviderBody, caller: CurrentCaller, state: State) -> dict[str, Any]:
    return _save_api(state, caller, body, body.original_provider or body.provider)


@router.post(f"{_WS}/tool-provider/api/delete")
def delete_api_provider(body: ProviderNameBody, caller: CurrentCaller, state: State) -> dict[str, Any]:
    caller.require_admin()
    with state.db.session() as session:
        api_tools.delete_provider(session, tenant_id=caller.tenant_id, provider=body.provider)
    return _OK


@router.get(f"{_WS}/tool-provider/api/get")
def get_api_provider(provider: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        row = api_tools.get_provider(session, tenant_id=caller.tenant_id, provider=provider)
        return {
            "id": row.id,
            "schema_type": row.schema_type,
            "schema": row.schema,
            "tools": [d.to_dify() for d in api_tools.descriptors_of(row)],
            "icon": row.icon or {},
            "description": row.description,
            "credentials": api_tools.open_credentials(state.keyring, row, masked=True),
            "privacy_policy": row.privacy_policy,
            "custom_disclaimer": row.custom_disclaimer,
            "labels": row.labels or [],
        }


@router.get(f"{_WS}/tool-provider/api/tools")
def api_provider_tools(provider: str, caller: CurrentCaller, state: State) -> list[dict[str, Any]]:
    with state.db.session() as session:
        row = api_tools.get_provider(session, tenant_id=caller.tenant_id, provider=provider)
        return [d.to_dify() for d in api_tools.descriptors_of(row)]


@router.post(f"{_WS}/tool-provider/api/test/pre")
async def test_api_tool(body: TestBody, caller: CurrentCaller, state: State) -> dict[str, Any]:
    """Call one operation of an unsaved document (Dify answers `{result}` or `{error}`, status 200)."""
    caller.require_editor()
    try:
        _, operations = parse_schema(body.schema_)
        operation = next((op for op in operations if op.operation_id == body.tool_name), None)
        if operation is None:
            raise InvalidParamError(f"The document has no operation '{body.tool_name}'.", params="tool_name")

        def stored_credentials() -> dict[str, Any]:
            values = dict(body.credentials)
            if body.provider_name:
                with state.db.session() as session:
                    try:
                        row = api_tools.get_provider(session, tenant_id=caller.tenant_id, provider=body.provider_name)
                    except NotFoundError:
                        return api_tools.check_auth(values)
                    stored = api_tools.open_credentials(state.keyring, row)
                    form = [{"variable": k, "type": "secret-input"} for k in auth_secret_fields()]
                    values = tool_credentials.merge_masked(values, form, stored)
            return api_tools.check_auth(values)

        credentials = await run_in_threadpool(stored_credentials)
        descriptor = operation.descriptor("", body.provider_name or "test")
        parameters = coerce_parameters(descriptor, body.parameters)
        output = await call_operation(
            state.extras["http_client"], operation, parameters, credentials, tool=descriptor.key
        )
    except OpenAPISchemaError:
        raise
    except LoomworksError as exc:
        return {"error": exc.message}
    return {"result": output.text or "empty response"}


# --- any tool: a test call -----------------------------------------------------------------------


@router.post(f"{_WS}/tool-provider/{{provider_type}}/{{provider}}/tools/{{tool_name}}/test")
async def test_tool(
    provider_type: str, provider: str, tool_name: str, body: ToolTestBody, caller: CurrentCaller, state: State
) -> dict[str, Any]:
    caller.require_editor()
    output = await _runtime(state).invoke(
        caller.tenant_id, provider_type, provider, tool_name, body.parameters, user_id=caller.account_id
    )
    return {"text": output.text, "json": output.json, "files": output.files, "variables": output.variables}


# --- workflow tools ------------------------------------------------------------------------------


def _workflow_public(state: Any, caller: Caller, row: WorkflowToolProvider) -> dict[str, Any]:
    descriptor = _runtime(state).source("workflow").get(caller.tenant_id, row.id, row.name)
    return {
        "workflow_tool_id": row.id,
        "workflow_app_id": row.app_id,
        "name": row.name,
        "label": row.label,
        "icon": row.icon or {},
        "description": row.description,
        "parameters": row.parameters or [],
        "privacy_policy": row.privacy_policy,
        "labels": row.labels or [],
        "tool": descriptor.to_dify() if descriptor else None,
        "synced": True,
    }


@router.post(f"{_WS}/tool-provider/workflow/create")
def create_workflow_tool(body: dict[str, Any], caller: CurrentCaller, state: State) -> dict[str, Any]:
    caller.require_editor()
    with state.db.session() as session:
        workflow_tool.save_provider(
            session, tenant_id=caller.tenant_id, account_id=caller.account_id, body=body, row=None
        )
    return _OK


@router.post(f"{_WS}/tool-provider/workflow/update")
def update_workflow_tool(body: dict[str, Any], caller: CurrentCaller, state: State) -> dict[str, Any]:
    caller.require_editor()
    with state.db.session() as session:
        row = workflow_tool.get_provider(session, tenant_id=caller.tenant_id, key=str(body.get("workflow_tool_id")))
        workflow_tool.save_provider(
            session, tenant_id=caller.tenant_id, account_id=caller.account_id, body=body, row=row
        )
    return _OK


@router.post(f"{_WS}/tool-provider/workflow/delete")
def delete_workflow_tool(body: dict[str, Any], caller: CurrentCaller, state: State) -> dict[str, Any]:
    caller.require_editor()
    with state.db.session() as session:
        session.delete(
            workflow_tool.get_provider(session, tenant_id=caller.tenant_id, key=str(body.get("workflow_tool_id")))
        )
    return _OK


@router.get(f"{_WS}/tool-provider/workflow/get")
def get_workflow_tool(
    caller: CurrentCaller, state: State, workflow_tool_id: str | None = None, workflow_app_id: str | None = None
) -> dict[str, Any]:
    key = workflow_tool_id or workflow_app_id
    if not key:
        raise InvalidParamError("workflow_tool_id or workflow_app_id is required.", params="workflow_tool_id")
    with state.db.session() as session:
        row = workflow_tool.get_provider(session, tenant_id=caller.tenant_id, key=key)
        session.expunge(row)
    return _workflow_public(state, caller, row)


@router.get(f"{_WS}/tool-provider/workflow/tools")
def workflow_tool_tools(workflow_tool_id: str, caller: CurrentCaller, state: State) -> list[dict[str, Any]]:
    public = get_workflow_tool(caller, state, workflow_tool_id=workflow_tool_id)
    return [public["tool"]] if public["tool"] else []


# --- MCP providers -------------------------------------------------------------------------------


async def _fetch_mcp(state: Any, form: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    source: mcp_tools.McpToolSource = _runtime(state).source("mcp")  # type: ignore[assignment]
    config = McpServerConfig(
        transport=form["transport"],
        url=form.get("server_url", ""),
        headers=form["headers"],
        command=form.get("command", ""),
        timeout=form["timeout"],
        sse_read_timeout=form["sse_read_timeout"],
    )
    try:
        return await source.fetch_tools(config, form.get("name") or "MCP")
    except (ToolError, OutboundRequestError) as exc:
        raise InvalidParamError(f"Could not list the MCP server's tools: {exc.message}", params="server_url") from None


@router.post(f"{_WS}/tool-provider/mcp")
async def add_mcp_provider(body: dict[str, Any], caller: CurrentCaller, state: State) -> dict[str, Any]:
    caller.require_admin()
    form = mcp_tools.check_body(body)
    transport, tools = await _fetch_mcp(state, form)

    def save() -> dict[str, Any]:
        with state.db.session() as session:
            row = mcp_tools.store(
                session,
                keyring=state.keyring,
                tenant_id=caller.tenant_id,
                account_id=caller.account_id,
                form=form,
                transport=transport,
                tools=tools,
            )
            return mcp_tools.to_dify(row)

    return await run_in_threadpool(save)


@router.put(f"{_WS}/tool-provider/mcp")
async def update_mcp_provider(body: dict[str, Any], caller: CurrentCaller, state: State) -> dict[str, Any]:
    caller.require_admin()
    provider_id = str(body.get("provider_id") or "")

    def current() -> dict[str, Any]:
        with state.db.session() as session:
            row = mcp_tools.get_provider(session, tenant_id=caller.tenant_id, provider_id=provider_id)
            config = mcp_tools.config_of(state.keyring, row)
            return {
                "name": row.name,
                "server_identifier": row.server_identifier,
                "server_url": config.url,
                "headers": config.headers,
                "command": config.command,
                "transport": row.transport,
                "timeout": row.timeout,
                "sse_read_timeout": row.sse_read_timeout,
            }

    merged = {**await run_in_threadpool(current), **{k: v for k, v in body.items() if v not in (None, "")}}
    if isinstance(merged.get("server_url"), str) and "******" in merged["server_url"]:
        merged["server_url"] = (await run_in_threadpool(current))["server_url"]
    form = mcp_tools.check_body(merged)
    transport, tools = await _fetch_mcp(state, form)

    def save() -> None:
        with state.db.session() as session:
            row = mcp_tools.get_provider(session, tenant_id=caller.tenant_id, provider_id=provider_id)
            mcp_tools.store(
                session,
                keyring=state.keyring,
                tenant_id=caller.tenant_id,
                account_id=caller.account_id,
                form=form,
                transport=transport,
                tools=tools,
                row=row,
            )

    await run_in_threadpool(save)
    return _OK


@router.delete(f"{_WS}/tool-provider/mcp")
def delete_mcp_provider(body: dict[str, Any], caller: CurrentCaller, state: State) -> dict[str, Any]:
    caller.require_admin()
    with state.db.session() as session:
        session.delete(
            mcp_tools.get_provider(session, tenant_id=caller.tenant_id, provider_id=str(body.get("provider_id") or ""))
        )
    return _OK


@router.get(f"{_WS}/tool-provider/mcp/tools/{{provider_id}}")
def mcp_provider_tools(provider_id: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        row = mcp_tools.get_provider(session, tenant_id=caller.tenant_id, provider_id=provider_id)
        return {"tools": mcp_tools.to_dify(row)["tools"]}


@router.get(f"{_WS}/tool-provider/mcp/update/{{provider_id}}")
async def refresh_mcp_provider(provider_id: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    source: mcp_tools.McpToolSource = _runtime(state).source("mcp")  # type: ignore[assignment]

    def config() -> tuple[str, McpServerConfig]:
        with state.db.session() as session:
            row = mcp_tools.get_provider(session, tenant_id=caller.tenant_id, provider_id=provider_id)
            return row.name, mcp_tools.config_of(state.keyring, row)

    name, server = await run_in_threadpool(config)
    try:
        _, tools = await source.fetch_tools(server, name)
    except (ToolError, OutboundRequestError) as exc:
        raise InvalidParamError(f"Could not list the MCP server's tools: {exc.message}") from None

    def save() -> dict[str, Any]:
        with state.db.session() as session:
            row = mcp_tools.get_provider(session, tenant_id=caller.tenant_id, provider_id=provider_id)
            row.tools = tools
            session.flush()
            return {"tools": mcp_tools.to_dify(row)["tools"]}

    return await run_in_threadpool(save)


# --- an app published as an MCP server -----------------------------------------------------------


def _server_public(row: AppMcpServer) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "server_code": row.server_code,
        "description": row.description,
        "status": row.status,
        "parameters": row.parameters or {},
        "created_at": int(row.created_at.timestamp()) if row.created_at else None,
        "updated_at": int(row.updated_at.timestamp()) if row.updated_at else None,
    }


@router.get("/apps/{app_id}/server")
def get_app_server(app_id: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        app_service.get(session, caller=caller, app_id=app_id)
        row = session.query(AppMcpServer).filter(AppMcpServer.app_id == app_id).one_or_none()
        return _server_public(row) if row else {}


@router.post("/apps/{app_id}/server", status_code=201)
def create_app_server(app_id: str, body: dict[str, Any], caller: CurrentCaller, state: State) -> dict[str, Any]:
    caller.require_editor()
    with state.db.session() as session:
        app = app_service.get(session, caller=caller, app_id=app_id)
        if session.query(AppMcpServer).filter(AppMcpServer.app_id == app_id).one_or_none():
            raise InvalidParamError("The app already has an MCP server.", params="app_id")
        params = body.get("parameters") or {}
        if not isinstance(params, dict):
            raise InvalidParamError("parameters must be an object.", params="parameters")
        row = AppMcpServer(
            tenant_id=caller.tenant_id,
            app_id=app.id,
            name=app.name,
            description=str(body.get("description") or app.description or ""),
            server_code=mcp_server.new_server_code(),
            parameters=params,
        )
        session.add(row)
        session.flush()
        return _server_public(row)


@router.put("/apps/{app_id}/server")
def update_app_server(app_id: str, body: dict[str, Any], caller: CurrentCaller, state: State) -> dict[str, Any]:
    caller.require_editor()
    with state.db.session() as session:
        app_service.get(session, caller=caller, app_id=app_id)
        row = session.query(AppMcpServer).filter(AppMcpServer.app_id == app_id).one_or_none()
        if row is None:
            raise NotFoundError("The app has no MCP server.")
        if "description" in body:
            row.description = str(body.get("description") or "")
        if isinstance(body.get("parameters"), dict):
            row.parameters = body["parameters"]
        if body.get("status") in ("active", "inactive"):
            row.status = body["status"]
        session.flush()
        return _server_public(row)


@router.get("/apps/{server_id}/server/refresh")
def refresh_app_server(server_id: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    caller.require_editor()
    with state.db.session() as session:
        row = session.get(AppMcpServer, server_id)
        if row is None or row.tenant_id != caller.tenant_id:
            raise NotFoundError("The MCP server was not found.")
        row.server_code = mcp_server.new_server_code()
        session.flush()
        return _server_public(row)
