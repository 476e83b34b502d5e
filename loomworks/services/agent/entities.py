"""What an agent run is made of: its settings, its thoughts, and the events it yields.

An agent run alternates model steps and tool calls. Each step is one *thought* (Dify's
`message_agent_thoughts` row): what the model said, which tools it called with which input, and
what they answered (the observation). Strategies yield `AgentEvent`s; the agent-chat glue turns
them into Dify's `agent_thought` / `agent_message` / `message_file` events, the workflow agent
node into its outputs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from loomworks.core.clock import timestamp
from loomworks.core.ids import new_id
from loomworks.providers.usage import Usage

DEFAULT_MAX_ITERATION = 5
MAX_ITERATION_LIMIT = 99
_FUNCTION_CALL = ("function_call", "function_calling", "functioncalling", "router", "fc")
_REACT = ("react", "react_router", "cot", "chain_of_thought")


def strategy_name(raw: Any) -> str:
    """Dify's strategy names (`function_call`, agent node `function_calling`, `ReAct`, legacy
    `router` / `react_router`) as one of `function_call` | `react`."""
    text = str(raw or "").strip().lower().replace("-", "_")
    if text in _REACT:
        return "react"
    return "function_call" if text in _FUNCTION_CALL or not text else text


def max_iteration(raw: Any) -> int:
    """Dify's `max_iteration` (1–99, default 5)."""
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return DEFAULT_MAX_ITERATION
    return min(max(value, 1), MAX_ITERATION_LIMIT)


@dataclass(slots=True)
class ToolRef:
    """One tool an agent may use, as the app (or the agent node) configured it.

    Attributes:
        provider_type / provider_id / tool_name: which tool (`builtin`/`time`/`current_time`).
        configurations: form-type parameter values fixed by the app builder.
        fixed: model-type parameters the builder fixed anyway (agent node `auto: 0`); they are
            hidden from the model and always sent.
    """

    provider_type: str
    provider_id: str
    tool_name: str
    configurations: dict[str, Any] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)


def _unwrap(value: Any) -> Any:
    # Newer agent-node DSLs wrap setting values as `{"type": "constant", "value": ...}`.
    if isinstance(value, dict) and "value" in value and set(value) <= {"type", "value"}:
        return value["value"]
    return value


def _provider_id(raw: str) -> str:
    # Marketplace ids (`langgenius/time/time`) name the built-in provider in their last segment.
    return raw.rsplit("/", 1)[-1] if "/" in raw else raw


@dataclass(slots=True)
class AgentSettings:
    """An agent's strategy, iteration bound, tools and instruction."""

    strategy: str = "function_call"
    max_iteration: int = DEFAULT_MAX_ITERATION
    tools: list[ToolRef] = field(default_factory=list)
    instruction: str = ""

    @classmethod
    def from_agent_mode(cls, agent_mode: Any) -> AgentSettings:
        """An agent-chat app's `agent_mode` (spec §5); dataset entries and disabled tools are skipped."""
        mode = agent_mode if isinstance(agent_mode, dict) else {}
        tools: list[ToolRef] = []
        for item in mode.get("tools") or []:
            if not isinstance(item, dict) or "dataset" in item or item.get("enabled") is False:
                continue
            if item.get("isDeleted") or not item.get("tool_name"):
                continue
            raw_parameters = item.get("tool_parameters")
            parameters = raw_parameters if isinstance(raw_parameters, dict) else {}
            tools.append(
                ToolRef(
                    provider_type=str(item.get("provider_type") or "builtin"),
                    provider_id=str(item.get("provider_id") or item.get("provider_name") or ""),
                    tool_name=str(item["tool_name"]),
                    configurations={k: v for k, v in parameters.items() if v not in (None, "")},
                )
            )
        return cls(
            strategy=strategy_name(mode.get("strategy")),
            max_iteration=max_iteration(mode.get("max_iteration")),
            tools=tools,
            instruction=str(mode.get("prompt") or ""),
        )

    @classmethod
    def from_node_tools(cls, strategy: str, raw_tools: Any, *, iterations: Any, instruction: str) -> AgentSettings:
        """The agent node's `tools` parameter (`settings` = form values, `parameters` with `auto`)."""
        tools: list[ToolRef] = []
        for item in raw_tools if isinstance(raw_tools, list) else []:
            if not isinstance(item, dict) or item.get("enabled") is False or not item.get("tool_name"):
                continue
            settings = item.get("settings") if isinstance(item.get("settings"), dict) else {}
            configurations = {}
            for name, spec in settings.items():
                value = _unwrap(spec.get("value") if isinstance(spec, dict) else spec)
                if value not in (None, ""):
                    configurations[str(name)] = value
            fixed = {}
            parameters = item.get("parameters") if isinstance(item.get("parameters"), dict) else {}
            for name, spec in parameters.items():
                if isinstance(spec, dict) and not spec.get("auto", 1):
                    value = _unwrap(spec.get("value"))
                    if value not in (None, ""):
                        fixed[str(name)] = value
            provider = str(item.get("provider_id") or item.get("provider_name") or "")
            tools.append(
                ToolRef(
                    provider_type=str(item.get("type") or item.get("provider_type") or "builtin"),
                    provider_id=_provider_id(provider),
                    tool_name=str(item["tool_name"]),
                    configurations=configurations,
                    fixed=fixed,
                )
            )
        return cls(
            strategy=strategy_name(strategy),
            max_iteration=max_iteration(iterations),
            tools=tools,
            instruction=instruction,
        )


@dataclass(slots=True)
class AgentThought:
    """One step of a run. Tool inputs and observations are keyed by tool name, as Dify stores them."""

    position: int
    id: str = field(default_factory=new_id)
    thought: str = ""
    tools: list[str] = field(default_factory=list)
    tool_labels: dict[str, Any] = field(default_factory=dict)
    tool_input: dict[str, Any] = field(default_factory=dict)
    observation: dict[str, str] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    created_at: int = field(default_factory=timestamp)
    usage: Usage | None = None

    def tool_input_text(self) -> str:
        return json.dumps(self.tool_input, ensure_ascii=False) if self.tools else ""

    def observation_text(self) -> str:
        return json.dumps(self.observation, ensure_ascii=False) if self.observation else ""

    def fields(self) -> dict[str, Any]:
        """The fields shared by the stream event and the stored row."""
        return {
            "id": self.id,
            "position": self.position,
            "thought": self.thought,
            "observation": self.observation_text(),
            "tool": ";".join(self.tools),
            "tool_labels": dict(self.tool_labels),
            "tool_input": self.tool_input_text(),
            "created_at": self.created_at,
        }

    def stored(self, message_id: str) -> dict[str, Any]:
        """Dify's `agent_thoughts[]` item of `GET /messages` (`files` are message file ids)."""
        row = {"chain_id": None, "message_id": message_id, **self.fields(), "files": list(self.files)}
        if self.usage is not None:
            row["tokens"] = self.usage.total_tokens
        return row


@dataclass(slots=True)
class ThoughtUpdate:
    """A thought started, or learned its tool calls or its observation (the same id again)."""

    thought: AgentThought


@dataclass(slots=True)
class AnswerDelta:
    """A piece of the answer text."""

    text: str


@dataclass(slots=True)
class ToolFile:
    """A file a tool produced: `file` is the tool's file mapping; `id` names it in the thought."""

    file: dict[str, Any]
    id: str = field(default_factory=new_id)


AgentEvent = ThoughtUpdate | AnswerDelta | ToolFile


def add_usage(total: Usage, more: Usage) -> Usage:
    """The usage of two model calls together (unit prices from the later call)."""
    return Usage(
        prompt_tokens=total.prompt_tokens + more.prompt_tokens,
        prompt_unit_price=more.prompt_unit_price,
        prompt_price_unit=more.prompt_price_unit,
        prompt_price=total.prompt_price + more.prompt_price,
        completion_tokens=total.completion_tokens + more.completion_tokens,
        completion_unit_price=more.completion_unit_price,
        completion_price_unit=more.completion_price_unit,
        completion_price=total.completion_price + more.completion_price,
        total_tokens=total.total_tokens + more.total_tokens,
        total_price=total.total_price + more.total_price,
        currency=more.currency or total.currency,
        latency=total.latency + more.latency,
        time_to_first_token=total.time_to_first_token
        if total.time_to_first_token is not None
        else more.time_to_first_token,
        time_to_generate=None,
        estimated=total.estimated or more.estimated,
    )
