"""API keys: `app-…` keys bound to one app, `dataset-…` keys bound to a workspace's knowledge.

Keys are stored as SHA-256 digests (a lookup needs no slow hash: the token carries 143 bits of
randomness). The full token is returned once, at creation; listings show a hint.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loomworks.core.clock import now
from loomworks.core.errors import (
    AccountNotFoundError,
    ForbiddenError,
    LoomworksError,
    MaxKeysExceededError,
    NotFoundError,
)
from loomworks.core.ids import new_token
from loomworks.services import apps
from loomworks.services.caller import Caller
from loomworks.store.tables import Account, ApiToken, App, Tenant, TenantAccountJoin

_LAST_USED_GRANULARITY = timedelta(minutes=1)


class InvalidApiKeyError(LoomworksError):
    code, status, default_message = "unauthorized", 401, "Access token is invalid"


@dataclass(frozen=True, slots=True)
class NewKey:
    record: ApiToken
    token: str


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _create(session: Session, *, caller: Caller, kind: str, app_id: str | None, limit: int) -> NewKey:
    scope = ApiToken.app_id == app_id if kind == "app" else ApiToken.tenant_id == caller.tenant_id
    count = session.scalar(select(func.count()).select_from(ApiToken).where(ApiToken.type == kind, scope)) or 0
    if count >= limit:
        raise MaxKeysExceededError(f"Cannot create more than {limit} API keys for this resource type.")
    token = new_token(f"{kind}-")
    record = ApiToken(
        tenant_id=caller.tenant_id,
        app_id=app_id,
        type=kind,
        token_hash=digest(token),
        token_hint=f"{token[: len(kind) + 1]}…{token[-4:]}",
        created_by=caller.account_id,
    )
    session.add(record)
    session.flush()
    return NewKey(record=record, token=token)


def create_app_key(session: Session, *, caller: Caller, app_id: str, limit: int) -> NewKey:
    caller.require_editor()
    app = apps.get(session, caller=caller, app_id=app_id)
    return _create(session, caller=caller, kind="app", app_id=app.id, limit=limit)


def list_app_keys(session: Session, *, caller: Caller, app_id: str) -> list[ApiToken]:
    caller.require_editor()
    app = apps.get(session, caller=caller, app_id=app_id)
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.app_id == app.id, ApiToken.type == "app").order_by(ApiToken.created_at)
        )
    )


def delete_app_key(session: Session, *, caller: Caller, app_id: str, key_id: str) -> None:
    caller.require_admin()
    app = apps.get(session, caller=caller, app_id=app_id)
    record = session.scalar(
        select(ApiToken).where(ApiToken.id == key_id, ApiToken.app_id == app.id, ApiToken.type == "app")
    )
    if record is None:
        raise NotFoundError("API key not found.")
    session.delete(record)


def create_dataset_key(session: Session, *, caller: Caller, limit: int) -> NewKey:
    if not caller.can_edit_datasets:
        raise ForbiddenError()
    return _create(session, caller=caller, kind="dataset", app_id=None, limit=limit)


def list_dataset_keys(session: Session, *, caller: Caller) -> list[ApiToken]:
    if not caller.can_edit_datasets:
        raise ForbiddenError()
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.tenant_id == caller.tenant_id, ApiToken.type == "dataset")
            .order_by(ApiToken.created_at)
        )
    )


def delete_dataset_key(session: Session, *, caller: Caller, key_id: str) -> None:
    caller.require_admin()
    record = session.scalar(
        select(ApiToken).where(
            ApiToken.id == key_id, ApiToken.tenant_id == caller.tenant_id, ApiToken.type == "dataset"
        )
    )
    if record is None:
        raise NotFoundError("API key not found.")
    session.delete(record)


def _touch(record: ApiToken) -> None:
    current = now()
    # Write at most once a minute per key: a busy key must not turn every request into a write.
    if record.last_used_at is None or current - record.last_used_at > _LAST_USED_GRANULARITY:
        record.last_used_at = current


def resolve_app_key(session: Session, *, token: str) -> App:
    """Check an `app-…` key and return its app, with Dify's checks and error texts (spec §1.1)."""
    record = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(token), ApiToken.type == "app"))
    if record is None or record.app_id is None:
        raise InvalidApiKeyError()
    app = session.get(App, record.app_id)
    if app is None:
        raise ForbiddenError("The app no longer exists.")
    if app.status != "normal":
        raise ForbiddenError("The app's status is abnormal.")
    if not app.enable_api:
        raise ForbiddenError("The app's API service has been disabled.")
    tenant = session.get(Tenant, app.tenant_id)
    if tenant is None or tenant.status == "archive":
        raise ForbiddenError("The workspace is unavailable.")
    _touch(record)
    return app


def resolve_dataset_key(session: Session, *, token: str) -> Caller:
    """Check a `dataset-…` key; the request then acts as the workspace owner (as in Dify)."""
    record = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(token), ApiToken.type == "dataset"))
    if record is None:
        raise InvalidApiKeyError()
    tenant = session.get(Tenant, record.tenant_id)
    if tenant is None or tenant.status == "archive":
        raise ForbiddenError("The workspace is unavailable.")
    owner = session.execute(
        select(Account, TenantAccountJoin.role)
        .join(TenantAccountJoin, TenantAccountJoin.account_id == Account.id)
        .where(TenantAccountJoin.tenant_id == tenant.id, TenantAccountJoin.role == "owner")
    ).first()
    if owner is None:
        raise AccountNotFoundError()
    _touch(record)
    return Caller(account=owner[0], tenant_id=tenant.id, role="owner")


class AppKeyCache:
    """Remembers resolved app keys for a few seconds, so a busy key costs no query per request.

    Changes made in this process (key deleted, app disabled or deleted) clear it at once; other
    processes see them within `ttl` seconds.
    """

    def __init__(self, ttl: float = 5.0, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, App]] = {}

    def get(self, token: str) -> App | None:
        entry = self._entries.get(digest(token))
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, token: str, app: App) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[digest(token)] = (time.monotonic() + self.ttl, app)

    def clear(self) -> None:
        self._entries.clear()
