"""Workflow drafts, publication and versions of workflow and chatflow apps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loomworks.core.clock import now
from loomworks.core.crypto import KeyRing
from loomworks.core.errors import ConflictError, InvalidParamError, NotFoundError, error_class
from loomworks.services import apps, workflow_secrets
from loomworks.services.caller import Caller
from loomworks.services.workflow_defaults import DRAFT, content_hash, create_default_draft
from loomworks.store.tables import App, Workflow

WORKFLOW_MODES = ("workflow", "advanced-chat")

DraftNotExistError = error_class("draft_workflow_not_exist", 404, "Draft workflow need to be initialized.")
DraftNotSyncError = error_class(
    "draft_workflow_not_sync", 409, "Workflow graph might have been modified, please refresh and resubmit."
)
NotWorkflowModeError = error_class("app_unavailable", 400, "This app is not a workflow or chatflow app.")


def _workflow_app(session: Session, caller: Caller, app_id: str) -> App:
    app = apps.get(session, caller=caller, app_id=app_id)
    if app.mode not in WORKFLOW_MODES:
        raise NotWorkflowModeError()
    return app


def get_draft(session: Session, *, caller: Caller, app_id: str) -> Workflow:
    app = _workflow_app(session, caller, app_id)
    draft = session.scalar(select(Workflow).where(Workflow.app_id == app.id, Workflow.version == DRAFT))
    if draft is None:
        raise DraftNotExistError()
    return draft


def _check_graph(graph: Any) -> dict[str, Any]:
    if not isinstance(graph, dict) or not isinstance(graph.get("nodes", []), list):
        raise InvalidParamError("graph must be an object with a list of nodes.", params="graph")
    if not isinstance(graph.get("edges", []), list):
        raise InvalidParamError("graph.edges must be a list.", params="graph")
    return graph


def sync_draft(
    session: Session,
    *,
    caller: Caller,
    app_id: str,
    graph: Any,
    features: Any,
    unique_hash: str | None,
    environment_variables: list[Any] | None,
    conversation_variables: list[Any] | None,
    keyring: KeyRing | None = None,
) -> Workflow:
    """Save the draft; refused with 409 when `unique_hash` says the client edited an older draft.

    Secret environment values are sealed with `keyring` before they are stored; a masked value
    sent back keeps the stored one (see `workflow_secrets.seal`).
    """
    caller.require_editor()
    app = _workflow_app(session, caller, app_id)
    graph = _check_graph(graph)
    if features is not None and not isinstance(features, dict):
        raise InvalidParamError("features must be an object.", params="features")
    draft = session.scalar(
        select(Workflow).where(Workflow.app_id == app.id, Workflow.version == DRAFT).with_for_update()
    )
    if draft is None:
        draft = create_default_draft(session, app=app, account_id=caller.account_id)
    elif unique_hash and draft.unique_hash != unique_hash:
        raise DraftNotSyncError()
    draft.graph = graph
    draft.features = features if features is not None else draft.features
    if environment_variables is not None:
        draft.environment_variables = workflow_secrets.seal(
            keyring,
            tenant_id=app.tenant_id,
            app_id=app.id,
            variables=environment_variables,
            previous=draft.environment_variables,
        )
    if conversation_variables is not None:
        draft.conversation_variables = conversation_variables
    draft.unique_hash = content_hash(draft.graph, draft.features)
    draft.updated_by = caller.account_id
    draft.updated_at = now()
    return draft


def publish(
    session: Session, *, caller: Caller, app_id: str, marked_name: str = "", marked_comment: str = ""
) -> Workflow:
    """Copy the draft into a new published version and make it the app's current workflow."""
    caller.require_editor()
    if len(marked_name or "") > 20:
        raise InvalidParamError("Marked name cannot exceed 20 characters.", params="marked_name")
    if len(marked_comment or "") > 100:
        raise InvalidParamError("Marked comment cannot exceed 100 characters.", params="marked_comment")
    draft = get_draft(session, caller=caller, app_id=app_id)
    version = now().replace(tzinfo=None).isoformat(sep=" ")
    published = Workflow(
        tenant_id=draft.tenant_id,
        app_id=draft.app_id,
        type=draft.type,
        version=version,
        marked_name=marked_name or "",
        marked_comment=marked_comment or "",
        graph=draft.graph,
        features=draft.features,
        environment_variables=draft.environment_variables,
        conversation_variables=draft.conversation_variables,
        unique_hash=draft.unique_hash,
        created_by=caller.account_id,
        updated_by=caller.account_id,
    )
    session.add(published)
    session.flush()
    app = session.get(App, draft.app_id)
    assert app is not None
    app.workflow_id = published.id
    return published


@dataclass(frozen=True, slots=True)
class VersionsPage:
    items: list[Workflow]
    page: int
    limit: int
    has_more: bool


def versions(
    session: Session,
    *,
    caller: Caller,
    app_id: str,
    page: int,
    limit: int,
    named_only: bool = False,
    user_id: str | None = None,
) -> VersionsPage:
    app = _workflow_app(session, caller, app_id)
    if not 1 <= limit <= 100:
        raise InvalidParamError("limit must be between 1 and 100.", params="limit")
    if page < 1:
        raise InvalidParamError("page must be at least 1.", params="page")
    query = select(Workflow).where(Workflow.app_id == app.id, Workflow.version != DRAFT)
    if named_only:
        query = query.where(Workflow.marked_name != "")
    if user_id:
        query = query.where(Workflow.created_by == user_id)
    rows = list(
        session.scalars(
            query.order_by(Workflow.created_at.desc(), Workflow.id).offset((page - 1) * limit).limit(limit + 1)
        )
    )
    return VersionsPage(items=rows[:limit], page=page, limit=limit, has_more=len(rows) > limit)


def get_version(session: Session, *, caller: Caller, app_id: str, workflow_id: str) -> Workflow:
    app = _workflow_app(session, caller, app_id)
    row = session.scalar(select(Workflow).where(Workflow.app_id == app.id, Workflow.id == workflow_id))
    if row is None:
        raise NotFoundError("Workflow not found.")
    return row


def published(session: Session, *, caller: Caller, app_id: str) -> Workflow | None:
    app = _workflow_app(session, caller, app_id)
    return session.get(Workflow, app.workflow_id) if app.workflow_id else None


def update_version(
    session: Session,
    *,
    caller: Caller,
    app_id: str,
    workflow_id: str,
    marked_name: str | None,
    marked_comment: str | None,
) -> Workflow:
    caller.require_editor()
    row = get_version(session, caller=caller, app_id=app_id, workflow_id=workflow_id)
    if row.version == DRAFT:
        raise InvalidParamError("The draft cannot be named.", params="workflow_id")
    if marked_name is not None:
        row.marked_name = marked_name[:20]
    if marked_comment is not None:
        row.marked_comment = marked_comment[:100]
    return row


def delete_version(session: Session, *, caller: Caller, app_id: str, workflow_id: str) -> None:
    caller.require_editor()
    row = get_version(session, caller=caller, app_id=app_id, workflow_id=workflow_id)
    app = session.get(App, row.app_id)
    if row.version == DRAFT or (app is not None and app.workflow_id == row.id):
        raise ConflictError("The draft and the version in use cannot be deleted.")
    session.delete(row)


def restore(session: Session, *, caller: Caller, app_id: str, workflow_id: str) -> Workflow:
    """Copy a published version back into the draft."""
    caller.require_editor()
    source = get_version(session, caller=caller, app_id=app_id, workflow_id=workflow_id)
    app = session.get(App, source.app_id)
    assert app is not None
    draft = session.scalar(select(Workflow).where(Workflow.app_id == app.id, Workflow.version == DRAFT))
    if draft is None:
        draft = create_default_draft(session, app=app, account_id=caller.account_id)
    draft.graph = source.graph
    draft.features = source.features
    draft.environment_variables = source.environment_variables
    draft.conversation_variables = source.conversation_variables
    draft.unique_hash = content_hash(draft.graph, draft.features)
    draft.updated_by = caller.account_id
    draft.updated_at = now()
    return draft


def count_versions(session: Session, *, app_id: str) -> int:
    return session.scalar(select(func.count()).select_from(Workflow).where(Workflow.app_id == app_id)) or 0
