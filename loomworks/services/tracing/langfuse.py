"""Langfuse: `POST {host}/api/public/ingestion` with Basic auth (public key : secret key).

A trace becomes one `trace-create` event (the root span) plus one observation per child span:
`generation-create` for LLM calls (model, usage and cost details, completion start time),
`event-create` for point events (annotation replies), `span-create` for the rest. Langfuse answers
207 with per-event `successes` and `errors`; errors with a retryable status are sent again.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

from loomworks.core.ssrf import SafeHttpClient
from loomworks.services.tracing.events import Span, Trace, stable_uuid
from loomworks.services.tracing.exporter import (
    SendResult,
    TraceExporter,
    check_response,
    iso,
    json_safe,
    retryable_status,
)

log = logging.getLogger("loomworks.tracing")


def _observation(trace: Trace, span: Span) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": span.id,
        "traceId": trace.id,
        "name": span.name,
        "startTime": iso(span.start),
        "endTime": iso(span.end),
        "input": span.inputs,
        "output": span.outputs,
        "metadata": {**span.metadata, "span_kind": span.kind},
        "level": "ERROR" if span.error else "DEFAULT",
    }
    if span.parent_id:
        body["parentObservationId"] = span.parent_id
    if span.error:
        body["statusMessage"] = span.error
    if span.kind == "llm":
        usage = span.usage
        body["model"] = span.model
        body["modelParameters"] = {k: v for k, v in span.parameters.items() if isinstance(v, str | int | float | bool)}
        if usage is not None:
            body["usageDetails"] = {
                "input": usage.input_tokens,
                "output": usage.output_tokens,
                "total": usage.total_tokens,
            }
            body["usage"] = {
                "input": usage.input_tokens,
                "output": usage.output_tokens,
                "total": usage.total_tokens,
                "unit": "TOKENS",
            }
        if span.cost is not None:
            body["costDetails"] = {"input": span.cost.input, "output": span.cost.output, "total": span.cost.total}
        if span.first_token_at is not None:
            body["completionStartTime"] = iso(span.first_token_at)
        body["metadata"]["provider"] = span.provider
    elif span.kind == "event":
        body.pop("endTime")
    return body


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


_TYPES = {"llm": "generation-create", "event": "event-create"}


class LangfuseExporter(TraceExporter, provider="langfuse"):
    def encode(self, trace: Trace, config: dict[str, Any]) -> list[dict[str, Any]]:  # noqa: ARG002 - the contract
        root = trace.root
        events = [
            {
                "id": stable_uuid(trace.id, "langfuse", "trace"),
                "timestamp": iso(root.start),
                "type": "trace-create",
                "body": {
                    "id": trace.id,
                    "timestamp": iso(root.start),
                    "name": trace.name,
                    "input": root.inputs,
                    "output": root.outputs,
                    "userId": trace.user_id,
                    "sessionId": trace.session_id,
                    "metadata": {**root.metadata, "error": root.error} if root.error else root.metadata,
                    "tags": trace.tags,
                },
            }
        ]
        for span in trace.spans[1:]:
            events.append(
                {
                    "id": stable_uuid(span.id, "langfuse", "observation"),
                    "timestamp": iso(span.start),
                    "type": _TYPES.get(span.kind, "span-create"),
                    "body": _observation(trace, span),
                }
            )
        return json_safe(events)

    async def send(
        self, http: SafeHttpClient, config: dict[str, Any], items: list[dict[str, Any]], *, seconds: float
    ) -> SendResult:
        response = await http.request(
            "POST",
            f"{config['host']}/api/public/ingestion",
            json={"batch": items, "metadata": {"sdk_name": "loomworks", "batch_size": len(items)}},
            headers={"Authorization": _basic(config["public_key"], config["secret_key"])},
            timeout=seconds,
            follow_redirects=False,
        )
        check_response(response, "Langfuse")
        try:
            errors = (response.json() or {}).get("errors") or []
        except ValueError:
            errors = []
        by_id = {item["id"]: item for item in items}
        result = SendResult()
        for error in errors:
            item = by_id.get(error.get("id"))
            if item is None:
                continue
            if retryable_status(int(error.get("status") or 500)):
                result.retry.append(item)
            else:
                result.rejected += 1
                log.warning("langfuse refused an event", extra={"status": error.get("status"), "error": error})
        return result
