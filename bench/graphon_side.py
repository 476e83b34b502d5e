"""The graphon (Dify's workflow engine) side of `bench/workflow_engine.py`.

Runs in its own venv, never in the project's: graphon pins pydantic, pandas, transformers and
more, none of which Loomworks needs.

    python3 -m venv /tmp/graphon-venv && /tmp/graphon-venv/bin/pip install graphon==0.1.2
    /tmp/graphon-venv/bin/python bench/graphon_side.py --graphs FILE [--only one_node,chain]

It reads the same four graphs as our side (the DSL dicts and run counts that
`bench/workflow_engine.py` writes to `--graphs FILE`), runs each through graphon's
`GraphEngine` with its in-memory command channel and default config, consumes every event, and
prints one JSON object of medians (seconds) on stdout.

graphon leaves the outside world to its host, as we do: the template renderer is a sandboxed
Jinja2 environment, and the code node's executor sleeps 100 ms (the same stand-in for a sandbox
or model call as our side's code port). What graphon's host (Dify's `workflow_entry.py`) adds —
persistence layers, quota layers — is left out, so these are the engine's own costs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from graphon.entities.graph_init_params import GraphInitParams
from graphon.enums import BuiltinNodeTypes
from graphon.graph.graph import Graph
from graphon.graph_engine import GraphEngine
from graphon.graph_engine.command_channels import InMemoryChannel
from graphon.graph_events.graph import GraphRunSucceededEvent
from graphon.nodes.base.node import Node
from graphon.nodes.code.code_node import CodeNode
from graphon.nodes.code.limits import CodeNodeLimits
from graphon.nodes.end.end_node import EndNode
from graphon.nodes.iteration.iteration_node import IterationNode
from graphon.nodes.iteration.iteration_start_node import IterationStartNode
from graphon.nodes.start.start_node import StartNode
from graphon.nodes.template_transform.template_transform_node import TemplateTransformNode
from graphon.runtime.graph_runtime_state import GraphRuntimeState
from graphon.runtime.variable_pool import VariablePool
from graphon.template_rendering import Jinja2TemplateRenderer
from jinja2.sandbox import SandboxedEnvironment

_LIMITS = CodeNodeLimits(
    max_string_length=400_000,
    max_number=2**63 - 1,
    min_number=-(2**63),
    max_precision=20,
    max_depth=5,
    max_number_array_length=1000,
    max_string_array_length=1000,
    max_object_array_length=1000,
)


class SandboxedRenderer(Jinja2TemplateRenderer):
    """Renders template-transform nodes (Dify hands this to its code sandbox; in-process here)."""

    def __init__(self) -> None:
        self.env = SandboxedEnvironment()
        self.cache: dict[str, Any] = {}

    def render_template(self, template: str, variables: Mapping[str, Any]) -> str:
        compiled = self.cache.get(template)
        if compiled is None:
            compiled = self.cache[template] = self.env.from_string(template)
        return compiled.render(**variables)


class SleepExecutor:
    """A code executor that sleeps 100 ms and returns `{}` (as our side's code port does)."""

    def execute(self, *, language: Any, code: str, inputs: Mapping[str, Any]) -> Mapping[str, Any]:
        del language, code, inputs
        time.sleep(0.1)
        return {}

    def is_execution_error(self, error: Exception) -> bool:
        del error
        return False


class Factory:
    """graphon's `NodeFactory` for the node types the bench uses, bound to one runtime state."""

    def __init__(self, params: GraphInitParams, state: GraphRuntimeState) -> None:
        self.params = params
        self.state = state
        self.renderer = SandboxedRenderer()

    def create_node(self, node_config: Any) -> Node:
        kind = node_config["data"]["type"]
        common = {
            "id": str(node_config["id"]),
            "config": node_config,
            "graph_init_params": self.params,
            "graph_runtime_state": self.state,
        }
        if kind == BuiltinNodeTypes.TEMPLATE_TRANSFORM:
            return TemplateTransformNode(**common, jinja2_template_renderer=self.renderer)
        if kind == BuiltinNodeTypes.CODE:
            return CodeNode(**common, code_executor=SleepExecutor(), code_limits=_LIMITS)
        classes: dict[str, type[Node]] = {
            BuiltinNodeTypes.START: StartNode,
            BuiltinNodeTypes.END: EndNode,
            BuiltinNodeTypes.ITERATION: IterationNode,
            BuiltinNodeTypes.ITERATION_START: IterationStartNode,
        }
        return classes[kind](**common)


class ChildBuilder:
    """Builds the child engine of each iteration round, as Dify's `workflow_entry.py` does."""

    def build_child_engine(
        self,
        *,
        workflow_id: str,
        graph_init_params: GraphInitParams,
        parent_graph_runtime_state: GraphRuntimeState,
        root_node_id: str,
        variable_pool: VariablePool | None = None,
    ) -> GraphEngine:
        state = GraphRuntimeState(
            variable_pool=variable_pool if variable_pool is not None else parent_graph_runtime_state.variable_pool,
            start_at=time.perf_counter(),
        )
        graph = Graph.init(
            graph_config=graph_init_params.graph_config,
            node_factory=Factory(graph_init_params, state),
            root_node_id=root_node_id,
        )
        return GraphEngine(
            workflow_id=workflow_id,
            graph=graph,
            graph_runtime_state=state,
            command_channel=InMemoryChannel(),
            child_engine_builder=self,
        )


def run_once(config: dict[str, Any], inputs: dict[str, Any], system: dict[str, Any]) -> float:
    """Build and run one graph with graphon (built per run, as Dify does for every request)."""
    began = time.perf_counter()
    pool = VariablePool()
    for name, value in inputs.items():
        pool.add(["start", name], value)
    for name, value in system.items():
        pool.add(["sys", name], value)
    params = GraphInitParams(workflow_id="bench", graph_config=config, run_context={}, call_depth=0)
    state = GraphRuntimeState(variable_pool=pool, start_at=time.perf_counter())
    graph = Graph.init(graph_config=config, node_factory=Factory(params, state), root_node_id="start")
    engine = GraphEngine(
        workflow_id="bench",
        graph=graph,
        graph_runtime_state=state,
        command_channel=InMemoryChannel(),
        child_engine_builder=ChildBuilder(),
    )
    last = None
    for event in engine.run():
        last = event
    elapsed = time.perf_counter() - began
    if not isinstance(last, GraphRunSucceededEvent):
        raise RuntimeError(f"graphon run did not succeed: {last!r}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--graphs", type=Path, required=True, help="JSON file of the graphs (from workflow_engine.py)")
    parser.add_argument("--only", default="", help="comma-separated case names")
    args = parser.parse_args()
    cases = json.loads(args.graphs.read_text())
    only = set(filter(None, args.only.split(",")))
    results: dict[str, float] = {}
    for name, case in cases.items():
        if only and name not in only:
            continue
        runs = int(case["runs"])
        for _ in range(3 if runs > 5 else 0):  # warm up imports and caches (short cases only)
            run_once(case["graph"], case["inputs"], case["system"])
        samples = [run_once(case["graph"], case["inputs"], case["system"]) for _ in range(runs)]
        results[name] = statistics.median(samples)
        sys.stderr.write(f"graphon {name}: {results[name] * 1000:.2f} ms ({runs} runs)\n")
    sys.stdout.write(json.dumps(results) + "\n")


if __name__ == "__main__":
    main()
