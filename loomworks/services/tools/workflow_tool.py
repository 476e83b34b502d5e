"""The `workflow` provider type: a published workflow app offered as a tool.

The tool's parameters are the app's Start variables (typed from them; `form` and descriptions
chosen when the tool is made). A call runs the app's published workflow to the end through the
workflow run service and answers its outputs. Nested calls (a workflow calling a workflow tool
calling …) are counted in `CALL_DEPTH` and refused past `max_depth`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from loomworks.core.errors import ConflictError, InvalidParamError, NotFoundError
from loomworks.services.tools.base import (
    CALL_DEPTH,
    ToolCall,
    ToolDescriptor,
    ToolError,
    ToolOption,
    ToolOutput,
    ToolParameter,
    ToolProviderError,
    i18n,
)
from loomworks.services.workflow_runs import RunRequest, WorkflowRunService, start_variables
from loomworks.store.db import Database
from loomworks.store.tables import App, Workflow, WorkflowToolProvider

_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_TYPES: dict[str, str] = {
    "text-input": "string",
    "paragraph": "string",
    "select": "select",
    "number": "number",
    "file": "file",
    "file-list": "files",
    "checkbox": "boolean",
}


class WorkflowToolDepthError(ToolError):
    code, status, default_message = "workflow_tool_depth", 400, "Workflow tools are nested too deep."


def parameters_for(graph: dict[str, Any], settings: list[dict[str, Any]]) -> list[ToolParameter]:
    """Typed tool parameters from the Start variables, with the tool's per-parameter settings."""
    chosen = {str(s.get("name")): s for s in settings if isinstance(s, dict)}
    params: list[ToolParameter] = []
    for variable in start_variables(graph):
        name = str(variable.get("variable") or "")
        if not name:
            continue
        setting = chosen.get(name, {})
        description = str(setting.get("description") or variable.get("label") or "")
        options = [ToolOption(str(o), i18n(str(o))) for o in variable.get("options") or []]
        params.append(
            ToolParameter(
                name,
                _TYPES.get(str(variable.get("type") or "text-input"), "string"),  # type: ignore[arg-type]
                required=bool(variable.get("required")),
                form="form" if setting.get("form") == "form" else "llm",
                label=i18n(str(variable.get("label") or name)),
                human_description=i18n(description),
                llm_description=description,
                default=variable.get("default") or None,
                options=options,
            )
        )
    return params


def _published(session: Session, app: App) -> Workflow:
    workflow = session.get(Workflow, app.workflow_id) if app.workflow_id else None
    if workflow is None:
        raise InvalidParamError("The app has no published workflow. Publish it first.", params="workflow_app_id")
    return workflow


def descriptor_of(row: WorkflowToolProvider, graph: dict[str, Any]) -> ToolDescriptor:
    return ToolDescriptor(
        provider_type="workflow",
        provider_id=row.id,
        provider_name=row.name,
        name=row.name,
        label=i18n(row.label or row.name),
        description=i18n(row.description or row.label or row.name),
        parameters=parameters_for(graph, row.parameters or []),
    )


def _row(session: Session, tenant_id: str, key: str) -> WorkflowToolProvider | None:
    return session.scalar(
        select(WorkflowToolProvider).where(
            WorkflowToolProvider.tenant_id == tenant_id,
            or_(
                WorkflowToolProvider.id == key,
                WorkflowToolProvider.name == key,
                WorkflowToolProvider.app_id == key,
            ),
        )
    )


def get_provider(session: Session, *, tenant_id: str, key: str) -> WorkflowToolProvider:
    row = _row(session, tenant_id, key)
    if row is None:
        raise NotFoundError("The workflow tool was not found.")
    return row


def save_provider(
    session: Session, *, tenant_id: str, account_id: str | None, body: dict[str, Any], row: WorkflowToolProvider | None
) -> WorkflowToolProvider:
    """Create (row None) or update a workflow tool from Dify's create/update body."""
    name = str(body.get("name") or "").strip()
    if not _NAME.match(name):
        raise InvalidParamError("name must be 1-64 letters, digits or '_'.", params="name")
    if row is None:
        app_id = str(body.get("workflow_app_id") or "")
        app = session.get(App, app_id)
        if app is None or app.tenant_id != tenant_id:
            raise NotFoundError("App not found.")
        if app.mode != "workflow":
            raise InvalidParamError("Only workflow apps can be published as tools.", params="workflow_app_id")
        _published(session, app)
        if session.scalar(select(WorkflowToolProvider).where(WorkflowToolProvider.app_id == app.id)):
            raise ConflictError("This workflow is already published as a tool.")
        row = WorkflowToolProvider(tenant_id=tenant_id, app_id=app.id, name=name, created_by=account_id)
        session.add(row)
    clash = session.scalar(
        select(WorkflowToolProvider).where(
            WorkflowToolProvider.tenant_id == tenant_id, WorkflowToolProvider.name == name
        )
    )
    if clash is not None and clash is not row:
        raise ConflictError(f"A workflow tool named '{name}' already exists.")
    params = body.get("parameters") or []
    if not isinstance(params, list):
        raise InvalidParamError("parameters must be a list.", params="parameters")
    row.name = name
    row.label = str(body.get("label") or name)
    row.description = str(body.get("description") or "")
    icon = body.get("icon")
    row.icon = icon if isinstance(icon, dict) else {}
    row.parameters = [
        {"name": str(p.get("name")), "description": str(p.get("description") or ""), "form": p.get("form") or "llm"}
        for p in params
        if isinstance(p, dict) and p.get("name")
    ]
    row.privacy_policy = str(body.get("privacy_policy") or "")
    row.labels = [str(label) for label in body.get("labels") or []]
    session.flush()
    return row


class WorkflowToolSource:
    """Serves `provider_type: workflow`. `runs` is called lazily: the run service is built after the tools."""

    provider_type = "workflow"

    def __init__(self, db: Database, runs: Callable[[], WorkflowRunService | None], *, max_depth: int = 5) -> None:
        self.db, self.runs, self.max_depth = db, runs, max_depth

    def _pairs(self, session: Session, rows: Any) -> list[ToolDescriptor]:
        found = []
        for row in rows:
            app = session.get(App, row.app_id)
            workflow = session.get(Workflow, app.workflow_id) if app and app.workflow_id else None
            if workflow is not None:
                found.append(descriptor_of(row, workflow.graph))
        return found

    def list_tools(self, tenant_id: str) -> list[ToolDescriptor]:
        with self.db.session() as session:
            rows = session.scalars(select(WorkflowToolProvider).where(WorkflowToolProvider.tenant_id == tenant_id))
            return self._pairs(session, rows)

    def get(self, tenant_id: str, provider_id: str, tool_name: str) -> ToolDescriptor | None:
        del tool_name  # one tool per provider, named like it
        with self.db.session() as session:
            row = _row(session, tenant_id, provider_id)
            found = self._pairs(session, [row]) if row else []
            return found[0] if found else None

    def _app(self, tenant_id: str, provider_id: str) -> App | None:
        with self.db.session() as session:
            row = _row(session, tenant_id, provider_id)
            app = session.get(App, row.app_id) if row else None
            if app is not None:
                session.expunge(app)
            return app

    async def invoke(self, call: ToolCall) -> ToolOutput:
        d = call.descriptor
        if call.depth >= self.max_depth:
            raise WorkflowToolDepthError(
                f"Tool {d.key}: workflow tools may nest at most {self.max_depth} deep.", tool=d.key
            )
        runs = self.runs()
        if runs is None:
            raise ToolProviderError(f"Tool {d.key}: workflow runs are not available here.", tool=d.key)
        app = await run_in_threadpool(self._app, call.tenant_id, d.provider_id)
        if app is None:
            raise ToolProviderError(f"Tool {d.key}: its workflow app was removed.", tool=d.key)
        inputs = {p.name: call.parameters[p.name] for p in d.parameters if p.name in call.parameters}
        token = CALL_DEPTH.set(call.depth + 1)
        try:
            prepared = await runs.prepare(
                RunRequest(app=app, inputs=inputs, user=call.user_id or "workflow-tool", invoke_from="service-api")
            )
            answer = await runs.blocking(prepared)
        finally:
            CALL_DEPTH.reset(token)
        data = answer.get("data") or {}
        if data.get("status") != "succeeded":
            raise ToolProviderError(
                f"Tool {d.key}: the workflow failed: {data.get('error') or data.get('status')}", tool=d.key
            )
        outputs = data.get("outputs") or {}
        files = [v for v in outputs.values() if isinstance(v, dict) and v.get("transfer_method")]
        return ToolOutput(
            text=json.dumps(outputs, ensure_ascii=False), json=[outputs], files=files, variables=dict(outputs)
        )
