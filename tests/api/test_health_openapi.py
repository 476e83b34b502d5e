"""Health, request ids and the OpenAPI document."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_health_and_request_id(client: TestClient) -> None:
    response = client.get("/health")
    assert response.json()["status"] == "ok"
    assert len(response.headers["x-request-id"]) == 32
    echoed = client.get("/health", headers={"X-Request-Id": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    hostile = client.get("/health", headers={"X-Request-Id": 'a"b;<script>'})
    assert hostile.headers["x-request-id"] != 'a"b;<script>'


def test_openapi_lists_the_contract_paths(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/console/api/setup",
        "/console/api/login",
        "/console/api/apps",
        "/console/api/apps/{app_id}/api-keys",
        "/v1/info",
        "/v1/parameters",
        "/v1/files/upload",
        "/health",
    ):
        assert path in paths
