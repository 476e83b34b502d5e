"""The `openai` and `openai_compatible` wire adapters against the fake OpenAI server."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from loomworks.providers.base import Credentials, LLMRequest, WireAdapter
from loomworks.providers.errors import (
    CredentialsValidateFailedError,
    InvokeAuthorizationError,
    InvokeBadRequestError,
    InvokeConnectionError,
    InvokeServerUnavailableError,
)
from loomworks.providers.registry import get_provider
from loomworks.providers.wire._sse import sse_events
from loomworks.providers.wire.openai import OpenAIAdapter, OpenAICompatibleAdapter, completion_prompt
from tests.fakes.openai import OpenAIFake, openai_fake
from tests.providers._suite import WEATHER, LLMAdapterSuite, Vendor, ask, collect, joined_calls


@pytest.fixture(scope="module")
def fake() -> Iterator[OpenAIFake]:
    with openai_fake(embedding_dimensions=8) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def openai_vendor(fake: OpenAIFake, http: httpx.AsyncClient, spec: dict[str, Any] | None = None) -> Vendor:
    fake.reset()
    adapter = OpenAIAdapter(http, provider="openai", spec=spec or get_provider("openai"))
    good = Credentials(values={"openai_api_key": fake.api_key}, api_key=fake.api_key, base_url=fake.base_url)
    bad = Credentials(values={"openai_api_key": "sk-wrong"}, api_key="sk-wrong", base_url=fake.base_url)
    return Vendor(adapter, good, bad, "gpt-4o-mini", scenarios=fake.scenarios, requests=fake.requests)


@pytest.fixture
def vendor(fake: OpenAIFake, http: httpx.AsyncClient) -> Vendor:
    return openai_vendor(fake, http)


class TestOpenAIChat(LLMAdapterSuite):
    """The shared suite, against api.openai.com's format with a bearer key."""


class TestOpenAICompatible(LLMAdapterSuite):
    """The shared suite, against a compatible server at another base path, without an API key."""

    @pytest.fixture
    def vendor(self, fake: OpenAIFake, http: httpx.AsyncClient) -> Vendor:
        fake.reset()
        adapter = OpenAICompatibleAdapter(http, provider="openai_api_compatible", spec=get_provider("vllm"))
        good = Credentials(values={"endpoint_url": fake.open_url}, base_url=fake.open_url)
        bad = Credentials(
            values={"endpoint_url": fake.open_url, "api_key": "wrong"}, api_key="wrong", base_url=fake.open_url
        )
        return Vendor(adapter, good, bad, "Qwen2.5-7B", scenarios=fake.scenarios, requests=fake.requests)


def test_adapters_register_by_wire() -> None:
    assert WireAdapter.adapters["openai"] is OpenAIAdapter
    assert WireAdapter.adapters["openai_compatible"] is OpenAICompatibleAdapter


# -- chat request bodies --------------------------------------------------------------------


async def test_tools_auth_and_stream_options_are_sent(vendor: Vendor, fake: OpenAIFake) -> None:
    vendor.play("tool_call")
    await collect(vendor, ask(vendor, "Weather?", tools=[WEATHER], user="end-user-1"))
    body = fake.requests[-1]
    assert body["tools"] == [
        {
            "type": "function",
            "function": {"name": "get_weather", "description": WEATHER.description, "parameters": WEATHER.parameters},
        }
    ]
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["user"] == "end-user-1"
    call = fake.calls[-1]
    assert (call.path, call.headers["authorization"]) == ("/v1/chat/completions", f"Bearer {fake.api_key}")
    assert "openai-organization" not in call.headers


async def test_streamed_usage_comes_from_the_include_usage_chunk(vendor: Vendor) -> None:
    vendor.play("text")
    chunks = await collect(vendor, ask(vendor))
    assert chunks[-1].tokens is not None
    assert (chunks[-1].tokens.prompt_tokens, chunks[-1].tokens.completion_tokens) == (7, 2)
    assert [c.finish_reason for c in chunks if c.finish_reason] == ["stop"]


async def test_tool_call_history_and_finish_reason(vendor: Vendor, fake: OpenAIFake) -> None:
    vendor.play("tool_call")
    history = [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "18 C"},
    ]
    chunks = await collect(vendor, LLMRequest(model=vendor.model, messages=history, tools=[WEATHER]))
    assert fake.requests[-1]["messages"] == history
    assert [c.finish_reason for c in chunks if c.finish_reason] == ["tool_calls"]
    assert joined_calls(chunks)[0]["id"] == "call_abc123"


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        (
            {
                "response_format": "json_schema",
                "json_schema": json.dumps({"name": "city", "schema": {"type": "object"}, "strict": True}),
            },
            {"type": "json_schema", "json_schema": {"name": "city", "schema": {"type": "object"}, "strict": True}},
        ),
        (
            {"response_format": "json_schema", "json_schema": {"type": "object", "properties": {}}},
            {
                "type": "json_schema",
                "json_schema": {"name": "response", "schema": {"type": "object", "properties": {}}, "strict": False},
            },
        ),
        ({"response_format": "json_object"}, {"type": "json_object"}),
    ],
)
async def test_response_format(
    vendor: Vendor, fake: OpenAIFake, parameters: dict[str, Any], expected: dict[str, Any]
) -> None:
    await collect(vendor, ask(vendor, parameters=parameters))
    body = fake.requests[-1]
    assert body["response_format"] == expected
    assert "json_schema" not in body


async def test_bad_json_schema_is_a_bad_request(vendor: Vendor) -> None:
    with pytest.raises(InvokeBadRequestError, match="json_schema"):
        await collect(vendor, ask(vendor, parameters={"response_format": "json_schema", "json_schema": "{nope"}))


async def test_reasoning_models_use_max_completion_tokens(vendor: Vendor, fake: OpenAIFake) -> None:
    params = {"temperature": 0.3, "top_p": 0.5, "max_tokens": 50, "presence_penalty": 0.1}
    request = LLMRequest(model="o3-mini", messages=[{"role": "user", "content": "Hi"}], parameters=params)
    chunks = await collect(vendor, request)
    body = fake.requests[-1]
    assert body["max_completion_tokens"] == 50
    assert not {"max_tokens", "temperature", "top_p", "presence_penalty"} & body.keys()
    assert "".join(c.text for c in chunks) == "Echo: Hi"


async def test_the_fake_refuses_max_tokens_for_reasoning_models(fake: OpenAIFake, http: httpx.AsyncClient) -> None:
    # Guards the test above: a real-like refusal, so a wrong body cannot pass unnoticed.
    body = {"model": "o1", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 5}
    response = await http.post(
        f"{fake.base_url}/chat/completions", json=body, headers={"Authorization": f"Bearer {fake.api_key}"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "max_tokens"


async def test_chatty_default_echoes_in_words(vendor: Vendor) -> None:
    chunks = await collect(vendor, ask(vendor, "how are you today"))
    assert [c.text for c in chunks if c.text] == ["Echo:", " how", " are", " you", " today"]
    usage = chunks[-1].tokens
    assert usage is not None
    assert usage.completion_tokens == 5
    assert (usage.prompt_tokens or 0) > 5


async def test_reasoning_content_deltas(vendor: Vendor) -> None:
    vendor.play("reasoning")
    chunks = await collect(vendor, ask(vendor))
    assert "".join(c.reasoning for c in chunks) == "The user greets me."
    assert "".join(c.text for c in chunks) == "Hello world"
    (whole,) = await collect(vendor, ask(vendor, stream=False))
    assert (whole.reasoning, whole.text) == ("The user greets me.", "Hello world")


async def test_blocking_call_reports_usage(vendor: Vendor, fake: OpenAIFake) -> None:
    vendor.play("text")
    (chunk,) = await collect(vendor, ask(vendor, stream=False))
    assert chunk.tokens is not None
    assert chunk.tokens.completion_tokens == 2
    assert chunk.finish_reason == "stop"
    assert "stream" not in fake.requests[-1]
    assert "stream_options" not in fake.requests[-1]


async def test_organization_header(vendor: Vendor, fake: OpenAIFake) -> None:
    values = {"openai_api_key": fake.api_key, "openai_organization": "org-42"}
    credentials = Credentials(values=values, api_key=fake.api_key, base_url=fake.base_url)
    [c async for c in vendor.adapter.stream_llm(ask(vendor), credentials)]
    assert fake.calls[-1].headers["openai-organization"] == "org-42"


async def test_dify_style_api_base_without_v1(vendor: Vendor, fake: OpenAIFake) -> None:
    # Dify's OpenAI form takes `https://host`; the client appends `/v1`.
    credentials = Credentials(values={"openai_api_base": fake.root + "/"}, api_key=fake.api_key, base_url=fake.root)
    chunks = [c async for c in vendor.adapter.stream_llm(ask(vendor, "x"), credentials)]
    assert fake.calls[-1].path == "/v1/chat/completions"
    assert "".join(c.text for c in chunks) == "Echo: x"


async def test_missing_api_key_is_an_authorization_error(vendor: Vendor, fake: OpenAIFake) -> None:
    with pytest.raises(InvokeAuthorizationError, match="API key"):
        [c async for c in vendor.adapter.stream_llm(ask(vendor), Credentials(values={}, base_url=fake.base_url))]
    assert fake.calls == [], "nothing is sent without a key"


async def test_error_text_names_the_provider(vendor: Vendor) -> None:
    vendor.play("error_500")
    with pytest.raises(InvokeServerUnavailableError) as raised:
        await collect(vendor, ask(vendor, stream=False))
    assert raised.value.message == "[openai] scripted failure"


# -- completion mode --------------------------------------------------------------------------


async def test_completion_mode_streams_from_completions(vendor: Vendor, fake: OpenAIFake) -> None:
    request = LLMRequest(
        model="gpt-3.5-turbo-instruct",
        messages=[{"role": "user", "content": "Write a haiku"}],
        mode="completion",
        parameters={"max_tokens": 30},
        stop=["\n\n"],
    )
    chunks = await collect(vendor, request)
    assert fake.calls[-1].path == "/v1/completions"
    body = fake.requests[-1]
    assert (body["prompt"], body["max_tokens"], body["stop"]) == ("Write a haiku", 30, ["\n\n"])
    assert "messages" not in body
    assert "".join(c.text for c in chunks) == "Echo: Write a haiku"
    assert chunks[-1].tokens is not None
    assert chunks[-1].tokens.completion_tokens == 4


async def test_completion_mode_blocking(vendor: Vendor) -> None:
    vendor.play("text")
    request = LLMRequest(
        model="gpt-3.5-turbo-instruct", messages=[{"role": "user", "content": "x"}], mode="completion", stream=False
    )
    (chunk,) = await collect(vendor, request)
    assert chunk.text == "Hello world"


async def test_completion_mode_drop_is_a_connection_error(vendor: Vendor) -> None:
    vendor.play("drop")
    request = LLMRequest(model="gpt-3.5-turbo-instruct", messages=[{"role": "user", "content": "x"}], mode="completion")
    with pytest.raises(InvokeConnectionError):
        await collect(vendor, request)


def test_completion_prompt_of_a_conversation() -> None:
    prompt = completion_prompt(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "Hi"}]}]
    )
    assert prompt == "System: Be brief.\n\nUser: Hi\n\nAssistant: "


# -- embeddings -------------------------------------------------------------------------------


async def test_embeddings_base64_match_float(vendor: Vendor, fake: OpenAIFake, http: httpx.AsyncClient) -> None:
    texts = ["alpha", "beta", "gamma"]
    result = await vendor.adapter.embed("text-embedding-3-small", texts, vendor.credentials)
    assert fake.requests[-1]["encoding_format"] == "base64"
    compatible = OpenAICompatibleAdapter(http, provider="openai_api_compatible", spec=get_provider("vllm"))
    floats = await compatible.embed("bge", texts, Credentials(values={}, base_url=fake.open_url))
    assert "encoding_format" not in fake.requests[-1]
    assert len(result.vectors) == 3
    assert all(len(v) == 8 for v in result.vectors)
    for a, b in zip(result.vectors, floats.vectors, strict=True):
        assert a == pytest.approx(b, abs=1e-6)
    assert result.vectors[0] != result.vectors[1]
    assert result.prompt_tokens == floats.prompt_tokens == 5  # ceil(chars / 4) each


async def test_embeddings_are_batched_by_max_chunks_in_order(vendor: Vendor, fake: OpenAIFake) -> None:
    texts = [f"text number {i}" for i in range(70)]
    result = await vendor.adapter.embed("text-embedding-3-small", texts, vendor.credentials)  # max_chunks: 32
    sizes = [len(body["input"]) for body in fake.requests]
    assert sizes == [32, 32, 6]
    single = await vendor.adapter.embed("text-embedding-3-small", [texts[45]], vendor.credentials)
    assert result.vectors[45] == single.vectors[0]
    assert len(result.vectors) == 70


async def test_embeddings_default_batch_is_2048(vendor: Vendor, fake: OpenAIFake) -> None:
    texts = [f"t{i}" for i in range(2049)]
    result = await vendor.adapter.embed("my-embedder", texts, vendor.credentials)
    assert [len(body["input"]) for body in fake.requests] == [2048, 1]
    assert len(result.vectors) == 2049


# -- audio, moderation, models ----------------------------------------------------------------


async def test_transcription_is_multipart(vendor: Vendor, fake: OpenAIFake) -> None:
    text = await vendor.adapter.transcribe("whisper-1", b"RIFF....WAVEfmt ", "hello.wav", vendor.credentials)
    assert text == fake.transcript
    call = fake.calls[-1]
    assert call.path == "/v1/audio/transcriptions"
    assert call.headers["content-type"].startswith("multipart/form-data")
    assert call.body["model"] == "whisper-1"
    assert call.body["file"]["filename"] == "hello.wav"
    assert call.body["file"]["size"] == 16


async def test_speech_streams_bytes_with_the_default_voice(
    vendor: Vendor, fake: OpenAIFake, http: httpx.AsyncClient
) -> None:
    pieces = [p async for p in vendor.adapter.synthesize("tts-1", "Hello there", None, vendor.credentials)]
    audio = b"".join(pieces)
    assert audio.startswith(b"ID3")
    assert len(audio) > 2000
    assert fake.requests[-1] == {"model": "tts-1", "input": "Hello there", "voice": "alloy", "response_format": "mp3"}
    # The voice default comes from the model YAML's `default_voice`.
    spec = copy.deepcopy(get_provider("openai"))
    for model in spec["models"]:
        if model["model"] == "tts-1":
            model["model_properties"]["default_voice"] = "nova"
    adapter = OpenAIAdapter(http, provider="openai", spec=spec)
    [p async for p in adapter.synthesize("tts-1", "Hi", None, vendor.credentials)]
    assert fake.requests[-1]["voice"] == "nova"
    [p async for p in adapter.synthesize("tts-1", "Hi", "echo", vendor.credentials)]
    assert fake.requests[-1]["voice"] == "echo"


async def test_speech_errors_are_unified(vendor: Vendor) -> None:
    with pytest.raises(InvokeBadRequestError, match="Invalid voice"):
        [p async for p in vendor.adapter.synthesize("tts-1", "Hi", "robot", vendor.credentials)]


async def test_moderation(vendor: Vendor, fake: OpenAIFake) -> None:
    assert await vendor.adapter.moderate("omni-moderation-latest", "I will kill the process", vendor.credentials)
    assert fake.requests[-1] == {"model": "omni-moderation-latest", "input": "I will kill the process"}
    assert not await vendor.adapter.moderate("omni-moderation-latest", "Have a nice day", vendor.credentials)


async def test_list_models(vendor: Vendor) -> None:
    models = {m.model: m for m in await vendor.adapter.list_models(vendor.credentials)}
    assert models["gpt-4o"].model_type == "llm"
    assert models["gpt-4o"].context_size == 128000  # from the predefined YAML
    assert models["text-embedding-3-small"].model_type == "text-embedding"
    assert models["whisper-1"].model_type == "speech2text"
    assert models["tts-1"].model_type == "tts"


async def test_validate_credentials(vendor: Vendor, fake: OpenAIFake) -> None:
    await vendor.adapter.validate_credentials(vendor.credentials, model_type="llm", model="gpt-4o")
    assert (fake.calls[-1].method, fake.calls[-1].path) == ("GET", "/v1/models")
    with pytest.raises(CredentialsValidateFailedError) as raised:
        await vendor.adapter.validate_credentials(vendor.bad_credentials, model_type="llm", model="gpt-4o")
    assert raised.value.params == "openai_api_key"
    assert "Incorrect API key provided" in raised.value.message


# -- openai_compatible specifics --------------------------------------------------------------


def compatible(http: httpx.AsyncClient, provider: str = "vllm", **extra: Any) -> OpenAICompatibleAdapter:
    spec = {**get_provider(provider), **extra}
    return OpenAICompatibleAdapter(http, provider=provider, spec=spec)


async def test_compatible_sends_no_auth_header_without_a_key(fake: OpenAIFake, http: httpx.AsyncClient) -> None:
    fake.reset()
    adapter = compatible(http)
    chunks = [c async for c in adapter.stream_llm(LLMRequest(model="m", messages=[{"role": "user", "content": "hey"}]),
                                                  Credentials(values={}, base_url=fake.open_url))]  # fmt: skip
    assert "".join(c.text for c in chunks) == "Echo: hey"
    assert "authorization" not in fake.calls[-1].headers
    assert fake.calls[-1].path == "/open/v1/chat/completions"


async def test_compatible_rerank(fake: OpenAIFake, http: httpx.AsyncClient) -> None:
    fake.reset()
    docs = ["the cat sat", "paris weather today", "weather in paris is mild"]
    hits = await compatible(http, "xinference").rerank(
        "bge-reranker", "paris weather", docs, Credentials(values={}, base_url=fake.open_url), top_n=2
    )
    assert fake.requests[-1] == {"model": "bge-reranker", "query": "paris weather", "documents": docs, "top_n": 2}
    assert [h.index for h in hits] == [1, 2]
    assert hits[0].score >= hits[1].score
    assert hits[0].text == docs[1]


async def test_compatible_validates_with_a_one_token_call_without_models(
    fake: OpenAIFake, http: httpx.AsyncClient
) -> None:
    fake.reset()
    adapter = compatible(http)
    credentials = Credentials(values={}, base_url=fake.bare_url)
    await adapter.validate_credentials(credentials, model_type="llm", model="Qwen2.5-7B")
    assert [(c.method, c.path) for c in fake.calls] == [
        ("GET", "/bare/v1/models"),
        ("POST", "/bare/v1/chat/completions"),
    ]
    assert fake.requests[-1]["max_tokens"] == 1
    fake.play("error_401")
    with pytest.raises(CredentialsValidateFailedError) as raised:
        await adapter.validate_credentials(credentials, model_type="llm", model="Qwen2.5-7B")
    assert raised.value.params == "api_key"


async def test_compatible_validation_uses_the_model_list_when_it_names_the_model(
    fake: OpenAIFake, http: httpx.AsyncClient
) -> None:
    fake.reset()
    await compatible(http).validate_credentials(
        Credentials(values={}, base_url=fake.open_url), model_type="llm", model="gpt-4o"
    )
    assert [c.method for c in fake.calls] == ["GET"]


async def test_url_path_is_appended_once(fake: OpenAIFake, http: httpx.AsyncClient) -> None:
    fake.reset()
    adapter = compatible(http, "xinference", url_path="/v1")
    request = LLMRequest(model="qwen", messages=[{"role": "user", "content": "a"}])
    for base in (fake.root + "/open", fake.root + "/open/v1"):
        [c async for c in adapter.stream_llm(request, Credentials(values={"server_url": base}, base_url=base))]
        assert fake.calls[-1].path == "/open/v1/chat/completions"


async def test_xinference_model_uid_names_the_model(fake: OpenAIFake, http: httpx.AsyncClient) -> None:
    fake.reset()
    credentials = Credentials(values={"model_uid": "qwen-uid-1"}, base_url=fake.open_url)
    request = LLMRequest(model="my-qwen", messages=[{"role": "user", "content": "a"}])
    [c async for c in compatible(http, "xinference").stream_llm(request, credentials)]
    assert fake.requests[-1]["model"] == "qwen-uid-1"


async def test_error_object_mid_stream(vendor: Vendor) -> None:
    vendor.play("stream_error")
    received: list[str] = []

    async def drain() -> None:
        async for chunk in vendor.adapter.stream_llm(ask(vendor), vendor.credentials):
            received.append(chunk.text)

    with pytest.raises(InvokeServerUnavailableError, match=r"^\[openai\] scripted failure$"):
        await drain()
    assert "".join(received) == "Hello"


async def test_a_server_that_ignores_stream_answers_in_one_piece(vendor: Vendor) -> None:
    vendor.play("unstreamed")
    (chunk,) = await collect(vendor, ask(vendor, "hi"))
    assert (chunk.text, chunk.finish_reason) == ("Hello world", "stop")
    assert chunk.tokens is not None


async def test_yaml_stream_usage_false_drops_stream_options(fake: OpenAIFake, http: httpx.AsyncClient) -> None:
    fake.reset()
    adapter = compatible(http, "mistralai")
    assert adapter.spec["stream_usage"] is False  # set in catalog/mistralai/provider.yaml
    request = LLMRequest(model="mistral-small-latest", messages=[{"role": "user", "content": "a"}])
    [c async for c in adapter.stream_llm(request, Credentials(values={}, base_url=fake.open_url))]
    assert fake.requests[-1]["stream"] is True
    assert "stream_options" not in fake.requests[-1]


# -- the shared SSE reader --------------------------------------------------------------------


async def sse(raw: bytes, **options: Any) -> list[tuple[str, str]]:
    response = httpx.Response(200, content=raw)
    return [pair async for pair in sse_events(response, provider="p", **options)]


async def test_sse_framing() -> None:
    raw = (
        b": keep-alive\n\n"
        b'event: message_start\ndata: {"a":\ndata: 1}\nid: 7\nretry: 10\n\n'
        b"data: plain\r\n\r\n"
        b"data:no-space\n\n"
        b"data: [DONE]\n\n"
        b"data: after\n\n"
    )
    assert await sse(raw, terminator="[DONE]", required=True) == [
        ("message_start", '{"a":\n1}'),
        ("", "plain"),
        ("", "no-space"),
    ]


async def test_sse_last_event_without_blank_line() -> None:
    assert await sse(b"data: one\n\ndata: two") == [("", "one"), ("", "two")]
    assert await sse(b"data: one\n\ndata: [DONE]", terminator="[DONE]", required=True) == [("", "one")]


async def test_sse_missing_terminator() -> None:
    with pytest.raises(InvokeConnectionError, match=r"^\[p\] The stream ended"):
        await sse(b"data: one\n\n", terminator="[DONE]", required=True)
    with pytest.raises(InvokeConnectionError):
        await sse(b"event: message_delta\ndata: {}\n\n", required=True)


async def test_long_moderation_input_is_cut_into_chunks(vendor: Vendor, fake: OpenAIFake) -> None:
    text = "calm words " * 400 + "kill"  # 4,404 characters: three 2,000-character pieces
    assert await vendor.adapter.moderate("omni-moderation-latest", text, vendor.credentials)
    (body,) = fake.requests
    assert [len(piece) for piece in body["input"]] == [2000, 2000, 404]


async def test_streamed_calls_reuse_the_pooled_connection(vendor: Vendor, fake: OpenAIFake) -> None:
    # The SSE reader reads past `[DONE]` to the end of the body, so httpx can pool the connection.
    for _ in range(3):
        await collect(vendor, ask(vendor))
    assert len({call.client for call in fake.calls}) == 1


async def test_sse_named_end_event() -> None:
    raw = (
        b"event: message_delta\ndata: {}\n\n"
        b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
        b"event: ping\ndata: {}\n\n"
    )
    assert await sse(raw, end_event="message_stop", required=True) == [
        ("message_delta", "{}"),
        ("message_stop", '{"type":"message_stop"}'),
    ]
    with pytest.raises(InvokeConnectionError):
        await sse(b"event: message_delta\ndata: {}\n\n", end_event="message_stop", required=True)
