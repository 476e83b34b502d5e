"""The knowledge API with dataset keys: datasets and documents records, errors, scoping.

Indexing itself (extraction, splitting, embeddings, retrieval) is tested in tests/services/knowledge.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from loomworks.core.config import Settings
from tests._console import Console


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """These tests look at records as the API leaves them: no indexing job runs behind their back
    (indexing itself is tested in test_knowledge_indexing.py)."""
    return settings.model_copy(update={"run_jobs_in_process": False})


def _key(owner: Console) -> dict[str, str]:
    return {"Authorization": f"Bearer {owner.post('/datasets/api-keys').json()['token']}"}


def test_dataset_crud(owner: Console, client: TestClient) -> None:
    headers = _key(owner)
    created = client.post("/v1/datasets", headers=headers, json={"name": "Manuals", "indexing_technique": "economy"})
    assert created.status_code == 200, created.text
    dataset = created.json()
    assert (dataset["name"], dataset["permission"], dataset["document_count"]) == ("Manuals", "only_me", 0)
    assert dataset["retrieval_model_dict"]["search_method"] == "semantic_search"
    duplicate = client.post("/v1/datasets", headers=headers, json={"name": "Manuals"})
    assert (duplicate.status_code, duplicate.json()["code"]) == (409, "dataset_name_duplicate")
    too_long = client.post("/v1/datasets", headers=headers, json={"name": "x" * 41})
    assert too_long.json()["params"] == "name"
    listed = client.get("/v1/datasets", headers=headers, params={"page": 1, "limit": 20}).json()
    assert (listed["total"], listed["page"], listed["has_more"]) == (1, 1, False)
    patched = client.patch(
        f"/v1/datasets/{dataset['id']}",
        headers=headers,
        json={"name": "Handbooks", "retrieval_model": {"search_method": "hybrid_search", "top_k": 4}},
    )
    assert patched.json()["retrieval_model_dict"]["top_k"] == 4
    bad = client.patch(f"/v1/datasets/{dataset['id']}", headers=headers, json={"retrieval_model": {"top_k": 0}})
    assert bad.status_code == 400
    assert client.get(f"/v1/datasets/{dataset['id']}", headers=headers).json()["name"] == "Handbooks"
    assert client.delete(f"/v1/datasets/{dataset['id']}", headers=headers).status_code == 204
    assert client.get(f"/v1/datasets/{dataset['id']}", headers=headers).status_code == 404


def test_documents_are_recorded_and_queued(owner: Console, client: TestClient) -> None:
    headers = _key(owner)
    dataset = client.post("/v1/datasets", headers=headers, json={"name": "Docs"}).json()
    url = f"/v1/datasets/{dataset['id']}"
    missing_technique = client.post(f"{url}/document/create-by-text", headers=headers, json={"name": "a", "text": "b"})
    assert missing_technique.json()["params"] == "indexing_technique"
    created = client.post(
        f"{url}/document/create-by-text",
        headers=headers,
        json={
            "name": "Returns",
            "text": "You may return items within 30 days.",
            "indexing_technique": "economy",
            "process_rule": {"mode": "automatic"},
        },
    )
    assert created.status_code == 200, created.text
    document, batch = created.json()["document"], created.json()["batch"]
    assert (document["indexing_status"], document["display_status"]) == ("waiting", "queuing")
    status = client.get(f"{url}/documents/{batch}/indexing-status", headers=headers).json()["data"]
    assert status[0]["id"] == document["id"]
    assert (status[0]["completed_segments"], status[0]["total_segments"]) == (0, 0)

    by_file = client.post(
        f"{url}/document/create-by-file",
        headers=headers,
        files={"file": ("policy.md", b"# Policy\n\nBe nice.", "text/markdown")},
        data={"data": '{"indexing_technique": "economy", "process_rule": {"mode": "automatic"}}'},
    )
    assert by_file.status_code == 200, by_file.text
    assert by_file.json()["document"]["name"] == "policy.md"
    exe = client.post(
        f"{url}/document/create-by-file", headers=headers, files={"file": ("x.exe", b"MZ\x00")}, data={"data": "{}"}
    )
    assert (exe.status_code, exe.json()["code"]) == (415, "unsupported_file_type")
    bad_rule = client.post(
        f"{url}/document/create-by-text",
        headers=headers,
        json={
            "name": "a",
            "text": "b",
            "process_rule": {"mode": "custom", "rules": {"segmentation": {"max_tokens": 5}}},
        },
    )
    assert bad_rule.json()["params"] == "process_rule"

    listed = client.get(f"{url}/documents", headers=headers).json()
    assert [d["name"] for d in listed["data"]] == ["policy.md", "Returns"]
    # Segments can only be added to completed documents.
    refused = client.post(
        f"{url}/documents/{document['id']}/segments", headers=headers, json={"segments": [{"content": "x"}]}
    )
    assert refused.status_code == 404
    assert client.delete(f"{url}/documents/{document['id']}", headers=headers).status_code == 204
    state = client.app.state.loom
    from loomworks.store.tables import Job

    with state.db.session() as session:
        kinds = sorted(job.kind for job in session.query(Job))
    assert kinds == ["index_document", "index_document"]


def test_dataset_keys_and_scopes(owner: Console, client: TestClient) -> None:
    headers = _key(owner)
    dataset = client.post("/v1/datasets", headers=headers, json={"name": "Private"}).json()
    app = owner.create_app("Bot")
    app_key = {"Authorization": f"Bearer {owner.create_key(app['id'])}"}
    assert client.get("/v1/datasets", headers=app_key).status_code == 401
    owner.post("/workspaces", json={"name": "Other"})
    other = _key(owner)
    assert client.get(f"/v1/datasets/{dataset['id']}", headers=other).status_code == 404
    assert client.get("/v1/datasets", headers=other).json()["total"] == 0


def test_console_dataset_from_uploads(owner: Console) -> None:
    dataset = owner.post("/datasets", json={"name": "Console KB", "indexing_technique": "economy"})
    assert dataset.status_code == 201
    dataset_id = dataset.json()["id"]
    assert owner.get("/files/upload").json()["file_size_limit"] == 15
    upload = owner.post(
        "/files/upload",
        params={"source": "datasets"},
        files={"file": ("faq.md", b"# FAQ\n\nQ: hours?\nA: 9-5.", "text/markdown")},
    )
    assert upload.status_code == 201
    image = owner.post("/files/upload", params={"source": "datasets"}, files={"file": ("x.png", b"\x89PNG\r\n\x1a\n")})
    assert image.status_code == 415
    created = owner.post(
        f"/datasets/{dataset_id}/documents",
        json={
            "data_source": {
                "type": "upload_file",
                "info_list": {"data_source_type": "upload_file", "file_info_list": {"file_ids": [upload.json()["id"]]}},
            },
            "process_rule": {"mode": "automatic"},
        },
    )
    assert created.status_code == 200, created.text
    batch = created.json()["batch"]
    status = owner.get(f"/datasets/{dataset_id}/batch/{batch}/indexing-status").json()["data"]
    assert status[0]["indexing_status"] == "waiting"
    listed = owner.get(f"/datasets/{dataset_id}/documents").json()
    assert [d["name"] for d in listed["data"]] == ["faq.md"]
    document_id = listed["data"][0]["id"]
    assert owner.patch(f"/datasets/{dataset_id}/documents/{document_id}/processing/pause").status_code == 200
    assert owner.get(f"/datasets/{dataset_id}/documents/{document_id}").json()["display_status"] == "paused"
    missing = owner.post(
        f"/datasets/{dataset_id}/documents",
        json={"data_source": {"type": "upload_file", "info_list": {"file_info_list": {"file_ids": ["nope"]}}}},
    )
    assert missing.status_code == 404
    assert owner.get("/datasets").json()["data"][0]["document_count"] == 1
