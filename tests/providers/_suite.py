"""One behaviour suite that every LLM wire adapter passes, against its vendor's fake server.

A vendor's test module subclasses `LLMAdapterSuite` and provides the `vendor` fixture: a `Vendor`
bound to a fake server (on 127.0.0.1, started by the test) that speaks the vendor's real wire
format. The fake plays one *scenario* per request, chosen by `vendor.play(name)`:

- `text`: answers "Hello world" (streamed in several chunks when asked to stream), with usage
  prompt 7 / completion 2 when the vendor reports usage;
- `tool_call`: calls `get_weather` with `{"city": "Paris"}` (streamed in fragments when streaming);
- `error_400`, `error_401`, `error_429`, `error_500`: the vendor's error body with the message
  "scripted failure";
- `drop`: streams "Hello" then cuts the connection without finishing the stream;
- `malformed`: streams "Hello" then a chunk that is not valid for the format.

`vendor.requests` holds the JSON bodies the fake received, so format-specific tests can check what
was sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from loomworks.providers.base import Credentials, LLMChunk, LLMRequest, ToolSpec, WireAdapter
from loomworks.providers.errors import (
    CredentialsValidateFailedError,
    InvokeAuthorizationError,
    InvokeBadRequestError,
    InvokeConnectionError,
    InvokeError,
    InvokeRateLimitError,
    InvokeServerUnavailableError,
)

WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather of a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


@dataclass
class Vendor:
    """An adapter bound to a running fake server, and the controls of that fake."""

    adapter: WireAdapter
    credentials: Credentials
    bad_credentials: Credentials
    model: str
    scenarios: list[str] = field(default_factory=lambda: ["text"])
    requests: list[dict[str, Any]] = field(default_factory=list)

    def play(self, scenario: str) -> None:
        """The scenario the fake plays for every request from now on."""
        self.scenarios[:] = [scenario]


async def collect(vendor: Vendor, request: LLMRequest) -> list[LLMChunk]:
    return [chunk async for chunk in vendor.adapter.stream_llm(request, vendor.credentials)]


def joined_calls(chunks: list[LLMChunk]) -> dict[int, dict[str, str]]:
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for delta in chunk.tool_calls:
            call = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
            call["id"] = delta.id or call["id"]
            call["name"] = delta.name or call["name"]
            call["arguments"] += delta.arguments
    return calls


def ask(vendor: Vendor, text: str = "Say hello", **kwargs: Any) -> LLMRequest:
    return LLMRequest(model=vendor.model, messages=[{"role": "user", "content": text}], **kwargs)


class LLMAdapterSuite:
    """Behaviour every LLM adapter shares. Subclasses provide the `vendor` fixture."""

    async def test_streams_text_with_usage(self, vendor: Vendor) -> None:
        vendor.play("text")
        chunks = await collect(vendor, ask(vendor))
        assert "".join(c.text for c in chunks) == "Hello world"
        assert len([c for c in chunks if c.text]) >= 2, "a streamed answer comes in pieces"
        finals = [c for c in chunks if c.finish_reason]
        assert finals, "the stream ends with a finish reason"
        tokens = [c.tokens for c in chunks if c.tokens is not None]
        if tokens:
            assert tokens[-1].completion_tokens == 2

    async def test_blocking_call_gives_the_whole_answer(self, vendor: Vendor) -> None:
        vendor.play("text")
        chunks = await collect(vendor, ask(vendor, stream=False))
        assert "".join(c.text for c in chunks) == "Hello world"

    async def test_tool_calls_are_assembled_from_deltas(self, vendor: Vendor) -> None:
        vendor.play("tool_call")
        chunks = await collect(vendor, ask(vendor, "Weather in Paris?", tools=[WEATHER]))
        calls = joined_calls(chunks)
        assert len(calls) == 1
        (call,) = calls.values()
        assert call["name"] == "get_weather"
        assert json.loads(call["arguments"]) == {"city": "Paris"}
        assert call["id"]

    async def test_blocking_tool_call(self, vendor: Vendor) -> None:
        vendor.play("tool_call")
        chunks = await collect(vendor, ask(vendor, "Weather in Paris?", tools=[WEATHER], stream=False))
        (call,) = joined_calls(chunks).values()
        assert (call["name"], json.loads(call["arguments"])) == ("get_weather", {"city": "Paris"})

    @pytest.mark.parametrize(
        ("scenario", "error"),
        [
            ("error_400", InvokeBadRequestError),
            ("error_401", InvokeAuthorizationError),
            ("error_429", InvokeRateLimitError),
            ("error_500", InvokeServerUnavailableError),
        ],
    )
    async def test_vendor_errors_map_to_unified_errors(
        self, vendor: Vendor, scenario: str, error: type[InvokeError]
    ) -> None:
        vendor.play(scenario)
        with pytest.raises(error) as raised:
            await collect(vendor, ask(vendor))
        assert "scripted failure" in raised.value.message

    async def test_connection_dropped_mid_stream(self, vendor: Vendor) -> None:
        vendor.play("drop")
        received: list[str] = []

        async def read() -> None:
            async for chunk in vendor.adapter.stream_llm(ask(vendor), vendor.credentials):
                received.append(chunk.text)

        with pytest.raises(InvokeConnectionError):
            await read()
        assert "".join(received) == "Hello"

    async def test_malformed_chunk(self, vendor: Vendor) -> None:
        vendor.play("malformed")
        with pytest.raises(InvokeError):
            await collect(vendor, ask(vendor))

    async def test_unreachable_server_is_a_connection_error(self, vendor: Vendor) -> None:
        dead = Credentials(
            values=dict(vendor.credentials.values), api_key=vendor.credentials.api_key, base_url="http://127.0.0.1:9"
        )
        with pytest.raises(InvokeConnectionError):
            [c async for c in vendor.adapter.stream_llm(ask(vendor), dead)]

    async def test_parameters_and_stop_words_are_sent(self, vendor: Vendor) -> None:
        vendor.play("text")
        await collect(vendor, ask(vendor, parameters={"temperature": 0.3, "max_tokens": 77}, stop=["END"]))
        sent = json.dumps(vendor.requests[-1])
        assert "0.3" in sent
        assert "77" in sent
        assert "END" in sent

    async def test_images_reach_the_vendor(self, vendor: Vendor) -> None:
        vendor.play("text")
        image = "data:image/png;base64,iVBORw0KGgo="
        message = {
            "role": "user",
            "content": [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": image}}],
        }
        await collect(vendor, LLMRequest(model=vendor.model, messages=[message]))
        assert "iVBORw0KGgo" in json.dumps(vendor.requests[-1])

    async def test_wrong_credentials_fail_validation(self, vendor: Vendor) -> None:
        vendor.play("error_401")
        with pytest.raises(CredentialsValidateFailedError):
            await vendor.adapter.validate_credentials(vendor.bad_credentials, model_type="llm", model=vendor.model)
