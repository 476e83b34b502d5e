"""Chatflow (`advanced-chat`) apps through `/v1/chat-messages`, the web app and the console debugger.

Real parts throughout: the workflow engine, the model runtime talking to the fake OpenAI server over
HTTP, and the database (SQLite and PostgreSQL). The graph counts turns in a conversation variable
(assigner `+=`), asks an LLM with memory, and answers with both.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from loomworks.store.tables import ConversationVariable, Message, WorkflowRun
from tests._console import Console
from tests._scripted_model import sse_events
from tests.fakes.openai import OpenAIFake, openai_fake

MODEL = {"provider": "openai", "name": "gpt-4o-mini", "mode": "chat", "completion_params": {"temperature": 0}}


def _node(node_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": node_id, "type": "custom", "data": {"title": node_id, **data}}


def _edge(source: str, target: str) -> dict[str, Any]:
    return {"id": f"{source}-{target}", "source": source, "target": target, "sourceHandle": "source"}


GRAPH = {
    "nodes": [
        _node("start", {"type": "start", "variables": [{"variable": "tone", "type": "text-input", "required": False}]}),
        _node(
            "count",
            {
                "type": "assigner",
                "version": "2",
                "items": [
                    {
                        "variable_selector": ["conversation", "turns"],
                        "input_type": "constant",
                        "operation": "+=",
                        "value": 1,
                    }
                ],
            },
        ),
        _node(
            "llm",
            {
                "type": "llm",
                "model": MODEL,
                "prompt_template": [{"role": "system", "text": "Be {{#start.tone#}}."}],
                "memory": {"window": {"enabled": True, "size": 10}, "query_prompt_template": "{{#sys.query#}}"},
                "context": {"enabled": False, "variable_selector": []},
                "vision": {"enabled": False},
            },
        ),
        _node("answer", {"type": "answer", "answer": "{{#llm.text#}} (turn {{#conversation.turns#}})"}),
    ],
    "edges": [_edge("start", "count"), _edge("count", "llm"), _edge("llm", "answer")],
}
CONVERSATION_VARIABLES = [
    {"id": "var-turns", "name": "turns", "value_type": "number", "value": 0, "description": "turns so far"}
]


@pytest.fixture(scope="module")
def fake() -> Iterator[OpenAIFake]:
    with openai_fake() as server:
        yield server


@pytest.fixture(autouse=True)
def _reset(fake: OpenAIFake) -> None:
    fake.reset()


def configure_openai(owner: Console, fake: OpenAIFake) -> None:
    saved = owner.post(
        "/workspaces/current/model-providers/openai",
        json={"credentials": {"openai_api_key": fake.api_key, "openai_api_base": fake.base_url}},
    )
    assert saved.json() == {"result": "success"}, saved.text


def publish(
    owner: Console, mode: str, graph: dict[str, Any], conversation_variables: list[dict[str, Any]] | None = None
) -> tuple[str, dict[str, str]]:
    """A new app of `mode` with `graph` as its draft, published; returns its id and key headers."""
    app = owner.create_app(f"{mode} app", mode)
    draft = owner.get(f"/apps/{app['id']}/workflows/draft").json()
    synced = owner.post(
        f"/apps/{app['id']}/workflows/draft",
        json={
            "graph": graph,
            "features": draft["features"],
            "hash": draft["hash"],
            "conversation_variables": conversation_variables or [],
        },
    )
    assert synced.status_code == 200, synced.text
    assert owner.post(f"/apps/{app['id']}/workflows/publish", json={}).status_code == 200
    return app["id"], {"Authorization": f"Bearer {owner.create_key(app['id'])}"}


def _chat_requests(fake: OpenAIFake) -> list[dict[str, Any]]:
    return [r for r in fake.requests if r.get("messages")]


def test_turns_stream_the_chatflow_event_mix_and_keep_memory_and_variables(owner: Console, fake: OpenAIFake) -> None:
    configure_openai(owner, fake)
    app_id, headers = publish(owner, "advanced-chat", GRAPH, CONVERSATION_VARIABLES)
    client = owner.client

    response = client.post(
        "/v1/chat-messages",
        headers=headers,
        json={"query": "hello there", "inputs": {"tone": "brief"}, "user": "u1", "response_mode": "streaming"},
    )
    assert response.status_code == 200, response.text
    events = sse_events(response)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "workflow_started"
    assert kinds[-2:] == ["workflow_finished", "message_end"]
    assert [e["data"]["node_id"] for e in events if e["event"] == "node_finished"] == [
        "start",
        "count",
        "llm",
        "answer",
    ]
    ids = {(e["task_id"], e["conversation_id"], e["message_id"], e["created_at"]) for e in events}
    assert len(ids) == 1
    messages = [e for e in events if e["event"] == "message"]
    assert len(messages) > 1  # streamed as the model produced it, not in one piece
    assert all(e["id"] == e["message_id"] and "data" not in e for e in messages)
    assert "".join(e["answer"] for e in messages) == "Echo: hello there (turn 1)"
    assert messages[0]["from_variable_selector"] == ["llm", "text"]
    assert kinds.index("message") < kinds.index("workflow_finished")
    end = events[-1]
    assert end["id"] == end["message_id"]
    usage = end["metadata"]["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0
    assert float(usage["total_price"]) > 0
    assert end["metadata"]["retriever_resources"] == []
    first = _chat_requests(fake)[-1]["messages"]
    assert first[0] == {"role": "system", "content": "Be brief."}
    conversation_id = end["conversation_id"]

    blocking = client.post(
        "/v1/chat-messages",
        headers=headers,
        json={"query": "and again", "inputs": {}, "user": "u1", "conversation_id": conversation_id},
    )
    assert blocking.status_code == 200, blocking.text
    body = blocking.json()
    assert body["mode"] == "advanced-chat"
    assert body["conversation_id"] == conversation_id
    assert body["answer"] == "Echo: and again (turn 2)"
    assert body["id"] == body["message_id"]
    assert body["metadata"]["usage"]["total_tokens"] > 0
    # Memory: the second model call sees the first turn; inputs stay those of the first turn.
    second = _chat_requests(fake)[-1]["messages"]
    assert second[0] == {"role": "system", "content": "Be brief."}
    assert {"role": "user", "content": "hello there"} in second
    assert {"role": "assistant", "content": "Echo: hello there (turn 1)"} in second
    assert second[-1] == {"role": "user", "content": "and again"}

    variables = client.get(f"/v1/conversations/{conversation_id}/variables", headers=headers, params={"user": "u1"})
    assert variables.status_code == 200, variables.text
    [turns] = variables.json()["data"]
    assert (turns["id"], turns["name"], turns["value_type"], turns["value"]) == ("var-turns", "turns", "number", 2)
    listed = client.get("/v1/messages", headers=headers, params={"user": "u1", "conversation_id": conversation_id})
    assert [m["answer"] for m in listed.json()["data"]] == ["Echo: hello there (turn 1)", "Echo: and again (turn 2)"]
    conversations = client.get("/v1/conversations", headers=headers, params={"user": "u1"}).json()["data"]
    assert [c["id"] for c in conversations] == [conversation_id]

    # A new conversation starts from the declared default again.
    fresh = client.post("/v1/chat-messages", headers=headers, json={"query": "new", "inputs": {}, "user": "u1"})
    assert fresh.json()["answer"] == "Echo: new (turn 1)"

    with client.app.state.loom.db.session() as session:
        saved = session.get(Message, body["message_id"])
        assert saved is not None
        run = session.get(WorkflowRun, saved.workflow_run_id)
        assert run is not None
        assert (run.status, run.conversation_id, run.message_id) == ("succeeded", conversation_id, saved.id)
        assert saved.answer_tokens > 0
        assert saved.total_price > 0
        values = session.scalars(
            select(ConversationVariable.value).where(ConversationVariable.conversation_id == conversation_id)
        ).all()
        assert values == [2]
    fetched = client.get(f"/v1/workflows/run/{saved.workflow_run_id}", headers=headers).json()
    assert fetched["outputs"]["answer"] == "Echo: and again (turn 2)"
    runs = owner.get(f"/apps/{app_id}/workflow-runs").json()["data"]
    assert len(runs) == 3


def test_unknown_or_foreign_conversation_is_404_before_any_stream(owner: Console, fake: OpenAIFake) -> None:
    configure_openai(owner, fake)
    _, headers = publish(owner, "advanced-chat", GRAPH, CONVERSATION_VARIABLES)
    client = owner.client
    first = client.post("/v1/chat-messages", headers=headers, json={"query": "hi", "inputs": {}, "user": "alice"})
    conversation_id = first.json()["conversation_id"]
    calls = len(fake.requests)
    for user, cid in (("bob", conversation_id), ("alice", str(uuid.uuid4()))):
        refused = client.post(
            "/v1/chat-messages",
            headers=headers,
            json={"query": "hi", "inputs": {}, "user": user, "conversation_id": cid, "response_mode": "streaming"},
        )
        assert refused.status_code == 404
        assert refused.headers["content-type"].startswith("application/json")
        assert refused.json()["message"] == "Conversation Not Exists."
    assert len(fake.requests) == calls
    empty = client.post("/v1/chat-messages", headers=headers, json={"query": " ", "inputs": {}, "user": "alice"})
    assert empty.status_code == 400


def test_a_failed_run_ends_with_an_error_event_and_a_saved_error_message(owner: Console, fake: OpenAIFake) -> None:
    configure_openai(owner, fake)
    _, headers = publish(owner, "advanced-chat", GRAPH, CONVERSATION_VARIABLES)
    client = owner.client
    fake.play("error_400")
    events = sse_events(
        client.post(
            "/v1/chat-messages",
            headers=headers,
            json={"query": "boom", "inputs": {}, "user": "u", "response_mode": "streaming"},
        )
    )
    assert [e["event"] for e in events][-2:] == ["workflow_finished", "error"]
    assert events[-2]["data"]["status"] == "failed"
    error = events[-1]
    assert (error["status"], error["code"]) == (400, "invalid_param")
    assert error["message"].startswith("Run failed: ")
    blocking = client.post("/v1/chat-messages", headers=headers, json={"query": "boom", "inputs": {}, "user": "u"})
    assert blocking.status_code == 400
    assert blocking.json()["code"] == "invalid_param"
    with client.app.state.loom.db.session() as session:
        saved = session.get(Message, error["message_id"])
        assert saved is not None
        assert saved.status == "error"
        assert saved.error


def test_stop_by_task_id_ends_the_turn_with_message_end(owner: Console, fake: OpenAIFake) -> None:
    configure_openai(owner, fake)
    _, headers = publish(owner, "advanced-chat", GRAPH, CONVERSATION_VARIABLES)
    client = owner.client
    fake.chunk_delay = 0.2
    events: list[dict[str, Any]] = []

    def consume() -> None:
        with client.stream(
            "POST",
            "/v1/chat-messages",
            headers=headers,
            json={"query": "a b c d e f g h i j", "inputs": {}, "user": "s", "response_mode": "streaming"},
        ) as response:
            for line in response.iter_lines():
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))

    reader = threading.Thread(target=consume)
    try:
        reader.start()
        deadline = time.monotonic() + 10
        while not any(e["event"] == "message" for e in events) and time.monotonic() < deadline:
            time.sleep(0.01)
        task_id = events[0]["task_id"]
        stopped = client.post(f"/v1/chat-messages/{task_id}/stop", headers=headers, json={"user": "s"})
        assert stopped.json() == {"result": "success"}
        reader.join(timeout=10)
    finally:
        fake.chunk_delay = 0.0
    assert [e["event"] for e in events][-2:] == ["workflow_finished", "message_end"]
    assert events[-2]["data"]["status"] == "stopped"
    answer = "".join(e["answer"] for e in events if e["event"] == "message")
    assert answer
    assert not answer.endswith("j")
    with client.app.state.loom.db.session() as session:
        saved = session.get(Message, events[-1]["message_id"])
        assert saved is not None
        assert saved.status == "stopped"


def test_console_debugger_runs_the_draft_and_web_app_hides_node_details(owner: Console, fake: OpenAIFake) -> None:
    configure_openai(owner, fake)
    app_id, _ = publish(owner, "advanced-chat", GRAPH, CONVERSATION_VARIABLES)
    client = owner.client
    # Edit the draft after publishing: the debugger runs the draft, the API the published version.
    draft = owner.get(f"/apps/{app_id}/workflows/draft").json()
    graph = json.loads(json.dumps(GRAPH))
    graph["nodes"][-1]["data"]["answer"] = "draft: {{#llm.text#}}"
    owner.post(
        f"/apps/{app_id}/workflows/draft",
        json={"graph": graph, "features": draft["features"], "hash": draft["hash"]},
    )
    response = owner.post(f"/apps/{app_id}/advanced-chat/workflows/draft/run", json={"query": "debug me", "inputs": {}})
    assert response.status_code == 200, response.text
    events = sse_events(response)
    assert events[-1]["event"] == "message_end"
    assert "".join(e["answer"] for e in events if e["event"] == "message") == "draft: Echo: debug me"
    run = owner.get(f"/apps/{app_id}/workflow-runs/{events[0]['workflow_run_id']}").json()
    assert run["version"] == "draft"
    again = owner.post(
        f"/apps/{app_id}/advanced-chat/workflows/draft/run",
        json={"query": "more", "inputs": {}, "conversation_id": events[-1]["conversation_id"]},
    )
    assert sse_events(again)[-1]["event"] == "message_end"

    code = owner.get(f"/apps/{app_id}").json()["site"]["access_token"]
    token = client.get("/api/passport", headers={"X-App-Code": code}).json()["access_token"]
    visitor = {"Authorization": f"Bearer {token}", "X-App-Code": code}
    web = sse_events(
        client.post(
            "/api/chat-messages", headers=visitor, json={"query": "web", "inputs": {}, "response_mode": "streaming"}
        )
    )
    assert "".join(e["answer"] for e in web if e["event"] == "message") == "Echo: web (turn 1)"
    assert all(e["data"]["outputs"] is None for e in web if e["event"] == "node_finished")
    assert "usage" not in web[-1]["metadata"]


def test_a_chosen_published_version_answers_when_named(owner: Console, fake: OpenAIFake) -> None:
    configure_openai(owner, fake)
    app_id, headers = publish(owner, "advanced-chat", GRAPH, CONVERSATION_VARIABLES)
    [first] = owner.get(f"/apps/{app_id}/workflows").json()["items"]
    draft = owner.get(f"/apps/{app_id}/workflows/draft").json()
    graph = json.loads(json.dumps(GRAPH))
    graph["nodes"][-1]["data"]["answer"] = "v2: {{#llm.text#}}"
    owner.post(
        f"/apps/{app_id}/workflows/draft", json={"graph": graph, "features": draft["features"], "hash": draft["hash"]}
    )
    assert owner.post(f"/apps/{app_id}/workflows/publish", json={}).status_code == 200
    client = owner.client
    current = client.post("/v1/chat-messages", headers=headers, json={"query": "q", "inputs": {}, "user": "u"})
    assert current.json()["answer"] == "v2: Echo: q"
    chosen = client.post(
        "/v1/chat-messages", headers=headers, json={"query": "q", "inputs": {}, "user": "u", "workflow_id": first["id"]}
    )
    assert chosen.json()["answer"] == "Echo: q (turn 1)"
    unknown = client.post(
        "/v1/chat-messages",
        headers=headers,
        json={"query": "q", "inputs": {}, "user": "u", "workflow_id": str(uuid.uuid4())},
    )
    assert unknown.status_code == 404
