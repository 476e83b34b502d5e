"""The workflow engine bound to the service port `EngineRunner` (see `workflow_runs.py`).

Compiles each workflow version once — keyed by id, content hash and update time — and runs it
with the ports given at construction (model runtime, sandbox, SSRF-safe HTTP client, tools,
retrieval, files, memory). Conversation variable values may be passed in
`system["conversation_variables"]` (name -> value); they override the DSL defaults. The run's
environment variables, secrets opened, come in `system["environment_variables"]` (the run service
opens them); without it the workflow row's are used with sealed secret values blanked.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Any

from loomworks.engine import Graph, Limits, Ports, Resume, RunContext, WorkflowEngine
from loomworks.services import workflow_secrets
from loomworks.store.tables import Workflow


def engine_mode(workflow: Workflow) -> str:
    """The engine mode of a workflow row: chatflows (`chat`) run as `advanced-chat`."""
    return "advanced-chat" if workflow.type in ("chat", "advanced-chat") else "workflow"


class WorkflowEngineRunner:
    """Implements `EngineRunner` over `loomworks.engine`, with a cache of compiled graphs."""

    def __init__(self, ports: Ports | None = None, limits: Limits | None = None, *, cache_size: int = 256) -> None:
        self.engine = WorkflowEngine(ports, limits)
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[str, str, str, str], Graph] = OrderedDict()

    def compiled(self, workflow: Workflow) -> Graph:
        """The compiled graph of a workflow version (compiled on first use, then cached).

        Raises:
            GraphValidationError: the graph cannot run (a `LoomworksError`, code `invalid_graph`).
        """
        updated = workflow.updated_at.isoformat() if workflow.updated_at is not None else ""
        key = (workflow.id, workflow.unique_hash or "", updated, engine_mode(workflow))
        graph = self._cache.get(key)
        if graph is not None:
            self._cache.move_to_end(key)
            return graph
        graph = self.engine.compile(workflow.graph or {}, mode=engine_mode(workflow))
        self._cache[key] = graph
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return graph

    def _context(
        self, *, tenant_id: str, app_id: str, workflow: Workflow, run_id: str, system: dict[str, Any]
    ) -> RunContext:
        system = dict(system)
        conversation_values = system.pop("conversation_variables", None)
        environment = system.pop("environment_variables", None)
        if environment is None:
            environment = workflow_secrets.opened(
                None, tenant_id=tenant_id, app_id=app_id, variables=workflow.environment_variables
            )
        return RunContext(
            run_id=run_id,
            workflow_id=workflow.id,
            tenant_id=tenant_id,
            app_id=app_id,
            system=system,
            environment=list(environment),
            conversation=list(workflow.conversation_variables or []),
            conversation_values=conversation_values,
        )

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
        resume: Resume | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Run a workflow version; yields Dify's events (see `loomworks.engine.workflow`)."""
        graph = self.compiled(workflow)
        context = self._context(tenant_id=tenant_id, app_id=app_id, workflow=workflow, run_id=run_id, system=system)
        async for event in self.engine.run(graph, inputs=inputs, context=context, stop=stop, resume=resume):
            yield event

    async def run_node(
        self,
        *,
        tenant_id: str,
        app_id: str,
        workflow: Workflow,
        node_id: str,
        values: dict[str, Any],
        system: dict[str, Any],
        stop: asyncio.Event | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Run one node of a workflow version alone (`…/workflows/draft/nodes/{node_id}/run`)."""
        graph = self.compiled(workflow)
        context = self._context(tenant_id=tenant_id, app_id=app_id, workflow=workflow, run_id="", system=system)
        async for event in self.engine.run_node(graph, node_id, values, context=context, stop=stop):
            yield event
