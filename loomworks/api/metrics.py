"""`GET /metrics` in Prometheus' text format: requests, latency, errors, tokens, cost, jobs."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import APIRouter, Response
from sqlalchemy import func, select

from loomworks.api.deps import State
from loomworks.core.metrics import Counter, Gauge, Histogram, Registry
from loomworks.services.chat.llm import Usage
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


@router.get("/metrics", include_in_schema=False)
def metrics(state: State) -> Response:
    return Response(state.extras["metrics"].registry.render(), media_type="text/plain; version=0.0.4")
