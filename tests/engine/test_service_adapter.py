"""The service adapter: implements the run service's engine port and compiles each version once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from loomworks.services.workflow_engine import WorkflowEngineRunner
from loomworks.store.tables import Workflow
from tests.engine._graphs import chain, end, graph, node, start, template


def _workflow(kind: str = "workflow", text: str = "Hi {{ n }}") -> Workflow:
    raw = graph(
        [start("n"), template("t", text, n=["start", "n"]), end(out=["t", "output"])], chain("start", "t", "end")
    )
    if kind == "chat":
        raw = graph([start(), node("a", "answer", answer="{{#sys.query#}} {{#conversation.c#}}")], chain("start", "a"))
    return Workflow(
        id="wf-1",
        tenant_id="t",
        app_id="a",
        type=kind,
        version="draft",
        graph=raw,
        features={},
        environment_variables=[],
        conversation_variables=[{"name": "c", "value_type": "string", "value": "d"}],
        unique_hash="h1",
        updated_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


async def test_runs_and_caches_the_compiled_graph() -> None:
    runner = WorkflowEngineRunner()
    workflow = _workflow()
    events = [
        e
        async for e in runner.run(
            tenant_id="t",
            app_id="a",
            workflow=workflow,
            run_id="r1",
            inputs={"n": "Ada"},
            system={"user_id": "u"},
            stop=asyncio.Event(),
        )
    ]
    assert events[0]["event"] == "workflow_started"
    assert events[0]["data"]["id"] == "r1"
    assert events[-1]["data"]["outputs"] == {"out": "Hi Ada"}
    assert runner.compiled(workflow) is runner.compiled(workflow)
    changed = _workflow(text="Bye {{ n }}")
    changed.unique_hash = "h2"
    assert runner.compiled(changed) is not runner.compiled(workflow)


async def test_chatflow_mode_and_conversation_values() -> None:
    runner = WorkflowEngineRunner()
    events = [
        e
        async for e in runner.run(
            tenant_id="t",
            app_id="a",
            workflow=_workflow("chat"),
            run_id="r",
            inputs={},
            system={"query": "q", "conversation_variables": {"c": "v"}},
            stop=asyncio.Event(),
        )
    ]
    assert "".join(e["data"]["answer"] for e in events if e["event"] == "message") == "q v"
