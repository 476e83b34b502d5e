"""Fake tracing collectors on 127.0.0.1: Langfuse ingestion, LangSmith batch runs and OTLP/HTTP JSON.

Written from the public references: Langfuse `POST /api/public/ingestion` (Basic auth with the
public and secret key; a batch of `{id, timestamp, type, body}` envelopes; answers 207 with
`successes` and `errors`), LangSmith `POST /runs/batch` (`x-api-key`; `{post, patch}` runs with
`id`, `trace_id`, `dotted_order`, `run_type`, ...), OTLP `POST /v1/traces` (JSON `resourceSpans`).
Each endpoint checks the payload's shape and records what it refuses in `problems`, so a test can
assert that every payload was well formed as well as that it arrived.

Usage::

    with collector_fake() as fake:
        fake.base_url            # http://127.0.0.1:PORT
        fake.fail_first = 3      # answer 500 to the next 3 requests (any endpoint)
        fake.partial_errors = 2  # Langfuse: report the first event of the next 2 batches as a 500 error
        fake.delay = 0.5         # wait before answering
        fake.langfuse_events / fake.langsmith_runs / fake.otlp_spans   # by id, deduplicated
        fake.bodies              # the raw request bodies (to look for leaked secrets)
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests._live_server import live_server

LANGFUSE_TYPES = {"trace-create", "span-create", "generation-create", "event-create"}
RUN_TYPES = {"chain", "llm", "tool", "retriever"}
HEX32 = re.compile(r"[0-9a-f]{32}")
HEX16 = re.compile(r"[0-9a-f]{16}")
DOTTED_PART = re.compile(r"\d{8}T\d{12}Z[0-9a-f-]{36}")


@dataclass
class CollectorFake:
    langfuse_keys: tuple[str, str] = ("pk-lf-public", "sk-lf-secret")
    langsmith_key: str = "lsv2-secret-key"
    otlp_header: tuple[str, str] = ("authorization", "Bearer otlp-secret-token")
    base_url: str = ""
    fail_first: int = 0
    partial_errors: int = 0
    delay: float = 0.0
    requests: int = 0
    failed: int = 0
    langfuse_events: dict[str, dict[str, Any]] = field(default_factory=dict)
    langsmith_runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    langsmith_projects: set[str] = field(default_factory=set)
    otlp_spans: dict[str, dict[str, Any]] = field(default_factory=dict)
    otlp_resources: list[dict[str, Any]] = field(default_factory=list)
    bodies: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- helpers for tests ----------------------------------------------------------------------

    def langfuse_of(self, kind: str) -> list[dict[str, Any]]:
        return [e["body"] for e in self.langfuse_events.values() if e["type"] == kind]

    async def _gate(self) -> JSONResponse | None:
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            self.requests += 1
            if self.fail_first > 0:
                self.fail_first -= 1
                self.failed += 1
                return JSONResponse({"message": "collector overloaded"}, status_code=500)
        return None

    def _problem(self, text: str) -> JSONResponse:
        self.problems.append(text)
        return JSONResponse({"message": text}, status_code=400)

    # -- Langfuse -------------------------------------------------------------------------------

    async def langfuse(self, request: Request) -> JSONResponse:
        expected = "Basic " + base64.b64encode(":".join(self.langfuse_keys).encode()).decode()
        if request.headers.get("authorization") != expected:
            return JSONResponse({"message": "Invalid credentials"}, status_code=401)
        raw = (await request.body()).decode()
        self.bodies.append(raw)
        if (refused := await self._gate()) is not None:
            return refused
        batch = json.loads(raw).get("batch")
        if not isinstance(batch, list) or not batch:
            return self._problem("langfuse: batch must be a non-empty list")
        successes, errors = [], []
        fail_one = False
        with self.lock:
            if self.partial_errors > 0:
                self.partial_errors -= 1
                fail_one = True
        for index, event in enumerate(batch):
            problem = _langfuse_problem(event)
            if problem:
                self.problems.append(problem)
                errors.append({"id": event.get("id"), "status": 400, "message": problem})
            elif fail_one and index == 0:
                errors.append({"id": event["id"], "status": 500, "message": "temporary storage error"})
            else:
                self.langfuse_events[event["id"]] = event
                successes.append({"id": event["id"], "status": 201})
        return JSONResponse({"successes": successes, "errors": errors}, status_code=207)

    # -- LangSmith ------------------------------------------------------------------------------

    async def langsmith(self, request: Request) -> JSONResponse:
        if request.headers.get("x-api-key") != self.langsmith_key:
            return JSONResponse({"detail": "Invalid token"}, status_code=401)
        raw = (await request.body()).decode()
        self.bodies.append(raw)
        if (refused := await self._gate()) is not None:
            return refused
        body = json.loads(raw)
        if not isinstance(body.get("post"), list) or not isinstance(body.get("patch", []), list):
            return self._problem("langsmith: post and patch must be lists")
        for run in body["post"]:
            problem = _langsmith_problem(run)
            if problem:
                return self._problem(problem)
        for run in body["post"]:
            self.langsmith_runs[run["id"]] = run
            self.langsmith_projects.add(run["session_name"])
        return JSONResponse({}, status_code=202)

    # -- OTLP -----------------------------------------------------------------------------------

    async def otlp(self, request: Request) -> JSONResponse:
        name, value = self.otlp_header
        if request.headers.get(name) != value:
            return JSONResponse({"message": "unauthenticated"}, status_code=401)
        if request.headers.get("content-type") != "application/json":
            return self._problem("otlp: content-type must be application/json")
        raw = (await request.body()).decode()
        self.bodies.append(raw)
        if (refused := await self._gate()) is not None:
            return refused
        for resource_spans in json.loads(raw).get("resourceSpans") or []:
            self.otlp_resources.append(resource_spans.get("resource") or {})
            for scope in resource_spans.get("scopeSpans") or []:
                for span in scope.get("spans") or []:
                    problem = _otlp_problem(span)
                    if problem:
                        return self._problem(problem)
                    self.otlp_spans[span["spanId"]] = span
        return JSONResponse({"partialSuccess": {}})


def _langfuse_problem(event: Any) -> str | None:
    if not isinstance(event, dict) or not {"id", "timestamp", "type", "body"} <= event.keys():
        return f"langfuse: an event lacks id/timestamp/type/body: {event}"
    if event["type"] not in LANGFUSE_TYPES:
        return f"langfuse: unknown event type {event['type']}"
    body = event["body"]
    if not body.get("id"):
        return "langfuse: body without id"
    if event["type"] != "trace-create" and (not body.get("traceId") or not body.get("startTime")):
        return "langfuse: observation without traceId/startTime"
    if event["type"] == "generation-create" and not (body.get("model") and body.get("usageDetails")):
        return "langfuse: generation without model/usageDetails"
    return None


def _langsmith_problem(run: Any) -> str | None:
    needed = {"id", "trace_id", "dotted_order", "name", "run_type", "inputs", "start_time", "session_name"}
    if not isinstance(run, dict) or not needed <= run.keys():
        return f"langsmith: a run lacks {needed - set(run or {})}"
    if run["run_type"] not in RUN_TYPES:
        return f"langsmith: unknown run_type {run['run_type']}"
    parts = run["dotted_order"].split(".")
    if not all(DOTTED_PART.fullmatch(p) for p in parts) or not parts[-1].endswith(run["id"]):
        return f"langsmith: bad dotted_order {run['dotted_order']}"
    if not parts[0].endswith(run["trace_id"]):
        return "langsmith: dotted_order does not start at the trace's root"
    if (run["parent_run_id"] is None) != (run["id"] == run["trace_id"]):
        return "langsmith: only the root run may lack a parent"
    if not isinstance(run["inputs"], dict) or not isinstance(run.get("outputs") or {}, dict):
        return "langsmith: inputs/outputs must be objects"
    return None


def _otlp_problem(span: Any) -> str | None:
    if not HEX32.fullmatch(str(span.get("traceId"))) or not HEX16.fullmatch(str(span.get("spanId"))):
        return f"otlp: bad ids {span.get('traceId')}/{span.get('spanId')}"
    if "parentSpanId" in span and not HEX16.fullmatch(str(span["parentSpanId"])):
        return "otlp: bad parentSpanId"
    if not span.get("name") or int(span["endTimeUnixNano"]) < int(span["startTimeUnixNano"]):
        return "otlp: span without a name or ending before it starts"
    for attribute in span.get("attributes") or []:
        if set(attribute) != {"key", "value"} or len(attribute["value"]) != 1:
            return f"otlp: malformed attribute {attribute}"
    return None


def attributes(span: dict[str, Any]) -> dict[str, Any]:
    """An OTLP span's attributes as a plain dict (intValue read as int)."""
    values: dict[str, Any] = {}
    for attribute in span.get("attributes") or []:
        ((kind, value),) = attribute["value"].items()
        values[attribute["key"]] = int(value) if kind == "intValue" else value
    return values


@contextmanager
def collector_fake() -> Iterator[CollectorFake]:
    fake = CollectorFake()
    app = FastAPI()
    app.post("/api/public/ingestion")(fake.langfuse)
    app.post("/runs/batch")(fake.langsmith)
    app.post("/v1/traces")(fake.otlp)
    with live_server(app) as url:
        fake.base_url = url
        yield fake
