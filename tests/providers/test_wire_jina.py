"""The Jina adapter against a fake Jina API: embeddings (with v3 tasks) and rerank."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from loomworks.providers.base import Credentials
from loomworks.providers.errors import CredentialsValidateFailedError, InvokeServerUnavailableError
from loomworks.providers.registry import get_provider
from loomworks.providers.wire.jina import JinaAdapter
from tests._live_server import live_server
from tests.fakes.jina import GOOD_KEY, create_app

Served = tuple[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    requests: list[dict[str, Any]] = []
    with live_server(create_app(requests)) as url:
        yield url + "/v1", requests


@pytest.fixture
async def adapter() -> AsyncIterator[JinaAdapter]:
    async with httpx.AsyncClient() as http:
        yield JinaAdapter(http, provider="jina", spec=get_provider("jina"))


def _credentials(base: str, key: str = GOOD_KEY) -> Credentials:
    return Credentials(values={"api_key": key, "base_url": base}, api_key=key, base_url=base)


async def test_v3_embeddings_carry_the_retrieval_task(served: Served, adapter: JinaAdapter) -> None:
    base, requests = served
    query = await adapter.embed("jina-embeddings-v3", ["abc", "hello"], _credentials(base), input_type="query")
    assert query.vectors == [[3.0, 0.1], [5.0, 0.1]], "vectors follow `index`, not the order of `data`"
    assert query.prompt_tokens == 4
    assert requests[-1] == {
        "model": "jina-embeddings-v3",
        "input": ["abc", "hello"],
        "embedding_type": "float",
        "task": "retrieval.query",
    }
    await adapter.embed("jina-embeddings-v3", ["x"], _credentials(base))
    assert requests[-1]["task"] == "retrieval.passage"
    await adapter.embed("jina-embeddings-v2-base-en", ["x"], _credentials(base))
    assert "task" not in requests[-1]


async def test_clip_inputs_are_text_objects(served: Served, adapter: JinaAdapter) -> None:
    base, requests = served
    result = await adapter.embed("jina-clip-v2", ["a cat"], _credentials(base))
    assert result.vectors == [[5.0, 0.1]]
    assert requests[-1]["input"] == [{"text": "a cat"}]


async def test_rerank(served: Served, adapter: JinaAdapter) -> None:
    base, requests = served
    docs = ["cats purr", "Paris weather today", "the capital of France is Paris"]
    hits = await adapter.rerank(
        "jina-reranker-v2-base-multilingual", "Paris weather", docs, _credentials(base), top_n=2
    )
    assert [(h.index, h.score, h.text) for h in hits] == [(1, 1.0, docs[1]), (2, 0.5, docs[2])]
    assert requests[-1] == {
        "model": "jina-reranker-v2-base-multilingual",
        "query": "Paris weather",
        "documents": docs,
        "return_documents": False,
        "top_n": 2,
    }


async def test_errors_keep_the_detail(served: Served, adapter: JinaAdapter) -> None:
    base, _ = served
    with pytest.raises(InvokeServerUnavailableError, match=r"\[jina\] Server is busy"):
        await adapter.embed("overloaded", ["x"], _credentials(base))
    with pytest.raises(CredentialsValidateFailedError, match="Failed to authenticate") as raised:
        await adapter.validate_credentials(_credentials(base, "bad"), model_type="text-embedding", model="jina-clip-v2")
    assert raised.value.params == "api_key"
