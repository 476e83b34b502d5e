"""App and knowledge API keys: shown once, stored hashed, limited, revocable, scoped."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from loomworks.store.tables import ApiToken
from tests._console import Console, invite_member


def test_app_key_lifecycle(owner: Console, client: TestClient) -> None:
    app = owner.create_app("Keyed")
    created = owner.post(f"/apps/{app['id']}/api-keys")
    assert created.status_code == 201
    body = created.json()
    assert set(body) == {"id", "type", "token", "last_used_at", "created_at"}
    assert body["type"] == "app"
    assert body["token"].startswith("app-")
    assert len(body["token"]) > 20
    token = body["token"]

    listed = owner.get(f"/apps/{app['id']}/api-keys").json()["data"]
    assert [k["id"] for k in listed] == [body["id"]]
    assert listed[0]["token"] != token
    assert listed[0]["token"].endswith(token[-4:])

    # Only the digest is stored.
    state = client.app.state.loom
    with state.db.session() as session:
        stored = session.scalar(select(ApiToken).where(ApiToken.id == body["id"]))
        assert stored is not None
        assert token not in (stored.token_hash, stored.token_hint)

    assert client.get("/v1/info", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert owner.get(f"/apps/{app['id']}/api-keys").json()["data"][0]["last_used_at"] is not None
    assert owner.delete(f"/apps/{app['id']}/api-keys/{body['id']}").status_code == 204
    revoked = client.get("/v1/info", headers={"Authorization": f"Bearer {token}"})
    assert revoked.status_code == 401
    assert revoked.json()["message"] == "Access token is invalid"
    assert owner.delete(f"/apps/{app['id']}/api-keys/{body['id']}").status_code == 404


def test_key_limit(owner: Console) -> None:
    app = owner.create_app("Many keys")
    for _ in range(10):
        assert owner.post(f"/apps/{app['id']}/api-keys").status_code == 201
    over = owner.post(f"/apps/{app['id']}/api-keys")
    assert over.status_code == 400
    assert over.json()["code"] == "max_keys_exceeded"


def test_dataset_keys(owner: Console, client: TestClient) -> None:
    created = owner.post("/datasets/api-keys")
    assert created.status_code == 201
    token = created.json()["token"]
    assert token.startswith("dataset-")
    assert created.json()["type"] == "dataset"
    assert [k["id"] for k in owner.get("/datasets/api-keys").json()["data"]] == [created.json()["id"]]
    # A dataset key is not an app key.
    assert client.get("/v1/info", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert owner.delete(f"/datasets/api-keys/{created.json()['id']}").status_code == 204
    assert owner.get("/datasets/api-keys").json()["data"] == []


def test_normal_members_cannot_manage_keys(owner: Console) -> None:
    app = owner.create_app("Guarded")
    key_id = owner.post(f"/apps/{app['id']}/api-keys").json()["id"]
    normal = invite_member(owner, "n@example.com", "normal")
    assert normal.post(f"/apps/{app['id']}/api-keys").status_code == 403
    assert normal.delete(f"/apps/{app['id']}/api-keys/{key_id}").status_code == 403
    editor = invite_member(owner, "e@example.com", "editor")
    assert editor.post(f"/apps/{app['id']}/api-keys").status_code == 201
    assert editor.delete(f"/apps/{app['id']}/api-keys/{key_id}").status_code == 403
