"""The answer pipeline of chat assistants and text generators.

One turn: check the request and load what it needs (`prepare`, all before any byte is streamed,
so bad input gets a plain 4xx), moderate the input, retrieve the app's knowledge, build the prompt
with as much history as fits the model's context, stream the model's answer as Dify's events,
moderate the output, then save the conversation and message in one transaction before the final
event. A turn that fails saves its message with status `error` (for the logs) and never feeds it
back into later prompts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import insert, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from loomworks.core.clock import now, timestamp
from loomworks.core.errors import (
    CompletionRequestError,
    ConversationBusyError,
    ConversationCompletedError,
    InvalidParamError,
    LoomworksError,
    NotChatAppError,
    NotCompletionAppError,
    TooManyRequestsError,
    error_class,
)
from loomworks.core.ids import new_id
from loomworks.services import annotations, conversations, end_users, message_files
from loomworks.services.annotations import AnnotationReplier, Reply
from loomworks.services.app_config import normalise_model_config
from loomworks.services.chat import context as knowledge_context
from loomworks.services.chat import followups, moderation, prompt
from loomworks.services.chat import inputs as input_form
from loomworks.services.chat._writes import RecordWriter
from loomworks.services.chat.llm import ChatModel, ChatRequest, Usage
from loomworks.services.chat.tasks import ConversationLocks, TaskRegistry
from loomworks.services.conversations import Owner
from loomworks.services.knowledge.indexing import KnowledgeRuntime
from loomworks.services.tracing import TraceSink, message_trace
from loomworks.store.db import Database
from loomworks.store.storage import Storage
from loomworks.store.tables import App, AppModelConfig, Conversation, Message, MessageFile, ModelCall

log = logging.getLogger("loomworks.chat")

CHAT_MODES = ("chat", "agent-chat", "advanced-chat")
SuggestedQuestionsDisabledError = error_class(
    "app_suggested_questions_after_answer_disabled", 403, "Function Suggested questions after answer disabled."
)
HISTORY_LIMIT = 50
LOCK_WAIT_SECONDS = 30.0
BUSY_MESSAGE = "Too many answers in progress on this server. Please try again shortly."


class ModelResolver(Protocol):
    """Finds the model an app's config names, bound to the workspace's credentials.

    Raises `ProviderNotInitializeError` when the workspace has no usable credentials for it.
    """

    def resolve(self, session: Session, *, tenant_id: str, provider: str, model: str) -> ChatModel: ...


class AgentAnswerer(Protocol):
    """Answers `agent-chat` turns in place of the single model call (`services/agent/chat.py`).

    `answer` streams Dify's agent events (built on `base(event_name)`, the turn's envelope) and
    fills `outcome` (answer, usage, agent thoughts, assistant files, status `stopped`); the
    pipeline keeps locking, stop, input moderation, retrieval, persistence and `message_end`.
    """

    def answer(
        self,
        turn: PreparedTurn,
        request: ChatRequest,
        outcome: Outcome,
        stop: asyncio.Event,
        base: Callable[[str], dict[str, Any]],
    ) -> AsyncIterator[dict[str, Any]]: ...


@dataclass(slots=True)
class TurnRequest:
    """What a client asked for (Service API, web app or console debugger)."""

    app: App
    query: str
    inputs: dict[str, Any] | None
    user: str | None = None  # the developer's end-user string (Service API) or web-app session
    account_id: str | None = None  # a console account (debugger)
    conversation_id: str | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    auto_generate_name: bool = True
    invoke_from: str = "service-api"
    draft_config: dict[str, Any] | None = None  # the debugger runs the unsaved config


@dataclass(slots=True)
class PreparedTurn:
    request: TurnRequest
    config: dict[str, Any]
    config_id: str | None
    owner: Owner
    conversation: Conversation | None
    inputs: dict[str, Any]
    history: list[tuple[str, str]]
    model: ChatModel
    files: list[message_files.TurnFile] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)
    task_id: str = field(default_factory=new_id)
    message_id: str = field(default_factory=new_id)
    conversation_id: str = ""
    created_at: int = field(default_factory=timestamp)
    context: str | None = None  # retrieved knowledge, set by the turn's retrieval step

    @property
    def is_chat(self) -> bool:
        return self.request.app.mode in CHAT_MODES


@dataclass(slots=True)
class Outcome:
    answer: str = ""
    usage: Usage = field(default_factory=Usage)
    status: str = "normal"
    error: str | None = None
    prompt_messages: list[dict[str, Any]] = field(default_factory=list)
    latency: float = 0.0
    annotation: Reply | None = None
    retriever_resources: list[dict[str, Any]] = field(default_factory=list)
    agent_thoughts: list[dict[str, Any]] = field(default_factory=list)  # agent-chat: saved with the message
    answer_files: list[MessageFile] = field(default_factory=list)  # agent-chat: files the tools produced


class ChatService:
    """Runs turns of chat and completion apps; one per server process."""

    def __init__(
        self,
        db: Database,
        resolver: ModelResolver,
        *,
        storage: Storage | None = None,
        annotations: AnnotationReplier | None = None,
        usage_sink: Callable[[str, str, Usage], None] | None = None,
        tracer: TraceSink | None = None,
        knowledge: KnowledgeRuntime | None = None,
        tasks: TaskRegistry | None = None,
        locks: ConversationLocks | None = None,
        agents: AgentAnswerer | None = None,
        max_blocking: int = 256,
        max_streams: int = 10_000,
    ) -> None:
        self.db = db
        self.resolver = resolver
        self.storage = storage
        self.annotations = annotations
        self.usage_sink = usage_sink
        self.tracer = tracer
        self.knowledge = knowledge  # searched when an app's `dataset_configs` names datasets
        self.tasks = tasks or TaskRegistry()
        self.locks = locks or ConversationLocks()
        self.agents = agents  # answers agent-chat turns; without it they get a plain model answer
        self._background: set[asyncio.Task[None]] = set()
        self.writer = RecordWriter(db)  # the records saved before `message_end`, batched across turns
        # Beyond these, new turns get a 429 at once instead of queueing behind the others (DESIGN §7).
        self.max_blocking, self.max_streams = max_blocking, max_streams
        self._turns = 0  # turns in `stream` (blocking ones included)
        self._blocking = 0
        # Saved configs never change (a save makes a new row) and end users are never renamed, so both
        # can be remembered; this keeps a turn to the queries that must see fresh data.
        self._configs: dict[str, dict[str, Any]] = {}
        self._end_users: dict[tuple[str, str, str], str] = {}

    # -- preparation: every check that can fail happens here, before streaming starts ----------

    @contextmanager
    def admission(self, *, streaming: bool) -> Iterator[None]:
        """Refuse a new turn (429, before any work) when this process runs as many as it may take.

        A blocking turn holds its place for the block; a stream counts while `stream` runs. The
        Service API refuses most turns over these limits earlier, before routing (`AdmissionMiddleware`).
        """
        busy = self._turns - self._blocking >= self.max_streams if streaming else self._blocking >= self.max_blocking
        if busy:
            raise TooManyRequestsError(BUSY_MESSAGE)
        if streaming:
            yield
            return
        self._blocking += 1
        try:
            yield
        finally:
            self._blocking -= 1

    async def prepare(self, request: TurnRequest, *, expect_chat: bool) -> PreparedTurn:
        if self._prepared_from_memory(request):
            # Nothing to read: a thread hand-off would cost more than the whole preparation.
            return self._prepare(request, expect_chat)
        return await run_in_threadpool(self._prepare, request, expect_chat)

    def _prepared_from_memory(self, request: TurnRequest) -> bool:
        """True when end user, saved config and bound model are all remembered (a new conversation)."""
        if request.conversation_id or request.files or request.draft_config is not None:
            return False
        if request.account_id is None and self._end_user_key(request) not in self._end_users:
            return False
        config = self._configs.get(request.app.app_model_config_id or "")
        cached = getattr(self.resolver, "cached", None)
        if config is None or cached is None:
            return False
        settings = config.get("model") or {}
        provider, model = str(settings.get("provider") or ""), str(settings.get("name") or "")
        return cached(tenant_id=request.app.tenant_id, provider=provider, model=model) is not None

    def _prepare(self, request: TurnRequest, expect_chat: bool) -> PreparedTurn:
        app = request.app
        if expect_chat and app.mode not in CHAT_MODES:
            raise NotChatAppError()
        if not expect_chat and app.mode != "completion":
            raise NotCompletionAppError()
        if request.account_id is None and not request.user:
            raise InvalidParamError("Arg user must be provided.", params="user")
        if expect_chat and not (request.query or "").strip():
            raise InvalidParamError("query is required", params="query")
        with self.db.session() as session:
            owner = self._owner(session, request)
            config, config_id = self._config(session, app, request.draft_config)
            conversation = None
            history: list[tuple[str, str]] = []
            if request.conversation_id:
                conversation = conversations.get(session, app=app, owner=owner, conversation_id=request.conversation_id)
                if conversation.status != "normal":
                    raise ConversationCompletedError()
                # Inputs are fixed by the conversation's first turn, as in Dify.
                cleaned = dict(conversation.inputs or {})
                history = self._history(session, conversation.id)
            else:
                cleaned = input_form.validate(config.get("user_input_form") or [], request.inputs)
            files = message_files.parse(request.files, config)
            uploads = message_files.load_uploads(session, tenant_id=app.tenant_id, files=files)
            model_settings = config.get("model") or {}
            model = self.resolver.resolve(
                session,
                tenant_id=app.tenant_id,
                provider=str(model_settings.get("provider") or ""),
                model=str(model_settings.get("name") or ""),
            )
        images: list[dict[str, Any]] = []
        if files:
            if self.storage is None:
                raise InvalidParamError("This server cannot read uploaded files.", params="files")
            detail = message_files.image_settings(config).get("detail") or "high"
            images = message_files.image_parts(files, uploads, self.storage, detail=detail)
        turn = PreparedTurn(
            request=request,
            config=config,
            config_id=config_id,
            owner=owner,
            conversation=conversation,
            inputs=cleaned,
            history=history,
            model=model,
            files=files,
            images=images,
        )
        turn.conversation_id = conversation.id if conversation else (new_id() if turn.is_chat else "")
        return turn

    def _owner(self, session: Session, request: TurnRequest) -> Owner:
        if request.account_id is not None:
            return Owner(account_id=request.account_id)
        key = self._end_user_key(request)
        known = self._end_users.get(key)
        if known is None:
            known = end_users.get_or_create(session, app=request.app, user=request.user, kind=key[2]).id
            if len(self._end_users) > 100_000:
                self._end_users.clear()
            self._end_users[key] = known
        return Owner(end_user_id=known)

    @staticmethod
    def _end_user_key(request: TurnRequest) -> tuple[str, str, str]:
        kind = "browser" if request.invoke_from == "web-app" else "service_api"
        return (request.app.id, request.user or end_users.DEFAULT_SESSION, kind)

    def _config(self, session: Session, app: App, draft: dict[str, Any] | None) -> tuple[dict[str, Any], str | None]:
        if draft is not None:
            return normalise_model_config(draft, app.mode), app.app_model_config_id
        config_id = app.app_model_config_id
        if config_id is not None and config_id in self._configs:
            return self._configs[config_id], config_id
        row = session.get(AppModelConfig, config_id) if config_id else None
        config = normalise_model_config(row.config if row else None, app.mode)
        if config_id is not None and row is not None:
            if len(self._configs) > 10_000:
                self._configs.clear()
            self._configs[config_id] = config
        return config, config_id

    def config_of(self, session: Session, app: App) -> dict[str, Any]:
        """The app's saved configuration with every key filled."""
        return self._config(session, app, None)[0]

    @staticmethod
    def _history(session: Session, conversation_id: str) -> list[tuple[str, str]]:
        rows = session.execute(
            select(Message.query, Message.answer)
            .where(
                Message.conversation_id == conversation_id,
                Message.status.in_(("normal", "stopped")),
                Message.answer != "",
            )
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(HISTORY_LIMIT)
        ).all()
        return [(query, answer) for query, answer in reversed(rows)]

    # -- the turn ---------------------------------------------------------------------------------

    def _fit_history(self, turn: PreparedTurn, build: Callable[[list[tuple[str, str]]], Any]) -> Any:
        """Drop the oldest history until prompt + answer budget fit the model's context."""
        params = (turn.config.get("model") or {}).get("completion_params") or {}
        reserve = int(params.get("max_tokens") or 512)
        budget = max(turn.model.context_size - reserve, 256)
        history = list(turn.history)
        while True:
            built = build(history)
            messages = built if isinstance(built, list) else [{"role": "user", "content": built}]
            if not history or turn.model.count_tokens(messages) <= budget:
                return built
            history = history[1:]

    def _request(self, turn: PreparedTurn) -> ChatRequest:
        config = turn.config
        model_settings = config.get("model") or {}
        params = dict(model_settings.get("completion_params") or {})
        stop = [s for s in params.pop("stop", []) or [] if isinstance(s, str)]
        query = turn.request.query or ""
        mode = model_settings.get("mode") or "chat"
        if mode == "completion":
            text = self._fit_history(
                turn,
                lambda history: prompt.build_completion(
                    config, inputs=turn.inputs, query=query, history=history, context=turn.context
                ),
            )
            messages = [{"role": "user", "content": text}]
        else:
            messages = self._fit_history(
                turn,
                lambda history: prompt.build_chat(
                    config, inputs=turn.inputs, query=query, history=history, context=turn.context, images=turn.images
                ),
            )
        return ChatRequest(messages=messages, parameters=params, stop=stop, mode=mode, user=turn.owner.end_user_id)

    def _base(self, turn: PreparedTurn, event: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "event": event,
            "task_id": turn.task_id,
            "id": turn.message_id,
            "message_id": turn.message_id,
        }
        if turn.is_chat:
            body["conversation_id"] = turn.conversation_id
        body["created_at"] = turn.created_at
        return body

    async def stream(self, turn: PreparedTurn) -> AsyncIterator[dict[str, Any]]:
        """Dify's streaming events for one turn; always ends with `message_end` or `error`."""
        locked_id = turn.conversation.id if turn.conversation is not None else None
        if locked_id is not None and not await self.locks.acquire(locked_id, LOCK_WAIT_SECONDS):
            raise ConversationBusyError()
        owner_key = turn.owner.end_user_id or turn.owner.account_id or ""
        running = self.tasks.start(task_id=turn.task_id, app_id=turn.request.app.id, owner_key=owner_key)
        outcome = Outcome()
        started = time.perf_counter()
        self._turns += 1
        try:
            async for event in self._generate(turn, outcome, running.stop):
                yield event
            outcome.latency = time.perf_counter() - started
            await self.writer.write(lambda session: self._records(session, turn, outcome))
            self._trace(turn, outcome)
            if self.usage_sink is not None:
                self.usage_sink(turn.model.provider, turn.model.model, outcome.usage)
            if turn.conversation is None and turn.is_chat and turn.request.auto_generate_name:
                self._in_background(self._name_new_conversation(turn))
            end = self._base(turn, "message_end")
            end["metadata"] = self._metadata(outcome)
            yield end
        except LoomworksError as exc:
            outcome.status, outcome.error = "error", exc.message
            outcome.latency = time.perf_counter() - started
            await self.writer.write(lambda session: self._records(session, turn, outcome))
            self._trace(turn, outcome)
            error = self._base(turn, "error")
            error.pop("id", None)
            error.update({"status": exc.status, "code": exc.code, "message": exc.message})
            yield error
        finally:
            self._turns -= 1
            self.tasks.finish(turn.task_id)
            if locked_id is not None:
                self.locks.release(locked_id)

    async def _generate(
        self, turn: PreparedTurn, outcome: Outcome, stop: asyncio.Event
    ) -> AsyncIterator[dict[str, Any]]:
        guard = moderation.from_config(turn.config.get("sensitive_word_avoidance"))
        if guard is not None:
            verdict = guard.check_input(turn.request.query or "", turn.inputs)
            if verdict.flagged:
                outcome.answer = verdict.preset_response
                yield {**self._base(turn, "message"), "answer": verdict.preset_response}
                return
        if self.annotations is not None and turn.is_chat:
            reply = await self.annotations.find(self.db.session, app=turn.request.app, question=turn.request.query)
            if reply is not None:
                outcome.answer, outcome.annotation = reply.answer, reply
                yield {**self._base(turn, "message"), "answer": reply.answer}
                return
        found = await knowledge_context.retrieve_context(
            self.knowledge,
            tenant_id=turn.request.app.tenant_id,
            config=turn.config,
            query=knowledge_context.retrieval_query(
                turn.config, query=turn.request.query or "", inputs=turn.inputs, is_chat=turn.is_chat
            ),
            retriever_from=knowledge_context.retriever_from(turn.request.invoke_from),
        )
        turn.context, outcome.retriever_resources = found.text, found.resources or []
        request = self._request(turn)
        outcome.prompt_messages = request.messages
        if self.agents is not None and turn.request.app.mode == "agent-chat":
            async for event in self.agents.answer(turn, request, outcome, stop, lambda kind: self._base(turn, kind)):
                yield event
            return
        parts: list[str] = []
        async for delta in turn.model.stream(request):
            if delta.text:
                parts.append(delta.text)
                yield {**self._base(turn, "message"), "answer": delta.text}
            if delta.usage is not None:
                outcome.usage = delta.usage
            if stop.is_set():
                outcome.status = "stopped"
                break
        outcome.answer = "".join(parts)
        if guard is not None and outcome.answer:
            verdict = guard.check_output(outcome.answer)
            if verdict.flagged:
                outcome.answer = verdict.preset_response
                yield {**self._base(turn, "message_replace"), "answer": verdict.preset_response}

    async def blocking(self, turn: PreparedTurn) -> dict[str, Any]:
        """Run a turn to the end and answer Dify's blocking shape; a failed turn raises its error."""
        answer: list[str] = []
        metadata: dict[str, Any] = {}
        async for event in self.stream(turn):
            kind = event["event"]
            if kind in ("message", "agent_message"):
                answer.append(event["answer"])
            elif kind == "message_replace":
                answer = [event["answer"]]
            elif kind == "message_end":
                metadata = event["metadata"]
            elif kind == "error":
                raise _error_from_event(event)
        body: dict[str, Any] = {
            "event": "message",
            "task_id": turn.task_id,
            "id": turn.message_id,
            "message_id": turn.message_id,
        }
        if turn.is_chat:
            body["conversation_id"] = turn.conversation_id
        body.update(
            {
                "mode": turn.request.app.mode,
                "answer": "".join(answer),
                "metadata": metadata,
                "created_at": turn.created_at,
            }
        )
        return body

    @staticmethod
    def _metadata(outcome: Outcome) -> dict[str, Any]:
        metadata: dict[str, Any] = {
            "usage": outcome.usage.as_dict(),
            "retriever_resources": outcome.retriever_resources,
        }
        if outcome.annotation is not None:
            reply = outcome.annotation
            metadata["annotation_reply"] = {
                "id": reply.annotation_id,
                "account": {"id": reply.account_id, "name": reply.account_name},
            }
        return metadata

    def _trace(self, turn: PreparedTurn, outcome: Outcome) -> None:
        """Hand the saved turn to tracing export (queued: the answer never waits for it)."""
        app = turn.request.app
        if self.tracer is None or not self.tracer.wants(app.id):
            return
        ended = time.time()
        try:
            trace = message_trace(
                app_id=app.id,
                tenant_id=app.tenant_id,
                app_mode=app.mode,
                message_id=turn.message_id,
                conversation_id=turn.conversation_id or None,
                user_id=turn.owner.end_user_id or turn.owner.account_id,
                query=turn.request.query or "",
                inputs=turn.inputs,
                answer=outcome.answer,
                status=outcome.status,
                error=outcome.error,
                prompt_messages=outcome.prompt_messages,
                provider=turn.model.provider,
                model=turn.model.model,
                parameters=dict((turn.config.get("model") or {}).get("completion_params") or {}),
                usage=outcome.usage.as_dict(),
                started=ended - outcome.latency,
                ended=ended,
                invoke_from=turn.request.invoke_from,
                annotation=self._metadata(outcome).get("annotation_reply"),
            )
        except Exception:  # noqa: BLE001 - tracing must never break an answer
            log.exception("could not build a message trace", extra={"message_id": turn.message_id})
            return
        self.tracer.submit(trace)

    # -- follow-ups ---------------------------------------------------------------------------------

    def _in_background(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def drain(self) -> None:
        """Wait for background follow-ups (conversation names) to finish (shutdown and tests)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)
        await asyncio.get_running_loop().run_in_executor(None, self.writer.close)

    async def _name_new_conversation(self, turn: PreparedTurn) -> None:
        name = await followups.conversation_name(turn.model, turn.request.query or "")

        def store() -> None:
            with self.db.session() as session:
                conversation = session.get(Conversation, turn.conversation_id)
                if conversation is not None and conversation.name == _provisional_name(turn.request.query):
                    conversation.name = name

        await run_in_threadpool(store)

    def _load_for_followup(
        self, app: App, owner: Owner, conversation_id: str | None, message_id: str | None
    ) -> tuple[dict[str, Any], ChatModel, list[tuple[str, str]], str]:
        with self.db.session() as session:
            if message_id is not None:
                message = conversations.get_message(session, app=app, owner=owner, message_id=message_id)
                conversation_id = message.conversation_id
            assert conversation_id is not None
            conversation = conversations.get(session, app=app, owner=owner, conversation_id=conversation_id)
            config, _ = self._config(session, app, None)
            settings = config.get("model") or {}
            model = self.resolver.resolve(
                session,
                tenant_id=app.tenant_id,
                provider=str(settings.get("provider") or ""),
                model=str(settings.get("name") or ""),
            )
            return config, model, self._history(session, conversation.id), conversation.id

    async def suggested_questions(self, *, app: App, owner: Owner, message_id: str) -> list[str]:
        """Follow-up questions for a message, when the app enables them (403 otherwise, as Dify 1.x)."""
        config, model, history, _ = await run_in_threadpool(self._load_for_followup, app, owner, None, message_id)
        if not (config.get("suggested_questions_after_answer") or {}).get("enabled"):
            raise SuggestedQuestionsDisabledError()
        try:
            return await followups.suggested_questions(model, history)
        except LoomworksError:
            raise
        except Exception as exc:
            raise CompletionRequestError(str(exc)) from exc

    async def auto_name(self, *, app: App, owner: Owner, conversation_id: str) -> Conversation:
        """Name a conversation from its first question with the app's model."""
        _, model, history, cid = await run_in_threadpool(self._load_for_followup, app, owner, conversation_id, None)
        first_query = history[0][0] if history else ""
        name = await followups.conversation_name(model, first_query) if first_query else "New conversation"

        def store() -> Conversation:
            with self.db.session() as session:
                conversation = conversations.get(session, app=app, owner=owner, conversation_id=cid)
                conversation.name = name
                return conversation

        return await run_in_threadpool(store)

    # -- persistence --------------------------------------------------------------------------------

    def _save(self, turn: PreparedTurn, outcome: Outcome) -> None:
        with self.db.session() as session:
            self._records(session, turn, outcome)

    def _records(self, session: Session, turn: PreparedTurn, outcome: Outcome) -> None:
        """Add the turn's rows to `session` (conversation, message, files, usage)."""
        app = turn.request.app
        request = turn.request
        model_settings = turn.config.get("model") or {}
        from_source = "console" if turn.owner.account_id else "api"
        conversation_id: str | None = None
        if turn.is_chat:
            # A new conversation's id was just made (or announced by the API for a background run,
            # which never saves it twice): no lookup needed.
            conversation = session.get(Conversation, turn.conversation_id) if turn.conversation else None
            if conversation is None:
                # Plain INSERTs (here and below) cost a third of the ORM's unit of work per row.
                session.execute(
                    insert(Conversation),
                    {
                        "id": turn.conversation_id,
                        "tenant_id": app.tenant_id,
                        "app_id": app.id,
                        "app_model_config_id": turn.config_id,
                        "mode": app.mode,
                        "name": _provisional_name(request.query),
                        "inputs": turn.inputs,
                        "introduction": turn.config.get("opening_statement") or "",
                        "invoke_from": request.invoke_from,
                        "from_source": from_source,
                        "from_end_user_id": turn.owner.end_user_id,
                        "from_account_id": turn.owner.account_id,
                        "dialogue_count": 1,
                        "updated_at": now(),
                    },
                )
            else:
                conversation.dialogue_count += 1
                conversation.updated_at = now()
            conversation_id = turn.conversation_id
        usage = outcome.usage
        session.execute(
            insert(Message),
            {
                "id": turn.message_id,
                "tenant_id": app.tenant_id,
                "app_id": app.id,
                "conversation_id": conversation_id,
                "app_model_config_id": turn.config_id,
                "model_provider": turn.model.provider,
                "model_id": turn.model.model,
                "inputs": turn.inputs,
                "query": request.query or "",
                "message": outcome.prompt_messages,
                "answer": outcome.answer,
                "message_tokens": usage.prompt_tokens,
                "message_unit_price": usage.prompt_unit_price,
                "message_price_unit": usage.prompt_price_unit,
                "answer_tokens": usage.completion_tokens,
                "answer_unit_price": usage.completion_unit_price,
                "answer_price_unit": usage.completion_price_unit,
                "total_price": usage.total_price,
                "currency": usage.currency,
                "provider_response_latency": outcome.latency,
                "status": outcome.status,
                "error": outcome.error,
                "message_metadata": self._metadata(outcome),
                "agent_thoughts": outcome.agent_thoughts,
                "invoke_from": request.invoke_from,
                "from_source": from_source,
                "from_end_user_id": turn.owner.end_user_id,
                "from_account_id": turn.owner.account_id,
            },
        )
        if outcome.annotation is not None:
            annotations.record_hit(
                session,
                app=app,
                reply=outcome.annotation,
                question=request.query or "",
                message_id=turn.message_id,
                source=request.invoke_from,
                account_id=turn.owner.account_id,
                end_user_id=turn.owner.end_user_id,
            )
        session.add_all(outcome.answer_files)
        for item in turn.files:
            session.add(
                MessageFile(
                    message_id=turn.message_id,
                    type=item.type,
                    transfer_method=item.transfer_method,
                    url=item.url,
                    upload_file_id=item.upload_file_id,
                    belongs_to="user",
                    created_by_role="account" if turn.owner.account_id else "end_user",
                    created_by=turn.owner.account_id or turn.owner.end_user_id or "",
                )
            )
        session.execute(
            insert(ModelCall),
            {
                "tenant_id": app.tenant_id,
                "app_id": app.id,
                "source": "app",
                "source_id": turn.message_id,
                "provider": turn.model.provider or str(model_settings.get("provider") or ""),
                "model": turn.model.model,
                "model_type": "llm",
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "total_tokens": usage.total_tokens,
                "prompt_price": usage.prompt_price,
                "completion_price": usage.completion_price,
                "total_price": usage.total_price,
                "currency": usage.currency,
                "latency": usage.latency or outcome.latency,
                "time_to_first_token": usage.time_to_first_token,
                "status": "failed" if outcome.status == "error" else "succeeded",
                "error": outcome.error,
            },
        )


def _provisional_name(query: str | None) -> str:
    text = " ".join((query or "").split())
    if not text:
        return "New conversation"
    return text if len(text) <= 40 else text[:39] + "…"


def _error_from_event(event: dict[str, Any]) -> LoomworksError:
    error = LoomworksError(event.get("message"))
    error.code = event.get("code", "completion_request_error")
    error.status = int(event.get("status", 400))
    return error
