"""`tavily`: web search through Tavily's API (`POST /search`)."""

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

TAVILY_URL = "https://api.tavily.com"


class TavilyProvider(BuiltinToolProvider):
    name = "tavily"
    label = i18n("Tavily")
    description = i18n("Tavily: a search engine built for AI agents.", "Tavily：为 AI 代理构建的搜索引擎。")
    tags = ["search"]
    credentials_schema = [
        {
            "variable": "tavily_api_key",
            "type": "secret-input",
            "required": True,
            "label": i18n("Tavily API key", "Tavily API key"),
            "placeholder": i18n("Please input your Tavily API key"),
        },
        {
            "variable": "base_url",
            "type": "text-input",
            "required": False,
            "label": i18n("API base URL"),
            "placeholder": i18n(TAVILY_URL),
        },
    ]

    @classmethod
    async def validate_credentials(cls, credentials: dict[str, Any], services: ToolServices) -> None:
        call = ToolCall("", ToolDescriptor("builtin", "tavily", "tavily_search"), {}, credentials=credentials)
        await _search(services, call, {"query": "test", "max_results": 1})


def _flag(value: Any) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def _domains(value: Any) -> list[str]:
    if not value:
        return []
    items = value if isinstance(value, list) else str(value).replace(";", ",").split(",")
    return [str(item).strip() for item in items if str(item).strip()]


async def _search(services: ToolServices, call: ToolCall, body: dict[str, Any]) -> dict[str, Any]:
    key = str(call.credentials.get("tavily_api_key") or "")
    base = str(call.credentials.get("base_url") or TAVILY_URL).rstrip("/")
    data = await _remote.call_json(
        services,
        call,
        "POST",
        f"{base}/search",
        json={"api_key": key, **body},
        headers={"Authorization": f"Bearer {key}"},
    )
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise ToolProviderError(f"Tool {call.descriptor.key}: the Tavily answer has no 'results' list.")
    return data


class TavilySearchTool(BuiltinTool):
    provider, name = "tavily", "tavily_search"
    label = i18n("Tavily Search", "Tavily 搜索")
    llm_description = "Search the web with Tavily; give it the search query."
    parameters = [
        ToolParameter("query", "string", required=True, llm_description="the search query"),
        ToolParameter(
            "search_depth",
            "select",
            form="form",
            default="basic",
            llm_description="basic or advanced",
            options=[ToolOption("basic", i18n("basic")), ToolOption("advanced", i18n("advanced"))],
        ),
        ToolParameter("max_results", "number", form="form", default=5, llm_description="how many results"),
        ToolParameter("include_answer", "boolean", form="form", default=False),
        ToolParameter("include_images", "boolean", form="form", default=False),
        ToolParameter("include_raw_content", "boolean", form="form", default=False),
        ToolParameter("include_domains", "string", form="form"),
        ToolParameter("exclude_domains", "string", form="form"),
    ]

    async def run(self, call: ToolCall, services: ToolServices) -> ToolOutput:
        p = call.parameters
        body: dict[str, Any] = {
            "query": p["query"],
            "search_depth": p.get("search_depth") or "basic",
            "max_results": int(p.get("max_results") or 5),
            "include_answer": _flag(p.get("include_answer")),
            "include_images": _flag(p.get("include_images")),
            "include_raw_content": _flag(p.get("include_raw_content")),
            "include_domains": _domains(p.get("include_domains")),
            "exclude_domains": _domains(p.get("exclude_domains")),
        }
        data = await _search(services, call, body)
        lines: list[str] = []
        if data.get("answer"):
            lines.append(f"Answer: {data['answer']}\n")
        for result in data["results"]:
            if isinstance(result, dict):
                lines.append(
                    f"Title: {result.get('title', '')}\nURL: {result.get('url', '')}\n"
                    f"Content: {result.get('content', '')}\n"
                )
        return ToolOutput(text="\n".join(lines).strip(), json=[data])
