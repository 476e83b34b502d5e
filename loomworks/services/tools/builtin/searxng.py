"""`searxng`: search through a SearXNG instance's JSON API (`GET /search?format=json`)."""

from __future__ import annotations

from typing import Any

from loomworks.services.tools.base import (
    ToolCall,
    ToolDescriptor,
    ToolOption,
    ToolOutput,
    ToolParameter,
    ToolProviderError,
    i18n,
)
from loomworks.services.tools.builtin import _remote
from loomworks.services.tools.registry import BuiltinTool, BuiltinToolProvider, ToolServices

CATEGORIES = ("general", "images", "videos", "news", "music", "it", "science", "files", "social_media", "map")
# Older Dify versions wrote capitalised labels ("Page", "News"); read them as SearXNG categories.
_LEGACY = {"page": "general", "image": "images", "video": "videos", "social media": "social_media", "file": "files"}


class SearxngProvider(BuiltinToolProvider):
    name = "searxng"
    label = i18n("SearXNG")
    description = i18n("A free internet metasearch engine.", "开源免费的互联网元搜索引擎")
    tags = ["search", "productivity"]
    credentials_schema = [
        {
            "variable": "searxng_base_url",
            "type": "text-input",
            "required": True,
            "label": i18n("SearXNG base URL", "SearXNG base URL"),
            "placeholder": i18n("Please input your SearXNG base URL"),
            "help": i18n("The base URL of your SearXNG instance (JSON output must be enabled)."),
        }
    ]

    @classmethod
    async def validate_credentials(cls, credentials: dict[str, Any], services: ToolServices) -> None:
        await SearxngSearchTool().search(services, None, credentials, "SearXNG", "general", "")


class SearxngSearchTool(BuiltinTool):
    provider, name = "searxng", "searxng_search"
    label = i18n("SearXNG Search", "SearXNG 搜索")
    llm_description = "Search the web with SearXNG; give it the search query."
    parameters = [
        ToolParameter("query", "string", required=True, llm_description="the search query"),
        ToolParameter("search_type", "string", form="form", default="general", llm_description="SearXNG category"),
        ToolParameter("num_results", "number", form="form", default=10, llm_description="how many results"),
        ToolParameter(
            "result_type",
            "select",
            form="form",
            default="text",
            llm_description="text or links",
            options=[ToolOption("text", i18n("text")), ToolOption("link", i18n("link"))],
        ),
    ]

    async def search(
        self,
        services: ToolServices,
        call: ToolCall | None,
        credentials: dict[str, Any],
        query: str,
        category: str,
        language: str,
    ) -> list[dict[str, Any]]:
        probe = call or ToolCall(
            tenant_id="", descriptor=ToolDescriptor("builtin", "searxng", "searxng_search"), parameters={}
        )
        base = str(credentials.get("searxng_base_url") or "").rstrip("/")
        params = {"q": query, "format": "json", "categories": category}
        if language:
            params["language"] = language
        data = await _remote.call_json(services, probe, "GET", f"{base}/search", params=params)
        results = data.get("results") if isinstance(data, dict) else None
        if not isinstance(results, list):
            raise ToolProviderError(
                f"Tool {probe.descriptor.key}: the SearXNG answer has no 'results' list.", tool=probe.descriptor.key
            )
        return [r for r in results if isinstance(r, dict)]

    async def run(self, call: ToolCall, services: ToolServices) -> ToolOutput:
        p = call.parameters
        category = str(p.get("search_type") or "general").strip().lower()
        category = _LEGACY.get(category, category)
        if category not in CATEGORIES:
            category = "general"
        results = await self.search(services, call, call.credentials, str(p["query"]), category, "")
        limit = max(1, int(p.get("num_results") or 10))
        results = results[:limit]
        if p.get("result_type") == "link":
            text = "\n".join(f"{r.get('title', '')}: {r.get('url', '')}" for r in results)
        else:
            text = "\n\n".join(
                f"{r.get('title', '')}\n{r.get('url', '')}\n{r.get('content', '')}".strip() for r in results
            )
        keep = ("title", "url", "content", "engine", "publishedDate", "img_src", "thumbnail")
        return ToolOutput(text=text, json=[{k: r[k] for k in keep if k in r} for r in results])
