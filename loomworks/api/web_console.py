"""Serve the built web console (`web/dist`): hashed assets, and index.html for client-side routes.

Included last, so every API route wins. Paths under the API prefixes never fall back to the
console page: an unknown `/console/api/...` still answers Dify's JSON 404.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import APIRouter
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, HTMLResponse, Response

router = APIRouter(include_in_schema=False)

# The reserved prefixes: requests under them are API calls, never console pages.
RESERVED = ("console/api", "api", "v1", "health", "docs", "redoc", "openapi.json", "metrics", "files")
_IMMUTABLE = "public, max-age=31536000, immutable"
_REVALIDATE = "no-cache"
_NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Loomworks</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>Loomworks is running</h1>
<p>The web console is not built. Run <code>scripts/build-web.sh</code> and reload this page.</p>
<p>The APIs are available: <a href="/docs">/docs</a>, <code>/console/api</code>, <code>/v1</code>.</p>
</body></html>
"""


def dist_dir() -> Path:
    """Where the built console lives: `LOOMWORKS_WEB_DIST`, else `web/dist` in the source checkout."""
    configured = os.environ.get("LOOMWORKS_WEB_DIST")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "web" / "dist"


def _reserved(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in RESERVED)


def _index(dist: Path) -> Response:
    index = dist / "index.html"
    if not index.is_file():
        return HTMLResponse(_NOT_BUILT, status_code=200, headers={"Cache-Control": _REVALIDATE})
    return FileResponse(index, media_type="text/html", headers={"Cache-Control": _REVALIDATE})


@router.get("/{path:path}")
def console_page(path: str) -> Response:
    """A built file when one matches `path`, else the console's index.html (client-side routing)."""
    if _reserved(path):
        raise HTTPException(status_code=404)
    dist = dist_dir()
    if path:
        root = dist.resolve()
        candidate = (dist / path).resolve()
        # Only files inside dist are served (no `..` escapes through the path).
        if candidate.is_file() and candidate.is_relative_to(root):
            cache = _IMMUTABLE if path.startswith("assets/") else _REVALIDATE
            return FileResponse(candidate, headers={"Cache-Control": cache})
        if path.startswith("assets/"):
            raise HTTPException(status_code=404)
    return _index(dist)
