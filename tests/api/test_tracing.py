"""Tracing export: per-app settings (sealed, masked), and every run reaching Langfuse, LangSmith and OTLP.

The collectors are real HTTP servers on 127.0.0.1 (`tests/fakes/collectors.py`) that check each
payload's shape; loopback is allowed through the SSRF client's own settings.
"""

from __future__ import annotations

import json
import shutil
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from loomworks.api.app import build_state, create_app
from loomworks.api.deps import ServerState
from loomworks.core.config import Settings
from loomworks.services.tracing import EXPORTERS, DispatchOptions, TraceDispatcher, workflow_trace
from loomworks.services.tracing.config import destination
from loomworks.store.tables import TraceConfig, TraceOutbox
from tests._console import OWNER_EMAIL, OWNER_PASSWORD, Console
from tests._fake_engine import PassThroughEngine
from tests._scripted_model import ScriptedModels, ScriptedSpeech, configured_app, scripted_embed, sse_events
from tests.fakes.collectors import CollectorFake, attributes, collector_fake

GRAPH = {
    "nodes": [
        {
            "id": "start",
            "data": {
                "type": "start",
                "title": "Start",
                "variables": [{"variable": "topic", "label": "Topic", "type": "text-input", "required": True}],
            },
        },
        {
            "id": "end",
            "data": {
                "type": "end",
                "title": "End",
                "outputs": [{"variable": "result", "value_selector": ["start", "topic"]}],
            },
        },
    ],
    "edges": [{"id": "e1", "source": "start", "target": "end", "sourceHandle": "source", "targetHandle": "target"}],
}
FAST = DispatchOptions(backoff_seconds=0.02, max_attempts=2, outbox_poll_seconds=0.1, drain_seconds=1.0)


def _settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key="test-secret-key-of-enough-length-0123456789",
        migrate_on_start=False,
        log_json=False,
        ssrf_allow_private_networks="127.0.0.0/8",
    )


@pytest.fixture
def traced_settings(tmp_path: Path, database_url: str) -> Settings:
    """On SQLite and PostgreSQL: for the tests that exercise the outbox table."""
    return _settings(tmp_path, database_url)


@pytest.fixture
def sqlite_settings(tmp_path: Path, sqlite_template: Path) -> Settings:
    """SQLite only: the export path does not depend on the database (keeps the module fast)."""
    target = tmp_path / "db" / "loomworks.db"
    target.parent.mkdir()
    shutil.copy(sqlite_template, target)
    return _settings(tmp_path, f"sqlite:///{target}")


@pytest.fixture
def collector() -> Iterator[CollectorFake]:
    with collector_fake() as fake:
        yield fake


@dataclass
class Server:
    owner: Console
    state: ServerState

    @property
    def client(self) -> TestClient:
        return self.owner.client

    @property
    def dispatcher(self) -> TraceDispatcher:
        return self.state.extras["tracing"]


def _state(settings: Settings, options: DispatchOptions) -> ServerState:
    state = build_state(
        settings, models=ScriptedModels(), speech=ScriptedSpeech(), embed=scripted_embed, engine=PassThroughEngine()
    )
    state.extras["tracing"].options = options
    return state


@contextmanager
def serve(settings: Settings, options: DispatchOptions = FAST, *, setup: bool = True) -> Iterator[Server]:
    state = _state(settings, options)
    with TestClient(create_app(settings, state=state)) as client:
        owner = Console(client, OWNER_EMAIL, OWNER_PASSWORD)
        if setup:  # a restarted server (setup=False) needs no console user: it only has to deliver
            client.post("/console/api/setup", json={"email": OWNER_EMAIL, "name": "Owner", "password": OWNER_PASSWORD})
            owner.login()
        yield Server(owner, state)


@pytest.fixture
def server(sqlite_settings: Settings) -> Iterator[Server]:
    with serve(sqlite_settings) as running:
        yield running


def provider_config(provider: str, fake: CollectorFake) -> dict[str, Any]:
    if provider == "langfuse":
        public, secret = fake.langfuse_keys
        return {"public_key": public, "secret_key": secret, "host": fake.base_url}
    if provider == "langsmith":
        return {"api_key": fake.langsmith_key, "project": "loom-tests", "endpoint": fake.base_url}
    name, value = fake.otlp_header
    return {"endpoint": fake.base_url, "headers": {name: value}}


def secrets_of(fake: CollectorFake) -> list[str]:
    return [*fake.langfuse_keys, fake.langsmith_key, fake.otlp_header[1]]


def enable(owner: Console, app_id: str, provider: str, fake: CollectorFake) -> None:
    created = owner.post(
        f"/apps/{app_id}/trace-config",
        json={"tracing_provider": provider, "tracing_config": provider_config(provider, fake)},
    )
    assert created.status_code == 200, created.text
    switched = owner.post(f"/apps/{app_id}/trace", json={"enabled": True, "tracing_provider": provider})
    assert switched.json() == {"result": "success"}


def workflow_app(owner: Console) -> tuple[dict[str, str], str]:
    app = owner.create_app("Flow", "workflow")
    draft = owner.get(f"/apps/{app['id']}/workflows/draft").json()
    owner.post(f"/apps/{app['id']}/workflows/draft", json={"graph": GRAPH, "features": {}, "hash": draft["hash"]})
    owner.post(f"/apps/{app['id']}/workflows/publish", json={"marked_name": "v1"})
    return {"Authorization": f"Bearer {owner.create_key(app['id'])}"}, app["id"]


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the collector")
        time.sleep(0.02)


def chat(client: TestClient, headers: dict[str, str], query: str, *, stream: bool = False, **extra: Any) -> dict:
    body = {"query": query, "inputs": {}, "user": "alice", "auto_generate_name": False, **extra}
    if not stream:
        response = client.post("/v1/chat-messages", headers=headers, json=body)
        assert response.status_code == 200, response.text
        return response.json()
    events = sse_events(client.post("/v1/chat-messages", headers=headers, json={**body, "response_mode": "streaming"}))
    end = events[-1]
    assert end["event"] == "message_end", events
    answer = "".join(e["answer"] for e in events if e["event"] == "message")
    return {"id": end["id"], "conversation_id": end["conversation_id"], "answer": answer, "metadata": end["metadata"]}


def outbox_rows(state: ServerState) -> int:
    with state.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(TraceOutbox)) or 0)


# -- settings ---------------------------------------------------------------------------------------


def test_trace_settings_are_sealed_masked_and_checked(server: Server, collector: CollectorFake) -> None:
    owner = server.owner
    _, app_id = configured_app(owner)
    assert owner.get(f"/apps/{app_id}/trace").json() == {"enabled": False, "tracing_provider": None}
    assert owner.get(f"/apps/{app_id}/trace-config", params={"tracing_provider": "langfuse"}).json() == {
        "has_not_configured": True
    }
    for provider in ("langfuse", "langsmith", "otlp"):
        enable(owner, app_id, provider, collector)
    assert owner.get(f"/apps/{app_id}/trace").json() == {"enabled": True, "tracing_provider": "otlp"}

    shown = {
        p: owner.get(f"/apps/{app_id}/trace-config", params={"tracing_provider": p}).json()
        for p in ("langfuse", "langsmith", "otlp")
    }
    text = json.dumps(shown)
    assert not any(secret in text for secret in secrets_of(collector))
    assert shown["langfuse"]["tracing_config"]["host"] == collector.base_url
    assert shown["langfuse"]["tracing_config"]["secret_key"].startswith("sk-lf-")
    assert "*" * 12 in shown["langfuse"]["tracing_config"]["secret_key"]
    assert shown["langsmith"]["tracing_config"]["project"] == "loom-tests"
    assert shown["otlp"]["tracing_config"]["headers"]["authorization"].startswith("Bearer")
    assert shown["otlp"]["is_active"] is True
    assert shown["otlp"]["app_id"] == app_id
    with server.state.db.session() as session:
        stored = json.dumps([[r.tracing_config, r.sealed] for r in session.scalars(select(TraceConfig))])
    assert not any(secret in stored for secret in secrets_of(collector))
    assert stored.count("lw1:") == 4  # langfuse's two keys, langsmith's key, otlp's headers

    # A masked secret sent back keeps the stored one; a changed field is saved.
    patched = owner.patch(
        f"/apps/{app_id}/trace-config",
        json={
            "tracing_provider": "langsmith",
            "tracing_config": {**shown["langsmith"]["tracing_config"], "project": "p2"},
        },
    )
    assert patched.json() == {"result": "success"}
    with server.state.db.session() as session:
        opened = destination(session, server.state.keyring, app_id=app_id, provider="langsmith")
    assert opened is not None
    assert opened.config["api_key"] == collector.langsmith_key
    assert opened.config["project"] == "p2"

    errors = [
        owner.post(
            f"/apps/{app_id}/trace-config",
            json={"tracing_provider": "otlp", "tracing_config": provider_config("otlp", collector)},
        ),
        owner.post(f"/apps/{app_id}/trace-config", json={"tracing_provider": "nope", "tracing_config": {}}),
        owner.patch(
            f"/apps/{app_id}/trace-config", json={"tracing_provider": "otlp", "tracing_config": {"endpoint": ""}}
        ),
        owner.post(f"/apps/{app_id}/trace", json={"enabled": True, "tracing_provider": "nope"}),
    ]
    assert [(r.status_code, r.json()["code"]) for r in errors] == [
        (400, "trace_config_is_exist"),
        (400, "invalid_param"),
        (400, "invalid_param"),
        (400, "invalid_param"),
    ]
    _, other_id = configured_app(owner, "completion")
    blocked = owner.post(
        f"/apps/{other_id}/trace-config",
        json={"tracing_provider": "otlp", "tracing_config": {"endpoint": "http://169.254.169.254/latest"}},
    )
    assert blocked.status_code == 400, blocked.text
    assert "metadata" in blocked.json()["message"]
    assert owner.delete(f"/apps/{app_id}/trace-config", params={"tracing_provider": "otlp"}).status_code == 204
    gone = owner.delete(f"/apps/{app_id}/trace-config", params={"tracing_provider": "otlp"})
    assert gone.json()["code"] == "trace_config_not_exist"
    assert owner.get("/apps/00000000-0000-0000-0000-000000000000/trace").status_code == 404


# -- every run reaches the collector ----------------------------------------------------------------


@pytest.mark.parametrize("provider", ["langfuse", "langsmith", "otlp"])
def test_chat_messages_and_workflow_runs_reach_the_collector(
    server: Server, collector: CollectorFake, provider: str
) -> None:
    owner, client = server.owner, server.client
    headers, app_id = configured_app(owner)
    enable(owner, app_id, provider, collector)
    first = chat(client, headers, "hello there")
    answers = [
        first,
        chat(client, headers, "tell me more", conversation_id=first["conversation_id"]),
        chat(client, headers, "streamed one", stream=True, conversation_id=first["conversation_id"]),
        chat(client, headers, "fresh start", stream=True),
    ]
    flow_headers, flow_id = workflow_app(owner)
    enable(owner, flow_id, provider, collector)
    run = client.post("/v1/workflows/run", headers=flow_headers, json={"inputs": {"topic": "tides"}, "user": "u"})
    assert run.status_code == 200, run.text
    run_id = run.json()["workflow_run_id"]
    by_id = {a["id"]: a for a in answers}

    if provider == "langfuse":
        wait_for(lambda: len(collector.langfuse_events) >= 2 * len(answers) + 3)
        traces = {t["id"]: t for t in collector.langfuse_of("trace-create")}
        assert set(traces) == {*by_id, run_id}
        generations = {g["traceId"]: g for g in collector.langfuse_of("generation-create")}
        assert set(generations) == set(by_id)
        for message_id, answer in by_id.items():
            usage, gen, trace = answer["metadata"]["usage"], generations[message_id], traces[message_id]
            assert trace["sessionId"] == answer["conversation_id"]
            assert trace["output"] == {"answer": answer["answer"]}
            assert gen["model"] == "echo-1"
            assert gen["metadata"]["provider"] == "scripted"
            assert gen["usageDetails"] == {
                "input": usage["prompt_tokens"],
                "output": usage["completion_tokens"],
                "total": usage["total_tokens"],
            }
            assert gen["costDetails"]["total"] == pytest.approx(float(usage["total_price"]))
            assert gen["input"][-1]["role"] == "user"
            assert gen["output"]["content"] == answer["answer"]
            assert gen["startTime"] <= gen["endTime"]
        nodes = [s for s in collector.langfuse_of("span-create") if s["traceId"] == run_id]
        assert sorted(n["name"] for n in nodes) == ["End", "Start"]
        assert traces[run_id]["output"] == {"result": "tides"}
        assert traces[run_id]["metadata"]["status"] == "succeeded"
    elif provider == "langsmith":
        wait_for(lambda: len(collector.langsmith_runs) >= 2 * len(answers) + 3)
        runs = collector.langsmith_runs
        assert collector.langsmith_projects == {"loom-tests"}
        for message_id, answer in by_id.items():
            root = runs[message_id]
            assert (root["run_type"], root["parent_run_id"], root["trace_id"]) == ("chain", None, message_id)
            (llm,) = [r for r in runs.values() if r["parent_run_id"] == message_id]
            usage = answer["metadata"]["usage"]
            assert llm["run_type"] == "llm"
            assert llm["dotted_order"].startswith(root["dotted_order"] + ".")
            assert llm["extra"]["metadata"]["ls_model_name"] == "echo-1"
            assert llm["outputs"]["usage_metadata"]["input_tokens"] == usage["prompt_tokens"]
            assert llm["outputs"]["usage_metadata"]["output_tokens"] == usage["completion_tokens"]
            assert llm["outputs"]["usage_metadata"]["total_cost"] == pytest.approx(float(usage["total_price"]))
            assert llm["inputs"]["messages"][-1]["role"] == "user"
        assert runs[run_id]["outputs"] == {"result": "tides"}
        assert sorted(r["name"] for r in runs.values() if r["parent_run_id"] == run_id) == ["End", "Start"]
    else:
        wait_for(lambda: len(collector.otlp_spans) >= 2 * len(answers) + 3)
        spans = list(collector.otlp_spans.values())
        assert {r["attributes"][0]["value"]["stringValue"] for r in collector.otlp_resources} == {"loomworks"}
        for message_id, answer in by_id.items():
            trace_id = message_id.replace("-", "")
            mine = [s for s in spans if s["traceId"] == trace_id]
            (root,) = [s for s in mine if "parentSpanId" not in s]
            (llm,) = [s for s in mine if s.get("parentSpanId") == root["spanId"]]
            values, usage = attributes(llm), answer["metadata"]["usage"]
            assert values["gen_ai.request.model"] == "echo-1"
            assert values["gen_ai.provider.name"] == "scripted"
            assert values["gen_ai.operation.name"] == "chat"
            assert values["gen_ai.usage.input_tokens"] == usage["prompt_tokens"]
            assert values["gen_ai.usage.output_tokens"] == usage["completion_tokens"]
            assert attributes(root)["gen_ai.conversation.id"] == answer["conversation_id"]
            assert llm["kind"] == 3
            assert llm["status"] == {"code": 1}
        flow = [s for s in spans if s["traceId"] == run_id.replace("-", "")]
        assert sorted(s["name"] for s in flow) == ["End", "Start", "workflow"]
    assert collector.problems == []
    assert not any(secret in body for body in collector.bodies for secret in secrets_of(collector))


def test_annotation_reply_and_failed_turns_are_traced(server: Server, collector: CollectorFake) -> None:
    owner, client = server.owner, server.client
    headers, app_id = configured_app(owner)
    enable(owner, app_id, "langfuse", collector)
    server.state.extras["chat"].resolver.model.fail_before = True
    failed = client.post("/v1/chat-messages", headers=headers, json={"query": "boom", "inputs": {}, "user": "u"})
    assert failed.status_code == 400
    wait_for(lambda: len(collector.langfuse_of("generation-create")) == 1)
    (trace,) = collector.langfuse_of("trace-create")
    (generation,) = collector.langfuse_of("generation-create")
    assert trace["metadata"]["status"] == "error"
    assert "Incorrect API key" in trace["metadata"]["error"]
    assert generation["level"] == "ERROR"

    server.state.extras["chat"].resolver.model.fail_before = False
    created = client.post(
        "/v1/apps/annotations", headers=headers, json={"question": "Do you ship abroad?", "answer": "Yes, to 40."}
    )
    assert created.status_code == 201, created.text
    client.post(
        "/v1/apps/annotation-reply/enable",
        headers=headers,
        json={"score_threshold": 0.9, "embedding_provider_name": "scripted", "embedding_model_name": "bow"},
    )
    hit = chat(client, headers, "do you SHIP abroad")
    assert hit["answer"] == "Yes, to 40."
    wait_for(lambda: len(collector.langfuse_of("event-create")) == 1)
    (event,) = collector.langfuse_of("event-create")
    assert event["traceId"] == hit["id"]
    assert event["metadata"]["annotation_reply"]["id"] == created.json()["id"]
    assert [g["traceId"] for g in collector.langfuse_of("generation-create")] == [trace["id"]]  # no model call
    assert collector.problems == []


# -- back-pressure and failures ---------------------------------------------------------------------


def test_a_failing_collector_that_recovers_still_gets_every_trace(server: Server, collector: CollectorFake) -> None:
    owner, client = server.owner, server.client
    headers, app_id = configured_app(owner)
    enable(owner, app_id, "langfuse", collector)
    collector.fail_first = 8  # more than the in-memory attempts: some traces go through the outbox
    collector.partial_errors = 3  # and some batches lose one event with a 500
    ids = [chat(client, headers, f"question {n}")["id"] for n in range(6)]
    wait_for(lambda: {t["id"] for t in collector.langfuse_of("trace-create")} == set(ids))
    wait_for(lambda: len(collector.langfuse_of("generation-create")) == len(ids))
    wait_for(lambda: outbox_rows(server.state) == 0 and server.dispatcher.pending() == 0)
    stats = server.dispatcher.stats
    assert collector.failed == 8
    assert stats.retries > 0
    assert stats.spilled > 0
    assert stats.from_outbox > 0
    assert collector.problems == []
    assert stats.rejected_items == 0


def test_a_slow_collector_does_not_slow_the_answers(server: Server, collector: CollectorFake) -> None:
    owner, client = server.owner, server.client
    plain_headers, _ = configured_app(owner)
    traced_headers, app_id = configured_app(owner)
    enable(owner, app_id, "otlp", collector)
    collector.delay = 0.5

    def latency(headers: dict[str, str]) -> float:
        started = time.perf_counter()
        chat(client, headers, "how fast")
        return time.perf_counter() - started

    for headers in (plain_headers, traced_headers):
        latency(headers)  # warm the caches
    plain = statistics.median(latency(plain_headers) for _ in range(6))
    traced = statistics.median(latency(traced_headers) for _ in range(6))
    # An export on the answer's path would add the collector's 0.5 s to every traced answer.
    assert traced < plain + 0.05, (plain, traced)
    wait_for(lambda: len({s["traceId"] for s in collector.otlp_spans.values()}) == 7)


def test_a_full_queue_spills_to_the_outbox_and_a_restart_delivers_it(
    traced_settings: Settings, collector: CollectorFake
) -> None:
    tight = DispatchOptions(max_queue=1, workers=1, backoff_seconds=0.02, max_attempts=2, drain_seconds=0.2)
    collector.fail_first = 10_000
    collector.delay = 0.05
    with serve(traced_settings, tight) as first:
        headers, app_id = configured_app(first.owner)
        enable(first.owner, app_id, "langsmith", collector)
        ids = [chat(first.client, headers, f"q{n}")["id"] for n in range(5)]
        assert first.dispatcher.stats.spilled > 0
    assert outbox_rows(first.state) >= 1
    assert not set(ids) & set(collector.langsmith_runs)

    collector.fail_first, collector.delay = 0, 0.0
    with serve(traced_settings, FAST, setup=False) as second:
        wait_for(lambda: set(ids) <= set(collector.langsmith_runs))
        wait_for(lambda: outbox_rows(second.state) == 0)
    assert collector.problems == []


# -- encoding of workflow node kinds ----------------------------------------------------------------


def test_workflow_llm_tool_and_iteration_nodes_map_to_each_format() -> None:
    end = time.time()
    nodes = [
        ({"id": "e-it", "node_id": "loop1", "node_type": "iteration", "title": "Each", "elapsed_time": 0.3}, end),
        (
            {
                "id": "e-llm",
                "node_id": "llm1",
                "node_type": "llm",
                "title": "Write",
                "elapsed_time": 0.2,
                "execution_metadata": {"iteration_id": "loop1", "total_tokens": 30, "total_price": "0.003"},
                "process_data": {"model_provider": "openai", "model_name": "gpt-4o", "prompts": [{"role": "user"}]},
                "outputs": {"text": "hi", "usage": {"prompt_tokens": 20, "completion_tokens": 10, "total_tokens": 30}},
            },
            end - 0.05,
        ),
        ({"id": "e-tool", "node_id": "t1", "node_type": "tool", "title": "Search", "elapsed_time": 0.1}, end),
    ]
    trace = workflow_trace(
        app_id="a",
        tenant_id="t",
        run_id="5c1c3c5e-2f55-4d8e-9d0c-1f5f0f3f6a11",
        workflow_id="w",
        inputs={"q": 1},
        finished={"status": "failed", "error": "tool broke", "outputs": None},
        nodes=nodes,
        started=end - 1,
        ended=end,
        user_id="u",
        invoke_from="service-api",
    )
    _, iteration, llm, tool = trace.spans
    assert llm.parent_id == iteration.id
    assert tool.parent_id is None
    assert (llm.kind, llm.model, llm.usage and llm.usage.input_tokens) == ("llm", "gpt-4o", 20)

    langfuse = EXPORTERS["langfuse"].encode(trace, {})
    kinds = {e["body"].get("name"): e["type"] for e in langfuse}
    assert kinds == {
        "workflow": "trace-create",
        "Each": "span-create",
        "Write": "generation-create",
        "Search": "span-create",
    }
    (generation,) = [e["body"] for e in langfuse if e["type"] == "generation-create"]
    assert generation["parentObservationId"] == iteration.id
    assert generation["usageDetails"] == {"input": 20, "output": 10, "total": 30}

    runs = {r["name"]: r for r in EXPORTERS["langsmith"].encode(trace, {"project": "p"})}
    assert runs["Write"]["run_type"] == "llm"
    assert runs["Search"]["run_type"] == "tool"
    assert runs["Write"]["dotted_order"].startswith(runs["Each"]["dotted_order"] + ".")
    assert runs["workflow"]["error"] == "tool broke"

    spans = {s["name"]: s for s in EXPORTERS["otlp"].encode(trace, {})}
    assert attributes(spans["Search"])["gen_ai.operation.name"] == "execute_tool"
    assert attributes(spans["Write"])["gen_ai.usage.output_tokens"] == 10
    assert spans["Write"]["parentSpanId"] == spans["Each"]["spanId"]
    assert spans["workflow"]["status"] == {"code": 2, "message": "tool broke"}
