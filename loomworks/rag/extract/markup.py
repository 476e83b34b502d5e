"""HTML and EPUB: the readable text of each page, without scripts, styles, navigation or footers."""

from __future__ import annotations

import io
from typing import Any

from loomworks.rag.extract._base import ExtractionError, table_rows
from loomworks.rag.extract._guards import refuse_entities_in
from loomworks.rag.extract.text import decode

_DROPPED = ("script", "style", "nav", "footer", "noscript", "template", "iframe", "svg", "form", "button")
_BLOCKS = ("p", "div", "section", "article", "li", "br", "tr", "blockquote", "pre", "dd", "dt", "figcaption")


def html_to_text(markup: str | bytes) -> str:
    """Readable text of an HTML page: headings as `#` lines, tables as `|` rows, blocks on their own lines."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "lxml")
    for tag in soup(list(_DROPPED)):
        tag.decompose()
    for table in soup.find_all("table"):
        rows = [[cell.get_text(" ", strip=True) for cell in tr.find_all(["th", "td"])] for tr in table.find_all("tr")]
        table.replace_with(soup.new_string("\n\n" + table_rows(rows) + "\n\n"))
    for level in range(1, 7):
        for heading in soup.find_all(f"h{level}"):
            heading.replace_with(soup.new_string(f"\n\n{'#' * level} {heading.get_text(' ', strip=True)}\n\n"))
    for block in soup.find_all(list(_BLOCKS)):
        block.insert_after(soup.new_string("\n"))
    body: Any = soup.body or soup
    lines = [" ".join(line.split()) for line in body.get_text("").split("\n")]
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip()


def extract_html(data: bytes) -> str:
    """HTML file to text; documents declaring XML entities are refused."""
    refuse_entities_in(data)
    return html_to_text(decode(data))


def extract_epub(data: bytes) -> tuple[str, int]:
    """Chapters of an EPUB in reading order (ebooklib's spine, each XHTML page parsed with bs4).

    The caller has already checked the zip container for bombs and entity declarations.

    Raises:
        ExtractionError: the EPUB's package is missing or unreadable.
    """
    import ebooklib
    from ebooklib import epub

    try:
        book = epub.read_epub(io.BytesIO(data), {"ignore_ncx": True})
    except Exception as exc:  # noqa: BLE001 - ebooklib raises many unrelated types on bad input
        raise ExtractionError(f"The EPUB cannot be read ({type(exc).__name__}: {exc}).") from exc
    order = [book.get_item_with_id(idref) for idref, _linear in book.spine]
    pages = [item for item in order if item is not None and item.get_type() == ebooklib.ITEM_DOCUMENT]
    if not pages:
        pages = list(book.get_items_of_type(ebooklib.ITEM_DOCUMENT))
    texts = [html_to_text(item.get_content()) for item in pages]
    return "\n\n".join(t for t in texts if t), len(texts)
