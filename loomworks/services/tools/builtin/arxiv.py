"""`arxiv`: search arXiv through its export API (`GET /api/query`, an Atom feed; Dify's `arxiv_search`)."""

from __future__ import annotations

from xml.etree.ElementTree import Element

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from loomworks.services.tools.base import ToolCall, ToolOutput, ToolParameter, ToolProviderError, i18n
from loomworks.services.tools.builtin import _remote
from loomworks.services.tools.registry import BuiltinTool, BuiltinToolProvider, ToolServices

API_URL = "https://export.arxiv.org/api/query"
_ATOM = "{http://www.w3.org/2005/Atom}"
# Dify's wrapper: three results, the query cut at 300 characters, the answer at 4,000.
TOP_K, MAX_QUERY, MAX_CHARS = 3, 300, 4000


class ArxivProvider(BuiltinToolProvider):
    name = "arxiv"
    label = i18n("ArXiv")
    description = i18n(
        "Access to a vast repository of scientific papers and articles in various fields of research.",
        "访问各个研究领域大量科学论文和文章的存储库。",
    )
    tags = ["search"]
    credentials_schema = [
        {
            "variable": "api_url",
            "type": "text-input",
            "required": False,
            "label": i18n("arXiv API URL"),
            "placeholder": i18n(API_URL),
            "help": i18n("Another endpoint speaking the arXiv export API (a mirror or a proxy)."),
        }
    ]


def _text(entry: Element, tag: str) -> str:
    found = entry.find(_ATOM + tag)
    return " ".join((found.text or "").split()) if found is not None else ""


def parse_feed(call: ToolCall, xml: bytes) -> list[dict[str, str]]:
    """The entries of an arXiv Atom feed: published date, title, authors, summary, link."""
    try:
        root = ElementTree.fromstring(xml)
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise ToolProviderError(
            f"Tool {call.descriptor.key}: the arXiv answer is not a readable Atom feed ({exc}).",
            tool=call.descriptor.key,
        ) from None
    entries: list[dict[str, str]] = []
    for entry in root.findall(_ATOM + "entry"):
        title = _text(entry, "title")
        if not title or title == "Error":  # the API reports a bad query as an entry titled "Error"
            continue
        authors = [_text(author, "name") for author in entry.findall(_ATOM + "author")]
        entries.append(
            {
                "published": (_text(entry, "updated") or _text(entry, "published"))[:10],
                "title": title,
                "authors": ", ".join(a for a in authors if a),
                "summary": _text(entry, "summary"),
                "url": _text(entry, "id"),
            }
        )
    return entries


class ArxivSearchTool(BuiltinTool):
    provider, name = "arxiv", "arxiv_search"
    label = i18n("Arxiv Search", "Arxiv 搜索")
    llm_description = (
        "A tool for searching scientific papers and articles from the Arxiv repository. Input should be a search query."
    )
    parameters = [ToolParameter("query", "string", required=True, llm_description="Key words for searching")]

    async def run(self, call: ToolCall, services: ToolServices) -> ToolOutput:
        query = str(call.parameters["query"]).strip()[:MAX_QUERY]
        url = str(call.credentials.get("api_url") or API_URL)
        response = await _remote.call(
            services,
            call,
            "GET",
            url,
            params={"search_query": query, "start": 0, "max_results": TOP_K, "sortBy": "relevance"},
        )
        entries = parse_feed(call, response.content)[:TOP_K]
        if not entries:
            return ToolOutput(text="No good Arxiv Result was found")
        text = "\n\n".join(
            f"Published: {e['published']}\nTitle: {e['title']}\nAuthors: {e['authors']}\nSummary: {e['summary']}"
            for e in entries
        )
        return ToolOutput(text=text[:MAX_CHARS], json=[{"papers": entries}])
