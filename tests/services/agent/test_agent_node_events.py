"""The agent node's `agent_log` events, streamed answer and chatflow memory, through `/v1` on the real engine.

The model is the scripted OpenAI fake of `tests/fakes/agent_model.py`; the tools are the real
`ToolSource` of `_tools.py`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests._console import Console
from tests._scripted_model import sse_events
from tests.api.test_chatflow import _edge, _node, configure_openai, publish
from tests.fakes.agent_model import AgentModelFake, agent_model_fake
from tests.services.agent._tools import AgentTestSource, install
from tests.services.agent.test_agent_node import SELECTOR, _tool


def _agent(strategy: str = "function_calling", **extra: Any) -> dict[str, Any]:
    return {
        "type": "agent",
        "agent_strategy_provider_name": "langgenius/agent/agent",
        "agent_strategy_name": strategy,
        "agent_strategy_label": strategy,
        "agent_parameters": {
            "model": {"type": "constant", "value": SELECTOR},
            "tools": {
                "type": "constant",
                "value": [_tool("current_time", {"format": "%H:%M"}, {"timezone": {"auto": 1, "value": None}})],
            },
            "instruction": {"type": "constant", "value": "Answer time questions."},
            "query": {"type": "mixed", "value": "{{#sys.query#}}" if extra.get("memory") else "{{#start.q#}}"},
            "maximum_iterations": {"type": "constant", "value": 3},
        },
        **extra,
    }


def _workflow(strategy: str) -> dict[str, Any]:
    return {
        "nodes": [
            _node("start", {"type": "start", "variables": [{"variable": "q", "type": "paragraph"}]}),
            _node("agent", _agent(strategy)),
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
    fake.plan = [("current_time", {"timezone": "Europe/Paris"})]


ANSWER = "Here is what I found: 12:00 in Europe/Paris as %H:%M"


@pytest.mark.parametrize(("strategy", "scenario"), [("function_calling", "agent_tools"), ("ReAct", "agent_react")])
def test_the_agent_node_streams_agent_log_events_for_its_rounds(
    owner: Console, fake: AgentModelFake, strategy: str, scenario: str
) -> None:
    install(owner.client.app.state.loom.extras, AgentTestSource())
    configure_openai(owner, fake)
    _, headers = publish(owner, "workflow", _workflow(strategy))
    fake.play(scenario)
    response = owner.client.post(
        "/v1/workflows/run",
        headers=headers,
        json={"inputs": {"q": "What time is it in Paris?"}, "user": "u", "response_mode": "streaming"},
    )
    assert response.status_code == 200, response.text
    events = sse_events(response)
    assert events[-1]["data"]["status"] == "succeeded", events[-1]
    started = next(e["data"] for e in events if e["event"] == "node_started" and e["data"]["node_id"] == "agent")
    logs = [e for e in events if e["event"] == "agent_log"]
    assert {e["task_id"] for e in logs} == {events[0]["task_id"]}
    assert {e["workflow_run_id"] for e in logs} == {events[0]["workflow_run_id"]}
    data = [e["data"] for e in logs]
    assert {d["node_execution_id"] for d in data} == {started["id"]}
    assert {d["node_id"] for d in data} == {"agent"}
    # Each entry is sent when it starts and again when it ends, children inside their round.
    assert [(d["label"], d["status"]) for d in data] == [
        ("ROUND 1", "start"),
        ("gpt-4o-mini Thought", "start"),
        ("gpt-4o-mini Thought", "success"),
        ("CALL current_time", "start"),
        ("CALL current_time", "success"),
        ("ROUND 1", "success"),
        ("ROUND 2", "start"),
        ("gpt-4o-mini Thought", "start"),
        ("gpt-4o-mini Thought", "success"),
        ("ROUND 2", "success"),
    ]
    rounds = {d["id"]: d for d in data if d["label"].startswith("ROUND") and d["status"] == "success"}
    assert all(d["parent_id"] in rounds for d in data if not d["label"].startswith("ROUND"))
    call = next(d for d in data if d["label"] == "CALL current_time" and d["status"] == "success")
    assert call["parent_id"] == data[0]["id"]
    assert call["data"]["output"]["tool_response"] == "12:00 in Europe/Paris as %H:%M"
    assert call["data"]["output"]["tool_call_input"] == {"timezone": "Europe/Paris"}
    assert call["metadata"]["provider"] == "agent-test"
    assert call["metadata"]["elapsed_time"] >= 0
    thought = data[2]
    assert thought["metadata"]["total_tokens"] > 0
    if strategy == "function_calling":
        assert thought["data"]["tool_name"] == "current_time"
        assert json.loads(thought["data"]["tool_input"][0]["args"]) == {"timezone": "Europe/Paris"}
    last = rounds[data[-1]["id"]]
    assert last["data"]["output"]["llm_response"].endswith(ANSWER)
    assert data[-1]["metadata"]["total_tokens"] > 0

    # The answer streams to the End node as it comes, and the log is kept with the node execution.
    chunks = "".join(e["data"]["text"] for e in events if e["event"] == "text_chunk")
    assert chunks == ANSWER
    finished = next(e["data"] for e in events if e["event"] == "node_finished" and e["data"]["node_id"] == "agent")
    assert finished["outputs"]["text"] == ANSWER
    kept = finished["execution_metadata"]["agent_log"]
    assert [(k["label"], k["status"]) for k in kept] == [
        ("ROUND 1", "success"),
        ("gpt-4o-mini Thought", "success"),
        ("CALL current_time", "success"),
        ("ROUND 2", "success"),
        ("gpt-4o-mini Thought", "success"),
    ]
    assert kept == [next(d for d in reversed(data) if d["id"] == k["id"]) for k in kept]
    run_id = events[0]["workflow_run_id"]
    app_id = next(iter(owner.get("/apps").json()["data"]))["id"]
    nodes = owner.get(f"/apps/{app_id}/workflow-runs/{run_id}/node-executions").json()["data"]
    stored = next(n for n in nodes if n["node_id"] == "agent")
    assert stored["execution_metadata"]["agent_log"] == kept


def _chatflow(window: int) -> dict[str, Any]:
    memory = {"window": {"enabled": True, "size": window}, "query_prompt_template": "{{#sys.query#}}"}
    return {
        "nodes": [
            _node("start", {"type": "start", "variables": []}),
            _node("agent", _agent(memory=memory)),
            _node("answer", {"type": "answer", "answer": "{{#agent.text#}}"}),
        ],
        "edges": [_edge("start", "agent"), _edge("agent", "answer")],
    }


def test_the_agent_node_remembers_the_conversation_window_in_a_chatflow(owner: Console, fake: AgentModelFake) -> None:
    install(owner.client.app.state.loom.extras, AgentTestSource())
    configure_openai(owner, fake)
    _, headers = publish(owner, "advanced-chat", _chatflow(window=1))
    fake.plan = []
    fake.play("agent_tools")
    conversation_id = ""
    for query in ("first question", "second question", "third question"):
        body = {"query": query, "inputs": {}, "user": "u", "response_mode": "streaming"}
        if conversation_id:
            body["conversation_id"] = conversation_id
        response = owner.client.post("/v1/chat-messages", headers=headers, json=body)
        assert response.status_code == 200, response.text
        events = sse_events(response)
        assert events[-1]["event"] == "message_end", events[-1]
        conversation_id = events[-1]["conversation_id"]
        assert "".join(e["answer"] for e in events if e["event"] == "message") == "I could answer without tools."
    prompts = [[(m["role"], m["content"]) for m in r["messages"]] for r in fake.requests if r.get("messages")]
    instruction = ("system", "Answer time questions.")
    answer = ("assistant", "I could answer without tools.")
    assert prompts == [
        [instruction, ("user", "first question")],
        [instruction, ("user", "first question"), answer, ("user", "second question")],
        # A window of one turn: the first question is forgotten.
        [instruction, ("user", "second question"), answer, ("user", "third question")],
    ]


def test_without_memory_the_agent_node_sees_only_the_query(owner: Console, fake: AgentModelFake) -> None:
    install(owner.client.app.state.loom.extras, AgentTestSource())
    configure_openai(owner, fake)
    graph = _chatflow(window=5)
    graph["nodes"][1]["data"].pop("memory")
    graph["nodes"][1]["data"]["agent_parameters"]["query"]["value"] = "{{#sys.query#}}"
    _, headers = publish(owner, "advanced-chat", graph)
    fake.plan = []
    fake.play("agent_tools")
    conversation_id = ""
    for query in ("one", "two"):
        body = {"query": query, "inputs": {}, "user": "u", "response_mode": "blocking"}
        if conversation_id:
            body["conversation_id"] = conversation_id
        response = owner.client.post("/v1/chat-messages", headers=headers, json=body)
        assert response.status_code == 200, response.text
        conversation_id = response.json()["conversation_id"]
    prompts = [[m["role"] for m in r["messages"]] for r in fake.requests if r.get("messages")]
    assert prompts == [["system", "user"], ["system", "user"]]
