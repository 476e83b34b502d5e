"""A fake Ollama server speaking its documented native API.

`/api/chat` and `/api/generate` stream NDJSON (`application/x-ndjson`, one object per line, the last
with `"done": true`, `done_reason`, `prompt_eval_count`, `eval_count`) or answer one object with
`"stream": false`; tool calls come whole with `arguments` as an object; errors are `{"error": "…"}`
with the HTTP status. `/api/embed` and `/api/tags` are there too. Scenarios follow
`tests/providers/_suite.py`, plus `thinking` and `error_line` (an error object in the middle of a
stream, as Ollama sends when the model runner fails).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

_ERRORS = {"error_400": 400, "error_401": 401, "error_429": 429, "error_500": 500}
TAGS = [
    {
        "name": "llama3.2:latest",
        "model": "llama3.2:latest",
        "size": 2019393189,
        "digest": "a80c4f17acd5",
        "details": {"format": "gguf", "family": "llama", "families": ["llama"], "parameter_size": "3.2B"},
    },
    {
        "name": "nomic-embed-text:latest",
        "model": "nomic-embed-text:latest",
        "size": 274302450,
        "digest": "0a109f422b47",
        "details": {"format": "gguf", "family": "nomic-bert", "families": ["nomic-bert"], "parameter_size": "137M"},
    },
]


class ConnectionCut(Exception):
    """Raised inside a response body: the server drops the connection without finishing it."""


def _line(payload: dict[str, Any]) -> bytes:
    return (json.dumps(payload) + "\n").encode()


def _part(model: str, chat: bool, text: str = "", **extra: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"model": model, "created_at": "2025-01-01T00:00:00Z", "done": False}
    if chat:
        payload["message"] = {"role": "assistant", "content": text, **extra}
    else:
        payload["response"] = text
        payload.update(extra)
    return payload


def _done(model: str, chat: bool, reason: str = "stop") -> dict[str, Any]:
    payload = _part(model, chat)
    payload.update(done=True, done_reason=reason, total_duration=1000, prompt_eval_count=7, eval_count=2)
    return payload


_CALL = {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}


async def _stream(scenario: str, model: str, chat: bool) -> AsyncIterator[bytes]:
    if scenario == "tool_call":
        yield _line(_part(model, chat, tool_calls=[_CALL]))
        yield _line(_done(model, chat))
        return
    if scenario == "thinking":
        yield _line(_part(model, chat, thinking="The user greets me."))
    yield _line(_part(model, chat, "Hello"))
    if scenario == "drop":
        raise ConnectionCut
    if scenario == "malformed":
        yield b'{"model": "x", "message": {"content": \n'
        return
    if scenario == "error_line":
        yield _line({"error": "an error was encountered while running the model: unexpected EOF"})
        return
    yield _line(_part(model, chat, " world"))
    yield _line(_done(model, chat))


def _whole(scenario: str, model: str, chat: bool) -> dict[str, Any]:
    payload = _done(model, chat)
    if chat:
        payload["message"]["content"] = "" if scenario == "tool_call" else "Hello world"
        if scenario == "tool_call":
            payload["message"]["tool_calls"] = [_CALL]
    else:
        payload["response"] = "Hello world"
    return payload


def _check(body: dict[str, Any], chat: bool) -> str | None:
    """What Ollama's Go decoder and handlers refuse."""
    if not body.get("model"):
        return "model is required"
    for message in (body.get("messages") or []) if chat else [body]:
        if chat and message.get("role") not in ("system", "user", "assistant", "tool"):
            return f"invalid role: {message.get('role')}"
        for call in message.get("tool_calls") or []:
            if not isinstance(call.get("function", {}).get("arguments"), dict):
                return "json: cannot unmarshal string into Go struct field ToolCallFunction.arguments"
        for image in message.get("images") or []:
            try:
                base64.b64decode(image, validate=True)
            except (binascii.Error, ValueError):
                return "illegal base64 data in images"
    options = body.get("options") or {}
    if not isinstance(options, dict) or not all(isinstance(v, int | float | list) for v in options.values()):
        return "invalid options"
    fmt = body.get("format")
    if fmt is not None and fmt != "json" and not isinstance(fmt, dict):
        return f"invalid format: {fmt!r}"
    return None


def create_app(scenarios: list[str], requests: list[dict[str, Any]]) -> FastAPI:
    """The fake server; it plays `scenarios[0]` and appends every JSON body to `requests`."""
    app = FastAPI()

    async def answer(request: Request, chat: bool) -> Response:
        body = await request.json()
        requests.append(body)
        scenario = scenarios[0]
        if scenario in _ERRORS:
            return JSONResponse({"error": "scripted failure"}, status_code=_ERRORS[scenario])
        problem = _check(body, chat)
        if problem:
            return JSONResponse({"error": problem}, status_code=400)
        if body.get("stream", True):
            return StreamingResponse(_stream(scenario, body["model"], chat), media_type="application/x-ndjson")
        return JSONResponse(_whole(scenario, body["model"], chat))

    @app.post("/api/chat")
    async def chat(request: Request) -> Response:
        return await answer(request, True)

    @app.post("/api/generate")
    async def generate(request: Request) -> Response:
        return await answer(request, False)

    @app.post("/api/embed")
    async def embed(request: Request) -> Response:
        body = await request.json()
        requests.append(body)
        if scenarios[0] in _ERRORS:
            return JSONResponse({"error": "scripted failure"}, status_code=_ERRORS[scenarios[0]])
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        vectors = [[float(len(text)), 0.25] for text in inputs]
        return JSONResponse({"model": body["model"], "embeddings": vectors, "prompt_eval_count": len(inputs) * 3})

    @app.get("/api/tags")
    async def tags() -> Response:
        if scenarios[0] in _ERRORS:
            return JSONResponse({"error": "scripted failure"}, status_code=_ERRORS[scenarios[0]])
        return JSONResponse({"models": TAGS})

    return app
