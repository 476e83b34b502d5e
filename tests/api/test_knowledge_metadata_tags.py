"""The knowledge API's metadata, tags, document views and in-use checks (Dify 1.x routes), /v1 and console.

Documents are economy datasets indexed by the server's own job runner (keyword index only), so
metadata filtering is checked through real retrieval.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

from tests._console import Console
from tests._scripted_model import configured_app


def _key(owner: Console) -> dict[str, str]:
    return {"Authorization": f"Bearer {owner.post('/datasets/api-keys').json()['token']}"}


def _dataset(client: TestClient, key: dict[str, str], name: str) -> str:
    created = client.post("/v1/datasets", headers=key, json={"name": name, "indexing_technique": "economy"})
    assert created.status_code == 200, created.text
    return str(created.json()["id"])


def _text_document(client: TestClient, key: dict[str, str], dataset_id: str, name: str, text: str) -> str:
    created = client.post(
        f"/v1/datasets/{dataset_id}/document/create-by-text",
        headers=key,
        json={"name": name, "text": text, "process_rule": {"mode": "automatic"}},
    )
    assert created.status_code == 200, created.text
    _wait(client, key, dataset_id, created.json()["batch"])
    return str(created.json()["document"]["id"])


def _wait(client: TestClient, key: dict[str, str], dataset_id: str, batch: str) -> None:
    deadline = time.monotonic() + 20
    url = f"/v1/datasets/{dataset_id}/documents/{batch}/indexing-status"
    while (rows := client.get(url, headers=key).json()["data"])[0]["indexing_status"] != "completed":
        assert rows[0]["indexing_status"] != "error", rows
        assert time.monotonic() < deadline, rows
        time.sleep(0.05)


def _error(response: Any, status: int, code: str, params: str | None = None) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert (body["code"], body["status"]) == (code, status), body
    if params is not None:
        assert body["params"] == params, body


def _hits(client: TestClient, key: dict[str, str], dataset_id: str, query: str, *conditions: Any) -> list[str]:
    model = {
        "search_method": "full_text_search",
        "top_k": 5,
        "metadata_filtering_conditions": {
            "logical_operator": "and",
            "conditions": [{"name": n, "comparison_operator": op, "value": v} for n, op, v in conditions],
        },
    }
    answer = client.post(
        f"/v1/datasets/{dataset_id}/retrieve", headers=key, json={"query": query, "retrieval_model": model}
    )
    assert answer.status_code == 200, answer.text
    return [r["segment"]["document"]["name"] for r in answer.json()["records"]]


def test_metadata_fields_values_and_filtering(owner: Console, client: TestClient) -> None:
    key = _key(owner)
    dataset_id = _dataset(client, key, "Library")
    base = f"/v1/datasets/{dataset_id}"
    birds = _text_document(client, key, dataset_id, "Birds", "Herons wade in shallow water.")
    trees = _text_document(client, key, dataset_id, "Trees", "Oaks grow near shallow water.")

    author = client.post(f"{base}/metadata", headers=key, json={"type": "string", "name": "author"})
    assert author.status_code == 201, author.text
    assert set(author.json()) == {"id", "name", "type"}
    author_id = author.json()["id"]
    year_id = client.post(f"{base}/metadata", headers=key, json={"type": "number", "name": "year"}).json()["id"]
    _error(
        client.post(f"{base}/metadata", headers=key, json={"type": "blob", "name": "x"}), 400, "invalid_param", "type"
    )
    _error(
        client.post(f"{base}/metadata", headers=key, json={"type": "string", "name": "author"}), 400, "invalid_param"
    )
    _error(
        client.post(f"{base}/metadata", headers=key, json={"type": "string", "name": "uploader"}), 400, "invalid_param"
    )
    _error(
        client.post(f"{base}/metadata", headers=key, json={"type": "string", "name": "x" * 256}), 400, "invalid_param"
    )

    def set_values(document_id: str, *items: tuple[str, str, Any], partial: bool = False) -> Any:
        listed = [{"id": i, "name": n, "value": v} for i, n, v in items]
        operation = {"document_id": document_id, "metadata_list": listed, "partial_update": partial}
        return client.post(f"{base}/documents/metadata", headers=key, json={"operation_data": [operation]})

    done = set_values(birds, (author_id, "author", "Audubon"), (year_id, "year", "1827"))
    assert (done.status_code, done.json()) == (200, {"result": "success"})
    assert set_values(trees, (author_id, "author", "Muir")).status_code == 200
    _error(set_values(birds, (year_id, "year", "soon")), 400, "invalid_metadata")
    _error(set_values(birds, ("no-such-field", "year", 1)), 404, "not_found")
    _error(set_values("no-such-document", (year_id, "year", 1)), 404, "not_found")

    listed = client.get(f"{base}/metadata", headers=key).json()
    assert listed["built_in_field_enabled"] is False
    assert [(f["name"], f["type"], f["count"]) for f in listed["doc_metadata"]] == [
        ("author", "string", 2),
        ("year", "number", 1),
    ]
    detail = client.get(f"{base}/documents/{birds}", headers=key).json()
    assert detail["doc_metadata"] == [
        {"id": author_id, "name": "author", "type": "string", "value": "Audubon"},
        {"id": year_id, "name": "year", "type": "number", "value": 1827},
    ]
    assert (detail["segment_count"], detail["display_status"]) == (1, "available")
    only = client.get(f"{base}/documents/{birds}", headers=key, params={"metadata": "only"}).json()
    assert set(only) == {"id", "doc_type", "doc_metadata"}
    without = client.get(f"{base}/documents/{birds}", headers=key, params={"metadata": "without"}).json()
    assert "doc_metadata" not in without
    assert without["name"] == "Birds"
    _error(client.get(f"{base}/documents/{birds}", headers=key, params={"metadata": "some"}), 400, "invalid_metadata")
    assert client.get(f"/v1/datasets/{dataset_id}", headers=key).json()["doc_metadata"] == [
        {"id": author_id, "name": "author", "type": "string"},
        {"id": year_id, "name": "year", "type": "number"},
    ]

    # Retrieval filters on the stored values, under the field's current name.
    assert sorted(_hits(client, key, dataset_id, "shallow water")) == ["Birds", "Trees"]
    assert _hits(client, key, dataset_id, "shallow water", ("author", "is", "Audubon")) == ["Birds"]
    assert _hits(client, key, dataset_id, "shallow water", ("year", "<", 1900)) == ["Birds"]
    renamed = client.patch(f"{base}/metadata/{author_id}", headers=key, json={"name": "writer"})
    assert renamed.json() == {"id": author_id, "name": "writer", "type": "string"}
    assert _hits(client, key, dataset_id, "shallow water", ("author", "is", "Audubon")) == []
    assert _hits(client, key, dataset_id, "shallow water", ("writer", "is", "Muir")) == ["Trees"]
    _error(client.patch(f"{base}/metadata/{author_id}", headers=key, json={"name": "year"}), 400, "invalid_param")

    # A partial update merges; a full one replaces.
    assert set_values(birds, (year_id, "year", 1900), partial=True).status_code == 200
    values = client.get(f"{base}/documents/{birds}", headers=key, params={"metadata": "only"}).json()["doc_metadata"]
    assert {v["name"]: v["value"] for v in values} == {"writer": "Audubon", "year": 1900}
    assert set_values(birds, (year_id, "year", 1901)).status_code == 200
    values = client.get(f"{base}/documents/{birds}", headers=key, params={"metadata": "only"}).json()["doc_metadata"]
    assert {v["name"]: v["value"] for v in values} == {"year": 1901}

    assert client.delete(f"{base}/metadata/{year_id}", headers=key).status_code == 204
    assert (
        client.get(f"{base}/documents/{birds}", headers=key, params={"metadata": "only"}).json()["doc_metadata"] == []
    )
    assert [f["name"] for f in client.get(f"{base}/metadata", headers=key).json()["doc_metadata"]] == ["writer"]
    _error(client.delete(f"{base}/metadata/{year_id}", headers=key), 404, "not_found")

    # Built-in fields.
    built_in = client.get(f"{base}/metadata/built-in", headers=key).json()["fields"]
    assert [f["name"] for f in built_in] == ["document_name", "uploader", "upload_date", "last_update_date", "source"]
    assert client.post(f"{base}/metadata/built-in/enable", headers=key).json() == {"result": "success"}
    assert client.get(f"{base}/metadata", headers=key).json()["built_in_field_enabled"] is True
    shown = client.get(f"{base}/documents/{trees}", headers=key, params={"metadata": "only"}).json()["doc_metadata"]
    assert {"id": "built-in", "name": "document_name", "type": "string", "value": "Trees"} in shown
    _error(client.post(f"{base}/metadata/built-in/toggle", headers=key), 400, "invalid_action")
    assert client.post(f"{base}/metadata/built-in/disable", headers=key).status_code == 200

    # Ids from another dataset of the workspace, or from another workspace, are not found.
    other = _dataset(client, key, "Other")
    _error(
        client.patch(f"/v1/datasets/{other}/metadata/{author_id}", headers=key, json={"name": "z"}), 404, "not_found"
    )
    operation = {"document_id": birds, "metadata_list": []}
    moved = client.post(f"/v1/datasets/{other}/documents/metadata", headers=key, json={"operation_data": [operation]})
    _error(moved, 404, "not_found")
    owner.post("/workspaces", json={"name": "Elsewhere"})
    foreign = _key(owner)
    _error(client.get(f"{base}/metadata", headers=foreign), 404, "not_found")
    _error(client.patch(f"{base}/metadata/{author_id}", headers=foreign, json={"name": "z"}), 404, "not_found")
    _error(client.post(f"{base}/metadata/built-in/enable", headers=foreign), 404, "not_found")
    _error(client.post(f"{base}/documents/metadata", headers=foreign, json={"operation_data": []}), 404, "not_found")
    _error(client.get(f"{base}/documents/{birds}", headers=foreign), 404, "not_found")


def test_console_metadata_routes(owner: Console, client: TestClient) -> None:
    key = _key(owner)
    dataset_id = _dataset(client, key, "Console library")
    document_id = _text_document(client, key, dataset_id, "Notes", "Kestrels hover over fields.")
    created = owner.post(f"/datasets/{dataset_id}/metadata", json={"type": "time", "name": "published"})
    assert created.status_code == 201, created.text
    field_id = created.json()["id"]
    operation = {"document_id": document_id, "metadata_list": [{"id": field_id, "value": "2024-05-01T00:00:00Z"}]}
    assert (
        owner.post(f"/datasets/{dataset_id}/documents/metadata", json={"operation_data": [operation]}).status_code
        == 200
    )
    (value,) = owner.get(f"/datasets/{dataset_id}/documents/{document_id}").json()["doc_metadata"]
    assert value == {"id": field_id, "name": "published", "type": "time", "value": 1714521600}
    assert [f["name"] for f in owner.get("/datasets/metadata/built-in").json()["fields"]][0] == "document_name"
    assert owner.get(f"/datasets/{dataset_id}/metadata").json()["doc_metadata"][0]["count"] == 1
    assert (
        owner.patch(f"/datasets/{dataset_id}/metadata/{field_id}", json={"name": "issued"}).json()["name"] == "issued"
    )
    assert owner.delete(f"/datasets/{dataset_id}/metadata/{field_id}").status_code == 204
    assert owner.get(f"/datasets/{dataset_id}/metadata").json()["doc_metadata"] == []


def test_tags_binding_and_dataset_filters(owner: Console, client: TestClient) -> None:
    key = _key(owner)
    alpha, beta = _dataset(client, key, "Alpha"), _dataset(client, key, "Beta")
    created = client.post("/v1/datasets/tags", headers=key, json={"name": "hr"})
    assert created.status_code == 200, created.text
    hr = created.json()
    assert (hr["name"], hr["type"], hr["binding_count"]) == ("hr", "knowledge", 0)
    eng = client.post("/v1/datasets/tags", headers=key, json={"name": "eng"}).json()
    _error(client.post("/v1/datasets/tags", headers=key, json={"name": ""}), 400, "invalid_param", "name")
    _error(client.post("/v1/datasets/tags", headers=key, json={"name": "x" * 51}), 400, "invalid_param", "name")
    _error(client.post("/v1/datasets/tags", headers=key, json={"name": "hr"}), 400, "invalid_param")

    bind = "/v1/datasets/tags/binding"
    assert (
        client.post(bind, headers=key, json={"tag_ids": [hr["id"], eng["id"]], "target_id": alpha}).status_code == 204
    )
    assert client.post(bind, headers=key, json={"tag_ids": [hr["id"]], "target_id": beta}).status_code == 204
    assert client.post(bind, headers=key, json={"tag_ids": [hr["id"]], "target_id": beta}).status_code == 204  # again
    _error(client.post(bind, headers=key, json={"tag_ids": [hr["id"]], "target_id": "nope"}), 404, "not_found")
    _error(client.post(bind, headers=key, json={"tag_ids": ["nope"], "target_id": alpha}), 404, "not_found")
    _error(client.post(bind, headers=key, json={"target_id": alpha}), 400, "invalid_param", "tag_ids")

    counts = {t["name"]: t["binding_count"] for t in client.get("/v1/datasets/tags", headers=key).json()}
    assert counts == {"hr": 2, "eng": 1}
    of_alpha = client.get(f"/v1/datasets/{alpha}/tags", headers=key).json()
    assert (sorted(t["name"] for t in of_alpha["data"]), of_alpha["total"]) == (["eng", "hr"], 2)
    assert sorted(t["name"] for t in client.get(f"/v1/datasets/{alpha}", headers=key).json()["tags"]) == ["eng", "hr"]

    def names(**params: Any) -> list[str]:
        return sorted(d["name"] for d in client.get("/v1/datasets", headers=key, params=params).json()["data"])

    assert names(tag_ids=eng["id"]) == ["Alpha"]
    assert names(tag_ids=hr["id"]) == ["Alpha", "Beta"]
    assert names(**{"tag_ids[]": eng["id"]}) == ["Alpha"]
    assert names(tag_ids=f"{eng['id']},{hr['id']}") == ["Alpha", "Beta"]
    assert names(tag_ids="unknown-tag") == []
    assert names(keyword="alp") == ["Alpha"]
    assert names(include_all="true") == ["Alpha", "Beta"]

    renamed = client.patch("/v1/datasets/tags", headers=key, json={"tag_id": hr["id"], "name": "people"})
    assert (renamed.json()["name"], renamed.json()["binding_count"]) == ("people", 2)
    unbind = client.post("/v1/datasets/tags/unbinding", headers=key, json={"tag_id": hr["id"], "target_id": beta})
    assert unbind.status_code == 204
    assert names(tag_ids=hr["id"]) == ["Alpha"]
    assert client.request("DELETE", "/v1/datasets/tags", headers=key, json={"tag_id": eng["id"]}).status_code == 204
    assert [t["name"] for t in client.get(f"/v1/datasets/{alpha}/tags", headers=key).json()["data"]] == ["people"]

    # The console's paths reach the same tags.
    listed = owner.get("/tags", params={"type": "knowledge"}).json()
    assert [(t["name"], t["binding_count"]) for t in listed] == [("people", 1)]
    ops = owner.post("/tags", json={"name": "ops", "type": "knowledge"}).json()
    bound = owner.post("/tag-bindings/create", json={"tag_ids": [ops["id"]], "target_id": beta, "type": "knowledge"})
    assert bound.json() == {"result": "success"}
    assert [d["name"] for d in owner.get("/datasets", params={"tag_ids": ops["id"]}).json()["data"]] == ["Beta"]
    assert owner.patch(f"/tags/{ops['id']}", json={"name": "ops2", "type": "knowledge"}).json()["name"] == "ops2"
    removed = owner.post("/tag-bindings/remove", json={"tag_id": ops["id"], "target_id": beta, "type": "knowledge"})
    assert removed.json() == {"result": "success"}
    _error(owner.get("/tags", params={"type": "weird"}), 400, "invalid_param", "type")
    assert owner.delete(f"/tags/{ops['id']}").status_code == 204

    # Another workspace sees none of it and can touch none of it.
    owner.post("/workspaces", json={"name": "Elsewhere"})
    foreign = _key(owner)
    mine = _dataset(client, foreign, "Mine")
    assert client.get("/v1/datasets/tags", headers=foreign).json() == []
    _error(client.post(bind, headers=foreign, json={"tag_ids": [hr["id"]], "target_id": mine}), 404, "not_found")
    _error(client.patch("/v1/datasets/tags", headers=foreign, json={"tag_id": hr["id"], "name": "x"}), 404, "not_found")
    gone = client.request("DELETE", "/v1/datasets/tags", headers=foreign, json={"tag_id": hr["id"]})
    _error(gone, 404, "not_found")
    _error(client.get(f"/v1/datasets/{alpha}/tags", headers=foreign), 404, "not_found")
    assert names(tag_ids=hr["id"]) == ["Alpha"]  # still bound, for its owner


def test_document_status_filter_and_original_file(owner: Console, client: TestClient) -> None:
    key = _key(owner)
    dataset_id = _dataset(client, key, "Files")
    base = f"/v1/datasets/{dataset_id}"
    data = b"# Policy\n\nBe kind to herons."
    created = client.post(
        f"{base}/document/create-by-file",
        headers=key,
        files={"file": ("policy.md", data, "text/markdown")},
        data={"data": '{"process_rule": {"mode": "automatic"}}'},
    )
    assert created.status_code == 200, created.text
    _wait(client, key, dataset_id, created.json()["batch"])
    file_doc = created.json()["document"]["id"]
    text_doc = _text_document(client, key, dataset_id, "Notes", "Owls hunt at night.")

    info = client.get(f"{base}/documents/{file_doc}/upload-file", headers=key)
    assert info.status_code == 200, info.text
    body = info.json()
    assert (body["name"], body["size"], body["extension"]) == ("policy.md", len(data), "md")
    assert set(body) == {
        "id",
        "name",
        "size",
        "extension",
        "url",
        "download_url",
        "mime_type",
        "created_by",
        "created_at",
    }
    assert body["url"].startswith(f"/files/{body['id']}/file-preview?timestamp=")
    assert body["download_url"] == body["url"] + "&as_attachment=true"
    assert client.get(body["url"]).content == data
    assert client.get(body["url"].replace("sign=", "sign=0")).status_code == 403
    _error(client.get(f"{base}/documents/{text_doc}/upload-file", headers=key), 404, "not_found")
    _error(client.get(f"{base}/documents/nope/upload-file", headers=key), 404, "not_found")

    disabled = client.patch(f"{base}/documents/status/disable", headers=key, json={"document_ids": [text_doc]})
    assert disabled.status_code == 200, disabled.text

    def listed(status: str | None) -> list[tuple[str, str]]:
        params = {"status": status} if status else {}
        rows = client.get(f"{base}/documents", headers=key, params=params).json()["data"]
        return [(d["name"], d["display_status"]) for d in rows]

    assert listed(None) == [("Notes", "disabled"), ("policy.md", "available")]
    assert listed("disabled") == [("Notes", "disabled")]
    assert listed("available") == [("policy.md", "available")]
    assert listed("queuing") == []
    assert listed("bogus") == listed(None)  # an unknown status filters nothing, as in Dify
    console_rows = owner.get(f"/datasets/{dataset_id}/documents", params={"status": "disabled"}).json()["data"]
    assert [d["name"] for d in console_rows] == ["Notes"]
    assert owner.get(f"/datasets/{dataset_id}/documents/{file_doc}/upload-file").json()["id"] == body["id"]
    owner.post("/workspaces", json={"name": "Elsewhere"})
    _error(client.get(f"{base}/documents/{file_doc}/upload-file", headers=_key(owner)), 404, "not_found")


def _knowledge(dataset_id: str) -> dict[str, Any]:
    return {"retrieval_model": "multiple", "datasets": {"datasets": [{"dataset": {"enabled": True, "id": dataset_id}}]}}


def test_datasets_used_by_apps_cannot_be_deleted(chat_owner: Console) -> None:
    client = chat_owner.client
    key = _key(chat_owner)
    dataset_id = _dataset(client, key, "Used")
    _, app_id = configured_app(chat_owner, dataset_configs=_knowledge(dataset_id))
    _error(client.delete(f"/v1/datasets/{dataset_id}", headers=key), 409, "dataset_in_use")
    _error(chat_owner.delete(f"/datasets/{dataset_id}"), 409, "dataset_in_use")
    assert chat_owner.get(f"/datasets/{dataset_id}/use-check").json() == {"is_using": True}
    related = chat_owner.get(f"/datasets/{dataset_id}/related-apps").json()
    assert (related["total"], related["data"][0]["id"]) == (1, app_id)
    assert client.get(f"/v1/datasets/{dataset_id}", headers=key).json()["app_count"] == 1

    config = dict(chat_owner.get(f"/apps/{app_id}").json()["model_config"])
    config["dataset_configs"] = {"retrieval_model": "multiple", "datasets": {"datasets": []}}
    assert chat_owner.post(f"/apps/{app_id}/model-config", json=config).status_code == 200
    assert chat_owner.get(f"/datasets/{dataset_id}/use-check").json() == {"is_using": False}

    flow = chat_owner.create_app("Flow", "workflow")
    node = {
        "id": "kr",
        "type": "custom",
        "data": {
            "type": "knowledge-retrieval",
            "title": "KR",
            "dataset_ids": [dataset_id],
            "retrieval_mode": "multiple",
        },
    }
    saved = chat_owner.post(f"/apps/{flow['id']}/workflows/draft", json={"graph": {"nodes": [node], "edges": []}})
    assert saved.status_code == 200, saved.text
    _error(client.delete(f"/v1/datasets/{dataset_id}", headers=key), 409, "dataset_in_use")
    cleared = chat_owner.post(f"/apps/{flow['id']}/workflows/draft", json={"graph": {"nodes": [], "edges": []}})
    assert cleared.status_code == 200, cleared.text
    assert client.delete(f"/v1/datasets/{dataset_id}", headers=key).status_code == 204
