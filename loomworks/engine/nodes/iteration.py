"""Iteration: runs its subgraph once per item (sequentially, or `parallel_nums` at a time)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from loomworks.engine.errors import NodeConfigError, NodeError
from loomworks.engine.nodes.base import Node, NodeResult
from loomworks.engine.variables import Selector, selector_of

if TYPE_CHECKING:
    from loomworks.engine.runner import NodeContext

ERROR_MODES = ("terminated", "continue-on-error", "remove-abnormal-output")


def container_event(node: Node, ctx: NodeContext, **fields: Any) -> dict[str, Any]:
    """The common fields of iteration_* / loop_* events."""
    branch = ctx.level.sub.parallel_of.get(node.id)
    return {
        "id": ctx.execution_id,
        "node_id": node.id,
        "node_type": node.type,
        "title": node.title,
        "created_at": int(time.time()),
        "extras": {},
        "parallel_id": branch.parallel_id if branch else None,
        "parallel_start_node_id": branch.start_node_id if branch else None,
        **fields,
    }


class IterationStartNode(Node):
    """The entry of an iteration's subgraph; does nothing."""

    type = "iteration-start"

    def run_sync(self, ctx: NodeContext) -> NodeResult:
        del ctx
        return NodeResult(outputs={})


class IterationNode(Node):
    """Outputs `output`: the value of `output_selector` after each round, in item order."""

    type = "iteration"
    inline = False
    container = True

    def configure(self, data: dict[str, Any]) -> None:
        iterator = selector_of(data.get("iterator_selector"))
        if iterator is None:
            raise NodeConfigError("no iterator_selector")
        self.iterator = iterator
        self.output_selector = selector_of(data.get("output_selector"))
        self.parallel = bool(data.get("is_parallel"))
        self.parallel_nums = max(1, int(data.get("parallel_nums") or 10))
        self.error_mode = str(data.get("error_handle_mode") or "terminated")
        if self.error_mode not in ERROR_MODES:
            raise NodeConfigError(f"unknown error_handle_mode {self.error_mode!r}")
        self.flatten = bool(data.get("flatten_output", True))

    def references(self) -> list[Selector]:
        return [self.iterator, *([self.output_selector] if self.output_selector else [])]

    async def run(self, ctx: NodeContext) -> NodeResult:
        items = ctx.pool.get(self.iterator)
        if items is None:
            items = []
        if not isinstance(items, list):
            raise NodeError(f"The iterator variable {'.'.join(self.iterator)} is not an array.")
        began = time.perf_counter()
        inputs = {"iterator_selector": items}
        ctx.emit(
            "iteration_started", container_event(self, ctx, metadata={"iterator_length": len(items)}, inputs=inputs)
        )
        results: list[Any] = [None] * len(items)
        failed: set[int] = set()
        durations: dict[str, float] = {}

        async def one(index: int, item: Any) -> None:
            # On resume, `run_inner` replays what the round's nodes had recorded.
            pool = ctx.pool.child()
            pool.set_outputs(self.id, {"item": item, "index": index})
            previous = results[index - 1] if index and not self.parallel else None
            ctx.emit("iteration_next", container_event(self, ctx, index=index, pre_iteration_output=previous))
            start = time.perf_counter()
            try:
                await ctx.run_inner(pool, {"iteration_id": self.id, "iteration_index": index})
            except NodeError:
                if self.error_mode == "terminated":
                    raise
                failed.add(index)
            else:
                results[index] = pool.get(self.output_selector) if self.output_selector else None
            durations[str(index)] = round(time.perf_counter() - start, 6)

        try:
            if self.parallel and len(items) > 1:
                limit = asyncio.Semaphore(min(self.parallel_nums, ctx.state.limits.max_parallel_iterations))

                async def bounded(index: int, item: Any) -> None:
                    async with limit:
                        await one(index, item)

                async with asyncio.TaskGroup() as group:
                    for index, item in enumerate(items):
                        group.create_task(bounded(index, item))
            else:
                for index, item in enumerate(items):
                    await one(index, item)
        except* NodeError as group_error:
            message = str(group_error.exceptions[0])
            self._completed(ctx, inputs, None, began, len(items), "failed", message)
            raise NodeError(message) from None
        output = (
            [r for i, r in enumerate(results) if i not in failed]
            if self.error_mode == "remove-abnormal-output"
            else results
        )
        if self.flatten and output and all(isinstance(r, list) for r in output):
            output = [x for r in output for x in r]
        outputs = {"output": output}
        self._completed(ctx, inputs, outputs, began, len(items), "succeeded", None)
        return NodeResult(outputs=outputs, inputs=inputs, metadata={"iteration_duration_map": durations})

    def _completed(
        self,
        ctx: NodeContext,
        inputs: dict[str, Any],
        outputs: Any,
        began: float,
        steps: int,
        status: str,
        error: str | None,
    ) -> None:
        ctx.emit(
            "iteration_completed",
            container_event(
                self,
                ctx,
                inputs=inputs,
                outputs=outputs,
                status=status,
                error=error,
                elapsed_time=round(time.perf_counter() - began, 6),
                total_tokens=0,
                execution_metadata={},
                finished_at=int(time.time()),
                steps=steps,
            ),
        )
