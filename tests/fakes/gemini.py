"""A fake Gemini API (`/v1beta`) speaking the documented wire format.

`models/{model}:generateContent` answers a `GenerateContentResponse`; `:streamGenerateContent?alt=sse`
streams one per `data:` line (CRLF-framed, no end marker, the last with `finishReason`);
`:batchEmbedContents` and `GET /v1beta/models` (two pages) are there too. Errors are Google's
`{"error": {"code", "message", "status", "details"}}`; a wrong key is HTTP 400 `API_KEY_INVALID`, as
the real API answers. Scenarios follow `tests/providers/_suite.py`, plus `thinking`, `safety` (an
answer blocked by the safety filters) and `blocked_prompt` (no candidates, `promptFeedback`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

GOOD_KEY = "AIza-good"
_ERRORS = {
    "error_400": (400, "INVALID_ARGUMENT"),
    "error_401": (401, "UNAUTHENTICATED"),
    "error_429": (429, "RESOURCE_EXHAUSTED"),
    "error_500": (500, "INTERNAL"),
}
_CONFIG_FIELDS = {
    "stopSequences",
    "responseMimeType",
    "responseSchema",
    "candidateCount",
    "maxOutputTokens",
    "temperature",
    "topP",
    "topK",
    "presencePenalty",
    "frequencyPenalty",
    "thinkingConfig",
    "seed",
}
MODELS_PAGES = [
    [
        {
            "name": "models/gemini-2.5-flash",
            "displayName": "Gemini 2.5 Flash",
            "inputTokenLimit": 1048576,
            "outputTokenLimit": 65536,
            "supportedGenerationMethods": ["generateContent", "countTokens"],
        },
        {
            "name": "models/imagen-3.0-generate-002",
            "displayName": "Imagen 3",
            "supportedGenerationMethods": ["predict"],
        },
    ],
    [
        {
            "name": "models/text-embedding-004",
            "displayName": "Text Embedding 004",
            "inputTokenLimit": 2048,
            "outputTokenLimit": 1,
            "supportedGenerationMethods": ["embedContent"],
        }
    ],
]


class ConnectionCut(Exception):
    """Raised inside a response body: the server drops the connection without finishing it."""


def _error(status: int, code: str, message: str, reason: str | None = None) -> JSONResponse:
    error: dict[str, Any] = {"code": status, "message": message, "status": code}
    if reason:
        error["details"] = [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": "googleapis.com"}
        ]
    return JSONResponse({"error": error}, status_code=status)


def _answer(parts: list[dict[str, Any]], finish: str | None, out: int | None) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    usage: dict[str, Any] = {"promptTokenCount": 7, "totalTokenCount": 7 + (out or 0)}
    if out is not None:
        usage["candidatesTokenCount"] = out
    return {"candidates": [candidate], "usageMetadata": usage, "modelVersion": "gemini-2.5-flash"}


def _safety() -> dict[str, Any]:
    ratings = [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True}]
    return {
        "candidates": [{"finishReason": "SAFETY", "index": 0, "safetyRatings": ratings}],
        "usageMetadata": {"promptTokenCount": 7, "totalTokenCount": 7},
    }


_BLOCKED = {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 7}}


def _blocking(scenario: str) -> dict[str, Any]:
    if scenario == "tool_call":
        return _answer([{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}], "STOP", 5)
    if scenario == "thinking":
        return _answer([{"text": "The user greets me.", "thought": True}, {"text": "Hello world"}], "STOP", 2)
    if scenario == "safety":
        return _safety()
    if scenario == "blocked_prompt":
        return _BLOCKED
    return _answer([{"text": "Hello world"}], "STOP", 2)


def _sse(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload)}\r\n\r\n".encode()


async def _stream(scenario: str) -> AsyncIterator[bytes]:
    if scenario == "blocked_prompt":
        yield _sse(_BLOCKED)
        return
    if scenario == "tool_call":
        # Gemini sends whole function calls, never argument fragments.
        yield _sse(_answer([{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}], "STOP", 5))
        return
    if scenario == "safety":
        yield _sse(_answer([{"text": "Here is"}], None, None))
        yield _sse(_safety())
        return
    if scenario == "thinking":
        yield _sse(_answer([{"text": "The user greets me.", "thought": True}], None, None))
    yield _sse(_answer([{"text": "Hello"}], None, None))
    if scenario == "drop":
        raise ConnectionCut
    if scenario == "malformed":
        yield b'data: {"candidates": [{"content": \r\n\r\n'
        return
    yield _sse(_answer([{"text": " world"}], "STOP", 2))


def _embed(model: str, body: dict[str, Any]) -> Response:
    for item in body.get("requests") or []:
        if item.get("model") != f"models/{model}":
            return _error(400, "INVALID_ARGUMENT", "Model names in the requests must match the model.")
    # A vector that shows which text it came from: [its length, 0.5].
    vectors = [{"values": [float(len(r["content"]["parts"][0]["text"])), 0.5]} for r in body["requests"]]
    return JSONResponse({"embeddings": vectors})


def _check(body: dict[str, Any]) -> str | None:
    """The API's own validation of the points adapters get wrong most often."""
    for content in body.get("contents") or []:
        if content.get("role") not in ("user", "model"):
            return f"Please use a valid role: user, model. Got {content.get('role')!r}."
        for part in content.get("parts") or []:
            if "functionResponse" in part and not part["functionResponse"].get("name"):
                return "* GenerateContentRequest.contents: function_response.name: Name cannot be empty."
    for name in body.get("generationConfig") or {}:
        if name not in _CONFIG_FIELDS:
            return f"Invalid JSON payload received. Unknown name \"{name}\" at 'generation_config': Cannot find field."
    if not body.get("contents"):
        return "* GenerateContentRequest.contents: contents is not specified"
    return None


def create_app(scenarios: list[str], requests: list[dict[str, Any]]) -> FastAPI:
    """The fake server; it plays `scenarios[0]` and appends every JSON body to `requests`."""
    app = FastAPI()

    def refused(request: Request) -> Response | None:
        scenario = scenarios[0]
        if request.headers.get("x-goog-api-key") != GOOD_KEY:
            return _error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", "API_KEY_INVALID")
        if scenario in _ERRORS:
            status, code = _ERRORS[scenario]
            return _error(status, code, "scripted failure")
        return None

    @app.get("/v1beta/models")
    async def list_models(request: Request) -> Response:
        problem = refused(request)
        if problem is not None:
            return problem
        page = int(request.query_params.get("pageToken") or 0)
        payload: dict[str, Any] = {"models": MODELS_PAGES[page]}
        if page + 1 < len(MODELS_PAGES):
            payload["nextPageToken"] = str(page + 1)
        return JSONResponse(payload)

    @app.post("/v1beta/models/{target}")
    async def call(target: str, request: Request) -> Response:
        body = await request.json()
        requests.append(body)
        problem = refused(request)
        if problem is not None:
            return problem
        model, _, method = target.partition(":")
        scenario = scenarios[0]
        if method == "batchEmbedContents":
            return _embed(model, body)
        check = _check(body)
        if check:
            return _error(400, "INVALID_ARGUMENT", check)
        if method == "generateContent":
            return JSONResponse(_blocking(scenario))
        if method == "streamGenerateContent" and request.query_params.get("alt") == "sse":
            return StreamingResponse(_stream(scenario), media_type="text/event-stream")
        return _error(404, "NOT_FOUND", f"Method {method} is not found for model {model}.")

    return app
