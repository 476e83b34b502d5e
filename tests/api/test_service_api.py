"""The `/v1` skeleton: key checks with Dify's texts, info/meta/parameters/site, file uploads."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient

from tests._console import Console

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _keyed(owner: Console, mode: str = "chat") -> tuple[dict[str, str], dict[str, object]]:
    app = owner.create_app("Service", mode)
    return {"Authorization": f"Bearer {owner.create_key(app['id'])}"}, app


def test_index_is_public(client: TestClient) -> None:
    body = client.get("/v1/").json()
    assert body["api_version"] == "v1"
    assert "server_version" in body


def test_key_checks_in_dify_order(owner: Console, client: TestClient) -> None:
    headers, app = _keyed(owner)
    cases = [
        ({}, 401, "Authorization header must be provided and start with 'Bearer'"),
        ({"Authorization": "Bearer"}, 401, "Authorization header must be provided and start with 'Bearer'"),
        ({"Authorization": "Token abc"}, 401, "Authorization scheme must be 'Bearer'"),
        ({"Authorization": "Bearer app-unknown"}, 401, "Access token is invalid"),
    ]
    for sent, status, message in cases:
        response = client.get("/v1/info", headers=sent)
        assert (response.status_code, response.json()["message"]) == (status, message)
        assert response.json()["code"] == "unauthorized"
    assert (
        client.get(
            "/v1/info", headers={"Authorization": headers["Authorization"].replace("Bearer", "bearer")}
        ).status_code
        == 200
    )

    owner.post(f"/apps/{app['id']}/api-enable", json={"enable_api": False})
    disabled = client.get("/v1/info", headers=headers)
    assert disabled.status_code == 403
    assert disabled.json() == {
        "code": "forbidden",
        "message": "The app's API service has been disabled.",
        "status": 403,
    }


def test_key_of_deleted_app_stops_working(owner: Console, client: TestClient) -> None:
    headers, app = _keyed(owner)
    owner.delete(f"/apps/{app['id']}")
    assert client.get("/v1/info", headers=headers).status_code == 401


def test_info_meta_parameters_site(owner: Console, client: TestClient) -> None:
    headers, _app = _keyed(owner, "completion")
    info = client.get("/v1/info", headers=headers).json()
    assert info == {"name": "Service", "description": "", "tags": [], "mode": "completion", "author_name": "Owner"}
    assert client.get("/v1/meta", headers=headers).json() == {"tool_icons": {}}
    params = client.get("/v1/parameters", headers=headers).json()
    assert params["user_input_form"][0]["paragraph"]["variable"] == "query"
    assert params["system_parameters"] == {
        "file_size_limit": 15,
        "image_file_size_limit": 10,
        "audio_file_size_limit": 50,
        "video_file_size_limit": 100,
        "workflow_file_upload_limit": 10,
    }
    for key in ("opening_statement", "suggested_questions", "speech_to_text", "file_upload", "more_like_this"):
        assert key in params
    site = client.get("/v1/site", headers=headers).json()
    assert site["title"] == "Service"


def test_upload(owner: Console, client: TestClient) -> None:
    headers, _app = _keyed(owner)
    response = client.post(
        "/v1/files/upload", headers=headers, files={"file": ("pic.png", PNG, "image/png")}, data={"user": "u-1"}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"id", "name", "size", "extension", "mime_type", "created_by", "created_at"}
    assert (body["name"], body["size"], body["extension"], body["mime_type"]) == (
        "pic.png",
        len(PNG),
        "png",
        "image/png",
    )
    stored = client.app.state.loom.storage
    assert any(stored.root.rglob(f"{body['id']}.png"))


def test_upload_errors(owner: Console, client: TestClient) -> None:
    headers, _app = _keyed(owner)

    def upload(files: object, data: dict[str, str] | None = None) -> tuple[int, str]:
        response = client.post(
            "/v1/files/upload", headers=headers, files=files, data=data if data is not None else {"user": "u"}
        )
        return response.status_code, response.json()["code"]

    assert upload({"other": ("a.txt", b"x")}) == (400, "no_file_uploaded")
    assert upload([("file", ("a.txt", b"x")), ("file", ("b.txt", b"y"))]) == (400, "too_many_files")
    assert upload({"file": ("evil.exe", b"MZ\x90\x00")}) == (415, "unsupported_file_type")
    assert upload({"file": ("evil.png", b"MZ\x90\x00")}) == (415, "unsupported_file_type")
    assert upload({"file": ("fake.pdf", b"not a pdf")}) == (415, "unsupported_file_type")
    assert upload({"file": ("a.txt", b"x")}, data={}) == (400, "invalid_param")
    big = io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"0" * (10 * 1024 * 1024 + 1))
    assert upload({"file": ("big.png", big)}) == (413, "file_too_large")
    # A traversal attempt in the name never becomes a path: the stored name is the base name.
    ok = client.post(
        "/v1/files/upload", headers=headers, files={"file": ("../../etc/passwd.txt", b"hi")}, data={"user": "u"}
    )
    assert ok.status_code == 201
    assert ok.json()["name"] == "passwd.txt"
    not_multipart = client.post("/v1/files/upload", headers=headers, json={"user": "u"})
    assert not_multipart.json()["code"] == "no_file_uploaded"
