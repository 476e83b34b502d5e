"""The neutral trace model every exporter reads, and builders from chat turns and workflow runs.

A `Trace` is one run (a chat/completion message or a workflow run): a root span followed by its
children (the LLM call, retrieval, annotation reply, node executions, tool calls). Times are epoch
seconds (floats); a trace round-trips through JSON (`to_dict`/`from_dict`) so it can wait in the
outbox table.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from loomworks.core.ids import new_id

SPAN_KINDS = ("chain", "llm", "tool", "retriever", "event")
# Node types whose executions are LLM calls, tool calls or retrieval, for the exporters' span kinds.
_NODE_KINDS = {
    "llm": "llm",
    "question-classifier": "llm",
    "parameter-extractor": "llm",
    "agent": "llm",
    "tool": "tool",
    "http-request": "tool",
    "code": "tool",
    "knowledge-retrieval": "retriever",
}


@dataclass(slots=True)
class TokenUsage:
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0


@dataclass(slots=True)
class Cost:
    input: float = 0.0
    output: float = 0.0
    total: float = 0.0
    currency: str = "USD"


@dataclass(slots=True)
class Span:
    """One step of a run. `parent_id` None means a child of the root (or the root itself)."""

    id: str
    name: str
    kind: str
    start: float
    end: float
    parent_id: str | None = None
    inputs: Any = None
    outputs: Any = None
    error: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    model: str | None = None
    provider: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    usage: TokenUsage | None = None
    cost: Cost | None = None
    first_token_at: float | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Span:
        values = dict(data)
        usage, cost = values.pop("usage", None), values.pop("cost", None)
        return cls(
            **values,
            usage=TokenUsage(**usage) if usage else None,
            cost=Cost(**cost) if cost else None,
        )


@dataclass(slots=True)
class Trace:
    """One run; `spans[0]` is its root, whose id is the trace id."""

    id: str
    app_id: str
    tenant_id: str
    name: str
    spans: list[Span]
    user_id: str | None = None
    session_id: str | None = None
    tags: list[str] = field(default_factory=list)

    @property
    def root(self) -> Span:
        return self.spans[0]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trace:
        values = dict(data)
        spans = [Span.from_dict(s) for s in values.pop("spans")]
        return cls(**values, spans=spans)


def stable_uuid(*parts: str) -> str:
    """A UUID derived from `parts`, so a retried export names the same spans the same way."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "loomworks:" + ":".join(parts)))


def _number(value: Any) -> float:
    try:
        return float(Decimal(str(value)))
    except (ArithmeticError, ValueError):
        return 0.0


def message_trace(
    *,
    app_id: str,
    tenant_id: str,
    app_mode: str,
    message_id: str,
    conversation_id: str | None,
    user_id: str | None,
    query: str,
    inputs: dict[str, Any],
    answer: str,
    status: str,
    error: str | None,
    prompt_messages: list[dict[str, Any]],
    provider: str,
    model: str,
    parameters: dict[str, Any],
    usage: dict[str, Any],
    started: float,
    ended: float,
    invoke_from: str,
    retriever_resources: list[dict[str, Any]] | None = None,
    annotation: dict[str, Any] | None = None,
) -> Trace:
    """The trace of one chat or completion turn (from what the pipeline saved)."""
    root = Span(
        id=message_id,
        name="message",
        kind="chain",
        start=started,
        end=ended,
        inputs={"query": query, "inputs": inputs},
        outputs={"answer": answer},
        error=error,
        metadata={
            "app_id": app_id,
            "app_mode": app_mode,
            "message_id": message_id,
            "conversation_id": conversation_id,
            "status": status,
            "invoke_from": invoke_from,
            "total_tokens": int(usage.get("total_tokens") or 0),
            "total_price": _number(usage.get("total_price")),
            "currency": usage.get("currency") or "USD",
        },
    )
    spans = [root]
    resources = retriever_resources or []
    if resources:
        spans.append(
            Span(
                id=stable_uuid(message_id, "retrieval"),
                name="dataset_retrieval",
                kind="retriever",
                start=started,
                end=started,
                inputs={"query": query},
                outputs={"documents": resources},
            )
        )
    if annotation is not None:
        spans.append(
            Span(
                id=stable_uuid(message_id, "annotation"),
                name="annotation_reply",
                kind="event",
                start=started,
                end=ended,
                inputs={"query": query},
                outputs={"answer": answer},
                metadata={"annotation_reply": annotation},
            )
        )
    elif prompt_messages or status == "error":
        latency = float(usage.get("latency") or 0.0) or (ended - started)
        first = usage.get("time_to_first_token")
        call_start = max(started, ended - latency)
        spans.append(
            Span(
                id=stable_uuid(message_id, "llm"),
                name="llm",
                kind="llm",
                start=call_start,
                end=ended,
                inputs=prompt_messages,
                outputs={"role": "assistant", "content": answer},
                error=error,
                model=model,
                provider=provider,
                parameters=parameters,
                usage=TokenUsage(
                    input_tokens=int(usage.get("prompt_tokens") or 0),
                    output_tokens=int(usage.get("completion_tokens") or 0),
                    total_tokens=int(usage.get("total_tokens") or 0),
                ),
                cost=Cost(
                    input=_number(usage.get("prompt_price")),
                    output=_number(usage.get("completion_price")),
                    total=_number(usage.get("total_price")),
                    currency=usage.get("currency") or "USD",
                ),
                first_token_at=None if first is None else call_start + float(first),
            )
        )
    return Trace(
        id=message_id,
        app_id=app_id,
        tenant_id=tenant_id,
        name="message",
        spans=spans,
        user_id=user_id,
        session_id=conversation_id,
        tags=[app_mode, invoke_from],
    )


def _node_span(run_id: str, data: dict[str, Any], ended: float, parents: dict[str, str]) -> Span:
    node_type = str(data.get("node_type") or "")
    elapsed = float(data.get("elapsed_time") or 0.0)
    metadata = dict(data.get("execution_metadata") or {})
    process = data.get("process_data") or {}
    outputs = data.get("outputs")
    execution_id = str(data.get("id") or new_id())
    parent_node = metadata.get("iteration_id") or metadata.get("loop_id") or data.get("iteration_id")
    span = Span(
        id=stable_uuid(run_id, "node", execution_id),
        name=str(data.get("title") or data.get("node_id") or node_type),
        kind=_NODE_KINDS.get(node_type, "chain"),
        start=ended - elapsed,
        end=ended,
        parent_id=parents.get(str(parent_node)) if parent_node else None,
        inputs=data.get("inputs"),
        outputs=outputs,
        error=data.get("error"),
        metadata={
            "node_id": data.get("node_id"),
            "node_type": node_type,
            "status": data.get("status"),
            "index": data.get("index"),
            "node_execution_id": execution_id,
            **{k: v for k, v in metadata.items() if isinstance(v, str | int | float | bool)},
        },
    )
    if span.kind == "llm":
        usage = (outputs or {}).get("usage") if isinstance(outputs, dict) else None
        usage = usage or metadata
        span.model = (process.get("model_name") if isinstance(process, dict) else None) or metadata.get("model")
        span.provider = (process.get("model_provider") if isinstance(process, dict) else None) or metadata.get(
            "provider"
        )
        if isinstance(process, dict) and process.get("prompts") is not None:
            span.inputs = process.get("prompts")
        span.usage = TokenUsage(
            input_tokens=int(usage.get("prompt_tokens") or 0),
            output_tokens=int(usage.get("completion_tokens") or 0),
            total_tokens=int(usage.get("total_tokens") or metadata.get("total_tokens") or 0),
        )
        span.cost = Cost(
            input=_number(usage.get("prompt_price")),
            output=_number(usage.get("completion_price")),
            total=_number(usage.get("total_price") or metadata.get("total_price")),
            currency=str(usage.get("currency") or metadata.get("currency") or "USD"),
        )
    return span


def workflow_trace(
    *,
    app_id: str,
    tenant_id: str,
    run_id: str,
    workflow_id: str,
    inputs: dict[str, Any],
    finished: dict[str, Any],
    nodes: list[tuple[dict[str, Any], float]],
    started: float,
    ended: float,
    user_id: str | None,
    invoke_from: str,
    conversation_id: str | None = None,
) -> Trace:
    """The trace of one workflow run: the run, then each node execution (`nodes`: data, end time)."""
    root = Span(
        id=run_id,
        name="workflow",
        kind="chain",
        start=started,
        end=ended,
        inputs=inputs,
        outputs=finished.get("outputs"),
        error=finished.get("error"),
        metadata={
            "app_id": app_id,
            "workflow_id": workflow_id,
            "workflow_run_id": run_id,
            "status": finished.get("status"),
            "total_tokens": int(finished.get("total_tokens") or 0),
            "total_steps": int(finished.get("total_steps") or 0),
            "elapsed_time": finished.get("elapsed_time"),
            "invoke_from": invoke_from,
        },
    )
    # Container nodes (iteration, loop) finish after their children: map node ids first.
    parents = {
        str(data.get("node_id")): stable_uuid(run_id, "node", str(data.get("id")))
        for data, _ in nodes
        if data.get("node_type") in ("iteration", "loop") and data.get("id")
    }
    spans = [root, *(_node_span(run_id, data, end, parents) for data, end in nodes)]
    return Trace(
        id=run_id,
        app_id=app_id,
        tenant_id=tenant_id,
        name="workflow",
        spans=spans,
        user_id=user_id,
        session_id=conversation_id,
        tags=["workflow", invoke_from],
    )


def now_seconds() -> float:
    """Wall-clock time in epoch seconds (what spans record)."""
    return time.time()
