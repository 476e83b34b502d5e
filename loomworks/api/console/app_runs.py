"""The console's app editor: save the model config, and debug-run the draft config (streaming)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from loomworks.api.deps import CurrentCaller, State
from loomworks.api.service.chat import chat_service
from loomworks.api.sse import sse_response
from loomworks.core.errors import InvalidParamError
from loomworks.core.ids import is_uuid
from loomworks.services import apps
from loomworks.services.app_config import validate_model_config
from loomworks.services.chat.pipeline import TurnRequest

router = APIRouter(prefix="/apps/{app_id}", tags=["console: app editor"])


@router.post("/model-config")
def save_model_config(app_id: str, body: dict[str, Any], caller: CurrentCaller, state: State) -> dict[str, str]:
    with state.db.session() as session:
        apps.save_model_config(session, caller=caller, app_id=app_id, config=body)
    return {"result": "success"}


class DebugChatBody(BaseModel):
    inputs: dict[str, Any] = {}
    query: str = ""
    model_config_: dict[str, Any] | None = Field(None, alias="model_config")
    conversation_id: str | None = None
    response_mode: Literal["blocking", "streaming"] = "streaming"
    files: list[dict[str, Any]] | None = None

    model_config = ConfigDict(populate_by_name=True)


async def _debug(app_id: str, body: DebugChatBody, caller: CurrentCaller, state: State, expect_chat: bool) -> Any:
    def load() -> Any:
        with state.db.session() as session:
            caller.require_editor()
            app = apps.get(session, caller=caller, app_id=app_id)
            draft = validate_model_config(body.model_config_, app.mode) if body.model_config_ is not None else None
            return app, draft

    app, draft = await run_in_threadpool(load)
    conversation_id = body.conversation_id or None
    if conversation_id is not None and not is_uuid(conversation_id):
        raise InvalidParamError("conversation_id is not a valid uuid.", params="conversation_id")
    service = chat_service(state)
    turn = await service.prepare(
        TurnRequest(
            app=app,
            query=body.query,
            inputs=body.inputs,
            account_id=caller.account_id,
            conversation_id=conversation_id,
            files=body.files or [],
            invoke_from="debugger",
            draft_config=draft,
        ),
        expect_chat=expect_chat,
    )
    if body.response_mode == "streaming":
        return sse_response(service.stream(turn))
    return await service.blocking(turn)


@router.post("/chat-messages")
async def debug_chat(app_id: str, body: DebugChatBody, caller: CurrentCaller, state: State) -> Any:
    return await _debug(app_id, body, caller, state, expect_chat=True)


@router.post("/completion-messages")
async def debug_completion(app_id: str, body: DebugChatBody, caller: CurrentCaller, state: State) -> Any:
    return await _debug(app_id, body, caller, state, expect_chat=False)


@router.post("/chat-messages/{task_id}/stop")
@router.post("/completion-messages/{task_id}/stop")
def debug_stop(app_id: str, task_id: str, caller: CurrentCaller, state: State) -> dict[str, str]:
    chat_service(state).tasks.request_stop(task_id=task_id, app_id=app_id, owner_key=caller.account_id)
    return {"result": "success"}
