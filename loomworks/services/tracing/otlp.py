"""OpenTelemetry OTLP/HTTP with JSON encoding: `POST {endpoint}/v1/traces`.

Each span becomes an OTLP span (trace id: the run's UUID as 32 hex digits; span ids: 16 hex digits
derived from our span ids) with GenAI semantic-convention attributes on LLM and tool spans
(`gen_ai.operation.name`, `gen_ai.provider.name`, `gen_ai.request.model`, `gen_ai.usage.*`) and
OpenInference-style `input.value`/`output.value` for everything. A `partialSuccess` with rejected
spans is counted as refused (OTLP says not to retry those).
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from typing import Any

from loomworks import __version__
from loomworks.core.ssrf import SafeHttpClient
from loomworks.services.tracing.events import Span, Trace
from loomworks.services.tracing.exporter import SendResult, TraceExporter, check_response

log = logging.getLogger("loomworks.tracing")

SPAN_KIND_INTERNAL, SPAN_KIND_CLIENT = 1, 3
STATUS_OK, STATUS_ERROR = 1, 2


def trace_hex(value: str) -> str:
    """32 hex digits for a trace id (a UUID's own digits when it is one)."""
    try:
        return uuid.UUID(value).hex
    except ValueError:
        return hashlib.blake2b(value.encode(), digest_size=16).hexdigest()


def span_hex(value: str) -> str:
    """16 hex digits for a span id, stable for the same span."""
    return hashlib.blake2b(value.encode(), digest_size=8).hexdigest()


def _value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    return {"stringValue": json.dumps(value, default=str, ensure_ascii=False)}


def _attributes(values: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": key, "value": _value(value)} for key, value in values.items() if value is not None]


def _span_attributes(trace: Trace, span: Span) -> dict[str, Any]:
    values: dict[str, Any] = {
        "loomworks.app_id": trace.app_id,
        "loomworks.span.kind": span.kind,
        "input.value": span.inputs,
        "output.value": span.outputs,
    }
    if span is trace.root:
        values.update({"gen_ai.conversation.id": trace.session_id, "user.id": trace.user_id})
    for key, value in span.metadata.items():
        if isinstance(value, str | int | float | bool):
            values[f"loomworks.{key}"] = value
    if span.kind == "llm":
        values.update(
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": span.provider,
                "gen_ai.system": span.provider,
                "gen_ai.request.model": span.model,
                "gen_ai.response.model": span.model,
                "gen_ai.input.messages": span.inputs,
                "gen_ai.output.messages": span.outputs,
            }
        )
        for key in ("temperature", "top_p", "max_tokens", "presence_penalty", "frequency_penalty"):
            if isinstance(span.parameters.get(key), int | float):
                values[f"gen_ai.request.{key}"] = span.parameters[key]
        if span.usage is not None:
            values["gen_ai.usage.input_tokens"] = span.usage.input_tokens
            values["gen_ai.usage.output_tokens"] = span.usage.output_tokens
            values["llm.usage.total_tokens"] = span.usage.total_tokens
        if span.cost is not None:
            values["loomworks.cost.total"] = span.cost.total
            values["loomworks.cost.currency"] = span.cost.currency
    elif span.kind == "tool":
        values.update({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": span.name})
    return values


class OtlpExporter(TraceExporter, provider="otlp"):
    def encode(self, trace: Trace, config: dict[str, Any]) -> list[dict[str, Any]]:  # noqa: ARG002 - the contract
        trace_id = trace_hex(trace.id)
        root_id = span_hex(trace.root.id)
        spans = []
        for span in trace.spans:
            item: dict[str, Any] = {
                "traceId": trace_id,
                "spanId": span_hex(span.id),
                "name": span.name,
                "kind": SPAN_KIND_CLIENT if span.kind in ("llm", "tool", "retriever") else SPAN_KIND_INTERNAL,
                "startTimeUnixNano": str(int(span.start * 1e9)),
                "endTimeUnixNano": str(int(span.end * 1e9)),
                "attributes": _attributes(_span_attributes(trace, span)),
                "status": {"code": STATUS_ERROR, "message": span.error} if span.error else {"code": STATUS_OK},
            }
            if span is not trace.root:
                item["parentSpanId"] = span_hex(span.parent_id) if span.parent_id else root_id
            spans.append(item)
        return spans

    async def send(
        self, http: SafeHttpClient, config: dict[str, Any], items: list[dict[str, Any]], *, seconds: float
    ) -> SendResult:
        endpoint = str(config["endpoint"])
        url = endpoint if endpoint.endswith("/v1/traces") else f"{endpoint}/v1/traces"
        body = {
            "resourceSpans": [
                {
                    "resource": {
                        "attributes": _attributes({"service.name": "loomworks", "service.version": __version__})
                    },
                    "scopeSpans": [{"scope": {"name": "loomworks", "version": __version__}, "spans": items}],
                }
            ]
        }
        headers = {**(config.get("headers") or {}), "Content-Type": "application/json"}
        response = await http.request("POST", url, json=body, headers=headers, timeout=seconds, follow_redirects=False)
        check_response(response, "OTLP collector")
        result = SendResult()
        try:
            partial = (response.json() or {}).get("partialSuccess") or {}
        except ValueError:
            partial = {}
        rejected = int(partial.get("rejectedSpans") or 0)
        if rejected:
            result.rejected = rejected
            log.warning("the OTLP collector refused spans", extra={"count": rejected, "error": partial})
        return result
