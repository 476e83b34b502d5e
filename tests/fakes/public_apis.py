"""More public web APIs behind built-in tools, on 127.0.0.1, written from their documentation.

- arXiv export API: `GET /arxiv/api/query?search_query=&start=&max_results=` → an Atom 1.0 feed
  (`<entry>` with `id`, `updated`, `published`, `title`, `summary`, `author/name`); a query of
  `broken` answers the API's error entry (title `Error`).
- NCBI E-utilities: `GET /eutils/esearch.fcgi?db=pubmed&term=&retmode=json&retmax=` →
  `{"esearchresult": {"count", "idlist": [...]}}`; `GET /eutils/efetch.fcgi?db=pubmed&id=1,2&retmode=xml`
  → a `PubmedArticleSet` (labelled `AbstractText` parts, `PubDate`).
- Google Translate's web endpoint: `GET /translate_a/single?client=gtx&sl=auto&tl=&dt=t&q=` → the
  nested array whose first item lists `[translated, original, …]` sentence pairs. The "translation"
  is `[<tl>] <text>`, so a test can see which language was asked for.
- DuckDuckGo's HTML page: `POST /duckduckgo/html/` with the form field `q` → result blocks as the
  no-JavaScript page writes them: an ad first (`result--ad`), then organic results whose links are
  direct or wrapped in the `//duckduckgo.com/l/?uddg=` redirect.

Every query term is echoed into the answers, so a test can tell the search reached this server.
`fake.hits` lists `(path, query params)` of every request.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from tests._live_server import live_server

ATOM = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">
  <title type="html">ArXiv Query: search_query={query}</title>
  <id>http://arxiv.org/api/fake</id>
  <updated>2024-05-01T00:00:00-04:00</updated>
{entries}
</feed>"""
ENTRY = """  <entry>
    <id>http://arxiv.org/abs/2401.0000{n}v1</id>
    <updated>2024-01-0{n}T10:00:00Z</updated>
    <published>2023-12-2{n}T10:00:00Z</published>
    <title>{title}</title>
    <summary>  We study {query} in setting {n}.
  The results are good.  </summary>
    <author><name>Ada Lovelace</name></author>
    <author><name>Alan Turing</name></author>
    <arxiv:primary_category term="cs.LG" scheme="http://arxiv.org/schemas/atom"/>
  </entry>"""
ERROR_ENTRY = """  <entry>
    <id>http://arxiv.org/api/errors#incorrect_id_format</id>
    <title>Error</title>
    <summary>incorrect search query</summary>
  </entry>"""
PUBMED = """<?xml version="1.0" ?>
<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2024//EN"
  "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_240101.dtd">
<PubmedArticleSet>
{articles}
</PubmedArticleSet>"""
ARTICLE = """<PubmedArticle><MedlineCitation Status="MEDLINE" Owner="NLM"><PMID Version="1">{uid}</PMID>
<Article PubModel="Print"><Journal><JournalIssue CitedMedium="Internet"><PubDate><Year>2023</Year><Month>Mar</Month>
<Day>7</Day></PubDate></JournalIssue><Title>Journal of Tests</Title></Journal>
<ArticleTitle>{term}: trial {uid}.</ArticleTitle>
<Abstract><AbstractText Label="BACKGROUND">Why {term} matters.</AbstractText>
<AbstractText Label="RESULTS">It <i>helped</i> in study {uid}.</AbstractText></Abstract></Article>
</MedlineCitation></PubmedArticle>"""


DDG_PAGE = """<!DOCTYPE html><html><head><title>{q} at DuckDuckGo</title></head><body>
<div class="serp__results"><div id="links" class="results">
<div class="result results_links results_links_deep result--ad"><div class="links_main links_deep result__body">
<h2 class="result__title"><a rel="nofollow" class="result__a" href="https://ads.example/buy">Buy {q} now</a></h2>
<a class="result__snippet" href="https://ads.example/buy">Sponsored</a></div></div>
{results}
</div></div></body></html>"""
DDG_RESULT = """<div class="result results_links results_links_deep web-result">
<div class="links_main links_deep result__body">
<h2 class="result__title"><a rel="nofollow" class="result__a" href="{href}">{q} &amp; looms {n}</a></h2>
<div class="result__extras"><span class="result__url">example.org</span></div>
<a class="result__snippet" href="{href}">All about <b>{q}</b>, part {n}.</a>
</div></div>"""


@dataclass
class PublicApisFake:
    base_url: str = ""
    hits: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    pubmed_terms: dict[str, str] = field(default_factory=dict)  # id → the term that found it

    def paths(self) -> list[str]:
        return [path for path, _ in self.hits]


def build(fake: PublicApisFake) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def record(request: Request, call_next: object) -> Response:
        fake.hits.append((request.url.path, dict(request.query_params)))
        return await call_next(request)  # type: ignore[operator]

    @app.get("/arxiv/api/query")
    def arxiv(search_query: str = "", start: int = 0, max_results: int = 10) -> Response:
        if search_query == "broken":
            entries = ERROR_ENTRY
        else:
            query = escape(search_query)
            entries = "\n".join(
                ENTRY.format(n=n, query=query, title=f"On {query}, part {n}")
                for n in range(start + 1, start + 1 + min(max_results, 5))
            )
        body = ATOM.format(query=escape(search_query), entries=entries)
        return Response(body, media_type="application/atom+xml; charset=utf-8")

    @app.get("/eutils/esearch.fcgi")
    def esearch(db: str, term: str = "", retmode: str = "xml", retmax: int = 20) -> Response:
        if db != "pubmed" or retmode != "json":
            return Response("unsupported in this fake", status_code=400)
        ids = [] if term == "nothing" else [str(38000000 + n) for n in range(1, min(retmax, 4) + 1)]
        for uid in ids:
            fake.pubmed_terms[uid] = term
        result = {"count": str(len(ids)), "retmax": str(len(ids)), "retstart": "0", "idlist": ids}
        return JSONResponse({"header": {"type": "esearch", "version": "0.3"}, "esearchresult": result})

    @app.get("/eutils/efetch.fcgi")
    def efetch(db: str, id: str = "", retmode: str = "xml") -> Response:  # noqa: A002 - the E-utilities name
        if db != "pubmed" or retmode != "xml":
            return Response("unsupported in this fake", status_code=400)
        uids = [uid for uid in id.split(",") if uid]
        articles = "\n".join(ARTICLE.format(uid=uid, term=escape(fake.pubmed_terms.get(uid, "?"))) for uid in uids)
        return Response(PUBMED.format(articles=articles), media_type="text/xml")

    @app.get("/translate_a/single")
    def translate(client: str, q: str, tl: str = "en", sl: str = "auto", dt: str = "") -> Response:
        if client != "gtx" or dt != "t":
            return Response("Bad request", status_code=400)
        sentences = [s for s in q.split("\n") if s] or [q]
        pairs = [
            [f"[{tl}] {s}" + ("\n" if i < len(sentences) - 1 else ""), s, None, None, 10]
            for i, s in enumerate(sentences)
        ]
        return JSONResponse([pairs, None, "zh-CN" if sl == "auto" else sl, None, None, None, 1.0, [], [["zh-CN"]]])

    @app.post("/duckduckgo/html/")
    async def duckduckgo(request: Request) -> Response:
        form = await request.form()
        q = escape(str(form.get("q") or ""))
        fake.hits[-1] = (request.url.path, {k: str(v) for k, v in form.items()})
        hrefs = [
            "https://example.org/one",
            "//duckduckgo.com/l/?uddg=https%3A%2F%2Fexample.org%2Ftwo%3Fa%3D1&amp;rut=x",
        ]
        hrefs += [f"https://example.org/more/{n}" for n in range(3, 8)]
        results = "\n".join(DDG_RESULT.format(href=h, q=q, n=n) for n, h in enumerate(hrefs, 1))
        return Response(DDG_PAGE.format(q=q, results=results), media_type="text/html; charset=utf-8")

    return app


@contextmanager
def public_apis_fake() -> Iterator[PublicApisFake]:
    fake = PublicApisFake()
    with live_server(build(fake)) as url:
        fake.base_url = url
        yield fake
