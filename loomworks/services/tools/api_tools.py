"""The `api` provider type: a workspace's custom tools from OpenAPI documents, stored and called.

A provider row keeps the document, its parsed operations and the auth settings (the API key or
password sealed). Tools are addressed by the row id (Dify's `provider_id`) or the provider name.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from loomworks.core.crypto import KeyRing, is_masked
from loomworks.core.errors import ConflictError, InvalidParamError, NotFoundError
from loomworks.core.ids import new_id
from loomworks.core.ssrf import SafeHttpClient
from loomworks.services.model_providers import HIDDEN
from loomworks.services.tools.base import ToolCall, ToolDescriptor, ToolOutput, ToolProviderError
from loomworks.services.tools.credentials import sealer
from loomworks.services.tools.openapi import AUTH_TYPES, ApiOperation, auth_secret_fields, call_operation, parse_schema
from loomworks.store.db import Database
from loomworks.store.tables import ApiToolProvider


def check_auth(credentials: Any) -> dict[str, Any]:
    """The auth settings of a provider, checked (`auth_type` one of `AUTH_TYPES`)."""
    values = dict(credentials or {}) if isinstance(credentials, dict) else {}
    kind = str(values.get("auth_type") or "none")
    if kind not in AUTH_TYPES:
        raise InvalidParamError(f"auth_type must be one of {', '.join(AUTH_TYPES)}.", params="credentials")
    values["auth_type"] = kind
    if kind != "none" and kind != "basic" and not values.get("api_key_value"):
        raise InvalidParamError("api_key_value is required for this auth type.", params="api_key_value")
    if kind == "basic" and not values.get("username"):
        raise InvalidParamError("username is required for basic auth.", params="username")
    return {k: v for k, v in values.items() if isinstance(v, str | int | float | bool)}


def _row(session: Session, tenant_id: str, key: str) -> ApiToolProvider | None:
    return session.scalar(
        select(ApiToolProvider).where(
            ApiToolProvider.tenant_id == tenant_id, or_(ApiToolProvider.id == key, ApiToolProvider.name == key)
        )
    )


def get_provider(session: Session, *, tenant_id: str, provider: str) -> ApiToolProvider:
    row = _row(session, tenant_id, provider)
    if row is None:
        raise NotFoundError(f"The API tool provider '{provider}' was not found.")
    return row


def open_credentials(keyring: KeyRing, row: ApiToolProvider, *, masked: bool = False) -> dict[str, Any]:
    seal = sealer(keyring, row.tenant_id, f"api:{row.id}")
    return seal.masked(row.credentials, row.sealed) if masked else seal.open(row.credentials, row.sealed)


def save_provider(
    session: Session,
    *,
    keyring: KeyRing,
    tenant_id: str,
    account_id: str | None,
    name: str,
    schema: str,
    credentials: Any,
    original: str | None = None,
    icon: dict[str, Any] | None = None,
    description: str = "",
    privacy_policy: str = "",
    custom_disclaimer: str = "",
    labels: list[str] | None = None,
) -> ApiToolProvider:
    """Add (or, with `original`, update) a provider; the document is parsed before anything is stored."""
    name = (name or "").strip()
    if not name or len(name) > 255:
        raise InvalidParamError("provider is required (at most 255 characters).", params="provider")
    schema_type, operations = parse_schema(schema)
    existing = get_provider(session, tenant_id=tenant_id, provider=original) if original else None
    clash = _row(session, tenant_id, name)
    if clash is not None and clash is not existing:
        raise ConflictError(f"An API tool provider named '{name}' already exists.")
    row = existing or ApiToolProvider(id=new_id(), tenant_id=tenant_id, created_by=account_id)
    values = dict(credentials or {}) if isinstance(credentials, dict) else {}
    if existing is not None:
        stored = open_credentials(keyring, existing)
        for key in auth_secret_fields():
            value = values.get(key)
            if isinstance(value, str) and (value == HIDDEN or is_masked(value)):
                values[key] = stored.get(key)
    cleaned = check_auth(values)
    plain, sealed = sealer(keyring, tenant_id, f"api:{row.id}").seal(cleaned, auth_secret_fields())
    row.name, row.schema, row.schema_type = name, schema, schema_type
    row.tools = [op.to_json() for op in operations]
    row.credentials, row.sealed = plain, sealed
    row.icon = icon or row.icon or {}
    row.description = description or (operations[0].description if not existing else row.description) or ""
    row.privacy_policy, row.custom_disclaimer = privacy_policy or "", custom_disclaimer or ""
    row.labels = list(labels or [])
    if existing is None:
        session.add(row)
    session.flush()
    return row


def delete_provider(session: Session, *, tenant_id: str, provider: str) -> None:
    session.delete(get_provider(session, tenant_id=tenant_id, provider=provider))
    session.flush()


def list_providers(session: Session, *, tenant_id: str) -> list[ApiToolProvider]:
    return list(
        session.scalars(
            select(ApiToolProvider).where(ApiToolProvider.tenant_id == tenant_id).order_by(ApiToolProvider.name)
        )
    )


def operations_of(row: ApiToolProvider) -> list[ApiOperation]:
    return [ApiOperation.from_json(op) for op in row.tools or []]


def descriptors_of(row: ApiToolProvider) -> list[ToolDescriptor]:
    return [op.descriptor(row.id, row.name) for op in operations_of(row)]


class ApiToolSource:
    """Serves `provider_type: api` from the provider rows."""

    provider_type = "api"

    def __init__(self, db: Database, keyring: KeyRing, http: SafeHttpClient) -> None:
        self.db, self.keyring, self.http = db, keyring, http

    def list_tools(self, tenant_id: str) -> list[ToolDescriptor]:
        with self.db.session() as session:
            return [d for row in list_providers(session, tenant_id=tenant_id) for d in descriptors_of(row)]

    def get(self, tenant_id: str, provider_id: str, tool_name: str) -> ToolDescriptor | None:
        with self.db.session() as session:
            row = _row(session, tenant_id, provider_id)
            if row is None:
                return None
            return next((d for d in descriptors_of(row) if d.name == tool_name), None)

    def _load(self, tenant_id: str, provider_id: str, tool_name: str) -> tuple[ApiOperation | None, dict[str, Any]]:
        with self.db.session() as session:
            row = _row(session, tenant_id, provider_id)
            if row is None:
                return None, {}
            op = next((o for o in operations_of(row) if o.operation_id == tool_name), None)
            return op, open_credentials(self.keyring, row)

    async def invoke(self, call: ToolCall) -> ToolOutput:
        d = call.descriptor
        operation, credentials = await run_in_threadpool(self._load, call.tenant_id, d.provider_id, d.name)
        if operation is None:
            raise ToolProviderError(f"Tool {d.key} no longer exists in its OpenAPI document.", tool=d.key)
        return await call_operation(self.http, operation, call.parameters, credentials, tool=d.key)
