"""Runner semantics as scenario tables: graph, inputs, expected outputs and expected event sequence."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from loomworks.engine import Limits, Ports
from tests.engine._fakes import FakeCode, FakeModel, all_ports
from tests.engine._graphs import (
    chain,
    collect,
    edge,
    end,
    finished,
    graph,
    names,
    node,
    node_data,
    ran,
    start,
    template,
)

LINEAR = graph(
    [start("name"), template("t1", "Hello {{ n }}", n=["start", "name"]), end(out=["t1", "output"])],
    chain("start", "t1", "end"),
)


async def test_linear_run_events_and_outputs() -> None:
    events = await collect(LINEAR, {"name": "Ada"})
    assert names(events) == [
        "workflow_started",
        "node_started:start",
        "node_finished:start",
        "node_started:t1",
        "node_finished:t1",
        "node_started:end",
        "node_finished:end",
        "workflow_finished",
    ]
    data = finished(events)
    assert data["status"] == "succeeded"
    assert data["outputs"] == {"out": "Hello Ada"}
    assert data["total_steps"] == 3
    assert data["exceptions_count"] == 0
    t1 = node_data(events, "t1")
    assert t1["status"] == "succeeded"
    assert t1["inputs"] == {"n": "Ada"}
    assert t1["index"] == 2
    assert t1["predecessor_node_id"] == "start"
    for key in ("process_data", "elapsed_time", "execution_metadata", "finished_at", "created_at", "files"):
        assert key in t1
    assert node_data(events, "start")["outputs"]["sys.workflow_run_id"] == "run-1"


def _branching(case_value: str) -> dict[str, Any]:
    cond = {"variable_selector": ["start", "x"], "comparison_operator": "is", "value": case_value}
    return graph(
        [
            start("x"),
            node("if", "if-else", cases=[{"case_id": "true", "logical_operator": "and", "conditions": [cond]}]),
            template("yes", "yes"),
            template("no", "no"),
            template("after_no", "after {{ v }}", v=["no", "output"]),
            node("agg", "variable-aggregator", variables=[["yes", "output"], ["after_no", "output"]]),
            end(out=["agg", "output"]),
        ],
        [
            edge("start", "if"),
            edge("if", "yes", "true"),
            edge("if", "no", "false"),
            *chain("no", "after_no"),
            edge("yes", "agg"),
            edge("after_no", "agg"),
            edge("agg", "end"),
        ],
    )


@pytest.mark.parametrize(
    ("value", "expected_ran", "output"),
    [
        ("a", ["start", "if", "yes", "agg", "end"], "yes"),
        ("b", ["start", "if", "no", "after_no", "agg", "end"], "after no"),
    ],
)
async def test_branches_skip_and_join(value: str, expected_ran: list[str], output: str) -> None:
    events = await collect(_branching("a"), {"x": value})
    assert ran(events) == expected_ran
    assert finished(events)["outputs"] == {"out": output}
    assert node_data(events, "if")["outputs"]["selected_case_id"] == ("true" if value == "a" else "false")


async def test_join_waits_for_every_taken_branch() -> None:
    raw = graph(
        [
            start(),
            node("c1", "code", code="a", outputs={"v": {"type": "string"}}),
            node("c2", "code", code="b", outputs={"v": {"type": "string"}}),
            template("join", "{{ a }}+{{ b }}", a=["c1", "v"], b=["c2", "v"]),
            end(out=["join", "output"]),
        ],
        [edge("start", "c1"), edge("start", "c2"), edge("c1", "join"), edge("c2", "join"), edge("join", "end")],
    )
    events = await collect(raw, ports=Ports(code=FakeCode(results={"v": "x"}, delay=0.01)))
    assert finished(events)["outputs"] == {"out": "x+x"}
    assert ran(events).index("join") > max(ran(events).index("c1"), ran(events).index("c2"))


async def test_parallel_branches_run_concurrently() -> None:
    branches = [f"b{i}" for i in range(8)]
    raw = graph(
        [
            start(),
            *[node(b, "code", code=b, outputs={"v": {"type": "string"}}) for b in branches],
            template("join", "done"),
            end(out=["join", "output"]),
        ],
        [*[edge("start", b) for b in branches], *[edge(b, "join") for b in branches], edge("join", "end")],
    )
    began = time.perf_counter()
    events = await collect(raw, ports=Ports(code=FakeCode(results={"v": "x"}, delay=0.1)))
    elapsed = time.perf_counter() - began
    assert finished(events)["status"] == "succeeded"
    assert elapsed < 0.3, elapsed
    started = [i for i, n in enumerate(names(events)) if n.startswith("node_started:b")]
    first_finish = next(i for i, n in enumerate(names(events)) if n.startswith("node_finished:b"))
    assert len(started) == 8
    assert max(started) < first_finish


def _llm(node_id: str, text: str = "{{#sys.query#}}") -> dict[str, Any]:
    return node(
        node_id,
        "llm",
        model={"provider": "fake", "name": "m", "mode": "chat"},
        prompt_template=[{"role": "user", "text": text}],
    )


async def test_chatflow_answer_streams_llm_deltas_in_template_order() -> None:
    raw = graph(
        [start(), _llm("llm"), node("answer", "answer", answer="Before {{#llm.text#}} after {{#sys.query#}}")],
        chain("start", "llm", "answer"),
    )
    events = await collect(
        raw, mode="advanced-chat", ports=Ports(model=FakeModel(reply="abcdef", pieces=3)), system={"query": "Q"}
    )
    chunks = [(e["data"]["answer"], e["data"]["from_variable_selector"]) for e in events if e["event"] == "message"]
    assert chunks == [
        ("Before ", ["answer", "answer"]),
        ("ab", ["llm", "text"]),
        ("cd", ["llm", "text"]),
        ("ef", ["llm", "text"]),
        (" after ", ["answer", "answer"]),
        ("Q", ["sys", "query"]),
    ]
    seq = names(events)
    # The literal prefix goes out as soon as the run starts, deltas before the LLM node finishes.
    assert seq.index("message") < seq.index("node_started:llm")
    assert [i for i, n in enumerate(seq) if n == "message"][1] < seq.index("node_finished:llm")
    assert seq.index("node_finished:answer") > max(i for i, n in enumerate(seq) if n == "message")
    assert finished(events)["outputs"]["answer"] == "Before abcdef after Q"


async def test_streams_of_two_answers_keep_their_order() -> None:
    raw = graph(
        [
            start(),
            _llm("l1"),
            node("a1", "answer", answer="1:{{#l1.text#}}"),
            _llm("l2"),
            node("a2", "answer", answer="|2:{{#l2.text#}}"),
        ],
        [*chain("start", "l1", "a1"), edge("start", "l2"), edge("a1", "a2"), edge("l2", "a2")],
    )
    model = FakeModel(reply="xy", pieces=2, delay=0.005)
    events = await collect(raw, mode="advanced-chat", ports=Ports(model=model), system={"query": "q"})
    text = "".join(e["data"]["answer"] for e in events if e["event"] == "message")
    assert text == "1:xy|2:xy"


async def test_workflow_end_streams_text_chunks_from_llm() -> None:
    raw = graph([start(), _llm("llm", "hi"), end(result=["llm", "text"])], chain("start", "llm", "end"))
    events = await collect(raw, ports=Ports(model=FakeModel(reply="hello", pieces=5)))
    chunks = [e["data"]["text"] for e in events if e["event"] == "text_chunk"]
    assert chunks == list("hello")
    assert finished(events)["outputs"] == {"result": "hello"}
    assert finished(events)["total_tokens"] == 10
    assert node_data(events, "llm")["execution_metadata"]["total_tokens"] == 10


def _failing_code(**data: Any) -> dict[str, Any]:
    return node("code", "code", code="x", outputs={"v": {"type": "string"}}, **data)


async def test_failure_without_strategy_fails_the_run() -> None:
    raw = graph([start(), _failing_code(), end(out=["code", "v"])], chain("start", "code", "end"))
    events = await collect(raw, ports=Ports())
    assert ran(events) == ["start", "code"]
    data = finished(events)
    assert data["status"] == "failed"
    assert "sandbox is unavailable" in data["error"]
    assert node_data(events, "code")["status"] == "failed"


async def test_fail_branch_strategy_takes_the_fail_edge() -> None:
    raw = graph(
        [
            start(),
            _failing_code(error_strategy="fail-branch"),
            template("ok", "ok"),
            template("handler", "{{ m }}", m=["code", "error_type"]),
            end(out=["handler", "output"]),
        ],
        [
            edge("start", "code"),
            edge("code", "ok", "source"),
            edge("code", "handler", "fail-branch"),
            edge("handler", "end"),
        ],
    )
    events = await collect(raw, ports=Ports())
    assert ran(events) == ["start", "code", "handler", "end"]
    assert node_data(events, "code")["status"] == "exception"
    data = finished(events)
    assert data["status"] == "partial-succeeded"
    assert data["exceptions_count"] == 1
    assert data["outputs"] == {"out": "SandboxUnavailableError"}


async def test_default_value_strategy_continues_with_defaults() -> None:
    raw = graph(
        [
            start(),
            _failing_code(
                error_strategy="default-value", default_value=[{"key": "v", "type": "string", "value": "dflt"}]
            ),
            end(out=["code", "v"]),
        ],
        chain("start", "code", "end"),
    )
    events = await collect(raw, ports=Ports())
    assert finished(events)["outputs"] == {"out": "dflt"}
    assert finished(events)["status"] == "partial-succeeded"
    assert node_data(events, "code")["outputs"]["error_message"].startswith("The code sandbox is unavailable")


async def test_retries_emit_node_retry_then_succeed() -> None:
    raw = graph(
        [
            start(),
            {
                **_llm("llm", "hi"),
                "data": {
                    **_llm("llm", "hi")["data"],
                    "retry_config": {"retry_enabled": True, "max_retries": 3, "retry_interval": 10},
                },
            },
            end(out=["llm", "text"]),
        ],
        chain("start", "llm", "end"),
    )
    began = time.perf_counter()
    events = await collect(raw, ports=Ports(model=FakeModel(reply="ok", fail_times=2)))
    assert time.perf_counter() - began >= 0.02
    assert names(events) == [
        "workflow_started",
        "node_started:start",
        "node_finished:start",
        "node_started:llm",
        "node_retry:llm",
        "node_retry:llm",
        "text_chunk",
        "text_chunk",
        "node_finished:llm",
        "node_started:end",
        "node_finished:end",
        "workflow_finished",
    ]
    retries = [e["data"] for e in events if e["event"] == "node_retry"]
    assert [r["retry_index"] for r in retries] == [1, 2]
    assert retries[0]["status"] == "retry"
    assert "connection failed" in retries[0]["error"]
    assert finished(events)["outputs"] == {"out": "ok"}


async def test_retries_exhausted_fail() -> None:
    data = {**_llm("llm", "hi")["data"], "retry_config": {"retry_enabled": True, "max_retries": 1, "retry_interval": 0}}
    raw = graph([start(), {"id": "llm", "data": data}, end(out=["llm", "text"])], chain("start", "llm", "end"))
    events = await collect(raw, ports=Ports(model=FakeModel(fail_times=5)))
    assert names(events).count("node_retry:llm") == 1
    assert finished(events)["status"] == "failed"


async def test_stop_event_stops_the_run() -> None:
    raw = graph([start(), node("slow", "code", code="x", outputs={}), end()], chain("start", "slow", "end"))
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.05, stop.set)
    began = time.perf_counter()
    events = await collect(raw, ports=Ports(code=FakeCode(delay=5)), stop=stop)
    assert time.perf_counter() - began < 1
    assert node_data(events, "slow")["status"] == "stopped"
    assert finished(events)["status"] == "stopped"


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (Limits(max_steps=2), "Max steps 2 reached."),
        (Limits(max_output_size=3), "exceeds the limit of 3 characters"),
    ],
)
async def test_limits_fail_the_run(limits: Limits, message: str) -> None:
    events = await collect(LINEAR, {"name": "Ada"}, limits=limits)
    data = finished(events)
    assert data["status"] == "failed"
    assert message in data["error"]


async def test_wall_time_limit() -> None:
    raw = graph([start(), node("slow", "code", code="x", outputs={}), end()], chain("start", "slow", "end"))
    events = await collect(raw, ports=Ports(code=FakeCode(delay=5)), limits=Limits(max_wall_time=0.05))
    assert finished(events)["status"] == "failed"
    assert finished(events)["error"] == "Max execution time 0.05s reached."


async def test_inline_chain_is_not_blocked_by_a_yield_point() -> None:
    ids = [f"t{i}" for i in range(150)]
    nodes = [start(), template(ids[0], "0")]
    for prev, cur in zip(ids, ids[1:], strict=False):
        nodes.append(template(cur, "{{ p }}", p=[prev, "output"]))
    nodes.append(end(out=[ids[-1], "output"]))
    events = await collect(graph(nodes, chain("start", *ids, "end")), limits=Limits(max_steps=1000))
    assert finished(events)["outputs"] == {"out": "0"}
    assert finished(events)["total_steps"] == 152


async def test_all_ports_in_one_run() -> None:
    events = await collect(LINEAR, {"name": "x"}, ports=all_ports())
    assert finished(events)["status"] == "succeeded"
