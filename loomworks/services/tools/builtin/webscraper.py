"""`webscraper`: fetch a page through the SSRF-safe client and extract its readable text."""

from __future__ import annotations

import re

from loomworks.services.tools.base import ToolCall, ToolOutput, ToolParameter, ToolProviderError, i18n
from loomworks.services.tools.builtin import _remote
from loomworks.services.tools.registry import BuiltinTool, BuiltinToolProvider, ToolServices

_NOISE = ("script", "style", "noscript", "template", "svg", "nav", "footer", "header", "aside", "form", "iframe")
_MAX_BYTES = 5 * 1024 * 1024
_MAX_TEXT = 100_000
_DEFAULT_AGENT = "Mozilla/5.0 (compatible; Loomworks webscraper)"


def readable_text(html: str) -> tuple[str, str]:
    """The title and the readable text of an HTML page (scripts, navigation and chrome removed)."""
    from bs4 import BeautifulSoup  # on first use: bs4 and lxml cost a server ~9 MB from start-up on

    soup = BeautifulSoup(html, "lxml")
    title = soup.title.get_text(strip=True) if soup.title else ""
    for tag in soup(list(_NOISE)):
        tag.decompose()
    root = soup.find("article") or soup.find("main") or soup.body or soup
    lines = (re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in root.get_text("\n").splitlines())
    text = "\n".join(line for line in lines if line)
    return title, re.sub(r"\n{3,}", "\n\n", text)


async def fetch_readable(services: ToolServices, call: ToolCall, url: str, user_agent: str | None = None) -> str:
    """GET `url` and return `TITLE: …` plus its readable text (plain text bodies as they are)."""
    if not url.startswith(("http://", "https://")):
        raise ToolProviderError(f"Tool {call.descriptor.key}: '{url}' is not an http(s) URL.", tool=call.descriptor.key)
    response = await _remote.call(
        services, call, "GET", url, headers={"User-Agent": user_agent or _DEFAULT_AGENT}, max_bytes=_MAX_BYTES
    )
    content_type = response.headers.get("content-type", "")
    if "html" in content_type or response.text.lstrip()[:15].lower().startswith(("<!doctype", "<html")):
        title, text = readable_text(response.text)
        body = (f"TITLE: {title}\n\n" if title else "") + text
    elif content_type.startswith(("text/", "application/json")) or not content_type:
        body = response.text
    else:
        raise ToolProviderError(
            f"Tool {call.descriptor.key}: {url} is {content_type.split(';')[0]}, not a web page.",
            tool=call.descriptor.key,
        )
    return body[:_MAX_TEXT]


class WebscraperProvider(BuiltinToolProvider):
    name = "webscraper"
    label = i18n("WebScraper", "网页抓取")
    description = i18n("Web Scrapper tool kit is used to scrape web", "一个用于抓取网页的工具。")
    tags = ["productivity"]


class WebscraperTool(BuiltinTool):
    provider, name = "webscraper", "webscraper"
    label = i18n("Web Scraper", "网页爬虫")
    llm_description = "A tool for scraping a web page: give it a URL, get the page's readable text."
    parameters = [
        ToolParameter("url", "string", required=True, llm_description="the URL of the page"),
        ToolParameter("user_agent", "string", form="form", default=_DEFAULT_AGENT, llm_description="User-Agent"),
        ToolParameter("generate_summary", "boolean", form="form", default=False, llm_description="unused"),
    ]

    async def run(self, call: ToolCall, services: ToolServices) -> ToolOutput:
        text = await fetch_readable(services, call, str(call.parameters["url"]), call.parameters.get("user_agent"))
        return ToolOutput(text=text)
