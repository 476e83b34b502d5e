"""Durability hooks: resume from recorded node executions, rerun from a node, run one node alone."""

from __future__ import annotations

from typing import Any

from loomworks.engine import Ports, Resume, RunContext, WorkflowEngine, compile_graph
from tests.engine._fakes import FakeCode
from tests.engine._graphs import chain, edge, end, graph, node, start, template


def _graph() -> dict[str, Any]:
    cond = {"variable_selector": ["start", "x"], "comparison_operator": "is", "value": "go"}
    return graph(
        [
            start("x"),
            node("c1", "code", code="one", outputs={"v": {"type": "string"}}),
            node("if", "if-else", cases=[{"case_id": "yes", "conditions": [cond]}]),
            node("c2", "code", code="two", outputs={"v": {"type": "string"}}),
            template("no", "no"),
            template("t", "{{ a }}-{{ b }}", a=["c1", "v"], b=["c2", "v"]),
            end(out=["t", "output"]),
        ],
        [*chain("start", "c1", "if"), edge("if", "c2", "yes"), edge("if", "no", "false"), *chain("c2", "t", "end")],
    )


class CountingCode:
    def __init__(self) -> None:
        self.codes: list[str] = []

    async def execute(self, *, language: str, code: str, inputs: dict[str, Any]) -> dict[str, Any]:
        self.codes.append(code)
        return {"v": code.upper()}


async def _events(engine: WorkflowEngine, stream: Any) -> list[dict[str, Any]]:
    return [e async for e in stream]


async def test_resume_replays_finished_nodes_and_runs_the_rest() -> None:
    compiled = compile_graph(_graph())
    code = CountingCode()
    engine = WorkflowEngine(Ports(code=code))
    full = await _events(engine, engine.run(compiled, inputs={"x": "go"}))
    assert full[-1]["data"]["outputs"] == {"out": "ONE-TWO"}
    records = [e["data"] for e in full if e["event"] == "node_finished"]
    # A crash after the if-else: the records up to it survive.
    cut = [r for r in records if r["node_id"] in ("start", "c1", "if")]
    code.codes.clear()
    resumed = await _events(engine, engine.run(compiled, inputs={"x": "go"}, resume=Resume(cut)))
    assert [e["data"]["node_id"] for e in resumed if e["event"] == "node_started"] == ["c2", "t", "end"]
    assert code.codes == ["two"]
    assert resumed[-1]["data"]["outputs"] == {"out": "ONE-TWO"}
    assert resumed[-1]["data"]["status"] == "succeeded"


async def test_resume_keeps_the_recorded_branch() -> None:
    compiled = compile_graph(_graph())
    engine = WorkflowEngine(Ports(code=CountingCode()))
    records = [
        {"node_id": "start", "status": "succeeded", "outputs": {"x": "stop"}},
        {"node_id": "c1", "status": "succeeded", "outputs": {"v": "ONE"}},
        {"node_id": "if", "status": "succeeded", "outputs": {"result": False, "selected_case_id": "false"}},
    ]
    resumed = await _events(engine, engine.run(compiled, inputs={"x": "go"}, resume=Resume(records)))
    assert [e["data"]["node_id"] for e in resumed if e["event"] == "node_started"] == ["no"]


async def test_rerun_from_a_node_reruns_it_and_its_descendants() -> None:
    compiled = compile_graph(_graph())
    code = CountingCode()
    engine = WorkflowEngine(Ports(code=code))
    full = await _events(engine, engine.run(compiled, inputs={"x": "go"}))
    records = [e["data"] for e in full if e["event"] == "node_finished"]
    code.codes.clear()
    again = await _events(engine, engine.rerun_from(compiled, "c2", inputs={"x": "go"}, finished=records))
    assert [e["data"]["node_id"] for e in again if e["event"] == "node_started"] == ["c2", "t", "end"]
    assert code.codes == ["two"]


async def test_run_one_node_with_given_inputs() -> None:
    compiled = compile_graph(_graph())
    engine = WorkflowEngine(Ports(code=FakeCode()))
    events = await _events(
        engine, engine.run_node(compiled, "t", {"c1.v": "A", "#c2.v#": "B"}, context=RunContext(run_id="r"))
    )
    assert [e["event"] for e in events] == ["node_started", "node_finished"]
    assert events[-1]["data"]["outputs"] == {"output": "A-B"}
    assert events[-1]["data"]["inputs"] == {"a": "A", "b": "B"}


async def test_finished_events_carry_what_resume_needs() -> None:
    compiled = compile_graph(_graph())
    engine = WorkflowEngine(Ports(code=CountingCode()))
    events = await _events(engine, engine.run(compiled, inputs={"x": "go"}))
    for data in (e["data"] for e in events if e["event"] == "node_finished"):
        assert {"node_id", "status", "inputs", "outputs", "process_data", "execution_metadata"} <= set(data)
    replays = engine.replays(compiled, [e["data"] for e in events if e["event"] == "node_finished"])
    assert replays["if"].handle == "yes"
