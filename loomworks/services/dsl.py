"""App DSL: import Dify's YAML exports (every version 0.1.0–0.6.x, every app mode) and export ours.

Import keeps what it does not interpret (unknown keys of the `workflow` section and of the file,
unknown node types) so that an export gives it back, and reports what cannot run here — tools,
plugins, model providers and datasets the workspace does not have — as warnings that name them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from loomworks.core.clock import now
from loomworks.core.crypto import KeyRing
from loomworks.core.errors import InvalidParamError, NotFoundError
from loomworks.services import apps, workflow_secrets, workflows
from loomworks.services.app_config import normalise_model_config
from loomworks.services.caller import Caller
from loomworks.services.workflow_defaults import DEFAULT_FEATURES, DRAFT, content_hash
from loomworks.store.tables import App, AppModelConfig, Dataset, PendingImport, ProviderCredential, Workflow

CURRENT_DSL_VERSION = "0.6.0"
MAX_DSL_BYTES = 10 * 1024 * 1024
PENDING_MINUTES = 10
APP_MODES = ("chat", "agent-chat", "advanced-chat", "workflow", "completion")
KNOWN_NODE_TYPES = frozenset(
    {
        "start",
        "end",
        "answer",
        "llm",
        "knowledge-retrieval",
        "question-classifier",
        "if-else",
        "code",
        "template-transform",
        "http-request",
        "tool",
        "variable-aggregator",
        "variable-assigner",
        "assigner",
        "iteration",
        "iteration-start",
        "loop",
        "loop-start",
        "loop-end",
        "parameter-extractor",
        "document-extractor",
        "list-operator",
        "agent",
        "",
    }
)
_WORKFLOW_KEYS = ("graph", "features", "environment_variables", "conversation_variables")
_TOP_KEYS = ("app", "kind", "version", "model_config", "workflow", "dependencies")


@dataclass(slots=True)
class ImportResult:
    id: str
    status: str  # completed, completed-with-warnings, pending, failed
    app_id: str | None = None
    app_mode: str | None = None
    current_dsl_version: str = CURRENT_DSL_VERSION
    imported_dsl_version: str = ""
    error: str = ""
    warnings: list[str] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "app_id": self.app_id,
            "app_mode": self.app_mode,
            "current_dsl_version": self.current_dsl_version,
            "imported_dsl_version": self.imported_dsl_version,
            "error": self.error,
            "warnings": self.warnings,
        }


def _parse_version(version: str) -> tuple[int, int, int]:
    parts = (version.split(".") + ["0", "0", "0"])[:3]
    try:
        return int(parts[0]), int(parts[1]), int(parts[2])
    except ValueError as exc:
        raise InvalidParamError(f"Invalid DSL version: {version}.", params="version") from exc


def compatibility(imported: str) -> str:
    """Dify's rule: newer or older-major ⇒ pending; older minor ⇒ completed-with-warnings; else completed."""
    got, current = _parse_version(imported), _parse_version(CURRENT_DSL_VERSION)
    if got > current or got[0] < current[0]:
        return "pending"
    if got[1] < current[1]:
        return "completed-with-warnings"
    return "completed"


def load(content: str) -> dict[str, Any]:
    """Parse and check a DSL document (raises InvalidParamError with the reason)."""
    if len(content.encode()) > MAX_DSL_BYTES:
        raise InvalidParamError("The DSL file is larger than 10 MB.", params="yaml_content")
    try:
        document = yaml.safe_load(content)
    except yaml.YAMLError as exc:
        raise InvalidParamError(f"Invalid YAML: {exc}", params="yaml_content") from exc
    if not isinstance(document, dict):
        raise InvalidParamError("The DSL must be a YAML mapping.", params="yaml_content")
    version = document.get("version", "0.1.0")
    if not isinstance(version, str):
        raise InvalidParamError("The DSL version must be a string (quote it: version: '0.1.5').", params="version")
    document["version"] = version
    document["kind"] = "app"
    app = document.get("app")
    if not isinstance(app, dict):
        raise InvalidParamError("Missing app data in YAML content.", params="app")
    mode = app.get("mode")
    if mode not in APP_MODES:
        raise InvalidParamError("loss app mode" if not mode else f"Unknown app mode {mode}.", params="app.mode")
    if mode in ("workflow", "advanced-chat"):
        if not isinstance(document.get("workflow"), dict):
            raise InvalidParamError("Missing workflow data for workflow/advanced chat app.", params="workflow")
        graph = document["workflow"].get("graph")
        if not isinstance(graph, dict) or not isinstance(graph.get("nodes", []), list):
            raise InvalidParamError("The workflow graph must have a list of nodes.", params="workflow.graph")
    elif not isinstance(document.get("model_config"), dict):
        raise InvalidParamError("Missing model_config for chat/agent-chat/completion app.", params="model_config")
    return document


def _configured_providers(session: Session, tenant_id: str) -> set[str]:
    rows = session.scalars(select(ProviderCredential.provider).where(ProviderCredential.tenant_id == tenant_id))
    names = set()
    for name in rows:
        names.add(name)
        names.add(name.rsplit("/", 1)[-1])
    return names


def _provider_name(value: Any) -> str:
    return str(value or "").rsplit("/", 1)[-1]


def _has_tool(tool_providers: set[str], provider: Any) -> bool:
    """Whether a DSL's tool provider is installed: bare names and Dify 1.x plugin ids (`langgenius/time/time`)."""
    return isinstance(provider, str) and (provider in tool_providers or provider.rsplit("/", 1)[-1] in tool_providers)


def analyse(session: Session, tenant_id: str, document: dict[str, Any], *, tool_providers: set[str]) -> list[str]:
    """What in the document cannot run in this workspace, each named."""
    warnings: list[str] = []
    providers = _configured_providers(session, tenant_id)
    datasets = set(session.scalars(select(Dataset.id).where(Dataset.tenant_id == tenant_id)))
    if document["app"]["mode"] not in ("workflow", "advanced-chat"):
        model = (document.get("model_config") or {}).get("model") or {}
        if model.get("provider") and _provider_name(model.get("provider")) not in providers:
            warnings.append(f"Model provider '{model.get('provider')}' is not configured (model {model.get('name')}).")
        for tool in ((document.get("model_config") or {}).get("agent_mode") or {}).get("tools") or []:
            if (
                isinstance(tool, dict)
                and tool.get("provider_id")
                and not _has_tool(tool_providers, tool["provider_id"])
            ):
                warnings.append(f"Tool '{tool.get('tool_name')}' of provider '{tool.get('provider_id')}' is missing.")
        return warnings
    for node in document["workflow"]["graph"].get("nodes") or []:
        data = node.get("data") or {}
        kind, title = data.get("type", ""), data.get("title") or node.get("id")
        if kind not in KNOWN_NODE_TYPES:
            warnings.append(f"Node '{title}' has type '{kind}', which this server does not run.")
        model = data.get("model") or {}
        needs_model = kind in ("llm", "question-classifier", "parameter-extractor") and model.get("provider")
        if needs_model and _provider_name(model["provider"]) not in providers:
            warnings.append(f"Node '{title}': model provider '{model['provider']}' is not configured.")
        if kind == "tool":
            provider = data.get("provider_id") or data.get("provider_name")
            if not _has_tool(tool_providers, provider):
                warnings.append(f"Node '{title}': tool '{data.get('tool_name')}' of provider '{provider}' is missing.")
        if kind == "agent" and data.get("agent_strategy_provider_name"):
            warnings.append(
                f"Node '{title}': agent strategy plugin '{data['agent_strategy_provider_name']}' "
                "is not installed; the built-in strategies will be used."
            )
        if kind == "knowledge-retrieval":
            missing = [d for d in data.get("dataset_ids") or [] if d not in datasets]
            if missing:
                warnings.append(f"Node '{title}': {len(missing)} knowledge base(s) not found in this workspace.")
    return warnings


def _app_fields(document: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    app = document["app"]
    icon_type = overrides.get("icon_type") or app.get("icon_type") or "emoji"
    return {
        "name": overrides.get("name") or app.get("name") or "Imported app",
        "description": overrides.get("description")
        if overrides.get("description") is not None
        else app.get("description") or "",
        "icon_type": icon_type if icon_type in apps.ICON_TYPES else "emoji",
        "icon": overrides.get("icon") or app.get("icon") or "🤖",
        "icon_background": overrides.get("icon_background") or app.get("icon_background") or "#FFFFFF",
    }


def _apply(
    session: Session, caller: Caller, document: dict[str, Any], overrides: dict[str, Any], keyring: KeyRing | None
) -> App:
    mode = document["app"]["mode"]
    fields = _app_fields(document, overrides)
    target_id = overrides.get("app_id")
    if target_id:
        app = apps.get(session, caller=caller, app_id=target_id)
        if app.mode not in ("workflow", "advanced-chat") or app.mode != mode:
            raise InvalidParamError(
                "Only a workflow or chatflow app of the same mode can be overwritten.", params="app_id"
            )
    else:
        model_config = None
        if mode not in ("workflow", "advanced-chat"):
            model_config = normalise_model_config(copy.deepcopy(document["model_config"]), mode)
        app = apps.create(
            session,
            caller=caller,
            name=fields["name"],
            mode=mode,
            description=fields["description"],
            icon_type=fields["icon_type"],
            icon=fields["icon"],
            icon_background=fields["icon_background"],
            model_config=model_config,
        )
        app.use_icon_as_answer_icon = bool(document["app"].get("use_icon_as_answer_icon", False))
    if mode in ("workflow", "advanced-chat"):
        section = document["workflow"]
        draft = session.scalar(select(Workflow).where(Workflow.app_id == app.id, Workflow.version == DRAFT))
        assert draft is not None
        draft.graph = section.get("graph") or {"nodes": [], "edges": []}
        draft.features = (
            section.get("features") if isinstance(section.get("features"), dict) else dict(DEFAULT_FEATURES)
        )
        # Secret values arrive in clear (an export with secrets) and are sealed before they are stored.
        draft.environment_variables = workflow_secrets.seal(
            keyring, tenant_id=app.tenant_id, app_id=app.id, variables=list(section.get("environment_variables") or [])
        )
        draft.conversation_variables = list(section.get("conversation_variables") or [])
        draft.dsl_extra = {
            "workflow": {k: v for k, v in section.items() if k not in _WORKFLOW_KEYS},
            "document": {k: v for k, v in document.items() if k not in _TOP_KEYS},
        }
        draft.unique_hash = content_hash(draft.graph, draft.features)
        draft.updated_by = caller.account_id
    return app


def import_dsl(
    session: Session,
    *,
    caller: Caller,
    content: str,
    overrides: dict[str, Any],
    tool_providers: set[str] | None = None,
    keyring: KeyRing | None = None,
) -> ImportResult:
    """Import (or queue for confirmation) one DSL document."""
    caller.require_editor()
    pending = PendingImport(
        tenant_id=caller.tenant_id,
        account_id=caller.account_id,
        yaml_content=content,
        options=overrides,
        expires_at=now() + timedelta(minutes=PENDING_MINUTES),
    )
    session.add(pending)
    session.flush()
    try:
        document = load(content)
    except InvalidParamError as exc:
        session.delete(pending)
        return ImportResult(id=pending.id, status="failed", error=exc.message)
    version = document["version"]
    status = compatibility(version)
    mode = document["app"]["mode"]
    if status == "pending":
        return ImportResult(id=pending.id, status="pending", app_mode=mode, imported_dsl_version=version)
    session.delete(pending)
    return _finish(session, caller, pending.id, document, overrides, status, tool_providers or set(), keyring)


def _finish(
    session: Session,
    caller: Caller,
    import_id: str,
    document: dict[str, Any],
    overrides: dict[str, Any],
    status: str,
    tool_providers: set[str],
    keyring: KeyRing | None = None,
) -> ImportResult:
    warnings = analyse(session, caller.tenant_id, document, tool_providers=tool_providers)
    try:
        with session.begin_nested():
            app = _apply(session, caller, document, overrides, keyring)
    except InvalidParamError as exc:
        return ImportResult(
            id=import_id,
            status="failed",
            app_mode=document["app"]["mode"],
            imported_dsl_version=document["version"],
            error=exc.message,
        )
    if warnings and status == "completed":
        status = "completed-with-warnings"
    return ImportResult(
        id=import_id,
        status=status,
        app_id=app.id,
        app_mode=app.mode,
        imported_dsl_version=document["version"],
        warnings=warnings,
    )


def confirm(
    session: Session,
    *,
    caller: Caller,
    import_id: str,
    tool_providers: set[str] | None = None,
    keyring: KeyRing | None = None,
) -> ImportResult:
    caller.require_editor()
    pending = session.scalar(
        select(PendingImport).where(
            PendingImport.id == import_id,
            PendingImport.tenant_id == caller.tenant_id,
            PendingImport.account_id == caller.account_id,
        )
    )
    if pending is None or pending.expires_at <= now():
        raise NotFoundError("Import information expired or does not exist.")
    document = load(pending.yaml_content)
    overrides = dict(pending.options)
    session.delete(pending)
    return _finish(session, caller, import_id, document, overrides, "completed", tool_providers or set(), keyring)


def export(
    session: Session,
    *,
    caller: Caller,
    app_id: str,
    include_secret: bool = False,
    workflow_id: str | None = None,
    keyring: KeyRing | None = None,
) -> str:
    """The app as a DSL document (keys sorted, as Dify writes them).

    Secret environment values are blanked, or opened with `keyring` when `include_secret`.
    """
    app = apps.get(session, caller=caller, app_id=app_id)
    document: dict[str, Any] = {
        "app": {
            "name": app.name,
            "mode": app.mode,
            "icon": app.icon,
            "icon_type": app.icon_type or "emoji",
            "icon_background": app.icon_background or "#FFFFFF",
            "description": app.description,
            "use_icon_as_answer_icon": app.use_icon_as_answer_icon,
        },
        "kind": "app",
        "version": CURRENT_DSL_VERSION,
    }
    if app.mode in ("workflow", "advanced-chat"):
        if workflow_id:
            workflow = workflows.get_version(session, caller=caller, app_id=app.id, workflow_id=workflow_id)
        else:
            workflow = workflows.get_draft(session, caller=caller, app_id=app.id)
        env = copy.deepcopy(workflow.environment_variables or [])
        if include_secret:
            env = workflow_secrets.opened(keyring, tenant_id=app.tenant_id, app_id=app.id, variables=env)
        else:
            for variable in env:
                if isinstance(variable, dict) and variable.get("value_type") == "secret":
                    variable["value"] = ""
        extra = workflow.dsl_extra or {}
        document["workflow"] = {
            **(extra.get("workflow") or {}),
            "graph": workflow.graph,
            "features": workflow.features,
            "environment_variables": env,
            "conversation_variables": workflow.conversation_variables or [],
        }
        document.update(extra.get("document") or {})
        document["dependencies"] = []
    else:
        row = session.get(AppModelConfig, app.app_model_config_id) if app.app_model_config_id else None
        document["model_config"] = row.config if row else {}
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=True)
