"""The Cohere v2 adapter against a fake Cohere API: the shared chat suite, embed and rerank."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from loomworks.providers.base import Credentials, LLMRequest, TokenCount
from loomworks.providers.errors import CredentialsValidateFailedError
from loomworks.providers.registry import get_provider
from loomworks.providers.wire.cohere import CohereAdapter
from tests._live_server import live_server
from tests.fakes.cohere import GOOD_KEY, create_app
from tests.providers._suite import WEATHER, LLMAdapterSuite, Vendor, ask, collect

MODEL = "command-r"
Fake = tuple[str, list[str], list[dict[str, Any]]]


@pytest.fixture(scope="module")
def fake() -> Iterator[Fake]:
    scenarios, requests = ["text"], []
    with live_server(create_app(scenarios, requests)) as url:
        yield url, scenarios, requests


def _credentials(url: str, key: str) -> Credentials:
    return Credentials(values={"api_key": key, "base_url": url}, api_key=key, base_url=url)


@pytest.fixture
async def vendor(fake: Fake) -> AsyncIterator[Vendor]:
    url, scenarios, requests = fake
    scenarios[:] = ["text"]
    requests.clear()
    async with httpx.AsyncClient() as http:
        yield Vendor(
            adapter=CohereAdapter(http, provider="cohere", spec=get_provider("cohere")),
            credentials=_credentials(url, GOOD_KEY),
            bad_credentials=_credentials(url, "co-wrong"),
            model=MODEL,
            scenarios=scenarios,
            requests=requests,
        )


class TestCohereChat(LLMAdapterSuite):
    """The shared behaviour suite."""


async def test_chat_request_shape(vendor: Vendor) -> None:
    calls = [
        {
            "id": "get_weather_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
        }
    ]
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": "I will look it up.", "tool_calls": calls},
        {"role": "tool", "tool_call_id": "get_weather_1", "content": "sunny"},
    ]
    params = {"temperature": 0.3, "top_p": 0.75, "top_k": 20, "max_tokens": 30, "response_format": "json_object"}
    await collect(vendor, LLMRequest(model=MODEL, messages=messages, parameters=params, stop=["END"], tools=[WEATHER]))
    sent = vendor.requests[-1]
    assert (sent["p"], sent["k"], sent["max_tokens"], sent["stop_sequences"]) == (0.75, 20, 30, ["END"])
    assert sent["response_format"] == {"type": "json_object"}
    assert sent["messages"][2] == {"role": "assistant", "tool_calls": calls, "tool_plan": "I will look it up."}
    assert sent["messages"][3] == {
        "role": "tool",
        "tool_call_id": "get_weather_1",
        "content": [{"type": "document", "document": {"data": "sunny"}}],
    }
    assert sent["tools"][0]["function"]["name"] == "get_weather"


async def test_tool_plan_is_reasoning_and_usage_is_billed_units(vendor: Vendor) -> None:
    vendor.play("tool_call")
    chunks = await collect(vendor, ask(vendor, tools=[WEATHER]))
    assert "".join(c.reasoning for c in chunks) == "I will check the weather."
    assert chunks[-1].finish_reason == "tool_calls"
    assert chunks[-1].tokens == TokenCount(prompt_tokens=7, completion_tokens=2)


async def test_embed_sends_input_type_and_float_type(vendor: Vendor) -> None:
    result = await vendor.adapter.embed("embed-english-v3.0", ["abc", "hello"], vendor.credentials, input_type="query")
    assert result.vectors == [[3.0, 1.0], [5.0, 1.0]]
    assert result.prompt_tokens == 6
    assert vendor.requests[-1] == {
        "model": "embed-english-v3.0",
        "texts": ["abc", "hello"],
        "input_type": "search_query",
        "embedding_types": ["float"],
        "truncate": "END",
    }
    await vendor.adapter.embed("embed-english-v3.0", ["x"], vendor.credentials)
    assert vendor.requests[-1]["input_type"] == "search_document"


async def test_rerank(vendor: Vendor) -> None:
    docs = ["cats purr", "the capital of France is Paris", "Paris weather today"]
    hits = await vendor.adapter.rerank("rerank-v3.5", "Paris weather", docs, vendor.credentials, top_n=2)
    assert [(h.index, h.score, h.text) for h in hits] == [(2, 1.0, docs[2]), (1, 0.5, docs[1])]
    assert vendor.requests[-1] == {"model": "rerank-v3.5", "query": "Paris weather", "documents": docs, "top_n": 2}


async def test_a_refused_key_names_the_field(vendor: Vendor) -> None:
    with pytest.raises(CredentialsValidateFailedError, match="invalid api token") as raised:
        await vendor.adapter.validate_credentials(vendor.bad_credentials, model_type="rerank", model="rerank-v3.5")
    assert raised.value.params == "api_key"
