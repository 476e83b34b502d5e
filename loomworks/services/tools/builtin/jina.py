"""`jina`: Jina Reader (`GET https://r.jina.ai/<url>`) and Jina Search (`GET https://s.jina.ai/<query>`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from loomworks.services.tools.base import ToolCall, ToolOutput, ToolParameter, ToolProviderError, i18n
from loomworks.services.tools.builtin import _remote
from loomworks.services.tools.registry import BuiltinTool, BuiltinToolProvider, ToolServices

READER_URL = "https://r.jina.ai"
SEARCH_URL = "https://s.jina.ai"


class JinaProvider(BuiltinToolProvider):
    name = "jina"
    label = i18n("Jina AI")
    description = i18n("Your Search Foundation, Supercharged!", "您的搜索底座，从此不同！")
    tags = ["search", "productivity"]
    credentials_schema = [
        {
            "variable": "api_key",
            "type": "secret-input",
            "required": False,
            "label": i18n("API Key (leave empty for the free tier)"),
        },
        {
            "variable": "reader_url",
            "type": "text-input",
            "required": False,
            "label": i18n("Reader base URL"),
            "placeholder": i18n(READER_URL),
        },
        {
            "variable": "search_url",
            "type": "text-input",
            "required": False,
            "label": i18n("Search base URL"),
            "placeholder": i18n(SEARCH_URL),
        },
    ]


def _flag(value: Any) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def _headers(call: ToolCall) -> dict[str, str]:
    p, headers = call.parameters, {"Accept": "application/json"}
    if call.credentials.get("api_key"):
        headers["Authorization"] = f"Bearer {call.credentials['api_key']}"
    flags = {
        "image_caption": "X-With-Generated-Alt",
        "gather_all_links_at_the_end": "X-With-Links-Summary",
        "gather_all_images_at_the_end": "X-With-Images-Summary",
        "no_cache": "X-No-Cache",
    }
    for name, header in flags.items():
        if _flag(p.get(name)):
            headers[header] = "true"
    for name, header in {
        "target_selector": "X-Target-Selector",
        "wait_for_selector": "X-Wait-For-Selector",
        "proxy_server": "X-Proxy-Url",
    }.items():
        if p.get(name):
            headers[header] = str(p[name])
    return headers


def _content(call: ToolCall, data: Any) -> str:
    body = data.get("data") if isinstance(data, dict) else None
    if isinstance(body, dict):
        return str(body.get("content") or "")
    if isinstance(body, list):
        return "\n\n".join(
            f"Title: {item.get('title', '')}\nURL: {item.get('url', '')}\n"
            f"{item.get('content') or item.get('description') or ''}"
            for item in body
            if isinstance(item, dict)
        )
    raise ToolProviderError(f"Tool {call.descriptor.key}: the Jina answer has no 'data'.", tool=call.descriptor.key)


class JinaReaderTool(BuiltinTool):
    provider, name = "jina", "jina_reader"
    label = i18n("JinaReader", "JinaReader")
    llm_description = "Read a web page as clean Markdown text; give it the page URL."
    parameters = [
        ToolParameter("url", "string", required=True, llm_description="the URL to read"),
        ToolParameter("target_selector", "string", form="form"),
        ToolParameter("wait_for_selector", "string", form="form"),
        ToolParameter("image_caption", "boolean", form="form", default=False),
        ToolParameter("gather_all_links_at_the_end", "boolean", form="form", default=False),
        ToolParameter("gather_all_images_at_the_end", "boolean", form="form", default=False),
        ToolParameter("proxy_server", "string", form="form"),
        ToolParameter("no_cache", "boolean", form="form", default=False),
        ToolParameter("summary", "boolean", form="form", default=False),
    ]

    async def run(self, call: ToolCall, services: ToolServices) -> ToolOutput:
        url = str(call.parameters["url"]).strip()
        if not url.startswith(("http://", "https://")):
            raise ToolProviderError(
                f"Tool {call.descriptor.key}: '{url}' is not an http(s) URL.", tool=call.descriptor.key
            )
        base = str(call.credentials.get("reader_url") or READER_URL).rstrip("/")
        data = await _remote.call_json(services, call, "GET", f"{base}/{url}", headers=_headers(call), timeout=60.0)
        return ToolOutput(text=_content(call, data))


class JinaSearchTool(BuiltinTool):
    provider, name = "jina", "jina_search"
    label = i18n("JinaSearch", "JinaSearch")
    llm_description = "Search the web with Jina; give it the search query."
    parameters = [ToolParameter("query", "string", required=True, llm_description="the search query")]

    async def run(self, call: ToolCall, services: ToolServices) -> ToolOutput:
        base = str(call.credentials.get("search_url") or SEARCH_URL).rstrip("/")
        url = f"{base}/{quote(str(call.parameters['query']), safe='')}"
        data = await _remote.call_json(services, call, "GET", url, headers=_headers(call), timeout=60.0)
        return ToolOutput(text=_content(call, data))
