"""Graph compilation: the DSL `graph` dict validated once into typed nodes and edges by handle.

`compile_graph` returns a `Graph` (or raises `GraphValidationError` listing every problem);
`validate_graph` returns the problems and never raises, whatever it is given. Iteration and loop
containers own a `Subgraph` each; the top level is `Graph.root`. Note nodes are dropped.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from loomworks.engine.errors import GraphValidationError, NodeConfigError, Problem
from loomworks.engine.nodes import Node
from loomworks.engine.variables import SYSTEM_ROOTS, Selector

MODES = ("workflow", "advanced-chat")
_NOTE_TYPES = ("", "note", "custom-note")
_CONTAINER_START = {"iteration": "iteration-start", "loop": "loop-start"}


@dataclass(frozen=True, slots=True)
class Edge:
    """An edge leaving `source` by `handle` towards `target`."""

    source: str
    target: str
    handle: str


@dataclass(slots=True)
class StreamPlan:
    """What an Answer (chatflow) or End (workflow) node streams, and which nodes gate its start."""

    node_id: str
    parts: list[str | Selector]
    gates: frozenset[str]


@dataclass(frozen=True, slots=True)
class ParallelBranch:
    """One branch of a parallel (a fork: one handle leading to several nodes), as Dify names it.

    Attributes:
        parallel_id: the parallel's id (fixed when the graph is compiled).
        start_node_id: the branch's first node (Dify's `parallel_start_node_id`/`parallel_branch_id`).
        parent_parallel_id: the parallel whose branch holds this fork, if any.
        parent_start_node_id: the first node of that enclosing branch.
        size: how many nodes the branch holds (up to the node where branches join).
    """

    parallel_id: str
    start_node_id: str
    parent_parallel_id: str | None
    parent_start_node_id: str | None
    size: int


@dataclass(slots=True)
class Subgraph:
    """The nodes of one level (the top level, or one container's inside) and their edges.

    `parallel_of` maps a node to the innermost parallel branch holding it; `branches_of` to
    every branch holding it, outermost first (a node inside a nested parallel is in both).
    """

    container_id: str | None
    start_id: str
    node_ids: list[str]
    out_edges: dict[str, list[Edge]]
    in_count: dict[str, int]
    order: list[str] = field(default_factory=list)  # topological order of the reachable nodes
    streams: list[StreamPlan] = field(default_factory=list)
    parallel_of: dict[str, ParallelBranch] = field(default_factory=dict)
    branches_of: dict[str, tuple[ParallelBranch, ...]] = field(default_factory=dict)


@dataclass(slots=True)
class Graph:
    """A compiled graph: nodes by id, the top-level subgraph and each container's subgraph."""

    mode: str
    nodes: dict[str, Node]
    root: Subgraph
    subgraphs: dict[str, Subgraph]
    warnings: list[Problem] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    def subgraph_of(self, node_id: str) -> Subgraph:
        """The subgraph holding a node."""
        parent = self.nodes[node_id].parent_id
        return self.subgraphs[parent] if parent else self.root

    def descendants(self, node_id: str) -> set[str]:
        """The node, every node reachable from it, and the insides of containers among them."""
        sub = self.subgraph_of(node_id)
        seen = {node_id}
        queue = deque([node_id])
        while queue:
            current = queue.popleft()
            for edge in sub.out_edges.get(current, ()):
                if edge.target not in seen:
                    seen.add(edge.target)
                    queue.append(edge.target)
        for container in list(seen):
            inner = self.subgraphs.get(container)
            if inner is not None:
                seen.update(inner.node_ids)
        return seen


def validate_graph(raw: Any, *, mode: str = "workflow") -> list[Problem]:
    """Every problem (errors and warnings) of a DSL graph; never raises."""
    try:
        _, problems = _compile(raw, mode)
    except Exception as exc:  # noqa: BLE001 - validation must report, not crash, on any input
        return [Problem(f"the graph cannot be read: {type(exc).__name__}: {exc}")]
    return problems


def compile_graph(raw: Any, *, mode: str = "workflow") -> Graph:
    """Compile a DSL graph (`{"nodes": [...], "edges": [...]}`) for `mode` (`workflow` or `advanced-chat`).

    Raises:
        GraphValidationError: with every error found; warnings are kept on `Graph.warnings`.
    """
    try:
        graph, problems = _compile(raw, mode)
    except Exception as exc:  # noqa: BLE001 - any malformed input is a validation error
        raise GraphValidationError([Problem(f"the graph cannot be read: {type(exc).__name__}: {exc}")]) from exc
    errors = [p for p in problems if p.severity == "error"]
    if errors or graph is None:
        raise GraphValidationError(errors or [Problem("the graph is invalid")])
    return graph


def _parent_of(raw_node: dict[str, Any], data: dict[str, Any]) -> str | None:
    parent = raw_node.get("parentId")
    if not parent and data.get("isInIteration"):
        parent = data.get("iteration_id")
    if not parent and data.get("isInLoop"):
        parent = data.get("loop_id")
    return str(parent) if parent else None


def _build_nodes(raw_nodes: list[Any], problems: list[Problem]) -> dict[str, Node]:
    nodes: dict[str, Node] = {}
    unknown: dict[str, list[str]] = {}
    for raw_node in raw_nodes:
        if not isinstance(raw_node, dict):
            problems.append(Problem("a node is not an object"))
            continue
        node_id = raw_node.get("id")
        data = raw_node.get("data")
        if not isinstance(node_id, str | int) or not str(node_id):
            problems.append(Problem("a node has no id"))
            continue
        node_id = str(node_id)
        if raw_node.get("type") == "custom-note" or (isinstance(data, dict) and data.get("type") in _NOTE_TYPES):
            continue
        if not isinstance(data, dict):
            problems.append(Problem("the node has no data", node_id))
            continue
        kind = data.get("type")
        if kind is None:
            problems.append(Problem("the node has no data.type", node_id))
            continue
        cls = Node.registry.get(str(kind))
        if cls is None:
            unknown.setdefault(str(kind), []).append(node_id)
            continue
        if node_id in nodes:
            problems.append(Problem("duplicate node id", node_id))
            continue
        try:
            nodes[node_id] = cls(node_id, data, parent_id=_parent_of(raw_node, data))
        except NodeConfigError as exc:
            problems.append(Problem(f"{kind}: {exc}", node_id))
        except Exception as exc:  # noqa: BLE001 - a malformed data dict is a problem to report
            problems.append(Problem(f"{kind}: malformed data ({type(exc).__name__}: {exc})", node_id))
    for kind, ids in sorted(unknown.items()):
        problems.append(Problem(f"unsupported node type {kind!r} (nodes {', '.join(ids)})"))
    return nodes


def _compile(raw: Any, mode: str) -> tuple[Graph | None, list[Problem]]:
    problems: list[Problem] = []
    if mode not in MODES:
        return None, [Problem(f"unknown mode {mode!r}")]
    if not isinstance(raw, dict):
        return None, [Problem("the graph must be an object with nodes and edges")]
    raw_nodes, raw_edges = raw.get("nodes") or [], raw.get("edges") or []
    if not isinstance(raw_nodes, list) or not isinstance(raw_edges, list):
        return None, [Problem("graph nodes and edges must be lists")]
    nodes = _build_nodes(raw_nodes, problems)
    for node in nodes.values():
        if node.parent_id is not None and (node.parent_id not in nodes or not nodes[node.parent_id].container):
            problems.append(Problem(f"the node's container {node.parent_id} is not an iteration or loop", node.id))
            node.parent_id = None
    edges = _edges(raw_edges, nodes, problems)
    levels: dict[str | None, list[str]] = {}
    for node in nodes.values():
        levels.setdefault(node.parent_id, []).append(node.id)
    root = _subgraph(None, levels.get(None, []), nodes, edges, problems)
    subgraphs: dict[str, Subgraph] = {}
    for node in nodes.values():
        if node.container:
            inner = _subgraph(node.id, levels.get(node.id, []), nodes, edges, problems)
            if inner is not None:
                subgraphs[node.id] = inner
    if root is None:
        return None, problems
    graph = Graph(mode, nodes, root, subgraphs, raw=raw)
    _check_references(graph, problems)
    _plan_streams(graph, root)
    if mode == "advanced-chat":
        for inner in subgraphs.values():
            _plan_streams(graph, inner)
    graph.warnings = [p for p in problems if p.severity == "warning"]
    return graph, problems


def _edges(raw_edges: list[Any], nodes: dict[str, Node], problems: list[Problem]) -> list[Edge]:
    edges: list[Edge] = []
    seen: set[tuple[str, str, str]] = set()
    for raw_edge in raw_edges:
        if not isinstance(raw_edge, dict):
            problems.append(Problem("an edge is not an object"))
            continue
        source, target = str(raw_edge.get("source", "")), str(raw_edge.get("target", ""))
        handle = str(raw_edge.get("sourceHandle") or "source")
        if source not in nodes or target not in nodes:
            # Dify's canvas leaves edges to deleted nodes behind; they can never be taken.
            problems.append(Problem(f"edge {source} -> {target} joins a node that does not exist", None, "warning"))
            continue
        src = nodes[source]
        if src.parent_id != nodes[target].parent_id:
            problems.append(Problem(f"edge {source} -> {target} crosses a container boundary", source))
            continue
        handle = _normalise_handle(src, handle)
        if handle not in src.handles():
            problems.append(
                Problem(f"edge to {target} leaves by handle {handle!r}, which the node does not have", source)
            )
            continue
        if (source, target, handle) in seen:
            continue
        seen.add((source, target, handle))
        edges.append(Edge(source, target, handle))
    return edges


def _normalise_handle(node: Node, handle: str) -> str:
    if node.error_strategy == "fail-branch" and handle == "source":
        return "success-branch"
    own = node.own_handles()
    if handle == "true" and "true" not in own:
        first = getattr(node, "first_case_id", None)
        if first:
            return str(first)
    return handle


def _subgraph(
    container_id: str | None, ids: list[str], nodes: dict[str, Node], edges: list[Edge], problems: list[Problem]
) -> Subgraph | None:
    members = set(ids)
    out_edges: dict[str, list[Edge]] = {node_id: [] for node_id in ids}
    in_count: dict[str, int] = dict.fromkeys(ids, 0)
    for edge in edges:
        if edge.source in members:
            out_edges[edge.source].append(edge)
            in_count[edge.target] += 1
    start = _start_of(container_id, ids, nodes, in_count, problems)
    if start is None:
        return None
    order = _topological(start, out_edges, problems, container_id)
    reachable = set(order)
    for node_id in ids:
        if node_id not in reachable and node_id != start:
            problems.append(Problem("the node cannot be reached from the start", node_id, "warning"))
    # Edges from unreachable nodes would leave their targets waiting forever: drop them.
    for node_id in ids:
        if node_id not in reachable:
            for edge in out_edges.pop(node_id, []):
                in_count[edge.target] -= 1
            out_edges[node_id] = []
    sub = Subgraph(container_id, start, ids, out_edges, in_count, order)
    _plan_parallels(sub)
    return sub


def _plan_parallels(sub: Subgraph) -> None:
    """Find the parallels (Dify's fork detection) and which nodes each branch holds.

    A fork is a node whose one handle leads to two or more nodes. Branch i holds the nodes
    reachable from its first node and from no other branch of the same fork (what two branches
    both reach lies past the join), within the enclosing branch when the fork is itself in one.
    """
    forks = [n for n in sub.order if _fork_targets(sub.out_edges.get(n, ()))]
    if not forks:
        return
    reach: dict[str, frozenset[str]] = {}
    for node_id in reversed(sub.order):
        below = {node_id}
        for edge in sub.out_edges.get(node_id, ()):
            below |= reach.get(edge.target, frozenset())
        reach[node_id] = frozenset(below)
    members: dict[ParallelBranch, frozenset[str]] = {}
    branches_of: dict[str, list[ParallelBranch]] = {}
    for fork in forks:
        enclosing = sub.parallel_of.get(fork)
        for targets in _fork_targets(sub.out_edges[fork]):
            held: list[tuple[str, frozenset[str]]] = []
            for target in targets:
                others = frozenset().union(*(reach[t] for t in targets if t != target))
                own = reach[target] - others
                if enclosing is not None:
                    own &= members[enclosing]
                if target in own:
                    held.append((target, own))
            if len(held) < 2:
                continue
            parallel_id = str(uuid.uuid4())
            for target, own in held:
                branch = ParallelBranch(
                    parallel_id,
                    target,
                    enclosing.parallel_id if enclosing else None,
                    enclosing.start_node_id if enclosing else None,
                    len(own),
                )
                members[branch] = own
                for node_id in own:
                    sub.parallel_of[node_id] = branch
                    branches_of.setdefault(node_id, []).append(branch)
    sub.branches_of = {node_id: tuple(found) for node_id, found in branches_of.items()}


def _fork_targets(edges: Iterable[Edge]) -> list[list[str]]:
    by_handle: dict[str, list[str]] = {}
    for edge in edges:
        targets = by_handle.setdefault(edge.handle, [])
        if edge.target not in targets:
            targets.append(edge.target)
    return [targets for targets in by_handle.values() if len(targets) > 1]


def _start_of(
    container_id: str | None, ids: list[str], nodes: dict[str, Node], in_count: dict[str, int], problems: list[Problem]
) -> str | None:
    if container_id is None:
        starts = [i for i in ids if nodes[i].type == "start"]
        if len(starts) != 1:
            problems.append(Problem(f"a workflow needs exactly one start node, found {len(starts)}"))
            return None
        if in_count[starts[0]]:
            problems.append(Problem("the start node cannot have incoming edges", starts[0]))
        return starts[0]
    container = nodes[container_id]
    declared = str(container.data.get("start_node_id") or "")
    if declared in ids:
        return declared
    kind = _CONTAINER_START.get(container.type, "")
    candidates = [i for i in ids if nodes[i].type == kind] or [i for i in ids if in_count[i] == 0]
    if len(candidates) == 1:
        return candidates[0]
    if not ids:
        problems.append(Problem(f"the {container.type} has no inner nodes", container_id))
    else:
        problems.append(Problem(f"the {container.type} has no start node (start_node_id {declared!r})", container_id))
    return None


def _topological(
    start: str, out_edges: dict[str, list[Edge]], problems: list[Problem], container_id: str | None
) -> list[str]:
    reachable = {start}
    queue = deque([start])
    while queue:
        for edge in out_edges.get(queue.popleft(), ()):
            if edge.target not in reachable:
                reachable.add(edge.target)
                queue.append(edge.target)
    indegree = dict.fromkeys(reachable, 0)
    for node_id in reachable:
        for edge in out_edges.get(node_id, ()):
            indegree[edge.target] += 1
    order: list[str] = []
    queue = deque(n for n in reachable if indegree[n] == 0)
    while queue:
        node_id = queue.popleft()
        order.append(node_id)
        for edge in out_edges.get(node_id, ()):
            indegree[edge.target] -= 1
            if indegree[edge.target] == 0:
                queue.append(edge.target)
    if len(order) != len(reachable):
        cyclic = sorted(n for n in reachable if indegree[n] > 0)
        where = f" inside {container_id}" if container_id else ""
        problems.append(Problem(f"the graph has a cycle{where} through nodes {', '.join(cyclic)}"))
    return order


def ancestors(sub: Subgraph) -> dict[str, set[str]]:
    """Each reachable node's ancestors within its subgraph."""
    result: dict[str, set[str]] = {n: set() for n in sub.order}
    for node_id in sub.order:
        for edge in sub.out_edges.get(node_id, ()):
            if edge.target in result:
                result[edge.target] |= result[node_id] | {node_id}
    return result


def _check_references(graph: Graph, problems: list[Problem]) -> None:
    upstream: dict[str, set[str]] = {}
    for sub in (graph.root, *graph.subgraphs.values()):
        upstream.update(ancestors(sub))
    for node in graph.nodes.values():
        if node.id not in upstream:
            continue
        allowed = set(upstream[node.id])
        parent = node.parent_id
        seen: set[str] = set()
        # A crafted DSL may make containers each other's parents: walk each ancestor once.
        while parent is not None and parent not in seen and parent in graph.nodes:
            seen.add(parent)
            allowed.add(parent)
            allowed |= upstream.get(parent, set())
            parent = graph.nodes[parent].parent_id
        if node.container:
            allowed.add(node.id)
            allowed |= set(graph.subgraphs[node.id].node_ids) if node.id in graph.subgraphs else set()
        for selector in _iter_refs(node):
            root = selector[0]
            if root in SYSTEM_ROOTS or root in allowed:
                continue
            if root not in graph.nodes:
                problems.append(
                    Problem(f"reads {'.'.join(selector)} from a node that does not exist", node.id, "warning")
                )
            else:
                problems.append(
                    Problem(f"reads {'.'.join(selector)} from a node that is not upstream", node.id, "warning")
                )


def _iter_refs(node: Node) -> Iterable[Selector]:
    for selector in node.references():
        if selector and len(selector) >= 2:
            yield selector


def _plan_streams(graph: Graph, root: Subgraph) -> None:
    """Plan the streamed text of a level's Answer (chatflow) or End (workflow) nodes.

    Inside an iteration or loop each round streams its own Answer nodes: parts read from outside
    the container are ready when the round starts, parts of the round's nodes as they finish.
    """
    kind = "answer" if graph.mode == "advanced-chat" else "end"
    up = ancestors(root)
    streamers = [n for n in root.order if graph.nodes[n].type == kind]
    # Containers with Answer nodes inside: what they say comes before the answers that follow them.
    speaking = {_outermost(graph, n.id, root.container_id) for n in graph.nodes.values() if n.type == "answer"}
    for node_id in streamers:
        parts = graph.nodes[node_id].stream_parts() or []
        if kind == "end":
            # Workflow apps stream only End outputs that come from a streaming node (an LLM's text).
            parts = [
                p
                for p in parts
                if isinstance(p, tuple)
                and len(p) == 2
                and p[0] in graph.nodes
                and p[1] in graph.nodes[p[0]].streams
                and graph.nodes[p[0]].parent_id is None
            ]
            if not parts:
                continue
        gates = {
            a
            for a in up.get(node_id, set())
            if len(graph.nodes[a].handles()) > 1 or a in streamers or (kind == "answer" and a in speaking)
        }
        root.streams.append(StreamPlan(node_id, list(parts), frozenset(gates)))


def _outermost(graph: Graph, node_id: str, level: str | None) -> str | None:
    """The container directly inside `level` that holds `node_id` (None when it is at `level`)."""
    parent = graph.nodes[node_id].parent_id
    seen: set[str] = set()
    while parent is not None and parent != level and parent not in seen and parent in graph.nodes:
        seen.add(parent)
        node_id, parent = parent, graph.nodes[parent].parent_id
    return node_id if parent == level and node_id in graph.subgraphs else None
