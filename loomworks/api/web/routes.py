"""Dify's web-app routes: passport, site, parameters, chat/completion messages, conversations, feedback.

Answers use Dify's "simple" shapes: no usage or annotation details, citations trimmed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from loomworks.api.console.apps import site_public
from loomworks.api.deps import State, bearer_token
from loomworks.api.service.chat import chat_service, chatflow_service, conversation_public, message_public
from loomworks.api.sse import sse_response
from loomworks.core.errors import InvalidParamError, NotChatAppError, UnauthorizedError
from loomworks.core.ids import is_uuid
from loomworks.services import apps, conversations, webapp
from loomworks.services.app_config import normalise_model_config, parameters
from loomworks.services.chat.pipeline import TurnRequest
from loomworks.services.chatflow import ChatflowRequest
from loomworks.services.conversations import Owner
from loomworks.services.workflow_parameters import WORKFLOW_MODES, app_parameters
from loomworks.services.workflow_runs import RunRequest

router = APIRouter(prefix="/api", tags=["web app"])

_CITATION_KEYS = ("segment_id", "position", "document_name", "score", "content")


def get_visitor(request: Request, state: State) -> webapp.Visitor:
    token = bearer_token(request)
    with state.db.session() as session:
        return webapp.visitor(
            session, secret=state.auth.secret_key, token=token, app_code=request.headers.get("X-App-Code")
        )


Visitor = Annotated[webapp.Visitor, Depends(get_visitor)]


def _owner(visitor: webapp.Visitor) -> Owner:
    return Owner(end_user_id=visitor.end_user.id)


def simplify(event: dict[str, Any]) -> dict[str, Any]:
    """Dify's web-app view of an event or answer: drop usage and annotation details, trim citations."""
    metadata = event.get("metadata")
    if not isinstance(metadata, dict):
        return event
    trimmed = {k: v for k, v in metadata.items() if k not in ("usage", "annotation_reply")}
    if "retriever_resources" in trimmed:
        trimmed["retriever_resources"] = [
            {k: r.get(k) for k in _CITATION_KEYS} for r in trimmed["retriever_resources"] or []
        ]
    return {**event, "metadata": trimmed}


async def _simplified(events: AsyncIterator[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    async for event in events:
        yield simplify(event)


@router.get("/passport")
def passport(request: Request, state: State, user_id: str | None = None) -> dict[str, str]:
    code = request.headers.get("X-App-Code")
    if not code:
        raise UnauthorizedError("X-App-Code header is missing.")
    with state.db.session() as session:
        return {
            "access_token": webapp.issue_passport(session, secret=state.auth.secret_key, app_code=code, user_id=user_id)
        }


@router.get("/site")
def site(visitor: Visitor, request: Request, state: State) -> dict[str, Any]:
    base = state.settings.service_api_url or str(request.base_url).rstrip("/")
    return {
        "app_id": visitor.app.id,
        "end_user_id": visitor.end_user.id,
        "enable_site": visitor.app.enable_site,
        "site": site_public(visitor.site, base_url=base),
        "model_config": None,
        "plan": "basic",
        "can_replace_logo": False,
        "custom_config": None,
    }


@router.get("/parameters")
def web_parameters(visitor: Visitor, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        if visitor.app.mode in WORKFLOW_MODES:
            return app_parameters(session, app=visitor.app, limits=state.upload_limits)
        config = apps.model_config(session, app=visitor.app)
    return parameters(normalise_model_config(config, visitor.app.mode), state.upload_limits)


@router.get("/meta")
def web_meta(visitor: Visitor) -> dict[str, Any]:
    return {"tool_icons": {}}


class WebChatBody(BaseModel):
    query: str
    inputs: dict[str, Any]
    response_mode: Literal["blocking", "streaming"] | None = None
    conversation_id: str | None = None
    parent_message_id: str | None = None
    files: list[dict[str, Any]] | None = None


class WebCompletionBody(BaseModel):
    inputs: dict[str, Any]
    query: str = ""
    response_mode: Literal["blocking", "streaming"] | None = None
    files: list[dict[str, Any]] | None = None


async def _turn(state: Any, request: TurnRequest, streaming: bool, expect_chat: bool) -> Any:
    service = chat_service(state)
    turn = await service.prepare(request, expect_chat=expect_chat)
    if streaming:
        return sse_response(_simplified(service.stream(turn)))
    return simplify(await service.blocking(turn))


@router.post("/chat-messages")
async def web_chat(body: WebChatBody, visitor: Visitor, state: State) -> Any:
    conversation_id = body.conversation_id or None
    if conversation_id is not None and not is_uuid(conversation_id):
        raise InvalidParamError("conversation_id is not a valid uuid.", params="conversation_id")
    if visitor.app.mode == "advanced-chat":
        return await _chatflow_turn(state, visitor, body, conversation_id)
    request = TurnRequest(
        app=visitor.app,
        query=body.query,
        inputs=body.inputs,
        user=visitor.end_user.session_id,
        conversation_id=conversation_id,
        files=body.files or [],
        invoke_from="web-app",
    )
    return await _turn(state, request, body.response_mode == "streaming", expect_chat=True)


async def _chatflow_turn(state: Any, visitor: webapp.Visitor, body: WebChatBody, conversation_id: str | None) -> Any:
    service = chatflow_service(state)
    turn = await service.prepare(
        ChatflowRequest(
            app=visitor.app,
            query=body.query,
            inputs=body.inputs,
            user=visitor.end_user.session_id,
            conversation_id=conversation_id,
            files=body.files or [],
            invoke_from="web-app",
        )
    )
    if body.response_mode == "streaming":
        return sse_response(_simplified(_web_events(service.stream(turn))))
    return simplify(await service.blocking(turn))


@router.post("/completion-messages")
async def web_completion(body: WebCompletionBody, visitor: Visitor, state: State) -> Any:
    request = TurnRequest(
        app=visitor.app,
        query=body.query,
        inputs=body.inputs,
        user=visitor.end_user.session_id,
        files=body.files or [],
        invoke_from="web-app",
    )
    return await _turn(state, request, body.response_mode == "streaming", expect_chat=False)


@router.post("/chat-messages/{task_id}/stop")
@router.post("/completion-messages/{task_id}/stop")
def web_stop(task_id: str, visitor: Visitor, state: State) -> dict[str, str]:
    if visitor.app.mode == "advanced-chat":
        chatflow_service(state).stop(task_id=task_id, app_id=visitor.app.id, owner_key=visitor.end_user.id)
    else:
        chat_service(state).tasks.request_stop(task_id=task_id, app_id=visitor.app.id, owner_key=visitor.end_user.id)
    return {"result": "success"}


def _chat_only(visitor: webapp.Visitor) -> None:
    if visitor.app.mode not in ("chat", "agent-chat", "advanced-chat"):
        raise NotChatAppError()


@router.get("/conversations")
def web_conversations(
    visitor: Visitor,
    state: State,
    last_id: str | None = None,
    limit: int = Query(20),
    pinned: bool | None = None,
    sort_by: str = "-updated_at",
) -> dict[str, Any]:
    _chat_only(visitor)
    with state.db.session() as session:
        page = conversations.list_page(
            session,
            app=visitor.app,
            owner=_owner(visitor),
            last_id=last_id,
            limit=limit,
            sort_by=sort_by,
            pinned=pinned,
        )
        return {"limit": page.limit, "has_more": page.has_more, "data": [conversation_public(c) for c in page.items]}


@router.delete("/conversations/{conversation_id}", status_code=204)
def web_delete_conversation(conversation_id: str, visitor: Visitor, state: State) -> Response:
    _chat_only(visitor)
    with state.db.session() as session:
        conversations.delete(session, app=visitor.app, owner=_owner(visitor), conversation_id=conversation_id)
    return Response(status_code=204)


class WebRenameBody(BaseModel):
    name: str | None = None
    auto_generate: bool = False


@router.post("/conversations/{conversation_id}/name")
async def web_rename(conversation_id: str, body: WebRenameBody, visitor: Visitor, state: State) -> dict[str, Any]:
    _chat_only(visitor)
    if body.auto_generate:
        renamed = await chat_service(state).auto_name(
            app=visitor.app, owner=_owner(visitor), conversation_id=conversation_id
        )
        return conversation_public(renamed)

    def rename() -> dict[str, Any]:
        with state.db.session() as session:
            return conversation_public(
                conversations.rename(
                    session,
                    app=visitor.app,
                    owner=_owner(visitor),
                    conversation_id=conversation_id,
                    name=body.name or "",
                )
            )

    return await run_in_threadpool(rename)


@router.patch("/conversations/{conversation_id}/pin")
def web_pin(conversation_id: str, visitor: Visitor, state: State) -> dict[str, str]:
    with state.db.session() as session:
        conversations.get(
            session, app=visitor.app, owner=_owner(visitor), conversation_id=conversation_id
        ).pinned = True
    return {"result": "success"}


@router.patch("/conversations/{conversation_id}/unpin")
def web_unpin(conversation_id: str, visitor: Visitor, state: State) -> dict[str, str]:
    with state.db.session() as session:
        conversations.get(
            session, app=visitor.app, owner=_owner(visitor), conversation_id=conversation_id
        ).pinned = False
    return {"result": "success"}


@router.get("/messages")
def web_messages(
    visitor: Visitor, state: State, conversation_id: str = "", first_id: str | None = None, limit: int = Query(20)
) -> dict[str, Any]:
    _chat_only(visitor)
    if not conversation_id:
        raise InvalidParamError("conversation_id is required", params="conversation_id")
    with state.db.session() as session:
        page = conversations.messages_page(
            session,
            app=visitor.app,
            owner=_owner(visitor),
            conversation_id=conversation_id,
            first_id=first_id,
            limit=limit,
        )
        ids = [m.id for m in page.items]
        ratings = conversations.feedback_ratings(session, message_ids=ids)
        attached = conversations.files_of(session, message_ids=ids)
        secret = state.auth.secret_key
        return {
            "limit": page.limit,
            "has_more": page.has_more,
            "data": [simplify(message_public(m, ratings.get(m.id), attached.get(m.id), secret)) for m in page.items],
        }


class WebFeedbackBody(BaseModel):
    rating: Literal["like", "dislike"] | None = None
    content: str | None = None


@router.post("/messages/{message_id}/feedbacks")
def web_feedback(message_id: str, body: WebFeedbackBody, visitor: Visitor, state: State) -> dict[str, str]:
    with state.db.session() as session:
        conversations.set_feedback(
            session,
            app=visitor.app,
            owner=_owner(visitor),
            message_id=message_id,
            rating=body.rating,
            content=body.content,
        )
    return {"result": "success"}


@router.get("/messages/{message_id}/suggested-questions")
async def web_suggested(message_id: str, visitor: Visitor, state: State) -> dict[str, Any]:
    _chat_only(visitor)
    questions = await chat_service(state).suggested_questions(
        app=visitor.app, owner=_owner(visitor), message_id=message_id
    )
    return {"data": questions}


class WebWorkflowBody(BaseModel):
    inputs: dict[str, Any]
    files: list[dict[str, Any]] | None = None


def _hide_details(event: dict[str, Any]) -> dict[str, Any]:
    """Web apps see node progress but not node inputs, outputs or process data (as in Dify)."""
    if event.get("event") in ("node_started", "node_finished") and isinstance(event.get("data"), dict):
        data = {**event["data"], "inputs": None, "outputs": None, "process_data": None}
        return {**event, "data": data}
    return event


async def _web_events(events: AsyncIterator[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    async for event in events:
        yield _hide_details(event)


@router.post("/workflows/run")
async def web_workflow_run(body: WebWorkflowBody, visitor: Visitor, state: State) -> Any:
    service = state.extras["workflows"]
    prepared = await service.prepare(
        RunRequest(
            app=visitor.app,
            inputs=body.inputs,
            user=visitor.end_user.session_id,
            files=body.files or [],
            invoke_from="web-app",
        )
    )
    return sse_response(_web_events(service.stream(prepared)))


@router.post("/workflows/tasks/{task_id}/stop")
def web_workflow_stop(task_id: str, visitor: Visitor, state: State) -> dict[str, str]:
    state.extras["workflows"].stop(task_id=task_id, app_id=visitor.app.id, owner_key=visitor.end_user.id)
    return {"result": "success"}
