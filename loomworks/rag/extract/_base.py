"""What every extractor shares: the result type, the error type and the limits."""

from __future__ import annotations

from dataclasses import dataclass


class ExtractionError(Exception):
    """A document could not be turned into text; the message says why, in words a user understands."""


@dataclass(frozen=True, slots=True)
class ExtractLimits:
    """Caps that keep one hostile or huge file from exhausting the process.

    Attributes:
        max_bytes: largest input accepted at all.
        max_members: most entries allowed in a zip container (DOCX, XLSX, PPTX, EPUB).
        max_uncompressed_bytes: largest total declared uncompressed size of a zip container.
        max_ratio: largest compression ratio of one zip member (zip bombs compress ~1000:1).
        max_chars: longest text an extractor may produce.
    """

    max_bytes: int = 100 * 1024 * 1024
    max_members: int = 10_000
    max_uncompressed_bytes: int = 300 * 1024 * 1024
    max_ratio: float = 200.0
    max_chars: int = 20_000_000


@dataclass(frozen=True, slots=True)
class Extracted:
    """The text of one document.

    Attributes:
        text: plain text; tables appear as rows of `|`-separated cells, sheets as `header: value` rows.
        kind: the detected format (`pdf`, `docx`, `xlsx`, `xls`, `csv`, `txt`, `markdown`, `html`,
            `pptx`, `epub`, `eml`, `msg`, `json`).
        pages: pages (PDF), slides (PPTX), sheets (XLSX/XLS), chapters (EPUB), else 1.
    """

    text: str
    kind: str
    pages: int = 1


def table_rows(rows: list[list[str]]) -> str:
    """Render table rows as Markdown-ish lines, the first row as a header."""
    cleaned = [[" ".join(cell.split()) for cell in row] for row in rows]
    cleaned = [row for row in cleaned if any(row)]
    if not cleaned:
        return ""
    width = max(len(row) for row in cleaned)
    lines = ["| " + " | ".join(row + [""] * (width - len(row))) + " |" for row in cleaned]
    lines.insert(1, "|" + " --- |" * width)
    return "\n".join(lines)


def keyed_rows(header: list[str], rows: list[list[str]]) -> list[str]:
    """One line per row, each value named by its column header (so a chunk keeps its context)."""
    names = [h.strip() or f"column {i + 1}" for i, h in enumerate(header)]
    lines = []
    for row in rows:
        parts = [
            f"{names[i] if i < len(names) else f'column {i + 1}'}: {value.strip()}"
            for i, value in enumerate(row)
            if value.strip()
        ]
        if parts:
            lines.append("; ".join(parts))
    return lines
