"""A fake Cohere API v2 (`/v2/chat`, `/v2/embed`, `/v2/rerank`) speaking the documented wire format.

Chat streams are SSE events (`event: <type>` + `data: {"type": <type>, ...}`) from `message-start`
to `message-end` (with `finish_reason` and `usage.billed_units` / `usage.tokens`); tool calls stream
as `tool-plan-delta`, `tool-call-start`, `tool-call-delta`, `tool-call-end`. Errors are
`{"id", "message"}` with the HTTP status. Scenarios follow `tests/providers/_suite.py`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

GOOD_KEY = "co-good"
_ERRORS = {"error_400": 400, "error_401": 401, "error_429": 429, "error_500": 500}
_USAGE = {"billed_units": {"input_tokens": 7, "output_tokens": 2}, "tokens": {"input_tokens": 70, "output_tokens": 2}}


class ConnectionCut(Exception):
    """Raised inside a response body: the server drops the connection without finishing it."""


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"id": "err-1", "message": message}, status_code=status)


def _event(payload: dict[str, Any]) -> bytes:
    return f"event: {payload['type']}\ndata: {json.dumps(payload)}\n\n".encode()


def _end(reason: str) -> bytes:
    return _event({"type": "message-end", "delta": {"finish_reason": reason, "usage": _USAGE}})


async def _stream(scenario: str) -> AsyncIterator[bytes]:
    start = {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}
    yield _event({"id": "c-1", "type": "message-start", "delta": {"message": start}})
    if scenario == "tool_call":
        for piece in ("I will check ", "the weather."):
            yield _event({"type": "tool-plan-delta", "delta": {"message": {"tool_plan": piece}}})
        call = {"id": "get_weather_x1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}
        yield _event({"type": "tool-call-start", "index": 0, "delta": {"message": {"tool_calls": call}}})
        for piece in ('{"city":', ' "Paris"}'):
            fragment = {"tool_calls": {"function": {"arguments": piece}}}
            yield _event({"type": "tool-call-delta", "index": 0, "delta": {"message": fragment}})
        yield _event({"type": "tool-call-end", "index": 0})
        yield _end("TOOL_CALL")
        return
    content_start = {"message": {"content": {"type": "text", "text": ""}}}
    yield _event({"type": "content-start", "index": 0, "delta": content_start})
    yield _event({"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": "Hello"}}}})
    if scenario == "drop":
        raise ConnectionCut
    if scenario == "malformed":
        yield b'event: content-delta\ndata: {"type": "content-delta", "delta\n\n'
        return
    yield _event({"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": " world"}}}})
    yield _event({"type": "content-end", "index": 0})
    yield _end("COMPLETE")


def _whole(scenario: str) -> dict[str, Any]:
    if scenario == "tool_call":
        call = {
            "id": "get_weather_x1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        }
        message = {"role": "assistant", "tool_plan": "I will check the weather.", "tool_calls": [call]}
        return {"id": "c-1", "finish_reason": "TOOL_CALL", "message": message, "usage": _USAGE}
    message = {"role": "assistant", "content": [{"type": "text", "text": "Hello world"}]}
    return {"id": "c-1", "finish_reason": "COMPLETE", "message": message, "usage": _USAGE}


def _check_chat(body: dict[str, Any]) -> str | None:
    allowed = {
        "model", "messages", "stream", "tools", "documents", "citation_options", "response_format", "safety_mode",
        "max_tokens", "stop_sequences", "temperature", "seed", "frequency_penalty", "presence_penalty", "k", "p",
        "logprobs", "tool_choice", "strict_tools", "thinking",
    }  # fmt: skip
    unknown = set(body) - allowed
    if unknown:
        return f"invalid request: unknown field(s) {sorted(unknown)}"
    for message in body.get("messages") or []:
        if message.get("role") not in ("system", "user", "assistant", "tool"):
            return f"invalid request: invalid role {message.get('role')!r}"
    return None


def create_app(scenarios: list[str], requests: list[dict[str, Any]]) -> FastAPI:
    """The fake server; it plays `scenarios[0]` and appends every JSON body to `requests`."""
    app = FastAPI()

    async def accepted(request: Request) -> tuple[dict[str, Any], Response | None]:
        body = await request.json()
        requests.append(body)
        if request.headers.get("authorization") != f"Bearer {GOOD_KEY}":
            return body, _error(401, "invalid api token")
        if scenarios[0] in _ERRORS:
            return body, _error(_ERRORS[scenarios[0]], "scripted failure")
        if not body.get("model"):
            return body, _error(400, "invalid request: model must be specified")
        return body, None

    @app.post("/v2/chat")
    async def chat(request: Request) -> Response:
        body, refused = await accepted(request)
        if refused is not None:
            return refused
        problem = _check_chat(body)
        if problem:
            return _error(400, problem)
        if body.get("stream"):
            return StreamingResponse(_stream(scenarios[0]), media_type="text/event-stream")
        return JSONResponse(_whole(scenarios[0]))

    @app.post("/v2/embed")
    async def embed(request: Request) -> Response:
        body, refused = await accepted(request)
        if refused is not None:
            return refused
        if body.get("embedding_types") != ["float"] or body.get("input_type") not in (
            "search_document",
            "search_query",
        ):
            return _error(400, "invalid request: embedding_types and input_type are required")
        vectors = [[float(len(text)), 1.0] for text in body["texts"]]
        meta = {"api_version": {"version": "2"}, "billed_units": {"input_tokens": 3 * len(body["texts"])}}
        return JSONResponse({"id": "e-1", "embeddings": {"float": vectors}, "texts": body["texts"], "meta": meta})

    @app.post("/v2/rerank")
    async def rerank(request: Request) -> Response:
        body, refused = await accepted(request)
        if refused is not None:
            return refused
        # Score: how many query words a document contains (a stand-in for the model).
        words = set(body["query"].lower().split())
        scored = [
            (i, len(words & set(d.lower().split())) / max(len(words), 1)) for i, d in enumerate(body["documents"])
        ]
        scored.sort(key=lambda item: item[1], reverse=True)
        top = scored[: body.get("top_n") or len(scored)]
        results = [{"index": i, "relevance_score": score} for i, score in top]
        return JSONResponse({"id": "r-1", "results": results, "meta": {"billed_units": {"search_units": 1}}})

    return app
