"""The engine's public API: compile a graph once, run it many times, resume, rerun, run one node.

`WorkflowEngine.run` is an async generator of Dify events (`{"event": name, "data": {...}}`,
without the request-level `task_id`/`workflow_run_id`), from `workflow_started` to
`workflow_finished`. Chunk events: in workflow mode End outputs streamed from an LLM come as
`text_chunk` (`data{text, from_variable_selector}`, Dify's event as is); in advanced-chat mode
Answer text comes as `message` with `data{answer, from_variable_selector}` — the chat service
flattens `data` into the event and adds `id`/`message_id`/`conversation_id`/`created_at`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from loomworks.engine.graph import Graph, Subgraph, compile_graph
from loomworks.engine.ports import Ports
from loomworks.engine.runner import EventSink, GraphRun, Limits, Replay, RunState
from loomworks.engine.variables import TEMPLATE_PATTERN, VariablePool, selector_of

STOPPED_MESSAGE = "Workflow execution stopped by user."


@dataclass(slots=True)
class Resume:
    """State to resume a run from: finished node records and the variable pool snapshot.

    Attributes:
        finished: `node_finished` event data (or rows with the same keys: `node_id`, `status`,
            `outputs`, `iteration_id`, `loop_id`) of the nodes that already finished, in order.
            Only top-level nodes that succeeded or took an error strategy are replayed; anything
            else runs again, except the rounds of an unfinished top-level iteration whose output
            node was recorded (see `round_replays`).
        pool: a `VariablePool.snapshot()` to restore (conversation variables as last written);
            None rebuilds the pool from the replayed outputs only.
    """

    finished: list[dict[str, Any]] = field(default_factory=list)
    pool: dict[str, dict[str, Any]] | None = None


@dataclass(slots=True)
class RunContext:
    """Who runs what: ids and values that become `sys.*`, environment and conversation variables."""

    run_id: str = ""
    workflow_id: str = ""
    tenant_id: str = ""
    app_id: str = ""
    system: dict[str, Any] = field(default_factory=dict)
    environment: Iterable[dict[str, Any]] = ()
    conversation: Iterable[dict[str, Any]] = ()
    conversation_values: dict[str, Any] | None = None


class WorkflowEngine:
    """Compiles and runs workflow graphs with the given ports and limits."""

    def __init__(self, ports: Ports | None = None, limits: Limits | None = None) -> None:
        self.ports = ports or Ports()
        self.limits = limits or Limits()

    @staticmethod
    def compile(raw: Mapping[str, Any], *, mode: str = "workflow") -> Graph:
        """Validate and compile a DSL graph (see `compile_graph`)."""
        return compile_graph(raw, mode=mode)

    def _state(self, graph: Graph, context: RunContext, inputs: dict[str, Any]) -> tuple[RunState, VariablePool]:
        system = {
            "user_id": None,
            "app_id": context.app_id,
            "workflow_id": context.workflow_id,
            "workflow_run_id": context.run_id,
            "files": [],
            **context.system,
        }
        if graph.mode == "advanced-chat":
            system.setdefault("query", "")
            system.setdefault("conversation_id", "")
            system.setdefault("dialogue_count", 0)
        pool = VariablePool.build(
            system=system,
            environment=context.environment,
            conversation=context.conversation,
            conversation_values=context.conversation_values,
        )
        state = RunState(
            graph,
            self.ports,
            self.limits,
            EventSink(),
            tenant_id=context.tenant_id,
            app_id=context.app_id,
            user_id=system.get("user_id"),
            inputs=dict(inputs),
        )
        return state, pool

    async def run(
        self,
        graph: Graph,
        *,
        inputs: dict[str, Any],
        context: RunContext | None = None,
        stop: asyncio.Event | None = None,
        resume: Resume | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Run a compiled graph; yield Dify's events from `workflow_started` to `workflow_finished`.

        Args:
            graph: a compiled graph (compile once, run many times).
            inputs: the Start node's inputs (already checked against its variables).
            context: ids and `sys.*`/environment/conversation values.
            stop: set it to stop the run; the run then finishes with status `stopped`.
            resume: finished nodes to replay instead of running them again.
        """
        context = context or RunContext()
        state, pool = self._state(graph, context, inputs)
        replay: dict[str, Replay] = {}
        if resume is not None:
            replay = self.replays(graph, resume.finished)
            state.rounds = self.round_replays(graph, resume.finished)
            if resume.pool:
                pool.restore({k: v for k, v in resume.pool.items() if k != "sys"})
        created = int(time.time())
        began = time.perf_counter()
        yield {
            "event": "workflow_started",
            "data": {"id": context.run_id, "workflow_id": context.workflow_id, "inputs": inputs, "created_at": created},
        }
        top = GraphRun(state, graph.root, pool, replay=replay)
        async for event in self._drive(state, top.execute(), stop):
            yield event
        if state.halt == "stopped":
            status, error = "stopped", STOPPED_MESSAGE
        elif state.halt:
            status, error = "failed", state.halt
        elif top.failure is not None:
            status, error = "failed", top.failure
        else:
            status, error = ("partial-succeeded" if state.exceptions else "succeeded"), None
        if graph.mode == "advanced-chat":
            outputs: dict[str, Any] = {"answer": "".join(state.answers), **state.outputs}
        else:
            outputs = dict(state.outputs)
        yield {
            "event": "workflow_finished",
            "data": {
                "id": context.run_id,
                "workflow_id": context.workflow_id,
                "status": status,
                "outputs": outputs if status in ("succeeded", "partial-succeeded") else outputs or None,
                "error": error,
                "elapsed_time": round(time.perf_counter() - began, 6),
                "total_tokens": state.total_tokens,
                "total_steps": top.steps,
                "created_at": created,
                "finished_at": int(time.time()),
                "exceptions_count": state.exceptions,
                "files": [],
            },
        }

    async def _drive(self, state: RunState, work: Any, stop: asyncio.Event | None) -> AsyncIterator[dict[str, Any]]:
        """Run `work` as a task and yield the sink's events until it ends (stop and wall time cancel it)."""
        loop = asyncio.get_running_loop()
        sink = state.sink
        task = loop.create_task(work)
        task.add_done_callback(lambda _: sink.wake())

        def halt(reason: str) -> None:
            if state.halt is None and not task.done():
                state.halt = reason
                task.cancel()

        watcher: asyncio.Task[Any] | None = None
        if stop is not None:
            if stop.is_set():
                halt("stopped")
            else:
                watcher = loop.create_task(stop.wait())
                watcher.add_done_callback(lambda w: None if w.cancelled() else halt("stopped"))
        limit = self.limits.max_wall_time
        timer = loop.call_later(limit, halt, f"Max execution time {limit:g}s reached.")
        try:
            while True:
                while sink.events:
                    yield sink.events.popleft()
                if task.done():
                    break
                await sink.wait()
            while sink.events:
                yield sink.events.popleft()
            failure = None if task.cancelled() else task.exception()
            if failure is not None:
                raise failure
        finally:
            timer.cancel()
            if watcher is not None:
                watcher.cancel()
            if not task.done():
                task.cancel()

    @staticmethod
    def replays(graph: Graph, finished: Iterable[dict[str, Any]]) -> dict[str, Replay]:
        """Replay records from finished node executions (top-level nodes that succeeded or were handled)."""
        replay: dict[str, Replay] = {}
        for record in finished:
            node = graph.nodes.get(str(record.get("node_id")))
            if node is None or node.parent_id is not None or record.get("iteration_id") or record.get("loop_id"):
                continue
            status = record.get("status")
            outputs = dict(record.get("outputs") or {})
            if status == "succeeded":
                handle = node.recorded_handle(outputs)
                if node.error_strategy == "fail-branch" and handle == "source":
                    handle = "success-branch"
            elif status == "exception":
                handle = "fail-branch" if node.error_strategy == "fail-branch" else "source"
            else:
                continue
            replay[node.id] = Replay(outputs, handle, str(status))
        return replay

    @staticmethod
    def round_replays(graph: Graph, finished: Iterable[dict[str, Any]]) -> dict[str, dict[int, dict[str, Any]]]:
        """Recorded inner-node outputs of top-level iterations, by iteration id and round index.

        An iteration cut off mid-way runs again on resume, but a round whose output node had
        finished takes that node's recorded outputs instead of running again. The round index is
        read from `execution_metadata.iteration_index` (or an `iteration_index` key).
        """
        rounds: dict[str, dict[int, dict[str, Any]]] = {}
        for record in finished:
            iteration_id = record.get("iteration_id")
            container = graph.nodes.get(str(iteration_id)) if iteration_id else None
            if container is None or container.type != "iteration" or container.parent_id is not None:
                continue
            if record.get("status") not in ("succeeded", "exception"):
                continue
            metadata = record.get("execution_metadata") or {}
            index = metadata.get("iteration_index", record.get("iteration_index"))
            if not isinstance(index, int):
                continue
            rounds.setdefault(container.id, {}).setdefault(index, {})[str(record.get("node_id"))] = dict(
                record.get("outputs") or {}
            )
        return rounds

    def rerun_from(
        self,
        graph: Graph,
        node_id: str,
        *,
        inputs: dict[str, Any],
        finished: list[dict[str, Any]],
        pool: dict[str, dict[str, Any]] | None = None,
        context: RunContext | None = None,
        stop: asyncio.Event | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Run again from `node_id`: nodes before it are replayed from `finished`, it and its descendants run."""
        if node_id not in graph.nodes:
            raise KeyError(node_id)
        again = graph.descendants(node_id)
        kept = [r for r in finished if str(r.get("node_id")) not in again]
        snapshot = {k: v for k, v in (pool or {}).items() if k not in again} if pool else None
        return self.run(graph, inputs=inputs, context=context, stop=stop, resume=Resume(kept, snapshot))

    async def run_node(
        self,
        graph: Graph,
        node_id: str,
        values: Mapping[str, Any],
        *,
        context: RunContext | None = None,
        stop: asyncio.Event | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Run one node alone (debugging), its upstream values given; yields its node events.

        Args:
            values: variables the node reads, keyed `"node_id.var"`, `"#node_id.var#"`, `"sys.query"`
                or by selector tuple; for a Start node, its inputs by name.
        """
        node = graph.nodes[node_id]
        context = context or RunContext()
        start_inputs = {k: v for k, v in values.items() if isinstance(k, str) and "." not in k}
        state, pool = self._state(graph, context, start_inputs)
        for key, value in values.items():
            selector = _key_selector(key)
            if selector is not None:
                pool.assign(selector, value)
        sub = Subgraph(None, node_id, [node_id], {node_id: []}, {node_id: 0}, [node_id])
        level = GraphRun(state, sub, pool, depth=1 if node.parent_id else 0, scope={})
        async for event in self._drive(state, level.execute(), stop):
            yield event


def _key_selector(key: Any) -> tuple[str, ...] | None:
    if isinstance(key, tuple):
        return selector_of(list(key))
    if not isinstance(key, str):
        return None
    match = TEMPLATE_PATTERN.fullmatch("{{" + key + "}}") if key.startswith("#") else None
    text = match.group(1) if match else key.strip("#")
    parts = text.split(".")
    return tuple(parts) if len(parts) >= 2 else None
