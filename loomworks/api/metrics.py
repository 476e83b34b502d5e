"""`GET /metrics` in Prometheus' text format: requests, latency, errors, tokens, cost, jobs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import APIRouter, Response
from sqlalchemy import func, select

from loomworks.api.deps import State
from loomworks.core.metrics import Counter, CounterFunc, Gauge, Histogram, Registry
from loomworks.services.chat.llm import Usage
from loomworks.services.tracing import DispatchStats, TraceDispatcher
from loomworks.store.db import Database
from loomworks.store.tables import Job

router = APIRouter(tags=["metrics"])


@dataclass
class ServerMetrics:
    """The metrics one server process keeps."""

    registry: Registry = field(default_factory=Registry)

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = r.add(Counter("loomworks_http_requests_total", "HTTP requests.", ("method", "route", "status")))
        self.latency = r.add(Histogram("loomworks_http_request_seconds", "HTTP request time.", ("method", "route")))
        self.errors = r.add(Counter("loomworks_errors_total", "Error responses by code.", ("code",)))
        self.tokens = r.add(Counter("loomworks_llm_tokens_total", "Model tokens.", ("provider", "model", "kind")))
        self.cost = r.add(Counter("loomworks_llm_cost_total", "Model cost.", ("provider", "model", "currency")))

    def record_usage(self, provider: str, model: str, usage: Usage) -> None:
        self.tokens.inc(usage.prompt_tokens, provider=provider, model=model, kind="prompt")
        self.tokens.inc(usage.completion_tokens, provider=provider, model=model, kind="completion")
        self.cost.inc(float(usage.total_price), provider=provider, model=model, currency=usage.currency)

    def watch_jobs(self, db: Database) -> None:
        def queued() -> float:
            with db.session() as session:
                return float(session.scalar(select(func.count()).select_from(Job).where(Job.status == "queued")) or 0)

        self.registry.add(Gauge("loomworks_jobs_queued", "Background jobs waiting to run.", queued))

    def watch_tracing(self, dispatcher: TraceDispatcher) -> None:
        """Expose the tracing dispatcher's counters and queue depth (once; later calls do nothing)."""
        if "loomworks_tracing_queue_depth" in self.registry.names():
            return
        stats = dispatcher.stats

        def read(name: str) -> Callable[[], float]:
            return lambda: float(getattr(stats, name))

        for name, help_text in TRACING_COUNTERS.items():
            assert hasattr(stats, name), name
            self.registry.add(CounterFunc(f"loomworks_tracing_{name}_total", help_text, read(name)))
        self.registry.add(
            Gauge("loomworks_tracing_queue_depth", "Traces held in memory for export.", lambda: dispatcher.pending())
        )
        self.registry.add(
            Gauge("loomworks_tracing_outbox_rows", "Traces stored in the outbox table.", dispatcher.outbox_size)
        )


TRACING_COUNTERS: dict[str, str] = {
    "submitted": "Traces queued for export.",
    "sent_requests": "Export requests a collector accepted.",
    "sent_items": "Items (traces, spans, events) a collector accepted.",
    "failed_requests": "Export requests that failed.",
    "retries": "Export retries scheduled after a failure.",
    "spilled": "Traces or item groups written to the outbox (queue full, retries used up, shutdown).",
    "from_outbox": "Outbox rows taken for another attempt.",
    "rejected_items": "Items a collector refused for good (or that could not be encoded).",
    "skipped": "Traces of apps without an active tracing destination.",
}
# Every counter above must be a field of the dispatcher's stats (checked at import, not at scrape).
assert set(TRACING_COUNTERS) <= set(DispatchStats.__dataclass_fields__), set(TRACING_COUNTERS)


@router.get("/metrics", include_in_schema=False)
def metrics(state: State) -> Response:
    server_metrics: ServerMetrics = state.extras["metrics"]
    tracer = state.extras.get("tracing")
    if isinstance(tracer, TraceDispatcher):
        # Bound at the first scrape: `build_state` makes the dispatcher beside the metrics.
        server_metrics.watch_tracing(tracer)
    return Response(server_metrics.registry.render(), media_type="text/plain; version=0.0.4")
