"""A fake Anthropic Messages API (`POST /v1/messages`) speaking the documented wire format.

Streams are SSE with named events (`event: message_start` + `data: {...}` …, ending with
`message_stop`); errors are `{"type": "error", "error": {"type", "message"}}` with the documented
HTTP statuses. Scenarios follow `tests/providers/_suite.py`, plus `thinking` (a thinking block before
the text), `overloaded` (an `error` event in the middle of the stream) and `structured`: the model
calls the tool that `tool_choice` forces (else the last tool offered) with `STRUCTURED`, streamed as
`input_json_delta` fragments (`structured_empty`: with `{}`, which streams no fragment); with
thinking on, a thinking block and a text block come first. The fake checks tools and `tool_choice`
as the API does: an `object` input schema, a named tool that is offered, and no forced choice while
extended thinking is on.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

GOOD_KEY = "sk-ant-good"
STRUCTURED = {"city": "Paris", "temperature_c": 21, "conditions": ["sunny", "windy"]}
_ERRORS = {
    "error_400": (400, "invalid_request_error"),
    "error_401": (401, "authentication_error"),
    "error_429": (429, "rate_limit_error"),
    "error_500": (500, "api_error"),
}


class ConnectionCut(Exception):
    """Raised inside a response body: the server drops the connection without finishing it."""


def _error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"type": "error", "error": {"type": kind, "message": message}}, status_code=status)


def _event(name: str, payload: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(payload)}\n\n".encode()


def _message(model: str, content: list[dict[str, Any]], stop: str | None, out: int) -> dict[str, Any]:
    return {
        "id": "msg_01FAKE",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": 7, "output_tokens": out},
    }


def _thinking(body: dict[str, Any]) -> bool:
    return (body.get("thinking") or {}).get("type") == "enabled"


def _answer_tool(body: dict[str, Any]) -> str:
    choice = body.get("tool_choice") or {}
    if choice.get("type") == "tool":
        return str(choice["name"])
    return str((body.get("tools") or [{}])[-1].get("name", ""))


def _structured(body: dict[str, Any], scenario: str) -> list[dict[str, Any]]:
    answer = {} if scenario == "structured_empty" else STRUCTURED
    tool = {"type": "tool_use", "id": "toolu_01S", "name": _answer_tool(body), "input": answer}
    if _thinking(body):
        thought = {"type": "thinking", "thinking": "I should use the tool.", "signature": "sig=="}
        return [thought, {"type": "text", "text": "Here is the answer."}, tool]
    return [tool]


def _blocks(scenario: str, body: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    if scenario.startswith("structured"):
        return _structured(body, scenario), "tool_use"
    if scenario == "tool_call":
        tool = {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {"city": "Paris"}}
        return [{"type": "text", "text": "Checking."}, tool], "tool_use"
    if scenario == "thinking":
        thought = {"type": "thinking", "thinking": "The user greets me.", "signature": "sig=="}
        return [thought, {"type": "text", "text": "Hello world"}], "end_turn"
    return [{"type": "text", "text": "Hello world"}], "end_turn"


async def _stream_structured(body: dict[str, Any], scenario: str) -> AsyncIterator[bytes]:
    for index, block in enumerate(_structured(body, scenario)):
        if block["type"] == "thinking":
            yield _event("content_block_start", _block_start(index, {"type": "thinking", "thinking": ""}))
            yield _event(
                "content_block_delta", _delta(index, {"type": "thinking_delta", "thinking": block["thinking"]})
            )
        elif block["type"] == "text":
            yield _event("content_block_start", _block_start(index, {"type": "text", "text": ""}))
            yield _event("content_block_delta", _delta(index, {"type": "text_delta", "text": block["text"]}))
        else:
            yield _event("content_block_start", _block_start(index, {**block, "input": {}}))
            # An empty input streams no JSON at all.
            text = json.dumps(block["input"]) if block["input"] else ""
            for part in filter(None, (text[:9], text[9:30], text[30:])):
                yield _event("content_block_delta", _delta(index, {"type": "input_json_delta", "partial_json": part}))
        yield _event("content_block_stop", {"type": "content_block_stop", "index": index})
    yield _event("message_delta", _message_delta("tool_use", 12))
    yield _event("message_stop", {"type": "message_stop"})


async def _stream(scenario: str, body: dict[str, Any]) -> AsyncIterator[bytes]:
    start = _message(body["model"], [], None, 1)
    yield _event("message_start", {"type": "message_start", "message": start})
    if scenario.startswith("structured"):
        async for event in _stream_structured(body, scenario):
            yield event
        return
    if scenario == "tool_call":
        yield _event("content_block_start", _block_start(0, {"type": "text", "text": ""}))
        yield _event("content_block_delta", _delta(0, {"type": "text_delta", "text": "Checking."}))
        yield _event("content_block_stop", {"type": "content_block_stop", "index": 0})
        tool = {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {}}
        yield _event("content_block_start", _block_start(1, tool))
        for part in ('{"city": ', '"Par', 'is"}'):
            yield _event("content_block_delta", _delta(1, {"type": "input_json_delta", "partial_json": part}))
        yield _event("content_block_stop", {"type": "content_block_stop", "index": 1})
        yield _event("message_delta", _message_delta("tool_use", 2))
        yield _event("message_stop", {"type": "message_stop"})
        return
    index = 0
    if scenario == "thinking":
        yield _event("content_block_start", _block_start(0, {"type": "thinking", "thinking": ""}))
        for part in ("The user ", "greets me."):
            yield _event("content_block_delta", _delta(0, {"type": "thinking_delta", "thinking": part}))
        yield _event("content_block_delta", _delta(0, {"type": "signature_delta", "signature": "sig=="}))
        yield _event("content_block_stop", {"type": "content_block_stop", "index": 0})
        index = 1
    yield _event("content_block_start", _block_start(index, {"type": "text", "text": ""}))
    yield _event("ping", {"type": "ping"})
    yield _event("content_block_delta", _delta(index, {"type": "text_delta", "text": "Hello"}))
    if scenario == "drop":
        raise ConnectionCut
    if scenario == "malformed":
        yield b"event: content_block_delta\ndata: {not json\n\n"
        return
    if scenario == "overloaded":
        yield _event("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
        return
    yield _event("content_block_delta", _delta(index, {"type": "text_delta", "text": " world"}))
    yield _event("content_block_stop", {"type": "content_block_stop", "index": index})
    yield _event("message_delta", _message_delta("end_turn", 2))
    yield _event("message_stop", {"type": "message_stop"})


def _block_start(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def _delta(index: int, delta: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": delta}


def _message_delta(stop: str, out: int) -> dict[str, Any]:
    return {
        "type": "message_delta",
        "delta": {"stop_reason": stop, "stop_sequence": None},
        "usage": {"output_tokens": out},
    }


def _check(body: dict[str, Any]) -> str | None:
    """The API's own validation of the points adapters get wrong most often."""
    if not isinstance(body.get("max_tokens"), int):
        return "max_tokens: Field required"
    messages = body.get("messages") or []
    if not messages or messages[0].get("role") != "user":
        return 'messages: first message must use the "user" role'
    for before, after in zip(messages, messages[1:], strict=False):
        if before.get("role") == after.get("role"):
            return 'messages: roles must alternate between "user" and "assistant"'
    if any(m.get("role") == "system" for m in messages):
        return 'messages: Unexpected role "system". Use the top-level `system` parameter.'
    return _check_tools(body)


def _check_tools(body: dict[str, Any]) -> str | None:
    tools = body.get("tools") or []
    for n, tool in enumerate(tools):
        if (tool.get("input_schema") or {}).get("type") != "object":
            return f"tools.{n}.custom.input_schema.type: Input should be 'object'"
    choice = body.get("tool_choice")
    if choice is None:
        return None
    if not tools:
        return "tool_choice may only be specified while providing tools."
    kind = choice.get("type")
    if kind not in ("auto", "any", "tool", "none"):
        return f"tool_choice.type: Input tag '{kind}' does not match any of the expected tags"
    if kind == "tool" and choice.get("name") not in {t.get("name") for t in tools}:
        return f"tool_choice.name: Tool '{choice.get('name')}' not found in the provided tools"
    if kind in ("any", "tool") and _thinking(body):
        return "Thinking may not be enabled when tool_choice forces tool use."
    return None


def create_app(scenarios: list[str], requests: list[dict[str, Any]]) -> FastAPI:
    """The fake server; it plays `scenarios[0]` and appends every JSON body to `requests`."""
    app = FastAPI()

    @app.post("/v1/messages")
    async def messages(request: Request) -> Response:
        body = await request.json()
        requests.append(body)
        scenario = scenarios[0]
        if request.headers.get("anthropic-version") != "2023-06-01":
            return _error(400, "invalid_request_error", "anthropic-version: header is required")
        if request.headers.get("x-api-key") != GOOD_KEY or scenario == "error_401":
            message = "scripted failure" if scenario == "error_401" else "invalid x-api-key"
            return _error(401, "authentication_error", message)
        if scenario in _ERRORS:
            status, kind = _ERRORS[scenario]
            return _error(status, kind, "scripted failure")
        problem = _check(body)
        if problem:
            return _error(400, "invalid_request_error", problem)
        if body.get("stream"):
            return StreamingResponse(_stream(scenario, body), media_type="text/event-stream")
        content, stop = _blocks(scenario, body)
        return JSONResponse(_message(body["model"], content, stop, 12 if scenario.startswith("structured") else 2))

    return app
