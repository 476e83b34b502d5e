"""Request ids and one structured access-log line per request (a pure ASGI middleware: no copies)."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("loomworks.access")

# Dify 1.x names providers by plugin id (`langgenius/openai/openai`); scripts written for it send
# those ids in the path. They are rewritten to our bare provider names before routing.
_PLUGIN_PROVIDER = re.compile(
    r"^(/console/api/workspaces/current/model-providers/)[\w.-]+/(?!credentials\b|models\b)[\w.-]+/([\w.-]+)(/.*)?$"
)


def _bare_provider_path(path: str) -> str:
    match = _PLUGIN_PROVIDER.match(path)
    if match is None:
        return path
    return f"{match.group(1)}{match.group(2)}{match.group(3) or ''}"


class RequestIdMiddleware:
    """Give each request an id (kept from `X-Request-Id` when the client sends a sane one) and log it."""

    def __init__(self, app: ASGIApp, metrics: Any = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "/model-providers/" in scope.get("path", ""):
            bare = _bare_provider_path(scope["path"])
            if bare != scope["path"]:
                scope = {**scope, "path": bare, "raw_path": bare.encode()}
        request_id = _incoming_id(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            if self.metrics is not None:
                template = _route_template(scope)
                method = scope.get("method", "")
                self.metrics.requests.inc(method=method, route=template, status=str(status))
                self.metrics.latency.observe(elapsed, method=method, route=template)
            if scope.get("path") not in ("/health", "/metrics"):
                access_log.info(
                    "request",
                    extra={
                        "request_id": request_id,
                        "method": scope.get("method"),
                        "path": scope.get("path"),
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                    },
                )


def _route_template(scope: Scope) -> str:
    """The matched route with `{param}` placeholders (keeps metric labels few), or `unmatched`."""
    if scope.get("route") is None:
        return "unmatched"
    values = {str(v): k for k, v in (scope.get("path_params") or {}).items()}
    segments = str(scope.get("path", "")).split("/")
    return "/".join(f"{{{values[s]}}}" if s in values else s for s in segments)


def _incoming_id(scope: Scope) -> str | None:
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    for name, value in headers:
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if 0 < len(text) <= 128 and text.replace("-", "").replace("_", "").isalnum():
                return text
    return None


def request_id_of(scope_or_state: Any) -> str | None:
    return getattr(scope_or_state, "request_id", None)
