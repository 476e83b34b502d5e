"""The Anthropic Messages adapter against a fake Anthropic server: the shared suite plus format details."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from loomworks.providers.base import Credentials, LLMRequest, TokenCount
from loomworks.providers.errors import (
    CredentialsValidateFailedError,
    InvokeBadRequestError,
    InvokeServerUnavailableError,
)
from loomworks.providers.registry import get_provider
from loomworks.providers.wire.anthropic import AnthropicAdapter
from tests._live_server import live_server
from tests.fakes.anthropic import GOOD_KEY, create_app
from tests.providers._suite import WEATHER, LLMAdapterSuite, Vendor, ask, collect, joined_calls

MODEL = "claude-sonnet-4-20250514"
Fake = tuple[str, list[str], list[dict[str, Any]]]


@pytest.fixture(scope="module")
def fake() -> Iterator[Fake]:
    scenarios, requests = ["text"], []
    with live_server(create_app(scenarios, requests)) as url:
        yield url, scenarios, requests


def _credentials(url: str, key: str) -> Credentials:
    return Credentials(values={"anthropic_api_key": key, "anthropic_api_url": url}, api_key=key, base_url=url)


@pytest.fixture
async def vendor(fake: Fake) -> AsyncIterator[Vendor]:
    url, scenarios, requests = fake
    scenarios[:] = ["text"]
    requests.clear()
    async with httpx.AsyncClient() as http:
        adapter = AnthropicAdapter(http, provider="anthropic", spec=get_provider("anthropic"))
        yield Vendor(
            adapter=adapter,
            credentials=_credentials(url, GOOD_KEY),
            bad_credentials=_credentials(url, "sk-ant-wrong"),
            model=MODEL,
            scenarios=scenarios,
            requests=requests,
        )


async def _drain(vendor: Vendor, request: LLMRequest, received: list[str]) -> None:
    async for chunk in vendor.adapter.stream_llm(request, vendor.credentials):
        received.append(chunk.text)


class TestAnthropic(LLMAdapterSuite):
    """The shared behaviour suite."""


async def test_system_messages_go_to_the_top_level_field(vendor: Vendor) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "system", "content": [{"type": "text", "text": "Answer in English."}]},
        {"role": "user", "content": "Hi"},
    ]
    await collect(vendor, LLMRequest(model=MODEL, messages=messages))
    sent = vendor.requests[-1]
    assert sent["system"] == "Be brief.\n\nAnswer in English."
    assert sent["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]
    assert sent["max_tokens"] == 4096, "the model's max_tokens rule default"
    assert sent["stream"] is True


async def test_tool_round_trip_merges_tool_results_into_one_user_turn(vendor: Vendor) -> None:
    calls = [
        {"id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
        {"id": "toolu_2", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}},
    ]
    messages = [
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {"role": "assistant", "content": "Let me look.", "tool_calls": calls},
        {"role": "tool", "tool_call_id": "toolu_1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "toolu_2", "content": "rainy"},
    ]
    await collect(vendor, LLMRequest(model=MODEL, messages=messages, tools=[WEATHER]))
    sent = vendor.requests[-1]
    assert sent["tools"] == [
        {"name": "get_weather", "description": WEATHER.description, "input_schema": WEATHER.parameters}
    ]
    assistant, results = sent["messages"][1:]
    assert assistant == {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Let me look."},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Rome"}},
        ],
    }
    assert results == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": "rainy"},
        ],
    }


async def test_streamed_tool_call_after_a_text_block_is_call_zero(vendor: Vendor) -> None:
    vendor.play("tool_call")
    chunks = await collect(vendor, ask(vendor, "Weather?", tools=[WEATHER]))
    assert "".join(c.text for c in chunks) == "Checking."
    assert joined_calls(chunks) == {0: {"id": "toolu_01A", "name": "get_weather", "arguments": '{"city": "Paris"}'}}
    assert chunks[-1].finish_reason == "tool_calls"


async def test_image_parts_become_base64_and_url_sources(vendor: Vendor) -> None:
    content = [
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
        {"type": "text", "text": "Compare."},
    ]
    await collect(vendor, LLMRequest(model=MODEL, messages=[{"role": "user", "content": content}]))
    blocks = vendor.requests[-1]["messages"][0]["content"]
    assert blocks[0] == {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}}
    assert blocks[1] == {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}}


async def test_thinking_deltas_are_reasoning(vendor: Vendor) -> None:
    vendor.play("thinking")
    request = ask(vendor, parameters={"thinking": True, "thinking_budget": 2048, "temperature": 0.5})
    chunks = await collect(vendor, request)
    assert "".join(c.reasoning for c in chunks) == "The user greets me."
    assert "".join(c.text for c in chunks) == "Hello world"
    sent = vendor.requests[-1]
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert "temperature" not in sent, "extended thinking refuses sampling parameters"
    assert sent["max_tokens"] > 2048


async def test_blocking_thinking_answer(vendor: Vendor) -> None:
    vendor.play("thinking")
    (chunk,) = await collect(vendor, ask(vendor, stream=False, parameters={"thinking": True}))
    assert (chunk.reasoning, chunk.text, chunk.finish_reason) == ("The user greets me.", "Hello world", "stop")
    assert chunk.tokens == TokenCount(prompt_tokens=7, completion_tokens=2)


async def test_usage_joins_message_start_and_message_delta(vendor: Vendor) -> None:
    chunks = await collect(vendor, ask(vendor))
    (final,) = [c for c in chunks if c.tokens]
    assert final.tokens == TokenCount(prompt_tokens=7, completion_tokens=2)
    assert final.finish_reason == "stop"


async def test_overloaded_error_event_mid_stream(vendor: Vendor) -> None:
    vendor.play("overloaded")
    received: list[str] = []
    with pytest.raises(InvokeServerUnavailableError, match=r"\[anthropic\] Overloaded"):
        await _drain(vendor, ask(vendor), received)
    assert "".join(received) == "Hello"


async def test_invalid_tool_arguments_are_a_bad_request(vendor: Vendor) -> None:
    call = {"id": "t", "type": "function", "function": {"name": "get_weather", "arguments": "{city"}}
    messages = [{"role": "user", "content": "x"}, {"role": "assistant", "content": "", "tool_calls": [call]}]
    with pytest.raises(InvokeBadRequestError, match="not valid JSON"):
        await collect(vendor, LLMRequest(model=MODEL, messages=messages))


async def test_the_vendor_message_of_a_bad_request_is_kept(vendor: Vendor) -> None:
    vendor.play("error_400")
    with pytest.raises(InvokeBadRequestError) as raised:
        await collect(vendor, ask(vendor, stream=False))
    assert raised.value.message == "[anthropic] scripted failure"
    assert (
        json.dumps(vendor.requests[-1]["messages"])
        == '[{"role": "user", "content": [{"type": "text", "text": "Say hello"}]}]'
    )


async def test_a_refused_key_names_the_field(vendor: Vendor) -> None:
    with pytest.raises(CredentialsValidateFailedError, match="invalid x-api-key") as raised:
        await vendor.adapter.validate_credentials(vendor.bad_credentials, model_type="llm", model=MODEL)
    assert raised.value.params == "anthropic_api_key"
    assert vendor.requests[-1]["max_tokens"] == 1
