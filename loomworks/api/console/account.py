"""The signed-in account: `GET /console/api/account/profile` and small profile updates."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from loomworks.api.deps import CurrentCaller, State
from loomworks.core.clock import to_timestamp
from loomworks.core.errors import InvalidParamError
from loomworks.services import auth
from loomworks.store.tables import Account

router = APIRouter(prefix="/account", tags=["console: account"])


def profile(account: Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "name": account.name,
        "avatar": account.avatar,
        "avatar_url": None,
        "email": account.email,
        "is_password_set": account.password_hash is not None,
        "interface_language": account.interface_language,
        "interface_theme": account.interface_theme,
        "timezone": account.timezone,
        "last_login_at": to_timestamp(account.last_login_at),
        "last_login_ip": account.last_login_ip,
        "created_at": to_timestamp(account.created_at),
    }


@router.get("/profile")
def get_profile(caller: CurrentCaller) -> dict[str, Any]:
    return profile(caller.account)


class NameBody(BaseModel):
    name: str


class LanguageBody(BaseModel):
    interface_language: str


class PasswordBody(BaseModel):
    password: str | None = None
    new_password: str
    repeat_new_password: str


def _load(session: Any, caller: CurrentCaller) -> Account:
    account = session.get(Account, caller.account_id)
    assert account is not None
    return account


@router.post("/name")
def set_name(body: NameBody, caller: CurrentCaller, state: State) -> dict[str, Any]:
    name = body.name.strip()
    if not 1 <= len(name) <= 30:
        raise InvalidParamError("Account name must be between 3 and 30 characters.", params="name")
    with state.db.session() as session:
        account = _load(session, caller)
        account.name = name
        return profile(account)


@router.post("/interface-language")
def set_language(body: LanguageBody, caller: CurrentCaller, state: State) -> dict[str, Any]:
    if body.interface_language not in ("en-US", "zh-Hans"):
        raise InvalidParamError("Unsupported language.", params="interface_language")
    with state.db.session() as session:
        account = _load(session, caller)
        account.interface_language = body.interface_language
        return profile(account)


@router.post("/password")
def set_password(body: PasswordBody, caller: CurrentCaller, state: State) -> dict[str, Any]:
    if body.new_password != body.repeat_new_password:
        raise InvalidParamError("The passwords do not match.", params="repeat_new_password")
    auth.check_password_rule(body.new_password)
    with state.db.session() as session:
        account = _load(session, caller)
        if account.password_hash is not None and not auth.verify_password(account, body.password or ""):
            raise InvalidParamError("The current password is wrong.", params="password")
        account.password_hash = auth.hash_password(body.new_password)
        return profile(account)
