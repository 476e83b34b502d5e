"""Workflow engine: graph, variable pool, runner, node types. Knows nothing of HTTP or the database.

Compile a DSL graph once with `WorkflowEngine.compile` (or `compile_graph`), run it many times
with `WorkflowEngine.run`, which yields Dify's events. What the engine needs from outside (models,
sandbox, HTTP, tools, retrieval, files, memory) is stated in `ports`.
"""

from loomworks.engine.errors import GraphValidationError, NodeError, Problem
from loomworks.engine.graph import Graph, compile_graph, validate_graph
from loomworks.engine.nodes import Node, NodeResult
from loomworks.engine.ports import Ports
from loomworks.engine.runner import Limits
from loomworks.engine.workflow import Resume, RunContext, WorkflowEngine

__all__ = [
    "Graph",
    "GraphValidationError",
    "Limits",
    "Node",
    "NodeError",
    "NodeResult",
    "Ports",
    "Problem",
    "Resume",
    "RunContext",
    "WorkflowEngine",
    "compile_graph",
    "validate_graph",
]
