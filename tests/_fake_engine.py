"""A tiny engine for the workflow-run service tests: start → end graphs, outputs copied by selector.

A real implementation of the service's engine port (the full engine has its own test suite).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from loomworks.core.clock import timestamp
from loomworks.core.ids import new_id
from loomworks.store.tables import Workflow


class PassThroughEngine:
    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay

    async def run(
        self,
        *,
        tenant_id: str,
        app_id: str,
        workflow: Workflow,
        run_id: str,
        inputs: dict[str, Any],
        system: dict[str, Any],
        stop: asyncio.Event,
    ) -> AsyncIterator[dict[str, Any]]:
        created = timestamp()
        yield {
            "event": "workflow_started",
            "data": {"id": run_id, "workflow_id": workflow.id, "inputs": inputs, "created_at": created},
        }
        outputs: dict[str, Any] = {}
        status = "succeeded"
        for index, node in enumerate(workflow.graph.get("nodes") or [], start=1):
            data = node.get("data") or {}
            execution = {
                "id": new_id(),
                "node_id": node["id"],
                "node_type": data.get("type"),
                "title": data.get("title", ""),
                "index": index,
                "created_at": timestamp(),
            }
            yield {"event": "node_started", "data": execution}
            if self.delay:
                await asyncio.sleep(self.delay)
            if stop.is_set():
                status = "stopped"
                break
            node_outputs: dict[str, Any] = dict(inputs) if data.get("type") == "start" else {}
            if data.get("type") == "end":
                for item in data.get("outputs") or []:
                    node_outputs[item["variable"]] = inputs.get(item["value_selector"][-1])
                outputs = node_outputs
            yield {
                "event": "node_finished",
                "data": {
                    **execution,
                    "inputs": inputs,
                    "outputs": node_outputs,
                    "status": "succeeded",
                    "elapsed_time": 0.001,
                    "finished_at": timestamp(),
                },
            }
        yield {
            "event": "workflow_finished",
            "data": {
                "id": run_id,
                "workflow_id": workflow.id,
                "status": status,
                "outputs": outputs,
                "error": None,
                "elapsed_time": 0.01,
                "total_tokens": 0,
                "total_steps": len(workflow.graph.get("nodes") or []),
                "created_at": created,
                "finished_at": timestamp(),
                "exceptions_count": 0,
                "files": [],
            },
        }
