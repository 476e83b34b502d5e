"""Workflow drafts, publication and versions (Dify's console paths)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from loomworks.api.deps import CurrentCaller, State
from loomworks.core.clock import to_timestamp
from loomworks.core.crypto import KeyRing
from loomworks.services import workflow_secrets, workflows
from loomworks.store.tables import Account, Workflow

router = APIRouter(prefix="/apps/{app_id}/workflows", tags=["console: workflows"])


def _account(session: Session, account_id: str | None) -> dict[str, Any] | None:
    account = session.get(Account, account_id) if account_id else None
    return {"id": account.id, "name": account.name, "email": account.email} if account else None


def workflow_public(session: Session, row: Workflow, keyring: KeyRing | None = None) -> dict[str, Any]:
    environment = workflow_secrets.masked(
        keyring, tenant_id=row.tenant_id, app_id=row.app_id, variables=row.environment_variables
    )
    return {
        "id": row.id,
        "graph": row.graph,
        "features": row.features,
        "hash": row.unique_hash,
        "version": row.version,
        "marked_name": row.marked_name,
        "marked_comment": row.marked_comment,
        "created_by": _account(session, row.created_by),
        "created_at": to_timestamp(row.created_at),
        "updated_by": _account(session, row.updated_by),
        "updated_at": to_timestamp(row.updated_at),
        "tool_published": False,
        "environment_variables": environment,
        "conversation_variables": row.conversation_variables or [],
    }


class DraftBody(BaseModel):
    graph: dict[str, Any]
    features: dict[str, Any] | None = None
    hash: str | None = None
    environment_variables: list[dict[str, Any]] | None = None
    conversation_variables: list[dict[str, Any]] | None = None


class PublishBody(BaseModel):
    marked_name: str = ""
    marked_comment: str = ""


class VersionUpdate(BaseModel):
    marked_name: str | None = None
    marked_comment: str | None = None


@router.get("/draft")
def get_draft(app_id: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        return workflow_public(session, workflows.get_draft(session, caller=caller, app_id=app_id), state.keyring)


@router.post("/draft")
def sync_draft(app_id: str, body: DraftBody, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        draft = workflows.sync_draft(
            session,
            caller=caller,
            app_id=app_id,
            graph=body.graph,
            features=body.features,
            unique_hash=body.hash,
            environment_variables=body.environment_variables,
            conversation_variables=body.conversation_variables,
            keyring=state.keyring,
        )
        return {"result": "success", "hash": draft.unique_hash, "updated_at": to_timestamp(draft.updated_at)}


@router.post("/publish")
def publish(app_id: str, caller: CurrentCaller, state: State, body: PublishBody | None = None) -> dict[str, Any]:
    body = body or PublishBody()
    with state.db.session() as session:
        row = workflows.publish(
            session, caller=caller, app_id=app_id, marked_name=body.marked_name, marked_comment=body.marked_comment
        )
        return {"result": "success", "created_at": to_timestamp(row.created_at), "id": row.id}


@router.get("/publish")
def get_published(app_id: str, caller: CurrentCaller, state: State) -> dict[str, Any] | None:
    with state.db.session() as session:
        row = workflows.published(session, caller=caller, app_id=app_id)
        return workflow_public(session, row, state.keyring) if row else None


@router.get("")
def list_versions(
    app_id: str,
    caller: CurrentCaller,
    state: State,
    page: int = Query(1),
    limit: int = Query(10),
    named_only: bool = False,
    user_id: str | None = None,
) -> dict[str, Any]:
    with state.db.session() as session:
        result = workflows.versions(
            session, caller=caller, app_id=app_id, page=page, limit=limit, named_only=named_only, user_id=user_id
        )
        return {
            "items": [workflow_public(session, row, state.keyring) for row in result.items],
            "page": result.page,
            "limit": result.limit,
            "has_more": result.has_more,
        }


@router.patch("/{workflow_id}")
def update_version(
    app_id: str, workflow_id: str, body: VersionUpdate, caller: CurrentCaller, state: State
) -> dict[str, Any]:
    with state.db.session() as session:
        row = workflows.update_version(
            session,
            caller=caller,
            app_id=app_id,
            workflow_id=workflow_id,
            marked_name=body.marked_name,
            marked_comment=body.marked_comment,
        )
        return workflow_public(session, row, state.keyring)


@router.delete("/{workflow_id}", status_code=204)
def delete_version(app_id: str, workflow_id: str, caller: CurrentCaller, state: State) -> Response:
    with state.db.session() as session:
        workflows.delete_version(session, caller=caller, app_id=app_id, workflow_id=workflow_id)
    return Response(status_code=204)


@router.post("/{workflow_id}/restore")
def restore(app_id: str, workflow_id: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        draft = workflows.restore(session, caller=caller, app_id=app_id, workflow_id=workflow_id)
        return {"result": "success", "hash": draft.unique_hash, "updated_at": to_timestamp(draft.updated_at)}
