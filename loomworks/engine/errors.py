"""Errors of the workflow engine.

Validation problems are collected (never raised one at a time) so that an editor can show all of
them; run-time failures of one node are `NodeError`s that the runner turns into a failed node (or
an error-strategy branch), and limits are `RunLimitError`s that fail the whole run.
"""

from __future__ import annotations

from dataclasses import dataclass

from loomworks.core.errors import LoomworksError


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a graph: `node_id` is None for graph-wide problems."""

    message: str
    node_id: str | None = None
    severity: str = "error"  # error | warning

    def __str__(self) -> str:
        return f"node {self.node_id}: {self.message}" if self.node_id else self.message


class GraphValidationError(LoomworksError):
    """The graph cannot run; `problems` lists every error found (warnings are kept on the graph)."""

    code, status, default_message = "invalid_graph", 400, "The workflow graph is invalid."

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems) or self.default_message)


class NodeError(Exception):
    """A node failed; `error_type` is shown to users (Dify's `error_type` output of fail-branch)."""

    def __init__(self, message: str, *, error_type: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.error_type = error_type or type(self).__name__


class NodeConfigError(NodeError):
    """A node's `data` is malformed (raised while compiling, reported as a validation problem)."""


class PortUnavailableError(NodeError):
    """A node needs a port (model, sandbox, HTTP, tools, retrieval, files) that is not configured."""


class RunLimitError(Exception):
    """A run limit (steps, wall time, depth, output size) was reached; the run fails with this message."""
