"""The end-user web-app API (passport, simple shapes) and the console's config + debugger."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests._console import Console
from tests._scripted_model import ScriptedModels, configured_app, sse_events


def _visitor(client: TestClient, owner: Console, app_id: str) -> dict[str, str]:
    code = owner.get(f"/apps/{app_id}").json()["site"]["access_token"]
    token = client.get("/api/passport", headers={"X-App-Code": code}).json()["access_token"]
    return {"Authorization": f"Bearer {token}", "X-App-Code": code}


def test_web_app_chat_uses_simple_shapes(chat_owner: Console) -> None:
    client = chat_owner.client
    _, app_id = configured_app(chat_owner, opening_statement="Welcome!")
    visitor = _visitor(client, chat_owner, app_id)
    site = client.get("/api/site", headers=visitor).json()
    assert site["app_id"] == app_id
    assert site["site"]["title"] == "chat app"
    assert client.get("/api/parameters", headers=visitor).json()["opening_statement"] == "Welcome!"

    answer = client.post("/api/chat-messages", headers=visitor, json={"query": "hi", "inputs": {}}).json()
    assert answer["answer"] == "Echo: hi"
    assert "usage" not in answer["metadata"]
    events = sse_events(
        client.post(
            "/api/chat-messages",
            headers=visitor,
            json={
                "query": "more",
                "inputs": {},
                "conversation_id": answer["conversation_id"],
                "response_mode": "streaming",
            },
        )
    )
    assert events[-1]["event"] == "message_end"
    assert "usage" not in events[-1]["metadata"]

    conversations = client.get("/api/conversations", headers=visitor).json()["data"]
    assert [c["id"] for c in conversations] == [answer["conversation_id"]]
    messages = client.get(
        "/api/messages", headers=visitor, params={"conversation_id": answer["conversation_id"]}
    ).json()
    assert [m["query"] for m in messages["data"]] == ["hi", "more"]
    assert client.post(
        f"/api/messages/{answer['message_id']}/feedbacks", headers=visitor, json={"rating": "dislike"}
    ).json() == {"result": "success"}
    assert client.patch(f"/api/conversations/{answer['conversation_id']}/pin", headers=visitor).status_code == 200
    assert [
        c["id"] for c in client.get("/api/conversations", headers=visitor, params={"pinned": True}).json()["data"]
    ] == [answer["conversation_id"]]
    assert client.get("/api/conversations", headers=visitor, params={"pinned": False}).json()["data"] == []

    # Another visitor of the same app sees none of it.
    stranger = _visitor(client, chat_owner, app_id)
    assert client.get("/api/conversations", headers=stranger).json()["data"] == []
    assert (
        client.get("/api/messages", headers=stranger, params={"conversation_id": answer["conversation_id"]}).status_code
        == 404
    )
    # Web-app conversations are not Service API conversations.
    assert client.delete(f"/api/conversations/{answer['conversation_id']}", headers=visitor).status_code == 204


def test_passport_checks(chat_owner: Console) -> None:
    client = chat_owner.client
    _, app_id = configured_app(chat_owner)
    _, other_id = configured_app(chat_owner)
    visitor = _visitor(client, chat_owner, app_id)
    assert client.get("/api/passport").status_code == 401
    assert client.get("/api/passport", headers={"X-App-Code": "nope"}).status_code == 404
    other_code = chat_owner.get(f"/apps/{other_id}").json()["site"]["access_token"]
    mixed = client.get("/api/site", headers={**visitor, "X-App-Code": other_code})
    assert mixed.status_code == 401
    assert client.get("/api/site", headers={"Authorization": "Bearer forged"}).status_code == 401
    chat_owner.post(f"/apps/{app_id}/site-enable", json={"enable_site": False})
    closed = client.get("/api/site", headers=visitor)
    assert (closed.status_code, closed.json()["message"]) == (403, "Site is disabled.")


def test_model_config_is_validated_and_versioned(chat_owner: Console) -> None:
    app = chat_owner.create_app("Configurable")
    config = dict(app["model_config"])
    config["model"] = {
        "provider": "scripted",
        "name": "echo-1",
        "mode": "chat",
        "completion_params": {"temperature": 0.2},
    }
    config["pre_prompt"] = "Be brief."
    assert chat_owner.post(f"/apps/{app['id']}/model-config", json=config).json() == {"result": "success"}
    stored = chat_owner.get(f"/apps/{app['id']}").json()["model_config"]
    assert stored["pre_prompt"] == "Be brief."
    assert stored["model"]["completion_params"] == {"temperature": 0.2}
    bad_cases: list[tuple[dict[str, Any], str]] = [
        ({**config, "model": {"name": "x"}}, "model"),
        ({**config, "prompt_type": "weird"}, "prompt_type"),
        ({**config, "user_input_form": [{"text-input": {"variable": "1bad"}}]}, "user_input_form"),
        (
            {**config, "user_input_form": [{"text-input": {"variable": "a"}}, {"paragraph": {"variable": "a"}}]},
            "user_input_form",
        ),
        ({**config, "user_input_form": [{"slider": {"variable": "a"}}]}, "user_input_form"),
    ]
    for body, field in bad_cases:
        response = chat_owner.post(f"/apps/{app['id']}/model-config", json=body)
        assert response.status_code == 400, body
        assert response.json()["params"] == field
    assert chat_owner.get(f"/apps/{app['id']}").json()["model_config"]["pre_prompt"] == "Be brief."
    workflow = chat_owner.create_app("Flow", "workflow")
    assert chat_owner.post(f"/apps/{workflow['id']}/model-config", json=config).status_code == 400


def test_debugger_runs_the_draft_config(chat_owner: Console, models: ScriptedModels) -> None:
    _, app_id = configured_app(chat_owner, pre_prompt="Saved prompt.")
    app = chat_owner.get(f"/apps/{app_id}").json()
    draft = {**app["model_config"], "pre_prompt": "Draft prompt."}
    response = chat_owner.post(
        f"/apps/{app_id}/chat-messages", json={"query": "hello", "inputs": {}, "model_config": draft}
    )
    events = sse_events(response)
    assert events[-1]["event"] == "message_end"
    assert models.model.answer_requests[-1].messages[0]["content"] == "Draft prompt."
    # Debug conversations belong to the account, not to any end user.
    again = chat_owner.post(
        f"/apps/{app_id}/chat-messages",
        json={
            "query": "and again",
            "inputs": {},
            "model_config": draft,
            "conversation_id": events[0]["conversation_id"],
            "response_mode": "blocking",
        },
    )
    assert again.json()["answer"] == "Echo: and again"
