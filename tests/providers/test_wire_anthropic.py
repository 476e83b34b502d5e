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
    InvokeRateLimitError,
    InvokeServerUnavailableError,
)
from loomworks.providers.registry import get_provider
from loomworks.providers.wire.anthropic import AnthropicAdapter
from tests._live_server import live_server
from tests.fakes.anthropic import GOOD_KEY, STRUCTURED, create_app
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


# Structured output: the schema rides as a forced answer tool, whose input is the answer's JSON text.

FORECAST = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "temperature_c": {"type": "integer"},
        "conditions": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["city", "temperature_c"],
}


def _structured(schema: Any = None, **extra: Any) -> dict[str, Any]:
    wrapper = {"name": "forecast", "description": "The forecast", "schema": FORECAST}
    return {"response_format": "json_schema", "json_schema": json.dumps(wrapper) if schema is None else schema, **extra}


async def test_streamed_structured_output_is_the_answer_tools_json(vendor: Vendor) -> None:
    vendor.play("structured")
    chunks = await collect(vendor, ask(vendor, "Forecast for Paris?", parameters=_structured()))
    pieces = [c.text for c in chunks if c.text]
    assert len(pieces) >= 2, "the JSON streams in fragments"
    assert json.loads("".join(pieces)) == STRUCTURED
    assert not joined_calls(chunks), "the answer tool is never reported as a tool call"
    assert chunks[-1].finish_reason == "stop"
    assert chunks[-1].tokens == TokenCount(prompt_tokens=7, completion_tokens=12)
    sent = vendor.requests[-1]
    assert sent["tools"] == [{"name": "forecast", "description": "The forecast", "input_schema": FORECAST}]
    assert sent["tool_choice"] == {"type": "tool", "name": "forecast"}
    assert "response_format" not in sent
    assert "json_schema" not in sent


async def test_blocking_structured_output(vendor: Vendor) -> None:
    vendor.play("structured")
    (chunk,) = await collect(vendor, ask(vendor, stream=False, parameters=_structured()))
    assert json.loads(chunk.text) == STRUCTURED
    assert (chunk.tool_calls, chunk.finish_reason) == ([], "stop")


@pytest.mark.parametrize(
    ("parameters", "tool"),
    [
        # The workflow LLM node's form: Dify's wrapper as an object, not JSON text.
        (
            {"response_format": "json_schema", "json_schema": {"name": "output", "schema": FORECAST}},
            {"name": "output", "input_schema": FORECAST},
        ),
        # A bare schema (no wrapper); an object root without `type` gets one.
        (
            {"response_format": "json_schema", "json_schema": json.dumps({"properties": {"a": {"type": "string"}}})},
            {"name": "response", "input_schema": {"type": "object", "properties": {"a": {"type": "string"}}}},
        ),
        # Any JSON object; names that Anthropic refuses are made safe.
        ({"response_format": "json_object"}, {"name": "response", "input_schema": {"type": "object"}}),
        ({"response_format": "JSON"}, {"name": "response", "input_schema": {"type": "object"}}),
        (
            {"response_format": "json_schema", "json_schema": {"name": "my answer!", "schema": FORECAST}},
            {"name": "my_answer_", "input_schema": FORECAST},
        ),
    ],
)
async def test_schema_forms_become_the_answer_tool(
    vendor: Vendor, parameters: dict[str, Any], tool: dict[str, Any]
) -> None:
    vendor.play("structured")
    (chunk,) = await collect(vendor, ask(vendor, stream=False, parameters=parameters))
    assert json.loads(chunk.text) == STRUCTURED
    (sent,) = vendor.requests[-1]["tools"]
    assert {"name": sent["name"], "input_schema": sent["input_schema"]} == tool
    assert sent["description"], "the model is told what the tool is for"
    assert vendor.requests[-1]["tool_choice"] == {"type": "tool", "name": tool["name"]}


async def test_text_format_sends_no_tool(vendor: Vendor) -> None:
    chunks = await collect(vendor, ask(vendor, parameters={"response_format": "text"}))
    assert "".join(c.text for c in chunks) == "Hello world"
    assert "tools" not in vendor.requests[-1]
    assert "tool_choice" not in vendor.requests[-1]


async def test_structured_output_beside_the_callers_tools(vendor: Vendor) -> None:
    """The caller's tools stay callable (`any`), and an answer tool never shadows one of them."""
    vendor.play("structured")
    params = _structured({"name": "get_weather", "schema": FORECAST})
    chunks = await collect(vendor, ask(vendor, tools=[WEATHER], parameters=params))
    assert json.loads("".join(c.text for c in chunks)) == STRUCTURED
    sent = vendor.requests[-1]
    assert [t["name"] for t in sent["tools"]] == ["get_weather", "get_weather_1"]
    assert sent["tool_choice"] == {"type": "any"}
    # When the model calls one of the caller's tools instead, that is a tool call, as without a schema.
    vendor.play("tool_call")
    chunks = await collect(vendor, ask(vendor, tools=[WEATHER], parameters=params))
    assert joined_calls(chunks) == {0: {"id": "toolu_01A", "name": "get_weather", "arguments": '{"city": "Paris"}'}}
    assert chunks[-1].finish_reason == "tool_calls"
    (chunk,) = await collect(vendor, ask(vendor, tools=[WEATHER], parameters=params, stream=False))
    assert [c.name for c in chunk.tool_calls] == ["get_weather"]
    assert chunk.finish_reason == "tool_calls"


@pytest.mark.parametrize("stream", [True, False])
async def test_structured_output_with_extended_thinking(vendor: Vendor, stream: bool) -> None:
    """The API refuses a forced tool choice while thinking: the choice is `auto`, the system text asks
    for the tool, and the prose the model writes beside the answer tool is not part of the answer."""
    vendor.play("structured")
    params = _structured(thinking=True)
    messages = [{"role": "system", "content": "Be exact."}, {"role": "user", "content": "Forecast?"}]
    chunks = await collect(vendor, LLMRequest(model=MODEL, messages=messages, parameters=params, stream=stream))
    assert json.loads("".join(c.text for c in chunks)) == STRUCTURED
    assert "".join(c.reasoning for c in chunks) == "I should use the tool."
    assert chunks[-1].finish_reason == "stop"
    sent = vendor.requests[-1]
    assert sent["tool_choice"] == {"type": "auto"}
    assert sent["system"] == "Be exact.\n\nGive your final answer by calling the `forecast` tool."


async def test_thinking_model_that_skips_the_answer_tool_keeps_its_text(vendor: Vendor) -> None:
    vendor.play("thinking")
    chunks = await collect(vendor, ask(vendor, parameters=_structured(thinking=True)))
    assert "".join(c.text for c in chunks) == "Hello world"
    assert not chunks[-1].text, "held text comes before the final chunk"
    assert chunks[-1].finish_reason == "stop"


async def test_answer_tool_called_with_an_empty_object(vendor: Vendor) -> None:
    vendor.play("structured_empty")
    params = {"response_format": "json_object"}
    assert "".join(c.text for c in await collect(vendor, ask(vendor, parameters=params))) == "{}"
    (chunk,) = await collect(vendor, ask(vendor, parameters=params, stream=False))
    assert chunk.text == "{}"


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"response_format": "json_schema"}, "needs the json_schema parameter"),
        ({"response_format": "json_schema", "json_schema": "{nope"}, "json_schema is not valid JSON"),
        ({"response_format": "json_schema", "json_schema": "[1]"}, "json_schema must be a JSON object"),
        (
            {"response_format": "json_schema", "json_schema": {"name": "x", "schema": {"type": "array"}}},
            "root type is object, not 'array'",
        ),
    ],
)
async def test_unusable_schemas_are_bad_requests(vendor: Vendor, parameters: dict[str, Any], message: str) -> None:
    with pytest.raises(InvokeBadRequestError, match=message):
        await collect(vendor, ask(vendor, parameters=parameters))
    assert vendor.requests == [], "nothing is sent"


@pytest.mark.parametrize("stream", [True, False])
async def test_vendor_errors_of_a_structured_call(vendor: Vendor, stream: bool) -> None:
    vendor.play("error_429")
    with pytest.raises(InvokeRateLimitError, match="scripted failure"):
        await collect(vendor, ask(vendor, parameters=_structured(), stream=stream))
    vendor.play("overloaded")
    with pytest.raises(InvokeServerUnavailableError, match="Overloaded"):
        await collect(vendor, ask(vendor, parameters=_structured()))
