"""Workflow engine overhead against DESIGN §7's budgets, side by side with graphon (Dify's engine).

The same four graphs run on both engines, each engine in its own subprocess: a one-node run
(start -> end), a 200-node template-transform chain, 8 parallel branches of 100 ms each (a code
node whose executor sleeps 100 ms on both sides), and an iteration over 1,000 items with a trivial
inner node (sequential and parallel). Every run consumes the full event stream.

    python3 -m venv /tmp/graphon-venv && /tmp/graphon-venv/bin/pip install graphon==0.1.2
    .venv/bin/python bench/workflow_engine.py [--repeat 100] [--graphon-python /tmp/graphon-venv/bin/python]

Without graphon's venv the table shows our side only. `--side ours --graphs FILE` is the
subprocess entry point of our side.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
GRAPHON_PYTHON = Path("/tmp/graphon-venv/bin/python")
CHAIN = 200
SLEEP_CODE = {
    "code_language": "python3",
    "code": "def main() -> dict:\n    return {}\n",
    "outputs": {},
    "variables": [],
}


def _node(node_id: str, kind: str, parent: str | None = None, **data: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {"id": node_id, "type": "custom", "data": {"type": kind, "title": node_id, **data}}
    if parent:
        raw["parentId"] = parent
        raw["data"].update(isInIteration=True, iteration_id=parent)
    return raw


def _edge(source: str, target: str) -> dict[str, Any]:
    return {"id": f"{source}-{target}", "source": source, "target": target, "sourceHandle": "source"}


def one_node() -> dict[str, Any]:
    return {
        "nodes": [_node("start", "start", variables=[]), _node("end", "end", outputs=[])],
        "edges": [_edge("start", "end")],
    }


def template_chain(length: int) -> dict[str, Any]:
    nodes = [_node("start", "start", variables=[{"variable": "x", "label": "x", "type": "text-input"}])]
    edges = []
    previous = ("start", "x")
    for i in range(length):
        nodes.append(
            _node(
                f"t{i}",
                "template-transform",
                template="{{ v }}",
                variables=[{"variable": "v", "value_selector": list(previous)}],
            )
        )
        edges.append(_edge(previous[0], f"t{i}"))
        previous = (f"t{i}", "output")
    nodes.append(_node("end", "end", outputs=[{"variable": "out", "value_selector": list(previous)}]))
    edges.append(_edge(previous[0], "end"))
    return {"nodes": nodes, "edges": edges}


def parallel_branches(count: int) -> dict[str, Any]:
    nodes = [_node("start", "start", variables=[])]
    edges = []
    for i in range(count):
        nodes.append(_node(f"b{i}", "code", **SLEEP_CODE))
        edges += [_edge("start", f"b{i}"), _edge(f"b{i}", "end")]
    nodes.append(_node("end", "end", outputs=[]))
    return {"nodes": nodes, "edges": edges}


def iteration(parallel: bool) -> dict[str, Any]:
    return {
        "nodes": [
            _node("start", "start", variables=[]),
            _node(
                "it",
                "iteration",
                iterator_selector=["sys", "items"],
                output_selector=["inner", "output"],
                start_node_id="it-start",
                is_parallel=parallel,
                parallel_nums=10,
                error_handle_mode="terminated",
            ),
            _node("it-start", "iteration-start", parent="it"),
            _node(
                "inner",
                "template-transform",
                parent="it",
                template="{{ i }}",
                variables=[{"variable": "i", "value_selector": ["it", "item"]}],
            ),
            _node("end", "end", outputs=[{"variable": "out", "value_selector": ["it", "output"]}]),
        ],
        "edges": [_edge("start", "it"), _edge("it-start", "inner"), _edge("it", "end")],
    }


def cases(repeat: int, slow_runs: int = 3) -> dict[str, dict[str, Any]]:
    """The graphs, their inputs and how often to run them (`runs` scales with --repeat)."""
    items = list(range(1000))
    return {
        "one_node": {"graph": one_node(), "inputs": {}, "system": {}, "runs": repeat * 5},
        "chain": {"graph": template_chain(CHAIN), "inputs": {"x": "v"}, "system": {}, "runs": repeat},
        "parallel": {"graph": parallel_branches(8), "inputs": {}, "system": {}, "runs": 5},
        "iteration_seq": {"graph": iteration(False), "inputs": {}, "system": {"items": items}, "runs": slow_runs},
        "iteration_par": {"graph": iteration(True), "inputs": {}, "system": {"items": items}, "runs": slow_runs},
    }


# --- our side (subprocess) -------------------------------------------------------------------


class SleepCode:
    """A code port that sleeps 100 ms: stands for a sandbox or model call."""

    async def execute(self, *, language: str, code: str, inputs: dict[str, Any]) -> dict[str, Any]:
        del language, code, inputs
        await asyncio.sleep(0.1)
        return {}


async def _ours(spec: dict[str, dict[str, Any]], only: set[str]) -> dict[str, float]:
    from loomworks.engine import Limits, Ports, RunContext, WorkflowEngine, compile_graph

    engine = WorkflowEngine(Ports(code=SleepCode()), Limits(max_steps=10_000))

    async def run(graph: Any, case: dict[str, Any]) -> float:
        began = time.perf_counter()
        last = None
        async for event in engine.run(graph, inputs=case["inputs"], context=RunContext(system=case["system"])):
            last = event
        elapsed = time.perf_counter() - began
        assert last is not None
        assert last["data"]["status"] == "succeeded", last
        return elapsed

    results: dict[str, float] = {}
    compiled = {name: compile_graph(case["graph"]) for name, case in spec.items()}
    for _ in range(50):  # warm up imports, Jinja and the allocator
        await run(compiled["one_node"], spec["one_node"])
        await run(compiled["chain"], spec["chain"])
    for name, case in spec.items():
        if only and name not in only:
            continue
        results[name] = statistics.median([await run(compiled[name], case) for _ in range(case["runs"])])
    return results


# --- the driver ------------------------------------------------------------------------------


def _side(python: str, script: Path, graphs: Path, extra: list[str]) -> dict[str, float]:
    done = subprocess.run(
        [python, str(script), "--side", "ours", "--graphs", str(graphs), *extra],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{python} {script.name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _fmt_ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:.3f} ms"


def table(ours: dict[str, float], theirs: dict[str, float]) -> str:
    def per_node(side: dict[str, float]) -> str:
        if "chain" not in side or "one_node" not in side:
            return "—"
        return f"{(side['chain'] - side['one_node']) / CHAIN * 1000:.4f} ms/node (run {side['chain'] * 1000:.1f} ms)"

    def secs(side: dict[str, float], key: str) -> str:
        return f"{side[key]:.3f} s" if key in side else "—"

    rows = [
        ("fixed cost of a one-node run (start -> end)", _fmt_ms(ours.get("one_node")), "≤ 1 ms"),
        ("per-node overhead, 200-node template chain", per_node(ours), "≤ 0.03 ms/node"),
        ("8 parallel branches of 100 ms", _fmt_ms(ours.get("parallel")), "≈ 100 ms"),
        ("iteration over 1,000 items, sequential", secs(ours, "iteration_seq"), "≤ 0.3 s"),
        ("iteration over 1,000 items, parallel (10)", secs(ours, "iteration_par"), "≤ 0.3 s"),
    ]
    graphon = [
        _fmt_ms(theirs.get("one_node")),
        per_node(theirs),
        _fmt_ms(theirs.get("parallel")),
        secs(theirs, "iteration_seq"),
        secs(theirs, "iteration_par"),
    ]
    lines = [f"{'what':<46} {'loomworks':<34} {'graphon 0.1.2':<34} budget"]
    for (what, mine, budget), other in zip(rows, graphon, strict=True):
        lines.append(f"{what:<46} {mine:<34} {other:<34} {budget}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--graphon-python", default=str(GRAPHON_PYTHON))
    parser.add_argument("--graphon-repeat", type=int, default=20, help="runs of the short cases on graphon")
    parser.add_argument("--only", default="", help="comma-separated case names")
    parser.add_argument("--side", choices=["ours"], help=argparse.SUPPRESS)
    parser.add_argument("--graphs", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    only = set(filter(None, args.only.split(",")))
    if args.side == "ours":
        spec = json.loads(args.graphs.read_text())
        sys.stdout.write(json.dumps(asyncio.run(_ours(spec, only))) + "\n")
        return
    with tempfile.TemporaryDirectory() as tmp:
        ours_file, theirs_file = Path(tmp, "ours.json"), Path(tmp, "graphon.json")
        ours_file.write_text(json.dumps(cases(args.repeat)))
        # graphon's sequential 1,000-item iteration takes ~100 s: one run of each iteration case.
        theirs_file.write_text(json.dumps(cases(args.graphon_repeat, slow_runs=1)))
        extra = ["--only", args.only] if args.only else []
        ours = _side(sys.executable, Path(__file__), ours_file, extra)
        theirs: dict[str, float] = {}
        if Path(args.graphon_python).exists():
            done = subprocess.run(
                [args.graphon_python, str(HERE / "graphon_side.py"), "--graphs", str(theirs_file), *extra],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise RuntimeError(f"graphon side failed:\n{done.stderr[-3000:]}")
            theirs = json.loads(done.stdout.strip().splitlines()[-1])
        else:
            sys.stderr.write(f"{args.graphon_python} not found: graphon column left empty\n")
    sys.stdout.write("medians on this machine; each engine in its own subprocess\n")
    sys.stdout.write(table(ours, theirs) + "\n")


if __name__ == "__main__":
    main()
