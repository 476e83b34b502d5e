"""Pure ASGI middlewares (no copies): request ids and access logs; early refusal of turns beyond capacity."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any, Protocol, cast

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from loomworks.api.errors import error_response
from loomworks.services.chat.pipeline import BUSY_MESSAGE

access_log = logging.getLogger("loomworks.access")

# The Service API's turns, the ones `ChatService.admission` limits (chatflow turns share the first path).
TURN_PATHS = frozenset({"/v1/chat-messages", "/v1/completion-messages"})
_PEEK_LIMIT = 1 << 20  # a larger body is left to the route, which applies its own limits

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


class TurnLimits(Protocol):
    """The limits the admission middleware applies: the chat service's (`ChatService`)."""

    max_blocking: int
    max_streams: int


class AdmissionMiddleware:
    """Refuse a Service API turn with a 429 before routing when this process holds as many as it may.

    The route refuses one too (`ChatService.admission`), but only after FastAPI has validated the
    body, authenticated the key and looked up the app, and only once the turns admitted ahead of it
    in a burst have done their own first steps: under 1,000 connections at once that made each
    refusal wait about a second. Here each turn request is counted, by `response_mode`, from the
    moment it arrives until its response is sent; one over the limit is answered at once. Near a
    limit an admitted request first lets the requests that came with it be checked, so refusals do
    not queue behind the work of admitted turns. A body that is not a JSON object (or is over 1 MB)
    goes on uncounted: the route answers it as before. Chatflow turns share `/v1/chat-messages` and
    count against the same limits.
    """

    def __init__(self, app: ASGIApp, limits: Callable[[], TurnLimits | None], metrics: Any = None) -> None:
        self.app = app
        self.limits = limits  # looked up per request: the chat service of the app's current state
        self.metrics = metrics
        self.in_flight = {False: 0, True: 0}  # counted turn requests, blocking and streaming

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limits = self.limits() if scope["type"] == "http" and scope.get("path") in TURN_PATHS else None
        if limits is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        messages, body = await _peek_body(receive)
        streaming = _streaming(body) if body is not None else None
        if streaming is None:
            await self.app(scope, _replaying(messages, receive), send)
            return
        limit = limits.max_streams if streaming else limits.max_blocking
        held = self.in_flight[streaming]
        if held >= limit:
            scope.setdefault("state", {})["refused"] = True  # answered before routing (see `_route_template`)
            if self.metrics is not None:
                self.metrics.errors.inc(code="too_many_requests")
            await error_response("too_many_requests", BUSY_MESSAGE, 429)(scope, receive, send)
            return
        self.in_flight[streaming] = held + 1
        try:
            if held >= limit // 2:
                await asyncio.sleep(0)  # a burst: the requests that arrived with this one are checked first
            await self.app(scope, _replaying(messages, receive), send)
        finally:
            self.in_flight[streaming] -= 1


async def _peek_body(receive: Receive) -> tuple[list[Message], bytes | None]:
    """The request messages read so far, and the whole body when it arrived within `_PEEK_LIMIT`."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None  # the client went away
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            return messages, b"".join(m.get("body", b"") for m in messages)
        if size > _PEEK_LIMIT:
            return messages, None


def _streaming(body: bytes) -> bool | None:
    """Whether a turn's JSON body asks for streaming (Dify: blocking unless `response_mode` says so)."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(payload, dict):
        return None
    return cast(dict[str, Any], payload).get("response_mode") == "streaming"


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """A `receive` that hands out `messages` again, then reads on."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


def _route_template(scope: Scope) -> str:
    """The matched route with `{param}` placeholders (keeps metric labels few), or `unmatched`."""
    if scope.get("state", {}).get("refused"):
        return str(scope["path"])  # refused before routing; the turn paths have no parameters
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
