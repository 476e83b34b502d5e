"""The workflow agent node: Dify's `langgenius/agent` strategies run by the real engine through `/v1`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests._console import Console
from tests._scripted_model import sse_events
from tests.api.test_chatflow import _edge, _node, configure_openai, publish
from tests.fakes.agent_model import AgentModelFake, agent_model_fake
from tests.services.agent._tools import PROVIDER, AgentTestSource, install

SELECTOR = {
    "provider": "langgenius/openai/openai",
    "model": "gpt-4o-mini",
    "model_type": "llm",
    "mode": "chat",
    "completion_params": {},
    "type": "model-selector",
}


def _tool(name: str, settings: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "enabled": True,
        "extra": {"description": ""},
        "provider_name": PROVIDER,
        "tool_name": name,
        "tool_label": name,
        "type": "api",
        "schemas": [],
        "settings": {k: {"value": v} for k, v in settings.items()},
        "parameters": parameters,
    }


def _graph(strategy: str) -> dict[str, Any]:
    agent = {
        "type": "agent",
        "agent_strategy_provider_name": "langgenius/agent/agent",
        "agent_strategy_name": strategy,
        "agent_strategy_label": strategy,
        "plugin_unique_identifier": "langgenius/agent:0.0.9@abc",
        "agent_parameters": {
            "model": {"type": "constant", "value": SELECTOR},
            "tools": {
                "type": "constant",
                "value": [
                    _tool("current_time", {"format": "%H:%M"}, {"timezone": {"auto": 1, "value": None}}),
                    # The builder fixed the city: the model may not choose it.
                    _tool("city_weather", {}, {"city": {"auto": 0, "value": "Lyon"}}),
                ],
            },
            "instruction": {"type": "constant", "value": "Answer travel questions."},
            "query": {"type": "mixed", "value": "{{#start.question#}}"},
            "maximum_iterations": {"type": "constant", "value": 3},
        },
    }
    return {
        "nodes": [
            _node("start", {"type": "start", "variables": [{"variable": "question", "type": "paragraph"}]}),
            _node("agent", agent),
            _node("end", {"type": "end", "outputs": [{"variable": "answer", "value_selector": ["agent", "text"]}]}),
        ],
        "edges": [_edge("start", "agent"), _edge("agent", "end")],
    }


@pytest.fixture(scope="module")
def fake() -> Iterator[AgentModelFake]:
    with agent_model_fake() as server:
        yield server


@pytest.fixture(autouse=True)
def _reset(fake: AgentModelFake) -> None:
    fake.reset()
    fake.plan = [("current_time", {"timezone": "Europe/Paris"}), ("city_weather", {"city": "Paris"})]


@pytest.mark.parametrize(("strategy", "scenario"), [("function_calling", "agent_tools"), ("ReAct", "agent_react")])
def test_an_agent_node_runs_in_a_workflow(owner: Console, fake: AgentModelFake, strategy: str, scenario: str) -> None:
    source = AgentTestSource()
    install(owner.client.app.state.loom.extras, source)
    configure_openai(owner, fake)
    _, headers = publish(owner, "workflow", _graph(strategy))
    fake.play(scenario)

    response = owner.client.post(
        "/v1/workflows/run",
        headers=headers,
        json={"inputs": {"question": "Time and weather?"}, "user": "u", "response_mode": "streaming"},
    )
    assert response.status_code == 200, response.text
    events = sse_events(response)
    finished = events[-1]
    assert finished["event"] == "workflow_finished", finished
    assert finished["data"]["status"] == "succeeded", finished["data"]
    answer = "Here is what I found: 12:00 in Europe/Paris as %H:%M | Sunny in Lyon"
    assert finished["data"]["outputs"] == {"answer": answer}
    node = next(e["data"] for e in events if e["event"] == "node_finished" and e["data"]["node_id"] == "agent")
    assert node["outputs"]["text"] == answer
    assert [r["label"] for r in node["outputs"]["json"]] == ["ROUND 1", "ROUND 2", "ROUND 3"]
    assert json.loads(node["outputs"]["json"][1]["data"]["tool_input"]) == {"city_weather": {"city": "Lyon"}}
    assert int(node["execution_metadata"]["total_tokens"]) > 0
    assert [c.parameters for c in source.calls] == [{"timezone": "Europe/Paris", "format": "%H:%M"}, {"city": "Lyon"}]

    requests = [r for r in fake.requests if r.get("messages")]
    assert len(requests) == 3
    first = requests[0]["messages"]
    assert first[-1] == {"role": "user", "content": "Time and weather?"}
    assert "Answer travel questions." in first[0]["content"]
    if strategy == "function_calling":
        weather = next(t for t in requests[0]["tools"] if t["function"]["name"] == "city_weather")
        assert weather["function"]["parameters"]["properties"] == {}
