"""Sign-in: login, token refresh, logout (Dify 0.15's JSON token flow)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from loomworks.api.deps import CurrentCaller, State, client_ip
from loomworks.core.errors import LoomworksError
from loomworks.services import auth

router = APIRouter(tags=["console: auth"])


class LoginBody(BaseModel):
    email: str
    password: str
    remember_me: bool = False
    language: str | None = None
    invite_token: str | None = None


class RefreshBody(BaseModel):
    refresh_token: str


def _pair(pair: auth.TokenPair) -> dict[str, object]:
    return {"result": "success", "data": {"access_token": pair.access_token, "refresh_token": pair.refresh_token}}


@router.post("/login")
def login(body: LoginBody, request: Request, state: State) -> dict[str, object]:
    with state.db.session() as session:
        result = auth.attempt_login(
            session, state.auth, email=body.email, password=body.password, ip=client_ip(request)
        )
    if isinstance(result, LoomworksError):
        raise result
    return _pair(result)


@router.post("/refresh-token")
def refresh_token(body: RefreshBody, state: State) -> dict[str, object]:
    with state.db.session() as session:
        return _pair(auth.refresh(session, state.auth, refresh_token=body.refresh_token))


@router.get("/logout")
def logout(caller: CurrentCaller, state: State) -> dict[str, object]:
    with state.db.session() as session:
        auth.logout(session, session_id=caller.session_id)
    return {"result": "success"}
