"""Typed dependencies: the server state, the console caller and the Service API's app key."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from loomworks.core.config import Settings
from loomworks.core.crypto import KeyRing
from loomworks.core.errors import UnauthorizedError
from loomworks.services import api_keys, auth
from loomworks.services.app_config import UploadLimits
from loomworks.services.caller import Caller
from loomworks.services.files import SizeLimits
from loomworks.store.db import Database
from loomworks.store.storage import Storage
from loomworks.store.tables import App


@dataclass
class ServerState:
    """Everything a request handler may need, built once per process by the app factory."""

    settings: Settings
    db: Database
    storage: Storage
    auth: auth.AuthSettings
    keyring: KeyRing | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def size_limits(self) -> SizeLimits:
        s = self.settings
        return SizeLimits(
            document_mb=s.upload_file_size_limit_mb,
            image_mb=s.upload_image_file_size_limit_mb,
            audio_mb=s.upload_audio_file_size_limit_mb,
            video_mb=s.upload_video_file_size_limit_mb,
        )

    @property
    def upload_limits(self) -> UploadLimits:
        s = self.settings
        return UploadLimits(
            file_size_limit=s.upload_file_size_limit_mb,
            image_file_size_limit=s.upload_image_file_size_limit_mb,
            audio_file_size_limit=s.upload_audio_file_size_limit_mb,
            video_file_size_limit=s.upload_video_file_size_limit_mb,
            workflow_file_upload_limit=s.workflow_file_upload_limit,
        )


async def get_state(request: Request) -> ServerState:
    # async: FastAPI runs plain `def` dependencies in the thread pool, a hand-off for a dict lookup.
    return request.app.state.loom


State = Annotated[ServerState, Depends(get_state)]


def bearer_token(request: Request) -> str:
    """The token of an `Authorization: Bearer …` header, with Dify's error texts (spec §1.1)."""
    header = request.headers.get("Authorization")
    if header is None or " " not in header.strip():
        raise UnauthorizedError("Authorization header must be provided and start with 'Bearer'")
    scheme, token = header.strip().split(None, 1)
    if scheme.lower() != "bearer":
        raise UnauthorizedError("Authorization scheme must be 'Bearer'")
    return token.strip()


def get_caller(request: Request, state: State) -> Caller:
    token = bearer_token(request)
    with state.db.session() as session:
        auth.require_setup(session)
        return auth.authenticate(session, state.auth, access_token=token)


CurrentCaller = Annotated[Caller, Depends(get_caller)]


def _resolve_app_key(state: ServerState, token: str) -> App:
    with state.db.session() as session:
        return api_keys.resolve_app_key(session, token=token)


async def get_app_by_key(request: Request, state: State) -> App:
    token = bearer_token(request)
    cache: api_keys.AppKeyCache = state.extras["key_cache"]
    cached = cache.get(token)
    if cached is not None:
        return cached  # the common case: answered on the loop, no thread hand-off
    app = await run_in_threadpool(_resolve_app_key, state, token)
    cache.put(token, app)
    return app


def forget_keys(state: ServerState) -> None:
    """Drop cached key resolutions (after a key, an app's flags or an app itself changed)."""
    state.extras["key_cache"].clear()


KeyApp = Annotated[App, Depends(get_app_by_key)]


def get_dataset_caller(request: Request, state: State) -> Caller:
    token = bearer_token(request)
    with state.db.session() as session:
        return api_keys.resolve_dataset_key(session, token=token)


DatasetCaller = Annotated[Caller, Depends(get_dataset_caller)]


def client_ip(request: Request) -> str | None:
    forwarded = request.headers.get("X-Forwarded-For")
    if forwarded:
        return forwarded.split(",", 1)[0].strip()
    return request.client.host if request.client else None
