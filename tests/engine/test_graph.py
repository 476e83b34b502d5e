"""Graph validation: every problem reported with the node it concerns; never a crash on any input."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loomworks.engine import GraphValidationError, compile_graph, validate_graph
from tests.engine._graphs import chain, edge, end, graph, node, start, template


def errors(raw: Any, mode: str = "workflow") -> list[str]:
    return [str(p) for p in validate_graph(raw, mode=mode) if p.severity == "error"]


def warnings(raw: Any) -> list[str]:
    return [str(p) for p in validate_graph(raw) if p.severity == "warning"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (graph([end()], []), "exactly one start node, found 0"),
        (graph([start(), {**start(), "id": "s2"}, end()], []), "exactly one start node, found 2"),
        (
            graph([start(), node("x", "magic-node"), node("y", "magic-node")], []),
            "unsupported node type 'magic-node' (nodes x, y)",
        ),
        (graph([start(), node("x", "no-type-here")], []), "unsupported node type"),
        (graph([start(), {"id": "x", "data": {"title": "t"}}], []), "node x: the node has no data.type"),
        (
            graph([start(), template("a", "1"), template("b", "2")], [*chain("start", "a", "b"), edge("b", "a")]),
            "cycle through nodes a, b",
        ),
        (graph([start(), template("a", "1")], [edge("start", "a", "nope")]), "handle 'nope'"),
        (
            graph(
                [start(), node("if", "if-else", cases=[{"case_id": "c1", "conditions": []}]), template("a", "1")],
                [edge("start", "if"), edge("if", "a", "c2")],
            ),
            "handle 'c2'",
        ),
        (graph([start(), template("a", "{% if %}")], chain("start", "a")), "template syntax error"),
        (graph([start(), node("c", "code", code_language="cobol")], chain("start", "c")), "unsupported code_language"),
        (graph([start(), node("lo", "list-operator")], chain("start", "lo")), "no variable selected"),
        (
            graph(
                [
                    start(),
                    node(
                        "if",
                        "if-else",
                        cases=[
                            {
                                "case_id": "c",
                                "conditions": [{"variable_selector": ["start", "x"], "comparison_operator": "~~"}],
                            }
                        ],
                    ),
                ],
                chain("start", "if"),
            ),
            "unknown comparison operator",
        ),
        (
            graph([start(), node("it", "iteration", iterator_selector=["start", "x"])], chain("start", "it")),
            "the iteration has no inner nodes",
        ),
        ("not a graph", "must be an object"),
    ],
)
def test_validation_errors(raw: Any, expected: str) -> None:
    found = errors(raw)
    assert any(expected in e for e in found), found
    with pytest.raises(GraphValidationError):
        compile_graph(raw)


def test_warnings_do_not_block() -> None:
    raw = graph(
        [start(), template("a", "{{ v }}", v=["ghost", "x"]), template("lonely", "1"), end()],
        [*chain("start", "a", "end"), edge("start", "deleted")],
    )
    found = warnings(raw)
    assert any("ghost.x from a node that does not exist" in w for w in found)
    assert any("node lonely: the node cannot be reached" in w for w in found)
    assert any("joins a node that does not exist" in w for w in found)
    assert compile_graph(raw).warnings


def test_reference_to_a_sibling_branch_is_a_warning() -> None:
    raw = graph(
        [start(), template("a", "1"), template("b", "{{ v }}", v=["a", "output"])],
        [edge("start", "a"), edge("start", "b")],
    )
    assert any("not upstream" in w for w in warnings(raw))


def test_handles_fail_branch_and_legacy_true() -> None:
    raw = graph(
        [
            start(),
            node("c", "code", code="x", outputs={}, error_strategy="fail-branch"),
            template("ok", "1"),
            template("bad", "2"),
            node("if", "if-else", cases=[{"case_id": "uuid-1", "conditions": []}]),
            template("t", "3"),
        ],
        [
            edge("start", "c"),
            edge("c", "ok"),
            edge("c", "bad", "fail-branch"),
            edge("ok", "if"),
            edge("if", "t", "true"),
        ],
    )
    compiled = compile_graph(raw)
    handles = {(e.source, e.target): e.handle for edges in compiled.root.out_edges.values() for e in edges}
    assert handles[("c", "ok")] == "success-branch"
    assert handles[("if", "t")] == "uuid-1"


def test_container_edges_and_start() -> None:
    raw = graph(
        [
            start(),
            node(
                "it",
                "iteration",
                iterator_selector=["start", "x"],
                output_selector=["in", "output"],
                start_node_id="in",
            ),
            template("in", "1"),
        ],
        chain("start", "it"),
    )
    raw["nodes"][2]["parentId"] = "it"
    compiled = compile_graph(raw)
    assert compiled.subgraphs["it"].start_id == "in"
    raw["edges"].append(edge("in", "start"))
    assert any("crosses a container boundary" in e for e in errors(raw))


def test_advanced_chat_mode_plans_answer_streams() -> None:
    raw = graph([start(), node("a", "answer", answer="hi {{#sys.query#}}")], chain("start", "a"))
    compiled = compile_graph(raw, mode="advanced-chat")
    assert compiled.root.streams[0].parts == ["hi ", ("sys", "query")]
    assert errors(raw, mode="chat") == ["unknown mode 'chat'"]


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
_node = st.fixed_dictionaries(
    {
        "id": st.one_of(st.sampled_from(["start", "a", "b", "c"]), st.integers(), st.none()),
        "data": st.one_of(
            _json,
            st.fixed_dictionaries(
                {
                    "type": st.sampled_from(
                        [
                            "start",
                            "end",
                            "answer",
                            "if-else",
                            "code",
                            "llm",
                            "iteration",
                            "loop",
                            "template-transform",
                            "assigner",
                            "list-operator",
                            "http-request",
                            "tool",
                            "x",
                        ]
                    ),
                    "title": st.text(max_size=5),
                },
                optional={
                    "cases": _json,
                    "variables": _json,
                    "outputs": _json,
                    "template": _json,
                    "model": _json,
                    "prompt_template": _json,
                    "items": _json,
                    "iterator_selector": _json,
                    "error_strategy": _json,
                    "retry_config": _json,
                    "default_value": _json,
                    "answer": _json,
                    "url": _json,
                    "body": _json,
                },
            ),
        ),
    },
    optional={"parentId": st.sampled_from(["a", "b", "zzz"])},
)
_edge = st.fixed_dictionaries(
    {"source": st.sampled_from(["start", "a", "b", "c", 1]), "target": st.sampled_from(["start", "a", "b", "c"])},
    optional={"sourceHandle": st.sampled_from(["source", "true", "false", "fail-branch", "x", None])},
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        _json,
        st.fixed_dictionaries({"nodes": st.lists(_node, max_size=6), "edges": st.lists(_edge, max_size=8)}),
        st.fixed_dictionaries({"nodes": _json, "edges": _json}),
    ),
    st.sampled_from(["workflow", "advanced-chat"]),
)
def test_validation_never_crashes(raw: Any, mode: str) -> None:
    problems = validate_graph(raw, mode=mode)
    assert all(p.message for p in problems)
    # The catch-all in validate_graph is a last resort: no input shape should reach it.
    assert not [p for p in problems if "cannot be read" in p.message], problems
    if not [p for p in problems if p.severity == "error"]:
        compile_graph(raw, mode=mode)


def test_containers_that_are_each_others_parents_do_not_hang_validation() -> None:
    """Found by the Hypothesis test above in CI: a parent cycle made the reference check loop forever."""
    raw = {
        "nodes": [
            {"id": "start", "data": {"type": "start", "variables": []}},
            {"id": "a", "parentId": "b", "data": {"type": "iteration", "iterator_selector": ["start", "x"]}},
            {"id": "b", "parentId": "a", "data": {"type": "iteration", "iterator_selector": ["a", "item"]}},
        ],
        "edges": [],
    }
    problems = validate_graph(raw, mode="workflow")
    assert problems
