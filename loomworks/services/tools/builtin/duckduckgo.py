"""`duckduckgo`: web search through DuckDuckGo's HTML endpoint (`POST https://html.duckduckgo.com/html/`).

DuckDuckGo has no documented web-search API; its no-JavaScript HTML page is what the library
behind Dify's tool reads too. Each result is a `.result` block with an `a.result__a` (title and
link, sometimes a `//duckduckgo.com/l/?uddg=<url>` redirect) and an `.result__snippet`; ads carry
`result--ad` and are skipped. Only `ddgo_search` is provided (the other DuckDuckGo tools use
unpublished token-guarded endpoints).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from loomworks.services.tools.base import ToolCall, ToolOutput, ToolParameter, ToolProviderError, i18n
from loomworks.services.tools.builtin import _remote
from loomworks.services.tools.registry import BuiltinTool, BuiltinToolProvider, ToolServices

HTML_URL = "https://html.duckduckgo.com/html/"
MAX_RESULTS = 25


class DuckDuckGoProvider(BuiltinToolProvider):
    name = "duckduckgo"
    label = i18n("DuckDuckGo")
    description = i18n("A privacy-focused search engine.", "一个注重隐私的搜索引擎。")
    tags = ["search"]
    credentials_schema = [
        {
            "variable": "html_url",
            "type": "text-input",
            "required": False,
            "label": i18n("DuckDuckGo HTML endpoint"),
            "placeholder": i18n(HTML_URL),
        }
    ]


def _link(href: str) -> str:
    if href.startswith("//"):
        href = "https:" + href
    parts = urlsplit(href)
    if parts.path == "/l/" and "uddg" in parse_qs(parts.query):
        return parse_qs(parts.query)["uddg"][0]  # DuckDuckGo's click redirect wraps the real URL
    return href


def parse_results(call: ToolCall, html: str) -> list[dict[str, str]]:
    """The organic results of a DuckDuckGo HTML page as Dify's `{title, href, body}`."""
    import lxml.html  # on first use, not at a server's start
    from lxml.etree import ParserError

    try:
        root = lxml.html.fromstring(html)
    except (ParserError, ValueError) as exc:
        raise ToolProviderError(
            f"Tool {call.descriptor.key}: the DuckDuckGo page could not be read ({exc}).", tool=call.descriptor.key
        ) from None
    results: list[dict[str, str]] = []
    for block in root.find_class("result"):
        if "result--ad" in (block.get("class") or "").split():
            continue
        anchors = block.find_class("result__a")
        if not anchors or not anchors[0].get("href"):
            continue
        snippets = block.find_class("result__snippet")
        results.append(
            {
                "title": " ".join(anchors[0].text_content().split()),
                "href": _link(str(anchors[0].get("href"))),
                "body": " ".join(snippets[0].text_content().split()) if snippets else "",
            }
        )
    return results


class DuckDuckGoSearchTool(BuiltinTool):
    provider, name = "duckduckgo", "ddgo_search"
    label = i18n("DuckDuckGo Search", "DuckDuckGo 搜索")
    llm_description = "Perform searches on DuckDuckGo and get results."
    parameters = [
        ToolParameter("query", "string", required=True, llm_description="The search query."),
        ToolParameter("max_results", "number", form="form", default=5, llm_description="The max results."),
        ToolParameter(
            "require_summary",
            "boolean",
            form="form",
            default=False,
            llm_description="Whether to pass the search results to the model for a summary.",
        ),
    ]

    async def run(self, call: ToolCall, services: ToolServices) -> ToolOutput:
        url = str(call.credentials.get("html_url") or HTML_URL)
        response = await _remote.call(
            services,
            call,
            "POST",
            url,
            data={"q": str(call.parameters["query"]), "b": "", "kl": "wt-wt"},
            headers={"Accept": "text/html", "Referer": "https://html.duckduckgo.com/"},
        )
        limit = max(1, min(int(call.parameters.get("max_results") or 5), MAX_RESULTS))
        results = parse_results(call, response.text)[:limit]
        # `require_summary` asks Dify to summarise with the workspace's model; the results themselves
        # are the faithful answer here, and the node or agent that called the tool has the model.
        text = "\n\n".join(f"{r['title']}\n{r['href']}\n{r['body']}".strip() for r in results)
        json_out: list[dict[str, Any]] = [dict(r) for r in results]
        return ToolOutput(text=text or "No results found.", json=json_out)
