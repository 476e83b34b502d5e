"""Dify's `LLMUsage`, and prices from a model's YAML `pricing`.

Price of a side = tokens × unit price × price unit (the YAML's `unit`, e.g. 0.000001 for prices per
million tokens), rounded to 7 decimals, as Dify computes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

_SEVEN = Decimal("0.0000001")


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
    estimated: bool = False

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


def _decimal(value: Any, default: str) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal(default)
    except ArithmeticError:
        return Decimal(default)


def price_usage(
    pricing: dict[str, Any] | None,
    *,
    prompt_tokens: int,
    completion_tokens: int,
    latency: float = 0.0,
    time_to_first_token: float | None = None,
    estimated: bool = False,
) -> Usage:
    """The usage of one call, priced by the model's YAML `pricing` (free when it has none)."""
    pricing = pricing or {}
    unit = _decimal(pricing.get("unit"), "0.001")
    prompt_unit = _decimal(pricing.get("input"), "0")
    completion_unit = _decimal(pricing.get("output"), str(prompt_unit))
    prompt_price = (Decimal(prompt_tokens) * prompt_unit * unit).quantize(_SEVEN, rounding=ROUND_HALF_UP)
    completion_price = (Decimal(completion_tokens) * completion_unit * unit).quantize(_SEVEN, rounding=ROUND_HALF_UP)
    return Usage(
        prompt_tokens=prompt_tokens,
        prompt_unit_price=prompt_unit,
        prompt_price_unit=unit,
        prompt_price=prompt_price,
        completion_tokens=completion_tokens,
        completion_unit_price=completion_unit,
        completion_price_unit=unit,
        completion_price=completion_price,
        total_tokens=prompt_tokens + completion_tokens,
        total_price=prompt_price + completion_price,
        currency=str(pricing.get("currency") or "USD"),
        latency=latency,
        time_to_first_token=time_to_first_token,
        time_to_generate=None if time_to_first_token is None else max(latency - time_to_first_token, 0.0),
        estimated=estimated,
    )
