"""`pubmed`: search PubMed through NCBI's E-utilities (`esearch` for ids, then `efetch` for the articles)."""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from loomworks.services.tools.base import ToolCall, ToolOutput, ToolParameter, ToolProviderError, i18n
from loomworks.services.tools.builtin import _remote
from loomworks.services.tools.registry import BuiltinTool, BuiltinToolProvider, ToolServices

EUTILS_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils"
TOP_K, MAX_CHARS = 3, 2000  # Dify's wrapper: three articles, the answer cut at 2,000 characters
_MONTHS = {
    m: f"{i:02d}"
    for i, m in enumerate(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1)
}


class PubmedProvider(BuiltinToolProvider):
    name = "pubmed"
    label = i18n("PubMed")
    description = i18n("A search engine for biomedical literature.", "一款生物医学文献搜索引擎。")
    tags = ["medical", "search"]
    credentials_schema = [
        {
            "variable": "api_key",
            "type": "secret-input",
            "required": False,
            "label": i18n("NCBI API key"),
            "help": i18n("Optional: raises NCBI's rate limit from 3 to 10 requests a second."),
        },
        {
            "variable": "eutils_url",
            "type": "text-input",
            "required": False,
            "label": i18n("E-utilities base URL"),
            "placeholder": i18n(EUTILS_URL),
        },
    ]


def _join(element: Element | None) -> str:
    return " ".join("".join(element.itertext()).split()) if element is not None else ""


def _date(article: Element) -> str:
    date = article.find(".//Article/ArticleDate")
    if date is None:
        date = article.find(".//Article/Journal/JournalIssue/PubDate")
    if date is None:
        return ""
    year = _join(date.find("Year")) or _join(date.find("MedlineDate"))[:4]
    month = _join(date.find("Month"))
    month = _MONTHS.get(month[:3], month.zfill(2) if month.isdigit() else "")
    day = _join(date.find("Day")).zfill(2) if date.find("Day") is not None else ""
    return "-".join(part for part in (year, month, day) if part)


def parse_articles(call: ToolCall, xml: bytes) -> list[dict[str, str]]:
    """The `PubmedArticle`s of an efetch answer: uid, title, summary (all abstract parts), date."""
    try:
        root = ElementTree.fromstring(xml)
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise ToolProviderError(
            f"Tool {call.descriptor.key}: the PubMed answer is not readable XML ({exc}).", tool=call.descriptor.key
        ) from None
    articles: list[dict[str, str]] = []
    for article in root.iter("PubmedArticle"):
        parts = []
        for abstract in article.findall(".//Abstract/AbstractText"):
            label, text = abstract.get("Label"), _join(abstract)
            parts.append(f"{label}: {text}" if label else text)
        articles.append(
            {
                "uid": _join(article.find(".//MedlineCitation/PMID")),
                "title": _join(article.find(".//Article/ArticleTitle")),
                "summary": "\n".join(parts) or "No abstract available",
                "pub_date": _date(article),
            }
        )
    return articles


class PubmedSearchTool(BuiltinTool):
    provider, name = "pubmed", "pubmed_search"
    label = i18n("PubMed Search", "PubMed 搜索")
    llm_description = (
        "A search engine for biomedical literature: PubMed articles with their publication date, "
        "title and abstract. Input should be a search query."
    )
    parameters = [ToolParameter("query", "string", required=True, llm_description="Key words for searching")]

    async def run(self, call: ToolCall, services: ToolServices) -> ToolOutput:
        base = str(call.credentials.get("eutils_url") or EUTILS_URL).rstrip("/")
        common: dict[str, Any] = {"db": "pubmed", "tool": "loomworks"}
        if call.credentials.get("api_key"):
            common["api_key"] = call.credentials["api_key"]
        found = await _remote.call_json(
            services,
            call,
            "GET",
            f"{base}/esearch.fcgi",
            params={**common, "term": str(call.parameters["query"]), "retmode": "json", "retmax": TOP_K},
        )
        result = found.get("esearchresult") if isinstance(found, dict) else None
        if not isinstance(result, dict) or not isinstance(result.get("idlist"), list):
            message = (found.get("error") if isinstance(found, dict) else None) or "the answer has no id list"
            raise ToolProviderError(
                f"Tool {call.descriptor.key}: PubMed search failed: {message}.", tool=call.descriptor.key
            )
        ids = [str(uid) for uid in result["idlist"][:TOP_K]]
        if not ids:
            return ToolOutput(text="No good PubMed Result was found")
        fetched = await _remote.call(
            services, call, "GET", f"{base}/efetch.fcgi", params={**common, "id": ",".join(ids), "retmode": "xml"}
        )
        articles = parse_articles(call, fetched.content)
        text = "\n\n".join(
            f"Published: {a['pub_date']}\nTitle: {a['title']}\nSummary: {a['summary']}" for a in articles
        )
        return ToolOutput(text=text[:MAX_CHARS] or "No good PubMed Result was found", json=[{"articles": articles}])
