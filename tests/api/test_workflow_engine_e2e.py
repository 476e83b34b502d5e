"""Workflow and chatflow apps end to end through the real engine and model runtime.

The fake OpenAI server answers over HTTP; the workspace's provider credentials are saved through
the console as a user would. Covers `/v1/workflows/run` (blocking and streaming), a chatflow from
the DSL corpus imported through `POST /console/api/apps/imports`, running one node alone from the
console, and re-running a recorded run from a chosen node.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from loomworks.store.tables import WorkflowNodeExecution
from tests._console import Console
from tests._scripted_model import sse_events
from tests.api.test_chatflow import MODEL, _edge, _node, configure_openai, publish
from tests.fakes.openai import OpenAIFake, openai_fake

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "dsl-corpus"
WORKFLOW = {
    "nodes": [
        _node("start", {"type": "start", "variables": [{"variable": "topic", "type": "text-input", "required": True}]}),
        _node(
            "shape",
            {
                "type": "template-transform",
                "template": "about {{ t }}",
                "variables": [{"variable": "t", "value_selector": ["start", "topic"]}],
            },
        ),
        _node(
            "llm",
            {
                "type": "llm",
                "model": MODEL,
                "prompt_template": [{"role": "user", "text": "{{#shape.output#}}"}],
                "context": {"enabled": False, "variable_selector": []},
                "vision": {"enabled": False},
            },
        ),
        _node("end", {"type": "end", "outputs": [{"variable": "answer", "value_selector": ["llm", "text"]}]}),
    ],
    "edges": [_edge("start", "shape"), _edge("shape", "llm"), _edge("llm", "end")],
}


@pytest.fixture(scope="module")
def fake() -> Iterator[OpenAIFake]:
    with openai_fake() as server:
        yield server


@pytest.fixture(autouse=True)
def _reset(fake: OpenAIFake) -> None:
    fake.reset()


def _chat_requests(fake: OpenAIFake) -> list[dict[str, Any]]:
    return [r for r in fake.requests if r.get("messages")]


def test_workflow_app_runs_an_llm_blocking_and_streaming(owner: Console, fake: OpenAIFake) -> None:
    configure_openai(owner, fake)
    app_id, headers = publish(owner, "workflow", WORKFLOW)
    client = owner.client
    blocking = client.post("/v1/workflows/run", headers=headers, json={"inputs": {"topic": "tides"}, "user": "u"})
    assert blocking.status_code == 200, blocking.text
    data = blocking.json()["data"]
    assert (data["status"], data["outputs"]) == ("succeeded", {"answer": "Echo: about tides"})
    assert data["total_tokens"] > 0
    assert _chat_requests(fake)[-1]["messages"] == [{"role": "user", "content": "about tides"}]

    events = sse_events(
        client.post(
            "/v1/workflows/run",
            headers=headers,
            json={"inputs": {"topic": "the moon"}, "user": "u", "response_mode": "streaming"},
        )
    )
    kinds = [e["event"] for e in events]
    assert kinds[0] == "workflow_started"
    assert kinds[-1] == "workflow_finished"
    chunks = [e["data"]["text"] for e in events if e["event"] == "text_chunk"]
    assert len(chunks) > 1
    assert "".join(chunks) == "Echo: about the moon"
    assert events[-1]["data"]["outputs"] == {"answer": "Echo: about the moon"}
    nodes = owner.get(f"/apps/{app_id}/workflow-runs/{events[-1]['workflow_run_id']}/node-executions").json()["data"]
    assert [n["node_id"] for n in nodes] == ["start", "shape", "llm", "end"]
    llm = nodes[2]
    assert llm["outputs"]["text"] == "Echo: about the moon"
    assert llm["execution_metadata"]["total_tokens"] > 0


def test_a_corpus_chatflow_imports_and_answers_with_memory(owner: Console, fake: OpenAIFake) -> None:
    # An exported Dify chatflow (start -> llm with memory -> answer) naming DeepSeek's model; DeepSeek
    # speaks OpenAI's wire format, so the fake server stands in for it.
    path = CORPUS / "svcvit__Awesome-Dify-Workflow" / "DSL__Python Coding Prompt.yml"
    imported = owner.post("/apps/imports", json={"mode": "yaml-content", "yaml_content": path.read_text()})
    assert imported.status_code == 200, imported.text
    result = imported.json()
    assert result["status"] in ("completed", "completed-with-warnings"), result
    assert result["app_mode"] == "advanced-chat"
    app_id = result["app_id"]
    saved = owner.post(
        "/workspaces/current/model-providers/deepseek",
        json={"credentials": {"api_key": fake.api_key, "endpoint_url": fake.base_url}},
    )
    assert saved.json() == {"result": "success"}, saved.text
    assert owner.post(f"/apps/{app_id}/workflows/publish", json={"marked_name": "imported"}).status_code == 200
    headers = {"Authorization": f"Bearer {owner.create_key(app_id)}"}
    client = owner.client

    events = sse_events(
        client.post(
            "/v1/chat-messages",
            headers=headers,
            json={"query": "How do I read a file?", "inputs": {}, "user": "dev", "response_mode": "streaming"},
        )
    )
    assert [e["event"] for e in events][-2:] == ["workflow_finished", "message_end"]
    assert "".join(e["answer"] for e in events if e["event"] == "message") == "Echo: How do I read a file?"
    sent = _chat_requests(fake)[-1]
    assert sent["model"] == "deepseek-coder"
    assert sent["messages"][0]["role"] == "system"
    assert "expert in Python development" in sent["messages"][0]["content"]

    second = client.post(
        "/v1/chat-messages",
        headers=headers,
        json={
            "query": "And write one?",
            "inputs": {},
            "user": "dev",
            "conversation_id": events[-1]["conversation_id"],
        },
    )
    assert second.status_code == 200, second.text
    assert second.json()["answer"] == "Echo: And write one?"
    history = _chat_requests(fake)[-1]["messages"]
    assert {"role": "assistant", "content": "Echo: How do I read a file?"} in history


def test_one_node_runs_alone_from_the_console_and_is_recorded(owner: Console, fake: OpenAIFake) -> None:
    configure_openai(owner, fake)
    app_id, _ = publish(owner, "workflow", WORKFLOW)
    response = owner.post(f"/apps/{app_id}/workflows/draft/nodes/llm/run", json={"inputs": {"#shape.output#": "solo"}})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["node_id"], body["node_type"], body["status"]) == ("llm", "llm", "succeeded")
    assert body["outputs"]["text"] == "Echo: solo"
    assert _chat_requests(fake)[-1]["messages"] == [{"role": "user", "content": "solo"}]
    with owner.client.app.state.loom.db.session() as session:
        rows = list(session.scalars(select(WorkflowNodeExecution).where(WorkflowNodeExecution.app_id == app_id)))
    assert [(r.node_id, r.triggered_from, r.workflow_run_id) for r in rows] == [("llm", "single-step", None)]
    missing = owner.post(f"/apps/{app_id}/workflows/draft/nodes/nope/run", json={"inputs": {}})
    assert missing.status_code == 404


def test_a_run_reruns_from_a_node_with_the_recorded_upstream(owner: Console, fake: OpenAIFake) -> None:
    configure_openai(owner, fake)
    app_id, headers = publish(owner, "workflow", WORKFLOW)
    client = owner.client
    first = client.post("/v1/workflows/run", headers=headers, json={"inputs": {"topic": "rivers"}, "user": "u"})
    run_id = first.json()["workflow_run_id"]
    calls = len(_chat_requests(fake))
    rerun = owner.post(f"/apps/{app_id}/workflow-runs/{run_id}/rerun", params={"from_node": "llm"})
    assert rerun.status_code == 200, rerun.text
    events = sse_events(rerun)
    assert [e["data"]["node_id"] for e in events if e["event"] == "node_started"] == ["llm", "end"]
    assert events[-1]["data"]["outputs"] == {"answer": "Echo: about rivers"}
    assert len(_chat_requests(fake)) == calls + 1
    assert events[-1]["workflow_run_id"] != run_id
    unknown = owner.post(f"/apps/{app_id}/workflow-runs/{run_id}/rerun", params={"from_node": "nope"})
    assert unknown.status_code == 404
