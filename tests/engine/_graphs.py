"""Terse graph builders and a runner helper for the engine's scenario tables."""

from __future__ import annotations

import asyncio
from typing import Any

from loomworks.engine import Limits, Ports, RunContext, WorkflowEngine, compile_graph


def node(node_id: str, kind: str, parent: str | None = None, **data: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {"id": node_id, "type": "custom", "data": {"type": kind, "title": node_id, **data}}
    if parent:
        raw["parentId"] = parent
        raw["data"]["isInIteration"] = True
        raw["data"]["iteration_id"] = parent
    return raw


def edge(source: str, target: str, handle: str = "source") -> dict[str, Any]:
    return {
        "id": f"{source}-{handle}-{target}",
        "source": source,
        "target": target,
        "sourceHandle": handle,
        "targetHandle": "target",
    }


def chain(*ids: str) -> list[dict[str, Any]]:
    return [edge(a, b) for a, b in zip(ids, ids[1:], strict=False)]


def graph(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> dict[str, Any]:
    return {"nodes": nodes, "edges": edges}


def start(*variables: str) -> dict[str, Any]:
    return node("start", "start", variables=[{"variable": v, "label": v, "type": "text-input"} for v in variables])


def end(**outputs: list[str]) -> dict[str, Any]:
    return node("end", "end", outputs=[{"variable": k, "value_selector": v} for k, v in outputs.items()])


def template(node_id: str, text: str, **variables: list[str]) -> dict[str, Any]:
    return node(
        node_id,
        "template-transform",
        template=text,
        variables=[{"variable": k, "value_selector": v} for k, v in variables.items()],
    )


async def collect(
    raw: dict[str, Any],
    inputs: dict[str, Any] | None = None,
    *,
    ports: Ports | None = None,
    limits: Limits | None = None,
    mode: str = "workflow",
    stop: asyncio.Event | None = None,
    system: dict[str, Any] | None = None,
    **context: Any,
) -> list[dict[str, Any]]:
    engine = WorkflowEngine(ports, limits)
    compiled = compile_graph(raw, mode=mode)
    ctx = RunContext(
        run_id="run-1", workflow_id="wf-1", tenant_id="t-1", app_id="app-1", system=system or {}, **context
    )
    return [e async for e in engine.run(compiled, inputs=inputs or {}, context=ctx, stop=stop)]


def names(events: list[dict[str, Any]]) -> list[str]:
    """`event` or `event:node_id` for node events, for comparing event sequences."""
    out = []
    for e in events:
        data = e["data"]
        if e["event"] in ("node_started", "node_finished", "node_retry"):
            out.append(f"{e['event']}:{data['node_id']}")
        else:
            out.append(e["event"])
    return out


def finished(events: list[dict[str, Any]]) -> dict[str, Any]:
    assert events[-1]["event"] == "workflow_finished"
    return events[-1]["data"]


def node_data(events: list[dict[str, Any]], node_id: str, event: str = "node_finished") -> dict[str, Any]:
    return next(e["data"] for e in events if e["event"] == event and e["data"].get("node_id") == node_id)


def ran(events: list[dict[str, Any]]) -> list[str]:
    return [e["data"]["node_id"] for e in events if e["event"] == "node_finished"]
