"""The DSL corpus (real Dify exports): every workflow/chatflow graph validates, and those whose nodes
are all supported run to the end against fake ports (canned model, declared-output code, fake tools)."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from loomworks.engine import GraphValidationError, RunContext, WorkflowEngine, compile_graph
from tests.engine._fakes import DeclaredOutputsCode, all_ports

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "dsl-corpus"
FILE = {
    "dify_model_identity": "__dify__file__",
    "type": "document",
    "transfer_method": "local_file",
    "filename": "input.txt",
    "extension": ".txt",
    "mime_type": "text/plain",
    "related_id": "f1",
    "url": "/f/1",
}


def _apps() -> list[tuple[str, dict[str, Any]]]:
    apps = []
    for path in sorted([*CORPUS.rglob("*.yml"), *CORPUS.rglob("*.yaml")]):
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506 - a safe loader
        if isinstance(document, dict) and (document.get("app") or {}).get("mode") in ("workflow", "advanced-chat"):
            apps.append((path.name, document))
    return apps


def _inputs(graph: dict[str, Any]) -> dict[str, Any]:
    inputs: dict[str, Any] = {}
    for raw in graph.get("nodes") or []:
        data = raw.get("data") or {}
        if data.get("type") != "start":
            continue
        for variable in data.get("variables") or []:
            kind = variable.get("type")
            inputs[variable["variable"]] = {
                "number": 1,
                "file": FILE,
                "file-list": [FILE],
                "select": (variable.get("options") or ["option"])[0],
            }.get(kind, "hello")
    return inputs


async def test_corpus_validates_and_runs() -> None:
    apps = _apps()
    assert len(apps) >= 60, f"corpus not found at {CORPUS}"
    counts: Counter[str] = Counter()
    skipped: list[str] = []
    failed: list[str] = []
    for name, document in apps:
        workflow = document["workflow"]
        mode = document["app"]["mode"]
        try:
            graph = compile_graph(workflow["graph"], mode=mode)
        except GraphValidationError as exc:
            counts["invalid"] += 1
            skipped.append(f"{name}: invalid graph ({exc.message[:120]})")
            continue
        counts["validated"] += 1
        engine = WorkflowEngine(all_ports(code=DeclaredOutputsCode(workflow["graph"]["nodes"])))
        context = RunContext(
            run_id="r",
            workflow_id="w",
            app_id="a",
            system={"query": "hello", "conversation_id": "c", "user_id": "u"},
            environment=workflow.get("environment_variables") or [],
            conversation=workflow.get("conversation_variables") or [],
        )
        events = [e async for e in engine.run(graph, inputs=_inputs(workflow["graph"]), context=context)]
        assert events[0]["event"] == "workflow_started"
        assert events[-1]["event"] == "workflow_finished"
        status = events[-1]["data"]["status"]
        if status in ("succeeded", "partial-succeeded"):
            counts["ran"] += 1
        else:
            counts["failed"] += 1
            failed.append(f"{name}: {status}: {events[-1]['data']['error']}")
    sys.stdout.write(
        f"\ncorpus: {len(apps)} workflow/chatflow apps, validated {counts['validated']}, ran {counts['ran']}, "
        f"failed with fake data {counts['failed']}, skipped {counts['invalid']}\n"
        + "".join(f"  skipped {s}\n" for s in skipped)
        + "".join(f"  failed {f}\n" for f in failed)
    )
    assert counts["validated"] >= 63, skipped
    assert counts["ran"] >= 62, failed
