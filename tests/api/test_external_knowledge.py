"""External knowledge: templates, external datasets, and retrieval through a real retrieval endpoint.

The user's endpoint is a real HTTP server on loopback; the server reaches it through its SSRF-safe
client, so these tests allow 127.0.0.0/8 (and one test checks that without that allowance the
call is refused).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from loomworks.api.app import build_state, create_app
from loomworks.core.config import Settings
from loomworks.core.ssrf import EgressPolicy, SafeHttpClient
from loomworks.services.knowledge import retrieval
from loomworks.services.knowledge.indexing import KnowledgeRuntime
from tests._console import OWNER_EMAIL, OWNER_PASSWORD, Console
from tests._live_server import live_server

API_KEY = "ext-secret-key-123456"
RECORDS = [
    {"content": "Refunds take 5 business days.", "score": 0.91, "title": "refunds.md", "metadata": {"page": 2}},
    {"content": "Shipping is free over 50 EUR.", "score": 0.62, "title": "shipping.md", "metadata": {}},
    {"content": "Unrelated note.", "score": 0.2, "title": "misc.md", "metadata": None},
    {"score": 0.99, "title": "malformed: no content"},
]


@pytest.fixture
def endpoint() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A user's retrieval endpoint per Dify's external knowledge API; records what it was sent."""
    seen: list[dict[str, Any]] = []
    app = FastAPI()

    @app.post("/kb/retrieval")
    async def retrieval_route(request: Request) -> JSONResponse:
        body = await request.json()
        seen.append({"auth": request.headers.get("authorization"), "body": body})
        if request.headers.get("authorization") != f"Bearer {API_KEY}":
            return JSONResponse({"error_code": 1002, "error_msg": "Authorization failed"}, status_code=403)
        return JSONResponse({"records": RECORDS})

    with live_server(app) as base:
        yield f"{base}/kb", seen


@pytest.fixture
def ext_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"ssrf_allow_private_networks": "127.0.0.0/8"})


@pytest.fixture
def ext_client(ext_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(ext_settings, state=build_state(ext_settings))) as client:
        yield client


@pytest.fixture
def console(ext_client: TestClient) -> Console:
    ext_client.post("/console/api/setup", json={"email": OWNER_EMAIL, "name": "Owner", "password": OWNER_PASSWORD})
    return Console(ext_client, OWNER_EMAIL, OWNER_PASSWORD).login()


def _template(console: Console, endpoint: str, api_key: str = API_KEY) -> dict[str, Any]:
    created = console.post(
        "/datasets/external-knowledge-api",
        json={"name": "My RAG", "settings": {"endpoint": endpoint, "api_key": api_key}},
    )
    assert created.status_code == 201, created.text
    return dict(created.json())


def _external_dataset(console: Console, api_id: str, **retrieval_model: Any) -> dict[str, Any]:
    created = console.post(
        "/datasets/external",
        json={
            "name": "Support KB",
            "external_knowledge_api_id": api_id,
            "external_knowledge_id": "kb-42",
            "external_retrieval_model": {"top_k": 3, "score_threshold": 0.5, "score_threshold_enabled": True}
            | retrieval_model,
        },
    )
    assert created.status_code == 201, created.text
    return dict(created.json())


def test_templates_datasets_and_hit_testing(console: Console, ext_client: TestClient, endpoint: Any) -> None:
    url, seen = endpoint
    api = _template(console, url)
    assert api["settings"]["endpoint"] == url
    assert api["settings"]["api_key"] != API_KEY
    assert api["settings"]["api_key"].startswith("ext-se")
    bad = console.post("/datasets/external-knowledge-api", json={"name": "x", "settings": {"endpoint": "ftp://a"}})
    assert (bad.status_code, bad.json()["params"]) == (400, "settings")
    listed = console.get("/datasets/external-knowledge-api").json()
    assert (listed["total"], listed["data"][0]["id"]) == (1, api["id"])

    dataset = _external_dataset(console, api["id"])
    assert dataset["provider"] == "external"
    assert dataset["external_knowledge_info"]["external_knowledge_id"] == "kb-42"
    assert dataset["external_knowledge_info"]["external_knowledge_api_endpoint"] == url
    assert dataset["external_retrieval_model"] == {"top_k": 3, "score_threshold": 0.5, "score_threshold_enabled": True}
    assert console.get(f"/datasets/external-knowledge-api/{api['id']}/use-check").json() == {
        "is_using": True,
        "count": 1,
    }
    in_use = console.delete(f"/datasets/external-knowledge-api/{api['id']}")
    assert (in_use.status_code, in_use.json()["code"]) == (409, "external_knowledge_api_in_use")

    hits = console.post(f"/datasets/{dataset['id']}/external-hit-testing", json={"query": "how long do refunds take"})
    assert hits.status_code == 200, hits.text
    assert hits.json()["query"] == {"content": "how long do refunds take"}
    assert [(r["title"], r["score"]) for r in hits.json()["records"]] == [("refunds.md", 0.91), ("shipping.md", 0.62)]
    assert hits.json()["records"][0]["metadata"] == {"page": 2}
    assert seen[-1] == {
        "auth": f"Bearer {API_KEY}",
        "body": {
            "knowledge_id": "kb-42",
            "query": "how long do refunds take",
            "retrieval_setting": {"top_k": 3, "score_threshold": 0.5},
        },
    }

    # The Service API's /retrieve answers external datasets the same way, with a per-request setting.
    key = console.post("/datasets/api-keys").json()["token"]
    answer = ext_client.post(
        f"/v1/datasets/{dataset['id']}/retrieve",
        headers={"Authorization": f"Bearer {key}"},
        json={"query": "refunds", "external_retrieval_model": {"top_k": 1, "score_threshold_enabled": False}},
    )
    assert answer.status_code == 200, answer.text
    assert [r["content"] for r in answer.json()["records"]] == ["Refunds take 5 business days."]
    assert seen[-1]["body"]["retrieval_setting"] == {"top_k": 1, "score_threshold": 0.0}

    # A rotated key: the masked value sent back keeps the old key; a wrong key surfaces the endpoint's error.
    unchanged = console.patch(
        f"/datasets/external-knowledge-api/{api['id']}",
        json={"name": "Renamed", "settings": {"endpoint": url, "api_key": api["settings"]["api_key"]}},
    )
    assert unchanged.json()["name"] == "Renamed"
    assert console.post(f"/datasets/{dataset['id']}/external-hit-testing", json={"query": "q"}).status_code == 200
    console.patch(
        f"/datasets/external-knowledge-api/{api['id']}", json={"settings": {"endpoint": url, "api_key": "no"}}
    )
    refused = console.post(f"/datasets/{dataset['id']}/external-hit-testing", json={"query": "q"})
    assert (refused.status_code, refused.json()["code"]) == (502, "external_knowledge_api_error")
    assert "403" in refused.json()["message"]


def test_v1_creates_external_datasets_only_with_a_template_of_the_workspace(
    console: Console, ext_client: TestClient, endpoint: Any
) -> None:
    key = console.post("/datasets/api-keys").json()["token"]
    headers = {"Authorization": f"Bearer {key}"}
    unknown = ext_client.post(
        "/v1/datasets",
        headers=headers,
        json={"name": "E", "provider": "external", "external_knowledge_api_id": "nope", "external_knowledge_id": "k"},
    )
    assert unknown.status_code == 404
    api = _template(console, endpoint[0])
    created = ext_client.post(
        "/v1/datasets",
        headers=headers,
        json={
            "name": "E",
            "provider": "external",
            "external_knowledge_api_id": api["id"],
            "external_knowledge_id": "k",
        },
    )
    assert created.status_code == 200, created.text
    assert created.json()["external_retrieval_model"]["top_k"] == 2  # Dify's default


def test_loopback_endpoints_are_refused_by_default(client: TestClient, owner: Console, endpoint: Any) -> None:
    """Without an allowance the SSRF guard refuses the user's loopback endpoint, and nothing is sent."""
    url, seen = endpoint
    dataset = _external_dataset(owner, _template(owner, url)["id"])
    refused = owner.post(f"/datasets/{dataset['id']}/external-hit-testing", json={"query": "refunds"})
    assert (refused.status_code, refused.json()["code"]) == (502, "external_knowledge_api_error")
    assert "not allowed" in refused.json()["message"]
    assert seen == []


def _wait_completed(client: TestClient, headers: dict[str, str], dataset_id: str, batch: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        rows = client.get(f"/v1/datasets/{dataset_id}/documents/{batch}/indexing-status", headers=headers).json()
        if all(r["indexing_status"] == "completed" for r in rows["data"]):
            return
        assert not any(r["indexing_status"] == "error" for r in rows["data"]), rows
        time.sleep(0.05)
    raise AssertionError("indexing did not complete")


def test_apps_retrieve_across_vendor_and_external_datasets(
    console: Console, ext_client: TestClient, ext_settings: Settings, endpoint: Any
) -> None:
    """Multi-dataset retrieval (as chat apps use it) merges external records with indexed segments."""
    key = console.post("/datasets/api-keys").json()["token"]
    headers = {"Authorization": f"Bearer {key}"}
    local = ext_client.post("/v1/datasets", headers=headers, json={"name": "Local", "indexing_technique": "economy"})
    made = ext_client.post(
        f"/v1/datasets/{local.json()['id']}/document/create-by-text",
        headers=headers,
        json={"name": "faq", "text": "Refunds need the original receipt.", "indexing_technique": "economy"},
    )
    _wait_completed(ext_client, headers, local.json()["id"], made.json()["batch"])
    remote = _external_dataset(console, _template(console, endpoint[0])["id"])
    tenant_id = console.get("/workspaces/current").json()["id"]

    async def run() -> list[retrieval.RetrievedRecord]:
        state = build_state(ext_settings)
        runtime = KnowledgeRuntime.from_settings(
            ext_settings,
            state.db,
            state.storage,
            http=SafeHttpClient(EgressPolicy.build(allow_networks="127.0.0.0/8")),
        )
        assert runtime.http is not None
        try:
            return await retrieval.retrieve(
                runtime,
                tenant_id=tenant_id,
                dataset_ids=[local.json()["id"], remote["id"]],
                query="refunds receipt",
                retrieval_model={"search_method": "full_text_search", "top_k": 3},
            )
        finally:
            await runtime.http.aclose()
            state.db.dispose()

    records = asyncio.run(run())
    contents = [r.segment.content for r in records]
    assert set(contents) == {
        "Refunds need the original receipt.",
        "Refunds take 5 business days.",
        "Shipping is free over 50 EUR.",
    }
    external_record = next(r for r in records if r.document.dataset_id == remote["id"])
    assert external_record.document.data_source_type == "external"
    assert external_record.document.name in ("refunds.md", "shipping.md")
