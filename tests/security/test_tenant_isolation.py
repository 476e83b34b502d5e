"""Cross-workspace access: every object type, addressed by id from another workspace, is not found.

Two workspaces, each with its own owner. The second owner knows every id of the first workspace
(as an attacker who read them somewhere would) and tries to read, change or delete each.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests._console import Console, invite_member
from tests._scripted_model import configured_app

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def _victim_objects(owner: Console) -> dict[str, Any]:
    client = owner.client
    headers, app_id = configured_app(owner)
    turn = client.post("/v1/chat-messages", headers=headers, json={"query": "secret", "inputs": {}, "user": "v"}).json()
    upload = client.post("/v1/files/upload", headers=headers, files={"file": ("a.png", PNG)}, data={"user": "v"}).json()
    key_id = owner.get(f"/apps/{app_id}/api-keys").json()["data"][0]["id"]
    dataset_key = owner.post("/datasets/api-keys").json()["id"]
    flow = owner.create_app("Flow", "workflow")
    version = owner.post(f"/apps/{flow['id']}/workflows/publish", json={}).json()["id"]
    dataset = owner.post("/datasets", json={"name": "Victim KB", "indexing_technique": "economy"}).json()["id"]
    field = owner.post(f"/datasets/{dataset}/metadata", json={"type": "string", "name": "owner"}).json()["id"]
    tag = owner.post("/tags", json={"name": "secret", "type": "knowledge"}).json()["id"]
    return {
        "dataset_id": dataset,
        "metadata_id": field,
        "tag_id": tag,
        "headers": headers,
        "app_id": app_id,
        "conversation_id": turn["conversation_id"],
        "message_id": turn["message_id"],
        "file_id": upload["id"],
        "key_id": key_id,
        "dataset_key_id": dataset_key,
        "flow_id": flow["id"],
        "version_id": version,
    }


def test_console_routes_never_cross_workspaces(chat_owner: Console) -> None:
    ids = _victim_objects(chat_owner)
    attacker = invite_member(chat_owner, "attacker@example.com", "editor")
    attacker.post("/workspaces", json={"name": "Attacker's"})  # acting in their own workspace from now on
    a, c, m = ids["app_id"], ids["conversation_id"], ids["message_id"]
    f, v = ids["flow_id"], ids["version_id"]
    d, t = ids["dataset_id"], ids["tag_id"]
    attempts = [
        ("GET", f"/apps/{a}", None),
        ("PUT", f"/apps/{a}", {"name": "pwned"}),
        ("DELETE", f"/apps/{a}", None),
        ("POST", f"/apps/{a}/copy", {}),
        ("POST", f"/apps/{a}/model-config", {"model": {"provider": "x", "name": "y"}}),
        ("POST", f"/apps/{a}/chat-messages", {"query": "x", "inputs": {}}),
        ("GET", f"/apps/{a}/api-keys", None),
        ("POST", f"/apps/{a}/api-keys", None),
        ("DELETE", f"/apps/{a}/api-keys/{ids['key_id']}", None),
        ("GET", f"/apps/{a}/chat-conversations", None),
        ("GET", f"/apps/{a}/chat-conversations/{c}", None),
        ("GET", f"/apps/{a}/chat-messages?conversation_id={c}", None),
        ("POST", f"/apps/{a}/feedbacks", {"message_id": m, "rating": "like"}),
        ("GET", f"/apps/{a}/statistics/daily-messages", None),
        ("GET", f"/apps/{f}/workflows/draft", None),
        ("POST", f"/apps/{f}/workflows/draft", {"graph": {"nodes": [], "edges": []}}),
        ("POST", f"/apps/{f}/workflows/publish", {}),
        ("GET", f"/apps/{f}/workflows", None),
        ("PATCH", f"/apps/{f}/workflows/{v}", {"marked_name": "x"}),
        ("POST", f"/apps/{f}/workflows/{v}/restore", None),
        ("DELETE", f"/apps/{f}/workflows/{v}", None),
        ("DELETE", f"/datasets/api-keys/{ids['dataset_key_id']}", None),
        ("GET", f"/datasets/{d}", None),
        ("DELETE", f"/datasets/{d}", None),
        ("GET", f"/datasets/{d}/use-check", None),
        ("GET", f"/datasets/{d}/metadata", None),
        ("POST", f"/datasets/{d}/metadata", {"type": "string", "name": "x"}),
        ("PATCH", f"/datasets/{d}/metadata/{ids['metadata_id']}", {"name": "x"}),
        ("DELETE", f"/datasets/{d}/metadata/{ids['metadata_id']}", None),
        ("POST", f"/datasets/{d}/metadata/built-in/enable", None),
        ("POST", f"/datasets/{d}/documents/metadata", {"operation_data": []}),
        ("GET", f"/datasets/{d}/tags", None),
        ("PATCH", f"/tags/{t}", {"name": "x"}),
        ("DELETE", f"/tags/{t}", None),
        ("POST", "/tag-bindings/create", {"tag_ids": [t], "target_id": d}),
        ("POST", "/tag-bindings/remove", {"tag_id": t, "target_id": d}),
        ("GET", f"/datasets/{d}/documents/x/upload-file", None),
        ("GET", f"/datasets/{d}/documents/x/segments/y/child_chunks", None),
        ("POST", f"/datasets/{d}/documents/x/segments/y/child_chunks", {"content": "x"}),
        ("DELETE", f"/datasets/{d}/documents/x/segments/y/child_chunks/z", None),
    ]
    for method, path, body in attempts:
        response = attacker.client.request(method, f"/console/api{path}", headers=attacker.headers, json=body)
        assert response.status_code == 404, (method, path, response.status_code, response.text)
        assert response.json()["code"] == "not_found"
    # Nothing changed for the victim.
    assert chat_owner.post("/workspaces/switch", json={"tenant_id": _first_workspace(chat_owner)}).status_code == 200
    assert chat_owner.get(f"/apps/{a}").json()["name"] == "chat app"
    assert len(chat_owner.get(f"/apps/{a}/api-keys").json()["data"]) == 1
    assert [f["name"] for f in chat_owner.get(f"/datasets/{d}/metadata").json()["doc_metadata"]] == ["owner"]
    assert [tag["name"] for tag in chat_owner.get("/tags").json()] == ["secret"]


def _first_workspace(owner: Console) -> str:
    listed = owner.get("/workspaces").json()["workspaces"]
    return next(w["id"] for w in listed if w["name"] == "Owner's Workspace")


def test_app_keys_never_reach_other_apps_objects(chat_owner: Console) -> None:
    ids = _victim_objects(chat_owner)
    client: TestClient = chat_owner.client
    chat_owner.post("/workspaces", json={"name": "Other"})
    other_headers, _ = configured_app(chat_owner)
    c, m = ids["conversation_id"], ids["message_id"]
    attempts = [
        ("GET", f"/v1/messages?conversation_id={c}&user=v", None),
        ("POST", "/v1/chat-messages", {"query": "x", "inputs": {}, "user": "v", "conversation_id": c}),
        ("POST", f"/v1/messages/{m}/feedbacks", {"rating": "like", "user": "v"}),
        ("GET", f"/v1/messages/{m}/suggested?user=v", None),
        ("POST", f"/v1/conversations/{c}/name", {"name": "x", "user": "v"}),
        ("DELETE", f"/v1/conversations/{c}", {"user": "v"}),
        ("GET", f"/v1/conversations/{c}/variables?user=v", None),
        (
            "POST",
            "/v1/chat-messages",
            {
                "query": "x",
                "inputs": {},
                "user": "v",
                "files": [{"type": "image", "transfer_method": "local_file", "upload_file_id": ids["file_id"]}],
            },
        ),
    ]
    for method, path, body in attempts:
        response = client.request(method, path, headers=other_headers, json=body)
        # The files case is ignored (images off) or not found; every other case is a 404.
        if "files" in (body or {}):
            assert response.status_code in (200, 404)
            continue
        assert response.status_code == 404, (method, path, response.text)
    listed = client.get("/v1/messages", headers=ids["headers"], params={"conversation_id": c, "user": "v"}).json()
    assert listed["data"][0]["query"] == "secret"
