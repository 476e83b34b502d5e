"""Fakes of the public web APIs behind built-in tools, on 127.0.0.1, written from their API references.

- SearXNG: `GET /searxng/search?q=&format=json&categories=` → `{"query", "results": [{title, url, content, engine}]}`
  whose URLs point back at this fake (`/docs/<category>/<n>`, small HTML pages)
  (format other than json → 403, as SearXNG answers when JSON output is disabled).
- Tavily: `POST /tavily/search` with `api_key` in the body (or `Authorization: Bearer`) → `{query, answer, results}`.
- MediaWiki: `GET /w/api.php?action=query&list=search&srsearch=` and `prop=extracts&pageids=`.
- Jina Reader: `GET /reader/<url>` with `Accept: application/json` → `{"code": 200, "data": {title, url, content}}`.
- OpenAI images: `POST /v1/images/generations` (`response_format: b64_json`) →
  `{"created", "data": [{b64_json, revised_prompt}]}`.
- A plain site: `/page.html` (an article with chrome around it), `/garbage` (JSON content type, not JSON),
  `/slow` (answers after 3 s).

`fake.hits` lists every request path, so a test can assert a refused URL was never requested.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from tests._live_server import live_server

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
TAVILY_KEY = "tvly-test-key"
PAGE = """<!doctype html><html><head><title>Loom history</title><script>var x = 1;</script>
<style>body{}</style></head><body><nav>Home | About</nav><header>Site header</header>
<article><h1>The Jacquard loom</h1><p>Punched cards   controlled the pattern.</p>
<p>It inspired early computers.</p></article><footer>Copyright</footer></body></html>"""
ARTICLES = {
    101: ("Jacquard machine", "The Jacquard machine is a device fitted to a loom."),
    102: ("Punched card", "A punched card is a piece of stiff paper that holds digital data."),
}


@dataclass
class WebApisFake:
    base_url: str = ""
    hits: list[str] = field(default_factory=list)
    bodies: list[Any] = field(default_factory=list)


def build(fake: WebApisFake) -> FastAPI:  # noqa: C901 - one small handler per faked endpoint
    app = FastAPI()

    @app.middleware("http")
    async def record(request: Request, call_next: Any) -> Response:
        fake.hits.append(request.url.path)
        return await call_next(request)

    @app.get("/searxng/search")
    def searxng(q: str, format: str = "html", categories: str = "general") -> Response:  # noqa: A002
        if format != "json":
            return Response("Forbidden", status_code=403)
        results = [
            {
                "title": f"{q} result {i}",
                "url": f"{fake.base_url}/docs/{categories}/{i}",
                "content": f"About {q} #{i}",
                "engine": "duckduckgo",
            }
            for i in range(1, 4)
        ]
        return JSONResponse({"query": q, "number_of_results": 3, "results": results})

    @app.post("/tavily/search")
    async def tavily(request: Request) -> Response:
        body = await request.json()
        fake.bodies.append(body)
        if body.get("api_key") != TAVILY_KEY:
            return JSONResponse({"detail": {"error": "Unauthorized: missing or invalid API key."}}, status_code=401)
        results = [
            {"title": "Tavily hit", "url": "https://example.org/t", "content": f"On {body['query']}", "score": 0.9}
        ]
        return JSONResponse(
            {
                "query": body["query"],
                "answer": "42" if body.get("include_answer") else None,
                "results": results[: body.get("max_results", 5)],
            }
        )

    @app.get("/w/api.php")
    def mediawiki(request: Request) -> Response:
        params = request.query_params
        if params.get("list") == "search":
            term = params.get("srsearch", "").lower()
            hits = [
                {"ns": 0, "title": title, "pageid": pid, "snippet": f"<span>{text[:20]}</span>"}
                for pid, (title, text) in ARTICLES.items()
                if any(word in title.lower() or word in text.lower() for word in term.split())
            ]
            return JSONResponse(
                {"batchcomplete": "", "query": {"searchinfo": {"totalhits": len(hits)}, "search": hits}}
            )
        if params.get("prop") == "extracts":
            pages = {}
            for pid in params.get("pageids", "").split("|"):
                if pid.isdigit() and int(pid) in ARTICLES:
                    title, text = ARTICLES[int(pid)]
                    pages[pid] = {"pageid": int(pid), "ns": 0, "title": title, "extract": text}
            return JSONResponse({"batchcomplete": "", "query": {"pages": pages}})
        return JSONResponse({"error": {"code": "badvalue", "info": "Unrecognized value"}})

    @app.get("/reader/{target:path}")
    def reader(target: str, request: Request) -> Response:
        if request.headers.get("accept") != "application/json":
            return Response(f"Title: page\n\n{target}", media_type="text/plain")
        return JSONResponse(
            {
                "code": 200,
                "status": 20000,
                "data": {"title": "Read", "url": target, "content": f"# Markdown of {target}"},
            }
        )

    @app.post("/v1/images/generations")
    async def images(request: Request) -> Response:
        body = await request.json()
        fake.bodies.append(body)
        if request.headers.get("authorization") != "Bearer sk-images":
            return JSONResponse(
                {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}, status_code=401
            )
        data = [{"b64_json": base64.b64encode(PNG).decode(), "revised_prompt": f"A drawing of {body['prompt']}"}]
        return JSONResponse({"created": 1700000000, "data": data * int(body.get("n", 1))})

    @app.get("/docs/{name:path}")
    def docs(name: str) -> Response:
        return HTMLResponse(f"<html><head><title>{name}</title></head><body><p>Doc {name}</p></body></html>")

    @app.get("/page.html")
    def page() -> Response:
        return HTMLResponse(PAGE)

    @app.get("/garbage")
    def garbage() -> Response:
        return Response("<<<not json>>>", media_type="application/json")

    @app.get("/slow")
    async def slow() -> Response:
        await asyncio.sleep(3)
        return Response("late")

    @app.api_route("/echo", methods=["GET", "POST", "PUT"])
    async def echo(request: Request) -> Response:
        return JSONResponse(
            {
                "method": request.method,
                "query": dict(request.query_params),
                "headers": {k: v for k, v in request.headers.items() if k.startswith("x-")},
                "body": (await request.body()).decode(),
            }
        )

    return app


@contextmanager
def web_apis_fake() -> Iterator[WebApisFake]:
    fake = WebApisFake()
    with live_server(build(fake)) as url:
        fake.base_url = url
        yield fake
