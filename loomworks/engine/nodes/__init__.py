"""Node types, one module each; importing this package registers them all (see `base.Node`)."""

from loomworks.engine.nodes import (
    assigner,
    classifier,
    code,
    extractor,
    flow,
    http_request,
    if_else,
    iteration,
    knowledge,
    list_operator,
    llm,
    loop,
    tool,
    transform,
)
from loomworks.engine.nodes.base import Node, NodeResult

__all__ = [
    "Node",
    "NodeResult",
    "assigner",
    "classifier",
    "code",
    "extractor",
    "flow",
    "http_request",
    "if_else",
    "iteration",
    "knowledge",
    "list_operator",
    "llm",
    "loop",
    "tool",
    "transform",
]
