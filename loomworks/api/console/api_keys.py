"""API keys: per app (`app-…`) and per workspace for knowledge (`dataset-…`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from loomworks.api.deps import CurrentCaller, State, forget_keys
from loomworks.core.clock import to_timestamp
from loomworks.services import api_keys
from loomworks.store.tables import ApiToken

router = APIRouter(tags=["console: api keys"])


def key_public(record: ApiToken, token: str | None = None) -> dict[str, Any]:
    """A key as Dify shows it; `token` is the full secret at creation and a masked hint afterwards."""
    return {
        "id": record.id,
        "type": record.type,
        "token": token if token is not None else record.token_hint,
        "last_used_at": to_timestamp(record.last_used_at),
        "created_at": to_timestamp(record.created_at),
    }


@router.get("/apps/{app_id}/api-keys")
def list_app_keys(app_id: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        return {"data": [key_public(k) for k in api_keys.list_app_keys(session, caller=caller, app_id=app_id)]}


@router.post("/apps/{app_id}/api-keys", status_code=201)
def create_app_key(app_id: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        new = api_keys.create_app_key(session, caller=caller, app_id=app_id, limit=state.settings.max_api_keys_per_app)
        return key_public(new.record, new.token)


@router.delete("/apps/{app_id}/api-keys/{key_id}", status_code=204)
def delete_app_key(app_id: str, key_id: str, caller: CurrentCaller, state: State) -> Response:
    with state.db.session() as session:
        api_keys.delete_app_key(session, caller=caller, app_id=app_id, key_id=key_id)
    forget_keys(state)
    return Response(status_code=204)


@router.get("/datasets/api-keys")
def list_dataset_keys(caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        return {"data": [key_public(k) for k in api_keys.list_dataset_keys(session, caller=caller)]}


@router.post("/datasets/api-keys", status_code=201)
def create_dataset_key(caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        new = api_keys.create_dataset_key(session, caller=caller, limit=state.settings.max_api_keys_per_app)
        return key_public(new.record, new.token)


@router.delete("/datasets/api-keys/{key_id}", status_code=204)
def delete_dataset_key(key_id: str, caller: CurrentCaller, state: State) -> Response:
    with state.db.session() as session:
        api_keys.delete_dataset_key(session, caller=caller, key_id=key_id)
    return Response(status_code=204)
