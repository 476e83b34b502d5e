"""Child chunks of parent-child (hierarchical_model) documents through the knowledge API.

The server's job runner indexes with the scripted bag-of-words embedder; every change to a child
chunk must show in retrieval (vector and keyword indexes) once the segment is `completed` again.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from loomworks.api.app import build_state, create_app
from loomworks.core.config import Settings
from tests._console import OWNER_EMAIL, OWNER_PASSWORD, Console
from tests._scripted_model import scripted_embed

RULE = {
    "mode": "hierarchical",
    "rules": {
        "pre_processing_rules": [],
        "parent_mode": "paragraph",
        "segmentation": {"separator": "\\n\\n", "max_tokens": 500},
        "subchunk_segmentation": {"separator": "\\n", "max_tokens": 100},
    },
}
TEXT = "Birds\nHerons wade in shallow water.\nOwls hunt at night.\n\nTrees\nOaks live for centuries."


@pytest.fixture
def rag_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, state=build_state(settings, embed=scripted_embed))) as client:
        yield client


@pytest.fixture
def owner(rag_client: TestClient) -> Console:
    rag_client.post("/console/api/setup", json={"email": OWNER_EMAIL, "name": "Owner", "password": OWNER_PASSWORD})
    return Console(rag_client, OWNER_EMAIL, OWNER_PASSWORD).login()


def _key(owner: Console) -> dict[str, str]:
    return {"Authorization": f"Bearer {owner.post('/datasets/api-keys').json()['token']}"}


def _wait(fetch: Any, done: Any) -> Any:
    deadline = time.monotonic() + 20
    while not done(value := fetch()):
        assert time.monotonic() < deadline, value
        time.sleep(0.05)
    return value


def _document(client: TestClient, key: dict[str, str], *, doc_form: str = "hierarchical_model") -> tuple[str, str]:
    body = {"name": f"Nature {doc_form}", "indexing_technique": "high_quality", "embedding_model": "bow-64"}
    dataset = client.post("/v1/datasets", headers=key, json={**body, "embedding_model_provider": "scripted"}).json()
    rule = RULE if doc_form == "hierarchical_model" else {"mode": "automatic"}
    created = client.post(
        f"/v1/datasets/{dataset['id']}/document/create-by-text",
        headers=key,
        json={"name": "Nature", "text": TEXT, "doc_form": doc_form, "process_rule": rule},
    )
    assert created.status_code == 200, created.text
    url = f"/v1/datasets/{dataset['id']}/documents/{created.json()['batch']}/indexing-status"
    _wait(lambda: client.get(url, headers=key).json()["data"][0]["indexing_status"], lambda s: s == "completed")
    return dataset["id"], created.json()["document"]["id"]


def _children_of(client: TestClient, key: dict[str, str], segment_url: str) -> list[dict[str, Any]]:
    """The segment's child chunks once the sync job has indexed them."""
    segment = _wait(lambda: client.get(segment_url, headers=key).json()["data"], lambda s: s["status"] == "completed")
    return list(segment["child_chunks"])


def _top(client: TestClient, key: dict[str, str], dataset_id: str, query: str, method: str) -> list[str]:
    model = {"search_method": method, "top_k": 3, "score_threshold_enabled": method == "semantic_search"}
    if method == "semantic_search":
        model["score_threshold"] = 0.5
    answer = client.post(
        f"/v1/datasets/{dataset_id}/retrieve", headers=key, json={"query": query, "retrieval_model": model}
    )
    assert answer.status_code == 200, answer.text
    return [c["content"] for r in answer.json()["records"] for c in r["child_chunks"]]


def test_child_chunks_are_listed_added_edited_deleted_and_indexed(rag_client: TestClient, owner: Console) -> None:
    key = _key(owner)
    dataset_id, document_id = _document(rag_client, key)
    segments = rag_client.get(f"/v1/datasets/{dataset_id}/documents/{document_id}/segments", headers=key).json()
    birds = next(s for s in segments["data"] if s["content"].startswith("Birds"))
    segment_url = f"/v1/datasets/{dataset_id}/documents/{document_id}/segments/{birds['id']}"
    url = f"{segment_url}/child_chunks"

    listed = rag_client.get(url, headers=key).json()
    assert [c["content"] for c in listed["data"]] == ["Birds", "Herons wade in shallow water.", "Owls hunt at night."]
    assert (listed["total"], listed["total_pages"], listed["page"], listed["limit"]) == (3, 1, 1, 20)
    paged = rag_client.get(url, headers=key, params={"page": 2, "limit": 2}).json()
    assert ([c["content"] for c in paged["data"]], paged["total_pages"]) == (["Owls hunt at night."], 2)
    found = rag_client.get(url, headers=key, params={"keyword": "owls"}).json()
    assert [c["content"] for c in found["data"]] == ["Owls hunt at night."]

    added = rag_client.post(url, headers=key, json={"content": "Kingfishers dive for fish."})
    assert added.status_code == 200, added.text
    chunk = added.json()["data"]
    assert (chunk["segment_id"], chunk["position"], chunk["type"]) == (birds["id"], 4, "customized")
    assert set(chunk) == {"id", "segment_id", "content", "position", "word_count", "type", "created_at", "updated_at"}
    assert [c["id"] for c in _children_of(rag_client, key, segment_url)][-1] == chunk["id"]
    assert _top(rag_client, key, dataset_id, "kingfishers", "full_text_search") == ["Kingfishers dive for fish."]
    # A semantic hit returns the parent with every child chunk that matched.
    assert "Kingfishers dive for fish." in _top(
        rag_client, key, dataset_id, "kingfishers dive for fish", "semantic_search"
    )
    runtime = rag_client.app.state.loom.extras["knowledge"]  # type: ignore[attr-defined]
    assert chunk["id"] in runtime.vectors.node_ids(dataset_id, document_id)

    edited = rag_client.patch(f"{url}/{chunk['id']}", headers=key, json={"content": "Cormorants dry their wings."})
    assert (edited.status_code, edited.json()["data"]["content"]) == (200, "Cormorants dry their wings.")
    _children_of(rag_client, key, segment_url)
    assert _top(rag_client, key, dataset_id, "kingfishers", "full_text_search") == []
    assert _top(rag_client, key, dataset_id, "cormorants", "full_text_search") == ["Cormorants dry their wings."]
    semantic = _top(rag_client, key, dataset_id, "cormorants dry their wings", "semantic_search")
    assert "Cormorants dry their wings." in semantic
    assert "Kingfishers dive for fish." not in semantic

    # Editing the parent keeps hand-written child chunks unless regeneration is asked for.
    kept = rag_client.post(segment_url, headers=key, json={"segment": {"content": "Birds\nHerons wade.\nOwls hunt."}})
    assert kept.status_code == 200, kept.text
    assert "Cormorants dry their wings." in [c["content"] for c in _children_of(rag_client, key, segment_url)]
    regenerated = rag_client.post(
        segment_url,
        headers=key,
        json={"segment": {"content": "Birds\nSwifts sleep on the wing.", "regenerate_child_chunks": True}},
    )
    assert regenerated.status_code == 200, regenerated.text
    children = _children_of(rag_client, key, segment_url)
    assert [c["content"] for c in children] == ["Birds", "Swifts sleep on the wing."]
    assert {c["type"] for c in children} == {"automatic"}
    assert _top(rag_client, key, dataset_id, "cormorants", "full_text_search") == []
    assert chunk["id"] not in runtime.vectors.node_ids(dataset_id, document_id)

    swifts = children[1]
    assert rag_client.delete(f"{url}/{swifts['id']}", headers=key).status_code == 204
    assert [c["content"] for c in _children_of(rag_client, key, segment_url)] == ["Birds"]
    assert _top(rag_client, key, dataset_id, "swifts", "full_text_search") == []
    assert swifts["id"] not in runtime.vectors.node_ids(dataset_id, document_id)
    with runtime.db.session() as session:
        keyword_nodes = runtime.keywords.node_ids(session.connection(), dataset_id, document_id)
    assert swifts["id"] not in keyword_nodes
    assert chunk["id"] not in keyword_nodes


def test_console_child_chunk_routes(rag_client: TestClient, owner: Console) -> None:
    key = _key(owner)
    dataset_id, document_id = _document(rag_client, key)
    segment = owner.get(f"/datasets/{dataset_id}/documents/{document_id}/segments").json()["data"][1]
    url = f"/datasets/{dataset_id}/documents/{document_id}/segments/{segment['id']}/child_chunks"
    (first, second) = owner.get(url).json()["data"]
    batch = owner.patch(url, json={"chunks": [{"id": second["id"], "content": second["content"]}, {"content": "Elms"}]})
    assert batch.status_code == 200, batch.text
    assert [(c["content"], c["position"]) for c in batch.json()["data"]] == [(second["content"], 1), ("Elms", 2)]
    assert [c["id"] for c in owner.get(url).json()["data"]][0] == second["id"]
    assert first["id"] not in [c["id"] for c in owner.get(url).json()["data"]]
    created = owner.post(url, json={"content": "Birches have white bark."}).json()["data"]
    assert owner.patch(f"{url}/{created['id']}", json={"content": "Birch bark is white."}).status_code == 200
    assert owner.delete(f"{url}/{created['id']}").status_code == 204
    segment_url = f"/v1/datasets/{dataset_id}/documents/{document_id}/segments/{segment['id']}"
    assert [c["content"] for c in _children_of(rag_client, key, segment_url)] == [second["content"], "Elms"]
    assert _top(rag_client, key, dataset_id, "elms", "full_text_search") == ["Elms"]


def _error(response: Any, status: int, code: str, params: str | None = None) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    assert (response.json()["code"], response.json()["status"]) == (code, status)
    if params is not None:
        assert response.json()["params"] == params


def test_child_chunk_errors_and_scoping(rag_client: TestClient, owner: Console) -> None:
    key = _key(owner)
    dataset_id, document_id = _document(rag_client, key)
    segment_id = rag_client.get(f"/v1/datasets/{dataset_id}/documents/{document_id}/segments", headers=key).json()[
        "data"
    ][0]["id"]
    base = f"/v1/datasets/{dataset_id}/documents/{document_id}/segments"
    url = f"{base}/{segment_id}/child_chunks"
    child_id = rag_client.get(url, headers=key).json()["data"][0]["id"]

    _error(rag_client.post(url, headers=key, json={"content": "  "}), 400, "invalid_param", "content")
    _error(rag_client.post(url, headers=key, json={}), 400, "invalid_param", "content")
    _error(rag_client.patch(f"{url}/{child_id}", headers=key, json={"content": ""}), 400, "invalid_param", "content")
    _error(rag_client.get(url, headers=key, params={"limit": 101}), 400, "invalid_param", "limit")
    _error(rag_client.patch(f"{url}/nope", headers=key, json={"content": "x"}), 404, "not_found")
    _error(rag_client.delete(f"{url}/nope", headers=key), 404, "not_found")
    _error(rag_client.get(f"{base}/nope/child_chunks", headers=key), 404, "not_found")
    _error(rag_client.post(f"{base}/nope/child_chunks", headers=key, json={"content": "x"}), 404, "not_found")

    # A child chunk is addressed through its own segment only.
    other_segment = rag_client.get(base, headers=key).json()["data"][1]["id"]
    _error(rag_client.delete(f"{base}/{other_segment}/child_chunks/{child_id}", headers=key), 404, "not_found")

    # Plain (text_model) documents have no child chunks to edit.
    plain_dataset, plain_document = _document(rag_client, key, doc_form="text_model")
    plain_base = f"/v1/datasets/{plain_dataset}/documents/{plain_document}/segments"
    plain_segment = rag_client.get(plain_base, headers=key).json()["data"][0]["id"]
    _error(
        rag_client.post(f"{plain_base}/{plain_segment}/child_chunks", headers=key, json={"content": "x"}),
        400,
        "invalid_param",
    )

    # Another workspace's key finds none of it.
    owner.post("/workspaces", json={"name": "Elsewhere"})
    foreign = _key(owner)
    _error(rag_client.get(url, headers=foreign), 404, "not_found")
    _error(rag_client.post(url, headers=foreign, json={"content": "x"}), 404, "not_found")
    _error(rag_client.patch(f"{url}/{child_id}", headers=foreign, json={"content": "x"}), 404, "not_found")
    _error(rag_client.delete(f"{url}/{child_id}", headers=foreign), 404, "not_found")
    assert len(rag_client.get(url, headers=key).json()["data"]) == 3
