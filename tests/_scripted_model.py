"""A scripted chat model: a real implementation of the pipeline's model port, for tests.

It answers "Echo: <last user text>" in small pieces, or what a test scripts, and can fail before
or during the stream, or wait between pieces so that stop and concurrency can be observed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from loomworks.core.errors import CompletionRequestError, ProviderNotInitializeError
from loomworks.services.chat.llm import ChatRequest, Delta, Usage


@dataclass
class ScriptedModel:
    provider: str = "scripted"
    model: str = "echo-1"
    context_size: int = 4096
    reply: str | None = None
    fail_before: bool = False
    fail_after_pieces: int | None = None
    delay: float = 0.0
    requests: list[ChatRequest] = field(default_factory=list)

    @property
    def answer_requests(self) -> list[ChatRequest]:
        """The requests for answers (not the background ones that name conversations)."""
        return [r for r in self.requests if not str(r.messages[-1]["content"]).startswith("Write a short title")]

    def count_tokens(self, messages: list[dict[str, Any]]) -> int:
        return sum(len(str(m.get("content", ""))) // 4 + 4 for m in messages)

    def _text(self, request: ChatRequest) -> str:
        if self.reply is not None:
            return self.reply
        content = request.messages[-1]["content"]
        text = content if isinstance(content, str) else content[0]["text"]
        return f"Echo: {text}"

    async def stream(self, request: ChatRequest) -> AsyncIterator[Delta]:
        self.requests.append(request)
        if self.fail_before:
            raise CompletionRequestError("[scripted] Incorrect API key provided")
        words = self._text(request).split(" ")
        for index, word in enumerate(words):
            if self.fail_after_pieces is not None and index >= self.fail_after_pieces:
                raise CompletionRequestError("[scripted] connection dropped mid-stream")
            if self.delay:
                await asyncio.sleep(self.delay)
            yield Delta(text=word if index == 0 else " " + word)
        prompt_tokens = self.count_tokens(request.messages)
        yield Delta(
            usage=Usage(
                prompt_tokens=prompt_tokens,
                prompt_unit_price=Decimal("0.001"),
                prompt_price=Decimal(prompt_tokens) * Decimal("0.000001"),
                completion_tokens=len(words),
                completion_unit_price=Decimal("0.002"),
                completion_price=Decimal(len(words)) * Decimal("0.000002"),
                total_tokens=prompt_tokens + len(words),
                total_price=Decimal(prompt_tokens) * Decimal("0.000001") + Decimal(len(words)) * Decimal("0.000002"),
                latency=0.01,
            ),
            finish_reason="stop",
        )


class ScriptedModels:
    """A resolver that hands out one scripted model for provider `scripted`."""

    def __init__(self) -> None:
        self.model = ScriptedModel()

    def resolve(self, session: Session, *, tenant_id: str, provider: str, model: str) -> ScriptedModel:
        if provider != "scripted":
            raise ProviderNotInitializeError()
        return self.model


def configured_app(owner: Any, mode: str = "chat", **changes: Any) -> tuple[dict[str, str], str]:
    """Create an app using the scripted model (saved through the console API) and an API key for it."""
    app = owner.create_app(f"{mode} app", mode)
    config = dict(app["model_config"])
    config["model"] = {"provider": "scripted", "name": "echo-1", "mode": "chat", "completion_params": {}}
    config.update(changes)
    saved = owner.post(f"/apps/{app['id']}/model-config", json=config)
    assert saved.status_code == 200, saved.text
    return {"Authorization": f"Bearer {owner.create_key(app['id'])}"}, app["id"]


def sse_events(response: Any) -> list[dict[str, Any]]:
    """The JSON events of a finished SSE response (pings and other lines skipped)."""
    return [json.loads(block[len("data: ") :]) for block in response.text.split("\n\n") if block.startswith("data: ")]


class ScriptedSpeech:
    """Speech models for tests: transcripts name the audio's size; speech is the text as bytes."""

    async def transcribe(self, *, tenant_id: str, audio: bytes, filename: str) -> str:
        return f"heard {len(audio)} bytes of {filename}"

    async def synthesize(self, *, tenant_id: str, text: str, voice: str | None) -> tuple[bytes, str]:
        return f"{voice or 'default'}:{text}".encode(), "audio/mpeg"


async def scripted_embed(tenant_id: str, provider: str, model: str, texts: list[str]) -> list[list[float]]:
    """Bag-of-words vectors over hashed lower-case words: equal word sets give similarity 1."""
    import re
    import zlib

    vectors = []
    for text in texts:
        vector = [0.0] * 64
        for word in re.findall(r"\w+", text.lower()):
            vector[zlib.crc32(word.encode()) % 64] += 1.0
        vectors.append(vector)
    return vectors
