"""Workspaces, members and roles, invitations and activation (Dify's console paths)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from loomworks.api.deps import CurrentCaller, State
from loomworks.core.clock import to_timestamp
from loomworks.core.errors import InvalidParamError
from loomworks.services import auth, workspaces
from loomworks.store.tables import Tenant

router = APIRouter(tags=["console: workspaces"])


def _tenant(tenant: Tenant, *, current: bool, role: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": tenant.id,
        "name": tenant.name,
        "plan": tenant.plan,
        "status": tenant.status,
        "created_at": to_timestamp(tenant.created_at),
        "current": current,
    }
    if role is not None:
        body["role"] = role
        body["in_trial"] = None
        body["trial_end_reason"] = None
        body["custom_config"] = None
    return body


@router.get("/workspaces")
def list_workspaces(caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        rows = workspaces.list_workspaces(session, caller=caller)
    return {"workspaces": [_tenant(tenant, current=current) for tenant, current in rows]}


class WorkspaceCreate(BaseModel):
    name: str


@router.post("/workspaces", status_code=201)
def create_workspace(body: WorkspaceCreate, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        tenant = workspaces.create_workspace(session, caller=caller, name=body.name)
        return _tenant(tenant, current=True, role="owner")


@router.get("/workspaces/current")
@router.post("/workspaces/current")
def current_workspace(caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        tenant = workspaces.get_tenant(session, caller=caller)
        return _tenant(tenant, current=True, role=caller.role)


class WorkspaceRename(BaseModel):
    name: str


@router.post("/workspaces/info")
def rename_workspace(body: WorkspaceRename, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        tenant = workspaces.rename_workspace(session, caller=caller, name=body.name)
        return {"result": "success", "tenant": _tenant(tenant, current=True, role=caller.role)}


class SwitchBody(BaseModel):
    tenant_id: str


@router.post("/workspaces/switch")
def switch(body: SwitchBody, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        tenant = workspaces.switch(session, caller=caller, tenant_id=body.tenant_id)
        return {"result": "success", "new_tenant": _tenant(tenant, current=True)}


@router.get("/workspaces/current/members")
def members(caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        rows = workspaces.list_members(session, caller=caller)
    return {
        "result": "success",
        "accounts": [
            {
                "id": m.account.id,
                "name": m.account.name,
                "avatar": m.account.avatar,
                "email": m.account.email,
                "last_login_at": to_timestamp(m.account.last_login_at),
                "last_active_at": to_timestamp(m.account.last_active_at),
                "created_at": to_timestamp(m.account.created_at),
                "role": m.role,
                "status": m.account.status,
            }
            for m in rows
        ],
    }


class InviteBody(BaseModel):
    emails: list[str]
    role: str
    language: str | None = None


@router.post("/workspaces/current/members/invite-email", status_code=201)
def invite(body: InviteBody, request: Request, caller: CurrentCaller, state: State) -> dict[str, Any]:
    base = state.settings.console_api_url or str(request.base_url).rstrip("/")
    with state.db.session() as session:
        results = workspaces.invite(
            session, caller=caller, emails=body.emails, role=body.role, activation_base_url=base
        )
    return {
        "result": "success",
        "invitation_results": [
            {"status": r.status, "email": r.email, "url": r.url, **({"message": r.message} if r.message else {})}
            for r in results
        ],
        "tenant_id": caller.tenant_id,
    }


class RoleBody(BaseModel):
    role: str


@router.put("/workspaces/current/members/{member_id}/update-role")
def update_role(member_id: str, body: RoleBody, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        workspaces.update_role(session, caller=caller, member_id=member_id, role=body.role)
    return {"result": "success"}


@router.delete("/workspaces/current/members/{member_id}")
def remove_member(member_id: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        workspaces.remove_member(session, caller=caller, member_id=member_id)
    return {"result": "success", "tenant_id": caller.tenant_id}


@router.get("/activate/check")
def activate_check(state: State, token: str = "", email: str = "", workspace_id: str | None = None) -> dict[str, Any]:
    with state.db.session() as session:
        found = workspaces.check_invitation(session, email=email, token=token)
        if found is None or (workspace_id and found[1].id != workspace_id):
            return {"is_valid": False, "data": None}
        invitation, tenant = found
        return {
            "is_valid": True,
            "data": {"workspace_name": tenant.name, "workspace_id": tenant.id, "email": invitation.email},
        }


class ActivateBody(BaseModel):
    workspace_id: str | None = None
    email: str = ""
    token: str
    name: str
    password: str
    interface_language: str | None = None
    timezone: str | None = None


@router.post("/activate")
def activate(body: ActivateBody, state: State) -> dict[str, Any]:
    if not body.token:
        raise InvalidParamError("token is required", params="token")
    with state.db.session() as session:
        auth.require_setup(session)
        workspaces.activate(
            session,
            email=body.email,
            token=body.token,
            name=body.name,
            password=body.password,
            interface_language=body.interface_language,
            timezone=body.timezone,
        )
    return {"result": "success"}
