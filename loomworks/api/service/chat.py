"""Chat and completion messages, stop, conversations, messages and feedback (Dify's Service API)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from loomworks.api.deps import KeyApp, State
from loomworks.api.responses import JsonResponse
from loomworks.api.service import events
from loomworks.api.sse import sse_response
from loomworks.core.clock import to_timestamp
from loomworks.core.errors import InvalidParamError, NotChatAppError
from loomworks.core.ids import is_uuid
from loomworks.services import conversations, end_users, message_files
from loomworks.services.chat.pipeline import ChatService, TurnRequest
from loomworks.services.chatflow import ChatflowRequest, ChatflowService, variables_page
from loomworks.services.conversations import Owner
from loomworks.store.tables import App, Conversation, Message, MessageFile

router = APIRouter(tags=["service: chat"])


class ChatMessageBody(BaseModel):
    query: str
    inputs: dict[str, Any]
    response_mode: Literal["blocking", "streaming"] | None = None
    user: str | None = None
    conversation_id: str | None = None
    files: list[dict[str, Any]] | None = None
    auto_generate_name: bool = True
    retriever_from: str = "dev"
    workflow_id: str | None = None  # chatflows: a published version to run (Dify 1.x)


class CompletionMessageBody(BaseModel):
    inputs: dict[str, Any]
    query: str = ""
    response_mode: Literal["blocking", "streaming"] | None = None
    user: str | None = None
    files: list[dict[str, Any]] | None = None
    retriever_from: str = "dev"


class StopBody(BaseModel):
    user: str | None = None


class FeedbackBody(BaseModel):
    rating: Literal["like", "dislike"] | None = None
    user: str | None = None
    content: str | None = None


class RenameBody(BaseModel):
    name: str | None = None
    auto_generate: bool = False
    user: str | None = None


class UserBody(BaseModel):
    user: str | None = None


def chat_service(state: Any) -> ChatService:
    return state.extras["chat"]


def chatflow_service(state: Any) -> ChatflowService:
    return state.extras["chatflow"]


async def run_chatflow(state: Any, request: ChatflowRequest, streaming: bool) -> Any:
    service = chatflow_service(state)
    turn = await service.prepare(request)
    if streaming and state.settings.run_in_worker:
        return await events.background_chatflow(state, turn)  # a background run, streamed from the bus
    if streaming:
        return sse_response(service.stream(turn))
    return await service.blocking(turn)


async def _run(
    service: ChatService, turn_request: TurnRequest, streaming: bool, expect_chat: bool, state: Any = None
) -> Any:
    with service.admission(streaming=streaming):  # beyond capacity: a 429 now, never a queue
        turn = await service.prepare(turn_request, expect_chat=expect_chat)
        if streaming and state is not None and state.settings.run_in_worker:
            # A background run: the turn goes on without this connection; its events come from the bus.
            runs = events.background_runs(state)
            await runs.submit(turn, expect_chat=expect_chat)
            return events.numbered_sse(runs.follow(turn.task_id, message_id=turn.message_id), task_id=turn.task_id)
        if streaming:
            return sse_response(service.stream(turn))
        return await service.blocking(turn)


@router.post("/chat-messages")
async def chat_messages(body: ChatMessageBody, app: KeyApp, state: State) -> Any:
    conversation_id = body.conversation_id or None
    if conversation_id is not None and not is_uuid(conversation_id):
        raise InvalidParamError("conversation_id is not a valid uuid.", params="conversation_id")
    if app.mode == "advanced-chat":
        flow = ChatflowRequest(
            app=app,
            query=body.query,
            inputs=body.inputs,
            user=body.user,
            conversation_id=conversation_id,
            files=body.files or [],
            workflow_id=body.workflow_id or None,
        )
        return await run_chatflow(state, flow, body.response_mode == "streaming")
    request = TurnRequest(
        app=app,
        query=body.query,
        inputs=body.inputs,
        user=body.user,
        conversation_id=conversation_id,
        files=body.files or [],
        auto_generate_name=body.auto_generate_name,
    )
    return await _run(chat_service(state), request, body.response_mode == "streaming", expect_chat=True, state=state)


@router.post("/completion-messages")
async def completion_messages(body: CompletionMessageBody, app: KeyApp, state: State) -> Any:
    request = TurnRequest(app=app, query=body.query, inputs=body.inputs, user=body.user, files=body.files or [])
    return await _run(chat_service(state), request, body.response_mode == "streaming", expect_chat=False, state=state)


def _owner_of(state: Any, app: App, user: str | None, *, required: bool = True) -> Owner:
    if required and not user:
        raise InvalidParamError("Arg user must be provided.", params="user")
    with state.db.session() as session:
        end_user = end_users.get_or_create(session, app=app, user=user)
        return Owner(end_user_id=end_user.id)


def _stop(task_id: str, body: StopBody, app: App, state: Any) -> dict[str, str]:
    owner = _owner_of(state, app, body.user)
    owner_key = owner.end_user_id or ""
    if app.mode == "advanced-chat":
        chatflow_service(state).stop(task_id=task_id, app_id=app.id, owner_key=owner_key)
    else:
        chat_service(state).tasks.request_stop(task_id=task_id, app_id=app.id, owner_key=owner_key)
    return {"result": "success"}


@router.post("/chat-messages/{task_id}/stop")
def stop_chat(task_id: str, body: StopBody, app: KeyApp, state: State) -> dict[str, str]:
    return _stop(task_id, body, app, state)


@router.post("/completion-messages/{task_id}/stop")
def stop_completion(task_id: str, body: StopBody, app: KeyApp, state: State) -> dict[str, str]:
    return _stop(task_id, body, app, state)


def conversation_public(conversation: Conversation) -> dict[str, Any]:
    return {
        "id": conversation.id,
        "name": conversation.name,
        "inputs": conversation.inputs or {},
        "status": conversation.status,
        "introduction": conversation.introduction or "",
        "created_at": to_timestamp(conversation.created_at),
        "updated_at": to_timestamp(conversation.updated_at),
    }


def file_url(secret: str, row: MessageFile) -> str:
    if row.url:
        return row.url
    return f"/files/{row.upload_file_id}/file-preview?{message_files.sign(secret, row.upload_file_id or '')}"


def message_public(
    message: Message, rating: str | None, files: list[MessageFile] | None = None, secret: str = ""
) -> dict[str, Any]:
    metadata = message.message_metadata or {}
    return {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "parent_message_id": message.parent_message_id,
        "inputs": message.inputs or {},
        "query": message.query,
        "answer": message.answer,
        "message_files": [
            {"id": f.id, "type": f.type, "url": file_url(secret, f), "belongs_to": f.belongs_to} for f in files or []
        ],
        "feedback": {"rating": rating} if rating else None,
        "retriever_resources": metadata.get("retriever_resources", []),
        "agent_thoughts": message.agent_thoughts or [],
        "created_at": to_timestamp(message.created_at),
        "status": message.status,
        "error": message.error,
    }


def _require_chat(app: App) -> None:
    if app.mode not in ("chat", "agent-chat", "advanced-chat"):
        raise NotChatAppError()


@router.get("/conversations")
def list_conversations(
    app: KeyApp,
    state: State,
    user: str | None = None,
    last_id: str | None = None,
    limit: int = Query(20),
    sort_by: str = "-updated_at",
    pinned: bool | None = None,
) -> dict[str, Any]:
    _require_chat(app)
    owner = _owner_of(state, app, user, required=False)
    with state.db.session() as session:
        page = conversations.list_page(session, app=app, owner=owner, last_id=last_id, limit=limit, sort_by=sort_by)
        return {"limit": page.limit, "has_more": page.has_more, "data": [conversation_public(c) for c in page.items]}


@router.delete("/conversations/{conversation_id}", status_code=204)
def delete_conversation(conversation_id: str, app: KeyApp, state: State, body: UserBody | None = None) -> Response:
    _require_chat(app)
    owner = _owner_of(state, app, body.user if body else None, required=False)
    with state.db.session() as session:
        conversations.delete(session, app=app, owner=owner, conversation_id=conversation_id)
    return Response(status_code=204)


@router.post("/conversations/{conversation_id}/name")
async def rename_conversation(conversation_id: str, body: RenameBody, app: KeyApp, state: State) -> dict[str, Any]:
    _require_chat(app)
    owner = await run_in_threadpool(_owner_of, state, app, body.user, required=False)
    if body.auto_generate:
        conversation = await chat_service(state).auto_name(app=app, owner=owner, conversation_id=conversation_id)
        return conversation_public(conversation)

    def rename() -> dict[str, Any]:
        with state.db.session() as session:
            renamed = conversations.rename(
                session, app=app, owner=owner, conversation_id=conversation_id, name=body.name or ""
            )
            return conversation_public(renamed)

    return await run_in_threadpool(rename)


@router.get("/conversations/{conversation_id}/variables")
def conversation_variables(
    conversation_id: str,
    app: KeyApp,
    state: State,
    user: str | None = None,
    last_id: str | None = None,
    limit: int = Query(20),
    variable_name: str | None = None,
) -> dict[str, Any]:
    _require_chat(app)
    owner = _owner_of(state, app, user, required=False)
    with state.db.session() as session:
        conversation = conversations.get(session, app=app, owner=owner, conversation_id=conversation_id)
        # Conversation variables belong to chatflows; basic chat apps have none.
        if app.mode != "advanced-chat":
            return {"limit": limit, "has_more": False, "data": []}
        return variables_page(
            session, conversation_id=conversation.id, last_id=last_id, limit=limit, name=variable_name
        )


@router.get("/messages")
def list_messages(
    app: KeyApp,
    state: State,
    conversation_id: str = "",
    user: str | None = None,
    first_id: str | None = None,
    limit: int = Query(20),
) -> dict[str, Any]:
    _require_chat(app)
    if not conversation_id:
        raise InvalidParamError("conversation_id is required", params="conversation_id")
    owner = _owner_of(state, app, user, required=False)
    with state.db.session() as session:
        page = conversations.messages_page(
            session, app=app, owner=owner, conversation_id=conversation_id, first_id=first_id, limit=limit
        )
        ids = [m.id for m in page.items]
        ratings = conversations.feedback_ratings(session, message_ids=ids)
        attached = conversations.files_of(session, message_ids=ids)
        secret = state.auth.secret_key
        return {
            "limit": page.limit,
            "has_more": page.has_more,
            "data": [message_public(m, ratings.get(m.id), attached.get(m.id), secret) for m in page.items],
        }


@router.post("/messages/{message_id}/feedbacks")
def feedback(message_id: str, body: FeedbackBody, app: KeyApp, state: State) -> dict[str, str]:
    owner = _owner_of(state, app, body.user)
    with state.db.session() as session:
        conversations.set_feedback(
            session, app=app, owner=owner, message_id=message_id, rating=body.rating, content=body.content
        )
    return {"result": "success"}


@router.get("/messages/{message_id}/suggested")
async def suggested(message_id: str, app: KeyApp, state: State, user: str | None = None) -> JsonResponse:
    _require_chat(app)
    owner = await run_in_threadpool(_owner_of, state, app, user)
    service = chat_service(state)
    questions = await service.suggested_questions(app=app, owner=owner, message_id=message_id)
    return JsonResponse({"result": "success", "data": questions})
