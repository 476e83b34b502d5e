"""The agent node's log: its `AgentReporter`, sending Dify's `agent_log` events as the agent runs.

An agent run is a list of rounds. Each round is an entry `ROUND <n>` with children: the model's
step `<model> Thought` and one `CALL <tool>` per tool call. An entry is sent (event `agent_log`,
spec §1.5: `node_execution_id, id, label, parent_id, error, status, data, metadata, node_id`) with
status `start` when it begins and again, same id, with `success` or `error` and its data when it
ends. The entries in their last state, in the order they began, become the node's
`execution_metadata.agent_log`. Metadata keys follow Dify's agent strategies: `started_at`,
`finished_at`, `elapsed_time` (seconds), `provider`, and for model steps and rounds
`total_tokens`, `total_price`, `currency`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from loomworks.core.ids import new_id
from loomworks.engine.ports import Usage

if TYPE_CHECKING:
    from loomworks.engine.runner import NodeContext


class _Entry:
    __slots__ = ("data", "error", "id", "label", "metadata", "parent_id", "started", "status")

    def __init__(self, label: str, parent_id: str | None, **metadata: Any) -> None:
        self.id = new_id()
        self.label = label
        self.parent_id = parent_id
        self.status = "start"
        self.error: str | None = None
        self.data: dict[str, Any] = {}
        self.started = time.time()
        self.metadata: dict[str, Any] = {"started_at": self.started, **metadata}

    def end(self, data: dict[str, Any], error: str | None = None, **metadata: Any) -> None:
        finished = time.time()
        self.status = "error" if error else "success"
        self.error = error
        self.data = data
        self.metadata.update(finished_at=finished, elapsed_time=round(finished - self.started, 6), **metadata)


def _usage_metadata(usage: Usage | None) -> dict[str, Any]:
    if usage is None:
        return {"total_tokens": 0, "total_price": "0", "currency": ""}
    return {"total_tokens": usage.total_tokens, "total_price": str(usage.total_price), "currency": usage.currency}


class AgentLogBook:
    """Implements `ports.AgentReporter` for one execution of an agent node."""

    def __init__(self, ctx: NodeContext) -> None:
        self.ctx = ctx
        self.logs: dict[str, dict[str, Any]] = {}
        self.rounds = 0
        self.round: _Entry | None = None
        self.model: _Entry | None = None
        self.calls: list[tuple[str, _Entry]] = []  # this round's tool calls, open ones first found by name
        self.llm_response = ""
        self.responses: list[dict[str, Any]] = []
        self.arguments: dict[str, Any] = {}
        self.usage: Usage | None = None

    def entries(self) -> list[dict[str, Any]]:
        """Every entry in its last state, in the order they began (`execution_metadata.agent_log`)."""
        return list(self.logs.values())

    def _send(self, entry: _Entry) -> None:
        data = {
            "node_execution_id": self.ctx.execution_id,
            "id": entry.id,
            "label": entry.label,
            "parent_id": entry.parent_id,
            "error": entry.error,
            "status": entry.status,
            "data": entry.data,
            "metadata": dict(entry.metadata),
            "node_id": self.ctx.node.id,
        }
        self.logs[entry.id] = data
        self.ctx.emit("agent_log", data)

    # -- AgentReporter --------------------------------------------------------------------------------

    def text(self, delta: str) -> None:
        self.ctx.stream("text", delta)

    def round_started(self, *, model: str, provider: str) -> None:
        self._end_round(None)
        self.rounds += 1
        self.round = _Entry(f"ROUND {self.rounds}", None)
        self._send(self.round)
        self.model = _Entry(f"{model} Thought", self.round.id, provider=provider)
        self._send(self.model)

    def model_finished(self, *, output: str, tool_calls: list[dict[str, Any]], usage: Usage | None) -> None:
        self.llm_response, self.usage = output, usage
        model = self.model
        if model is None:
            return
        self.model = None
        names = ";".join(str(c.get("name") or "") for c in tool_calls)
        inputs = [{"name": c.get("name"), "args": c.get("args")} for c in tool_calls]
        model.end({"output": output, "tool_name": names, "tool_input": inputs}, **_usage_metadata(usage))
        self._send(model)

    def tool_started(self, *, name: str, provider: str, arguments: Any) -> None:
        if self.round is None:
            return
        entry = _Entry(f"CALL {name}", self.round.id, provider=provider)
        self.calls.append((name, entry))
        self.arguments[entry.id] = arguments
        self._send(entry)

    def tool_finished(self, *, name: str, output: str, error: str | None = None) -> None:
        found = next(((n, e) for n, e in self.calls if n == name and e.status == "start"), None)
        if found is None:
            return
        entry = found[1]
        response = {"tool_call_name": name, "tool_call_input": self.arguments.get(entry.id), "tool_response": output}
        self.responses.append(response)
        entry.end({"output": response}, error)
        self._send(entry)

    def close(self, error: str | None = None) -> None:
        self._end_round(error)

    def _end_round(self, error: str | None) -> None:
        for _, entry in self.calls:
            if entry.status == "start":
                entry.end({}, error or "The tool call did not finish.")
                self._send(entry)
        if self.model is not None:
            self.model.end({}, error or "The model call did not finish.")
            self._send(self.model)
            self.model = None
        if self.round is not None:
            output = {"llm_response": self.llm_response, "tool_responses": self.responses}
            self.round.end({"output": output}, error, **_usage_metadata(self.usage))
            self._send(self.round)
        self.round, self.calls, self.responses, self.llm_response, self.usage = None, [], [], "", None
