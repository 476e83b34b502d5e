"""Tracing export settings of an app (Dify's paths): the on/off switch and each provider's config."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from loomworks.api.deps import CurrentCaller, ServerState, State
from loomworks.services.tracing import TraceDispatcher
from loomworks.services.tracing import config as tracing

router = APIRouter(prefix="/apps/{app_id}", tags=["console: tracing"])


class SwitchBody(BaseModel):
    enabled: bool
    tracing_provider: str | None = None


class ConfigBody(BaseModel):
    tracing_provider: str
    tracing_config: dict[str, Any]


def _dispatcher(state: ServerState) -> TraceDispatcher:
    return state.extras["tracing"]


def _keyring(state: ServerState) -> Any:
    assert state.keyring is not None
    return state.keyring


@router.get("/trace")
def get_switch(app_id: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        return tracing.get_switch(session, caller=caller, app_id=app_id)


@router.post("/trace")
def set_switch(app_id: str, body: SwitchBody, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        tracing.set_switch(
            session, caller=caller, app_id=app_id, enabled=body.enabled, tracing_provider=body.tracing_provider
        )
    _dispatcher(state).invalidate(app_id)
    return {"result": "success"}


@router.get("/trace-config")
def get_config(app_id: str, caller: CurrentCaller, state: State, tracing_provider: str = Query()) -> dict[str, Any]:
    with state.db.session() as session:
        return tracing.get_config(
            session, caller=caller, keyring=_keyring(state), app_id=app_id, tracing_provider=tracing_provider
        )


@router.post("/trace-config")
def create_config(app_id: str, body: ConfigBody, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        tracing.create_config(
            session,
            caller=caller,
            keyring=_keyring(state),
            policy=_dispatcher(state).http.policy,
            app_id=app_id,
            tracing_provider=body.tracing_provider,
            tracing_config=body.tracing_config,
        )
    _dispatcher(state).invalidate(app_id)
    return {"result": "success"}


@router.patch("/trace-config")
def update_config(app_id: str, body: ConfigBody, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        tracing.update_config(
            session,
            caller=caller,
            keyring=_keyring(state),
            policy=_dispatcher(state).http.policy,
            app_id=app_id,
            tracing_provider=body.tracing_provider,
            tracing_config=body.tracing_config,
        )
    _dispatcher(state).invalidate(app_id)
    return {"result": "success"}


@router.delete("/trace-config", status_code=204)
def delete_config(app_id: str, caller: CurrentCaller, state: State, tracing_provider: str = Query()) -> Response:
    with state.db.session() as session:
        tracing.delete_config(session, caller=caller, app_id=app_id, tracing_provider=tracing_provider)
    _dispatcher(state).invalidate(app_id)
    return Response(status_code=204)
