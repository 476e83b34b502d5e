"""What the chat pipeline needs from a model: a stream of text deltas ending with usage.

`services/model_gateway.py` adapts the model runtime to this; tests may pass any implementation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol


@dataclass(slots=True)
class Usage:
    """Dify's `LLMUsage` fields (prices as decimals; serialised as strings)."""

    prompt_tokens: int = 0
    prompt_unit_price: Decimal = Decimal(0)
    prompt_price_unit: Decimal = Decimal("0.001")
    prompt_price: Decimal = Decimal(0)
    completion_tokens: int = 0
    completion_unit_price: Decimal = Decimal(0)
    completion_price_unit: Decimal = Decimal("0.001")
    completion_price: Decimal = Decimal(0)
    total_tokens: int = 0
    total_price: Decimal = Decimal(0)
    currency: str = "USD"
    latency: float = 0.0
    time_to_first_token: float | None = None
    time_to_generate: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "prompt_unit_price": str(self.prompt_unit_price),
            "prompt_price_unit": str(self.prompt_price_unit),
            "prompt_price": str(self.prompt_price),
            "completion_tokens": self.completion_tokens,
            "completion_unit_price": str(self.completion_unit_price),
            "completion_price_unit": str(self.completion_price_unit),
            "completion_price": str(self.completion_price),
            "total_tokens": self.total_tokens,
            "total_price": str(self.total_price),
            "currency": self.currency,
            "latency": round(self.latency, 3),
            "time_to_first_token": None if self.time_to_first_token is None else round(self.time_to_first_token, 3),
            "time_to_generate": None if self.time_to_generate is None else round(self.time_to_generate, 3),
        }


@dataclass(slots=True)
class Delta:
    """One piece of a streamed answer; the last one carries `usage`."""

    text: str = ""
    usage: Usage | None = None
    finish_reason: str | None = None


@dataclass(slots=True)
class ChatRequest:
    """A model call: OpenAI-style messages (`role`, `content` as text or parts), parameters, stop words."""

    messages: list[dict[str, Any]]
    parameters: dict[str, Any] = field(default_factory=dict)
    stop: list[str] = field(default_factory=list)
    mode: str = "chat"  # chat | completion
    user: str | None = None


class ChatModel(Protocol):
    """A model bound to its credentials.

    `stream` yields deltas and finishes with one whose `usage` is set. It raises the model
    runtime's invoke errors (connection, rate limit, authorization, bad request, server
    unavailable) — before the first delta or in the middle of the stream.
    """

    provider: str
    model: str
    context_size: int

    def stream(self, request: ChatRequest) -> AsyncIterator[Delta]: ...

    def count_tokens(self, messages: list[dict[str, Any]]) -> int: ...
