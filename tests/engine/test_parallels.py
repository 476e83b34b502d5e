"""Parallel branches (Dify's parallel fields and branch events), streaming inside containers,
resume inside iterations and masking of secret environment values in recorded inputs."""

from __future__ import annotations

from typing import Any

import pytest

from loomworks.engine import Ports, Resume, RunContext, WorkflowEngine, compile_graph
from tests.engine._fakes import FakeCode, FakeHttp, FakeModel
from tests.engine._graphs import chain, collect, edge, end, finished, graph, node, node_data, start, template


def _code(node_id: str, parent: str | None = None) -> dict[str, Any]:
    return node(node_id, "code", parent, code=node_id, outputs={"v": {"type": "string"}})


def _fork_join() -> dict[str, Any]:
    """start -> (a1 -> a2 | b1) -> join -> end."""
    return graph(
        [start(), _code("a1"), _code("a2"), _code("b1"), template("join", "done"), end(out=["join", "output"])],
        [
            edge("start", "a1"),
            edge("start", "b1"),
            *chain("a1", "a2", "join"),
            edge("b1", "join"),
            edge("join", "end"),
        ],
    )


def _parallel_events(events: list[dict[str, Any]]) -> list[str]:
    out = []
    for e in events:
        if e["event"] in ("parallel_branch_started", "parallel_branch_finished"):
            out.append(f"{e['event']}:{e['data']['parallel_branch_id']}")
        elif e["event"] == "node_finished":
            out.append(f"node_finished:{e['data']['node_id']}")
    return out


async def test_fork_join_fills_parallel_fields_and_branch_events() -> None:
    events = await collect(_fork_join(), ports=Ports(code=FakeCode(results={"v": "x"})))
    assert finished(events)["status"] == "succeeded"
    a1, a2, b1 = (node_data(events, n, "node_started") for n in ("a1", "a2", "b1"))
    parallel_id = a1["parallel_id"]
    assert parallel_id
    assert b1["parallel_id"] == parallel_id
    assert a2["parallel_id"] == parallel_id
    assert (a1["parallel_start_node_id"], a2["parallel_start_node_id"], b1["parallel_start_node_id"]) == (
        "a1",
        "a1",
        "b1",
    )
    assert a1["parent_parallel_id"] is None
    assert a1["parent_parallel_start_node_id"] is None
    # Before the fork and after the join, nodes are in no parallel.
    for outside in ("start", "join", "end"):
        assert node_data(events, outside, "node_started")["parallel_id"] is None
    assert node_data(events, "a2")["execution_metadata"]["parallel_start_node_id"] == "a1"
    seq = _parallel_events(events)
    assert seq.count("parallel_branch_started:a1") == 1
    assert seq.count("parallel_branch_started:b1") == 1
    # A branch finishes after its last node and before the join runs.
    assert seq.index("node_finished:a2") < seq.index("parallel_branch_finished:a1") < seq.index("node_finished:join")
    assert seq.index("node_finished:b1") < seq.index("parallel_branch_finished:b1") < seq.index("node_finished:join")
    names = [e["event"] for e in events]
    assert names.index("parallel_branch_started") < next(
        i for i, e in enumerate(events) if e["event"] == "node_started" and e["data"]["node_id"] in ("a1", "b1")
    )
    branch_finished = [e["data"] for e in events if e["event"] == "parallel_branch_finished"]
    assert all(d["status"] == "succeeded" and d["error"] is None for d in branch_finished)
    assert set(branch_finished[0]) >= {
        "parallel_id",
        "parallel_branch_id",
        "parent_parallel_id",
        "parent_parallel_start_node_id",
        "iteration_id",
        "loop_id",
        "created_at",
        "status",
        "error",
    }


async def test_nested_parallel_names_its_parent() -> None:
    """start -> (a -> (x | y) -> a_join | b) -> join: x and y are a parallel inside branch a."""
    raw = graph(
        [
            start(),
            _code("a"),
            _code("x"),
            _code("y"),
            template("a_join", "j"),
            _code("b"),
            template("join", "done"),
            end(out=["join", "output"]),
        ],
        [
            edge("start", "a"),
            edge("start", "b"),
            edge("a", "x"),
            edge("a", "y"),
            edge("x", "a_join"),
            edge("y", "a_join"),
            edge("a_join", "join"),
            edge("b", "join"),
            edge("join", "end"),
        ],
    )
    events = await collect(raw, ports=Ports(code=FakeCode(results={"v": "x"})))
    outer = node_data(events, "a", "node_started")["parallel_id"]
    x = node_data(events, "x", "node_started")
    assert x["parallel_id"] not in (None, outer)
    assert (x["parallel_start_node_id"], x["parent_parallel_id"], x["parent_parallel_start_node_id"]) == (
        "x",
        outer,
        "a",
    )
    # a_join closes the inner parallel but is still inside the outer branch a.
    a_join = node_data(events, "a_join", "node_started")
    assert (a_join["parallel_id"], a_join["parallel_start_node_id"]) == (outer, "a")
    seq = _parallel_events(events)
    assert seq.index("parallel_branch_finished:x") < seq.index("parallel_branch_finished:a")
    assert seq.index("node_finished:a_join") < seq.index("parallel_branch_finished:a")


async def test_if_else_branches_are_not_parallels() -> None:
    cond = {"variable_selector": ["start", "x"], "comparison_operator": "is", "value": "go"}
    raw = graph(
        [
            start("x"),
            node("if", "if-else", cases=[{"case_id": "yes", "conditions": [cond]}]),
            template("y", "yes"),
            template("n", "no"),
            end(),
        ],
        [edge("start", "if"), edge("if", "y", "yes"), edge("if", "n", "false"), edge("y", "end"), edge("n", "end")],
    )
    events = await collect(raw, {"x": "go"})
    assert not [e for e in events if e["event"].startswith("parallel_branch")]
    assert node_data(events, "y", "node_started")["parallel_id"] is None


async def test_a_failing_branch_finishes_failed() -> None:
    class FailB:
        async def execute(self, *, language: str, code: str, inputs: dict[str, Any]) -> dict[str, Any]:
            if code == "b1":
                raise ValueError("b1 broke")
            return {"v": "ok"}

    events = await collect(_fork_join(), ports=Ports(code=FailB()))
    assert finished(events)["status"] == "failed"
    failed = [e["data"] for e in events if e["event"] == "parallel_branch_finished" and e["data"]["status"] == "failed"]
    assert [(d["parallel_branch_id"], d["error"]) for d in failed] == [("b1", "b1 broke")]


async def test_parallel_inside_an_iteration_carries_the_iteration_id() -> None:
    raw = graph(
        [
            start("x"),
            node(
                "it",
                "iteration",
                iterator_selector=["start", "x"],
                output_selector=["j", "output"],
                start_node_id="its",
            ),
            node("its", "iteration-start", parent="it"),
            _code("p", "it"),
            _code("q", "it"),
            {**template("j", "{{ a }}", a=["p", "v"]), "parentId": "it"},
            end(out=["it", "output"]),
        ],
        [*chain("start", "it", "end"), edge("its", "p"), edge("its", "q"), edge("p", "j"), edge("q", "j")],
    )
    events = await collect(raw, {"x": ["1", "2"]}, ports=Ports(code=FakeCode(results={"v": "v"})))
    assert finished(events)["outputs"] == {"out": ["v", "v"]}
    branches = [e["data"] for e in events if e["event"] == "parallel_branch_started"]
    assert len(branches) == 4  # two branches in each of two rounds
    assert {d["iteration_id"] for d in branches} == {"it"}
    p = [e["data"] for e in events if e["event"] == "node_started" and e["data"]["node_id"] == "p"]
    assert all(d["parallel_start_node_id"] == "p" and d["iteration_id"] == "it" for d in p)


# --- answers stream inside iterations and loops -----------------------------------------------


def _llm(node_id: str, parent: str | None = None) -> dict[str, Any]:
    return node(
        node_id,
        "llm",
        parent,
        model={"provider": "fake", "name": "m", "mode": "chat"},
        prompt_template=[{"role": "user", "text": "{{#it.item#}}"}],
    )


async def test_answer_inside_an_iteration_streams_llm_deltas() -> None:
    raw = graph(
        [
            start(),
            node(
                "it",
                "iteration",
                iterator_selector=["sys", "items"],
                output_selector=["llm", "text"],
                start_node_id="its",
            ),
            node("its", "iteration-start", parent="it"),
            _llm("llm", "it"),
            node("ans", "answer", "it", answer="[{{#it.index#}}:{{#llm.text#}}]"),
            node("final", "answer", answer="end"),
        ],
        [*chain("start", "it", "final"), *chain("its", "llm", "ans")],
    )
    events = await collect(
        raw,
        mode="advanced-chat",
        ports=Ports(model=FakeModel(reply="abcd", pieces=2)),
        system={"query": "q", "items": ["x", "y"]},
    )
    assert finished(events)["status"] == "succeeded"
    chunks = [(e["data"]["answer"], e["data"]["from_variable_selector"]) for e in events if e["event"] == "message"]
    assert chunks == [
        ("[", ["ans", "answer"]),
        ("0", ["it", "index"]),
        (":", ["ans", "answer"]),
        ("ab", ["llm", "text"]),
        ("cd", ["llm", "text"]),
        ("]", ["ans", "answer"]),
        ("[", ["ans", "answer"]),
        ("1", ["it", "index"]),
        (":", ["ans", "answer"]),
        ("ab", ["llm", "text"]),
        ("cd", ["llm", "text"]),
        ("]", ["ans", "answer"]),
        ("end", ["final", "answer"]),
    ]
    # The deltas go out while the LLM runs, not when the answer node finishes.
    order = [(e["event"], e["data"].get("node_id")) for e in events]
    first_delta = next(i for i, e in enumerate(events) if e["event"] == "message" and e["data"]["answer"] == "ab")
    assert first_delta < order.index(("node_finished", "llm"))


async def test_answer_inside_a_loop_streams_each_round() -> None:
    raw = graph(
        [
            start(),
            node("lo", "loop", loop_count=2, start_node_id="ls", break_conditions=[], loop_variables=[]),
            {**node("ls", "loop-start"), "parentId": "lo"},
            {
                **node(
                    "llm",
                    "llm",
                    model={"provider": "fake", "name": "m", "mode": "chat"},
                    prompt_template=[{"role": "user", "text": "hi"}],
                ),
                "parentId": "lo",
            },
            {**node("ans", "answer", answer="<{{#llm.text#}}>"), "parentId": "lo"},
        ],
        [edge("start", "lo"), *chain("ls", "llm", "ans")],
    )
    events = await collect(
        raw, mode="advanced-chat", ports=Ports(model=FakeModel(reply="xy", pieces=2)), system={"query": "q"}
    )
    assert finished(events)["status"] == "succeeded"
    text = [e["data"]["answer"] for e in events if e["event"] == "message"]
    assert text == ["<", "x", "y", ">", "<", "x", "y", ">"]


# --- resume inside an iteration ---------------------------------------------------------------


class CountingEcho:
    def __init__(self) -> None:
        self.items: list[Any] = []

    async def execute(self, *, language: str, code: str, inputs: dict[str, Any]) -> dict[str, Any]:
        self.items.append(inputs.get("item"))
        return {"v": str(inputs.get("item")).upper()}


def _iteration_graph(parallel: bool = False) -> dict[str, Any]:
    return graph(
        [
            start("x"),
            node(
                "it",
                "iteration",
                iterator_selector=["start", "x"],
                output_selector=["code", "v"],
                start_node_id="its",
                is_parallel=parallel,
            ),
            node("its", "iteration-start", parent="it"),
            node(
                "code",
                "code",
                parent="it",
                code="c",
                outputs={"v": {"type": "string"}},
                variables=[{"variable": "item", "value_selector": ["it", "item"]}],
            ),
            end(out=["it", "output"]),
        ],
        [*chain("start", "it", "end"), edge("its", "code")],
    )


@pytest.mark.parametrize("parallel", [False, True])
async def test_an_iteration_cut_off_mid_way_resumes_from_its_recorded_rounds(parallel: bool) -> None:
    compiled = compile_graph(_iteration_graph(parallel))
    code = CountingEcho()
    engine = WorkflowEngine(Ports(code=code))
    items = ["a", "b", "c", "d"]
    full = [e async for e in engine.run(compiled, inputs={"x": items})]
    assert full[-1]["data"]["outputs"] == {"out": ["A", "B", "C", "D"]}
    records = [e["data"] for e in full if e["event"] == "node_finished"]
    # A crash during round 2: start and the inner records of rounds 0 and 1 survive; the iteration did not finish.
    kept = [
        r
        for r in records
        if r["node_id"] == "start"
        or (r["node_id"] in ("its", "code") and r["execution_metadata"]["iteration_index"] in (0, 1))
    ]
    code.items.clear()
    resumed = [e async for e in engine.run(compiled, inputs={"x": items}, resume=Resume(kept))]
    assert resumed[-1]["data"]["status"] == "succeeded"
    assert resumed[-1]["data"]["outputs"] == {"out": ["A", "B", "C", "D"]}
    assert sorted(code.items) == ["c", "d"]  # rounds 0 and 1 were not run again


async def test_a_round_without_its_output_node_runs_again() -> None:
    compiled = compile_graph(_iteration_graph())
    code = CountingEcho()
    engine = WorkflowEngine(Ports(code=code))
    full = [e async for e in engine.run(compiled, inputs={"x": ["a", "b"]})]
    records = [e["data"] for e in full if e["event"] == "node_finished"]
    # Round 1 got only as far as its start node.
    kept = [r for r in records if r["node_id"] != "it" and not (r["node_id"] == "code" and r["iteration_id"])]
    kept += [r for r in records if r["node_id"] == "code" and r["execution_metadata"]["iteration_index"] == 0]
    code.items.clear()
    resumed = [e async for e in engine.run(compiled, inputs={"x": ["a", "b"]}, resume=Resume(kept))]
    assert resumed[-1]["data"]["outputs"] == {"out": ["A", "B"]}
    assert code.items == ["b"]


# --- secret environment values ----------------------------------------------------------------

SECRET = "sk-live-0123456789abcdef"


async def test_secret_environment_values_are_masked_in_recorded_inputs() -> None:
    raw = graph(
        [
            start(),
            node(
                "http",
                "http-request",
                method="get",
                url="https://example.test/items?key={{#env.API_KEY#}}",
                headers="Authorization:Bearer {{#env.API_KEY#}}",
                params="",
                body={"type": "none", "data": []},
                authorization={"type": "no-auth"},
                timeout={},
            ),
            template("t", "{{ k }}|{{ p }}", k=["env", "API_KEY"], p=["env", "PLAIN"]),
            end(key=["t", "output"]),
        ],
        chain("start", "http", "t", "end"),
    )
    http = FakeHttp()
    events = await collect(
        raw,
        ports=Ports(http=http),
        environment=[
            {"name": "API_KEY", "value": SECRET, "value_type": "secret"},
            {"name": "PLAIN", "value": "visible", "value_type": "string"},
        ],
    )
    assert finished(events)["status"] == "succeeded"
    # The run itself used the real value...
    assert SECRET in http.requests[0].url
    assert finished(events)["outputs"] == {"key": f"{SECRET}|visible"}
    # ...but no recorded inputs or process data show it.
    for e in events:
        if e["event"] == "node_finished":
            assert SECRET not in repr(e["data"]["inputs"]) + repr(e["data"]["process_data"])
    t_inputs = node_data(events, "t")["inputs"]
    assert t_inputs == {"k": "sk-liv" + "*" * 12 + "ef", "p": "visible"}
    assert "sk-liv" + "*" * 12 + "ef" in repr(node_data(events, "http")["process_data"])


async def test_runs_without_secrets_record_inputs_as_they_are() -> None:
    raw = graph([start(), template("t", "{{ k }}", k=["env", "K"]), end(o=["t", "output"])], chain("start", "t", "end"))
    engine = WorkflowEngine()
    events = [
        e
        async for e in engine.run(
            compile_graph(raw),
            inputs={},
            context=RunContext(environment=[{"name": "K", "value": "plain", "value_type": "string"}]),
        )
    ]
    assert node_data(events, "t")["inputs"] == {"k": "plain"}
