"""`wikipedia`: search Wikipedia through the MediaWiki API (`action=query&list=search`, then extracts)."""

from __future__ import annotations

import re
from typing import Any

from loomworks.services.tools.base import ToolCall, ToolOutput, ToolParameter, ToolProviderError, i18n
from loomworks.services.tools.builtin import _remote
from loomworks.services.tools.registry import BuiltinTool, BuiltinToolProvider, ToolServices

_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z]+)?$")


class WikipediaProvider(BuiltinToolProvider):
    name = "wikipedia"
    label = i18n("Wikipedia", "维基百科")
    description = i18n(
        "Wikipedia is a free online encyclopedia.", "维基百科是一个由全世界的志愿者创建和编辑的免费在线百科全书。"
    )
    tags = ["social"]
    credentials_schema = [
        {
            "variable": "api_url",
            "type": "text-input",
            "required": False,
            "label": i18n("MediaWiki API URL"),
            "placeholder": i18n("https://{language}.wikipedia.org/w/api.php"),
            "help": i18n("Another MediaWiki (or a mirror); '{language}' is replaced by the language."),
        }
    ]


class WikipediaSearchTool(BuiltinTool):
    provider, name = "wikipedia", "wikipedia_search"
    label = i18n("WikipediaSearch", "维基百科搜索")
    llm_description = "Search Wikipedia; give it a few keywords. Answers the best pages' summaries."
    parameters = [
        ToolParameter("query", "string", required=True, llm_description="keywords to search"),
        ToolParameter("language", "string", default="en", llm_description="Wikipedia language code, e.g. en, zh"),
    ]

    async def run(self, call: ToolCall, services: ToolServices) -> ToolOutput:
        language = str(call.parameters.get("language") or "en").strip().lower()
        if not _LANGUAGE.match(language):
            language = "en"
        template = str(call.credentials.get("api_url") or "https://{language}.wikipedia.org/w/api.php")
        api = template.replace("{language}", language)
        found = await _remote.call_json(
            services,
            call,
            "GET",
            api,
            params={
                "action": "query",
                "list": "search",
                "srsearch": call.parameters["query"],
                "srlimit": 3,
                "format": "json",
            },
        )
        hits = (found.get("query") or {}).get("search") if isinstance(found, dict) else None
        if not isinstance(hits, list):
            raise ToolProviderError(f"Tool {call.descriptor.key}: the MediaWiki answer has no search results list.")
        if not hits:
            return ToolOutput(text="No good Wikipedia Search Result was found")
        page_ids = "|".join(str(hit.get("pageid")) for hit in hits if isinstance(hit, dict))
        pages_data = await _remote.call_json(
            services,
            call,
            "GET",
            api,
            params={
                "action": "query",
                "prop": "extracts",
                "exintro": 1,
                "explaintext": 1,
                "pageids": page_ids,
                "format": "json",
            },
        )
        pages: dict[str, Any] = (
            (pages_data.get("query") or {}).get("pages") or {} if isinstance(pages_data, dict) else {}
        )
        parts: list[str] = []
        for hit in hits:
            page = pages.get(str(hit.get("pageid"))) or {}
            summary = page.get("extract") or re.sub(r"<[^>]+>", "", str(hit.get("snippet") or ""))
            parts.append(f"Page: {hit.get('title', '')}\nSummary: {summary}".strip())
        return ToolOutput(text="\n\n".join(parts))
