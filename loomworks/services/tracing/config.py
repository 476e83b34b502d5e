"""Per-app tracing settings (Dify's `/trace` and `/trace-config`), with secrets sealed at rest.

Secret fields are encrypted with the server's key ring, bound to (workspace, tracing provider, app,
field), so a value copied to another app's row does not open. Reads show them masked; a masked
value sent back on update means "keep what is stored", as for model-provider credentials.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from loomworks.core.crypto import KeyRing, is_masked, mask
from loomworks.core.errors import InvalidParamError, error_class
from loomworks.core.ssrf import EgressPolicy, SSRFBlockedError
from loomworks.services import apps
from loomworks.services.caller import Caller
from loomworks.store.tables import App, TraceConfig, TraceSetting

TracingConfigIsExistError = error_class("trace_config_is_exist", 400, "Trace config is exist.")
TracingConfigNotExistError = error_class("trace_config_not_exist", 400, "Trace config not exist.")


@dataclass(frozen=True)
class ProviderSpec:
    """A provider's form: required fields, defaults, and which fields are secret."""

    required: tuple[str, ...]
    defaults: dict[str, Any]
    secrets: frozenset[str]
    url_field: str


PROVIDERS: dict[str, ProviderSpec] = {
    "langfuse": ProviderSpec(
        required=("public_key", "secret_key"),
        defaults={"host": "https://api.langfuse.com"},
        secrets=frozenset({"public_key", "secret_key"}),
        url_field="host",
    ),
    "langsmith": ProviderSpec(
        required=("api_key", "project"),
        defaults={"endpoint": "https://api.smith.langchain.com"},
        secrets=frozenset({"api_key"}),
        url_field="endpoint",
    ),
    "otlp": ProviderSpec(
        required=("endpoint",),
        defaults={"headers": {}},
        secrets=frozenset({"headers"}),
        url_field="endpoint",
    ),
}


def spec(provider: str | None) -> ProviderSpec:
    if provider not in PROVIDERS:
        raise InvalidParamError(f"Invalid tracing provider: {provider}", params="tracing_provider")
    return PROVIDERS[provider]


def _context(tenant_id: str, provider: str, app_id: str, field: str) -> str:
    return f"{tenant_id}|tracing:{provider}|{app_id}|{field}"


def _headers(value: Any) -> dict[str, str]:
    if value in (None, ""):
        return {}
    if isinstance(value, str):
        # The console form may send `Name=value,Other=value` (the OTEL_EXPORTER_OTLP_HEADERS style).
        pairs = [item.split("=", 1) for item in value.split(",") if "=" in item]
        return {k.strip(): v.strip() for k, v in pairs}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise InvalidParamError("headers must be an object of header names to values.", params="headers")
    return {k: str(v) for k, v in value.items()}


def check_config(provider: str, values: Any, policy: EgressPolicy) -> dict[str, Any]:
    """Check a tracing config against its provider's form; URLs must pass the egress policy."""
    form = spec(provider)
    if not isinstance(values, dict):
        raise InvalidParamError("tracing_config must be an object.", params="tracing_config")
    cleaned: dict[str, Any] = {}
    for name, default in form.defaults.items():
        value = values.get(name)
        cleaned[name] = default if value in (None, "") else value
    for name in form.required:
        value = values.get(name)
        if not isinstance(value, str) or not value.strip():
            raise InvalidParamError(f"{name} is required.", params=name)
        cleaned[name] = value.strip()
    if "headers" in cleaned:
        cleaned["headers"] = _headers(cleaned["headers"])
    url = str(cleaned[form.url_field]).strip().rstrip("/")
    try:
        policy.check_url(httpx.URL(url))
    except (httpx.InvalidURL, SSRFBlockedError) as exc:
        raise InvalidParamError(f"{form.url_field} is not an allowed URL: {exc}", params=form.url_field) from exc
    cleaned[form.url_field] = url
    return cleaned


@dataclass
class TraceSealer:
    """Seals and opens the secret fields of one app's config for one provider."""

    keyring: KeyRing
    tenant_id: str
    app_id: str
    provider: str

    def _ctx(self, field: str) -> str:
        return _context(self.tenant_id, self.provider, self.app_id, field)

    def seal(
        self, values: dict[str, Any], previous: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Split `values` into (plain, sealed); masked secrets keep their `previous` sealed value."""
        secret_fields = PROVIDERS[self.provider].secrets
        old = self.open({}, previous or {}) if previous else {}
        plain: dict[str, Any] = {}
        sealed: dict[str, Any] = {}
        for key, value in values.items():
            if key not in secret_fields:
                plain[key] = value
                continue
            if key == "headers":
                kept = {
                    name: (old.get("headers", {}).get(name, text) if is_masked(text) else text)
                    for name, text in value.items()
                }
                sealed[key] = self.keyring.encrypt(json.dumps(kept), context=self._ctx(key))
            elif is_masked(str(value)) and key in old:
                sealed[key] = (previous or {})[key]
            else:
                sealed[key] = self.keyring.encrypt(str(value), context=self._ctx(key))
        return plain, sealed

    def open(self, plain: dict[str, Any], sealed: dict[str, Any]) -> dict[str, Any]:
        values = dict(plain)
        for key, token in sealed.items():
            text = self.keyring.decrypt(token, context=self._ctx(key))
            values[key] = json.loads(text) if key == "headers" else text
        return values

    def masked(self, plain: dict[str, Any], sealed: dict[str, Any]) -> dict[str, Any]:
        values = self.open(plain, sealed)
        for key in sealed:
            value = values[key]
            values[key] = {k: mask(v) for k, v in value.items()} if isinstance(value, dict) else mask(value)
        return values


def _app(session: Session, caller: Caller, app_id: str, *, edit: bool) -> App:
    if edit:
        caller.require_editor()
    return apps.get(session, caller=caller, app_id=app_id)


def _row(session: Session, app_id: str, provider: str) -> TraceConfig | None:
    return session.scalar(
        select(TraceConfig).where(TraceConfig.app_id == app_id, TraceConfig.tracing_provider == provider)
    )


def get_switch(session: Session, *, caller: Caller, app_id: str) -> dict[str, Any]:
    """Dify's `GET /apps/{id}/trace`: `{enabled, tracing_provider}`."""
    _app(session, caller, app_id, edit=False)
    row = session.scalar(select(TraceSetting).where(TraceSetting.app_id == app_id))
    if row is None:
        return {"enabled": False, "tracing_provider": None}
    return {"enabled": row.enabled, "tracing_provider": row.tracing_provider}


def set_switch(session: Session, *, caller: Caller, app_id: str, enabled: bool, tracing_provider: str | None) -> None:
    app = _app(session, caller, app_id, edit=True)
    if tracing_provider is not None or enabled:
        spec(tracing_provider)
    row = session.scalar(select(TraceSetting).where(TraceSetting.app_id == app.id))
    if row is None:
        row = TraceSetting(app_id=app.id)
        session.add(row)
    row.enabled = bool(enabled)
    row.tracing_provider = tracing_provider
    session.flush()


def _public(row: TraceConfig, config: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "app_id": row.app_id,
        "tracing_provider": row.tracing_provider,
        "tracing_config": config,
        "is_active": row.is_active,
        "created_at": row.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        "updated_at": row.updated_at.strftime("%Y-%m-%d %H:%M:%S"),
    }


def get_config(
    session: Session, *, caller: Caller, keyring: KeyRing, app_id: str, tracing_provider: str
) -> dict[str, Any]:
    """Dify's `GET /trace-config`: the config with secrets masked, or `{has_not_configured: true}`."""
    app = _app(session, caller, app_id, edit=False)
    spec(tracing_provider)
    row = _row(session, app.id, tracing_provider)
    if row is None:
        return {"has_not_configured": True}
    sealer = TraceSealer(keyring, app.tenant_id, app.id, tracing_provider)
    return _public(row, sealer.masked(row.tracing_config, row.sealed))


def create_config(
    session: Session,
    *,
    caller: Caller,
    keyring: KeyRing,
    policy: EgressPolicy,
    app_id: str,
    tracing_provider: str,
    tracing_config: Any,
) -> None:
    app = _app(session, caller, app_id, edit=True)
    cleaned = check_config(tracing_provider, tracing_config, policy)
    if _row(session, app.id, tracing_provider) is not None:
        raise TracingConfigIsExistError()
    plain, sealed = TraceSealer(keyring, app.tenant_id, app.id, tracing_provider).seal(cleaned)
    session.add(TraceConfig(app_id=app.id, tracing_provider=tracing_provider, tracing_config=plain, sealed=sealed))
    session.flush()


def update_config(
    session: Session,
    *,
    caller: Caller,
    keyring: KeyRing,
    policy: EgressPolicy,
    app_id: str,
    tracing_provider: str,
    tracing_config: Any,
) -> dict[str, Any]:
    app = _app(session, caller, app_id, edit=True)
    spec(tracing_provider)
    row = _row(session, app.id, tracing_provider)
    if row is None:
        raise TracingConfigNotExistError()
    sealer = TraceSealer(keyring, app.tenant_id, app.id, tracing_provider)
    # Fields left out keep their stored values (a masked secret sent back does too).
    merged = {**sealer.masked(row.tracing_config, row.sealed), **(tracing_config or {})}
    cleaned = check_config(tracing_provider, merged, policy)
    row.tracing_config, row.sealed = sealer.seal(cleaned, previous=row.sealed)
    session.flush()
    return _public(row, sealer.masked(row.tracing_config, row.sealed))


def delete_config(session: Session, *, caller: Caller, app_id: str, tracing_provider: str) -> None:
    app = _app(session, caller, app_id, edit=True)
    spec(tracing_provider)
    row = _row(session, app.id, tracing_provider)
    if row is None:
        raise TracingConfigNotExistError()
    session.delete(row)
    session.flush()


@dataclass(frozen=True)
class Destination:
    """Where one app's traces go now: the provider and its opened (plaintext) config."""

    app_id: str
    provider: str
    config: dict[str, Any]


def destination(session: Session, keyring: KeyRing, *, app_id: str, provider: str | None = None) -> Destination | None:
    """The app's active destination (or, with `provider`, that provider's config whatever the switch)."""
    if provider is None:
        switch = session.scalar(select(TraceSetting).where(TraceSetting.app_id == app_id))
        if switch is None or not switch.enabled or switch.tracing_provider not in PROVIDERS:
            return None
        provider = switch.tracing_provider
    row = _row(session, app_id, provider)
    app = session.get(App, app_id)
    if row is None or app is None:
        return None
    config = TraceSealer(keyring, app.tenant_id, app_id, provider).open(row.tracing_config, row.sealed)
    return Destination(app_id=app_id, provider=provider, config=config)
