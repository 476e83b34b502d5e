"""First-run setup: `GET/POST /console/api/setup`."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from loomworks.api.deps import State
from loomworks.api.responses import JsonResponse
from loomworks.core.clock import to_timestamp
from loomworks.services import auth

router = APIRouter(tags=["console: setup"])


class SetupCreate(BaseModel):
    email: str
    name: str
    password: str
    language: str | None = None


@router.get("/setup")
def get_setup(state: State) -> dict[str, object]:
    with state.db.session() as session:
        done = auth.setup_status(session)
    if done is None:
        return {"step": "not_started", "setup_at": None}
    return {"step": "finished", "setup_at": to_timestamp(done.setup_at)}


@router.post("/setup", status_code=201)
def post_setup(body: SetupCreate, state: State) -> JsonResponse:
    with state.db.session() as session:
        account = auth.setup(session, email=body.email, name=body.name, password=body.password)
        if body.language:
            account.interface_language = body.language
    return JsonResponse({"result": "success"}, status_code=201)
