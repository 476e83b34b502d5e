"""Console logs and monitoring of chat and completion apps, checked against counts taken from the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from loomworks.store.tables import Message, MessageFeedback
from tests._console import Console
from tests._scripted_model import configured_app


def _chat(client, headers, user, query, conversation_id=None):  # type: ignore[no-untyped-def]
    body = {"query": query, "inputs": {}, "user": user, "auto_generate_name": False}
    if conversation_id:
        body["conversation_id"] = conversation_id
    response = client.post("/v1/chat-messages", headers=headers, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_chat_logs_with_traces_and_feedback(chat_owner: Console) -> None:
    client = chat_owner.client
    headers, app_id = configured_app(chat_owner, pre_prompt="Be kind.")
    first = _chat(client, headers, "alice", "where is my parcel")
    _chat(client, headers, "alice", "and the invoice", first["conversation_id"])
    second = _chat(client, headers, "bob", "hello")
    client.post(
        f"/v1/messages/{first['message_id']}/feedbacks", headers=headers, json={"rating": "like", "user": "alice"}
    )
    assert chat_owner.post(
        f"/apps/{app_id}/feedbacks", json={"message_id": second["message_id"], "rating": "dislike"}
    ).json() == {"result": "success"}

    logs = chat_owner.get(f"/apps/{app_id}/chat-conversations").json()
    assert logs["total"] == 2
    by_id = {c["id"]: c for c in logs["data"]}
    alice = by_id[first["conversation_id"]]
    assert alice["message_count"] == 2
    assert alice["from_end_user_session_id"] == "alice"
    assert alice["user_feedback_stats"] == {"like": 1, "dislike": 0}
    assert by_id[second["conversation_id"]]["admin_feedback_stats"] == {"like": 0, "dislike": 1}
    assert chat_owner.get(f"/apps/{app_id}/chat-conversations", params={"keyword": "invoice"}).json()["total"] == 1
    assert chat_owner.get(f"/apps/{app_id}/chat-conversations", params={"keyword": "%"}).json()["total"] == 0

    messages = chat_owner.get(
        f"/apps/{app_id}/chat-messages", params={"conversation_id": first["conversation_id"]}
    ).json()
    trace = messages["data"][0]
    assert trace["message"][0] == {"role": "system", "content": "Be kind."}
    assert trace["answer"] == "Echo: where is my parcel"
    assert trace["message_tokens"] > 0
    assert trace["answer_tokens"] == 5
    assert trace["feedbacks"][0]["rating"] == "like"
    assert trace["metadata"]["usage"]["total_tokens"] == trace["message_tokens"] + trace["answer_tokens"]

    future = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
    assert chat_owner.get(f"/apps/{app_id}/chat-conversations", params={"start": future}).json()["total"] == 0
    assert chat_owner.get(f"/apps/{app_id}/chat-conversations", params={"start": "yesterday"}).status_code == 400


def test_statistics_match_the_database(chat_owner: Console) -> None:
    client = chat_owner.client
    headers, app_id = configured_app(chat_owner)
    conversation = _chat(client, headers, "u1", "one")["conversation_id"]
    _chat(client, headers, "u1", "two", conversation)
    liked = _chat(client, headers, "u2", "three")
    client.post(f"/v1/messages/{liked['message_id']}/feedbacks", headers=headers, json={"rating": "like", "user": "u2"})
    # The debugger's turns are not counted.
    chat_owner.post(f"/apps/{app_id}/chat-messages", json={"query": "debug", "inputs": {}, "response_mode": "blocking"})

    state = client.app.state.loom
    with state.db.session() as session:
        where = (Message.app_id == app_id, Message.invoke_from != "debugger")
        messages = session.scalar(select(func.count()).where(*where)) or 0
        conversations = session.scalar(select(func.count(func.distinct(Message.conversation_id))).where(*where)) or 0
        tokens = session.scalar(select(func.sum(Message.message_tokens + Message.answer_tokens)).where(*where)) or 0
        likes = (
            session.scalar(select(func.count()).select_from(MessageFeedback).where(MessageFeedback.app_id == app_id))
            or 0
        )

    def stat(kind: str) -> dict[str, object]:
        data = chat_owner.get(f"/apps/{app_id}/statistics/{kind}").json()["data"]
        assert len(data) == 1, data
        assert data[0]["date"] == datetime.now(UTC).strftime("%Y-%m-%d")
        return data[0]

    assert stat("daily-messages")["message_count"] == messages == 3
    assert stat("daily-conversations")["conversation_count"] == conversations == 2
    assert stat("daily-end-users")["terminal_count"] == 2
    assert stat("token-costs")["token_count"] == tokens
    assert stat("average-session-interactions")["interactions"] == 1.5
    assert stat("user-satisfaction-rate")["rate"] == round(likes * 1000 / messages, 2)
    assert stat("tokens-per-second")["tps"] > 0
    assert chat_owner.get(f"/apps/{app_id}/statistics/made-up").status_code == 400
