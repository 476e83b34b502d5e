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


def test_metrics_count_requests_errors_tokens(chat_owner: object) -> None:
    from tests._console import Console
    from tests._scripted_model import configured_app

    assert isinstance(chat_owner, Console)
    client = chat_owner.client
    headers, _ = configured_app(chat_owner)
    client.post(
        "/v1/chat-messages",
        headers=headers,
        json={"query": "hi", "inputs": {}, "user": "u", "auto_generate_name": False},
    )
    client.get("/v1/info", headers={"Authorization": "Bearer app-wrong"})
    text = client.get("/metrics").text
    assert 'loomworks_http_requests_total{method="POST",route="/v1/chat-messages",status="200"} 1.0' in text
    assert 'loomworks_errors_total{code="unauthorized"} 1.0' in text
    assert 'loomworks_llm_tokens_total{provider="scripted",model="echo-1",kind="completion"} 2.0' in text
    assert "loomworks_http_request_seconds_bucket" in text
    assert "loomworks_jobs_queued 0.0" in text
