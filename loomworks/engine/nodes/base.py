"""The node base class: configuration parsed once, a registry filled by `__init_subclass__`.

A node type is a subclass with a `type` (Dify's `data.type`); defining the class registers it, so
adding a node type is adding one module under `engine/nodes/` (imported by the package). A node
parses its `data` in `configure` (raising `NodeConfigError`), names the selectors it reads in
`references` (validation checks they exist upstream) and runs in `run_sync` (pure computation,
executed inline by the runner without a task) or `run` (anything that awaits).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from loomworks.engine.errors import NodeConfigError, NodeError
from loomworks.engine.variables import Selector, convert_to_type, selector_of

if TYPE_CHECKING:
    from loomworks.engine.runner import NodeContext

ERROR_STRATEGIES = ("fail-branch", "default-value")


@dataclass(slots=True)
class NodeResult:
    """What one node execution produced.

    Attributes:
        outputs: the node's outputs (written to the pool under the node id).
        inputs: what the node read, for the record (`node_finished.inputs`).
        process_data: intermediate data for the record (prompts, requests...).
        handle: the source handle whose edges are taken (`source`, a case id, a class id...).
        metadata: execution metadata (`total_tokens`, `total_price`, `currency`, ...).
    """

    outputs: dict[str, Any]
    inputs: dict[str, Any] | None = None
    process_data: dict[str, Any] | None = None
    handle: str = "source"
    metadata: dict[str, Any] | None = None


@dataclass(slots=True)
class RetryPolicy:
    """Dify's `retry_config`: retries after a failure, `interval` in seconds."""

    max_retries: int = 0
    interval: float = 0.0


class Node:
    """Base of all node types.

    Attributes:
        id: the node id in the graph.
        data: the node's raw `data` (kept for export and single-node runs).
        title: the node's title.
        parent_id: the iteration/loop that contains the node, if any.
        error_strategy: `fail-branch`, `default-value` or None (a failure fails the run).
        default_outputs: the outputs used by the `default-value` strategy.
        retry: the retry policy, or None.
    """

    type: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()
    inline: ClassVar[bool] = True  # run_sync is pure computation; run inline, without a task
    streams: ClassVar[frozenset[str]] = frozenset()  # outputs whose text is streamed as it is produced
    container: ClassVar[bool] = False  # iteration / loop: owns a subgraph
    registry: ClassVar[dict[str, type[Node]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("type"):
            for name in (cls.type, *cls.aliases):
                Node.registry[name] = cls

    def __init__(self, node_id: str, data: dict[str, Any], *, parent_id: str | None = None) -> None:
        self.id = node_id
        self.data = data
        self.title = str(data.get("title") or "")
        self.parent_id = parent_id
        strategy = data.get("error_strategy")
        self.error_strategy: str | None = strategy if strategy in ERROR_STRATEGIES else None
        self.default_outputs: dict[str, Any] = {}
        for item in data.get("default_value") or []:
            if isinstance(item, dict) and item.get("key"):
                self.default_outputs[str(item["key"])] = convert_to_type(item.get("value"), str(item.get("type") or ""))
        retry = data.get("retry_config") or {}
        self.retry: RetryPolicy | None = None
        if isinstance(retry, dict) and retry.get("retry_enabled") and int(retry.get("max_retries") or 0) > 0:
            self.retry = RetryPolicy(int(retry["max_retries"]), float(retry.get("retry_interval") or 0) / 1000)
        self.configure(data)

    def configure(self, data: dict[str, Any]) -> None:
        """Parse `data` into typed fields; raise `NodeConfigError` for malformed data."""

    def own_handles(self) -> frozenset[str]:
        """The source handles the node's own logic may choose (before error strategies)."""
        return frozenset({"source"})

    def handles(self) -> frozenset[str]:
        """Every source handle edges may leave by."""
        own = self.own_handles()
        if self.error_strategy == "fail-branch":
            return own | {"success-branch", "fail-branch"}
        return own

    def recorded_handle(self, outputs: dict[str, Any]) -> str:
        """The handle a recorded successful execution took (for resume), from its outputs."""
        del outputs
        return "source"

    def replay(self, ctx: NodeContext, process_data: dict[str, Any] | None) -> None:
        """Re-apply what a recorded execution did besides its outputs (resume).

        Called instead of `run` when a resumed run takes the node's recorded execution; its
        outputs are already in the pool. Nodes whose effects live elsewhere (an assigner's
        writes, a loop-end's break) redo them from the recorded `process_data`.
        """
        del ctx, process_data

    def references(self) -> list[Selector]:
        """The selectors this node reads (validated to exist upstream)."""
        return []

    def stream_parts(self) -> list[str | Selector] | None:
        """For Answer/End nodes: the literal texts and selectors streamed to the client, in order."""
        return None

    def run_sync(self, ctx: NodeContext) -> NodeResult:
        """Run the node without awaiting (inline nodes)."""
        del ctx
        raise NodeError(f"node type {self.type} cannot run")

    async def run(self, ctx: NodeContext) -> NodeResult:
        """Run the node; the default runs `run_sync`."""
        return self.run_sync(ctx)


def require(data: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    """A required field of `data` of the given type, or NodeConfigError."""
    value = data.get(key)
    if not isinstance(value, kind):
        raise NodeConfigError(f"field {key!r} is missing or has the wrong type")
    return value


def variable_bindings(raw: Any) -> list[tuple[str, Selector]]:
    """Dify's `variables: [{variable, value_selector}]` lists."""
    bindings: list[tuple[str, Selector]] = []
    for item in raw or []:
        if not isinstance(item, dict) or not item.get("variable"):
            continue
        selector = selector_of(item.get("value_selector"))
        if selector is not None:
            bindings.append((str(item["variable"]), selector))
        else:
            bindings.append((str(item["variable"]), ()))
    return bindings
