"""Chat and completion apps through `/v1`: blocking and streaming, conversations, feedback, stop, errors.

The model is a scripted implementation of the pipeline's model port (the wire-level providers are
tested on their own against fake vendor servers).
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from loomworks.services.app_config import default_model_config
from loomworks.store.tables import Message, ModelCall
from tests._console import Console
from tests._scripted_model import ScriptedModels, configured_app, sse_events


def test_blocking_chat_and_conversation_memory(chat_owner: Console, models: ScriptedModels) -> None:
    client = chat_owner.client
    headers, _ = configured_app(
        chat_owner,
        pre_prompt="You are {{role}}.",
        user_input_form=[{"text-input": {"label": "Role", "variable": "role", "required": True, "max_length": 20}}],
    )
    first = client.post(
        "/v1/chat-messages",
        headers=headers,
        json={"query": "hello there", "inputs": {"role": "a pirate"}, "user": "alice", "auto_generate_name": False},
    )
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["event"] == "message"
    assert body["mode"] == "chat"
    assert body["answer"] == "Echo: hello there"
    assert body["id"] == body["message_id"]
    usage = body["metadata"]["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert isinstance(usage["total_price"], str)
    assert body["metadata"]["retriever_resources"] == []
    assert models.model.requests[0].messages[0] == {"role": "system", "content": "You are a pirate."}

    second = client.post(
        "/v1/chat-messages",
        headers=headers,
        json={
            "query": "again",
            "inputs": {"role": "ignored"},
            "user": "alice",
            "conversation_id": body["conversation_id"],
        },
    )
    assert second.json()["conversation_id"] == body["conversation_id"]
    sent = models.model.requests[1].messages
    # Inputs are frozen by the first turn; history is replayed as real turns.
    assert sent[0]["content"] == "You are a pirate."
    assert sent[1:] == [
        {"role": "user", "content": "hello there"},
        {"role": "assistant", "content": "Echo: hello there"},
        {"role": "user", "content": "again"},
    ]

    messages = client.get(
        "/v1/messages", headers=headers, params={"conversation_id": body["conversation_id"], "user": "alice"}
    ).json()
    assert [m["query"] for m in messages["data"]] == ["hello there", "again"]
    assert messages["has_more"] is False
    older = client.get(
        "/v1/messages",
        headers=headers,
        params={
            "conversation_id": body["conversation_id"],
            "user": "alice",
            "limit": 1,
            "first_id": messages["data"][1]["id"],
        },
    ).json()
    assert [m["query"] for m in older["data"]] == ["hello there"]


def test_streaming_chat_events(chat_owner: Console) -> None:
    client = chat_owner.client
    headers, _ = configured_app(chat_owner)
    response = client.post(
        "/v1/chat-messages",
        headers=headers,
        json={"query": "stream me please", "inputs": {}, "user": "bob", "response_mode": "streaming"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["x-accel-buffering"] == "no"
    events = sse_events(response)
    kinds = [e["event"] for e in events]
    assert kinds[-1] == "message_end"
    assert set(kinds[:-1]) == {"message"}
    assert "".join(e["answer"] for e in events[:-1]) == "Echo: stream me please"
    ids = {(e["task_id"], e["message_id"], e["conversation_id"]) for e in events}
    assert len(ids) == 1
    assert all(isinstance(e["created_at"], int) for e in events[:-1])
    assert events[-1]["metadata"]["usage"]["completion_tokens"] == 4
    # The conversation exists once message_end has been sent.
    listed = client.get("/v1/conversations", headers=headers, params={"user": "bob"}).json()
    assert [c["id"] for c in listed["data"]] == [events[0]["conversation_id"]]


def test_completion_app_blocking_and_streaming(chat_owner: Console) -> None:
    client = chat_owner.client
    config = default_model_config("completion")
    headers, _ = configured_app(
        chat_owner, "completion", user_input_form=config["user_input_form"], pre_prompt="Translate: {{query}}"
    )
    blocking = client.post(
        "/v1/completion-messages", headers=headers, json={"inputs": {"query": "bonjour"}, "user": "u"}
    )
    assert blocking.status_code == 200, blocking.text
    assert blocking.json()["mode"] == "completion"
    assert "conversation_id" not in blocking.json()
    assert blocking.json()["answer"] == "Echo: Translate: bonjour"
    streamed = sse_events(
        client.post(
            "/v1/completion-messages",
            headers=headers,
            json={"inputs": {"query": "hola"}, "user": "u", "response_mode": "streaming"},
        )
    )
    assert streamed[-1]["event"] == "message_end"
    assert all("conversation_id" not in e for e in streamed)
    missing = client.post("/v1/completion-messages", headers=headers, json={"inputs": {}, "user": "u"})
    assert missing.status_code == 400
    assert missing.json()["message"] == "query is required in input form"


def test_mode_and_parameter_errors(chat_owner: Console) -> None:
    client = chat_owner.client
    chat_headers, _ = configured_app(chat_owner)
    completion_headers, _ = configured_app(chat_owner, "completion")
    wrong = client.post("/v1/completion-messages", headers=chat_headers, json={"inputs": {}, "user": "u"})
    assert (wrong.status_code, wrong.json()["code"]) == (400, "not_completion_app")
    wrong = client.post("/v1/chat-messages", headers=completion_headers, json={"query": "x", "inputs": {}, "user": "u"})
    assert (wrong.status_code, wrong.json()["code"]) == (400, "not_chat_app")
    no_user = client.post("/v1/chat-messages", headers=chat_headers, json={"query": "x", "inputs": {}})
    assert no_user.json() == {
        "code": "invalid_param",
        "message": "Arg user must be provided.",
        "status": 400,
        "params": "user",
    }
    no_inputs = client.post("/v1/chat-messages", headers=chat_headers, json={"query": "x", "user": "u"})
    assert no_inputs.json()["params"] == "inputs"
    bad_mode = client.post(
        "/v1/chat-messages",
        headers=chat_headers,
        json={"query": "x", "inputs": {}, "user": "u", "response_mode": "fast"},
    )
    assert bad_mode.json()["params"] == "response_mode"


def test_foreign_and_unknown_conversations_are_404_before_streaming(chat_owner: Console) -> None:
    client = chat_owner.client
    headers, _ = configured_app(chat_owner)
    first = client.post(
        "/v1/chat-messages", headers=headers, json={"query": "hi", "inputs": {}, "user": "alice"}
    ).json()
    for user, conversation_id in (
        ("mallory", first["conversation_id"]),
        ("alice", "00000000-0000-4000-8000-000000000000"),
    ):
        for mode in ("blocking", "streaming"):
            response = client.post(
                "/v1/chat-messages",
                headers=headers,
                json={
                    "query": "hi",
                    "inputs": {},
                    "user": user,
                    "conversation_id": conversation_id,
                    "response_mode": mode,
                },
            )
            assert response.status_code == 404
            assert response.json() == {"code": "not_found", "message": "Conversation Not Exists.", "status": 404}
    assert (
        client.get(
            "/v1/messages", headers=headers, params={"conversation_id": first["conversation_id"], "user": "mallory"}
        ).status_code
        == 404
    )
    other_app_headers, _ = configured_app(chat_owner)
    assert (
        client.get(
            "/v1/messages",
            headers=other_app_headers,
            params={"conversation_id": first["conversation_id"], "user": "alice"},
        ).status_code
        == 404
    )


def test_provider_not_configured(chat_owner: Console) -> None:
    app = chat_owner.create_app("Unconfigured")
    headers = {"Authorization": f"Bearer {chat_owner.create_key(app['id'])}"}
    response = chat_owner.client.post(
        "/v1/chat-messages", headers=headers, json={"query": "x", "inputs": {}, "user": "u"}
    )
    assert (response.status_code, response.json()["code"]) == (400, "provider_not_initialize")


def test_model_failures(chat_owner: Console, models: ScriptedModels) -> None:
    client = chat_owner.client
    headers, app_id = configured_app(chat_owner)
    models.model.fail_before = True
    blocking = client.post("/v1/chat-messages", headers=headers, json={"query": "x", "inputs": {}, "user": "u"})
    assert (blocking.status_code, blocking.json()["code"]) == (400, "completion_request_error")
    models.model.fail_before = False
    models.model.fail_after_pieces = 2
    events = sse_events(
        client.post(
            "/v1/chat-messages",
            headers=headers,
            json={"query": "one two three four", "inputs": {}, "user": "u", "response_mode": "streaming"},
        )
    )
    assert [e["event"] for e in events] == ["message", "message", "error"]
    assert events[-1]["code"] == "completion_request_error"
    assert events[-1]["status"] == 400
    # Failed turns are logged with their error but never replayed as history.
    models.model.fail_after_pieces = None
    ok = client.post(
        "/v1/chat-messages",
        headers=headers,
        json={"query": "fine", "inputs": {}, "user": "u", "conversation_id": events[0]["conversation_id"]},
    ).json()
    assert ok["answer"] == "Echo: fine"
    assert [m["role"] for m in models.model.requests[-1].messages] == ["user"]
    state = client.app.state.loom
    with state.db.session() as session:
        statuses = sorted(m.status for m in session.query(Message).filter(Message.app_id == app_id))
        calls = session.query(ModelCall).filter(ModelCall.app_id == app_id).count()
    assert statuses == ["error", "error", "normal"]
    assert calls == 3


def test_feedback_conversations_rename_delete(chat_owner: Console) -> None:
    client = chat_owner.client
    headers, _ = configured_app(chat_owner)
    turns = [
        client.post("/v1/chat-messages", headers=headers, json={"query": f"q{i}", "inputs": {}, "user": "fay"}).json()
        for i in range(3)
    ]
    liked = client.post(
        f"/v1/messages/{turns[0]['message_id']}/feedbacks",
        headers=headers,
        json={"rating": "like", "user": "fay", "content": "great"},
    )
    assert liked.json() == {"result": "success"}
    stranger = client.post(
        f"/v1/messages/{turns[0]['message_id']}/feedbacks", headers=headers, json={"rating": "like", "user": "eve"}
    )
    assert stranger.status_code == 404
    shown = client.get(
        "/v1/messages", headers=headers, params={"conversation_id": turns[0]["conversation_id"], "user": "fay"}
    )
    assert shown.json()["data"][0]["feedback"] == {"rating": "like"}
    client.post(
        f"/v1/messages/{turns[0]['message_id']}/feedbacks", headers=headers, json={"rating": None, "user": "fay"}
    )
    shown = client.get(
        "/v1/messages", headers=headers, params={"conversation_id": turns[0]["conversation_id"], "user": "fay"}
    )
    assert shown.json()["data"][0]["feedback"] is None

    page = client.get("/v1/conversations", headers=headers, params={"user": "fay", "limit": 2}).json()
    assert page["has_more"] is True
    rest = client.get(
        "/v1/conversations", headers=headers, params={"user": "fay", "limit": 2, "last_id": page["data"][-1]["id"]}
    ).json()
    assert rest["has_more"] is False
    assert len({c["id"] for c in page["data"] + rest["data"]}) == 3
    oldest_first = client.get(
        "/v1/conversations", headers=headers, params={"user": "fay", "sort_by": "created_at"}
    ).json()
    assert [c["id"] for c in oldest_first["data"]] == [t["conversation_id"] for t in turns]

    renamed = client.post(
        f"/v1/conversations/{turns[1]['conversation_id']}/name",
        headers=headers,
        json={"name": "Renamed", "user": "fay"},
    )
    assert renamed.json()["name"] == "Renamed"
    deleted = client.request(
        "DELETE", f"/v1/conversations/{turns[1]['conversation_id']}", headers=headers, json={"user": "fay"}
    )
    assert deleted.status_code == 204
    remaining = client.get("/v1/conversations", headers=headers, params={"user": "fay"}).json()
    assert turns[1]["conversation_id"] not in {c["id"] for c in remaining["data"]}
    assert (
        client.get("/v1/conversations", headers=headers, params={"user": "fay", "sort_by": "name"}).status_code == 400
    )


def test_keyword_moderation(chat_owner: Console, models: ScriptedModels) -> None:
    client = chat_owner.client
    headers, _ = configured_app(
        chat_owner,
        sensitive_word_avoidance={
            "enabled": True,
            "type": "keywords",
            "config": {
                "keywords": "forbidden\nsecret",
                "inputs_config": {"enabled": True, "preset_response": "Not allowed."},
                "outputs_config": {"enabled": True, "preset_response": "Answer withheld."},
            },
        },
    )
    calls = len(models.model.requests)
    blocked = client.post(
        "/v1/chat-messages",
        headers=headers,
        json={"query": "tell me the SECRET", "inputs": {}, "user": "u", "auto_generate_name": False},
    )
    assert blocked.json()["answer"] == "Not allowed."
    assert len(models.model.requests) == calls  # the model was never called
    models.model.reply = "the forbidden answer"
    events = sse_events(
        client.post(
            "/v1/chat-messages",
            headers=headers,
            json={"query": "hi", "inputs": {}, "user": "u", "response_mode": "streaming"},
        )
    )
    assert [e["event"] for e in events][-2:] == ["message_replace", "message_end"]
    assert events[-2]["answer"] == "Answer withheld."


def test_stop_a_streaming_answer(chat_owner: Console, models: ScriptedModels) -> None:
    client = chat_owner.client
    headers, _ = configured_app(chat_owner)
    models.model.reply = " ".join(f"w{i}" for i in range(200))
    models.model.delay = 0.01
    events: list[dict[str, Any]] = []

    def consume() -> None:
        with client.stream(
            "POST",
            "/v1/chat-messages",
            headers=headers,
            json={"query": "long", "inputs": {}, "user": "sam", "response_mode": "streaming"},
        ) as response:
            for line in response.iter_lines():
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))

    reader = threading.Thread(target=consume)
    reader.start()
    deadline = time.monotonic() + 10
    while not events and time.monotonic() < deadline:
        time.sleep(0.01)
    task_id = events[0]["task_id"]
    assert client.post(f"/v1/chat-messages/{task_id}/stop", headers=headers, json={"user": "mallory"}).json() == {
        "result": "success"
    }
    time.sleep(0.1)
    assert events[-1]["event"] == "message"  # a stranger cannot stop it
    assert client.post(f"/v1/chat-messages/{task_id}/stop", headers=headers, json={"user": "sam"}).json() == {
        "result": "success"
    }
    reader.join(timeout=10)
    assert events[-1]["event"] == "message_end"
    answered = "".join(e.get("answer", "") for e in events[:-1])
    assert 0 < len(answered.split()) < 200
    stored = client.get(
        "/v1/messages",
        headers=headers,
        params={"conversation_id": task_id and events[0]["conversation_id"], "user": "sam"},
    ).json()
    assert stored["data"][0]["status"] == "stopped"
    assert stored["data"][0]["answer"] == answered


def test_suggested_questions(chat_owner: Console, models: ScriptedModels) -> None:
    client = chat_owner.client
    headers, _ = configured_app(chat_owner, suggested_questions_after_answer={"enabled": True})
    turn = client.post("/v1/chat-messages", headers=headers, json={"query": "hi", "inputs": {}, "user": "u"}).json()
    models.model.reply = 'Sure: ["What next?", "Why?", "How?"]'
    suggested = client.get(f"/v1/messages/{turn['message_id']}/suggested", headers=headers, params={"user": "u"})
    assert suggested.json() == {"result": "success", "data": ["What next?", "Why?", "How?"]}
    off_headers, _ = configured_app(chat_owner)
    models.model.reply = None
    other = client.post(
        "/v1/chat-messages", headers=off_headers, json={"query": "hi", "inputs": {}, "user": "u"}
    ).json()
    disabled = client.get(f"/v1/messages/{other['message_id']}/suggested", headers=off_headers, params={"user": "u"})
    assert (disabled.status_code, disabled.json()["code"]) == (403, "app_suggested_questions_after_answer_disabled")


def test_new_conversations_are_named_by_the_model(chat_owner: Console, models: ScriptedModels) -> None:
    client = chat_owner.client
    headers, _ = configured_app(chat_owner)
    models.model.reply = "Weather in Paris"
    turn = client.post(
        "/v1/chat-messages", headers=headers, json={"query": "is it raining in paris", "inputs": {}, "user": "u"}
    )
    conversation_id = turn.json()["conversation_id"]
    deadline = time.monotonic() + 5
    name = ""
    while time.monotonic() < deadline:
        name = client.get("/v1/conversations", headers=headers, params={"user": "u"}).json()["data"][0]["name"]
        if name == "Weather in Paris":
            break
        time.sleep(0.02)
    assert name == "Weather in Paris"
    models.model.reply = "A better title"
    renamed = client.post(
        f"/v1/conversations/{conversation_id}/name", headers=headers, json={"auto_generate": True, "user": "u"}
    )
    assert renamed.json()["name"] == "A better title"
    unnamed = client.post(
        "/v1/chat-messages",
        headers=headers,
        json={"query": "keep my name", "inputs": {}, "user": "v", "auto_generate_name": False},
    )
    assert unnamed.status_code == 200
    listed = client.get("/v1/conversations", headers=headers, params={"user": "v"}).json()["data"]
    assert listed[0]["name"] == "keep my name"
