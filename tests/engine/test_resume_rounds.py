"""Resume inside iterations and loops (nested too): a run cut off at any recorded node goes on from there.

Each scenario runs a graph to the end once, then for every prefix of its `node_finished` records
(what a crash leaves in the database, since records are written in that order) resumes from the
prefix and checks that the resumed run ends with the same outputs, totals and answer text, and
that the prefix plus the resumed run's executions hold each execution of the uncrashed run exactly
once — no finished node ran twice, none was lost.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from loomworks.engine import Ports, Resume, RunContext, WorkflowEngine, compile_graph
from loomworks.engine.ports import ModelDelta, ModelRequest, Usage
from tests.engine._graphs import chain, edge, end, graph, node, start


class ScriptCode:
    """A code port whose `code` names what `main` computes; counts every call."""

    def __init__(self, fail_on: Any = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail_on = fail_on

    async def execute(self, *, language: str, code: str, inputs: dict[str, Any]) -> dict[str, Any]:
        del language
        self.calls.append((code, dict(inputs)))
        if code == "upper":
            if inputs.get("item") == self.fail_on:
                raise ValueError(f"cannot take {inputs['item']!r}")
            return {"v": str(inputs["item"]).upper()}
        if code == "concat":
            return {"v": f"{inputs['acc']}{inputs['n']}"}
        if code == "pair":
            return {"v": f"{inputs['outer']}{inputs['inner']}"}
        raise AssertionError(code)


class CountingModel:
    """An LLM port answering `[<prompt>]` in two deltas, with 7 tokens per call."""

    def __init__(self) -> None:
        self.prompts: list[str] = []

    async def stream(self, request: ModelRequest) -> Any:
        prompt = str(request.messages[-1]["content"])
        self.prompts.append(prompt)
        yield ModelDelta(text="[")
        yield ModelDelta(text=f"{prompt}]")
        yield ModelDelta(usage=Usage(prompt_tokens=5, completion_tokens=2, total_tokens=7), finish_reason="stop")


def child(node_id: str, kind: str, parent: str, **data: Any) -> dict[str, Any]:
    raw = node(node_id, kind, **data)
    raw["parentId"] = parent
    return raw


def code(node_id: str, parent: str, script: str, **variables: list[str]) -> dict[str, Any]:
    return child(
        node_id,
        "code",
        parent,
        code=script,
        code_language="python3",
        outputs={"v": {"type": "string"}},
        variables=[{"variable": k, "value_selector": v} for k, v in variables.items()],
    )


def _write(target: list[str], source: list[str]) -> dict[str, Any]:
    return {"variable_selector": target, "input_type": "variable", "operation": "over-write", "value": source}


def _finished(events: list[dict[str, Any]], node_id: str | None = None) -> list[dict[str, Any]]:
    return [
        e["data"]
        for e in events
        if e["event"] == "node_finished" and (node_id is None or e["data"]["node_id"] == node_id)
    ]


def loop_graph() -> dict[str, Any]:
    """n counts rounds, acc gathers "0123"; a break condition stops at n ≥ 4."""
    assign = child(
        "set",
        "assigner",
        "lp",
        version="2",
        items=[
            {"variable_selector": ["lp", "n"], "input_type": "constant", "operation": "+=", "value": 1},
            _write(["lp", "acc"], ["c", "v"]),
        ],
    )
    return graph(
        [
            start(),
            node(
                "lp",
                "loop",
                start_node_id="ls",
                loop_count=10,
                break_conditions=[{"variable_selector": ["lp", "n"], "comparison_operator": "≥", "value": "4"}],
                logical_operator="and",
                loop_variables=[
                    {"label": "n", "var_type": "number", "value_type": "constant", "value": "0"},
                    {"label": "acc", "var_type": "string", "value_type": "constant", "value": ""},
                ],
            ),
            child("ls", "loop-start", "lp"),
            code("c", "lp", "concat", acc=["lp", "acc"], n=["lp", "n"]),
            assign,
            end(acc=["lp", "acc"], n=["lp", "n"], rounds=["lp", "loop_round"]),
        ],
        [*chain("start", "lp", "end"), *chain("ls", "c", "set")],
    )


def loop_end_graph() -> dict[str, Any]:
    """A loop-end node breaks in round 2 (an if-else sends the round there once n is 2)."""
    raw = loop_graph()
    raw["nodes"][1]["data"]["break_conditions"] = []
    cond = {"variable_selector": ["lp", "n"], "comparison_operator": "=", "value": "2"}
    raw["nodes"].append(child("if", "if-else", "lp", cases=[{"case_id": "stop", "conditions": [cond]}]))
    raw["nodes"].append(child("le", "loop-end", "lp"))
    raw["edges"] += [edge("set", "if"), edge("if", "le", "stop")]
    return raw


def nested_iteration_graph(*, parallel: bool = False, error_mode: str = "terminated") -> dict[str, Any]:
    """An outer iteration over lists; each round iterates its list and upper-cases the items."""
    return graph(
        [
            start("x"),
            node(
                "outer",
                "iteration",
                iterator_selector=["start", "x"],
                output_selector=["inner", "output"],
                start_node_id="os",
                is_parallel=parallel,
                flatten_output=False,
            ),
            child("os", "iteration-start", "outer"),
            child(
                "inner",
                "iteration",
                "outer",
                iterator_selector=["outer", "item"],
                output_selector=["up", "v"],
                start_node_id="is",
                is_parallel=parallel,
                error_handle_mode=error_mode,
            ),
            child("is", "iteration-start", "inner"),
            code("up", "inner", "upper", item=["inner", "item"]),
            end(out=["outer", "output"]),
        ],
        [*chain("start", "outer", "end"), edge("os", "inner"), edge("is", "up")],
    )


def loop_in_iteration_graph() -> dict[str, Any]:
    """An iteration whose rounds run a loop that counts to 2 and pairs the item with each count."""
    return graph(
        [
            start("x"),
            node(
                "it",
                "iteration",
                iterator_selector=["start", "x"],
                output_selector=["lp", "acc"],
                start_node_id="its",
            ),
            child("its", "iteration-start", "it"),
            child(
                "lp",
                "loop",
                "it",
                start_node_id="ls",
                loop_count=2,
                loop_variables=[
                    {"label": "n", "var_type": "number", "value_type": "constant", "value": "0"},
                    {"label": "acc", "var_type": "string", "value_type": "constant", "value": ""},
                ],
            ),
            child("ls", "loop-start", "lp"),
            code("p", "lp", "pair", outer=["it", "item"], inner=["lp", "n"]),
            child(
                "set",
                "assigner",
                "lp",
                version="2",
                items=[
                    {"variable_selector": ["lp", "n"], "input_type": "constant", "operation": "+=", "value": 1},
                    _write(["lp", "acc"], ["p", "v"]),
                ],
            ),
            end(out=["it", "output"]),
        ],
        [*chain("start", "it", "end"), edge("its", "lp"), *chain("ls", "p", "set")],
    )


def chatflow_graph() -> dict[str, Any]:
    """A chatflow answering inside an iteration (one LLM call per item) and after it, writing a
    conversation variable on the way."""
    return graph(
        [
            start("x"),
            node(
                "it",
                "iteration",
                iterator_selector=["start", "x"],
                output_selector=["llm", "text"],
                start_node_id="its",
            ),
            child("its", "iteration-start", "it"),
            child(
                "llm",
                "llm",
                "it",
                model={"provider": "fake", "name": "m", "mode": "chat"},
                prompt_template=[{"role": "user", "text": "{{#it.item#}}"}],
            ),
            child("say", "answer", "it", answer="<{{#llm.text#}}>"),
            node(
                "keep",
                "assigner",
                version="2",
                items=[_write(["conversation", "seen"], ["it", "output"])],
            ),
            node(
                "seen",
                "template-transform",
                template="{{ s | join(',') }}",
                variables=[{"variable": "s", "value_selector": ["conversation", "seen"]}],
            ),
            node("done", "answer", answer="| {{#seen.output#}}"),
        ],
        [*chain("start", "it", "keep", "seen", "done"), *chain("its", "llm", "say")],
    )


def _level(record: dict[str, Any]) -> tuple[Any, ...]:
    metadata = record.get("execution_metadata") or {}
    if metadata.get("round_path"):
        return tuple(tuple(p) for p in metadata["round_path"])
    if metadata.get("iteration_id"):
        return ((metadata["iteration_id"], metadata["iteration_index"]),)
    if metadata.get("loop_id"):
        return ((metadata["loop_id"], metadata["loop_index"]),)
    return ()


def _executions(records: list[dict[str, Any]]) -> Counter[tuple[str, tuple[Any, ...], str]]:
    return Counter((r["node_id"], _level(r), r["status"]) for r in records)


def _answer(events: list[dict[str, Any]]) -> str:
    return "".join(e["data"]["answer"] for e in events if e["event"] == "message")


async def _run(engine: WorkflowEngine, raw: dict[str, Any], inputs: dict[str, Any], mode: str, **kw: Any) -> Any:
    compiled = compile_graph(raw, mode=mode)
    context = RunContext(
        run_id="r",
        system={"conversation_id": "c"} if mode == "advanced-chat" else {},
        conversation=[{"name": "seen", "value_type": "array[string]", "value": []}] if mode == "advanced-chat" else (),
    )
    return [e async for e in engine.run(compiled, inputs=inputs, context=context, **kw)]


SCENARIOS = {
    "loop": (loop_graph, {}, "workflow"),
    "loop-end": (loop_end_graph, {}, "workflow"),
    "nested-iterations": (nested_iteration_graph, {"x": [["a", "b", "c"], ["d"], ["e", "f"]]}, "workflow"),
    "nested-parallel-iterations": (
        lambda: nested_iteration_graph(parallel=True),
        {"x": [["a", "b", "c"], ["d"], ["e", "f"]]},
        "workflow",
    ),
    "loop-in-iteration": (loop_in_iteration_graph, {"x": ["a", "b", "c"]}, "workflow"),
    "chatflow": (chatflow_graph, {"x": ["p", "q", "r"]}, "advanced-chat"),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_a_run_cut_off_after_any_record_resumes_to_the_same_end(name: str) -> None:
    build, inputs, mode = SCENARIOS[name]
    raw = build()
    engine = WorkflowEngine(Ports(code=ScriptCode(), model=CountingModel()))
    full = await _run(engine, raw, inputs, mode)
    done = full[-1]["data"]
    assert done["status"] == "succeeded", done
    records = [e["data"] for e in full if e["event"] == "node_finished"]
    assert len(records) > 8
    for cut in range(len(records)):
        code, model = ScriptCode(), CountingModel()
        engine = WorkflowEngine(Ports(code=code, model=model))
        kept = records[:cut]
        resumed = await _run(engine, raw, inputs, mode, resume=Resume(kept))
        again = resumed[-1]["data"]
        assert again["status"] == "succeeded", (cut, again)
        assert again["outputs"] == done["outputs"], cut
        assert again["total_tokens"] == done["total_tokens"], cut
        new = [e["data"] for e in resumed if e["event"] == "node_finished"]
        # Every execution of the uncrashed run, once: recorded before the cut or run after it.
        assert _executions(kept) + _executions(new) == _executions(records), cut
        assert len(code.calls) + len(model.prompts) == sum(r["node_type"] in ("code", "llm") for r in new), cut
        if mode == "advanced-chat":
            assert _answer(resumed) == _answer(full), cut


async def test_the_loop_resumes_from_its_recorded_round_with_its_variables() -> None:
    raw = loop_graph()
    full = await _run(WorkflowEngine(Ports(code=ScriptCode())), raw, {}, "workflow")
    assert full[-1]["data"]["outputs"] == {"acc": "0123", "n": 4, "rounds": 4}
    records = [e["data"] for e in full if e["event"] == "node_finished"]
    # The crash came in round 2, after its code node: rounds 0 and 1 and half of round 2 survive.
    cut = next(i for i, r in enumerate(records) if r["node_id"] == "c" and r["execution_metadata"]["loop_index"] == 2)
    code = ScriptCode()
    resumed = await _run(WorkflowEngine(Ports(code=code)), raw, {}, "workflow", resume=Resume(records[: cut + 1]))
    assert resumed[-1]["data"]["outputs"] == {"acc": "0123", "n": 4, "rounds": 4}
    # Only round 3's code ran; round 2's assigner ran (it had not finished) with round 2's values.
    assert code.calls == [("concat", {"acc": "012", "n": 3})]
    ran = [(r["node_id"], r["execution_metadata"].get("loop_index")) for r in _finished(resumed)]
    assert ran == [("set", 2), ("ls", 3), ("c", 3), ("set", 3), ("lp", None), ("end", None)]


async def test_a_failure_recorded_in_a_round_is_not_run_again() -> None:
    raw = nested_iteration_graph(error_mode="continue-on-error")
    inputs = {"x": [["a", "b"], ["c"]]}
    full = await _run(WorkflowEngine(Ports(code=ScriptCode(fail_on="b"))), raw, inputs, "workflow")
    assert full[-1]["data"]["outputs"] == {"out": [["A", None], ["C"]]}
    records = [e["data"] for e in full if e["event"] == "node_finished"]
    failed = next(i for i, r in enumerate(records) if r["status"] == "failed")
    code = ScriptCode(fail_on="b")
    resumed = await _run(
        WorkflowEngine(Ports(code=code)), raw, inputs, "workflow", resume=Resume(records[: failed + 1])
    )
    assert resumed[-1]["data"]["outputs"] == {"out": [["A", None], ["C"]]}
    assert code.calls == [("upper", {"item": "c"})]


async def test_nested_rounds_record_their_whole_path() -> None:
    raw = nested_iteration_graph()
    events = await _run(WorkflowEngine(Ports(code=ScriptCode())), raw, {"x": [["a"], ["b", "c"]]}, "workflow")
    up = [r["execution_metadata"] for r in _finished(events, "up")]
    assert [m["round_path"] for m in up] == [
        [["outer", 0], ["inner", 0]],
        [["outer", 1], ["inner", 0]],
        [["outer", 1], ["inner", 1]],
    ]
    assert all(m["iteration_id"] == "inner" for m in up)
    inner = [r["execution_metadata"] for r in _finished(events, "inner")]
    # A top-level container's rounds need no path: Dify's iteration_id/iteration_index say it all.
    assert [("round_path" in m, m["iteration_index"]) for m in inner] == [(False, 0), (False, 1)]


async def test_replayed_assignments_reach_the_nodes_after_them() -> None:
    raw = chatflow_graph()
    engine = WorkflowEngine(Ports(code=ScriptCode(), model=CountingModel()))
    full = await _run(engine, raw, {"x": ["p"]}, "advanced-chat")
    assert _answer(full) == "<[p]>| [p]"
    records = [e["data"] for e in full if e["event"] == "node_finished"]
    kept = [r for r in records if r["node_id"] not in ("seen", "done")]
    model = CountingModel()
    resumed = await _run(WorkflowEngine(Ports(model=model)), raw, {"x": ["p"]}, "advanced-chat", resume=Resume(kept))
    assert model.prompts == []
    assert _answer(resumed) == _answer(full)
    assert [e["data"]["node_id"] for e in resumed if e["event"] == "node_finished"] == ["seen", "done"]
