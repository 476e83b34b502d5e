"""The runner: walks a compiled graph on asyncio and produces Dify's events.

One `GraphRun` executes one level of a graph (the top level, or one round of an iteration/loop).
Pure-computation nodes run inline in the scheduler loop; nodes that await run as tasks, so
parallel branches are genuinely concurrent. Edges are resolved by handle: an edge is taken or
skipped; a node runs once all its incoming edges are resolved and at least one was taken, and is
skipped (and skips its own edges) when none was. Events go into one `EventSink` that the run's
async generator drains; nothing polls.

Parallel branches are Dify's: where one handle leads to several nodes, each target starts a
branch (see `graph.ParallelBranch`). Node events inside a branch carry `parallel_id`,
`parallel_start_node_id` and, when nested, `parent_parallel_id`/`parent_parallel_start_node_id`;
`parallel_branch_started` comes before a branch's first node starts and `parallel_branch_finished`
once all its nodes are resolved (run or skipped), with `status` `failed` and the `error` when one
of its nodes failed the run. Inside iterations and loops each round streams its own Answer nodes.

Resume: a level may be given recorded executions (`Replay`) of its nodes; a recorded node is not
run again — its outputs go to the pool, its other effects are re-applied (`Node.replay`), the text
it showed is streamed again, and its recorded handle is taken. Each round of an iteration or loop
is its own level, found by its *round path* (`((container_id, index), ...)`, outermost first), so a
run resumes inside a round — also inside nested containers — with no finished node run twice.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from random import getrandbits
from typing import Any

from loomworks.engine.errors import NodeError, RunLimitError
from loomworks.engine.graph import Graph, ParallelBranch, StreamPlan, Subgraph
from loomworks.engine.nodes.base import Node, NodeResult
from loomworks.engine.ports import Ports
from loomworks.engine.variables import SYSTEM_ROOTS, VariablePool, mask_secrets, to_text

_INLINE_BATCH = 64  # yield to the event loop after this many inline nodes in a row

RoundPath = tuple[tuple[str, int], ...]  # ((container_id, round index), ...), outermost first


@dataclass(slots=True)
class Limits:
    """Run limits (settings). Dify's defaults: 500 steps, 1,200 s, depth 5.

    Attributes:
        max_steps: node executions per graph level (each iteration round is its own level).
        max_wall_time: seconds for the whole run.
        max_depth: nesting of iterations/loops.
        max_output_size: characters of one node's outputs (serialised).
        max_parallel_iterations: cap on an iteration's `parallel_nums`.
    """

    max_steps: int = 500
    max_wall_time: float = 1200.0
    max_depth: int = 5
    max_output_size: int = 1_000_000
    max_parallel_iterations: int = 100


class EventSink:
    """The events of one run, in order; the consumer awaits `wait()` when it has drained them."""

    __slots__ = ("events", "waiter")

    def __init__(self) -> None:
        self.events: deque[dict[str, Any]] = deque()
        self.waiter: asyncio.Future[None] | None = None

    def put(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self) -> None:
        self.waiter = asyncio.get_running_loop().create_future()
        try:
            await self.waiter
        finally:
            self.waiter = None


@dataclass(slots=True)
class RunState:
    """What all levels of one run share."""

    graph: Graph
    ports: Ports
    limits: Limits
    sink: EventSink
    tenant_id: str = ""
    app_id: str = ""
    user_id: str | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    index: int = 0
    steps: int = 0
    exceptions: int = 0
    total_tokens: int = 0
    total_price: float = 0.0
    currency: str = "USD"
    outputs: dict[str, Any] = field(default_factory=dict)
    answers: list[str] = field(default_factory=list)
    halt: str | None = None  # why the run is being cut short: stopped | a limit message
    # On resume: recorded executions of nodes inside containers, by the round path of their level.
    rounds: dict[RoundPath, dict[str, Replay]] = field(default_factory=dict)

    def next_index(self) -> int:
        self.index += 1
        return self.index


@dataclass(slots=True)
class Replay:
    """An already-finished node execution to replay on resume.

    Attributes:
        outputs: the recorded outputs (written to the pool).
        handle: the source handle it took.
        status: `succeeded`, `exception` (an error strategy took over) or `failed` (only inside a
            round: the round fails again with `error`, as it did).
        process_data: the recorded process data (assigners re-apply their writes from it).
        error: the recorded error of a failed execution.
    """

    outputs: dict[str, Any]
    handle: str
    status: str = "succeeded"
    process_data: dict[str, Any] | None = None
    error: str | None = None


class StreamRouter:
    """Streams Answer/End text in template order, as soon as each part is available.

    A plan opens when every branching ancestor (and every earlier streaming node) is resolved;
    its literal parts are then sent, a variable part waits for its node — or, for a streaming
    output such as an LLM's `text`, forwards deltas as they arrive.
    """

    def __init__(
        self,
        plans: list[StreamPlan],
        pool: VariablePool,
        emit: Callable[[str, list[str]], None],
        *,
        local: list[str] | None = None,
    ) -> None:
        self.pool = pool
        # Nodes of this level; a part read from outside it (a container's item, an outer node) is ready.
        self.local = frozenset(local) if local is not None else None
        self.emit = emit
        self.done: set[str] = set()
        self.skipped: set[str] = set()
        self.buffers: dict[tuple[str, str], list[str]] = {}
        self.cursor: dict[str, int] = {p.node_id: 0 for p in plans}
        self.consumed: dict[str, int] = {p.node_id: 0 for p in plans}
        self.open: set[str] = set()
        self.closed: set[str] = set()
        self.plans = {p.node_id: p for p in plans}
        self.watchers: dict[str, list[StreamPlan]] = {}
        for plan in plans:
            interested = set(plan.gates) | {p[0] for p in plan.parts if isinstance(p, tuple)}
            for node_id in interested:
                self.watchers.setdefault(node_id, []).append(plan)

    def start(self) -> None:
        for plan in self.plans.values():
            self._advance(plan)

    def resolved(self, node_ids: list[str], skipped: list[str]) -> None:
        self.skipped.update(skipped)
        self.done.update(node_ids)
        self.done.update(skipped)
        for node_id in (*node_ids, *skipped):
            for plan in self.watchers.get(node_id, ()):
                self._advance(plan)

    def delta(self, node_id: str, output: str, text: str) -> None:
        buffer = self.buffers.setdefault((node_id, output), [])
        buffer.append(text)
        for plan in self.watchers.get(node_id, ()):
            self._advance(plan)

    def complete(self, node_id: str) -> None:
        """The stream node runs now: everything it shows is available; send the rest."""
        plan = self.plans.get(node_id)
        if plan is None or node_id in self.closed:
            return
        self.open.add(node_id)
        self._advance(plan, final=True)
        self.closed.add(node_id)

    def close(self, node_id: str) -> None:
        self.closed.add(node_id)

    def _advance(self, plan: StreamPlan, final: bool = False) -> None:
        node_id = plan.node_id
        if node_id in self.closed or node_id in self.skipped:
            return
        if node_id not in self.open:
            if not plan.gates <= self.done:
                return
            self.open.add(node_id)
        parts = plan.parts
        cursor = self.cursor[node_id]
        while cursor < len(parts):
            part = parts[cursor]
            if isinstance(part, str):
                self.emit(part, [node_id, "answer"])
                cursor += 1
                continue
            source = part[0]
            buffer = self.buffers.get((source, part[1])) if len(part) == 2 else None
            if buffer is not None:
                start = self.consumed[node_id]
                for text in buffer[start:]:
                    self.emit(text, list(part))
                self.consumed[node_id] = len(buffer)
                if source in self.done or final:
                    cursor += 1
                    self.consumed[node_id] = 0
                    continue
                break
            if (
                source in SYSTEM_ROOTS
                or source in self.done
                or final
                or (self.local is not None and source not in self.local)
            ):
                text = to_text(self.pool.get(part))
                if text:
                    self.emit(text, list(part))
                cursor += 1
                continue
            break
        self.cursor[node_id] = cursor


class NodeContext:
    """What a running node may use: the pool, the ports, streaming, and its container's subgraph."""

    __slots__ = ("execution_id", "level", "node", "pool")

    def __init__(self, level: GraphRun, node: Node, execution_id: str) -> None:
        self.level = level
        self.node = node
        self.execution_id = execution_id
        self.pool = level.pool

    @property
    def ports(self) -> Ports:
        return self.level.state.ports

    @property
    def state(self) -> RunState:
        return self.level.state

    @property
    def mode(self) -> str:
        return self.level.state.graph.mode

    def stream(self, output: str, text: str) -> None:
        """Forward a streamed piece of an output (an LLM's `text`) to the Answer/End nodes showing it."""
        router = self.level.router
        if router is not None and text:
            router.delta(self.node.id, output, text)

    def emit(self, event: str, data: dict[str, Any]) -> None:
        """Send an extra event of this node (iteration/loop progress, `agent_log`), in stream order.

        `data` is sent as is; the run's consumers add the request-level ids (`task_id`, ...).
        """
        self.level.state.sink.put({"event": event, "data": data})

    def chunk(self, text: str, selector: list[str]) -> None:
        """Send answer/end text directly (used when no stream plan covers the node)."""
        self.level.chunk(text, selector)

    async def run_inner(self, pool: VariablePool, scope: dict[str, Any]) -> GraphRun:
        """Run one round of this container node's subgraph over `pool`; returns the finished level.

        `scope` is the round's execution metadata: `iteration_id`/`iteration_index` or
        `loop_id`/`loop_index`. Nested rounds also carry `round_path` (`[[container_id, index],
        ...]`, outermost first) so that a resumed run finds each round's records. Recorded
        executions of the round's nodes (resume) are replayed instead of run.

        Raises NodeError when an inner node fails without an error strategy.
        """
        state = self.level.state
        sub = state.graph.subgraphs[self.node.id]
        index = scope.get("iteration_index", scope.get("loop_index", 0))
        path: RoundPath = (*self.level.path, (self.node.id, int(index)))
        if len(path) > 1:
            scope = {**scope, "round_path": [[c, i] for c, i in path]}
        level = GraphRun(
            state, sub, pool, depth=self.level.depth + 1, scope=scope, replay=state.rounds.get(path), path=path
        )
        await level.execute()
        if level.failure is not None:
            raise NodeError(level.failure)
        return level


class GraphRun:
    """Executes one subgraph over one variable pool."""

    def __init__(
        self,
        state: RunState,
        sub: Subgraph,
        pool: VariablePool,
        *,
        depth: int = 0,
        scope: dict[str, Any] | None = None,
        replay: dict[str, Replay] | None = None,
        path: RoundPath = (),
    ) -> None:
        self.state = state
        self.sub = sub
        self.pool = pool
        self.depth = depth
        self.scope = scope or {}
        self.replay = replay or {}
        self.path = path
        self.pending = dict(sub.in_count)
        self.taken: dict[str, int] = {}
        self.predecessor: dict[str, str] = {}
        self.ready: deque[str] = deque()
        self.running: set[asyncio.Task[None]] = set()
        self.failure: str | None = None
        self.steps = 0
        self.signals: set[str] = set()  # e.g. "break" from a loop-end node
        self._wake: asyncio.Future[None] | None = None
        self.router: StreamRouter | None = None
        if sub.streams:
            self.router = StreamRouter(sub.streams, pool, self.chunk, local=sub.node_ids)
        # Parallel branches: nodes left to resolve in each branch, and the branches under way.
        self.branch_left: dict[ParallelBranch, int] = (
            {b: b.size for found in sub.branches_of.values() for b in found} if sub.branches_of else {}
        )
        self.branch_open: set[ParallelBranch] = set()

    def chunk(self, text: str, selector: list[str]) -> None:
        if self.state.graph.mode == "advanced-chat":
            self.state.sink.put({"event": "message", "data": {"answer": text, "from_variable_selector": selector}})
        else:
            self.state.sink.put({"event": "text_chunk", "data": {"text": text, "from_variable_selector": selector}})

    async def execute(self) -> None:
        """Run to the end (or the first unhandled failure); raises CancelledError when cut short."""
        if self.depth > self.state.limits.max_depth:
            self.failure = f"Max workflow call depth {self.state.limits.max_depth} reached."
            return
        if self.router is not None:
            self.router.start()
        self.ready.append(self.sub.start_id)
        nodes = self.state.graph.nodes
        inline_run = 0
        try:
            while True:
                while self.ready and self.failure is None:
                    node = nodes[self.ready.popleft()]
                    if node.id in self.replay:
                        self._replay(node)
                        continue
                    self.steps += 1
                    if self.steps > self.state.limits.max_steps:
                        self.failure = f"Max steps {self.state.limits.max_steps} reached."
                        break
                    if node.inline and node.retry is None:
                        self._run_inline(node)
                        inline_run += 1
                        if inline_run >= _INLINE_BATCH:
                            inline_run = 0
                            await asyncio.sleep(0)
                    else:
                        task = asyncio.get_running_loop().create_task(self._run_task(node))
                        self.running.add(task)
                        task.add_done_callback(self._task_done)
                if self.failure is not None or not self.running:
                    break
                inline_run = 0
                self._wake = asyncio.get_running_loop().create_future()
                await self._wake
        except asyncio.CancelledError:
            await self._cancel_running()
            raise
        if self.running:
            await self._cancel_running()

    async def _cancel_running(self) -> None:
        tasks = list(self.running)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self.running.clear()

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self.running.discard(task)
        if not task.cancelled() and task.exception() is not None and self.failure is None:
            self.failure = f"{type(task.exception()).__name__}: {task.exception()}"
        wake = self._wake
        if wake is not None and not wake.done():
            wake.set_result(None)

    # --- one node ---------------------------------------------------------------------------

    def _started(self, node: Node) -> dict[str, Any]:
        scope = self.scope
        branch = self.sub.parallel_of.get(node.id) if self.branch_left else None
        if branch is not None:
            for opened in self.sub.branches_of[node.id]:
                if opened.start_node_id == node.id and opened not in self.branch_open:
                    self.branch_open.add(opened)
                    self.state.sink.put({"event": "parallel_branch_started", "data": self._branch_data(opened)})
        data = {
            "id": _execution_id(),
            "node_id": node.id,
            "node_type": node.type,
            "title": node.title,
            "index": self.state.next_index(),
            "predecessor_node_id": self.predecessor.get(node.id),
            "inputs": None,
            "created_at": int(time.time()),
            "extras": {},
            "parallel_id": None,
            "parallel_start_node_id": None,
            "parent_parallel_id": None,
            "parent_parallel_start_node_id": None,
            "iteration_id": scope.get("iteration_id"),
            "loop_id": scope.get("loop_id"),
            "parallel_run_id": None,
        }
        if branch is not None:
            data["parallel_id"] = branch.parallel_id
            data["parallel_start_node_id"] = branch.start_node_id
            data["parent_parallel_id"] = branch.parent_parallel_id
            data["parent_parallel_start_node_id"] = branch.parent_start_node_id
        self.state.sink.put({"event": "node_started", "data": data})
        return data

    def _branch_data(self, branch: ParallelBranch, **extra: Any) -> dict[str, Any]:
        return {
            "parallel_id": branch.parallel_id,
            "parallel_branch_id": branch.start_node_id,
            "parent_parallel_id": branch.parent_parallel_id,
            "parent_parallel_start_node_id": branch.parent_start_node_id,
            "iteration_id": self.scope.get("iteration_id"),
            "loop_id": self.scope.get("loop_id"),
            "created_at": int(time.time()),
            **extra,
        }

    def _branch_resolved(self, node_ids: list[str]) -> None:
        """Count resolved nodes off their branches; a branch whose nodes are all resolved has finished."""
        for node_id in node_ids:
            for branch in reversed(self.sub.branches_of.get(node_id, ())):
                left = self.branch_left[branch] - 1
                self.branch_left[branch] = left
                if left == 0 and branch in self.branch_open:
                    self.branch_open.discard(branch)
                    data = self._branch_data(branch, status="succeeded", error=None)
                    self.state.sink.put({"event": "parallel_branch_finished", "data": data})

    def _branch_failed(self, node_id: str, message: str) -> None:
        for branch in reversed(self.sub.branches_of.get(node_id, ())):
            if branch in self.branch_open:
                self.branch_open.discard(branch)
                data = self._branch_data(branch, status="failed", error=message)
                self.state.sink.put({"event": "parallel_branch_finished", "data": data})

    def _run_inline(self, node: Node) -> None:
        started = self._started(node)
        begin = time.perf_counter()
        ctx = NodeContext(self, node, started["id"])
        try:
            result = node.run_sync(ctx)
            self._check_size(result)
        except Exception as exc:  # noqa: BLE001 - a node failure is data, handled by the error strategy
            self._failed(node, started, begin, exc)
            return
        self._succeeded(node, started, begin, result)

    async def _run_task(self, node: Node) -> None:
        started = self._started(node)
        begin = time.perf_counter()
        ctx = NodeContext(self, node, started["id"])
        attempt = 0
        while True:
            try:
                result = await node.run(ctx)
                self._check_size(result)
            except asyncio.CancelledError:
                self._finished(node, started, begin, status="stopped", error="Workflow stopped.")
                raise
            except Exception as exc:  # noqa: BLE001 - a node failure is data, handled by retry/error strategy
                retry = node.retry
                if retry is not None and attempt < retry.max_retries:
                    attempt += 1
                    self._retrying(node, started, begin, exc, attempt)
                    if retry.interval > 0:
                        await asyncio.sleep(retry.interval)
                    continue
                self._failed(node, started, begin, exc)
                return
            self._succeeded(node, started, begin, result)
            return

    def _check_size(self, result: NodeResult) -> None:
        limit = self.state.limits.max_output_size
        size = 0
        for value in result.outputs.values():
            if isinstance(value, str):
                size += len(value)
            elif isinstance(value, dict | list):
                size += len(json.dumps(value, ensure_ascii=False, default=str))
        if size > limit:
            raise RunLimitError(f"Output size {size} exceeds the limit of {limit} characters.")

    def _metadata(self, node: Node, extra: dict[str, Any] | None) -> dict[str, Any]:
        metadata: dict[str, Any] = {}
        if self.scope:
            metadata.update(self.scope)
        if node.error_strategy:
            metadata["error_strategy"] = node.error_strategy
        branch = self.sub.parallel_of.get(node.id) if self.branch_left else None
        if branch is not None:
            metadata["parallel_id"] = branch.parallel_id
            metadata["parallel_start_node_id"] = branch.start_node_id
            if branch.parent_parallel_id:
                metadata["parent_parallel_id"] = branch.parent_parallel_id
                metadata["parent_parallel_start_node_id"] = branch.parent_start_node_id
        if extra:
            metadata.update(extra)
        return metadata

    def _finished(
        self,
        node: Node,
        started: dict[str, Any],
        begin: float,
        *,
        status: str,
        result: NodeResult | None = None,
        error: str | None = None,
        event: str = "node_finished",
        extra: dict[str, Any] | None = None,
    ) -> None:
        metadata = self._metadata(node, result.metadata if result is not None else None)
        inputs = result.inputs if result is not None else None
        process_data = result.process_data if result is not None else None
        secrets = self.pool.secrets
        if secrets:
            # Recorded inputs must not show `secret` environment values (outputs stay as they are).
            inputs, process_data = mask_secrets(inputs, secrets), mask_secrets(process_data, secrets)
        data = {
            **started,
            "inputs": inputs,
            "process_data": process_data,
            "outputs": result.outputs if result is not None else None,
            "status": status,
            "error": error,
            "elapsed_time": round(time.perf_counter() - begin, 6),
            "execution_metadata": metadata,
            "finished_at": int(time.time()),
            "files": [],
        }
        if extra:
            data.update(extra)
        self.state.sink.put({"event": event, "data": data})

    def _retrying(self, node: Node, started: dict[str, Any], begin: float, exc: Exception, attempt: int) -> None:
        self._finished(
            node,
            started,
            begin,
            status="retry",
            error=_message(exc),
            event="node_retry",
            extra={"retry_index": attempt},
        )

    def _succeeded(self, node: Node, started: dict[str, Any], begin: float, result: NodeResult) -> None:
        state = self.state
        metadata = result.metadata
        if metadata and not node.container:  # a container's metadata sums its inner nodes, already counted
            tokens = metadata.get("total_tokens")
            if tokens:
                state.total_tokens += int(tokens)
        router = self.router
        if router is not None and node.id in router.plans:
            router.complete(node.id)
        elif node.type == "answer" and state.graph.mode == "advanced-chat" and result.outputs.get("answer"):
            self.chunk(str(result.outputs["answer"]), [node.id, "answer"])
        self._finished(node, started, begin, status="succeeded", result=result)
        self.pool.set_outputs(node.id, result.outputs)
        self._collect(node, result.outputs)
        handle = result.handle
        if node.error_strategy == "fail-branch" and handle == "source":
            handle = "success-branch"
        self._resolve(node.id, handle)

    def _failed(self, node: Node, started: dict[str, Any], begin: float, exc: Exception) -> None:
        message = _message(exc)
        error_type = exc.error_type if isinstance(exc, NodeError) else type(exc).__name__
        if isinstance(exc, RunLimitError) or node.error_strategy is None:
            self._finished(node, started, begin, status="failed", error=message)
            if self.branch_left:
                self._branch_failed(node.id, message)
            if self.failure is None:
                self.failure = message
            return
        outputs: dict[str, Any] = {}
        if node.error_strategy == "default-value":
            outputs.update(node.default_outputs)
        outputs["error_message"] = message
        outputs["error_type"] = error_type
        self.state.exceptions += 1
        result = NodeResult(outputs=outputs)
        self._finished(node, started, begin, status="exception", result=result, error=message)
        self.pool.set_outputs(node.id, outputs)
        self._resolve(node.id, "fail-branch" if node.error_strategy == "fail-branch" else "source")

    def _replay(self, node: Node) -> None:
        """Take a recorded execution instead of running the node (resume); see the module docstring.

        Its tokens and exceptions were counted when the run resumed (`WorkflowEngine.run`).
        """
        record = self.replay[node.id]
        self.steps += 1
        if record.status == "failed":
            if self.failure is None:
                self.failure = record.error or f"Node {node.title or node.id} failed."
            return
        self.pool.set_outputs(node.id, record.outputs)
        node.replay(NodeContext(self, node, ""), record.process_data)
        router = self.router
        if router is not None and node.id in router.plans:
            # The text it showed is part of the answer: send it again (the resumed run's consumer
            # builds the whole answer from the stream).
            router.complete(node.id)
        elif node.type == "answer" and self.state.graph.mode == "advanced-chat" and record.outputs.get("answer"):
            self.chunk(str(record.outputs["answer"]), [node.id, "answer"])
        elif node.container and self.state.graph.mode == "advanced-chat":
            self._resend_rounds(node.id, self.path)
        self._collect(node, record.outputs)
        self._resolve(node.id, record.handle)

    def _resend_rounds(self, container_id: str, path: RoundPath) -> None:
        """Send again the answers given inside a replayed container's rounds, round by round."""
        rounds = self.state.rounds
        depth = len(path) + 1
        indexes = sorted(
            key[-1][1] for key in rounds if len(key) == depth and key[-1][0] == container_id and key[:-1] == path
        )
        nodes = self.state.graph.nodes
        order = self.state.graph.subgraphs[container_id].order
        for index in indexes:
            inner: RoundPath = (*path, (container_id, index))
            records = rounds[inner]
            for node_id in order:
                record = records.get(node_id)
                if record is None or record.status == "failed":
                    continue
                if nodes[node_id].type == "answer" and record.outputs.get("answer"):
                    self.chunk(str(record.outputs["answer"]), [node_id, "answer"])
                elif nodes[node_id].container:
                    self._resend_rounds(node_id, inner)

    def _collect(self, node: Node, outputs: dict[str, Any]) -> None:
        if self.depth or self.sub.container_id is not None:
            return
        if node.type == "end":
            self.state.outputs.update(outputs)
        elif node.type == "answer":
            self.state.answers.append(str(outputs.get("answer") or ""))

    # --- edges --------------------------------------------------------------------------------

    def _resolve(self, node_id: str, handle: str) -> None:
        """Take the edges leaving by `handle`, skip the others, and propagate skips."""
        pending, taken, ready = self.pending, self.taken, self.ready
        out_edges = self.sub.out_edges
        edges = out_edges[node_id]
        if self.branch_left:
            self._branch_resolved([node_id])
        if len(edges) == 1 and edges[0].handle == handle and self.router is None:
            # The common case of a chain: one taken edge, nothing to skip.
            target = edges[0].target
            left = pending[target] - 1
            pending[target] = left
            taken[target] = taken.get(target, 0) + 1
            self.predecessor[target] = node_id
            if left == 0:
                ready.append(target)
            return
        skipped: list[str] = []
        work: deque[tuple[str, bool, str]] = deque((e.target, e.handle == handle, node_id) for e in out_edges[node_id])
        while work:
            target, is_taken, source = work.popleft()
            left = pending[target] - 1
            pending[target] = left
            if is_taken:
                taken[target] = taken.get(target, 0) + 1
                self.predecessor[target] = source
            if left == 0:
                if taken.get(target):
                    ready.append(target)
                else:
                    skipped.append(target)
                    work.extend((e.target, False, target) for e in out_edges.get(target, ()))
        if self.branch_left and skipped:
            self._branch_resolved(skipped)
        if self.router is not None:
            self.router.resolved([node_id], skipped)


_VERSION_MASK = ~(0xF000 << 64) & ~(0xC000 << 48)
_VERSION_BITS = (0x4000 << 64) | (0x8000 << 48)


def _execution_id() -> str:
    """A random UUID4 string for a node execution, several times cheaper than `str(uuid.uuid4())`.

    Execution ids are record keys, not secrets, so the non-cryptographic generator is fine.
    """
    h = f"{(getrandbits(128) & _VERSION_MASK) | _VERSION_BITS:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _message(exc: BaseException) -> str:
    text = exc.message if isinstance(exc, NodeError) else str(exc)
    return text or type(exc).__name__
