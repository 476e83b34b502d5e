"""Loop: runs its subgraph until a break condition holds, a loop-end node runs, or `loop_count` rounds."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from loomworks.engine.conditions import evaluate_all
from loomworks.engine.errors import NodeConfigError, NodeError
from loomworks.engine.nodes.base import Node, NodeResult
from loomworks.engine.nodes.if_else import parse_conditions
from loomworks.engine.nodes.iteration import container_event
from loomworks.engine.variables import Selector, convert_to_type, selector_of

if TYPE_CHECKING:
    from loomworks.engine.runner import NodeContext

BREAK = "break"


class LoopStartNode(Node):
    """The entry of a loop's subgraph; does nothing."""

    type = "loop-start"

    def run_sync(self, ctx: NodeContext) -> NodeResult:
        del ctx
        return NodeResult(outputs={})


class LoopEndNode(Node):
    """Ends the loop after the current round."""

    type = "loop-end"

    def run_sync(self, ctx: NodeContext) -> NodeResult:
        ctx.level.signals.add(BREAK)
        return NodeResult(outputs={})

    def replay(self, ctx: NodeContext, process_data: dict[str, Any] | None) -> None:
        del process_data
        ctx.level.signals.add(BREAK)


class LoopNode(Node):
    """Outputs the loop variables as they are after the last round (and `loop_round`)."""

    type = "loop"
    inline = False
    container = True

    def configure(self, data: dict[str, Any]) -> None:
        self.loop_count = int(data.get("loop_count") or 10)
        if self.loop_count < 0:
            raise NodeConfigError("loop_count must not be negative")
        self.breaks = parse_conditions(data.get("break_conditions"))
        self.logical = str(data.get("logical_operator") or "and")
        self.variables: list[tuple[str, str, str, Any]] = []
        for raw in data.get("loop_variables") or []:
            if not isinstance(raw, dict) or not raw.get("label"):
                continue
            kind = str(raw.get("value_type") or "constant")
            value = selector_of(raw.get("value")) if kind == "variable" else raw.get("value")
            self.variables.append((str(raw["label"]), str(raw.get("var_type") or "string"), kind, value))

    def references(self) -> list[Selector]:
        refs = [s for c in self.breaks for s in c.references()]
        refs.extend(v for _, _, kind, v in self.variables if kind == "variable" and v)
        return refs

    async def run(self, ctx: NodeContext) -> NodeResult:
        layer = ctx.pool.child()
        values: dict[str, Any] = {}
        for label, var_type, kind, value in self.variables:
            values[label] = ctx.pool.get(value) if kind == "variable" and value else convert_to_type(value, var_type)
        layer.set_outputs(self.id, values)
        inputs = dict(values)
        began = time.perf_counter()
        ctx.emit("loop_started", container_event(self, ctx, metadata={"loop_length": self.loop_count}, inputs=inputs))
        rounds = 0
        durations: dict[str, float] = {}
        stop = bool(self.breaks) and evaluate_all(self.breaks, self.logical, layer)[0]
        while not stop and rounds < self.loop_count:
            ctx.emit("loop_next", container_event(self, ctx, index=rounds, pre_loop_output=dict(values)))
            round_pool = layer.child()
            values["index"] = rounds
            start = time.perf_counter()
            try:
                level = await ctx.run_inner(round_pool, {"loop_id": self.id, "loop_index": rounds})
            except NodeError as exc:
                self._completed(ctx, inputs, None, began, rounds, "failed", exc.message)
                raise
            finally:
                values.pop("index", None)
            durations[str(rounds)] = round(time.perf_counter() - start, 6)
            rounds += 1
            stop = BREAK in level.signals or (
                bool(self.breaks) and evaluate_all(self.breaks, self.logical, round_pool)[0]
            )
        outputs = {**values, "loop_round": rounds}
        self._completed(ctx, inputs, outputs, began, rounds, "succeeded", None)
        return NodeResult(outputs=outputs, inputs=inputs, metadata={"loop_duration_map": durations})

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
            "loop_completed",
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
