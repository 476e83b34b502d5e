"""Workspace model settings: provider credentials (sealed at rest), custom models, default models.

Provider and model descriptions come from the model runtime's registry (Dify's YAML). Secret form
fields are encrypted with the server's key ring, bound to (workspace, provider, field); reads show
them masked, and a masked value sent back means "keep what is stored".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loomworks.core.crypto import KeyRing, is_masked, mask
from loomworks.core.errors import InvalidParamError, NotFoundError
from loomworks.services.caller import Caller
from loomworks.store.tables import CustomModel, DefaultModel, ProviderCredential

HIDDEN = "[__HIDDEN__]"
MODEL_TYPES = ("llm", "text-embedding", "rerank", "speech2text", "tts", "moderation")


def provider_name(name: str) -> str:
    """Accept Dify 1.x plugin ids (`langgenius/openai/openai`) as well as bare names."""
    return name.rsplit("/", 1)[-1]


def _secret_fields(form: list[dict[str, Any]]) -> set[str]:
    return {f["variable"] for f in form if f.get("type") == "secret-input"}


def _visible(field: dict[str, Any], values: dict[str, Any]) -> bool:
    return all(values.get(rule.get("variable")) == rule.get("value") for rule in field.get("show_on") or [])


def check_form(form: list[dict[str, Any]], values: Any) -> dict[str, Any]:
    """Check credentials against a Dify credential form; errors name the field."""
    if not isinstance(values, dict):
        raise InvalidParamError("credentials must be an object.", params="credentials")
    cleaned: dict[str, Any] = {}
    for field in form:
        name = field["variable"]
        if not _visible(field, values):
            continue
        value = values.get(name)
        if value is None or value == "":
            if field.get("required"):
                raise InvalidParamError(f"{name} is required.", params=name)
            if field.get("default") is not None:
                cleaned[name] = field["default"]
            continue
        if field.get("type") in ("select", "radio"):
            options = [o.get("value") for o in field.get("options") or []]
            if options and value not in options:
                raise InvalidParamError(f"{name} must be one of {', '.join(map(str, options))}.", params=name)
        if field.get("type") == "switch" and not isinstance(value, bool):
            value = str(value).lower() in ("true", "1", "yes", "on")
        if isinstance(value, str) and len(value) > 4096:
            raise InvalidParamError(f"{name} is too long.", params=name)
        cleaned[name] = value
    return cleaned


@dataclass
class Sealer:
    """Seals and opens the secret fields of a credentials dict for one workspace and provider."""

    keyring: KeyRing
    tenant_id: str
    provider: str

    def _context(self, field: str, model: str | None) -> str:
        return f"{self.tenant_id}|{self.provider}|{model or ''}|{field}"

    def seal(
        self,
        values: dict[str, Any],
        secret_fields: set[str],
        model: str | None = None,
        previous: dict[str, Any] | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        plain, sealed = {}, {}
        for key, value in values.items():
            if key in secret_fields:
                if isinstance(value, str) and (value == HIDDEN or is_masked(value)) and previous and key in previous:
                    sealed[key] = previous[key]
                else:
                    sealed[key] = self.keyring.encrypt(str(value), context=self._context(key, model))
            else:
                plain[key] = value
        return plain, sealed

    def open(self, plain: dict[str, Any], sealed: dict[str, Any], model: str | None = None) -> dict[str, Any]:
        values = dict(plain)
        for key, token in sealed.items():
            values[key] = self.keyring.decrypt(token, context=self._context(key, model))
        return values

    def masked(self, plain: dict[str, Any], sealed: dict[str, Any], model: str | None = None) -> dict[str, Any]:
        values = dict(plain)
        for key, token in sealed.items():
            values[key] = mask(self.keyring.decrypt(token, context=self._context(key, model)))
        return values


def credential(session: Session, *, tenant_id: str, provider: str, name: str = "default") -> ProviderCredential | None:
    return session.scalar(
        select(ProviderCredential).where(
            ProviderCredential.tenant_id == tenant_id,
            ProviderCredential.provider == provider,
            ProviderCredential.name == name,
        )
    )


def save_credentials(
    session: Session,
    *,
    caller: Caller,
    keyring: KeyRing,
    provider: str,
    form: list[dict[str, Any]],
    values: dict[str, Any],
    name: str = "default",
) -> ProviderCredential:
    caller.require_admin()
    existing = credential(session, tenant_id=caller.tenant_id, provider=provider, name=name)
    sealer = Sealer(keyring, caller.tenant_id, provider)
    secrets_ = _secret_fields(form)
    merged = dict(values)
    if existing is not None:
        # A masked value sent back means "unchanged": validate against the stored secret.
        opened = sealer.open(existing.config, existing.secrets)
        for key in secrets_:
            value = merged.get(key)
            if isinstance(value, str) and (value == HIDDEN or is_masked(value)):
                merged[key] = opened.get(key)
    cleaned = check_form(form, merged)
    plain, sealed = sealer.seal(cleaned, secrets_, previous=existing.secrets if existing else None)
    if existing is None:
        existing = ProviderCredential(
            tenant_id=caller.tenant_id, provider=provider, name=name, created_by=caller.account_id
        )
        session.add(existing)
    existing.config, existing.secrets, existing.enabled, existing.is_valid = plain, sealed, True, True
    session.flush()
    return existing


def merge_for_validation(
    session: Session,
    *,
    caller: Caller,
    keyring: KeyRing,
    provider: str,
    form: list[dict[str, Any]],
    values: dict[str, Any],
    name: str = "default",
) -> dict[str, Any]:
    """The credentials to test: the values sent, with masked secrets replaced by the stored ones."""
    existing = credential(session, tenant_id=caller.tenant_id, provider=provider, name=name)
    merged = dict(values)
    if existing is not None:
        opened = Sealer(keyring, caller.tenant_id, provider).open(existing.config, existing.secrets)
        for key in _secret_fields(form):
            value = merged.get(key)
            if isinstance(value, str) and (value == HIDDEN or is_masked(value)):
                merged[key] = opened.get(key)
    return check_form(form, merged)


def delete_credentials(session: Session, *, caller: Caller, provider: str, name: str | None = None) -> None:
    caller.require_admin()
    query = select(ProviderCredential).where(
        ProviderCredential.tenant_id == caller.tenant_id, ProviderCredential.provider == provider
    )
    if name is not None:
        query = query.where(ProviderCredential.name == name)
    rows = list(session.scalars(query))
    if not rows:
        raise NotFoundError("Provider credentials not found.")
    for row in rows:
        session.delete(row)


def credentials_of(
    session: Session, *, keyring: KeyRing, tenant_id: str, provider: str, masked: bool = False
) -> list[tuple[ProviderCredential, dict[str, Any]]]:
    """Every enabled credential set of a provider (several allow load balancing), opened or masked."""
    sealer = Sealer(keyring, tenant_id, provider)
    rows = session.scalars(
        select(ProviderCredential)
        .where(
            ProviderCredential.tenant_id == tenant_id,
            ProviderCredential.provider == provider,
            ProviderCredential.enabled.is_(True),
        )
        .order_by(ProviderCredential.created_at)
    )
    return [(row, (sealer.masked if masked else sealer.open)(row.config, row.secrets)) for row in rows]


def save_custom_model(
    session: Session,
    *,
    caller: Caller,
    keyring: KeyRing,
    provider: str,
    model: str,
    model_type: str,
    form: list[dict[str, Any]],
    values: dict[str, Any],
) -> CustomModel:
    caller.require_admin()
    if model_type not in MODEL_TYPES:
        raise InvalidParamError(f"model_type must be one of {', '.join(MODEL_TYPES)}.", params="model_type")
    if not model or not model.strip():
        raise InvalidParamError("model is required.", params="model")
    row = session.scalar(
        select(CustomModel).where(
            CustomModel.tenant_id == caller.tenant_id,
            CustomModel.provider == provider,
            CustomModel.model == model,
            CustomModel.model_type == model_type,
        )
    )
    sealer = Sealer(keyring, caller.tenant_id, provider)
    merged = dict(values)
    if row is not None:
        opened = sealer.open(row.config, row.secrets, model)
        for key in _secret_fields(form):
            value = merged.get(key)
            if isinstance(value, str) and (value == HIDDEN or is_masked(value)):
                merged[key] = opened.get(key)
    cleaned = check_form(form, merged)
    plain, sealed = sealer.seal(cleaned, _secret_fields(form), model=model)
    if row is None:
        row = CustomModel(tenant_id=caller.tenant_id, provider=provider, model=model.strip(), model_type=model_type)
        session.add(row)
    row.config, row.secrets, row.enabled = plain, sealed, True
    session.flush()
    return row


def custom_models(
    session: Session, *, tenant_id: str, provider: str | None = None, model_type: str | None = None
) -> list[CustomModel]:
    query = select(CustomModel).where(CustomModel.tenant_id == tenant_id, CustomModel.enabled.is_(True))
    if provider:
        query = query.where(CustomModel.provider == provider)
    if model_type:
        query = query.where(CustomModel.model_type == model_type)
    return list(session.scalars(query.order_by(CustomModel.created_at)))


def custom_model_credentials(
    session: Session,
    *,
    keyring: KeyRing,
    tenant_id: str,
    provider: str,
    model: str,
    model_type: str = "llm",
    masked: bool = False,
) -> dict[str, Any] | None:
    row = session.scalar(
        select(CustomModel).where(
            CustomModel.tenant_id == tenant_id,
            CustomModel.provider == provider,
            CustomModel.model == model,
            CustomModel.model_type == model_type,
            CustomModel.enabled.is_(True),
        )
    )
    if row is None:
        return None
    sealer = Sealer(keyring, tenant_id, provider)
    return (sealer.masked if masked else sealer.open)(row.config, row.secrets, model)


def delete_custom_model(session: Session, *, caller: Caller, provider: str, model: str, model_type: str) -> None:
    caller.require_admin()
    row = session.scalar(
        select(CustomModel).where(
            CustomModel.tenant_id == caller.tenant_id,
            CustomModel.provider == provider,
            CustomModel.model == model,
            CustomModel.model_type == model_type,
        )
    )
    if row is None:
        raise NotFoundError("Model not found.")
    session.delete(row)


def default_model(session: Session, *, tenant_id: str, model_type: str) -> DefaultModel | None:
    return session.scalar(
        select(DefaultModel).where(DefaultModel.tenant_id == tenant_id, DefaultModel.model_type == model_type)
    )


def set_default_models(session: Session, *, caller: Caller, settings: list[dict[str, Any]]) -> None:
    caller.require_admin()
    for item in settings:
        model_type = item.get("model_type")
        if model_type not in MODEL_TYPES:
            raise InvalidParamError(f"model_type must be one of {', '.join(MODEL_TYPES)}.", params="model_type")
        row = default_model(session, tenant_id=caller.tenant_id, model_type=model_type)
        if not item.get("provider") or not item.get("model"):
            if row is not None:
                session.delete(row)
            continue
        if row is None:
            row = DefaultModel(tenant_id=caller.tenant_id, model_type=model_type)
            session.add(row)
        row.provider, row.model = provider_name(str(item["provider"])), str(item["model"])
