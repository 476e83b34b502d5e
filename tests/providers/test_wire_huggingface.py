"""Hugging Face adapters against fake TEI servers and a fake TGI Inference Endpoint."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from loomworks.providers.base import Credentials, LLMRequest
from loomworks.providers.errors import CredentialsValidateFailedError, InvokeAuthorizationError
from loomworks.providers.registry import get_provider
from loomworks.providers.wire.huggingface import HF_ROUTER, HuggingFaceEndpointAdapter, TEIAdapter
from tests._live_server import live_server
from tests.fakes.huggingface import GOOD_TOKEN, MAX_BATCH, create_tei_app, create_tgi_app

Served = tuple[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def embedder() -> Iterator[Served]:
    requests: list[dict[str, Any]] = []
    with live_server(create_tei_app("embedding", requests, api_key="tei-key")) as url:
        yield url, requests


@pytest.fixture(scope="module")
def reranker() -> Iterator[Served]:
    requests: list[dict[str, Any]] = []
    with live_server(create_tei_app("reranker", requests)) as url:
        yield url, requests


@pytest.fixture(scope="module")
def endpoint() -> Iterator[Served]:
    requests: list[dict[str, Any]] = []
    with live_server(create_tgi_app(requests)) as url:
        yield url, requests


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def _tei(http: httpx.AsyncClient) -> TEIAdapter:
    return TEIAdapter(http, provider="huggingface_tei", spec=get_provider("huggingface_tei"))


def _tei_credentials(url: str, key: str = "") -> Credentials:
    # The runtime normalises `server_url` into `base_url`; the adapter also reads the raw field.
    return Credentials(values={"server_url": url, "api_key": key}, api_key=key)


async def test_tei_embeds_in_batches_of_the_server_limit(embedder: Served, http: httpx.AsyncClient) -> None:
    url, requests = embedder
    requests.clear()
    texts = [f"text {i}" for i in range(MAX_BATCH + 3)]
    result = await _tei(http).embed("bge-small", texts, _tei_credentials(url, "tei-key"))
    assert [v[0] for v in result.vectors] == [float(len(t)) for t in texts]
    assert [len(r["inputs"]) for r in requests] == [MAX_BATCH, 3]
    assert requests[0] == {"inputs": texts[:MAX_BATCH], "normalize": True, "truncate": True}


async def test_tei_token_is_checked(embedder: Served, http: httpx.AsyncClient) -> None:
    url, _ = embedder
    with pytest.raises(InvokeAuthorizationError, match=r"\[huggingface_tei\] Unauthorized"):
        await _tei(http).embed("bge-small", ["x"], _tei_credentials(url, "wrong"))


async def test_tei_rerank(reranker: Served, http: httpx.AsyncClient) -> None:
    url, requests = reranker
    docs = ["cats purr", "Paris weather today", "the capital of France is Paris"]
    hits = await _tei(http).rerank("bge-reranker", "Paris weather", docs, _tei_credentials(url), top_n=2)
    assert [(h.index, h.score, h.text) for h in hits] == [(1, 1.0, docs[1]), (2, 0.5, docs[2])]
    assert requests[-1] == {"query": "Paris weather", "texts": docs, "raw_scores": False, "truncate": True}


async def test_tei_validation_reads_info(embedder: Served, reranker: Served, http: httpx.AsyncClient) -> None:
    adapter = _tei(http)
    await adapter.validate_credentials(_tei_credentials(embedder[0], "tei-key"), model_type="text-embedding", model="m")
    await adapter.validate_credentials(_tei_credentials(reranker[0]), model_type="rerank", model="m")
    with pytest.raises(CredentialsValidateFailedError, match="serves a reranker model") as wrong_kind:
        await adapter.validate_credentials(_tei_credentials(reranker[0]), model_type="text-embedding", model="m")
    assert wrong_kind.value.params == "server_url"
    with pytest.raises(CredentialsValidateFailedError) as wrong_key:
        await adapter.validate_credentials(_tei_credentials(embedder[0], "bad"), model_type="text-embedding", model="m")
    assert wrong_key.value.params == "api_key"
    with pytest.raises(CredentialsValidateFailedError) as unreachable:
        await adapter.validate_credentials(_tei_credentials("http://127.0.0.1:9"), model_type="rerank", model="m")
    assert unreachable.value.params == "server_url"


def _endpoint(http: httpx.AsyncClient) -> HuggingFaceEndpointAdapter:
    return HuggingFaceEndpointAdapter(http, provider="huggingface_hub", spec=get_provider("huggingface_hub"))


def _hub_credentials(url: str, token: str = GOOD_TOKEN) -> Credentials:
    values = {
        "huggingfacehub_api_type": "inference_endpoints",
        "huggingfacehub_api_token": token,
        "huggingfacehub_endpoint_url": url,
    }
    return Credentials(values=values)


async def test_endpoint_streams_through_the_tgi_openai_route(endpoint: Served, http: httpx.AsyncClient) -> None:
    url, requests = endpoint
    request = LLMRequest(model="tgi", messages=[{"role": "user", "content": "Hi"}], parameters={"max_tokens": 9})
    chunks = [c async for c in _endpoint(http).stream_llm(request, _hub_credentials(url))]
    assert "".join(c.text for c in chunks) == "Hello world"
    assert [c.tokens.completion_tokens for c in chunks if c.tokens] == [2]
    assert requests[-1]["max_tokens"] == 9


async def test_endpoint_validation_names_the_token_field(endpoint: Served, http: httpx.AsyncClient) -> None:
    adapter = _endpoint(http)
    await adapter.validate_credentials(_hub_credentials(endpoint[0]), model_type="llm", model=None)
    with pytest.raises(CredentialsValidateFailedError, match="token seems invalid") as raised:
        await adapter.validate_credentials(_hub_credentials(endpoint[0], "hf_bad"), model_type="llm", model=None)
    assert raised.value.params == "huggingfacehub_api_token"


def test_endpoint_urls(http: httpx.AsyncClient) -> None:
    adapter = _endpoint(http)
    assert adapter.base_url(_hub_credentials("https://x.endpoints.huggingface.cloud/")) == (
        "https://x.endpoints.huggingface.cloud/v1"
    )
    hosted = Credentials(values={"huggingfacehub_api_type": "hosted_inference_api", "huggingfacehub_api_token": "t"})
    assert adapter.base_url(hosted) == HF_ROUTER
