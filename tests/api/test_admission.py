"""Turns beyond a process's limits are refused before routing (DESIGN §7: a fast 429, never a queue)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from loomworks.api.app import build_state, create_app
from loomworks.core.config import Settings
from loomworks.services.chat.pipeline import ChatService
from tests._console import Console
from tests._scripted_model import ScriptedModels, configured_app, sse_events
from tests.conftest import OWNER_EMAIL, OWNER_PASSWORD

BODY = {"query": "hi", "inputs": {}, "user": "alice", "auto_generate_name": False}
NO_KEY = {"Authorization": "Bearer app-not-a-key"}


def _service(client: TestClient) -> ChatService:
    return client.app.state.loom.extras["chat"]


def test_a_full_process_refuses_before_authenticating(chat_owner: Console, models: ScriptedModels) -> None:
    client = chat_owner.client
    headers, _ = configured_app(chat_owner)
    metrics = client.app.state.loom.extras["metrics"]
    _service(client).max_blocking = 0

    refused = client.post("/v1/chat-messages", headers=NO_KEY, json=BODY)
    assert refused.status_code == 429  # not 401: nothing about the request was looked at but its mode
    assert refused.json() == {
        "code": "too_many_requests",
        "message": "Too many answers in progress on this server. Please try again shortly.",
        "status": 429,
    }
    assert refused.headers["x-request-id"]
    completion = client.post("/v1/completion-messages", headers=NO_KEY, json={"inputs": {}, "user": "alice"})
    assert completion.status_code == 429
    assert models.model.requests == []
    assert metrics.errors.value(code="too_many_requests") == 2
    assert metrics.requests.value(method="POST", route="/v1/chat-messages", status="429") == 1

    # Under the limit nothing changes: a bad key is a 401 again, and a real turn is answered.
    _service(client).max_blocking = 1
    assert client.post("/v1/chat-messages", headers=NO_KEY, json=BODY).status_code == 401
    assert client.post("/v1/chat-messages", headers=headers, json=BODY).json()["answer"]


def test_only_the_full_kind_of_turn_is_refused(chat_owner: Console) -> None:
    client = chat_owner.client
    headers, _ = configured_app(chat_owner)
    service = _service(client)
    service.max_blocking = 0

    def chunks() -> Iterator[bytes]:  # the body arrives in parts: what was read to find the mode is replayed
        yield b'{"query": "hi", "inputs": {}, "user": "alice", '
        yield b'"response_mode": "streaming", "auto_generate_name": false}'

    streamed = client.post(
        "/v1/chat-messages", headers={**headers, "Content-Type": "application/json"}, content=chunks()
    )
    assert streamed.status_code == 200, streamed.text
    assert sse_events(streamed)[-1]["event"] == "message_end"

    service.max_blocking, service.max_streams = 1, 0
    refused = client.post("/v1/chat-messages", headers=NO_KEY, json={**BODY, "response_mode": "streaming"})
    assert refused.status_code == 429
    assert client.post("/v1/chat-messages", headers=headers, json=BODY).status_code == 200


def test_a_body_the_middleware_cannot_read_goes_to_the_route(chat_owner: Console) -> None:
    client = chat_owner.client
    headers, _ = configured_app(chat_owner)
    _service(client).max_blocking = _service(client).max_streams = 0

    broken = client.post("/v1/chat-messages", headers={**headers, "Content-Type": "application/json"}, content=b"{")
    assert broken.status_code == 400
    assert broken.json()["code"] == "invalid_param"
    # Other paths and methods are never held up, however full the process is.
    assert client.get("/v1/info", headers=headers).status_code == 200
    assert client.post("/v1/chat-messages/some-task/stop", headers=headers, json={"user": "alice"}).status_code == 200


@pytest.fixture
def limited_client(tmp_path: Path, database_url: str, models: ScriptedModels) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key="test-secret-key-of-enough-length-0123456789",
        migrate_on_start=False,
        log_json=False,
        sandbox_check_on_start=False,
        chat_max_blocking_turns=0,
        chat_max_streaming_turns=7,
    )
    with TestClient(create_app(settings, state=build_state(settings, models=models))) as client:
        yield client


def test_the_limits_are_settings(limited_client: TestClient) -> None:
    service = _service(limited_client)
    assert (service.max_blocking, service.max_streams) == (0, 7)
    limited_client.post("/console/api/setup", json={"email": OWNER_EMAIL, "name": "Owner", "password": OWNER_PASSWORD})
    headers, _ = configured_app(Console(limited_client, OWNER_EMAIL, OWNER_PASSWORD).login())
    assert limited_client.post("/v1/chat-messages", headers=headers, json=BODY).status_code == 429
    streamed = limited_client.post("/v1/chat-messages", headers=headers, json={**BODY, "response_mode": "streaming"})
    assert streamed.status_code == 200
