"""The LLMOps issue's acceptance run: a scripted session of 1,000 messages across a chat, a completion and
a workflow app, then the logs, the monitoring numbers, annotation reply, tracing export and app
regression tests are each checked against what the database (read with our own SQL) says happened.

The chat and completion turns use the scripted model (fast, and its request log shows every model
call); the workflow runs go through the real engine (start → template → end). Traces go through the
server's real dispatcher to the fake Langfuse and OTLP collectors on 127.0.0.1. The session is spread
over three days by moving a third of the rows one day back and a third two days back (test data set-up),
so that the daily statistics and the time-range filters have several days to tell apart.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text, update

from loomworks.api.deps import ServerState
from loomworks.core.config import Settings
from loomworks.store.tables import Conversation, Message, WorkflowAppLog, WorkflowRun
from tests._console import Console
from tests._scripted_model import ScriptedModels, configured_app
from tests.fakes.collectors import CollectorFake, collector_fake

pytestmark = pytest.mark.integration

CHAT_TURNS, COMPLETIONS, RUNS = 500, 300, 200
TZ, TZ_OFFSET = "Asia/Shanghai", timedelta(hours=8)  # no daylight saving: the offset is fixed
TOPICS = ("parcel", "invoice", "refund", "login", "weather")
FAQ = {"How do I reset my password?": "Open Settings, then Security, then Reset."}
GRAPH = {
    "nodes": [
        {
            "id": "start",
            "data": {
                "type": "start",
                "title": "Start",
                "variables": [
                    {"variable": "topic", "label": "Topic", "type": "text-input", "required": True},
                    {"variable": "n", "label": "N", "type": "number", "required": True},
                ],
            },
        },
        {
            "id": "render",
            "data": {
                "type": "template-transform",
                "title": "Render",
                "template": "{{ topic }}: {{ 100 // n }}",
                "variables": [
                    {"variable": "topic", "value_selector": ["start", "topic"]},
                    {"variable": "n", "value_selector": ["start", "n"]},
                ],
            },
        },
        {
            "id": "end",
            "data": {
                "type": "end",
                "title": "End",
                "outputs": [{"variable": "result", "value_selector": ["render", "output"]}],
            },
        },
    ],
    "edges": [
        {"id": "e1", "source": "start", "target": "render", "sourceHandle": "source", "targetHandle": "target"},
        {"id": "e2", "source": "render", "target": "end", "sourceHandle": "source", "targetHandle": "target"},
    ],
}


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """The shared test settings, with loopback allowed for the collectors (users type their URLs)."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key="test-secret-key-of-enough-length-0123456789",
        migrate_on_start=False,
        log_json=False,
        sandbox_check_on_start=False,
        ssrf_allow_private_networks="127.0.0.0/8",
    )


@pytest.fixture
def collector() -> Iterator[CollectorFake]:
    with collector_fake() as fake:
        yield fake


@dataclass
class Script:
    """What the script did, as the client saw it (the test's own record, compared with the server's)."""

    chat_messages: list[str] = field(default_factory=list)
    completion_messages: list[str] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    failed_runs: set[str] = field(default_factory=set)
    hits: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    said: dict[str, tuple[str, str]] = field(default_factory=dict)  # message id -> (query, answer)
    run_inputs: dict[str, dict[str, Any]] = field(default_factory=dict)


def _traced(owner: Console, app_id: str, provider: str, fake: CollectorFake) -> None:
    if provider == "langfuse":
        public, secret = fake.langfuse_keys
        config: dict[str, Any] = {"public_key": public, "secret_key": secret, "host": fake.base_url}
    else:
        name, value = fake.otlp_header
        config = {"endpoint": fake.base_url, "headers": {name: value}}
    created = owner.post(f"/apps/{app_id}/trace-config", json={"tracing_provider": provider, "tracing_config": config})
    assert created.status_code == 200, created.text
    assert owner.post(f"/apps/{app_id}/trace", json={"enabled": True, "tracing_provider": provider}).status_code == 200


def _workflow_app(owner: Console) -> tuple[dict[str, str], str]:
    app = owner.create_app("Flow", "workflow")
    draft = owner.get(f"/apps/{app['id']}/workflows/draft").json()
    saved = owner.post(
        f"/apps/{app['id']}/workflows/draft", json={"graph": GRAPH, "features": {}, "hash": draft["hash"]}
    )
    assert saved.status_code == 200, saved.text
    assert owner.post(f"/apps/{app['id']}/workflows/publish", json={"marked_name": "v1"}).status_code in (200, 201)
    return {"Authorization": f"Bearer {owner.create_key(app['id'])}"}, app["id"]


def _post(client: TestClient, path: str, headers: dict[str, str], body: dict[str, Any]) -> Any:
    return client.post(f"/v1{path}", headers=headers, json=body)


def _rate(client: TestClient, headers: dict[str, str], rng: random.Random, message_id: str, user: str) -> None:
    roll = rng.random()
    if roll < 0.22:
        rating = "like" if roll < 0.15 else "dislike"
        rated = _post(client, f"/messages/{message_id}/feedbacks", headers, {"rating": rating, "user": user})
        assert rated.status_code == 200, rated.text


def _error_id(client: TestClient, app_id: str, known: set[str]) -> str:
    """The id of the failed turn just saved (a failed turn's answer is an error without the message id)."""
    with _state(client).db.session() as session:
        rows = session.execute(
            text("SELECT id FROM messages WHERE app_id = :app AND status = 'error'"), {"app": app_id}
        ).scalars()
        (new,) = set(rows) - known
    known.add(new)
    return str(new)


def _chat_session(
    client: TestClient, headers: dict[str, str], app_id: str, models: ScriptedModels, done: Script
) -> None:
    rng = random.Random(11)
    turns = 0
    while turns < CHAT_TURNS:
        user = f"user-{rng.randrange(6)}"
        conversation_id = ""
        for turn in range(min(rng.choice((1, 1, 2, 3, 4, 6)), CHAT_TURNS - turns)):
            turns += 1
            ask_faq = rng.random() < 0.06
            query = "how do I RESET my password" if ask_faq else f"question {turns} about the {rng.choice(TOPICS)}"
            fail = turn > 0 and not ask_faq and rng.random() < 0.07
            models.model.fail_before = fail
            body = {"query": query, "inputs": {}, "user": user, "auto_generate_name": False}
            if conversation_id:
                body["conversation_id"] = conversation_id
            response = _post(client, "/chat-messages", headers, body)
            models.model.fail_before = False
            if fail:
                assert response.status_code == 400, response.text
                done.chat_messages.append(_error_id(client, app_id, done.failed))
                continue
            assert response.status_code == 200, response.text
            answer = response.json()
            conversation_id = answer["conversation_id"]
            done.chat_messages.append(answer["id"])
            done.said[answer["id"]] = (query, answer["answer"])
            if ask_faq:
                assert answer["answer"] == FAQ["How do I reset my password?"]
                assert "annotation_reply" in answer["metadata"]
                done.hits.add(answer["id"])
            else:
                assert answer["answer"] == f"Echo: {query}"
            _rate(client, headers, rng, answer["id"], user)


def _completion_session(
    client: TestClient, headers: dict[str, str], app_id: str, models: ScriptedModels, done: Script
) -> None:
    rng = random.Random(12)
    for n in range(COMPLETIONS):
        user = f"user-{rng.randrange(4)}"
        fail = rng.random() < 0.05
        models.model.fail_before = fail
        body = {"inputs": {"text": f"note {n} on the {rng.choice(TOPICS)}"}, "user": user}
        response = _post(client, "/completion-messages", headers, body)
        models.model.fail_before = False
        if fail:
            assert response.status_code == 400, response.text
            done.completion_messages.append(_error_id(client, app_id, done.failed))
            continue
        assert response.status_code == 200, response.text
        assert response.json()["answer"] == f"Echo: Summarise: {body['inputs']['text']}"
        done.completion_messages.append(response.json()["id"])
        done.said[response.json()["id"]] = ("", response.json()["answer"])
        _rate(client, headers, rng, response.json()["id"], user)


def _workflow_session(client: TestClient, headers: dict[str, str], done: Script) -> None:
    rng = random.Random(13)
    for n in range(RUNS):
        divisor = 0 if rng.random() < 0.08 else rng.randrange(1, 9)
        inputs = {"topic": f"run {n} {rng.choice(TOPICS)}", "n": divisor}
        response = _post(client, "/workflows/run", headers, {"inputs": inputs, "user": f"user-{rng.randrange(5)}"})
        assert response.status_code == 200, response.text
        result = response.json()
        done.runs.append(result["workflow_run_id"])
        done.run_inputs[result["workflow_run_id"]] = inputs
        assert result["data"]["status"] == ("failed" if divisor == 0 else "succeeded"), result
        if divisor == 0:
            done.failed_runs.add(result["workflow_run_id"])


def _state(client: TestClient) -> ServerState:
    state: ServerState = client.app.state.loom  # type: ignore[attr-defined]
    return state


def _wait_for(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the collectors")
        time.sleep(0.05)


def _utc(value: Any) -> datetime:
    """A timestamp read with plain SQL: an aware datetime (PostgreSQL) or SQLite's text."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _spread_over_three_days(client: TestClient, app_ids: list[str]) -> None:
    """Move a third of each app's conversations (with their messages) and runs one day back, a third two."""
    with _state(client).db.session() as session:
        for app_id in app_ids:
            conversations = session.execute(
                text("SELECT id, created_at, updated_at FROM conversations WHERE app_id = :a ORDER BY created_at, id"),
                {"a": app_id},
            ).all()
            back = {cid: timedelta(days=index % 3) for index, (cid, _, _) in enumerate(conversations)}
            if conversations:
                session.execute(
                    update(Conversation),
                    [
                        {"id": cid, "created_at": _utc(c) - back[cid], "updated_at": _utc(u) - back[cid]}
                        for cid, c, u in conversations
                    ],
                )
            messages = session.execute(
                text("SELECT id, conversation_id, created_at FROM messages WHERE app_id = :a ORDER BY created_at, id"),
                {"a": app_id},
            ).all()
            if messages:
                session.execute(
                    update(Message),
                    [
                        {"id": mid, "created_at": _utc(c) - back.get(cid or "", timedelta(days=index % 3))}
                        for index, (mid, cid, c) in enumerate(messages)
                    ],
                )
            logs = session.execute(
                text("SELECT id, workflow_run_id, created_at FROM workflow_app_logs WHERE app_id = :a"),
                {"a": app_id},
            ).all()
            if logs:
                moved = {rid: (_utc(c) - timedelta(days=index % 3)) for index, (_, rid, c) in enumerate(logs)}
                session.execute(update(WorkflowAppLog), [{"id": lid, "created_at": moved[rid]} for lid, rid, _ in logs])
                session.execute(update(WorkflowRun), [{"id": rid, "created_at": at} for rid, at in moved.items()])


# -- what the database says (plain SQL, none of the services' queries) ---------------------------------


@dataclass
class Facts:
    messages: list[dict[str, Any]]
    conversations: dict[str, dict[str, Any]]
    feedback: list[dict[str, Any]]
    annotated_messages: set[str]
    sessions: dict[str, str]  # end user id -> the developer's `user` string

    def likes(self, message_id: str, *, source: str | None = None, rating: str = "like") -> int:
        return sum(
            1
            for f in self.feedback
            if f["message_id"] == message_id and f["rating"] == rating and source in (None, f["from_source"])
        )


def _facts(client: TestClient, app_id: str) -> Facts:
    with _state(client).db.session() as session:

        def rows(sql: str) -> list[dict[str, Any]]:
            return [dict(r) for r in session.execute(text(sql), {"a": app_id}).mappings()]

        messages = rows(
            "SELECT id, conversation_id, from_end_user_id, created_at, message_tokens, answer_tokens, total_price,"
            " provider_response_latency, status, error, invoke_from, query, answer FROM messages WHERE app_id = :a"
        )
        conversations = rows("SELECT id, name, created_at, from_end_user_id FROM conversations WHERE app_id = :a")
        feedback = rows("SELECT message_id, rating, from_source FROM message_feedbacks WHERE app_id = :a")
        annotated = rows("SELECT message_id FROM message_annotations WHERE app_id = :a AND message_id IS NOT NULL")
        users = rows("SELECT id, session_id FROM end_users WHERE app_id = :a")
    for row in messages + conversations:
        row["created_at"] = _utc(row["created_at"])
    return Facts(
        messages=messages,
        conversations={c["id"]: c for c in conversations},
        feedback=feedback,
        annotated_messages={r["message_id"] for r in annotated},
        sessions={u["id"]: u["session_id"] for u in users},
    )


def _day(moment: datetime) -> str:
    return (moment + TZ_OFFSET).strftime("%Y-%m-%d")


def _expected_statistics(facts: Facts) -> dict[str, list[dict[str, Any]]]:
    by_day: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in facts.messages:
        if m["invoke_from"] != "debugger":
            by_day[_day(m["created_at"])].append(m)
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for day in sorted(by_day):
        rows = by_day[day]
        # A completion message has no conversation and counts as its own, as in Dify.
        conversations = {m["conversation_id"] or m["id"] for m in rows}
        latency = sum(float(m["provider_response_latency"]) for m in rows)
        liked = sum(1 for m in rows if facts.likes(m["id"], source="user"))
        out["daily-messages"].append({"date": day, "message_count": len(rows)})
        out["daily-conversations"].append({"date": day, "conversation_count": len(conversations)})
        out["daily-end-users"].append(
            {"date": day, "terminal_count": len({m["from_end_user_id"] for m in rows if m["from_end_user_id"]})}
        )
        price = sum((Decimal(str(m["total_price"])) for m in rows), Decimal(0))
        out["token-costs"].append(
            {
                "date": day,
                "token_count": sum(m["message_tokens"] + m["answer_tokens"] for m in rows),
                "total_price": str(price.quantize(Decimal("0.0000001"))),
                "currency": "USD",
            }
        )
        interactions = len(rows) / len(conversations) if conversations else 0
        out["average-session-interactions"].append({"date": day, "interactions": round(interactions, 2)})
        out["user-satisfaction-rate"].append({"date": day, "rate": round(liked * 1000 / len(rows), 2)})
        out["average-response-time"].append({"date": day, "latency": round(latency / len(rows) * 1000, 4)})
        tps = sum(m["answer_tokens"] for m in rows) / latency if latency else 0
        out["tokens-per-second"].append({"date": day, "tps": round(tps, 4)})
    return out


def _same_rows(actual: list[dict[str, Any]], expected: list[dict[str, Any]], kind: str) -> None:
    assert [r["date"] for r in actual] == [r["date"] for r in expected], kind
    for got, want in zip(actual, expected, strict=True):
        for name, value in want.items():
            if isinstance(value, float):
                # Sums of floats in SQL and in Python may differ in the last place before rounding.
                assert got[name] == pytest.approx(value, abs=2e-4), (kind, got, want)
            else:
                assert got[name] == value, (kind, got, want)


def _all_pages(owner: Console, path: str, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    page = 1
    while True:
        body = owner.get(path, params={**params, "page": page, "limit": 100})
        assert body.status_code == 200, body.text
        data = body.json()
        rows += data["data"]
        if not data["has_more"]:
            assert data["total"] == len(rows), (path, params)
            return rows
        page += 1


def _local(moment: datetime) -> str:
    return (moment + TZ_OFFSET).strftime("%Y-%m-%d %H:%M")


def _minute(moment: datetime) -> tuple[str, datetime]:
    """A filter bound as the console sends it (local minutes) and the UTC instant the server reads from it."""
    shown = _local(moment)
    return shown, datetime.strptime(shown, "%Y-%m-%d %H:%M").replace(tzinfo=UTC) - TZ_OFFSET


def _filter_cases(
    facts: Facts, rows: dict[str, list[dict[str, Any]]], now: datetime
) -> list[tuple[dict[str, Any], set[str]]]:
    """(query parameters, the ids they must return) for log rows made of `rows` (id -> its messages)."""
    start, start_utc = _minute(now - timedelta(hours=36))
    end, end_utc = _minute(now - timedelta(hours=12))
    created = {rid: min(m["created_at"] for m in ms) for rid, ms in rows.items()}
    if facts.conversations:
        created = {rid: facts.conversations[rid]["created_at"] for rid in rows}
    owner_of = {rid: facts.sessions.get(ms[0]["from_end_user_id"] or "") for rid, ms in rows.items()}

    def where(test: Callable[[str, list[dict[str, Any]]], bool]) -> set[str]:
        return {rid for rid, ms in rows.items() if test(rid, ms)}

    def said(rid: str, ms: list[dict[str, Any]], word: str) -> bool:
        name = facts.conversations[rid]["name"] if rid in facts.conversations else ""
        return any(word in (m["query"] + m["answer"]).lower() for m in ms) or word in name.lower()

    in_range = where(lambda rid, _: start_utc <= created[rid] < end_utc)
    liked = where(lambda _, ms: any(facts.likes(m["id"]) for m in ms))
    by_user_1 = where(lambda rid, _: owner_of[rid] == "user-1")
    annotated = where(lambda _, ms: any(m["id"] in facts.annotated_messages for m in ms))
    cases = [
        ({}, set(rows)),
        ({"start": start, "end": end}, in_range),
        ({"status": "error"}, where(lambda _, ms: any(m["status"] == "error" for m in ms))),
        ({"feedback": "like"}, liked),
        ({"feedback": "dislike"}, where(lambda _, ms: any(facts.likes(m["id"], rating="dislike") for m in ms))),
        ({"annotation_status": "annotated"}, annotated),
        ({"annotation_status": "not_annotated"}, set(rows) - annotated),
        ({"keyword": "REFUND"}, where(lambda rid, ms: said(rid, ms, "refund"))),
        ({"created_by_end_user_session_id": "user-3"}, where(lambda rid, _: owner_of[rid] == "user-3")),
        (
            {"feedback": "like", "created_by_end_user_session_id": "user-1", "start": start},
            liked & by_user_1 & where(lambda rid, _: created[rid] >= start_utc),
        ),
    ]
    for params, expected in cases:
        # A filter that keeps everything or nothing would prove little.
        assert params == {} or 0 < len(expected) < len(rows), (params, len(expected))
    return cases


def _check_message(detail: dict[str, Any], row: dict[str, Any], facts: Facts, done: Script, faq_id: str) -> None:
    assert detail["answer"] == row["answer"]
    assert (detail["message_tokens"], detail["answer_tokens"]) == (row["message_tokens"], row["answer_tokens"])
    assert Decimal(detail["total_price"]) == Decimal(str(row["total_price"]))
    assert detail["provider_response_latency"] == pytest.approx(float(row["provider_response_latency"]))
    assert detail["provider_response_latency"] > 0
    assert detail["status"] == row["status"]
    assert [f["rating"] for f in detail["feedbacks"] if f["from_source"] == "user"] == [
        f["rating"] for f in facts.feedback if f["message_id"] == row["id"] and f["from_source"] == "user"
    ]
    if row["id"] in done.hits:
        assert detail["metadata"]["annotation_reply"]["id"] == faq_id
        assert detail["annotation_hit_history"]["annotation_id"] == faq_id
        assert detail["annotation_hit_history"]["annotation_create_account"]["email"] == "owner@example.com"
        assert detail["message_tokens"] == 0
        return
    assert detail["annotation_hit_history"] is None
    prompt = detail["message"]
    assert prompt
    assert prompt[-1]["role"] == "user"
    assert prompt[0] == {"role": "system", "content": "You are a support agent."} or row["conversation_id"] is None
    if row["id"] in done.failed:
        assert detail["status"] == "error"
        assert "Incorrect API key" in detail["error"]
        return
    assert detail["status"] == "normal"
    assert detail["error"] is None
    assert detail["message_tokens"] > 0
    assert detail["answer_tokens"] > 0
    assert Decimal(detail["total_price"]) > 0
    if row["id"] in facts.annotated_messages:
        assert detail["annotation"]["content"] == f"Curated: {row['query'] or row['answer']}"
    else:
        assert detail["annotation"] is None


def _metric(page: str, name: str) -> float:
    (value,) = re.findall(rf"^{name} (\S+)$", page, flags=re.MULTILINE)
    return float(value)


def _annotate_some(owner: Console, app_id: str, ids: list[str], done: Script, every: int) -> None:
    """Builders curate a few answers (annotated logs), and rate a few themselves (admin feedback)."""
    for index, message_id in enumerate(ids):
        if message_id in done.failed or message_id in done.hits:
            continue
        query, answer = done.said[message_id]
        if index % every == 3:
            made = owner.post(
                f"/apps/{app_id}/annotations", json={"message_id": message_id, "answer": f"Curated: {query or answer}"}
            )
            assert made.status_code == 200, made.text
        if index % 40 == 7:
            rated = owner.post(f"/apps/{app_id}/feedbacks", json={"message_id": message_id, "rating": "like"})
            assert rated.status_code == 200, rated.text


def test_a_session_of_1000_messages_is_logged_measured_traced_and_tested(
    chat_owner: Console, models: ScriptedModels, collector: CollectorFake
) -> None:
    owner, client = chat_owner, chat_owner.client
    state = _state(client)
    with state.db.session() as session:
        session.execute(text("UPDATE accounts SET timezone = :tz"), {"tz": TZ})
    chat_headers, chat_id = configured_app(owner, "chat", pre_prompt="You are a support agent.")
    completion_headers, completion_id = configured_app(
        owner,
        "completion",
        pre_prompt="Summarise: {{text}}",
        user_input_form=[{"text-input": {"variable": "text", "label": "Text", "required": True}}],
        dataset_query_variable="text",
    )
    flow_headers, flow_id = _workflow_app(owner)
    _traced(owner, chat_id, "langfuse", collector)
    _traced(owner, completion_id, "otlp", collector)
    _traced(owner, flow_id, "langfuse", collector)
    ((question, reply),) = FAQ.items()
    faq = _post(client, "/apps/annotations", chat_headers, {"question": question, "answer": reply})
    assert faq.status_code == 201, faq.text
    faq_id = faq.json()["id"]
    switched = _post(
        client,
        "/apps/annotation-reply/enable",
        chat_headers,
        {"score_threshold": 0.9, "embedding_provider_name": "scripted", "embedding_model_name": "bow"},
    )
    assert switched.status_code == 200, switched.text

    done = Script()
    _chat_session(client, chat_headers, chat_id, models, done)
    _completion_session(client, completion_headers, completion_id, models, done)
    _workflow_session(client, flow_headers, done)
    assert len(done.chat_messages) + len(done.completion_messages) + len(done.runs) == 1000
    assert len(done.hits) > 10
    assert len(done.failed) > 20
    assert len(done.failed_runs) > 5
    # The model answered every turn but the annotation replies (failed turns reached it too).
    assert len(models.model.requests) == CHAT_TURNS - len(done.hits) + COMPLETIONS

    # (4) Every message and every run reached its collector, with its own id, through the dispatcher.
    langfuse_ids = set(done.chat_messages) | set(done.runs)
    otlp_ids = {m.replace("-", "") for m in done.completion_messages}
    dispatcher = state.extras["tracing"]
    _wait_for(
        lambda: (
            {t["id"] for t in collector.langfuse_of("trace-create")} == langfuse_ids
            and {s["traceId"] for s in collector.otlp_spans.values()} == otlp_ids
            and dispatcher.pending() == 0
        )
    )
    generations = Counter(g["traceId"] for g in collector.langfuse_of("generation-create"))
    assert generations == Counter(set(done.chat_messages) - done.hits)
    assert {e["traceId"] for e in collector.langfuse_of("event-create")} == done.hits
    with state.db.session() as session:
        nodes = Counter(
            session.execute(
                text("SELECT workflow_run_id FROM workflow_node_executions WHERE app_id = :a"), {"a": flow_id}
            ).scalars()
        )
    assert Counter(s["traceId"] for s in collector.langfuse_of("span-create")) == nodes
    assert sum(nodes.values()) == 3 * RUNS - len(done.failed_runs)  # a failed run never reaches its end node
    assert Counter(s["traceId"] for s in collector.otlp_spans.values()) == Counter(2 * sorted(otlp_ids))
    assert collector.problems == []

    # The dispatcher's counters on /metrics tell the same story: nothing retried, spilled or lost.
    page = client.get("/metrics").text
    assert _metric(page, "loomworks_tracing_submitted_total") == 1000
    items = len(collector.langfuse_events) + len(collector.otlp_spans)
    assert _metric(page, "loomworks_tracing_sent_items_total") == items
    assert _metric(page, "loomworks_tracing_sent_requests_total") >= 1
    for idle in ("retries", "spilled", "rejected_items", "failed_requests", "skipped"):
        assert _metric(page, f"loomworks_tracing_{idle}_total") == 0, idle
    assert _metric(page, "loomworks_tracing_queue_depth") == 0
    assert _metric(page, "loomworks_tracing_outbox_rows") == 0

    _annotate_some(owner, chat_id, done.chat_messages, done, every=25)
    _annotate_some(owner, completion_id, done.completion_messages, done, every=20)
    _spread_over_three_days(client, [chat_id, completion_id, flow_id])
    now = datetime.now(UTC)

    # (1) The logs: every conversation and message with its trace, and filters that return exact subsets.
    chat = _facts(client, chat_id)
    assert {m["id"] for m in chat.messages} == set(done.chat_messages)
    turns: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in sorted(chat.messages, key=lambda m: m["created_at"]):
        turns[m["conversation_id"]].append(m)
    listed = _all_pages(owner, f"/apps/{chat_id}/chat-conversations")
    assert {c["id"] for c in listed} == set(chat.conversations) == set(turns)
    for row in listed:
        messages = turns[row["id"]]
        assert row["message_count"] == len(messages)
        assert row["from_end_user_session_id"] == chat.sessions[messages[0]["from_end_user_id"]]
        assert row["annotated"] == any(m["id"] in chat.annotated_messages for m in messages)
        assert row["user_feedback_stats"] == {
            "like": sum(chat.likes(m["id"], source="user") for m in messages),
            "dislike": sum(chat.likes(m["id"], source="user", rating="dislike") for m in messages),
        }
        assert row["admin_feedback_stats"]["like"] == sum(chat.likes(m["id"], source="admin") for m in messages)
        details = owner.get(f"/apps/{chat_id}/chat-messages", params={"conversation_id": row["id"], "limit": 100})
        shown = details.json()["data"]
        assert [d["id"] for d in shown] == [m["id"] for m in messages]
        for detail, message in zip(shown, messages, strict=True):
            _check_message(detail, message, chat, done, faq_id)
    for params, expected in _filter_cases(chat, turns, now):
        got = {c["id"] for c in _all_pages(owner, f"/apps/{chat_id}/chat-conversations", **params)}
        assert got == expected, params

    text_app = _facts(client, completion_id)
    singles = {m["id"]: [m] for m in text_app.messages}
    listed = _all_pages(owner, f"/apps/{completion_id}/completion-conversations")
    newest_first = sorted(text_app.messages, key=lambda m: (-m["created_at"].timestamp(), m["id"]))
    assert [c["id"] for c in listed] == [m["id"] for m in newest_first]
    assert {c["id"] for c in listed} == set(done.completion_messages)
    for row in listed:
        _check_message(row["message"], singles[row["id"]][0], text_app, done, faq_id)
        assert row["annotated"] == (row["id"] in text_app.annotated_messages)
    for params, expected in _filter_cases(text_app, singles, now):
        got = {c["id"] for c in _all_pages(owner, f"/apps/{completion_id}/completion-conversations", **params)}
        assert got == expected, params

    _check_workflow_logs(owner, client, flow_id, done, now)

    # (2) The monitoring numbers are the database's, day by day (in the account's time zone).
    for app_id, facts in ((chat_id, chat), (completion_id, text_app)):
        expected = _expected_statistics(facts)
        assert len(expected["daily-messages"]) == 3
        for kind, rows in expected.items():
            shown = owner.get(f"/apps/{app_id}/statistics/{kind}")
            assert shown.status_code == 200, shown.text
            _same_rows(shown.json()["data"], rows, kind)
        start, start_utc = _minute(now - timedelta(hours=30))
        recent = Facts(
            [m for m in facts.messages if m["created_at"] >= start_utc], {}, facts.feedback, set(), facts.sessions
        )
        for kind, rows in _expected_statistics(recent).items():
            shown = owner.get(
                f"/apps/{app_id}/statistics/{kind}", params={"start": start, "end": _local(now + timedelta(minutes=2))}
            )
            _same_rows(shown.json()["data"], rows, f"{kind} since {start}")

    # (3) Annotation reply answers a matching question without calling the model, and records the hit.
    calls = len(models.model.requests)
    asked = _post(
        client,
        "/chat-messages",
        chat_headers,
        {"query": "How do I reset my PASSWORD?", "inputs": {}, "user": "user-9", "auto_generate_name": False},
    )
    assert asked.status_code == 200, asked.text
    assert asked.json()["answer"] == reply
    assert asked.json()["metadata"]["annotation_reply"]["id"] == faq_id
    assert len(models.model.requests) == calls
    hits = owner.get(f"/apps/{chat_id}/annotations/{faq_id}/hit-histories", params={"limit": 100}).json()
    assert hits["total"] == len(done.hits) + 1
    assert hits["data"][0]["question"] == "How do I reset my PASSWORD?"
    assert hits["data"][0]["score"] == pytest.approx(1.0)
    _wait_for(lambda: asked.json()["id"] in {e["traceId"] for e in collector.langfuse_of("event-create")})

    # (5) The text app's regression tests pass; a broken prompt makes them fail, as regressions.
    _check_regression_tests(owner, completion_id, models)


def _check_workflow_logs(owner: Console, client: TestClient, flow_id: str, done: Script, now: datetime) -> None:
    path = f"/apps/{flow_id}/workflow-app-logs"
    logs = _all_pages(owner, path)
    assert [log["workflow_run"]["id"] for log in logs] != []
    assert {log["workflow_run"]["id"] for log in logs} == set(done.runs)
    with _state(client).db.session() as session:
        made = {
            rid: (_utc(at), who)
            for rid, at, who in session.execute(
                text(
                    "SELECT l.workflow_run_id, l.created_at, u.session_id FROM workflow_app_logs l"
                    " JOIN end_users u ON u.id = l.created_by WHERE l.app_id = :a"
                ),
                {"a": flow_id},
            )
        }
    after, before = now - timedelta(hours=36), now - timedelta(hours=12)
    cases = [
        ({"status": "failed"}, done.failed_runs),
        ({"status": "succeeded"}, set(done.runs) - done.failed_runs),
        ({"keyword": "refund"}, {rid for rid, inputs in done.run_inputs.items() if "refund" in inputs["topic"]}),
        ({"created_by_end_user_session_id": "user-1"}, {rid for rid, (_, who) in made.items() if who == "user-1"}),
        (
            {"created_at__after": after.isoformat(), "created_at__before": before.isoformat()},
            {rid for rid, (at, _) in made.items() if after <= at < before},
        ),
    ]
    for params, expected in cases:
        assert 0 < len(expected) < RUNS, params
        assert {log["workflow_run"]["id"] for log in _all_pages(owner, path, **params)} == expected, params
    for log in logs:
        run = log["workflow_run"]
        assert log["created_by_end_user"]["session_id"] == made[run["id"]][1]
        inputs = done.run_inputs[run["id"]]
        nodes = owner.get(f"/apps/{flow_id}/workflow-runs/{run['id']}/node-executions").json()["data"]
        if run["id"] in done.failed_runs:
            assert run["status"] == "failed"
            assert "ZeroDivisionError" in run["error"]
            assert [(n["node_id"], n["status"]) for n in nodes] == [("start", "succeeded"), ("render", "failed")]
        else:
            assert run["status"] == "succeeded"
            assert run["total_steps"] == 3
            assert [(n["node_id"], n["status"]) for n in nodes] == [
                (k, "succeeded") for k in ("start", "render", "end")
            ]
            assert nodes[1]["outputs"] == {"output": f"{inputs['topic']}: {100 // inputs['n']}"}


def _check_regression_tests(owner: Console, app_id: str, models: ScriptedModels) -> None:
    url = f"/apps/{app_id}/tests"
    cases = [
        {
            "name": "summarises",
            "inputs": {"text": "the tides"},
            "assertions": [
                {"type": "equals", "value": "Echo: Summarise: the tides"},
                {"type": "max_tokens", "tokens": 200},
            ],
        },
        {
            "name": "keeps the topic",
            "inputs": {"text": "the moon"},
            "assertions": [{"type": "regex", "pattern": "^Echo: Summarise: "}, {"type": "contains", "value": "moon"}],
        },
    ]
    for case in cases:
        assert owner.post(f"{url}/cases", json=case).status_code == 201
    calls = len(models.model.requests)
    passed = owner.post(f"{url}/runs", json={}).json()
    assert passed["status"] == "passed", passed
    assert len(models.model.requests) == calls + len(cases)

    config = dict(owner.get(f"/apps/{app_id}").json()["model_config"])
    config["pre_prompt"] = "Ignore this: {{text}}"
    assert owner.post(f"/apps/{app_id}/model-config", json=config).status_code == 200
    broken = owner.post(f"{url}/runs", json={}).json()
    assert broken["status"] == "failed"
    assert set(broken["regressions"]) == {"summarises", "keeps the topic"}
    assert not any(result["passed"] for result in broken["results"])
