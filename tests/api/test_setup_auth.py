"""Setup, sign-in, refresh, sign-out, lock-out and token checks of the console API."""

from __future__ import annotations

import time

import jwt
from fastapi.testclient import TestClient

from tests._console import OWNER_EMAIL, OWNER_PASSWORD, Console


def test_setup_flow_and_second_setup_refused(client: TestClient) -> None:
    assert client.get("/console/api/setup").json() == {"step": "not_started", "setup_at": None}
    # Console routes refuse to work before setup.
    refused = client.get("/console/api/apps", headers={"Authorization": "Bearer x"})
    assert refused.status_code == 401
    assert refused.json()["code"] == "not_setup"

    body = {"email": "First@Example.com", "name": "First", "password": "abcdef12"}
    created = client.post("/console/api/setup", json=body)
    assert created.status_code == 201
    assert created.json() == {"result": "success"}
    state = client.get("/console/api/setup").json()
    assert state["step"] == "finished"
    assert isinstance(state["setup_at"], int)

    again = client.post("/console/api/setup", json={**body, "email": "other@example.com"})
    assert again.status_code == 403
    assert again.json()["code"] == "already_setup"


def test_setup_validates_input_and_writes_nothing_on_error(client: TestClient) -> None:
    weak = client.post("/console/api/setup", json={"email": "a@example.com", "name": "A", "password": "short"})
    assert weak.status_code == 400
    assert weak.json()["code"] == "invalid_param"
    assert weak.json()["params"] == "password"
    bad_email = client.post("/console/api/setup", json={"email": "nope", "name": "A", "password": "abcdef12"})
    assert bad_email.json()["params"] == "email"
    missing = client.post("/console/api/setup", json={"email": "a@example.com", "password": "abcdef12"})
    assert missing.status_code == 400
    assert missing.json() == {"code": "invalid_param", "message": "name is required", "status": 400, "params": "name"}
    assert client.get("/console/api/setup").json()["step"] == "not_started"


def test_login_profile_refresh_logout(owner: Console) -> None:
    profile = owner.get("/account/profile")
    assert profile.status_code == 200
    assert profile.json()["email"] == OWNER_EMAIL
    assert profile.json()["is_password_set"] is True
    assert "password_hash" not in profile.json()

    login = owner.client.post("/console/api/login", json={"email": OWNER_EMAIL, "password": OWNER_PASSWORD})
    refresh_token = login.json()["data"]["refresh_token"]
    refreshed = owner.client.post("/console/api/refresh-token", json={"refresh_token": refresh_token})
    assert refreshed.status_code == 200
    new_access = refreshed.json()["data"]["access_token"]
    # Refresh tokens rotate: the old one is spent.
    reused = owner.client.post("/console/api/refresh-token", json={"refresh_token": refresh_token})
    assert reused.status_code == 401

    headers = {"Authorization": f"Bearer {new_access}"}
    assert owner.client.get("/console/api/account/profile", headers=headers).status_code == 200
    assert owner.client.get("/console/api/logout", headers=headers).json() == {"result": "success"}
    after = owner.client.get("/console/api/account/profile", headers=headers)
    assert after.status_code == 401
    assert after.json()["code"] == "unauthorized"
    assert after.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    # Other sessions of the same account are untouched.
    assert owner.get("/account/profile").status_code == 200


def test_wrong_password_and_lock_out(owner: Console) -> None:
    client = owner.client
    wrong = client.post("/console/api/login", json={"email": OWNER_EMAIL, "password": "Wrongpass1"})
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "email_or_password_mismatch"
    unknown = client.post("/console/api/login", json={"email": "ghost@example.com", "password": "Wrongpass1"})
    assert unknown.json()["code"] == "email_or_password_mismatch"
    for _ in range(4):
        client.post("/console/api/login", json={"email": OWNER_EMAIL, "password": "Wrongpass1"})
    locked = client.post("/console/api/login", json={"email": OWNER_EMAIL, "password": OWNER_PASSWORD})
    assert locked.status_code == 429
    assert locked.json()["code"] == "email_password_login_limit"


def test_forged_expired_and_malformed_tokens(owner: Console) -> None:
    client = owner.client
    claims = jwt.decode(owner.token, options={"verify_signature": False})
    forged = jwt.encode(claims, "another-key-another-key-another-key", algorithm="HS256")
    expired = jwt.encode(
        {**claims, "exp": int(time.time()) - 10}, "test-secret-key-of-enough-length-0123456789", algorithm="HS256"
    )
    for token, message in ((forged, "Invalid token."), (expired, "Token has expired."), ("abc", "Invalid token.")):
        response = client.get("/console/api/account/profile", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert response.json() == {"code": "unauthorized", "message": message, "status": 401}
    no_header = client.get("/console/api/account/profile")
    assert no_header.json()["message"] == "Authorization header must be provided and start with 'Bearer'"
    basic = client.get("/console/api/account/profile", headers={"Authorization": "Basic abc"})
    assert basic.json()["message"] == "Authorization scheme must be 'Bearer'"


def test_change_password(owner: Console) -> None:
    bad = owner.post(
        "/account/password",
        json={"password": "nope", "new_password": "N3wpassword", "repeat_new_password": "N3wpassword"},
    )
    assert bad.status_code == 400
    ok = owner.post(
        "/account/password",
        json={"password": OWNER_PASSWORD, "new_password": "N3wpassword", "repeat_new_password": "N3wpassword"},
    )
    assert ok.status_code == 200
    assert Console(owner.client, OWNER_EMAIL, "N3wpassword").login().token
