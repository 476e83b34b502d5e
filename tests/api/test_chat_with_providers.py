"""Chat and completion apps answering through the real model runtime, against a fake OpenAI server.

The whole path: a workspace admin saves provider credentials through the console (validated with a
real call), an app's model config names the model, and `/v1` answers with the vendor's text, the
vendor's token counts and prices from the model's YAML.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from loomworks.store.tables import ModelCall
from tests._console import Console
from tests._scripted_model import sse_events
from tests.fakes.openai import OpenAIFake, openai_fake

BASE = "/workspaces/current"


@pytest.fixture(scope="module")
def fake() -> Iterator[OpenAIFake]:
    with openai_fake() as server:
        yield server


@pytest.fixture(autouse=True)
def _reset(fake: OpenAIFake) -> None:
    fake.reset()


def _app(owner: Console, mode: str, model: dict[str, Any]) -> dict[str, str]:
    app = owner.create_app(f"{mode} over a provider", mode)
    config = dict(app["model_config"])
    config["model"] = model
    if mode == "completion":
        config["user_input_form"] = [{"paragraph": {"label": "Query", "variable": "query", "required": True}}]
        config["pre_prompt"] = "{{query}}"
    saved = owner.post(f"/apps/{app['id']}/model-config", json=config)
    assert saved.status_code == 200, saved.text
    return {"Authorization": f"Bearer {owner.create_key(app['id'])}"}


def test_openai_provider_answers_chat_with_usage_and_price(owner: Console, fake: OpenAIFake) -> None:
    fake.play("error_401")
    refused = owner.post(
        f"{BASE}/model-providers/openai",
        json={"credentials": {"openai_api_key": "sk-wrong", "openai_api_base": fake.base_url}},
    )
    assert refused.status_code == 400
    assert refused.json()["params"] == "openai_api_key"
    assert "Incorrect API key provided" in refused.json()["message"]

    fake.play("chatty")
    saved = owner.post(
        f"{BASE}/model-providers/langgenius/openai/openai",
        json={"credentials": {"openai_api_key": fake.api_key, "openai_api_base": fake.base_url}},
    )
    assert saved.json() == {"result": "success"}, saved.text
    headers = _app(
        owner, "chat", {"provider": "openai", "name": "gpt-4o-mini", "mode": "chat", "completion_params": {}}
    )
    client = owner.client

    blocking = client.post(
        "/v1/chat-messages",
        headers=headers,
        json={"query": "hello there", "inputs": {}, "user": "u1", "auto_generate_name": False},
    )
    assert blocking.status_code == 200, blocking.text
    body = blocking.json()
    assert body["answer"] == "Echo: hello there"
    usage = body["metadata"]["usage"]
    assert usage["completion_tokens"] > 0
    assert usage["prompt_tokens"] > 0
    # gpt-4o-mini is priced at 0.15 / 0.6 USD per million tokens in its YAML.
    expected = (
        Decimal(usage["prompt_tokens"]) * Decimal("0.15") / 10**6
        + Decimal(usage["completion_tokens"]) * Decimal("0.6") / 10**6
    )
    assert Decimal(usage["total_price"]) == expected.quantize(Decimal("0.0000001"))
    sent = [r for r in fake.requests if r.get("messages")][-1]
    assert sent["model"] == "gpt-4o-mini"
    assert sent["messages"][-1] == {"role": "user", "content": "hello there"}
    assert [c for c in fake.calls if c.body.get("messages")][-1].headers["authorization"] == f"Bearer {fake.api_key}"

    streamed = client.post(
        "/v1/chat-messages",
        headers=headers,
        json={
            "query": "stream me",
            "inputs": {},
            "user": "u1",
            "response_mode": "streaming",
            "conversation_id": body["conversation_id"],
        },
    )
    events = sse_events(streamed)
    assert "".join(e["answer"] for e in events if e["event"] == "message") == "Echo: stream me"
    assert events[-1]["event"] == "message_end"
    assert int(events[-1]["metadata"]["usage"]["total_tokens"]) > 0
    history = [r for r in fake.requests if r.get("messages")][-1]["messages"]
    assert {"role": "assistant", "content": "Echo: hello there"} in history

    with client.app.state.loom.db.session() as session:
        calls = list(session.scalars(select(ModelCall).where(ModelCall.provider == "openai")))
    assert calls
    assert all(c.total_price > 0 for c in calls)


def test_vendor_failure_mid_stream_ends_with_an_error_event(owner: Console, fake: OpenAIFake) -> None:
    owner.post(
        f"{BASE}/model-providers/openai",
        json={"credentials": {"openai_api_key": fake.api_key, "openai_api_base": fake.base_url}},
    )
    headers = _app(
        owner, "chat", {"provider": "openai", "name": "gpt-4o-mini", "mode": "chat", "completion_params": {}}
    )
    fake.play("drop")
    streamed = owner.client.post(
        "/v1/chat-messages",
        headers=headers,
        json={"query": "hi", "inputs": {}, "user": "u1", "response_mode": "streaming"},
    )
    events = sse_events(streamed)
    assert events[-1]["event"] == "error"
    fake.play("error_400")
    blocking = owner.client.post("/v1/chat-messages", headers=headers, json={"query": "hi", "inputs": {}, "user": "u1"})
    assert (blocking.status_code, blocking.json()["code"]) == (400, "completion_request_error")


def test_custom_openai_compatible_model_serves_a_completion_app(owner: Console, fake: OpenAIFake) -> None:
    body = {
        "model": "my-local-llm",
        "model_type": "llm",
        "credentials": {"endpoint_url": fake.open_url, "mode": "chat", "context_size": "8192"},
    }
    saved = owner.post(f"{BASE}/model-providers/openai_api_compatible/models", json=body)
    assert saved.json() == {"result": "success"}, saved.text
    headers = _app(
        owner,
        "completion",
        {"provider": "openai_api_compatible", "name": "my-local-llm", "mode": "chat", "completion_params": {}},
    )
    answer = owner.client.post(
        "/v1/completion-messages", headers=headers, json={"inputs": {"query": "write a haiku"}, "user": "u2"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["answer"] == "Echo: write a haiku"
    sent = [r for r in fake.requests if r.get("messages")][-1]
    assert sent["model"] == "my-local-llm"
    assert "authorization" not in fake.calls[-1].headers  # no api key configured, none sent
