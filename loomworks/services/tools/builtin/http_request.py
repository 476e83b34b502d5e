"""`http_request`: one HTTP request to a URL the user or the model gives, through the SSRF-safe client."""

from __future__ import annotations

import json
from typing import Any

from loomworks.services.tools.base import ToolCall, ToolOption, ToolOutput, ToolParameter, ToolParameterError, i18n
from loomworks.services.tools.registry import BuiltinTool, BuiltinToolProvider, ToolServices

_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
_MAX_BYTES = 2 * 1024 * 1024


class HttpRequestProvider(BuiltinToolProvider):
    name = "http_request"
    label = i18n("HTTP Request", "HTTP 请求")
    description = i18n("Send an HTTP request to a URL.", "向一个 URL 发送 HTTP 请求。")
    tags = ["utilities"]


def _headers(call: ToolCall, raw: Any) -> dict[str, str]:
    if not raw:
        return {}
    if isinstance(raw, dict):
        return {str(k): str(v) for k, v in raw.items()}
    text = str(raw).strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        return {str(k): str(v) for k, v in parsed.items()}
    headers: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise ToolParameterError(
                f"Tool {call.descriptor.key}: the header line {line!r} has no ':'.", tool=call.descriptor.key
            )
        headers[name.strip()] = value.strip()
    return headers


class HttpRequestTool(BuiltinTool):
    provider, name = "http_request", "http_request"
    label = i18n("HTTP Request", "HTTP 请求")
    llm_description = "Send an HTTP request and get the status, headers and body back."
    parameters = [
        ToolParameter("url", "string", required=True, llm_description="the URL"),
        ToolParameter(
            "method",
            "select",
            default="GET",
            llm_description="HTTP method",
            options=[ToolOption(m, i18n(m)) for m in _METHODS],
        ),
        ToolParameter("headers", "string", llm_description="headers, one 'Name: value' a line or a JSON object"),
        ToolParameter("body", "string", llm_description="the request body"),
    ]

    async def run(self, call: ToolCall, services: ToolServices) -> ToolOutput:
        p = call.parameters
        client = services.need_http(call.descriptor.key)
        body = p.get("body")
        response = await client.request(
            str(p.get("method") or "GET"),
            str(p["url"]),
            headers=_headers(call, p.get("headers")),
            content=body.encode() if isinstance(body, str) and body else None,
            max_bytes=_MAX_BYTES,
        )
        text = response.text
        result: dict[str, Any] = {
            "status_code": response.status_code,
            "headers": dict(response.headers),
            "body": text,
        }
        json_out: list[dict[str, Any]] = [result]
        return ToolOutput(text=text, json=json_out, variables={"status_code": response.status_code})
