"""Fake Hugging Face servers: a Text Embeddings Inference server and a TGI Inference Endpoint.

TEI (per its OpenAPI document): `POST /embed` (`{"inputs": [...]}` → `[[...], ...]`, refusing more
than `max_client_batch_size` inputs with 413), `POST /rerank` (`{"query", "texts"}` →
`[{"index", "score"}]` sorted by score), `GET /info` (with `model_type` `{"embedding": …}` or
`{"reranker": …}`); errors are `{"error", "error_type"}`. An optional token is checked when set.

TGI: `POST /v1/chat/completions` in OpenAI's format (SSE `data: {...}` chunks ending with
`data: [DONE]`, or one JSON answer) and `GET /v1/models`, behind a Bearer token.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

MAX_BATCH = 32
GOOD_TOKEN = "hf_good"


def _tei_error(status: int, message: str, kind: str) -> JSONResponse:
    return JSONResponse({"error": message, "error_type": kind}, status_code=status)


def create_tei_app(kind: str, requests: list[dict[str, Any]], *, api_key: str | None = None) -> FastAPI:
    """A TEI server serving an `embedding` or a `reranker` model."""
    app = FastAPI()

    def refused(request: Request) -> Response | None:
        if api_key and request.headers.get("authorization") != f"Bearer {api_key}":
            return _tei_error(401, "Unauthorized", "Unhealthy")
        return None

    @app.get("/info")
    async def info(request: Request) -> Response:
        denied = refused(request)
        if denied is not None:
            return denied
        model_type = {"embedding": {"pooling": "cls"}} if kind == "embedding" else {"reranker": {"id2label": {}}}
        model_id = "BAAI/bge-small-en-v1.5" if kind == "embedding" else "BAAI/bge-reranker-base"
        return JSONResponse(
            {
                "model_id": model_id,
                "model_dtype": "float16",
                "model_type": model_type,
                "max_concurrent_requests": 512,
                "max_input_length": 512,
                "max_client_batch_size": MAX_BATCH,
                "version": "1.5.0",
            }
        )

    @app.post("/embed")
    async def embed(request: Request) -> Response:
        denied = refused(request)
        if denied is not None:
            return denied
        body = await request.json()
        requests.append(body)
        if kind != "embedding":
            return _tei_error(400, "Model is not an embedding model", "Backend")
        inputs = body["inputs"] if isinstance(body["inputs"], list) else [body["inputs"]]
        if len(inputs) > MAX_BATCH:
            message = f"batch size {len(inputs)} > maximum allowed batch size {MAX_BATCH}"
            return _tei_error(413, message, "Validation")
        return JSONResponse([[float(len(text)), 0.5] for text in inputs])

    @app.post("/rerank")
    async def rerank(request: Request) -> Response:
        denied = refused(request)
        if denied is not None:
            return denied
        body = await request.json()
        requests.append(body)
        if kind != "reranker":
            return _tei_error(424, "Model is not a re-ranker model", "Backend")
        words = set(body["query"].lower().split())
        scored = [
            {"index": i, "score": len(words & set(t.lower().split())) / max(len(words), 1)}
            for i, t in enumerate(body["texts"])
        ]
        return JSONResponse(sorted(scored, key=lambda item: item["score"], reverse=True))

    return app


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
    payload = {"id": "", "object": "chat.completion.chunk", "created": 0, "model": "tgi", "choices": [choice]}
    return f"data: {json.dumps(payload)}\n\n".encode()


async def _tgi_stream() -> AsyncIterator[bytes]:
    yield _chunk({"role": "assistant", "content": "Hello"})
    yield _chunk({"role": "assistant", "content": " world"})
    yield _chunk({"role": "assistant", "content": ""}, "stop")
    usage = {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9}
    last = {"id": "", "object": "chat.completion.chunk", "choices": [], "usage": usage}
    yield f"data: {json.dumps(last)}\n\n".encode()
    yield b"data: [DONE]\n\n"


def create_tgi_app(requests: list[dict[str, Any]]) -> FastAPI:
    """A TGI text-generation Inference Endpoint behind a Hugging Face token."""
    app = FastAPI()

    def refused(request: Request) -> Response | None:
        if request.headers.get("authorization") != f"Bearer {GOOD_TOKEN}":
            return JSONResponse(
                {"error": "Authorization header is correct, but the token seems invalid"}, status_code=401
            )
        return None

    @app.get("/v1/models")
    async def models(request: Request) -> Response:
        denied = refused(request)
        if denied is not None:
            return denied
        return JSONResponse({"object": "list", "data": [{"id": "tgi", "object": "model", "owned_by": "tgi"}]})

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        denied = refused(request)
        if denied is not None:
            return denied
        body = await request.json()
        requests.append(body)
        if body.get("stream"):
            return StreamingResponse(_tgi_stream(), media_type="text/event-stream")
        message = {"role": "assistant", "content": "Hello world"}
        usage = {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9}
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
        return JSONResponse(
            {"id": "", "object": "chat.completion", "model": "tgi", "choices": [choice], "usage": usage}
        )

    return app
