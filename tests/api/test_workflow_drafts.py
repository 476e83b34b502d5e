"""Workflow drafts, concurrent-edit detection, publication, versions and restore."""

from __future__ import annotations

from tests._console import Console, invite_member


def test_new_apps_start_with_a_default_draft(owner: Console) -> None:
    flow = owner.create_app("Flow", "workflow")
    draft = owner.get(f"/apps/{flow['id']}/workflows/draft").json()
    assert [n["data"]["type"] for n in draft["graph"]["nodes"]] == ["start"]
    assert draft["version"] == "draft"
    assert draft["hash"]
    assert draft["created_by"]["email"] == "owner@example.com"
    chatflow = owner.create_app("Chatflow", "advanced-chat")
    nodes = owner.get(f"/apps/{chatflow['id']}/workflows/draft").json()["graph"]["nodes"]
    assert [n["data"]["type"] for n in nodes] == ["start", "llm", "answer"]
    chat = owner.create_app("Chat", "chat")
    refused = owner.get(f"/apps/{chat['id']}/workflows/draft")
    assert (refused.status_code, refused.json()["code"]) == (400, "app_unavailable")


def test_sync_detects_stale_edits(owner: Console) -> None:
    flow = owner.create_app("Flow", "workflow")
    draft = owner.get(f"/apps/{flow['id']}/workflows/draft").json()
    graph = draft["graph"]
    graph["nodes"][0]["data"]["title"] = "Begin"
    saved = owner.post(
        f"/apps/{flow['id']}/workflows/draft",
        json={"graph": graph, "features": draft["features"], "hash": draft["hash"]},
    )
    assert saved.status_code == 200
    new_hash = saved.json()["hash"]
    assert new_hash != draft["hash"]
    # A second tab still holding the old hash is refused, and nothing is overwritten.
    stale = owner.post(
        f"/apps/{flow['id']}/workflows/draft",
        json={"graph": {"nodes": [], "edges": []}, "features": {}, "hash": draft["hash"]},
    )
    assert (stale.status_code, stale.json()["code"]) == (409, "draft_workflow_not_sync")
    assert owner.get(f"/apps/{flow['id']}/workflows/draft").json()["graph"]["nodes"][0]["data"]["title"] == "Begin"
    bad = owner.post(f"/apps/{flow['id']}/workflows/draft", json={"graph": {"nodes": "x"}, "hash": new_hash})
    assert bad.status_code == 400


def test_publish_versions_restore(owner: Console) -> None:
    flow = owner.create_app("Flow", "workflow")
    url = f"/apps/{flow['id']}/workflows"
    first = owner.post(f"{url}/publish", json={"marked_name": "v1", "marked_comment": "first"})
    assert first.json()["result"] == "success"
    draft = owner.get(f"{url}/draft").json()
    draft["graph"]["nodes"][0]["data"]["title"] = "Changed"
    owner.post(f"{url}/draft", json={"graph": draft["graph"], "features": draft["features"], "hash": draft["hash"]})
    second = owner.post(f"{url}/publish", json={})
    assert owner.get(f"/apps/{flow['id']}").json()["workflow"]["id"] == second.json()["id"]

    listed = owner.get(url, params={"page": 1, "limit": 10}).json()
    assert [w["marked_name"] for w in listed["items"]] == ["", "v1"]
    assert listed["has_more"] is False
    assert [w["marked_name"] for w in owner.get(url, params={"named_only": True}).json()["items"]] == ["v1"]
    assert owner.get(f"{url}/publish").json()["graph"]["nodes"][0]["data"]["title"] == "Changed"

    restored = owner.post(f"{url}/{first.json()['id']}/restore")
    assert restored.status_code == 200
    assert owner.get(f"{url}/draft").json()["graph"]["nodes"][0]["data"]["title"] == "Start"
    renamed = owner.patch(f"{url}/{second.json()['id']}", json={"marked_name": "v2"})
    assert renamed.json()["marked_name"] == "v2"
    in_use = owner.delete(f"{url}/{second.json()['id']}")
    assert in_use.status_code == 409
    assert owner.delete(f"{url}/{first.json()['id']}").status_code == 204
    long_name = owner.post(f"{url}/publish", json={"marked_name": "x" * 21})
    assert long_name.json()["params"] == "marked_name"


def test_workflow_routes_are_workspace_scoped_and_role_checked(owner: Console) -> None:
    flow = owner.create_app("Flow", "workflow")
    normal = invite_member(owner, "viewer@example.com", "normal")
    assert normal.get(f"/apps/{flow['id']}/workflows/draft").status_code == 200
    draft = owner.get(f"/apps/{flow['id']}/workflows/draft").json()
    assert normal.post(f"/apps/{flow['id']}/workflows/draft", json={"graph": draft["graph"]}).status_code == 403
    assert normal.post(f"/apps/{flow['id']}/workflows/publish", json={}).status_code == 403
    outsider = invite_member(owner, "out@example.com", "editor")
    outsider.post("/workspaces", json={"name": "Other"})
    assert outsider.get(f"/apps/{flow['id']}/workflows/draft").status_code == 404
