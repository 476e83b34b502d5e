"""Built-in tool provider credentials: checked against the provider's form, secrets sealed at rest.

The seal binds each secret to (workspace, `tool:<provider>`, field), so a token copied to another
workspace or provider does not open. Reads show secrets masked; a masked value sent back keeps
the stored secret.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loomworks.core.crypto import KeyRing, is_masked
from loomworks.services.model_providers import HIDDEN, Sealer, check_form
from loomworks.store.tables import BuiltinToolCredential


def sealer(keyring: KeyRing, tenant_id: str, place: str) -> Sealer:
    """The sealer of one tool provider (`place` is e.g. `builtin:searxng`, `api:<id>`, `mcp:<id>`)."""
    return Sealer(keyring, tenant_id, f"tool:{place}")


def secret_fields(form: list[dict[str, Any]]) -> set[str]:
    return {f["variable"] for f in form if f.get("type") == "secret-input"}


def _row(session: Session, tenant_id: str, provider: str) -> BuiltinToolCredential | None:
    return session.scalar(
        select(BuiltinToolCredential).where(
            BuiltinToolCredential.tenant_id == tenant_id, BuiltinToolCredential.provider == provider
        )
    )


def merge_masked(values: dict[str, Any], form: list[dict[str, Any]], stored: dict[str, Any] | None) -> dict[str, Any]:
    """Replace masked (or `[__HIDDEN__]`) secrets sent back by the stored ones."""
    merged = dict(values)
    for key in secret_fields(form):
        value = merged.get(key)
        if stored is not None and isinstance(value, str) and (value == HIDDEN or is_masked(value)):
            merged[key] = stored.get(key)
    return merged


def prepare_builtin(
    session: Session, *, keyring: KeyRing, tenant_id: str, provider: str, form: list[dict[str, Any]], values: Any
) -> dict[str, Any]:
    """The credentials to validate and store: masked secrets restored, the form checked."""
    stored = builtin_credentials(session, keyring=keyring, tenant_id=tenant_id, provider=provider) or None
    return check_form(form, merge_masked(values if isinstance(values, dict) else {}, form, stored))


def save_builtin(
    session: Session,
    *,
    keyring: KeyRing,
    tenant_id: str,
    account_id: str | None,
    provider: str,
    form: list[dict[str, Any]],
    cleaned: dict[str, Any],
) -> BuiltinToolCredential:
    """Store checked credentials (from `prepare_builtin`), sealing the secret fields."""
    row = _row(session, tenant_id, provider)
    plain, sealed = sealer(keyring, tenant_id, f"builtin:{provider}").seal(cleaned, secret_fields(form))
    if row is None:
        row = BuiltinToolCredential(tenant_id=tenant_id, provider=provider, created_by=account_id)
        session.add(row)
    row.config, row.sealed = plain, sealed
    session.flush()
    return row


def builtin_credentials(
    session: Session, *, keyring: KeyRing, tenant_id: str, provider: str, masked: bool = False
) -> dict[str, Any]:
    """The stored credentials of a built-in provider, opened (or masked); `{}` when none are set."""
    row = _row(session, tenant_id, provider)
    if row is None:
        return {}
    seal = sealer(keyring, tenant_id, f"builtin:{provider}")
    return seal.masked(row.config, row.sealed) if masked else seal.open(row.config, row.sealed)


def delete_builtin(session: Session, *, tenant_id: str, provider: str) -> bool:
    row = _row(session, tenant_id, provider)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def authorized_providers(session: Session, *, tenant_id: str) -> set[str]:
    """Names of the built-in providers this workspace has credentials for."""
    return set(
        session.scalars(select(BuiltinToolCredential.provider).where(BuiltinToolCredential.tenant_id == tenant_id))
    )
