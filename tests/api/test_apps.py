"""App records in the console: CRUD, filters, pagination, copy, flags, tenant isolation."""

from __future__ import annotations

from tests._console import Console, invite_member


def test_create_read_update_delete(owner: Console) -> None:
    created = owner.post(
        "/apps",
        json={
            "name": "Support bot",
            "mode": "chat",
            "description": "d",
            "icon_type": "emoji",
            "icon": "🤖",
            "icon_background": "#FFEAD5",
        },
    )
    assert created.status_code == 201
    app = created.json()
    assert app["mode"] == "chat"
    assert app["enable_site"] is True
    assert app["enable_api"] is True
    assert app["model_config"]["retriever_resource"] == {"enabled": True}
    assert app["site"]["access_token"]
    assert app["api_base_url"].endswith("/v1")

    fetched = owner.get(f"/apps/{app['id']}").json()
    assert fetched["name"] == "Support bot"

    updated = owner.put(f"/apps/{app['id']}", json={"name": "Renamed", "description": "new", "icon": "🦉"})
    assert updated.status_code == 200
    assert (updated.json()["name"], updated.json()["icon"]) == ("Renamed", "🦉")

    assert owner.post(f"/apps/{app['id']}/api-enable", json={"enable_api": False}).json()["enable_api"] is False
    assert owner.post(f"/apps/{app['id']}/site-enable", json={"enable_site": False}).json()["enable_site"] is False

    deleted = owner.delete(f"/apps/{app['id']}")
    assert deleted.status_code == 204
    gone = owner.get(f"/apps/{app['id']}")
    assert gone.status_code == 404
    assert gone.json()["code"] == "not_found"


def test_every_mode_and_bad_mode(owner: Console) -> None:
    for mode in ("chat", "completion", "agent-chat", "workflow", "advanced-chat"):
        app = owner.create_app(f"app {mode}", mode)
        assert app["mode"] == mode
        assert (app["model_config"] is None) == (mode in ("workflow", "advanced-chat"))
    bad = owner.post("/apps", json={"name": "x", "mode": "spaceship"})
    assert bad.status_code == 400
    assert bad.json()["params"] == "mode"
    nameless = owner.post("/apps", json={"name": "  ", "mode": "chat"})
    assert nameless.json()["params"] == "name"
    wrong_type = owner.post("/apps", json={"name": ["x"], "mode": "chat"})
    assert wrong_type.status_code == 400
    assert wrong_type.json()["params"] == "name"


def test_list_filters_and_pagination(owner: Console) -> None:
    for index in range(5):
        owner.create_app(f"Chat {index}", "chat")
    owner.create_app("Writer 100%", "completion")
    page = owner.get("/apps", params={"page": 1, "limit": 2}).json()
    assert (page["total"], page["limit"], page["has_more"], len(page["data"])) == (6, 2, True, 2)
    last = owner.get("/apps", params={"page": 3, "limit": 2}).json()
    assert last["has_more"] is False
    assert len({a["id"] for a in page["data"]} | {a["id"] for a in last["data"]}) == 4
    assert owner.get("/apps", params={"mode": "completion"}).json()["total"] == 1
    assert owner.get("/apps", params={"name": "chat 3"}).json()["total"] == 1
    # LIKE wildcards in the filter are literal.
    assert owner.get("/apps", params={"name": "100%"}).json()["total"] == 1
    assert owner.get("/apps", params={"name": "%"}).json()["total"] == 1
    assert owner.get("/apps", params={"limit": 0}).status_code == 400
    assert owner.get("/apps", params={"limit": "many"}).json()["params"] == "limit"


def test_copy_keeps_config_not_keys(owner: Console) -> None:
    source = owner.create_app("Original", "completion")
    owner.create_key(source["id"])
    copied = owner.post(f"/apps/{source['id']}/copy", json={"name": "Clone"})
    assert copied.status_code == 201
    clone = copied.json()
    assert clone["id"] != source["id"]
    assert clone["mode"] == "completion"
    assert clone["model_config"] == source["model_config"]
    assert owner.get(f"/apps/{clone['id']}/api-keys").json()["data"] == []


def test_other_workspace_ids_are_not_found(owner: Console) -> None:
    app = owner.create_app("Private")
    key_id = owner.post(f"/apps/{app['id']}/api-keys").json()["id"]
    outsider = invite_member(owner, "out@example.com", "editor")
    outsider.post("/workspaces", json={"name": "Elsewhere"})  # now acting in their own workspace
    for call in (
        lambda: outsider.get(f"/apps/{app['id']}"),
        lambda: outsider.put(f"/apps/{app['id']}", json={"name": "hijack"}),
        lambda: outsider.delete(f"/apps/{app['id']}"),
        lambda: outsider.post(f"/apps/{app['id']}/copy", json={}),
        lambda: outsider.get(f"/apps/{app['id']}/api-keys"),
        lambda: outsider.post(f"/apps/{app['id']}/api-keys"),
        lambda: outsider.delete(f"/apps/{app['id']}/api-keys/{key_id}"),
    ):
        response = call()
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "not_found"
    assert owner.get(f"/apps/{app['id']}").json()["name"] == "Private"


def test_unknown_route_and_method_errors_are_dify_shaped(owner: Console) -> None:
    missing = owner.client.get("/console/api/nothing-here")
    assert missing.status_code == 404
    assert set(missing.json()) == {"code", "message", "status"}
    wrong_method = owner.client.patch("/console/api/setup")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["code"] == "method_not_allowed"
    empty = owner.client.post("/console/api/apps", headers={**owner.headers, "Content-Type": "application/json"})
    assert empty.json()["message"] == "Invalid JSON payload received or JSON payload is empty."
