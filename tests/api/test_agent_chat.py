"""Agent-chat apps end to end: `/v1/chat-messages` against a fake OpenAI server that plays an agent.

The workspace's OpenAI credentials are saved through the console; the app's `agent_mode` names
test tools served by a real `ToolSource` in the server's tool runtime. The fake model decides
each step from the messages it receives (see `tests/fakes/agent_model.py`), so every assertion
on its requests checks what the agent really sent back to it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests._console import Console
from tests._scripted_model import ScriptedModels, configured_app, sse_events
from tests.api.test_chatflow import configure_openai
from tests.fakes.agent_model import AgentModelFake, agent_model_fake
from tests.services.agent._tools import AgentTestSource, install, tool_ref

MODEL = {"provider": "openai", "name": "gpt-4o-mini", "mode": "chat", "completion_params": {}}
PLAN = [("current_time", {"timezone": "Europe/Paris"}), ("city_weather", {"city": "Paris"})]
TOOLS = [tool_ref("current_time", format="%H:%M", timezone=""), tool_ref("city_weather", city="")]


@pytest.fixture(scope="module")
def fake() -> Iterator[AgentModelFake]:
    with agent_model_fake() as server:
        yield server


@pytest.fixture(autouse=True)
def _reset(fake: AgentModelFake) -> None:
    fake.reset()
    fake.plan = list(PLAN)


@pytest.fixture
def source(owner: Console) -> AgentTestSource:
    found = AgentTestSource()
    install(owner.client.app.state.loom.extras, found)
    return found


def agent_app(
    owner: Console,
    *,
    strategy: str = "function_call",
    tools: list[dict[str, Any]] | None = None,
    max_iteration: int = 5,
) -> dict[str, str]:
    app = owner.create_app("Agent", "agent-chat")
    config = dict(app["model_config"])
    config["model"] = MODEL
    config["pre_prompt"] = "You are a helpful travel assistant."
    config["agent_mode"] = {
        "enabled": True,
        "strategy": strategy,
        "max_iteration": max_iteration,
        "tools": TOOLS if tools is None else tools,
    }
    saved = owner.post(f"/apps/{app['id']}/model-config", json=config)
    assert saved.status_code == 200, saved.text
    return {"Authorization": f"Bearer {owner.create_key(app['id'])}"}


def _ask(owner: Console, headers: dict[str, str], query: str, mode: str = "streaming", **extra: Any) -> Any:
    body = {"query": query, "inputs": {}, "user": "traveller", "response_mode": mode, "auto_generate_name": False}
    response = owner.client.post("/v1/chat-messages", headers=headers, json={**body, **extra})
    assert response.status_code == 200, response.text
    return response


def _chat_requests(fake: AgentModelFake) -> list[dict[str, Any]]:
    return [r for r in fake.requests if r.get("messages")]


def _messages(owner: Console, headers: dict[str, str], conversation_id: str) -> list[dict[str, Any]]:
    listed = owner.client.get(
        "/v1/messages", headers=headers, params={"conversation_id": conversation_id, "user": "traveller"}
    )
    assert listed.status_code == 200, listed.text
    return listed.json()["data"]


def _collapse(kinds: list[str]) -> list[str]:
    out: list[str] = []
    for kind in kinds:
        if not out or out[-1] != kind:
            out.append(kind)
    return out


def test_function_calling_agent_answers_with_two_tools(
    owner: Console, fake: AgentModelFake, source: AgentTestSource
) -> None:
    configure_openai(owner, fake)
    headers = agent_app(owner)
    fake.play("agent_tools")

    events = sse_events(_ask(owner, headers, "What time is it in Paris, and how is the weather?"))
    kinds = [e["event"] for e in events]
    # Tool steps: each thought once when its calls are known, again with the observation; the answer's
    # thought when its text starts, then the text, then the thought with the whole answer.
    assert _collapse(kinds) == ["agent_thought", "agent_message", "agent_thought", "message_end"]
    thoughts = [e for e in events if e["event"] == "agent_thought"]
    assert [t["position"] for t in thoughts] == [1, 1, 2, 2, 3, 3]
    assert thoughts[0]["id"] == thoughts[1]["id"] != thoughts[2]["id"]
    first, observed = thoughts[0], thoughts[1]
    assert first["tool"] == "current_time"
    assert json.loads(first["tool_input"]) == {"current_time": {"timezone": "Europe/Paris"}}
    assert first["observation"] == ""
    assert json.loads(observed["observation"]) == {"current_time": "12:00 in Europe/Paris as %H:%M"}
    assert observed["tool_labels"] == {"current_time": {"en_US": "Current time", "zh_Hans": "Current time"}}
    assert json.loads(thoughts[3]["observation"]) == {"city_weather": "Sunny in Paris"}
    end = events[-1]
    assert {first["message_id"], first["conversation_id"]} == {end["message_id"], end["conversation_id"]}
    answer = "".join(e["answer"] for e in events if e["event"] == "agent_message")
    assert answer == "Here is what I found: 12:00 in Europe/Paris as %H:%M | Sunny in Paris"
    assert thoughts[-1]["thought"] == answer

    # What went back to the model: the tool calls as an assistant message, the results as tool messages.
    requests = _chat_requests(fake)
    assert len(requests) == 3
    assert requests[0]["messages"][0] == {"role": "system", "content": "You are a helpful travel assistant."}
    assert {t["function"]["name"] for t in requests[0]["tools"]} == {"current_time", "city_weather"}
    time_schema = next(t for t in requests[0]["tools"] if t["function"]["name"] == "current_time")["function"]
    assert list(time_schema["parameters"]["properties"]) == ["timezone"]  # the form parameter is not the model's
    second = requests[1]["messages"]
    assert second[-2]["role"] == "assistant"
    assert second[-2]["tool_calls"][0]["function"]["name"] == "current_time"
    assert second[-1] == {
        "role": "tool",
        "tool_call_id": second[-2]["tool_calls"][0]["id"],
        "content": "12:00 in Europe/Paris as %H:%M",
    }
    assert [c.parameters for c in source.calls] == [
        {"timezone": "Europe/Paris", "format": "%H:%M"},
        {"city": "Paris"},
    ]
    usage = end["metadata"]["usage"]  # summed over the three model calls, as the vendor counted them
    assert len(fake.usages) == 3
    assert usage["prompt_tokens"] == sum(u["prompt_tokens"] for u in fake.usages)
    assert usage["total_tokens"] == sum(u["total_tokens"] for u in fake.usages)

    stored = _messages(owner, headers, end["conversation_id"])[0]
    assert stored["answer"] == answer
    assert [t["position"] for t in stored["agent_thoughts"]] == [1, 2, 3]
    row = stored["agent_thoughts"][1]
    assert row["tool"] == "city_weather"
    assert json.loads(row["tool_input"]) == {"city_weather": {"city": "Paris"}}
    assert json.loads(row["observation"]) == {"city_weather": "Sunny in Paris"}
    assert row["message_id"] == end["message_id"]
    assert set(row) >= {"id", "chain_id", "thought", "tool_labels", "created_at", "files"}

    # Blocking mode answers the final text with the summed usage.
    blocking = _ask(owner, headers, "And now?", mode="blocking", conversation_id=end["conversation_id"]).json()
    assert blocking["event"] == "message"
    assert blocking["mode"] == "agent-chat"
    assert blocking["answer"] == answer
    assert blocking["metadata"]["usage"]["total_tokens"] > 0
    history = _chat_requests(fake)[3]["messages"]
    assert {"role": "assistant", "content": answer} in history


def test_parallel_tool_calls_run_together(owner: Console, fake: AgentModelFake, source: AgentTestSource) -> None:
    configure_openai(owner, fake)
    headers = agent_app(owner)
    source.gate = 2
    fake.play("agent_parallel")

    events = sse_events(_ask(owner, headers, "Time and weather in Paris?"))
    thoughts = [e for e in events if e["event"] == "agent_thought"]
    assert thoughts[0]["tool"] == "current_time;city_weather"
    assert json.loads(thoughts[0]["tool_input"]) == {
        "current_time": {"timezone": "Europe/Paris"},
        "city_weather": {"city": "Paris"},
    }
    observation = json.loads(thoughts[1]["observation"])
    assert observation == {"current_time": "12:00 in Europe/Paris as %H:%M", "city_weather": "Sunny in Paris"}
    tool_messages = [m for m in _chat_requests(fake)[1]["messages"] if m["role"] == "tool"]
    assert [m["content"] for m in tool_messages] == ["12:00 in Europe/Paris as %H:%M", "Sunny in Paris"]
    assert events[-1]["event"] == "message_end"


def test_react_agent_answers_with_two_tools(owner: Console, fake: AgentModelFake, source: AgentTestSource) -> None:
    configure_openai(owner, fake)
    headers = agent_app(owner, strategy="react")
    fake.play("agent_react")

    events = sse_events(_ask(owner, headers, "What time is it in Paris, and how is the weather?"))
    kinds = [e["event"] for e in events]
    assert _collapse(kinds) == ["agent_thought", "agent_message", "agent_thought", "message_end"]
    thoughts = [e for e in events if e["event"] == "agent_thought"]
    assert [t["position"] for t in thoughts] == [1, 1, 2, 2, 3, 3]
    assert thoughts[0]["thought"] == "I should use current_time."
    assert json.loads(thoughts[0]["tool_input"]) == {"current_time": {"timezone": "Europe/Paris"}}
    assert json.loads(thoughts[3]["observation"]) == {"city_weather": "Sunny in Paris"}
    answer = "".join(e["answer"] for e in events if e["event"] == "agent_message")
    assert answer == "Here is what I found: 12:00 in Europe/Paris as %H:%M | Sunny in Paris"

    requests = _chat_requests(fake)
    assert len(requests) == 3
    assert all("tools" not in r for r in requests)
    system = requests[0]["messages"][0]["content"]
    assert "current_time: The current time in a time zone." in system
    assert "You are a helpful travel assistant." in system
    assert "Observation:" in requests[0]["stop"]
    scratchpad = requests[2]["messages"][-2]
    assert scratchpad["role"] == "assistant"
    assert "Observation: 12:00 in Europe/Paris as %H:%M" in scratchpad["content"]
    assert "Observation: Sunny in Paris" in scratchpad["content"]
    assert len(source.calls) == 2

    stored = _messages(owner, headers, events[-1]["conversation_id"])[0]
    assert [t["tool"] for t in stored["agent_thoughts"]] == ["current_time", "city_weather", ""]
    assert stored["answer"] == answer


def test_a_failing_tool_is_reported_to_the_model(owner: Console, fake: AgentModelFake, source: AgentTestSource) -> None:
    configure_openai(owner, fake)
    headers = agent_app(owner)
    fake.plan = [("city_weather", {"city": "Atlantis"})]
    fake.play("agent_tools")

    events = sse_events(_ask(owner, headers, "Weather in Atlantis?"))
    assert events[-1]["event"] == "message_end"
    tool_message = _chat_requests(fake)[1]["messages"][-1]
    assert tool_message["role"] == "tool"
    assert tool_message["content"].startswith("tool invoke error: ")
    assert "the weather service does not know Atlantis" in tool_message["content"]
    answer = "".join(e["answer"] for e in events if e["event"] == "agent_message")
    assert "does not know Atlantis" in answer
    assert len(source.calls) == 1


def test_max_iteration_stops_a_model_that_keeps_calling_tools(
    owner: Console, fake: AgentModelFake, source: AgentTestSource
) -> None:
    configure_openai(owner, fake)
    headers = agent_app(owner, max_iteration=2)
    fake.play("agent_loop")

    events = sse_events(_ask(owner, headers, "Loop forever"))
    requests = _chat_requests(fake)
    assert [bool(r.get("tools")) for r in requests] == [True, True, False]
    assert len(source.calls) == 2
    answer = "".join(e["answer"] for e in events if e["event"] == "agent_message")
    assert answer == "I stopped after 2 tool calls."
    assert max(e["position"] for e in events if e["event"] == "agent_thought") == 3
    assert events[-1]["event"] == "message_end"


def test_files_from_tools_are_message_files(owner: Console, fake: AgentModelFake, source: AgentTestSource) -> None:
    configure_openai(owner, fake)
    headers = agent_app(owner, tools=[tool_ref("make_chart")])
    fake.plan = [("make_chart", {})]
    fake.play("agent_tools")

    events = sse_events(_ask(owner, headers, "Draw me a chart"))
    files = [e for e in events if e["event"] == "message_file"]
    assert len(files) == 1
    assert files[0]["belongs_to"] == "assistant"
    assert files[0]["type"] == "image"
    assert files[0]["url"] == "https://files.example.com/chart.png"
    observed = [e for e in events if e["event"] == "agent_thought"][1]
    assert observed["message_files"] == [files[0]["id"]]
    assert len(source.calls) == 1

    stored = _messages(owner, headers, events[-1]["conversation_id"])[0]
    assert stored["agent_thoughts"][0]["files"] == [files[0]["id"]]
    assert [(f["id"], f["belongs_to"]) for f in stored["message_files"]] == [(files[0]["id"], "assistant")]


def test_a_missing_tool_fails_the_turn_clearly(owner: Console, fake: AgentModelFake, source: AgentTestSource) -> None:
    configure_openai(owner, fake)
    headers = agent_app(owner, tools=[tool_ref("no_such_tool")])
    fake.play("agent_tools")
    events = sse_events(_ask(owner, headers, "Hi"))
    assert events[-1]["event"] == "error"
    assert "no_such_tool" in events[-1]["message"]
    assert not _chat_requests(fake)
    assert not source.calls


def test_a_model_without_tool_calling_runs_react(chat_owner: Console, models: ScriptedModels) -> None:
    install(chat_owner.client.app.state.loom.extras, AgentTestSource())
    headers, _ = configured_app(
        chat_owner,
        "agent-chat",
        agent_mode={"enabled": True, "strategy": "function_call", "max_iteration": 3, "tools": TOOLS},
    )
    models.model.reply = "Thought: I know this one.\nFinal Answer: It is noon."

    events = sse_events(_ask(chat_owner, headers, "What time is it?"))
    assert "".join(e["answer"] for e in events if e["event"] == "agent_message") == "It is noon."
    assert events[-1]["event"] == "message_end"
    request = models.model.answer_requests[0]
    assert "Action Input:" in request.messages[0]["content"]
    assert "city_weather: Today's weather in a city." in request.messages[0]["content"]
    assert "Observation:" in request.stop


def test_an_agent_without_tools_answers_directly(chat_owner: Console, models: ScriptedModels) -> None:
    headers, _ = configured_app(chat_owner, "agent-chat")
    events = sse_events(_ask(chat_owner, headers, "hello agent"))
    kinds = _collapse([e["event"] for e in events])
    assert kinds == ["agent_thought", "agent_message", "agent_thought", "message_end"]
    assert "".join(e["answer"] for e in events if e["event"] == "agent_message") == "Echo: hello agent"
    assert models.model.answer_requests[0].messages[-1] == {"role": "user", "content": "hello agent"}


def test_the_built_in_time_tool_serves_an_agent(owner: Console, fake: AgentModelFake, source: AgentTestSource) -> None:
    configure_openai(owner, fake)
    time_tool = {**tool_ref("current_time", format="%Z", timezone="Asia/Tokyo"), "provider_type": "builtin"}
    headers = agent_app(owner, tools=[{**time_tool, "provider_id": "time", "provider_name": "time"}, TOOLS[1]])
    fake.plan = [("current_time", {}), ("city_weather", {"city": "Tokyo"})]
    fake.play("agent_tools")

    events = sse_events(_ask(owner, headers, "Which time zone is Tokyo in, and the weather?"))
    answer = "".join(e["answer"] for e in events if e["event"] == "agent_message")
    assert answer == "Here is what I found: JST | Sunny in Tokyo"
    offered = {t["function"]["name"]: t["function"] for t in _chat_requests(fake)[0]["tools"]}
    assert offered["current_time"]["parameters"]["properties"] == {}  # both of its parameters are form values
    assert [c.descriptor.name for c in source.calls] == ["city_weather"]
