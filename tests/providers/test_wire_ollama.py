"""The Ollama adapter against a fake Ollama server: the shared suite plus format details."""

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
from loomworks.providers.wire.ollama import OllamaAdapter
from tests._live_server import live_server
from tests.fakes.ollama import create_app
from tests.providers._suite import WEATHER, LLMAdapterSuite, Vendor, ask, collect, joined_calls

MODEL = "llama3.2:latest"
Fake = tuple[str, list[str], list[dict[str, Any]]]


@pytest.fixture(scope="module")
def fake() -> Iterator[Fake]:
    scenarios, requests = ["text"], []
    with live_server(create_app(scenarios, requests)) as url:
        yield url, scenarios, requests


def _credentials(url: str, **values: Any) -> Credentials:
    return Credentials(values={"base_url": url, "mode": "chat", **values}, base_url=url)


@pytest.fixture
async def vendor(fake: Fake) -> AsyncIterator[Vendor]:
    url, scenarios, requests = fake
    scenarios[:] = ["text"]
    requests.clear()
    async with httpx.AsyncClient() as http:
        yield Vendor(
            adapter=OllamaAdapter(http, provider="ollama", spec=get_provider("ollama")),
            credentials=_credentials(url, context_size="8192"),
            bad_credentials=_credentials(url),
            model=MODEL,
            scenarios=scenarios,
            requests=requests,
        )


class TestOllama(LLMAdapterSuite):
    """The shared behaviour suite."""


async def test_chat_request_shape(vendor: Vendor) -> None:
    content = [
        {"type": "text", "text": "What is it?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}},
    ]
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": content}]
    params = {"temperature": 0.1, "top_p": 0.8, "max_tokens": 50, "response_format": "json_object"}
    await collect(vendor, LLMRequest(model=MODEL, messages=messages, parameters=params, stop=["\n\n"]))
    sent = vendor.requests[-1]
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is it?", "images": ["iVBO"]},
    ]
    assert sent["options"] == {"temperature": 0.1, "top_p": 0.8, "num_predict": 50, "num_ctx": 8192, "stop": ["\n\n"]}
    assert sent["format"] == "json"
    assert sent["stream"] is True


async def test_json_schema_goes_in_format(vendor: Vendor) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    params = {"response_format": "json_schema", "json_schema": json.dumps({"name": "x", "schema": schema})}
    await collect(vendor, ask(vendor, parameters=params))
    assert vendor.requests[-1]["format"] == schema


async def test_tool_calls_arrive_as_objects_and_leave_as_objects(vendor: Vendor) -> None:
    vendor.play("tool_call")
    chunks = await collect(vendor, ask(vendor, tools=[WEATHER]))
    (call,) = joined_calls(chunks).values()
    assert call["arguments"] == '{"city": "Paris"}', "the object is serialised to a JSON string"
    assert call["id"].startswith("call_")
    assert chunks[-1].finish_reason == "tool_calls"
    assert vendor.requests[-1]["tools"][0] == {
        "type": "function",
        "function": {"name": "get_weather", "description": WEATHER.description, "parameters": WEATHER.parameters},
    }

    vendor.play("text")
    history = [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": call["id"], "type": "function", "function": call}]},
        {"role": "tool", "tool_call_id": call["id"], "content": "sunny"},
    ]
    await collect(vendor, LLMRequest(model=MODEL, messages=history, tools=[WEATHER]))
    sent = vendor.requests[-1]["messages"]
    assert sent[1]["tool_calls"] == [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]
    assert sent[2] == {"role": "tool", "content": "sunny", "tool_name": "get_weather"}


async def test_completion_mode_uses_generate(vendor: Vendor) -> None:
    messages = [{"role": "system", "content": "You complete."}, {"role": "user", "content": "Once upon"}]
    chunks = await collect(vendor, LLMRequest(model=MODEL, messages=messages, mode="completion"))
    assert "".join(c.text for c in chunks) == "Hello world"
    sent = vendor.requests[-1]
    assert (sent["prompt"], sent["system"]) == ("Once upon", "You complete.")
    assert "messages" not in sent


async def test_thinking_is_reasoning(vendor: Vendor) -> None:
    vendor.play("thinking")
    chunks = await collect(vendor, ask(vendor, parameters={"think": True}))
    assert "".join(c.reasoning for c in chunks) == "The user greets me."
    assert vendor.requests[-1]["think"] is True


async def test_usage_of_the_done_line(vendor: Vendor) -> None:
    chunks = await collect(vendor, ask(vendor))
    assert chunks[-1].tokens == TokenCount(prompt_tokens=7, completion_tokens=2)
    assert [c.text for c in chunks] == ["Hello", " world", ""]


async def test_error_line_mid_stream(vendor: Vendor) -> None:
    vendor.play("error_line")
    with pytest.raises(InvokeServerUnavailableError, match="unexpected EOF"):
        await collect(vendor, ask(vendor))


async def test_remote_images_are_refused_clearly(vendor: Vendor) -> None:
    content = [{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]
    with pytest.raises(InvokeBadRequestError, match="data"):
        await collect(vendor, LLMRequest(model=MODEL, messages=[{"role": "user", "content": content}]))


async def test_embed(vendor: Vendor) -> None:
    result = await vendor.adapter.embed("nomic-embed-text", ["ab", "hello"], vendor.credentials)
    assert result.vectors == [[2.0, 0.25], [5.0, 0.25]]
    assert result.prompt_tokens == 6
    assert vendor.requests[-1] == {"model": "nomic-embed-text", "input": ["ab", "hello"]}


async def test_list_models_from_tags(vendor: Vendor) -> None:
    models = await vendor.adapter.list_models(vendor.credentials)
    assert [(m.model, m.model_type, m.context_size) for m in models] == [
        ("llama3.2:latest", "llm", 8192),
        ("nomic-embed-text:latest", "text-embedding", 8192),
    ]


async def test_an_unreachable_server_names_the_base_url(vendor: Vendor) -> None:
    dead = _credentials("http://127.0.0.1:9")
    with pytest.raises(CredentialsValidateFailedError, match="Cannot reach Ollama") as raised:
        await vendor.adapter.validate_credentials(dead, model_type="llm", model=MODEL)
    assert raised.value.params == "base_url"
