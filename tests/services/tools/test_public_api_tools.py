"""The arxiv, pubmed and google_translate built-ins against local fakes of their documented APIs, and bad input."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from loomworks.services.tools import credentials as tool_credentials
from loomworks.services.tools import registry
from loomworks.services.tools.base import ToolCall, ToolDescriptor, ToolParameterError, ToolProviderError
from loomworks.services.tools.builtin.arxiv import parse_feed
from loomworks.services.tools.builtin.pubmed import parse_articles
from tests.fakes.public_apis import PublicApisFake, public_apis_fake
from tests.services.tools._setup import Setup, make_setup, named


@pytest.fixture
async def setup(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[Setup]:
    # These tools keep nothing but their (optional) endpoint credentials; the credential store is
    # tested on both databases in test_builtin_tools.py.
    target = tmp_path / "tools.db"
    shutil.copy(sqlite_template, target)
    async for ready in make_setup(f"sqlite:///{target}", tmp_path, tool_timeout=2.0):
        yield ready


@pytest.fixture(scope="module")
def apis() -> Iterator[PublicApisFake]:
    with public_apis_fake() as fake:
        yield fake


def _endpoint(setup: Setup, provider: str, values: dict[str, str]) -> None:
    cls = registry.provider(provider)
    assert cls is not None
    with setup.db.session() as session:
        cleaned = tool_credentials.prepare_builtin(
            session,
            keyring=setup.keyring,
            tenant_id=setup.tenant_id,
            provider=provider,
            form=cls.credentials_schema,
            values=values,
        )
        tool_credentials.save_builtin(
            session,
            keyring=setup.keyring,
            tenant_id=setup.tenant_id,
            account_id=None,
            provider=provider,
            form=cls.credentials_schema,
            cleaned=cleaned,
        )


def test_the_providers_use_difys_names_and_need_no_credentials() -> None:
    for provider, tool, parameters in (
        ("arxiv", "arxiv_search", ["query"]),
        ("pubmed", "pubmed_search", ["query"]),
        ("google_translate", "translate", ["content", "dest"]),
        ("duckduckgo", "ddgo_search", ["query", "max_results", "require_summary"]),
    ):
        found = registry.tool(provider, tool)
        assert found is not None, provider
        assert [p.name for p in found.descriptor().parameters] == parameters
        cls = registry.provider(provider)
        assert cls is not None
        # Their only settings are optional endpoints: usable (authorized) without saving anything.
        assert cls.to_dify(authorized=False)["is_team_authorization"] is True
    dest = registry.tool("google_translate", "translate").descriptor().parameter("dest")  # type: ignore[union-attr]
    assert dest is not None
    assert (dest.form, dest.default) == ("form", "en")
    assert {"zh-cn", "ja", "fr"} <= {o.value for o in dest.options}


async def test_arxiv_search_reads_the_atom_feed(setup: Setup, apis: PublicApisFake) -> None:
    _endpoint(setup, "arxiv", {"api_url": named(apis.base_url) + "/arxiv/api/query"})
    out = await setup.runtime.invoke(setup.tenant_id, "builtin", "arxiv", "arxiv_search", {"query": "graph neural"})
    path, query = apis.hits[-1]
    assert path == "/arxiv/api/query"
    assert (query["search_query"], query["max_results"], query["start"]) == ("graph neural", "3", "0")
    papers = out.text.split("\n\n")
    assert len(papers) == 3
    assert papers[0] == (
        "Published: 2024-01-01\nTitle: On graph neural, part 1\nAuthors: Ada Lovelace, Alan Turing\n"
        "Summary: We study graph neural in setting 1. The results are good."
    )
    assert out.json[0]["papers"][2]["url"] == "http://arxiv.org/abs/2401.00003v1"
    # arXiv reports a bad query as an entry titled "Error": no results, not a paper called Error.
    broken = await setup.runtime.invoke(setup.tenant_id, "builtin", "arxiv", "arxiv_search", {"query": "broken"})
    assert broken.text == "No good Arxiv Result was found"


async def test_pubmed_search_fetches_the_found_articles(setup: Setup, apis: PublicApisFake) -> None:
    _endpoint(setup, "pubmed", {"eutils_url": named(apis.base_url) + "/eutils", "api_key": "ncbi-key"})
    before = len(apis.hits)
    out = await setup.runtime.invoke(setup.tenant_id, "builtin", "pubmed", "pubmed_search", {"query": "sepsis"})
    (search, searched), (fetch, fetched) = apis.hits[before:]
    assert (search, searched["term"], searched["retmax"], searched["retmode"]) == (
        "/eutils/esearch.fcgi",
        "sepsis",
        "3",
        "json",
    )
    assert (fetch, fetched["id"], fetched["retmode"]) == ("/eutils/efetch.fcgi", "38000001,38000002,38000003", "xml")
    assert searched["api_key"] == fetched["api_key"] == "ncbi-key"
    first = out.text.split("\n\n")[0]
    assert first == (
        "Published: 2023-03-07\nTitle: sepsis: trial 38000001.\n"
        "Summary: BACKGROUND: Why sepsis matters.\nRESULTS: It helped in study 38000001."
    )
    nothing = await setup.runtime.invoke(setup.tenant_id, "builtin", "pubmed", "pubmed_search", {"query": "nothing"})
    assert nothing.text == "No good PubMed Result was found"
    assert apis.hits[-1][0] == "/eutils/esearch.fcgi"  # nothing found: nothing fetched


async def test_google_translate_asks_for_the_chosen_language(setup: Setup, apis: PublicApisFake) -> None:
    _endpoint(setup, "google_translate", {"api_url": named(apis.base_url) + "/translate_a/single"})
    out = await setup.runtime.invoke(
        setup.tenant_id,
        "builtin",
        "google_translate",
        "translate",
        {"content": "你好\n世界"},
        configurations={"dest": "fr"},
    )
    assert out.text == "[fr] 你好\n[fr] 世界"
    query = apis.hits[-1][1]
    assert (query["client"], query["sl"], query["tl"], query["dt"]) == ("gtx", "auto", "fr", "t")
    with pytest.raises(ToolParameterError, match="google_translate/translate.*dest"):
        await setup.runtime.invoke(
            setup.tenant_id, "builtin", "google_translate", "translate", {"content": "x", "dest": "klingon"}
        )


async def test_duckduckgo_search_reads_the_html_results(setup: Setup, apis: PublicApisFake) -> None:
    _endpoint(setup, "duckduckgo", {"html_url": named(apis.base_url) + "/duckduckgo/html/"})
    # The corpus DSL's configuration: `max_results: 5`, `require_summary: 0`.
    out = await setup.runtime.invoke(
        setup.tenant_id,
        "builtin",
        "duckduckgo",
        "ddgo_search",
        {"query": "weaving"},
        configurations={"max_results": 2, "require_summary": 0},
    )
    path, form = apis.hits[-1]
    assert (path, form["q"]) == ("/duckduckgo/html/", "weaving")
    assert out.json == [  # the ad is skipped; the redirect link is unwrapped
        {"title": "weaving & looms 1", "href": "https://example.org/one", "body": "All about weaving, part 1."},
        {"title": "weaving & looms 2", "href": "https://example.org/two?a=1", "body": "All about weaving, part 2."},
    ]
    assert out.text.startswith("weaving & looms 1\nhttps://example.org/one\nAll about weaving, part 1.\n\n")
    default = await setup.runtime.invoke(setup.tenant_id, "builtin", "duckduckgo", "ddgo_search", {"query": "x"})
    assert len(default.json) == 5


async def test_an_unreachable_or_garbled_service_is_a_tool_error(setup: Setup, apis: PublicApisFake) -> None:
    _endpoint(setup, "google_translate", {"api_url": named(apis.base_url) + "/arxiv/api/query"})  # XML, not JSON
    with pytest.raises(ToolProviderError, match="google_translate/translate.*not JSON"):
        await setup.runtime.invoke(setup.tenant_id, "builtin", "google_translate", "translate", {"content": "x"})
    _endpoint(setup, "pubmed", {"eutils_url": named(apis.base_url) + "/nowhere"})
    with pytest.raises(ToolProviderError, match="pubmed/pubmed_search.*HTTP 404"):
        await setup.runtime.invoke(setup.tenant_id, "builtin", "pubmed", "pubmed_search", {"query": "x"})
    before = len(apis.hits)
    _endpoint(setup, "arxiv", {"api_url": apis.base_url + "/arxiv/api/query"})  # bare loopback: refused
    with pytest.raises(ToolProviderError, match="not allowed"):
        await setup.runtime.invoke(setup.tenant_id, "builtin", "arxiv", "arxiv_search", {"query": "x"})
    assert len(apis.hits) == before


_CALL = ToolCall(tenant_id="t", descriptor=ToolDescriptor("builtin", "arxiv", "arxiv_search"), parameters={})
_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>&lol2;</title></entry></feed>"""
_EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<PubmedArticleSet><PubmedArticle><ArticleTitle>&x;</ArticleTitle></PubmedArticle></PubmedArticleSet>"""


@pytest.mark.parametrize("parse", [parse_feed, parse_articles])
@pytest.mark.parametrize("document", [_BOMB, _EXTERNAL, b"<feed><entry>", b"not xml at all"])
def test_hostile_or_broken_xml_is_refused(parse: object, document: bytes) -> None:
    with pytest.raises(ToolProviderError, match="arxiv/arxiv_search: the (arXiv|PubMed) answer is not"):
        parse(_CALL, document)  # type: ignore[operator]
