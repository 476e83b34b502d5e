"""Text from uploaded documents, one module per format family.

`extract(data, filename=...)` detects the format from the bytes (`sniff`), checks containers for zip
bombs and XML entity declarations, and returns an `Extracted`. Every failure is an
`ExtractionError` whose message can be shown to the user as the document's error.

To add a format: write `extract_<kind>` in the module of its family, teach `sniff` to recognise
it, and add a branch to `_EXTRACTORS`.
"""

from __future__ import annotations

from collections.abc import Callable

from loomworks.rag.extract._base import Extracted, ExtractionError, ExtractLimits
from loomworks.rag.extract._guards import open_zip, refuse_xml_entities
from loomworks.rag.extract._sniff import sniff
from loomworks.rag.extract.mail import extract_eml, extract_msg
from loomworks.rag.extract.markup import extract_epub, extract_html, html_to_text
from loomworks.rag.extract.office import extract_docx, extract_pptx
from loomworks.rag.extract.pdf import extract_pdf
from loomworks.rag.extract.sheets import extract_csv, extract_xls, extract_xlsx
from loomworks.rag.extract.text import extract_json, extract_text

__all__ = ["ExtractLimits", "Extracted", "ExtractionError", "extract", "html_to_text", "sniff"]

_ZIPPED = frozenset({"docx", "xlsx", "pptx", "epub"})


def _one_page(function: Callable[[bytes], str]) -> Callable[[bytes, ExtractLimits], tuple[str, int]]:
    return lambda data, _limits: (function(data), 1)


_EXTRACTORS: dict[str, Callable[[bytes, ExtractLimits], tuple[str, int]]] = {
    "pdf": lambda data, _limits: extract_pdf(data),
    "docx": _one_page(extract_docx),
    "pptx": lambda data, _limits: extract_pptx(data),
    "xlsx": lambda data, limits: extract_xlsx(data, limits.max_chars),
    "xls": lambda data, limits: extract_xls(data, limits.max_chars),
    "epub": lambda data, _limits: extract_epub(data),
    "csv": _one_page(extract_csv),
    "html": _one_page(extract_html),
    "eml": _one_page(extract_eml),
    "msg": _one_page(extract_msg),
    "json": _one_page(extract_json),
    "markdown": _one_page(extract_text),
    "txt": _one_page(extract_text),
}


def extract(data: bytes, *, filename: str | None = None, limits: ExtractLimits | None = None) -> Extracted:
    """Extract the text of one document.

    Args:
        data: the file's bytes.
        filename: used only to choose among plain-text formats (CSV, Markdown, text).
        limits: size caps; the defaults suit uploads of up to 100 MB.

    Returns:
        The text, the detected kind and the number of pages (or slides, sheets, chapters).

    Raises:
        ExtractionError: the file is too large, of an unsupported or disguised kind, encrypted,
            damaged, a zip bomb, declares XML entities, or holds no text at all.
    """
    limits = limits or ExtractLimits()
    if len(data) > limits.max_bytes:
        raise ExtractionError(
            f"The file is {len(data) // (1024 * 1024)} MB; at most {limits.max_bytes // (1024 * 1024)} MB is allowed."
        )
    if not data.strip():
        raise ExtractionError("The document is empty.")
    kind = sniff(data, filename)
    if kind in _ZIPPED:
        with open_zip(data, limits) as archive:
            refuse_xml_entities(archive)
    text, pages = _EXTRACTORS[kind](data, limits)
    if len(text) > limits.max_chars:
        raise ExtractionError(f"The document holds more than {limits.max_chars} characters of text.")
    if not text.strip():
        raise ExtractionError(f"The {kind.upper()} document contains no text (a scan without a text layer?).")
    return Extracted(text=text, kind=kind, pages=pages)
