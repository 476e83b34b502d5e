"""The `azure_openai` wire adapter against the fake's Azure deployment paths."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from loomworks.providers.base import Credentials, LLMRequest, WireAdapter
from loomworks.providers.errors import CredentialsValidateFailedError, InvokeAuthorizationError
from loomworks.providers.registry import get_provider
from loomworks.providers.wire.azure_openai import AzureOpenAIAdapter
from tests.fakes.openai import OpenAIFake, openai_fake
from tests.providers._suite import WEATHER, LLMAdapterSuite, Vendor, ask, collect

DEPLOYMENT = "my-gpt4o"


@pytest.fixture(scope="module")
def fake() -> Iterator[OpenAIFake]:
    with openai_fake(embedding_dimensions=4) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def azure_credentials(fake: OpenAIFake, key: str | None = None, **values: str) -> Credentials:
    key = fake.azure_key if key is None else key
    form = {
        "openai_api_base": fake.azure_url,
        "openai_api_key": key,
        "openai_api_version": "2024-10-21",
        "base_model_name": "gpt-4o",
        **values,
    }
    return Credentials(values=form, api_key=key, base_url=fake.azure_url)


@pytest.fixture
def vendor(fake: OpenAIFake, http: httpx.AsyncClient) -> Vendor:
    fake.reset()
    adapter = AzureOpenAIAdapter(http, provider="azure_openai", spec=get_provider("azure_openai"))
    return Vendor(
        adapter,
        azure_credentials(fake),
        azure_credentials(fake, "wrong-key"),
        DEPLOYMENT,
        scenarios=fake.scenarios,
        requests=fake.requests,
    )


class TestAzureOpenAI(LLMAdapterSuite):
    """The shared suite, against Azure's deployment paths with an `api-key` header."""


def test_registered() -> None:
    assert WireAdapter.adapters["azure_openai"] is AzureOpenAIAdapter


async def test_deployment_path_api_version_and_key_header(vendor: Vendor, fake: OpenAIFake) -> None:
    vendor.play("tool_call")
    await collect(vendor, ask(vendor, "Weather?", tools=[WEATHER]))
    call = fake.calls[-1]
    assert call.path == f"/openai/deployments/{DEPLOYMENT}/chat/completions"
    assert call.query == {"api-version": "2024-10-21"}
    assert call.headers["api-key"] == fake.azure_key
    assert "authorization" not in call.headers
    assert "model" not in call.body  # the deployment in the path chooses the model
    assert call.body["tools"][0]["function"]["name"] == "get_weather"


async def test_prompt_filter_chunk_is_skipped(vendor: Vendor) -> None:
    vendor.play("text")
    chunks = await collect(vendor, ask(vendor))
    # The fake sends Azure's leading `choices: []` prompt-filter chunk; no empty chunk comes out of it.
    assert all(c.text or c.finish_reason or c.tokens for c in chunks)
    assert "".join(c.text for c in chunks) == "Hello world"


async def test_the_fake_needs_the_api_version(fake: OpenAIFake, http: httpx.AsyncClient) -> None:
    url = f"{fake.azure_url}/openai/deployments/{DEPLOYMENT}/chat/completions"
    response = await http.post(url, json={"messages": []}, headers={"api-key": fake.azure_key})
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "404", "message": "Resource not found"}}


async def test_default_api_version_and_endpoint_with_trailing_openai(vendor: Vendor, fake: OpenAIFake) -> None:
    credentials = Credentials(
        values={"openai_api_key": fake.azure_key, "openai_api_base": fake.azure_url + "/openai/"},
        api_key=fake.azure_key,
    )
    chunks = [c async for c in vendor.adapter.stream_llm(ask(vendor, "hi"), credentials)]
    assert "".join(c.text for c in chunks) == "Echo: hi"
    assert fake.calls[-1].query["api-version"] == "2024-10-21"
    assert fake.calls[-1].path == f"/openai/deployments/{DEPLOYMENT}/chat/completions"


async def test_reasoning_base_model_uses_max_completion_tokens(vendor: Vendor, fake: OpenAIFake) -> None:
    credentials = azure_credentials(fake, base_model_name="o3-mini")
    request = LLMRequest(
        model="my-o3", messages=[{"role": "user", "content": "x"}], parameters={"max_tokens": 9, "temperature": 0.2}
    )
    [c async for c in vendor.adapter.stream_llm(request, credentials)]
    body = fake.requests[-1]
    assert body["max_completion_tokens"] == 9
    assert "max_tokens" not in body
    assert "temperature" not in body


async def test_embeddings_through_the_deployment(vendor: Vendor, fake: OpenAIFake) -> None:
    credentials = azure_credentials(fake, base_model_name="text-embedding-3-small")
    result = await vendor.adapter.embed("my-embedder", ["a", "b"], credentials)
    assert len(result.vectors) == 2
    assert len(result.vectors[0]) == 4
    assert fake.calls[-1].path == "/openai/deployments/my-embedder/embeddings"
    assert fake.requests[-1] == {"model": "my-embedder", "input": ["a", "b"]}


async def test_audio_through_the_deployment(vendor: Vendor, fake: OpenAIFake) -> None:
    text = await vendor.adapter.transcribe("my-whisper", b"fake-audio", "a.mp3", azure_credentials(fake))
    assert text == fake.transcript
    assert fake.calls[-1].path == "/openai/deployments/my-whisper/audio/transcriptions"
    audio = b"".join([p async for p in vendor.adapter.synthesize("my-tts", "Hi", None, azure_credentials(fake))])
    assert audio.startswith(b"ID3")
    assert fake.calls[-1].path == "/openai/deployments/my-tts/audio/speech"


async def test_wrong_key_names_the_field(vendor: Vendor) -> None:
    with pytest.raises(CredentialsValidateFailedError) as raised:
        await vendor.adapter.validate_credentials(vendor.bad_credentials, model_type="llm", model=DEPLOYMENT)
    assert raised.value.params == "openai_api_key"
    assert "Access denied" in raised.value.message


async def test_validate_embedding_deployment(vendor: Vendor, fake: OpenAIFake) -> None:
    await vendor.adapter.validate_credentials(vendor.credentials, model_type="text-embedding", model="emb")
    assert fake.calls[-1].path == "/openai/deployments/emb/embeddings"
    await vendor.adapter.validate_credentials(vendor.credentials, model_type="speech2text", model="wsp")
    assert fake.calls[-1].path == "/openai/deployments/wsp/audio/transcriptions"


async def test_missing_key(vendor: Vendor, fake: OpenAIFake) -> None:
    with pytest.raises(InvokeAuthorizationError, match="openai_api_key"):
        [c async for c in vendor.adapter.stream_llm(ask(vendor), azure_credentials(fake, ""))]


async def test_old_api_versions_get_no_stream_options(vendor: Vendor, fake: OpenAIFake) -> None:
    credentials = azure_credentials(fake, openai_api_version="2024-02-01")
    chunks = [c async for c in vendor.adapter.stream_llm(ask(vendor, "old"), credentials)]
    assert "".join(c.text for c in chunks) == "Echo: old"
    assert "stream_options" not in fake.requests[-1]
    await collect(vendor, ask(vendor))
    assert fake.requests[-1]["stream_options"] == {"include_usage": True}
