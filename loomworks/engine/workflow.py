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
from loomworks.engine.nodes.base import Node
from loomworks.engine.ports import Ports
from loomworks.engine.runner import EventSink, GraphRun, Limits, Replay, RoundPath, RunState
from loomworks.engine.variables import TEMPLATE_PATTERN, VariablePool, selector_of

STOPPED_MESSAGE = "Workflow execution stopped by user."


@dataclass(slots=True)
class Resume:
    """State to resume a run from: finished node records and the variable pool snapshot.

    Attributes:
        finished: `node_finished` event data (or rows with the same keys: `node_id`, `status`,
            `outputs`, `process_data`, `error`, `iteration_id`, `loop_id`, `execution_metadata`)
            of the nodes that already finished, in order. Nodes that succeeded or took an error
            strategy are replayed, at the top level and inside the rounds of iterations and loops
            (nested too: see `replay_plan`); a failure recorded inside a round fails that round
            again; anything else runs again.
        pool: a `VariablePool.snapshot()` to restore (conversation variables as last written);
            None rebuilds the pool from the replayed outputs and assigner writes.
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
            plan = self.replay_plan(graph, resume.finished)
            replay = plan.pop((), {})
            state.rounds = plan
            _count_replayed(state, graph, resume.finished)
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
        """Replay records of the top-level nodes among finished node executions."""
        return WorkflowEngine.replay_plan(graph, finished).get((), {})

    @staticmethod
    def replay_plan(graph: Graph, finished: Iterable[dict[str, Any]]) -> dict[RoundPath, dict[str, Replay]]:
        """Replay records by the round path of their level (`()` for the top level).

        A record's level is read from `execution_metadata.round_path` (nested rounds) or from its
        `iteration_id`/`loop_id` and `iteration_index`/`loop_index` (rounds of top-level
        containers); a record whose level does not fit the graph is left out (its node runs
        again). Later records of the same node in the same level win.
        """
        plan: dict[RoundPath, dict[str, Replay]] = {}
        for record in finished:
            node = graph.nodes.get(str(record.get("node_id")))
            if node is None:
                continue
            path = _record_path(graph, node, record)
            if path is None:
                continue
            replay = _replay_of(node, record, inner=bool(path))
            if replay is not None:
                plan.setdefault(path, {})[node.id] = replay
        return plan

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


def _record_path(graph: Graph, node: Node, record: dict[str, Any]) -> RoundPath | None:
    """The round path of the level a record belongs to, or None when it does not fit the graph."""
    metadata = record.get("execution_metadata") or {}
    raw = metadata.get("round_path")
    if isinstance(raw, list) and raw:
        try:
            path = tuple((str(container), int(index)) for container, index in raw)
        except (TypeError, ValueError):
            return None
        return path if path[-1][0] == node.parent_id else None
    iteration_id = record.get("iteration_id") or metadata.get("iteration_id")
    loop_id = record.get("loop_id") or metadata.get("loop_id")
    container_id = iteration_id or loop_id
    if not container_id:
        return () if node.parent_id is None else None
    key = "iteration_index" if iteration_id else "loop_index"
    index = metadata.get(key, record.get(key))
    container = graph.nodes.get(str(container_id))
    if container is None or container.id != node.parent_id or container.parent_id is not None:
        return None  # a nested round without its path (recorded before paths existed)
    if not isinstance(index, int) or isinstance(index, bool):
        return None
    return ((container.id, index),)


def _replay_of(node: Node, record: dict[str, Any], *, inner: bool) -> Replay | None:
    status = record.get("status")
    outputs = dict(record.get("outputs") or {})
    process_data = record.get("process_data") if isinstance(record.get("process_data"), dict) else None
    if status == "succeeded":
        handle = node.recorded_handle(outputs)
        if node.error_strategy == "fail-branch" and handle == "source":
            handle = "success-branch"
    elif status == "exception":
        handle = "fail-branch" if node.error_strategy == "fail-branch" else "source"
    elif status == "failed" and inner:
        return Replay(outputs, "", "failed", process_data, str(record.get("error") or "") or None)
    else:
        return None
    return Replay(outputs, handle, str(status), process_data)


def _count_replayed(state: RunState, graph: Graph, finished: Iterable[dict[str, Any]]) -> None:
    """Count what the recorded part of a resumed run used: tokens and handled exceptions.

    Every recorded execution that is replayed — or lies inside a replayed container, whose rounds
    are not entered again — was counted once by the run that recorded it, so it is counted now.
    """
    last: dict[tuple[RoundPath, str], dict[str, Any]] = {}
    for record in finished:
        node = graph.nodes.get(str(record.get("node_id")))
        if node is None or record.get("status") not in ("succeeded", "exception"):
            continue
        path = _record_path(graph, node, record)
        if path is not None:
            last[(path, node.id)] = record
    for (_, node_id), record in last.items():
        if record.get("status") == "exception":
            state.exceptions += 1
        tokens = (record.get("execution_metadata") or {}).get("total_tokens")
        if tokens and not graph.nodes[node_id].container:
            state.total_tokens += int(tokens)


def _key_selector(key: Any) -> tuple[str, ...] | None:
    if isinstance(key, tuple):
        return selector_of(list(key))
    if not isinstance(key, str):
        return None
    match = TEMPLATE_PATTERN.fullmatch("{{" + key + "}}") if key.startswith("#") else None
    text = match.group(1) if match else key.strip("#")
    parts = text.split(".")
    return tuple(parts) if len(parts) >= 2 else None
