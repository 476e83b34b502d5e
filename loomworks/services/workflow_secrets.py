"""Secret environment variables of workflows: sealed at rest, masked when shown, opened for a run.

A workflow's `environment_variables` items are `{id, name, value, value_type, description}`; the
`value` of a `secret` item is stored as a key-ring token (`lw1:…`, AES-GCM envelope encryption)
whose associated data binds it to the workspace, the app and the variable's name — a token copied
to another app or variable does not open. Published versions and restored drafts copy the tokens
as they are (same app, same names). Values are opened only to build a run and for a DSL export
with `include_secret=true`; the console sees Dify's masked form, and a masked value sent back on
save means "unchanged".
"""

from __future__ import annotations

from typing import Any

from loomworks.core.crypto import PREFIX, DecryptionError, KeyRing, is_masked, mask
from loomworks.core.errors import error_class

SECRET = "secret"


NoKeyRingError = error_class("internal_server_error", 500, "The server has no key ring to encrypt secret variables.")


def _context(tenant_id: str, app_id: str, name: str) -> str:
    return f"{tenant_id}|{app_id}|env|{name}"


def _is_token(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX + ":")


def _is_secret(item: Any) -> bool:
    return isinstance(item, dict) and item.get("value_type") == SECRET


def open_value(keyring: KeyRing | None, *, tenant_id: str, app_id: str, item: dict[str, Any]) -> str:
    """The clear value of one secret item ("" when it cannot be opened here).

    A value that is not a token is a row written before secrets were sealed: it is returned as
    is (and sealed on the next save).
    """
    value = item.get("value")
    if not _is_token(value):
        return "" if value is None else str(value)
    if keyring is None:
        return ""
    try:
        return keyring.decrypt(str(value), context=_context(tenant_id, app_id, str(item.get("name") or "")))
    except DecryptionError:
        return ""


def seal(
    keyring: KeyRing | None,
    *,
    tenant_id: str,
    app_id: str,
    variables: list[Any],
    previous: list[Any] | None = None,
) -> list[Any]:
    """Variables as they are to be stored: each secret value sealed.

    A secret sent back masked (or as its stored token) keeps the stored value — matched by `id`,
    then by name; renaming a variable re-seals its value under the new name.

    Raises:
        NoKeyRingError: a secret value must be sealed and there is no key ring.
    """
    by_id: dict[str, dict[str, Any]] = {}
    by_name: dict[str, dict[str, Any]] = {}
    for item in previous or []:
        if _is_secret(item):
            if item.get("id"):
                by_id[str(item["id"])] = item
            by_name[str(item.get("name") or "")] = item
    sealed: list[Any] = []
    for raw in variables:
        if not _is_secret(raw):
            sealed.append(raw)
            continue
        item = dict(raw)
        name = str(item.get("name") or "")
        value = item.get("value")
        old = by_id.get(str(item.get("id") or "")) or by_name.get(name)
        unchanged = isinstance(value, str) and value != "" and (is_masked(value) or value == (old or {}).get("value"))
        if old is not None and unchanged:
            if old.get("name") == name and _is_token(old.get("value")):
                item["value"] = old["value"]  # the same sealed value, as stored
                sealed.append(item)
                continue
            plain = open_value(keyring, tenant_id=tenant_id, app_id=app_id, item=old)
        elif value in (None, "") or (isinstance(value, str) and is_masked(value)):
            plain = ""  # a mask with no stored value behind it (an edited export, say) holds nothing
        else:
            plain = str(value)
        if plain and keyring is None:
            raise NoKeyRingError("The server has no key ring to encrypt secret variables.")
        item["value"] = keyring.encrypt(plain, context=_context(tenant_id, app_id, name)) if keyring and plain else ""
        sealed.append(item)
    return sealed


def masked(keyring: KeyRing | None, *, tenant_id: str, app_id: str, variables: list[Any] | None) -> list[Any]:
    """Variables as the console shows them: secret values in Dify's masked form."""
    shown: list[Any] = []
    for item in variables or []:
        if _is_secret(item):
            plain = open_value(keyring, tenant_id=tenant_id, app_id=app_id, item=item)
            item = {**item, "value": mask(plain) if plain else ""}
        shown.append(item)
    return shown


def opened(keyring: KeyRing | None, *, tenant_id: str, app_id: str, variables: list[Any] | None) -> list[Any]:
    """Variables with their clear values: for building a run and for exports with secrets."""
    return [
        {**item, "value": open_value(keyring, tenant_id=tenant_id, app_id=app_id, item=item)}
        if _is_secret(item)
        else item
        for item in variables or []
    ]
