"""The chat hot path's shortcuts keep behaviour: remembered bound models, admission limits (DESIGN §7)."""

from __future__ import annotations

from typing import Any

from loomworks.services.chat.pipeline import ChatService
from tests._console import Console
from tests._scripted_model import ScriptedModels, configured_app
from tests.fakes.openai import openai_fake

BASE = "/workspaces/current"
MODEL = {"provider": "openai", "name": "gpt-4o-mini", "mode": "chat", "completion_params": {}}


def _openai_app(owner: Console) -> dict[str, str]:
    app = owner.create_app("hot path", "chat")
    config = dict(app["model_config"])
    config["model"] = MODEL
    assert owner.post(f"/apps/{app['id']}/model-config", json=config).status_code == 200
    return {"Authorization": f"Bearer {owner.create_key(app['id'])}"}


def _ask(owner: Console, headers: dict[str, str], query: str) -> Any:
    body = {"query": query, "inputs": {}, "user": "u1", "auto_generate_name": False}
    return owner.client.post("/v1/chat-messages", headers=headers, json=body)


def test_changed_credentials_reach_the_very_next_turn(owner: Console) -> None:
    with openai_fake() as first, openai_fake() as second:
        saved = owner.post(
            f"{BASE}/model-providers/openai",
            json={"credentials": {"openai_api_key": first.api_key, "openai_api_base": first.base_url}},
        )
        assert saved.status_code == 200, saved.text
        headers = _openai_app(owner)
        assert _ask(owner, headers, "one").json()["answer"] == "Echo: one"
        assert _ask(owner, headers, "two").status_code == 200  # answered by the remembered binding
        assert [r["messages"][-1]["content"] for r in first.requests if r.get("messages")][-2:] == ["one", "two"]

        moved = owner.post(
            f"{BASE}/model-providers/openai",
            json={"credentials": {"openai_api_key": second.api_key, "openai_api_base": second.base_url}},
        )
        assert moved.status_code == 200, moved.text
        calls_before = len(first.requests)
        assert _ask(owner, headers, "three").json()["answer"] == "Echo: three"
        assert [r["messages"][-1]["content"] for r in second.requests if r.get("messages")] == ["three"]
        assert len(first.requests) == calls_before

        assert owner.delete(f"{BASE}/model-providers/openai").status_code in (200, 204)
        gone = _ask(owner, headers, "four")
        assert gone.status_code == 400, gone.text
        assert gone.json()["code"] == "provider_not_initialize"


def test_turns_beyond_capacity_are_refused_at_once(chat_owner: Console, models: ScriptedModels) -> None:
    client = chat_owner.client
    headers, _ = configured_app(chat_owner)
    service: ChatService = client.app.state.loom.extras["chat"]
    body = {"query": "hi", "inputs": {}, "user": "alice", "auto_generate_name": False}

    service.max_blocking = 0
    refused = client.post("/v1/chat-messages", headers=headers, json=body)
    assert refused.status_code == 429
    assert refused.json()["code"] == "too_many_requests"
    assert models.model.requests == []  # refused before any work

    service.max_streams = 0
    streamed = client.post("/v1/chat-messages", headers=headers, json={**body, "response_mode": "streaming"})
    assert streamed.status_code == 429

    service.max_blocking, service.max_streams = 1, 1
    assert client.post("/v1/chat-messages", headers=headers, json=body).status_code == 200
    assert client.post("/v1/chat-messages", headers=headers, json=body).status_code == 200  # the slot was freed
    assert service._blocking == 0  # noqa: SLF001 - the slot count itself is what must return to zero
