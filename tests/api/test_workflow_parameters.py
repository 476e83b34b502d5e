"""`GET /v1/parameters` and the web app's `/api/parameters` for workflow and chatflow apps."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests._console import Console

VARIABLES: list[dict[str, Any]] = [
    {"variable": "name", "label": "Name", "type": "text-input", "required": True, "max_length": 48, "default": ""},
    {"variable": "bio", "label": "Bio", "type": "paragraph", "required": False, "max_length": 2000},
    {"variable": "tone", "label": "Tone", "type": "select", "required": True, "options": ["warm", "dry"]},
    {"variable": "age", "label": "Age", "type": "number", "required": False},
    {
        "variable": "photo",
        "label": "Photo",
        "type": "file",
        "required": False,
        "allowed_file_types": ["image"],
        "allowed_file_extensions": [],
        "allowed_file_upload_methods": ["local_file", "remote_url"],
    },
    {
        "variable": "docs",
        "label": "Docs",
        "type": "file-list",
        "required": False,
        "max_length": 5,
        "allowed_file_types": ["document"],
        "allowed_file_extensions": [".md"],
        "allowed_file_upload_methods": ["local_file"],
    },
]

FEATURES: dict[str, Any] = {
    "opening_statement": "Hello there",
    "suggested_questions": ["What can you do?"],
    "suggested_questions_after_answer": {"enabled": True},
    "text_to_speech": {"enabled": True, "voice": "alloy", "language": "en-US", "autoPlay": "disabled"},
    "speech_to_text": {"enabled": True},
    "retriever_resource": {"enabled": True},
    "sensitive_word_avoidance": {"enabled": False},
    "file_upload": {
        "enabled": True,
        "allowed_file_types": ["image"],
        "allowed_file_extensions": [],
        "allowed_file_upload_methods": ["local_file"],
        "number_limits": 2,
        "image": {"enabled": True, "number_limits": 2, "transfer_methods": ["local_file"]},
    },
}


def _publish(owner: Console, mode: str, features: dict[str, Any] | None) -> str:
    app = owner.create_app(f"{mode} app", mode)
    url = f"/apps/{app['id']}/workflows"
    draft = owner.get(f"{url}/draft").json()
    graph = draft["graph"]
    start = next(n for n in graph["nodes"] if n["data"]["type"] == "start")
    start["data"]["variables"] = VARIABLES
    saved = owner.post(f"{url}/draft", json={"graph": graph, "features": features, "hash": draft["hash"]})
    assert saved.status_code == 200, saved.text
    assert owner.post(f"{url}/publish", json={}).status_code == 200
    return str(app["id"])


def _visitor(client: TestClient, owner: Console, app_id: str) -> dict[str, str]:
    code = owner.get(f"/apps/{app_id}").json()["site"]["access_token"]
    token = client.get("/api/passport", headers={"X-App-Code": code}).json()["access_token"]
    return {"Authorization": f"Bearer {token}", "X-App-Code": code}


@pytest.mark.parametrize("mode", ["workflow", "advanced-chat"])
def test_parameters_come_from_the_published_features_and_start_variables(
    owner: Console, client: TestClient, mode: str
) -> None:
    app_id = _publish(owner, mode, FEATURES)
    key = {"Authorization": f"Bearer {owner.create_key(app_id)}"}
    params = client.get("/v1/parameters", headers=key).json()
    assert set(params) == {
        "opening_statement",
        "suggested_questions",
        "suggested_questions_after_answer",
        "speech_to_text",
        "text_to_speech",
        "retriever_resource",
        "annotation_reply",
        "more_like_this",
        "user_input_form",
        "sensitive_word_avoidance",
        "file_upload",
        "system_parameters",
    }
    assert params["opening_statement"] == "Hello there"
    assert params["suggested_questions"] == ["What can you do?"]
    assert params["suggested_questions_after_answer"] == {"enabled": True}
    assert params["text_to_speech"]["voice"] == "alloy"
    assert params["speech_to_text"] == {"enabled": True}
    assert params["retriever_resource"] == {"enabled": True}
    assert params["annotation_reply"] == {"enabled": False}
    assert params["more_like_this"] == {"enabled": False}
    assert params["file_upload"]["image"]["number_limits"] == 2
    assert params["system_parameters"] == {
        "file_size_limit": 15,
        "image_file_size_limit": 10,
        "audio_file_size_limit": 50,
        "video_file_size_limit": 100,
        "workflow_file_upload_limit": 10,
    }
    form = params["user_input_form"]
    assert [next(iter(item)) for item in form] == ["text-input", "paragraph", "select", "number", "file", "file-list"]
    assert (
        form[0]["text-input"].items()
        >= {"label": "Name", "variable": "name", "required": True, "max_length": 48}.items()
    )
    assert form[2]["select"]["options"] == ["warm", "dry"]
    assert form[4]["file"]["allowed_file_types"] == ["image"]
    assert form[5]["file-list"]["max_length"] == 5
    assert form[5]["file-list"]["allowed_file_upload_methods"] == ["local_file"]
    # The web app reads the same answer.
    assert client.get("/api/parameters", headers=_visitor(client, owner, app_id)).json() == params


def test_the_published_version_counts_not_the_draft(owner: Console, client: TestClient) -> None:
    app_id = _publish(owner, "workflow", FEATURES)
    url = f"/apps/{app_id}/workflows"
    draft = owner.get(f"{url}/draft").json()
    graph = draft["graph"]
    next(n for n in graph["nodes"] if n["data"]["type"] == "start")["data"]["variables"] = []
    owner.post(f"{url}/draft", json={"graph": graph, "features": {"opening_statement": "draft"}, "hash": draft["hash"]})
    key = {"Authorization": f"Bearer {owner.create_key(app_id)}"}
    params = client.get("/v1/parameters", headers=key).json()
    assert params["opening_statement"] == "Hello there"
    assert len(params["user_input_form"]) == len(VARIABLES)
    owner.post(f"{url}/publish", json={})
    params = client.get("/v1/parameters", headers=key).json()
    assert (params["opening_statement"], params["user_input_form"]) == ("draft", [])


def test_defaults_when_features_are_empty(owner: Console, client: TestClient) -> None:
    app_id = _publish(owner, "workflow", {})
    params = client.get("/v1/parameters", headers={"Authorization": f"Bearer {owner.create_key(app_id)}"}).json()
    assert params["suggested_questions"] == []
    assert params["sensitive_word_avoidance"] == {"enabled": False, "type": "", "configs": []}
    assert params["file_upload"]["image"] == {
        "enabled": False,
        "number_limits": 3,
        "detail": "high",
        "transfer_methods": ["remote_url", "local_file"],
    }


def test_an_unpublished_workflow_app_is_unavailable(owner: Console, client: TestClient) -> None:
    app = owner.create_app("Never published", "workflow")
    answer = client.get("/v1/parameters", headers={"Authorization": f"Bearer {owner.create_key(app['id'])}"})
    assert (answer.status_code, answer.json()["code"]) == (400, "app_unavailable")
