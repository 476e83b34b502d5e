"""Chatflow (`advanced-chat`) turns: one chat message runs the app's workflow graph.

A turn checks everything that can fail before any byte is streamed (app mode, user, query, the
conversation — unknown or someone else's is 404 "Conversation Not Exists." —, inputs, files), then
runs the published workflow (the draft for the console debugger, or a chosen version) through
`WorkflowRunService`, which records the run and its node executions off the stream's path. The
stream is Dify's chatflow mix: workflow and node events with `conversation_id`/`message_id`/
`created_at` merged in, answer text as flattened `message` events, and after `workflow_finished`
either `message_end` (usage summed over the run's model calls) or `error`. The conversation, the
message and the conversation variables written by assigner nodes are saved in the transaction that
records the run's end, before that last event, so that the next turn sees them and a run is never
finished without its message (nor a message saved for a run that did not finish).

A turn whose run was cut off by a crash goes on when the server starts again (`resume_recorded`):
the turn is rebuilt from the run row, the run resumes from its recorded node executions, and the
message gets its whole answer — the text of replayed Answer nodes is streamed again by the engine,
the usage and conversation-variable writes of replayed nodes come from their records — once.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from loomworks.core.clock import now, timestamp, to_timestamp
from loomworks.core.errors import (
    ConversationBusyError,
    ConversationCompletedError,
    InvalidParamError,
    LoomworksError,
    NotChatAppError,
)
from loomworks.core.ids import new_id
from loomworks.services import conversations, end_users, message_files
from loomworks.services.chat.tasks import ConversationLocks
from loomworks.services.conversations import Owner
from loomworks.services.workflow_runs import CHAT_TYPES, PreparedRun, RunRequest, WorkflowRunService, check_inputs
from loomworks.store.db import Database
from loomworks.store.tables import App, Conversation, ConversationVariable, Message, MessageFile

LOCK_WAIT_SECONDS = 30.0
_USAGE_INTS = ("prompt_tokens", "completion_tokens", "total_tokens")
_USAGE_PRICES = ("prompt_price", "completion_price", "total_price")
_RESOURCE_KEYS = (
    "dataset_id",
    "dataset_name",
    "document_id",
    "document_name",
    "data_source_type",
    "segment_id",
    "retriever_from",
    "score",
    "segment_position",
    "doc_metadata",
)


@dataclass(slots=True)
class ChatflowRequest:
    """A chat message to a chatflow, from the Service API, the web app or the console debugger."""

    app: App
    query: str
    inputs: dict[str, Any] | None
    user: str | None = None  # the developer's end-user string (Service API) or web-app session
    account_id: str | None = None  # a console account (debugger)
    conversation_id: str | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    workflow_id: str | None = None  # a published version to run instead of the current one
    draft: bool = False  # the console debugger runs the draft
    invoke_from: str = "service-api"


@dataclass(slots=True)
class PreparedChatflow:
    request: ChatflowRequest
    run: PreparedRun
    owner: Owner
    conversation_id: str
    is_new: bool
    inputs: dict[str, Any]
    declared: dict[str, dict[str, Any]]  # conversation variables of the workflow, by name
    files: list[message_files.TurnFile]
    retriever_resource: bool
    message_id: str = field(default_factory=new_id)
    created_at: int = field(default_factory=timestamp)

    @property
    def task_id(self) -> str:
        return self.run.task_id


@dataclass(slots=True)
class _Outcome:
    """What a turn's events add up to: the answer, the usage, conversation variable writes."""

    answer: list[str] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=dict)
    updated: dict[str, Any] = field(default_factory=dict)
    resources: list[dict[str, Any]] = field(default_factory=list)
    status: str = "normal"
    error: str | None = None
    run_status: str = ""
    elapsed: float = 0.0

    def node_finished(self, data: dict[str, Any]) -> None:
        if data.get("status") == "retry":
            return
        process = data.get("process_data") or {}
        outputs = data.get("outputs") or {}
        usage = process.get("usage") or outputs.get("usage")
        if isinstance(usage, dict):
            self._add_usage(usage)
        for item in process.get("updated_variables") or []:
            selector = item.get("selector") or []
            if isinstance(item, dict) and len(selector) == 2 and selector[0] == "conversation":
                self.updated[str(selector[1])] = item.get("new_value")
        if data.get("node_type") == "knowledge-retrieval":
            for chunk in outputs.get("result") or []:
                if isinstance(chunk, dict):
                    self._add_resource(chunk)

    def finished(self, data: dict[str, Any]) -> None:
        """The run's `workflow_finished` data: the turn's status."""
        self.run_status = str(data.get("status") or "failed")
        if self.run_status == "failed":
            self.status, self.error = "error", str(data.get("error") or "The run failed.")
        elif self.run_status == "stopped":
            self.status = "stopped"

    def _add_usage(self, usage: dict[str, Any]) -> None:
        total = self.usage
        for key in _USAGE_INTS:
            total[key] = int(total.get(key) or 0) + int(usage.get(key) or 0)
        for key in _USAGE_PRICES:
            total[key] = _decimal(total.get(key)) + _decimal(usage.get(key))
        for key, value in usage.items():
            # Unit prices and the currency of the first model call describe the turn, as in Dify.
            if key not in total and key != "latency":
                total[key] = value
        total["latency"] = float(total.get("latency") or 0) + float(usage.get("latency") or 0)

    def _add_resource(self, chunk: dict[str, Any]) -> None:
        metadata = chunk.get("metadata") or {}
        resource: dict[str, Any] = {"position": len(self.resources) + 1}
        resource.update({k: metadata[k] for k in _RESOURCE_KEYS if k in metadata})
        resource["hit_count"] = metadata.get("segment_hit_count")
        resource["word_count"] = metadata.get("segment_word_count")
        resource["index_node_hash"] = metadata.get("segment_index_node_hash")
        resource["content"] = chunk.get("content") or ""
        self.resources.append(resource)

    def usage_public(self) -> dict[str, Any]:
        usage = {
            "prompt_tokens": 0,
            "prompt_unit_price": "0",
            "prompt_price_unit": "0",
            "prompt_price": "0",
            "completion_tokens": 0,
            "completion_unit_price": "0",
            "completion_price_unit": "0",
            "completion_price": "0",
            "total_tokens": 0,
            "total_price": "0",
            "currency": "USD",
            "latency": 0.0,
        }
        for key, value in self.usage.items():
            usage[key] = str(value) if isinstance(value, Decimal) else value
        usage["latency"] = round(float(usage.get("latency") or 0), 3)
        return usage


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


class ChatflowService:
    """Runs turns of chatflow apps; one per server process, next to `WorkflowRunService`."""

    def __init__(self, db: Database, runs: WorkflowRunService, *, locks: ConversationLocks | None = None) -> None:
        self.db = db
        self.runs = runs
        self.locks = locks or ConversationLocks()
        runs.register_resumer(CHAT_TYPES, self.resume_recorded)

    # -- preparation: every check that can fail happens here, before streaming starts -------------

    async def prepare(self, request: ChatflowRequest) -> PreparedChatflow:
        return await run_in_threadpool(self._prepare, request)

    def _prepare(self, request: ChatflowRequest) -> PreparedChatflow:
        app = request.app
        if app.mode != "advanced-chat":
            raise NotChatAppError()
        if request.account_id is None and not request.user:
            raise InvalidParamError("Arg user must be provided.", params="user")
        if not (request.query or "").strip():
            raise InvalidParamError("query is required", params="query")
        with self.db.session() as session:
            owner, role, creator = self._owner(session, request)
            run_request = RunRequest(
                app=app,
                inputs=request.inputs,
                user=request.user,
                account_id=request.account_id,
                workflow_id=request.workflow_id,
                draft=request.draft,
                invoke_from=request.invoke_from,
            )
            workflow = WorkflowRunService.workflow_for(session, app, run_request)
            conversation: Conversation | None = None
            values: dict[str, Any] = {}
            if request.conversation_id:
                conversation = conversations.get(session, app=app, owner=owner, conversation_id=request.conversation_id)
                if conversation.status != "normal":
                    raise ConversationCompletedError()
                # Inputs are fixed by the conversation's first turn, as in Dify.
                inputs = dict(conversation.inputs or {})
                values = self._variable_values(session, conversation.id)
            else:
                inputs = check_inputs(workflow.graph, request.inputs)
            features = workflow.features or {}
            files = message_files.parse(request.files, features)
            uploads = message_files.load_uploads(session, tenant_id=app.tenant_id, files=files)
            session.expunge(workflow)
        conversation_id = conversation.id if conversation is not None else new_id()
        turn_files = [_file_object(f, uploads) for f in files]
        run_request.files = turn_files
        run_request.system = {
            "query": request.query,
            "conversation_id": conversation_id,
            "dialogue_count": conversation.dialogue_count if conversation is not None else 0,
            "conversation_variables": values,
        }
        run_request.conversation_id = conversation_id
        run = PreparedRun(
            request=run_request, workflow=workflow, inputs=inputs, created_by_role=role, created_by=creator
        )
        turn = PreparedChatflow(
            request=request,
            run=run,
            owner=owner,
            conversation_id=conversation_id,
            is_new=conversation is None,
            inputs=inputs,
            declared={
                str(v["name"]): v
                for v in workflow.conversation_variables or []
                if isinstance(v, dict) and v.get("name")
            },
            files=files,
            retriever_resource=bool((features.get("retriever_resource") or {}).get("enabled", True)),
        )
        run_request.message_id = turn.message_id
        return turn

    @staticmethod
    def _owner(session: Session, request: ChatflowRequest) -> tuple[Owner, str, str]:
        if request.account_id is not None:
            return Owner(account_id=request.account_id), "account", request.account_id
        kind = "browser" if request.invoke_from == "web-app" else "service_api"
        user = end_users.get_or_create(session, app=request.app, user=request.user, kind=kind)
        return Owner(end_user_id=user.id), "end_user", user.id

    @staticmethod
    def _variable_values(session: Session, conversation_id: str) -> dict[str, Any]:
        rows = session.scalars(
            select(ConversationVariable).where(ConversationVariable.conversation_id == conversation_id)
        )
        return {row.name: row.value for row in rows}

    # -- the turn -------------------------------------------------------------------------------------

    def _base(self, turn: PreparedChatflow, event: str) -> dict[str, Any]:
        return {
            "event": event,
            "conversation_id": turn.conversation_id,
            "message_id": turn.message_id,
            "created_at": turn.created_at,
            "task_id": turn.task_id,
        }

    async def stream(self, turn: PreparedChatflow) -> AsyncIterator[dict[str, Any]]:
        """Dify's chatflow events for one turn; always ends with `message_end` or `error`."""
        locked = None if turn.is_new else turn.conversation_id
        if locked is not None and not await self.locks.acquire(locked, LOCK_WAIT_SECONDS):
            raise ConversationBusyError()
        outcome = _Outcome()
        if turn.run.resume is not None:
            # A resumed run: what its recorded nodes did counts as if they had just finished.
            for record in turn.run.resume.finished:
                if record.get("status") in ("succeeded", "exception"):
                    outcome.node_finished(record)
        started = time.perf_counter()

        def finish(session: Session, data: dict[str, Any]) -> None:
            outcome.finished(data)
            outcome.elapsed = time.perf_counter() - started
            self._save_in(session, turn, outcome)

        turn.run.on_finish = finish
        try:
            async for event in self.runs.stream(turn.run):
                kind = event.get("event")
                data = event.get("data") or {}
                if kind == "message":
                    text = str(data.get("answer") or "")
                    outcome.answer.append(text)
                    yield {
                        **self._base(turn, "message"),
                        "id": turn.message_id,
                        "answer": text,
                        "from_variable_selector": data.get("from_variable_selector"),
                    }
                    continue
                if kind == "node_finished":
                    outcome.node_finished(data)
                yield {**self._base(turn, str(kind)), **event}
            if outcome.status == "error":
                yield {
                    **self._base(turn, "error"),
                    "status": 400,
                    "code": "invalid_param",
                    "message": f"Run failed: {outcome.error}",
                }
            else:
                yield {
                    **self._base(turn, "message_end"),
                    "id": turn.message_id,
                    "metadata": self._metadata(turn, outcome),
                }
        finally:
            if locked is not None:
                self.locks.release(locked)

    def _metadata(self, turn: PreparedChatflow, outcome: _Outcome) -> dict[str, Any]:
        resources = outcome.resources if turn.retriever_resource else []
        return {"usage": outcome.usage_public(), "retriever_resources": resources}

    async def blocking(self, turn: PreparedChatflow) -> dict[str, Any]:
        """Run a turn to the end and answer Dify's blocking shape; a failed run raises its error (400)."""
        answer: list[str] = []
        metadata: dict[str, Any] = {}
        async for event in self.stream(turn):
            kind = event["event"]
            if kind == "message":
                answer.append(event["answer"])
            elif kind == "message_end":
                metadata = event["metadata"]
            elif kind == "error":
                error = LoomworksError(event["message"])
                error.code, error.status = event["code"], int(event["status"])
                raise error
        return {
            "event": "message",
            "task_id": turn.task_id,
            "id": turn.message_id,
            "message_id": turn.message_id,
            "conversation_id": turn.conversation_id,
            "mode": "advanced-chat",
            "answer": "".join(answer),
            "metadata": metadata,
            "created_at": turn.created_at,
        }

    # -- after a crash ------------------------------------------------------------------------------

    async def resume_recorded(self, run: PreparedRun) -> None:
        """Finish a turn whose run a dead process left `running` (the resumer `recover` calls).

        The turn is prepared again from the run row (its query and files were recorded with the
        run's inputs; the conversation and its variables are as the cut-off turn found them, since
        nothing of the turn was saved) under the recorded run, message and conversation ids, then
        runs from the recorded node executions to the end, saving the message once.
        """
        request = run.request
        exists = bool(request.conversation_id) and await run_in_threadpool(
            self._conversation_exists, str(request.conversation_id)
        )
        chat = ChatflowRequest(
            app=request.app,
            query=str(request.system.get("query") or ""),
            inputs=request.inputs,
            user=request.user,
            account_id=request.account_id,
            conversation_id=request.conversation_id if exists else None,
            files=request.files,
            workflow_id=request.workflow_id,
            draft=request.draft,
            invoke_from=request.invoke_from,
        )
        try:
            turn = await self.prepare(chat)
        except LoomworksError as exc:
            await self.runs.mark_failed(run.run_id, f"The turn cannot be resumed: {exc.message}")
            return
        turn.run.run_id = run.run_id
        turn.run.resume, turn.run.recorded, turn.run.index_offset = run.resume, True, run.index_offset
        turn.message_id = turn.run.request.message_id = request.message_id or turn.message_id
        turn.created_at = run.created_at or turn.created_at
        if turn.is_new and request.conversation_id:
            turn.conversation_id = turn.run.request.conversation_id = request.conversation_id
            turn.run.request.system["conversation_id"] = request.conversation_id
        try:
            async for _ in self.stream(turn):
                pass
        except LoomworksError as exc:  # e.g. the conversation is busy with a newer turn
            await self.runs.mark_failed(run.run_id, f"The turn cannot be resumed: {exc.message}")

    def _conversation_exists(self, conversation_id: str) -> bool:
        with self.db.session() as session:
            return session.get(Conversation, conversation_id) is not None

    def stop(self, *, task_id: str, app_id: str, owner_key: str) -> bool:
        """Stop a running turn by its task id (only its owner may)."""
        return self.runs.tasks.request_stop(task_id=task_id, app_id=app_id, owner_key=owner_key)

    # -- persistence ----------------------------------------------------------------------------------

    def _save_in(self, session: Session, turn: PreparedChatflow, outcome: _Outcome) -> None:
        """Save the turn (conversation, message, files, variables) in the run's closing transaction."""
        app = turn.request.app
        request = turn.request
        from_source = "console" if turn.owner.account_id else "api"
        usage = outcome.usage
        conversation = session.get(Conversation, turn.conversation_id) if not turn.is_new else None
        if conversation is None:
            conversation = Conversation(
                id=turn.conversation_id,
                tenant_id=app.tenant_id,
                app_id=app.id,
                workflow_id=turn.run.workflow.id,
                mode=app.mode,
                name=_provisional_name(request.query),
                inputs=turn.inputs,
                introduction=str((turn.run.workflow.features or {}).get("opening_statement") or ""),
                invoke_from=request.invoke_from,
                from_source=from_source,
                from_end_user_id=turn.owner.end_user_id,
                from_account_id=turn.owner.account_id,
            )
            session.add(conversation)
            session.flush()
        conversation.dialogue_count += 1
        conversation.updated_at = now()
        session.add(
            Message(
                id=turn.message_id,
                tenant_id=app.tenant_id,
                app_id=app.id,
                conversation_id=conversation.id,
                workflow_run_id=turn.run.run_id,
                inputs=turn.inputs,
                query=request.query or "",
                message=[],
                answer="".join(outcome.answer),
                message_tokens=int(usage.get("prompt_tokens") or 0),
                message_unit_price=_decimal(usage.get("prompt_unit_price")),
                message_price_unit=_decimal(usage.get("prompt_price_unit") or "0.001"),
                answer_tokens=int(usage.get("completion_tokens") or 0),
                answer_unit_price=_decimal(usage.get("completion_unit_price")),
                answer_price_unit=_decimal(usage.get("completion_price_unit") or "0.001"),
                total_price=_decimal(usage.get("total_price")),
                currency=str(usage.get("currency") or "USD"),
                provider_response_latency=outcome.elapsed,
                status=outcome.status,
                error=outcome.error,
                message_metadata=self._metadata(turn, outcome),
                invoke_from=request.invoke_from,
                from_source=from_source,
                from_end_user_id=turn.owner.end_user_id,
                from_account_id=turn.owner.account_id,
            )
        )
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
        if turn.is_new or outcome.updated:
            self._save_variables(session, turn, outcome.updated)

    def _save_variables(self, session: Session, turn: PreparedChatflow, updated: dict[str, Any]) -> None:
        """Keep each declared conversation variable's value: the default on a new conversation, then writes."""
        rows = {
            row.name: row
            for row in session.scalars(
                select(ConversationVariable).where(ConversationVariable.conversation_id == turn.conversation_id)
            )
        }
        for name, declared in turn.declared.items():
            row = rows.get(name)
            if row is None:
                row = ConversationVariable(
                    conversation_id=turn.conversation_id,
                    app_id=turn.request.app.id,
                    variable_id=str(declared.get("id") or name),
                    name=name,
                    value_type=str(declared.get("value_type") or "string"),
                    value=declared.get("value"),
                    description=str(declared.get("description") or ""),
                )
                session.add(row)
            if name in updated:
                row.value = updated[name]
                row.updated_at = now()


def _file_object(item: message_files.TurnFile, uploads: dict[str, Any]) -> dict[str, Any]:
    """A request file as the engine's `sys.files` item (Dify's file dict)."""
    file: dict[str, Any] = {"type": item.type, "transfer_method": item.transfer_method}
    if item.url:
        file["url"] = item.url
    if item.upload_file_id:
        row = uploads.get(item.upload_file_id)
        file.update({"related_id": item.upload_file_id, "upload_file_id": item.upload_file_id})
        if row is not None:
            file.update(
                {"filename": row.name, "extension": f".{row.extension}", "mime_type": row.mime_type, "size": row.size}
            )
    return file


def _provisional_name(query: str | None) -> str:
    text = " ".join((query or "").split())
    if not text:
        return "New conversation"
    return text if len(text) <= 40 else text[:39] + "…"


def variables_page(
    session: Session, *, conversation_id: str, last_id: str | None, limit: int, name: str | None = None
) -> dict[str, Any]:
    """A conversation's variables with their current values (`GET /conversations/{id}/variables`)."""
    if not 1 <= limit <= 100:
        raise InvalidParamError("limit must be between 1 and 100.", params="limit")
    query = select(ConversationVariable).where(ConversationVariable.conversation_id == conversation_id)
    if name:
        query = query.where(ConversationVariable.name == name)
    rows = list(session.scalars(query.order_by(ConversationVariable.created_at, ConversationVariable.id)))
    if last_id:
        ids = [row.variable_id for row in rows]
        rows = rows[ids.index(last_id) + 1 :] if last_id in ids else []
    return {
        "limit": limit,
        "has_more": len(rows) > limit,
        "data": [
            {
                "id": row.variable_id,
                "name": row.name,
                "value_type": row.value_type,
                "value": row.value,
                "description": row.description,
                "created_at": to_timestamp(row.created_at),
                "updated_at": to_timestamp(row.updated_at),
            }
            for row in rows[:limit]
        ],
    }
