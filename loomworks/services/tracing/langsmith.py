"""LangSmith: `POST {endpoint}/runs/batch` with `x-api-key`, body `{"post": [run, ...], "patch": []}`.

Every span becomes a finished run (so only `post` is used): `trace_id` is the root run's id,
`dotted_order` is `<start>Z<id>` joined with `.` from the root down, `parent_run_id` links the tree,
`session_name` is the configured project. LLM runs carry `usage_metadata` (tokens and cost) in
their outputs and the model in `extra.metadata`. A 409 means the runs exist already: delivered.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from loomworks.core.ssrf import SafeHttpClient
from loomworks.services.tracing.events import Span, Trace
from loomworks.services.tracing.exporter import SendResult, TraceExporter, check_response, iso, json_safe

_RUN_TYPES = {"chain": "chain", "llm": "llm", "tool": "tool", "retriever": "retriever", "event": "chain"}


def _stamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _object(value: Any, key: str) -> dict[str, Any]:
    return value if isinstance(value, dict) else {key: value}


def _run(trace: Trace, span: Span, dotted: str, project: str) -> dict[str, Any]:
    is_root = span is trace.root
    metadata: dict[str, Any] = {**span.metadata, "app_id": trace.app_id}
    if is_root:
        metadata.update({"user_id": trace.user_id, "conversation_id": trace.session_id})
    inputs = _object(span.inputs, "input")
    outputs = _object(span.outputs, "output")
    if span.kind == "llm":
        inputs = {"messages": span.inputs} if isinstance(span.inputs, list) else inputs
        metadata.update({"ls_provider": span.provider, "ls_model_name": span.model, "ls_model_type": "chat"})
        if span.usage is not None:
            outputs["usage_metadata"] = {
                "input_tokens": span.usage.input_tokens,
                "output_tokens": span.usage.output_tokens,
                "total_tokens": span.usage.total_tokens,
                **(
                    {"input_cost": span.cost.input, "output_cost": span.cost.output, "total_cost": span.cost.total}
                    if span.cost is not None
                    else {}
                ),
            }
    return {
        "id": span.id,
        "trace_id": trace.id,
        "dotted_order": dotted,
        "parent_run_id": None if is_root else (span.parent_id or trace.id),
        "name": span.name,
        "run_type": _RUN_TYPES.get(span.kind, "chain"),
        "inputs": inputs,
        "outputs": outputs,
        "start_time": iso(span.start),
        "end_time": iso(span.end),
        "extra": {"metadata": metadata, "invocation_params": span.parameters},
        "error": span.error,
        "tags": trace.tags if is_root else [],
        "session_name": project,
    }


class LangSmithExporter(TraceExporter, provider="langsmith"):
    def encode(self, trace: Trace, config: dict[str, Any]) -> list[dict[str, Any]]:
        by_id = {span.id: span for span in trace.spans}
        dotted: dict[str, str] = {}

        def order(span: Span) -> str:
            if span.id not in dotted:
                own = f"{_stamp(span.start)}{span.id}"
                if span is trace.root:
                    dotted[span.id] = own
                else:
                    parent = by_id.get(span.parent_id or trace.id, trace.root)
                    dotted[span.id] = f"{order(parent)}.{own}"
            return dotted[span.id]

        project = str(config.get("project") or "default")
        return json_safe([_run(trace, span, order(span), project) for span in trace.spans])

    async def send(
        self, http: SafeHttpClient, config: dict[str, Any], items: list[dict[str, Any]], *, seconds: float
    ) -> SendResult:
        response = await http.request(
            "POST",
            f"{config['endpoint']}/runs/batch",
            json={"post": items, "patch": []},
            headers={"x-api-key": config["api_key"]},
            timeout=seconds,
            follow_redirects=False,
        )
        if response.status_code != 409:
            check_response(response, "LangSmith")
        return SendResult()
