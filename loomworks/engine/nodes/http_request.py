"""HTTP request node: Dify's method/url/headers/params/body/authorization, sent through the HTTP port."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from loomworks.engine.errors import NodeConfigError, NodeError, PortUnavailableError
from loomworks.engine.nodes.base import Node, NodeResult
from loomworks.engine.ports import HttpRequest
from loomworks.engine.variables import Selector, Template, selector_of

if TYPE_CHECKING:
    from loomworks.engine.runner import NodeContext

METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
BODY_TYPES = ("none", "form-data", "x-www-form-urlencoded", "json", "raw-text", "binary")
TEXT_TYPES = ("application/json", "application/xml", "application/javascript", "application/x-www-form-urlencoded")


def parse_lines(text: str) -> list[tuple[str, str]]:
    """Dify's `key:value` lines (blank lines and lines without a key are ignored)."""
    pairs = []
    for line in text.splitlines():
        if not line.strip():
            continue
        key, _, value = line.partition(":")
        if key.strip():
            pairs.append((key.strip(), value.strip()))
    return pairs


class HttpRequestNode(Node):
    """Outputs `status_code`, `body` (text), `headers`, `files` (binary responses, via the file port)."""

    type = "http-request"
    inline = False

    def configure(self, data: dict[str, Any]) -> None:
        self.method = str(data.get("method") or "get").lower()
        if self.method not in METHODS:
            raise NodeConfigError(f"unsupported method {self.method!r}")
        self.url = Template(str(data.get("url") or ""))
        self.headers = Template(_lines(data.get("headers")))
        self.params = Template(_lines(data.get("params")))
        auth = data.get("authorization") or {}
        self.auth_type = str(auth.get("type") or "no-auth")
        config = auth.get("config") or {}
        self.auth_kind = str(config.get("type") or "bearer")
        self.auth_header = str(config.get("header") or "Authorization")
        self.api_key = Template(str(config.get("api_key") or ""))
        body = data.get("body") or {}
        self.body_type = str(body.get("type") or "none")
        if self.body_type not in BODY_TYPES:
            raise NodeConfigError(f"unsupported body type {self.body_type!r}")
        raw_data = body.get("data")
        self.body_items: list[tuple[str, str, Template, Selector | None]] = []
        if isinstance(raw_data, str):
            self.body_items.append(("", "text", Template(raw_data), None))
        elif isinstance(raw_data, list):
            for item in raw_data:
                if isinstance(item, dict):
                    kind = str(item.get("type") or "text")
                    self.body_items.append(
                        (
                            str(item.get("key") or ""),
                            kind,
                            Template(str(item.get("value") or "")),
                            selector_of(item.get("file")),
                        )
                    )
        timeout = data.get("timeout") or {}
        self.timeouts = (
            float(timeout.get("connect") or timeout.get("max_connect_timeout") or 10),
            float(timeout.get("read") or timeout.get("max_read_timeout") or 60),
            float(timeout.get("write") or timeout.get("max_write_timeout") or 20),
        )
        self.ssl_verify = bool(data.get("ssl_verify", True))

    def references(self) -> list[Selector]:
        refs = [*self.url.selectors, *self.headers.selectors, *self.params.selectors, *self.api_key.selectors]
        for _, _, template, file in self.body_items:
            refs.extend(template.selectors)
            if file:
                refs.append(file)
        return refs

    def _auth(self, ctx: NodeContext, headers: list[tuple[str, str]]) -> None:
        if self.auth_type != "api-key":
            return
        key = self.api_key.render(ctx.pool)
        if self.auth_kind == "bearer":
            headers.append((self.auth_header, f"Bearer {key}"))
        elif self.auth_kind == "basic":
            encoded = base64.b64encode(key.encode()).decode() if ":" in key else key
            headers.append((self.auth_header, f"Basic {encoded}"))
        else:
            headers.append((self.auth_header, key))

    async def _file(self, ctx: NodeContext, selector: Selector | None) -> tuple[str, bytes, str]:
        file = ctx.pool.get(selector) if selector else None
        if isinstance(file, list):
            file = file[0] if file else None
        if not isinstance(file, dict):
            raise NodeError("the body's file variable holds no file")
        if ctx.ports.files is None:
            raise PortUnavailableError("File access is unavailable: no file store is configured.")
        content = await ctx.ports.files.read(file)
        return str(file.get("filename") or "file"), content, str(file.get("mime_type") or "application/octet-stream")

    async def build(self, ctx: NodeContext) -> HttpRequest:
        """The rendered request."""
        pool = ctx.pool
        headers = parse_lines(self.headers.render(pool))
        request = HttpRequest(
            method=self.method.upper(),
            url=self.url.render(pool).strip(),
            headers=headers,
            params=parse_lines(self.params.render(pool)),
            connect_timeout=self.timeouts[0],
            read_timeout=self.timeouts[1],
            write_timeout=self.timeouts[2],
            ssl_verify=self.ssl_verify,
        )
        self._auth(ctx, headers)
        names = {k.lower() for k, _ in headers}
        kind = self.body_type
        if kind in ("json", "raw-text") and self.body_items:
            text = self.body_items[0][2].render(pool)
            if kind == "json":
                try:
                    json.loads(text)
                except ValueError as exc:
                    raise NodeError(f"the JSON body is not valid JSON: {exc}") from exc
            request.content = text.encode()
            if "content-type" not in names:
                headers.append(("Content-Type", "application/json" if kind == "json" else "text/plain"))
        elif kind == "x-www-form-urlencoded":
            request.form = [(k, t.render(pool)) for k, _, t, _ in self.body_items if k]
        elif kind == "form-data":
            parts: list[tuple[str, Any]] = []
            for key, item_type, template, file in self.body_items:
                if not key:
                    continue
                parts.append((key, await self._file(ctx, file) if item_type == "file" else template.render(pool)))
            request.multipart = parts
        elif kind == "binary" and self.body_items:
            _, content, mime = await self._file(ctx, self.body_items[0][3])
            request.content = content
            if "content-type" not in names:
                headers.append(("Content-Type", mime))
        return request

    async def run(self, ctx: NodeContext) -> NodeResult:
        request = await self.build(ctx)
        if not request.url.startswith(("http://", "https://")):
            raise NodeError(f"invalid URL {request.url!r}: it must start with http:// or https://")
        record = _record(request)
        port = ctx.ports.http
        if port is None:
            raise PortUnavailableError("HTTP requests are unavailable: no HTTP client is configured.")
        response = await port.send(request)
        mime = response.mime_type
        files: list[dict[str, Any]] = []
        is_text = not mime or mime.startswith("text/") or mime in TEXT_TYPES or mime.endswith(("+json", "+xml"))
        if is_text:
            body = response.content.decode("utf-8", errors="replace")
        else:
            body = ""
            if ctx.ports.files is not None and response.content:
                extension = mime.rsplit("/", 1)[-1]
                files.append(
                    await ctx.ports.files.save(
                        tenant_id=ctx.state.tenant_id,
                        content=response.content,
                        mime_type=mime,
                        filename=f"response.{extension}",
                    )
                )
        return NodeResult(
            outputs={
                "status_code": response.status_code,
                "body": body,
                "headers": dict(response.headers),
                "files": files,
            },
            inputs={},
            process_data={"request": record},
        )


def _lines(value: Any) -> str:
    if isinstance(value, dict):
        return "\n".join(f"{k}:{v}" for k, v in value.items())
    return str(value or "")


def _record(request: HttpRequest) -> str:
    """The request as text for `process_data.request` (the body abbreviated)."""
    query = f"?{urlencode(request.params)}" if request.params else ""
    lines = [f"{request.method} {request.url}{query} HTTP/1.1"]
    lines.extend(f"{k}: {v}" for k, v in request.headers)
    body = ""
    if request.content is not None:
        body = request.content[:2000].decode("utf-8", errors="replace")
    elif request.form is not None:
        body = urlencode(request.form)
    elif request.multipart is not None:
        body = "; ".join(k for k, _ in request.multipart)
    return "\n".join(lines) + "\n\n" + body
