"""Agent-chat turns: the chat pipeline's answer step, done by an agent run.

The pipeline (`services/chat/pipeline.py`) prepares the turn, locks the conversation, handles
stop, moderation of the input, annotations, knowledge retrieval and persistence; for an
`agent-chat` app it hands the answer step to `AgentChatAnswerer.answer`, which streams Dify's
agent events:

- `agent_thought` (`id`, `position`, `thought`, `observation`, `tool`, `tool_labels`,
  `tool_input`, `message_files`, `created_at`, plus the message envelope) when a thought starts
  and again when its tool calls or observation are known;
- `agent_message` for the answer's text;
- `message_file` for files the tools produced (kept as assistant message files).

It fills the turn's outcome (answer, usage summed over every model call, thoughts, files) that the
pipeline saves with the message.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from loomworks.services import message_files
from loomworks.services.agent.entities import AgentSettings, AgentThought, AnswerDelta, ThoughtUpdate, ToolFile
from loomworks.services.agent.model import agent_model
from loomworks.services.agent.runner import run_agent
from loomworks.services.agent.strategy import AgentRun
from loomworks.services.agent.toolbox import RuntimeGetter, Toolbox
from loomworks.services.chat import moderation
from loomworks.services.chat.llm import ChatRequest
from loomworks.services.chat.pipeline import Outcome, PreparedTurn
from loomworks.store.tables import MessageFile


def file_type(file: dict[str, Any]) -> str:
    """Dify's file type of a produced file, from its own `type` or its media type."""
    declared = str(file.get("type") or "")
    if declared in ("image", "document", "audio", "video", "custom"):
        return declared
    mime = str(file.get("mime_type") or "")
    head = mime.split("/", 1)[0]
    return head if head in ("image", "audio", "video") else "document"


class AgentChatAnswerer:
    """Answers agent-chat turns; one per server process.

    Args:
        tools: returns the process's tool runtime (looked up per turn, so it may be built after
            this object); None when the server has none.
        secret: the key that signs preview URLs of stored files.
    """

    def __init__(self, tools: RuntimeGetter, *, secret: str = "") -> None:
        self.tools = tools
        self.secret = secret

    def _url(self, file: dict[str, Any]) -> str:
        file_id = str(file.get("upload_file_id") or file.get("related_id") or "")
        if file.get("url") and not file_id:
            return str(file["url"])
        return f"/files/{file_id}/file-preview?{message_files.sign(self.secret, file_id)}" if file_id else ""

    @staticmethod
    def _thought_event(base: dict[str, Any], thought: AgentThought) -> dict[str, Any]:
        # The envelope's `id` and `created_at` are the message's; the thought's own replace them.
        return {**base, **thought.fields(), "message_files": list(thought.files)}

    def _file(self, turn: PreparedTurn, produced: ToolFile) -> MessageFile:
        file = produced.file
        upload_id = file.get("upload_file_id") or file.get("related_id")
        return MessageFile(
            id=produced.id,
            message_id=turn.message_id,
            type=file_type(file),
            transfer_method=str(file.get("transfer_method") or ("tool_file" if upload_id else "remote_url"))[:16],
            url=None if upload_id else file.get("url"),
            upload_file_id=upload_id,
            belongs_to="assistant",
            created_by_role="account" if turn.owner.account_id else "end_user",
            created_by=turn.owner.account_id or turn.owner.end_user_id or "",
        )

    async def answer(
        self,
        turn: PreparedTurn,
        request: ChatRequest,
        outcome: Outcome,
        stop: asyncio.Event,
        base: Callable[[str], dict[str, Any]],
    ) -> AsyncIterator[dict[str, Any]]:
        """Run the agent for the turn, streaming Dify's agent events and filling `outcome`."""
        app = turn.request.app
        settings = AgentSettings.from_agent_mode(turn.config.get("agent_mode"))
        toolbox = await Toolbox.load(
            self.tools(),
            settings.tools,
            tenant_id=app.tenant_id,
            app_id=app.id,
            user_id=turn.owner.end_user_id or turn.owner.account_id,
        )
        run = AgentRun(
            model=agent_model(turn.model),
            toolbox=toolbox,
            messages=request.messages,
            max_iteration=settings.max_iteration,
            parameters=request.parameters,
            stop_words=request.stop,
            user=request.user,
            stop=stop,
            instruction=settings.instruction,
        )
        parts: list[str] = []
        try:
            async for event in run_agent(run, settings.strategy):
                if isinstance(event, AnswerDelta):
                    parts.append(event.text)
                    yield {**base("agent_message"), "answer": event.text}
                elif isinstance(event, ThoughtUpdate):
                    yield self._thought_event(base("agent_thought"), event.thought)
                else:
                    outcome_file = self._file(turn, event)
                    outcome.answer_files.append(outcome_file)
                    yield {
                        "event": "message_file",
                        "task_id": turn.task_id,
                        "id": event.id,
                        "type": outcome_file.type,
                        "belongs_to": "assistant",
                        "url": self._url(event.file),
                        "conversation_id": turn.conversation_id or None,
                    }
        finally:
            outcome.answer = "".join(parts)
            outcome.usage = run.usage
            outcome.agent_thoughts = [t.stored(turn.message_id) for t in run.thoughts]
            if run.stopped:
                outcome.status = "stopped"
        guard = moderation.from_config(turn.config.get("sensitive_word_avoidance"))
        if guard is not None and outcome.answer:
            verdict = guard.check_output(outcome.answer)
            if verdict.flagged:
                outcome.answer = verdict.preset_response
                yield {**base("message_replace"), "answer": verdict.preset_response}
