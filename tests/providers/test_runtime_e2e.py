"""The model runtime end to end: providers configured through the console, calls through the runtime.

Three vendors (an OpenAI-compatible custom model, Anthropic, Ollama) are pointed at their fakes
through Dify's console paths; a Python call through the workspace's runtime then streams their
tokens with usage and price. Retries and load balancing are observed on the fakes' request logs.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from loomworks.providers.base import LLMRequest
from loomworks.providers.errors import InvokeRateLimitError
from loomworks.providers.runtime import CredentialSet, ModelRuntime
from tests._console import Console
from tests._live_server import live_server
from tests.fakes import anthropic, ollama
from tests.fakes.openai import OpenAIFake, openai_fake

BASE = "/workspaces/current"


@pytest.fixture(scope="module")
def fakes() -> Iterator[dict[str, object]]:
    anthropic_log: list[dict] = []
    ollama_log: list[dict] = []
    with (
        openai_fake() as openai,
        openai_fake() as limited,
        live_server(anthropic.create_app(["text"], anthropic_log)) as anthropic_url,
        live_server(ollama.create_app(["text"], ollama_log)) as ollama_url,
    ):
        limited.play("error_429")
        yield {
            "openai": openai,
            "limited": limited,
            "anthropic": anthropic_url,
            "ollama": ollama_url,
            "anthropic_log": anthropic_log,
        }


def _stream(client: TestClient, tenant_id: str, provider: str, model: str) -> tuple[str, object]:
    state = client.app.state.loom
    models = state.extras["models"]

    async def call() -> tuple[str, object]:
        with state.db.session() as session:
            bound = models.bind_llm(session, tenant_id=tenant_id, provider=provider, model=model)
        text, usage = [], None
        async for chunk in bound.stream(LLMRequest(model=model, messages=[{"role": "user", "content": "Say hello"}])):
            text.append(chunk.text)
            usage = chunk.usage or usage
        return "".join(text), usage

    return client.portal.call(call)  # type: ignore[union-attr]


def test_three_vendors_configured_in_the_console_stream_with_usage(owner: Console, fakes: dict) -> None:
    openai: OpenAIFake = fakes["openai"]
    assert owner.post(
        f"{BASE}/model-providers/anthropic",
        json={"credentials": {"anthropic_api_key": anthropic.GOOD_KEY, "anthropic_api_url": fakes["anthropic"]}},
    ).json() == {"result": "success"}
    wrong = owner.post(
        f"{BASE}/model-providers/anthropic",
        json={"credentials": {"anthropic_api_key": "sk-ant-wrong", "anthropic_api_url": fakes["anthropic"]}},
    )
    assert (wrong.status_code, wrong.json()["params"]) == (400, "anthropic_api_key")
    ollama_model = {
        "model": "llama3.2",
        "model_type": "llm",
        "credentials": {"base_url": fakes["ollama"], "mode": "chat", "context_size": "8192", "max_tokens": "512"},
    }
    assert owner.post(f"{BASE}/model-providers/ollama/models", json=ollama_model).json() == {"result": "success"}
    custom = {
        "model": "local-qwen",
        "model_type": "llm",
        "credentials": {"endpoint_url": openai.open_url, "mode": "chat", "context_size": "32768"},
    }
    assert owner.post(f"{BASE}/model-providers/openai_api_compatible/models", json=custom).json() == {
        "result": "success"
    }
    tenant_id = owner.get("/workspaces/current").json()["id"]
    client = owner.client

    text, usage = _stream(client, tenant_id, "anthropic", "claude-3-5-haiku-20241022")
    assert text == "Hello world"
    assert usage.completion_tokens == 2
    assert not usage.estimated
    # claude-3-5-haiku: 0.8 / 4 USD per million tokens.
    assert usage.total_price == (
        Decimal(usage.prompt_tokens) * Decimal("0.8") / 10**6 + Decimal(2) * Decimal(4) / 10**6
    ).quantize(Decimal("0.0000001"))
    assert usage.time_to_first_token is not None
    assert usage.latency >= usage.time_to_first_token
    assert fakes["anthropic_log"][-1]["model"] == "claude-3-5-haiku-20241022"

    text, usage = _stream(client, tenant_id, "ollama", "llama3.2")
    assert text == "Hello world"
    assert usage.completion_tokens == 2

    openai.play("chatty")
    text, usage = _stream(client, tenant_id, "langgenius/openai_api_compatible/openai_api_compatible", "local-qwen")
    assert text == "Echo: Say hello"
    assert usage.total_price == 0  # a custom model has no pricing
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens > 0


async def test_rate_limited_credentials_are_retried_elsewhere_and_cooled(fakes: dict) -> None:
    openai: OpenAIFake = fakes["openai"]
    limited: OpenAIFake = fakes["limited"]
    openai.play("chatty")
    runtime = ModelRuntime(backoff=0.0, cooldown=60)
    sets = [
        CredentialSet(id="limited", values={"openai_api_key": limited.api_key, "openai_api_base": limited.base_url}),
        CredentialSet(id="healthy", values={"openai_api_key": openai.api_key, "openai_api_base": openai.base_url}),
    ]
    llm = runtime.llm(provider="openai", model="gpt-4o-mini", credentials=sets)
    before = len(limited.requests)
    for _ in range(4):
        chunks = [
            c async for c in llm.stream(LLMRequest(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]))
        ]
        assert "".join(c.text for c in chunks) == "Echo: hi"
    # The limited set answered 429 once, then went to the back of the line for its cooldown.
    assert len(limited.requests) - before == 1
    only_limited = runtime.llm(provider="openai", model="gpt-4o-mini", credentials=sets[:1])
    with pytest.raises(InvokeRateLimitError):
        [
            c
            async for c in only_limited.stream(
                LLMRequest(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
            )
        ]
    assert len(limited.requests) - before == 1 + 3  # first try plus two retries
    await runtime.aclose()
