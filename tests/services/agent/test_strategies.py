"""Strategy pieces without a server: ReAct parsing and streaming, settings, strategy choice, stop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from loomworks.providers.base import LLMChunk, ToolSpec
from loomworks.providers.usage import Usage
from loomworks.services.agent import AgentRun, AgentSettings, choose, run_agent
from loomworks.services.agent.entities import AnswerDelta, ThoughtUpdate, ToolRef
from loomworks.services.agent.function_calling import FunctionCallingStrategy
from loomworks.services.agent.react import AnswerStream, ReActStrategy, parse_step
from loomworks.services.agent.toolbox import AgentTool, Toolbox
from loomworks.services.tools.base import ToolDescriptor

PARSES = [
    (
        'Thought: I need the time.\nAction: current_time\nAction Input: {"timezone": "UTC"}',
        ("I need the time.", "current_time", {"timezone": "UTC"}, None),
    ),
    (
        'Thought: time\nAction: `current_time`\nAction Input: ```json\n{"timezone": "UTC"}\n```\nObservation: 9am',
        ("time", "current_time", {"timezone": "UTC"}, None),
    ),
    (
        'Thought: use it\nAction:\n```\n{"action": "city_weather", "action_input": {"city": "Oslo"}}\n```',
        ("use it", "city_weather", {"city": "Oslo"}, None),
    ),
    (
        'Thought: done\nAction:\n```\n{"action": "Final Answer", "action_input": "It is noon."}\n```',
        ("done", None, None, "It is noon."),
    ),
    ("Thought: I know.\nFinal Answer: It is noon.\nObservation: invented", ("I know.", None, None, "It is noon.")),
    ("Just an answer with no format.", ("", None, None, "Just an answer with no format.")),
]


@pytest.mark.parametrize(("text", "expected"), PARSES)
def test_react_steps_are_parsed(text: str, expected: tuple[Any, ...]) -> None:
    step = parse_step(text)
    assert (step.thought, step.action, step.action_input, step.final) == expected


def test_the_final_answer_streams_even_when_its_marker_is_split() -> None:
    stream = AnswerStream()
    pieces = ["Thought: ok\nFinal An", "swer:", "  It is", " noon."]
    assert [stream.feed(p) for p in pieces] == ["", "", "It is", " noon."]
    held = AnswerStream()
    assert [held.feed(p) for p in ["Thought: x\nAction: t\n", "Action Input: {}"]] == ["", ""]
    assert held.blocked


def test_settings_from_agent_mode_and_from_the_agent_node() -> None:
    settings = AgentSettings.from_agent_mode(
        {
            "enabled": True,
            "strategy": "router",
            "max_iteration": 500,
            "tools": [
                {"dataset": {"enabled": True, "id": "d1"}},
                {"enabled": False, "provider_type": "builtin", "provider_id": "time", "tool_name": "current_time"},
                {"provider_type": "builtin", "provider_id": "time", "tool_name": "current_time",
                 "tool_parameters": {"format": "%H", "timezone": ""}},
            ],
        }
    )  # fmt: skip
    assert settings.strategy == "function_call"
    assert settings.max_iteration == 99
    assert [(t.provider_id, t.tool_name, t.configurations) for t in settings.tools] == [
        ("time", "current_time", {"format": "%H"})
    ]
    node = AgentSettings.from_node_tools(
        "ReAct",
        [
            {"provider_name": "langgenius/time/time", "tool_name": "current_time", "type": "builtin",
             "settings": {"format": {"value": {"type": "constant", "value": "%H"}}},
             "parameters": {"timezone": {"auto": 0, "value": "UTC"}, "extra": {"auto": 1, "value": None}}},
        ],
        iterations="3",
        instruction="be brief",
    )  # fmt: skip
    assert (node.strategy, node.max_iteration) == ("react", 3)
    tool = node.tools[0]
    assert (tool.provider_id, tool.configurations, tool.fixed) == ("time", {"format": "%H"}, {"timezone": "UTC"})


def test_function_calling_falls_back_to_react_without_tool_calling() -> None:
    assert isinstance(choose("function_call", supports_tools=True), FunctionCallingStrategy)
    assert isinstance(choose("function_call", supports_tools=False), ReActStrategy)
    assert isinstance(choose("react", supports_tools=True), ReActStrategy)


class SlowTextModel:
    """A text-only agent model that answers word by word, slowly enough to be stopped."""

    provider, model, supports_tools = "test", "slow", False

    def __init__(self) -> None:
        self.words = 0

    async def stream(
        self,
        messages: list[dict[str, Any]],  # noqa: ARG002
        *,
        tools: list[ToolSpec],  # noqa: ARG002
        parameters: dict[str, Any],  # noqa: ARG002
        stop: list[str],  # noqa: ARG002
        user: str | None,  # noqa: ARG002
    ) -> AsyncIterator[LLMChunk]:
        yield LLMChunk(text="Final Answer:")
        for _ in range(100):
            self.words += 1
            yield LLMChunk(text=" word")
            await asyncio.sleep(0.001)
        yield LLMChunk(usage=Usage(total_tokens=100))


def _toolbox(with_tool: bool) -> Toolbox:
    if not with_tool:
        return Toolbox(None, [], tenant_id="t")
    descriptor = ToolDescriptor(provider_type="api", provider_id="p", name="t")
    tool = AgentTool(name="t", ref=ToolRef("api", "p", "t"), descriptor=descriptor, spec=descriptor.llm_spec())
    return Toolbox(None, [tool], tenant_id="t")


@pytest.mark.parametrize("with_tool", [False, True], ids=["plain answer", "react"])
async def test_a_stopped_run_ends_at_the_next_chunk(with_tool: bool) -> None:
    stop = asyncio.Event()
    model = SlowTextModel()
    messages = [{"role": "user", "content": "hi"}]
    run = AgentRun(model=model, toolbox=_toolbox(with_tool), messages=messages, stop=stop)
    seen: list[str] = []
    async for event in run_agent(run, "function_call"):
        if isinstance(event, AnswerDelta):
            seen.append(event.text)
            if len(seen) == 3:
                stop.set()
        else:
            assert isinstance(event, ThoughtUpdate)
    assert len(seen) == 3
    assert model.words < 10
    assert run.stopped
    assert len(run.thoughts) == 1
    assert run.thoughts[0].thought == "".join(seen)
