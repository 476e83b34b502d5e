"""A signed-in console user for API tests, and a way to add members to its workspace."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


class Console:
    """A signed-in console user of a test server."""

    def __init__(self, client: TestClient, email: str, password: str) -> None:
        self.client = client
        self.email = email
        self.password = password
        self.token = ""

    def login(self) -> Console:
        response = self.client.post("/console/api/login", json={"email": self.email, "password": self.password})
        assert response.status_code == 200, response.text
        self.token = response.json()["data"]["access_token"]
        return self

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(f"/console/api{path}", headers=self.headers, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.client.post(f"/console/api{path}", headers=self.headers, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.client.put(f"/console/api{path}", headers=self.headers, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Any:
        return self.client.patch(f"/console/api{path}", headers=self.headers, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.client.delete(f"/console/api{path}", headers=self.headers, **kwargs)

    def create_app(self, name: str = "Helper", mode: str = "chat") -> dict[str, Any]:
        response = self.post("/apps", json={"name": name, "mode": mode})
        assert response.status_code == 201, response.text
        return response.json()

    def create_key(self, app_id: str) -> str:
        response = self.post(f"/apps/{app_id}/api-keys")
        assert response.status_code == 201, response.text
        return response.json()["token"]


OWNER_EMAIL = "owner@example.com"
OWNER_PASSWORD = "Sup3rsecret"


def invite_member(owner: Console, email: str, role: str, password: str = "Memb3rpass") -> Console:
    """Invite `email` into the owner's workspace with `role`, activate the account, sign it in."""
    response = owner.post("/workspaces/current/members/invite-email", json={"emails": [email], "role": role})
    assert response.status_code == 201, response.text
    url = response.json()["invitation_results"][0]["url"]
    token = url.split("token=", 1)[1]
    activated = owner.client.post(
        "/console/api/activate", json={"email": email, "token": token, "name": role.title(), "password": password}
    )
    assert activated.status_code == 200, activated.text
    return Console(owner.client, email, password).login()
