"""What the chat pipeline needs from a model: a stream of text deltas ending with usage (the runtime's `Usage`).

`services/model_gateway.py` adapts the model runtime to this; tests may pass any implementation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from loomworks.providers.usage import Usage


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
