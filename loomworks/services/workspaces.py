"""Workspaces (tenants): membership, roles, invitations and switching between workspaces."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from loomworks.core.clock import now
from loomworks.core.errors import (
    ForbiddenError,
    InvalidParamError,
    InvalidTokenError,
    NoPermissionError,
    NotFoundError,
)
from loomworks.services.auth import check_email, check_password_rule, hash_password
from loomworks.services.caller import ROLES, Caller
from loomworks.store.tables import Account, Invitation, Tenant, TenantAccountJoin

INVITATION_DAYS = 7
ASSIGNABLE_ROLES = tuple(role for role in ROLES if role != "owner")


@dataclass(frozen=True, slots=True)
class Member:
    account: Account
    role: str


@dataclass(frozen=True, slots=True)
class InvitationResult:
    email: str
    status: str  # success, failed
    url: str | None = None
    message: str | None = None


def list_workspaces(session: Session, *, caller: Caller) -> list[tuple[Tenant, bool]]:
    """The caller's workspaces, each with whether it is the current one."""
    rows = session.execute(
        select(Tenant, TenantAccountJoin)
        .join(TenantAccountJoin, TenantAccountJoin.tenant_id == Tenant.id)
        .where(TenantAccountJoin.account_id == caller.account_id, Tenant.status == "normal")
        .order_by(TenantAccountJoin.created_at)
    ).all()
    return [(tenant, tenant.id == caller.tenant_id) for tenant, _join in rows]


def get_tenant(session: Session, *, caller: Caller) -> Tenant:
    tenant = session.get(Tenant, caller.tenant_id)
    if tenant is None:
        raise NotFoundError("Workspace not found.")
    return tenant


def create_workspace(session: Session, *, caller: Caller, name: str) -> Tenant:
    """Create a workspace owned by the caller and make it current."""
    name = (name or "").strip()
    if not name or len(name) > 255:
        raise InvalidParamError("Workspace name must be between 1 and 255 characters.", params="name")
    tenant = Tenant(name=name)
    session.add(tenant)
    session.flush()
    _set_current(session, account_id=caller.account_id, tenant_id=None)
    session.add(TenantAccountJoin(tenant_id=tenant.id, account_id=caller.account_id, role="owner", current=True))
    session.flush()
    return tenant


def rename_workspace(session: Session, *, caller: Caller, name: str) -> Tenant:
    caller.require_admin()
    name = (name or "").strip()
    if not name or len(name) > 255:
        raise InvalidParamError("Workspace name must be between 1 and 255 characters.", params="name")
    tenant = get_tenant(session, caller=caller)
    tenant.name = name
    return tenant


def _set_current(session: Session, *, account_id: str, tenant_id: str | None) -> None:
    for join in session.scalars(select(TenantAccountJoin).where(TenantAccountJoin.account_id == account_id)):
        join.current = join.tenant_id == tenant_id


def switch(session: Session, *, caller: Caller, tenant_id: str) -> Tenant:
    """Make another of the caller's workspaces the current one."""
    join = session.scalar(
        select(TenantAccountJoin).where(
            TenantAccountJoin.account_id == caller.account_id, TenantAccountJoin.tenant_id == tenant_id
        )
    )
    tenant = session.get(Tenant, tenant_id) if join is not None else None
    if tenant is None or tenant.status != "normal":
        raise NotFoundError("Workspace not found.")
    _set_current(session, account_id=caller.account_id, tenant_id=tenant_id)
    return tenant


def list_members(session: Session, *, caller: Caller) -> list[Member]:
    rows = session.execute(
        select(Account, TenantAccountJoin.role)
        .join(TenantAccountJoin, TenantAccountJoin.account_id == Account.id)
        .where(TenantAccountJoin.tenant_id == caller.tenant_id)
        .order_by(TenantAccountJoin.created_at)
    ).all()
    return [Member(account=account, role=role) for account, role in rows]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(
    session: Session, *, caller: Caller, emails: list[str], role: str, activation_base_url: str
) -> list[InvitationResult]:
    """Invite people by email. Existing accounts join at once; new ones get an activation link."""
    caller.require_admin()
    if role not in ASSIGNABLE_ROLES:
        raise InvalidParamError(f"Invalid role: {role}.", params="role")
    if not emails:
        raise InvalidParamError("At least one email is required.", params="emails")
    results: list[InvitationResult] = []
    for raw in emails:
        email = check_email(raw)
        account = session.scalar(select(Account).where(Account.email == email))
        if account is not None:
            exists = session.scalar(
                select(TenantAccountJoin).where(
                    TenantAccountJoin.tenant_id == caller.tenant_id, TenantAccountJoin.account_id == account.id
                )
            )
            if exists is not None:
                results.append(InvitationResult(email=email, status="failed", message="Member already exists."))
                continue
            session.add(
                TenantAccountJoin(
                    tenant_id=caller.tenant_id, account_id=account.id, role=role, invited_by=caller.account_id
                )
            )
            if account.status == "active":
                results.append(InvitationResult(email=email, status="success"))
                continue
        else:
            account = Account(email=email, name=email.split("@", 1)[0], status="pending")
            session.add(account)
            session.flush()
            session.add(
                TenantAccountJoin(
                    tenant_id=caller.tenant_id, account_id=account.id, role=role, invited_by=caller.account_id
                )
            )
        token = secrets.token_urlsafe(32)
        session.add(
            Invitation(
                token_hash=_hash(token),
                tenant_id=caller.tenant_id,
                account_id=account.id,
                email=email,
                expires_at=now() + timedelta(days=INVITATION_DAYS),
            )
        )
        url = f"{activation_base_url}/activate?email={email}&token={token}"
        results.append(InvitationResult(email=email, status="success", url=url))
    session.flush()
    return results


def _member_join(session: Session, *, caller: Caller, member_id: str) -> TenantAccountJoin:
    join = session.scalar(
        select(TenantAccountJoin).where(
            TenantAccountJoin.tenant_id == caller.tenant_id, TenantAccountJoin.account_id == member_id
        )
    )
    if join is None:
        raise NotFoundError("Member not in tenant.")
    return join


def update_role(session: Session, *, caller: Caller, member_id: str, role: str) -> None:
    """Change a member's role. Only owners touch admins; nobody changes the owner or themselves."""
    caller.require_admin()
    if role not in ASSIGNABLE_ROLES:
        raise InvalidParamError(f"Invalid role: {role}.", params="role")
    if member_id == caller.account_id:
        raise ForbiddenError("You cannot change your own role.")
    join = _member_join(session, caller=caller, member_id=member_id)
    if join.role == "owner":
        raise ForbiddenError("The owner's role cannot be changed.")
    if (join.role == "admin" or role == "admin") and caller.role != "owner":
        raise NoPermissionError()
    join.role = role


def remove_member(session: Session, *, caller: Caller, member_id: str) -> None:
    caller.require_admin()
    if member_id == caller.account_id:
        raise ForbiddenError("You cannot remove yourself.")
    join = _member_join(session, caller=caller, member_id=member_id)
    if join.role == "owner":
        raise ForbiddenError("The owner cannot be removed.")
    if join.role == "admin" and caller.role != "owner":
        raise NoPermissionError()
    session.delete(join)


def check_invitation(session: Session, *, email: str, token: str) -> tuple[Invitation, Tenant] | None:
    invitation = session.scalar(select(Invitation).where(Invitation.token_hash == _hash(token or "")))
    if invitation is None or invitation.used_at is not None or invitation.expires_at <= now():
        return None
    if email and invitation.email != email.strip().lower():
        return None
    tenant = session.get(Tenant, invitation.tenant_id)
    if tenant is None:
        return None
    return invitation, tenant


def activate(
    session: Session,
    *,
    email: str,
    token: str,
    name: str,
    password: str,
    interface_language: str | None,
    timezone: str | None,
) -> Account:
    """Finish an invitation: set the new account's name and password."""
    found = check_invitation(session, email=email, token=token)
    if found is None:
        raise InvalidTokenError("Invalid or expired invitation token.")
    invitation, tenant = found
    account = session.get(Account, invitation.account_id)
    if account is None:
        raise InvalidTokenError("Invalid or expired invitation token.")
    if account.status == "pending":
        check_password_rule(password)
        name = (name or "").strip()
        if not name or len(name) > 30:
            raise InvalidParamError("Name must be between 1 and 30 characters.", params="name")
        account.name = name
        account.password_hash = hash_password(password)
        account.status = "active"
        account.initialized_at = now()
        if interface_language:
            account.interface_language = interface_language
        if timezone:
            account.timezone = timezone
    invitation.used_at = now()
    _set_current(session, account_id=account.id, tenant_id=tenant.id)
    return account
