"""Monitoring of a text generator: every completion message is a conversation, as Dify counts it.

Dify stores one conversation per completion message, and its `daily-conversations` counts distinct
conversations of the day's messages, so a completion app's chart shows one per message. Here a
completion turn has no conversation row at all; the statistics must still count it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from loomworks.services.app_config import default_model_config
from loomworks.store.tables import Message
from tests._console import Console
from tests._scripted_model import configured_app, sse_events


def _completion_app(owner: Console) -> tuple[dict[str, str], str]:
    config = default_model_config("completion")
    return configured_app(owner, "completion", user_input_form=config["user_input_form"], pre_prompt="Say {{query}}")


def _complete(owner: Console, headers: dict[str, str], user: str, query: str, mode: str = "blocking") -> None:
    body = {"inputs": {"query": query}, "user": user, "response_mode": mode}
    response = owner.client.post("/v1/completion-messages", headers=headers, json=body)
    assert response.status_code == 200, response.text
    if mode == "streaming":
        assert sse_events(response)[-1]["event"] == "message_end"


def _today(owner: Console, app_id: str, kind: str) -> dict[str, Any]:
    response = owner.get(f"/apps/{app_id}/statistics/{kind}")
    assert response.status_code == 200, response.text
    (row,) = response.json()["data"]
    assert row["date"] == datetime.now(UTC).strftime("%Y-%m-%d")
    return row


def test_each_completion_message_is_a_conversation(chat_owner: Console) -> None:
    headers, app_id = _completion_app(chat_owner)
    _complete(chat_owner, headers, "ann", "one")
    _complete(chat_owner, headers, "ann", "two", "streaming")
    _complete(chat_owner, headers, "ben", "three")
    _complete(chat_owner, headers, "ann", "four")
    # The debugger's runs are left out, as for chat apps.
    debug = {"inputs": {"query": "debug"}, "response_mode": "blocking"}
    assert chat_owner.post(f"/apps/{app_id}/completion-messages", json=debug).status_code == 200

    with chat_owner.client.app.state.loom.db.session() as session:
        stored = session.execute(select(Message.conversation_id, Message.invoke_from).where(Message.app_id == app_id))
        rows = list(stored)
    assert sorted(source for _, source in rows).count("debugger") == 1
    assert {conversation for conversation, _ in rows} == {None}, "a completion turn belongs to no conversation"

    assert _today(chat_owner, app_id, "daily-messages")["message_count"] == 4
    assert _today(chat_owner, app_id, "daily-conversations")["conversation_count"] == 4
    assert _today(chat_owner, app_id, "daily-end-users")["terminal_count"] == 2
    assert _today(chat_owner, app_id, "average-session-interactions")["interactions"] == 1.0


def test_chat_conversations_are_still_counted_once(chat_owner: Console) -> None:
    """The same counting for a chat app: several turns of one conversation are one conversation."""
    headers, app_id = configured_app(chat_owner)
    body = {"query": "hi", "inputs": {}, "user": "ann", "response_mode": "blocking"}
    first = chat_owner.client.post("/v1/chat-messages", headers=headers, json=body).json()
    for query in ("again", "and again"):
        turn = {**body, "query": query, "conversation_id": first["conversation_id"]}
        assert chat_owner.client.post("/v1/chat-messages", headers=headers, json=turn).status_code == 200
    assert chat_owner.client.post("/v1/chat-messages", headers=headers, json={**body, "user": "ben"}).status_code == 200

    assert _today(chat_owner, app_id, "daily-messages")["message_count"] == 4
    assert _today(chat_owner, app_id, "daily-conversations")["conversation_count"] == 2
    assert _today(chat_owner, app_id, "average-session-interactions")["interactions"] == 2.0


def test_no_messages_no_rows(chat_owner: Console) -> None:
    _, app_id = _completion_app(chat_owner)
    assert chat_owner.get(f"/apps/{app_id}/statistics/daily-conversations").json() == {"data": []}
