"""Workflow runs through `/v1` and the console: prepare checks, streaming, blocking, records, logs, stop."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from loomworks.api.app import build_state, create_app
from loomworks.core.config import Settings
from tests._console import OWNER_EMAIL, OWNER_PASSWORD, Console
from tests._fake_engine import PassThroughEngine
from tests._scripted_model import sse_events

GRAPH = {
    "nodes": [
        {
            "id": "start",
            "data": {
                "type": "start",
                "title": "Start",
                "variables": [
                    {"variable": "topic", "label": "Topic", "type": "text-input", "required": True, "max_length": 20},
                    {"variable": "count", "label": "Count", "type": "number", "required": False},
                ],
            },
        },
        {
            "id": "end",
            "data": {
                "type": "end",
                "title": "End",
                "outputs": [{"variable": "result", "value_selector": ["start", "topic"]}],
            },
        },
    ],
    "edges": [{"id": "e1", "source": "start", "target": "end", "sourceHandle": "source", "targetHandle": "target"}],
}


@pytest.fixture
def engine() -> PassThroughEngine:
    return PassThroughEngine()


@pytest.fixture
def flow_owner(settings: Settings, engine: PassThroughEngine) -> Iterator[Console]:
    with TestClient(create_app(settings, state=build_state(settings, engine=engine))) as client:
        client.post("/console/api/setup", json={"email": OWNER_EMAIL, "name": "Owner", "password": OWNER_PASSWORD})
        yield Console(client, OWNER_EMAIL, OWNER_PASSWORD).login()


def _published(owner: Console) -> tuple[dict[str, str], str]:
    app = owner.create_app("Flow", "workflow")
    draft = owner.get(f"/apps/{app['id']}/workflows/draft").json()
    owner.post(f"/apps/{app['id']}/workflows/draft", json={"graph": GRAPH, "features": {}, "hash": draft["hash"]})
    owner.post(f"/apps/{app['id']}/workflows/publish", json={"marked_name": "v1"})
    return {"Authorization": f"Bearer {owner.create_key(app['id'])}"}, app["id"]


def test_blocking_and_streaming_runs_are_recorded(flow_owner: Console) -> None:
    client = flow_owner.client
    headers, app_id = _published(flow_owner)
    blocking = client.post("/v1/workflows/run", headers=headers, json={"inputs": {"topic": "tides"}, "user": "u"})
    assert blocking.status_code == 200, blocking.text
    body = blocking.json()
    assert body["data"]["status"] == "succeeded"
    assert body["data"]["outputs"] == {"result": "tides"}
    assert body["workflow_run_id"] == body["data"]["id"]
    fetched = client.get(f"/v1/workflows/run/{body['workflow_run_id']}", headers=headers).json()
    assert (fetched["status"], fetched["outputs"], fetched["total_steps"]) == ("succeeded", {"result": "tides"}, 2)

    events = sse_events(
        client.post(
            "/v1/workflows/run",
            headers=headers,
            json={"inputs": {"topic": "moon"}, "user": "u", "response_mode": "streaming"},
        )
    )
    assert [e["event"] for e in events] == [
        "workflow_started",
        "node_started",
        "node_finished",
        "node_started",
        "node_finished",
        "workflow_finished",
    ]
    assert len({(e["task_id"], e["workflow_run_id"]) for e in events}) == 1
    run_id = events[0]["workflow_run_id"]
    nodes = flow_owner.get(f"/apps/{app_id}/workflow-runs/{run_id}/node-executions").json()["data"]
    assert [(n["node_id"], n["status"]) for n in nodes] == [("start", "succeeded"), ("end", "succeeded")]
    history = flow_owner.get(f"/apps/{app_id}/workflow-runs").json()
    assert len(history["data"]) == 2
    logs = client.get("/v1/workflows/logs", headers=headers).json()
    assert logs["total"] == 2
    assert logs["data"][0]["created_by_end_user"]["session_id"] == "u"
    assert client.get("/v1/workflows/logs", headers=headers, params={"keyword": "tides"}).json()["total"] == 1
    assert client.get("/v1/workflows/logs", headers=headers, params={"status": "failed"}).json()["total"] == 0


def test_run_input_errors_before_any_stream(flow_owner: Console) -> None:
    client = flow_owner.client
    headers, _ = _published(flow_owner)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"inputs": {}, "user": "u"}, "topic is required in input form"),
        ({"inputs": {"topic": "x" * 21}, "user": "u"}, "topic in input form must be less than 20 characters"),
        ({"inputs": {"topic": "a", "count": "many"}, "user": "u"}, "count in input form must be a valid number"),
        ({"inputs": {"topic": "a"}}, "Arg user must be provided."),
    ]
    for body, message in cases:
        response = client.post("/v1/workflows/run", headers=headers, json={**body, "response_mode": "streaming"})
        assert (response.status_code, response.json()["message"]) == (400, message)
    chat = flow_owner.create_app("Chat")
    chat_headers = {"Authorization": f"Bearer {flow_owner.create_key(chat['id'])}"}
    wrong = client.post("/v1/workflows/run", headers=chat_headers, json={"inputs": {}, "user": "u"})
    assert wrong.json()["code"] == "not_workflow_app"
    unpublished = flow_owner.create_app("Draft only", "workflow")
    draft_headers = {"Authorization": f"Bearer {flow_owner.create_key(unpublished['id'])}"}
    assert client.post("/v1/workflows/run", headers=draft_headers, json={"inputs": {}, "user": "u"}).status_code == 400


def test_console_runs_the_draft(flow_owner: Console) -> None:
    _, app_id = _published(flow_owner)
    draft = flow_owner.get(f"/apps/{app_id}/workflows/draft").json()
    graph = json.loads(json.dumps(GRAPH))
    graph["nodes"][1]["data"]["outputs"].append({"variable": "echo", "value_selector": ["start", "topic"]})
    flow_owner.post(f"/apps/{app_id}/workflows/draft", json={"graph": graph, "features": {}, "hash": draft["hash"]})
    events = sse_events(flow_owner.post(f"/apps/{app_id}/workflows/draft/run", json={"inputs": {"topic": "draft"}}))
    assert events[-1]["data"]["outputs"] == {"result": "draft", "echo": "draft"}
    run = flow_owner.get(f"/apps/{app_id}/workflow-runs/{events[-1]['workflow_run_id']}").json()
    assert run["version"] == "draft"


def test_stop_a_run(flow_owner: Console, engine: PassThroughEngine) -> None:
    client = flow_owner.client
    headers, _ = _published(flow_owner)
    engine.delay = 0.3
    events: list[dict[str, Any]] = []

    def consume() -> None:
        with client.stream(
            "POST",
            "/v1/workflows/run",
            headers=headers,
            json={"inputs": {"topic": "t"}, "user": "s", "response_mode": "streaming"},
        ) as response:
            for line in response.iter_lines():
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))

    reader = threading.Thread(target=consume)
    reader.start()
    deadline = time.monotonic() + 10
    while not events and time.monotonic() < deadline:
        time.sleep(0.01)
    stopped = client.post(f"/v1/workflows/tasks/{events[0]['task_id']}/stop", headers=headers, json={"user": "s"})
    assert stopped.json() == {"result": "success"}
    reader.join(timeout=10)
    assert events[-1]["event"] == "workflow_finished"
    assert events[-1]["data"]["status"] == "stopped"
    fetched = client.get(f"/v1/workflows/run/{events[-1]['workflow_run_id']}", headers=headers).json()
    assert fetched["status"] == "stopped"


def test_web_app_runs_hide_node_details(flow_owner: Console) -> None:
    client = flow_owner.client
    _, app_id = _published(flow_owner)
    code = flow_owner.get(f"/apps/{app_id}").json()["site"]["access_token"]
    token = client.get("/api/passport", headers={"X-App-Code": code}).json()["access_token"]
    visitor = {"Authorization": f"Bearer {token}", "X-App-Code": code}
    events = sse_events(client.post("/api/workflows/run", headers=visitor, json={"inputs": {"topic": "web"}}))
    assert events[-1]["data"]["outputs"] == {"result": "web"}
    finished = [e for e in events if e["event"] == "node_finished"]
    assert finished
    assert all(e["data"]["outputs"] is None and e["data"]["inputs"] is None for e in finished)
