"""Workspace model settings in the console (Dify's paths): providers, credentials, custom models, defaults."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from loomworks.api.deps import CurrentCaller, DatasetCaller, State
from loomworks.core.errors import InvalidParamError, LoomworksError
from loomworks.providers.runtime import normalise_credentials
from loomworks.services import model_catalog, model_providers
from loomworks.services.caller import Caller
from loomworks.store.tables import ProviderCredential

router = APIRouter(prefix="/workspaces/current", tags=["console: model providers"])
service_router = APIRouter(prefix="/workspaces/current", tags=["service: models"])

_PUBLIC_KEYS = (
    "provider",
    "label",
    "description",
    "icon_small",
    "icon_large",
    "background",
    "help",
    "supported_model_types",
    "configurate_methods",
    "provider_credential_schema",
    "model_credential_schema",
)


class CredentialsBody(BaseModel):
    credentials: dict[str, Any]
    name: str | None = None


class ModelBody(BaseModel):
    model: str
    model_type: str
    credentials: dict[str, Any] | None = None


class DefaultModelsBody(BaseModel):
    model_settings: list[dict[str, Any]]


def _keyring(state: Any) -> Any:
    return state.keyring


def _configured(session: Session, tenant_id: str) -> set[str]:
    return set(session.scalars(select(ProviderCredential.provider).where(ProviderCredential.tenant_id == tenant_id)))


def provider_public(spec: dict[str, Any], configured: bool) -> dict[str, Any]:
    body = {key: spec.get(key) for key in _PUBLIC_KEYS}
    body["preferred_provider_type"] = "custom"
    body["custom_configuration"] = {"status": "active" if configured else "no-configure"}
    body["system_configuration"] = {"enabled": False, "current_quota_type": None, "quota_configurations": []}
    return body


@router.get("/model-providers")
def list_providers(caller: CurrentCaller, state: State, model_type: str | None = None) -> dict[str, Any]:
    with state.db.session() as session:
        configured = _configured(session, caller.tenant_id)
    specs = model_catalog.catalogue().values()
    return {
        "data": [
            provider_public(spec, spec["provider"] in configured)
            for spec in specs
            if model_type is None or model_type in spec["supported_model_types"]
        ]
    }


async def _validate(state: Any, provider: str, credentials: dict[str, Any], model: str | None = None) -> None:
    checker = state.extras.get("validate_credentials")
    if checker is not None:
        await checker(provider, credentials, model)


@router.get("/model-providers/{provider}/credentials")
def get_credentials(provider: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    caller.require_admin()
    spec = model_catalog.get_provider(provider)
    with state.db.session() as session:
        rows = model_providers.credentials_of(
            session, keyring=_keyring(state), tenant_id=caller.tenant_id, provider=spec["provider"], masked=True
        )
    if not rows:
        return {"credentials": None, "available_credentials": []}
    return {
        "credentials": rows[0][1],
        "available_credentials": [{"credential_id": row.id, "credential_name": row.name} for row, _ in rows],
    }


async def _save(provider: str, body: CredentialsBody, caller: Caller, state: Any) -> dict[str, str]:
    spec = model_catalog.get_provider(provider)
    form = model_catalog.provider_form(spec)
    if not form and "predefined-model" not in spec["configurate_methods"]:
        raise InvalidParamError(f"{spec['provider']} is configured per model.", params="provider")
    name = body.name or "default"

    def merged() -> dict[str, Any]:
        with state.db.session() as session:
            return model_providers.merge_for_validation(
                session,
                caller=caller,
                keyring=_keyring(state),
                provider=spec["provider"],
                form=form,
                values=body.credentials,
                name=name,
            )

    caller.require_admin()
    await _validate(state, spec["provider"], await run_in_threadpool(merged))

    def save() -> None:
        with state.db.session() as session:
            model_providers.save_credentials(
                session,
                caller=caller,
                keyring=_keyring(state),
                provider=spec["provider"],
                form=form,
                values=body.credentials,
                name=name,
            )

    await run_in_threadpool(save)
    return {"result": "success"}


@router.post("/model-providers/{provider}")
async def save_provider(provider: str, body: CredentialsBody, caller: CurrentCaller, state: State) -> dict[str, str]:
    return await _save(provider, body, caller, state)


@router.post("/model-providers/{provider}/credentials")
@router.put("/model-providers/{provider}/credentials")
async def save_provider_credentials(
    provider: str, body: CredentialsBody, caller: CurrentCaller, state: State
) -> dict[str, str]:
    return await _save(provider, body, caller, state)


@router.post("/model-providers/{provider}/credentials/validate")
async def validate_credentials(
    provider: str, body: CredentialsBody, caller: CurrentCaller, state: State
) -> dict[str, str]:
    spec = model_catalog.get_provider(provider)
    caller.require_admin()
    try:
        with state.db.session() as session:
            values = model_providers.merge_for_validation(
                session,
                caller=caller,
                keyring=_keyring(state),
                provider=spec["provider"],
                form=model_catalog.provider_form(spec),
                values=body.credentials,
            )
        await _validate(state, spec["provider"], values)
    except LoomworksError as exc:
        return {"result": "error", "error": exc.message}
    return {"result": "success"}


@router.delete("/model-providers/{provider}", status_code=204)
@router.delete("/model-providers/{provider}/credentials", status_code=204)
def delete_provider(provider: str, caller: CurrentCaller, state: State) -> Response:
    spec = model_catalog.get_provider(provider)
    with state.db.session() as session:
        model_providers.delete_credentials(session, caller=caller, provider=spec["provider"])
    return Response(status_code=204)


@router.get("/model-providers/{provider}/models")
async def provider_models(provider: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    spec = model_catalog.get_provider(provider)

    def load() -> tuple[list[Any], list[tuple[Any, dict[str, Any]]]]:
        with state.db.session() as session:
            custom = model_providers.custom_models(session, tenant_id=caller.tenant_id, provider=spec["provider"])
            sets = model_providers.credentials_of(
                session, keyring=_keyring(state), tenant_id=caller.tenant_id, provider=spec["provider"]
            )
            return custom, sets

    custom, sets = await run_in_threadpool(load)
    status = "active" if sets else "no-configure"
    data = [_model_public(m, status) for m in spec["models"]]
    if sets and "fetch-from-remote" in (spec.get("configurate_methods") or []):
        known = {(m["model"], m["model_type"]) for m in spec["models"]}
        for remote in await _remote_models(state, spec, caller.tenant_id, sets[0][1]):
            if (remote.model, remote.model_type) not in known:
                data.append({**_custom_public(remote.model, remote.model_type), "fetch_from": "fetch-from-remote"})
    data += [_custom_public(c.model, c.model_type) for c in custom]
    return {"data": data}


_REMOTE_TTL = 600.0


async def _remote_models(state: Any, spec: dict[str, Any], tenant_id: str, values: dict[str, Any]) -> list[Any]:
    """The vendor's own model list (`fetch-from-remote`), cached for ten minutes per workspace."""
    cache: dict[tuple[str, str], tuple[float, list[Any]]] = state.extras.setdefault("remote_models", {})
    key = (tenant_id, spec["provider"])
    hit = cache.get(key)
    if hit is not None and time.monotonic() - hit[0] < _REMOTE_TTL:
        return hit[1]
    runtime = state.extras["runtime"]
    try:
        models = await runtime.adapter(spec["provider"]).list_models(normalise_credentials(spec, values))
    except LoomworksError:
        return []
    cache[key] = (time.monotonic(), models)
    return models


def _model_public(model: dict[str, Any], status: str) -> dict[str, Any]:
    return {
        "model": model["model"],
        "label": model.get("label"),
        "model_type": model["model_type"],
        "features": model.get("features") or [],
        "fetch_from": "predefined-model",
        "model_properties": model.get("model_properties") or {},
        "deprecated": bool(model.get("deprecated")),
        "status": status,
        "load_balancing_enabled": False,
    }


def _custom_public(model: str, model_type: str) -> dict[str, Any]:
    return {
        "model": model,
        "label": {"en_US": model, "zh_Hans": model},
        "model_type": model_type,
        "features": [],
        "fetch_from": "customizable-model",
        "model_properties": {},
        "deprecated": False,
        "status": "active",
        "load_balancing_enabled": False,
    }


@router.post("/model-providers/{provider}/models")
async def save_custom_model(provider: str, body: ModelBody, caller: CurrentCaller, state: State) -> dict[str, str]:
    spec = model_catalog.get_provider(provider)
    if "customizable-model" not in spec["configurate_methods"]:
        raise InvalidParamError(f"{spec['provider']} has no customizable models.", params="provider")
    caller.require_admin()
    form = model_catalog.model_form(spec)
    await _validate(state, spec["provider"], model_providers.check_form(form, body.credentials or {}), body.model)

    def save() -> None:
        with state.db.session() as session:
            model_providers.save_custom_model(
                session,
                caller=caller,
                keyring=_keyring(state),
                provider=spec["provider"],
                model=body.model,
                model_type=body.model_type,
                form=form,
                values=body.credentials or {},
            )

    await run_in_threadpool(save)
    return {"result": "success"}


@router.delete("/model-providers/{provider}/models", status_code=204)
def delete_custom_model(provider: str, body: ModelBody, caller: CurrentCaller, state: State) -> Response:
    spec = model_catalog.get_provider(provider)
    with state.db.session() as session:
        model_providers.delete_custom_model(
            session, caller=caller, provider=spec["provider"], model=body.model, model_type=body.model_type
        )
    return Response(status_code=204)


@router.get("/model-providers/{provider}/models/credentials")
def custom_model_credentials(
    provider: str, model: str, model_type: str, caller: CurrentCaller, state: State
) -> dict[str, Any]:
    caller.require_admin()
    spec = model_catalog.get_provider(provider)
    with state.db.session() as session:
        return {
            "credentials": model_providers.custom_model_credentials(
                session,
                keyring=_keyring(state),
                tenant_id=caller.tenant_id,
                provider=spec["provider"],
                model=model,
                model_type=model_type,
                masked=True,
            )
        }


@router.get("/model-providers/{provider}/models/parameter-rules")
def parameter_rules(provider: str, model: str, caller: CurrentCaller) -> dict[str, Any]:
    spec = model_catalog.get_provider(provider)
    found = model_catalog.find_model(spec, model)
    if found is None:
        # Custom models get the generic rules of their provider's templates.
        return {
            "data": [
                model_catalog.expand_rule({"name": n, "use_template": n})
                for n in ("temperature", "top_p", "max_tokens")
            ]
        }
    return {"data": found.get("parameter_rules") or []}


def _models_by_type(session: Session, tenant_id: str, model_type: str) -> list[dict[str, Any]]:
    configured = _configured(session, tenant_id)
    custom = model_providers.custom_models(session, tenant_id=tenant_id, model_type=model_type)
    data = []
    for spec in model_catalog.catalogue().values():
        if model_type not in spec["supported_model_types"]:
            continue
        status = "active" if spec["provider"] in configured else "no-configure"
        models = [_model_public(m, status) for m in spec["models"] if m["model_type"] == model_type]
        models += [_custom_public(c.model, c.model_type) for c in custom if c.provider == spec["provider"]]
        if not models:
            continue
        data.append(
            {
                "provider": spec["provider"],
                "label": spec["label"],
                "icon_small": spec.get("icon_small"),
                "icon_large": spec.get("icon_large"),
                "status": "active"
                if status == "active" or any(c.provider == spec["provider"] for c in custom)
                else "no-configure",
                "models": models,
            }
        )
    return data


@router.get("/models/model-types/{model_type}")
def models_by_type(model_type: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        return {"data": _models_by_type(session, caller.tenant_id, model_type)}


@service_router.get("/models/model-types/{model_type}")
def service_models_by_type(model_type: str, caller: DatasetCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        return {"data": _models_by_type(session, caller.tenant_id, model_type)}


@router.get("/default-model")
def get_default_model(model_type: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        row = model_providers.default_model(session, tenant_id=caller.tenant_id, model_type=model_type)
        if row is None:
            return {"data": None}
        spec = model_catalog.catalogue().get(row.provider, {"provider": row.provider, "label": {}})
        return {
            "data": {
                "model": row.model,
                "model_type": row.model_type,
                "provider": {
                    "provider": row.provider,
                    "label": spec.get("label"),
                    "icon_small": spec.get("icon_small"),
                    "icon_large": spec.get("icon_large"),
                },
            }
        }


@router.post("/default-model")
def set_default_model(body: DefaultModelsBody, caller: CurrentCaller, state: State) -> dict[str, str]:
    with state.db.session() as session:
        model_providers.set_default_models(session, caller=caller, settings=body.model_settings)
    return {"result": "success"}
