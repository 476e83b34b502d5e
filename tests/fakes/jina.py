"""A fake Jina AI API (`/v1/embeddings`, `/v1/rerank`) speaking the documented wire format.

Embeddings answer OpenAI-style (`data[{index, embedding}]`, `usage.total_tokens`); `task` is checked
against the v3 values; rerank answers `results[{index, relevance_score, document?}]`. Errors are
FastAPI-style `{"detail": …}` bodies, as Jina's API returns.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

GOOD_KEY = "jina_good"
TASKS = {"retrieval.query", "retrieval.passage", "separation", "classification", "text-matching"}


def create_app(requests: list[dict[str, Any]]) -> FastAPI:
    """The fake server; it appends every JSON body to `requests`."""
    app = FastAPI()

    async def accepted(request: Request) -> tuple[dict[str, Any], Response | None]:
        body = await request.json()
        requests.append(body)
        if request.headers.get("authorization") != f"Bearer {GOOD_KEY}":
            return body, JSONResponse({"detail": "Failed to authenticate with the provided api key"}, status_code=401)
        if body.get("model") == "overloaded":
            return body, JSONResponse({"detail": "Server is busy, retry later"}, status_code=503)
        return body, None

    @app.post("/v1/embeddings")
    async def embeddings(request: Request) -> Response:
        body, refused = await accepted(request)
        if refused is not None:
            return refused
        if "task" in body and body["task"] not in TASKS:
            return JSONResponse({"detail": f"Invalid task: {body['task']}"}, status_code=422)
        texts = [item["text"] if isinstance(item, dict) else item for item in body["input"]]
        data = [{"object": "embedding", "index": i, "embedding": [float(len(t)), 0.1]} for i, t in enumerate(texts)]
        data.reverse()  # the order of `data` is not promised; `index` is
        usage = {"total_tokens": 2 * len(texts), "prompt_tokens": 2 * len(texts)}
        return JSONResponse({"model": body["model"], "object": "list", "usage": usage, "data": data})

    @app.post("/v1/rerank")
    async def rerank(request: Request) -> Response:
        body, refused = await accepted(request)
        if refused is not None:
            return refused
        words = set(body["query"].lower().split())
        results = [
            {"index": i, "relevance_score": len(words & set(d.lower().split())) / max(len(words), 1)}
            for i, d in enumerate(body["documents"])
        ]
        if body.get("return_documents", True):
            for result in results:
                result["document"] = {"text": body["documents"][result["index"]]}
        results.sort(key=lambda item: item["relevance_score"], reverse=True)
        results = results[: body.get("top_n") or len(results)]
        return JSONResponse({"model": body["model"], "usage": {"total_tokens": 10}, "results": results})

    return app
