"""The exporter contract: turn a `Trace` into a provider's wire items, and send a batch of them.

An exporter registers itself by subclassing `TraceExporter` with `provider="name"`; the dispatcher
finds it in `EXPORTERS`. Items are JSON objects (they may wait in the outbox), encoded once, so a
retried send carries the same ids and a collector that deduplicates by id sees each item once.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx

from loomworks.core.ssrf import SafeHttpClient
from loomworks.services.tracing.events import Trace

EXPORTERS: dict[str, TraceExporter] = {}


class ExportError(Exception):
    """A send failed; `retryable` says whether sending the same items again may succeed."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass
class SendResult:
    """What a send left over: items to send again, and how many the collector refused for good."""

    retry: list[dict[str, Any]] = field(default_factory=list)
    rejected: int = 0


def retryable_status(status: int) -> bool:
    """408, 429 and every 5xx: the collector may take the same items later (OTLP's list, widened to 5xx)."""
    return status in (408, 429) or status >= 500


def iso(seconds: float) -> str:
    """An RFC 3339 UTC timestamp with milliseconds (`2026-01-02T03:04:05.678Z`)."""
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def json_safe(value: Any) -> Any:
    """`value` as plain JSON types (unknown objects become strings)."""
    return json.loads(json.dumps(value, default=str))


def check_response(response: httpx.Response, provider: str) -> None:
    """Raise `ExportError` for a status of 300 or more."""
    if response.status_code < 300:
        return
    text = response.text[:300]
    raise ExportError(
        f"{provider} answered {response.status_code}: {text}", retryable=retryable_status(response.status_code)
    )


class TraceExporter(ABC):
    """Encodes traces for one provider and sends batches of encoded items.

    Subclasses set the provider with the class keyword (`class XExporter(TraceExporter, provider="x")`)
    and are registered on definition. `encode` is pure (no I/O); `send` makes one request and either
    returns a `SendResult` or raises `ExportError` (a whole-batch failure). Network errors are raised
    as the SSRF client's `OutboundRequestError`s; the dispatcher decides what to retry.
    """

    provider: ClassVar[str]

    def __init_subclass__(cls, *, provider: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.provider = provider
        EXPORTERS[provider] = cls()

    @abstractmethod
    def encode(self, trace: Trace, config: dict[str, Any]) -> list[dict[str, Any]]:
        """The wire items (events, runs or spans) that describe `trace` under `config`."""

    @abstractmethod
    async def send(
        self, http: SafeHttpClient, config: dict[str, Any], items: list[dict[str, Any]], *, seconds: float
    ) -> SendResult:
        """Send `items` (from `encode`, possibly of several traces) in one request of at most `seconds`."""
