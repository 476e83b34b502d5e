"""The Gemini adapter against a fake Gemini API: the shared suite plus format details."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from loomworks.providers.base import Credentials, LLMRequest, TokenCount, ToolSpec
from loomworks.providers.errors import CredentialsValidateFailedError, InvokeAuthorizationError, InvokeBadRequestError
from loomworks.providers.registry import get_provider
from loomworks.providers.wire.gemini import GeminiAdapter, gemini_schema
from tests._live_server import live_server
from tests.fakes.gemini import GOOD_KEY, create_app
from tests.providers._suite import WEATHER, LLMAdapterSuite, Vendor, ask, collect, joined_calls

MODEL = "gemini-2.5-flash"
Fake = tuple[str, list[str], list[dict[str, Any]]]


@pytest.fixture(scope="module")
def fake() -> Iterator[Fake]:
    scenarios, requests = ["text"], []
    with live_server(create_app(scenarios, requests)) as url:
        yield url, scenarios, requests


def _credentials(url: str, key: str) -> Credentials:
    return Credentials(values={"google_api_key": key}, api_key=key, base_url=url)


@pytest.fixture
async def vendor(fake: Fake) -> AsyncIterator[Vendor]:
    url, scenarios, requests = fake
    scenarios[:] = ["text"]
    requests.clear()
    async with httpx.AsyncClient() as http:
        yield Vendor(
            adapter=GeminiAdapter(http, provider="google", spec=get_provider("google")),
            credentials=_credentials(url, GOOD_KEY),
            bad_credentials=_credentials(url, "AIza-wrong"),
            model=MODEL,
            scenarios=scenarios,
            requests=requests,
        )


class TestGemini(LLMAdapterSuite):
    """The shared behaviour suite."""


async def test_request_shape(vendor: Vendor) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Again"},
    ]
    params = {"temperature": 0.2, "top_p": 0.9, "top_k": 40, "max_output_tokens": 100}
    await collect(vendor, LLMRequest(model=MODEL, messages=messages, parameters=params, stop=["END"]))
    sent = vendor.requests[-1]
    assert sent["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert [c["role"] for c in sent["contents"]] == ["user", "model", "user"]
    assert sent["generationConfig"] == {
        "temperature": 0.2,
        "topP": 0.9,
        "topK": 40,
        "maxOutputTokens": 100,
        "stopSequences": ["END"],
    }


async def test_images_are_inline_data(vendor: Vendor) -> None:
    content = [
        {"type": "image_url", "image_url": {"url": "data:image/webp;base64,UklGR"}},
        {"type": "text", "text": "?"},
    ]
    await collect(vendor, LLMRequest(model=MODEL, messages=[{"role": "user", "content": content}]))
    parts = vendor.requests[-1]["contents"][0]["parts"]
    assert parts == [{"inline_data": {"mime_type": "image/webp", "data": "UklGR"}}, {"text": "?"}]


async def test_tool_round_trip(vendor: Vendor) -> None:
    no_args = ToolSpec(name="now", description="The time")
    calls = [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]
    messages = [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": "", "tool_calls": calls},
        {"role": "tool", "tool_call_id": "c1", "content": '{"temp": 21}'},
    ]
    await collect(vendor, LLMRequest(model=MODEL, messages=messages, tools=[WEATHER, no_args]))
    sent = vendor.requests[-1]
    assert sent["tools"] == [
        {
            "functionDeclarations": [
                {"name": "get_weather", "description": WEATHER.description, "parameters": WEATHER.parameters},
                {"name": "now", "description": "The time"},
            ]
        }
    ]
    model_turn, answer = sent["contents"][1:]
    assert model_turn["parts"] == [{"functionCall": {"id": "c1", "name": "get_weather", "args": {"city": "Paris"}}}]
    assert answer == {
        "role": "user",
        "parts": [{"functionResponse": {"name": "get_weather", "response": {"temp": 21}, "id": "c1"}}],
    }


async def test_whole_function_calls_get_ids_and_finish_as_tool_calls(vendor: Vendor) -> None:
    vendor.play("tool_call")
    chunks = await collect(vendor, ask(vendor, tools=[WEATHER]))
    (call,) = joined_calls(chunks).values()
    assert call["id"].startswith("call_")
    assert chunks[-1].finish_reason == "tool_calls"


async def test_structured_output_sends_a_gemini_schema(vendor: Vendor) -> None:
    schema = {
        "name": "answer",
        "schema": {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "additionalProperties": False,
            "properties": {"city": {"type": ["string", "null"]}},
            "required": ["city"],
        },
    }
    params = {"response_format": "json_schema", "json_schema": json.dumps(schema)}
    await collect(vendor, ask(vendor, parameters=params))
    config = vendor.requests[-1]["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseSchema"] == {
        "type": "object",
        "properties": {"city": {"type": "string", "nullable": True}},
        "required": ["city"],
    }


def test_schema_reduction_keeps_nested_items() -> None:
    schema = {"type": "array", "items": {"type": "object", "properties": {"a": {"type": "integer", "$id": "x"}}}}
    assert gemini_schema(schema) == {
        "type": "array",
        "items": {"type": "object", "properties": {"a": {"type": "integer"}}},
    }


async def test_thoughts_are_reasoning(vendor: Vendor) -> None:
    vendor.play("thinking")
    chunks = await collect(vendor, ask(vendor, parameters={"include_thoughts": True, "thinking_budget": 512}))
    assert "".join(c.reasoning for c in chunks) == "The user greets me."
    assert "".join(c.text for c in chunks) == "Hello world"
    assert vendor.requests[-1]["generationConfig"]["thinkingConfig"] == {"includeThoughts": True, "thinkingBudget": 512}


async def test_safety_blocked_answer_finishes_with_content_filter(vendor: Vendor) -> None:
    vendor.play("safety")
    chunks = await collect(vendor, ask(vendor))
    assert "".join(c.text for c in chunks) == "Here is"
    assert chunks[-1].finish_reason == "content_filter"
    (blocking,) = await collect(vendor, ask(vendor, stream=False))
    assert (blocking.text, blocking.finish_reason) == ("", "content_filter")


async def test_blocked_prompt_is_a_bad_request(vendor: Vendor) -> None:
    vendor.play("blocked_prompt")
    with pytest.raises(InvokeBadRequestError, match=r"blocked \(SAFETY\)"):
        await collect(vendor, ask(vendor))


async def test_usage_comes_with_the_last_chunk(vendor: Vendor) -> None:
    chunks = await collect(vendor, ask(vendor))
    assert [c.tokens for c in chunks] == [None, TokenCount(prompt_tokens=7, completion_tokens=2)]


async def test_a_wrong_key_is_an_authorization_error(vendor: Vendor) -> None:
    with pytest.raises(InvokeAuthorizationError, match="API key not valid"):
        [c async for c in vendor.adapter.stream_llm(ask(vendor), vendor.bad_credentials)]


async def test_batch_embeddings(vendor: Vendor) -> None:
    result = await vendor.adapter.embed("text-embedding-004", ["abc", "hello"], vendor.credentials, input_type="query")
    assert result.vectors == [[3.0, 0.5], [5.0, 0.5]]
    assert vendor.requests[-1] == {
        "requests": [
            {
                "model": "models/text-embedding-004",
                "content": {"parts": [{"text": "abc"}]},
                "taskType": "RETRIEVAL_QUERY",
            },
            {
                "model": "models/text-embedding-004",
                "content": {"parts": [{"text": "hello"}]},
                "taskType": "RETRIEVAL_QUERY",
            },
        ]
    }
    document = await vendor.adapter.embed("text-embedding-004", ["x"], vendor.credentials)
    assert document.vectors == [[1.0, 0.5]]
    assert vendor.requests[-1]["requests"][0]["taskType"] == "RETRIEVAL_DOCUMENT"


async def test_list_models_follows_pages_and_sorts_types(vendor: Vendor) -> None:
    models = await vendor.adapter.list_models(vendor.credentials)
    assert [(m.model, m.model_type, m.context_size) for m in models] == [
        ("gemini-2.5-flash", "llm", 1048576),
        ("text-embedding-004", "text-embedding", 2048),
    ]
    assert "vision" in models[0].features


async def test_list_models_with_a_wrong_key(vendor: Vendor) -> None:
    with pytest.raises(CredentialsValidateFailedError, match="API key not valid") as raised:
        await vendor.adapter.validate_credentials(vendor.bad_credentials, model_type="llm", model=None)
    assert raised.value.params == "google_api_key"
