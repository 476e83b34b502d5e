"""Word (DOCX) and PowerPoint (PPTX): paragraphs and tables in document order."""

from __future__ import annotations

import io
from typing import Any

from loomworks.rag.extract._base import ExtractionError, table_rows


def _heading_prefix(style_name: str) -> str:
    if style_name.startswith("Heading "):
        level = style_name.removeprefix("Heading ").strip()
        if level.isdigit():
            return "#" * min(int(level), 6) + " "
    return "# " if style_name == "Title" else ""


def extract_docx(data: bytes) -> str:
    """Paragraphs (headings as `#` lines) and tables (as `|` rows) in the order they appear.

    Raises:
        ExtractionError: the file is not a readable Word document.
    """
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document: Any = docx.Document(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - python-docx raises many unrelated types on bad input
        raise ExtractionError(f"The Word document cannot be read ({type(exc).__name__}).") from exc
    blocks: list[str] = []
    for element in document.element.body.iterchildren():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "p":
            paragraph = Paragraph(element, document)
            text = paragraph.text.strip()
            if text:
                style = paragraph.style.name if paragraph.style is not None else ""
                blocks.append(_heading_prefix(style or "") + text)
        elif tag == "tbl":
            table = Table(element, document)
            rendered = table_rows([[cell.text for cell in row.cells] for row in table.rows])
            if rendered:
                blocks.append(rendered)
    return "\n\n".join(blocks)


def _shape_blocks(shape: Any) -> list[str]:
    blocks: list[str] = []
    if getattr(shape, "has_table", False) and shape.has_table:
        rendered = table_rows([[cell.text for cell in row.cells] for row in shape.table.rows])
        if rendered:
            blocks.append(rendered)
    elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
        text = "\n".join(p.text for p in shape.text_frame.paragraphs if p.text.strip())
        if text.strip():
            blocks.append(text.strip())
    elif getattr(shape, "shapes", None) is not None:  # a group: its members in order
        for member in shape.shapes:
            blocks.extend(_shape_blocks(member))
    return blocks


def extract_pptx(data: bytes) -> tuple[str, int]:
    """Slide by slide: a `## Slide N` line, its text boxes and tables, then the speaker notes.

    Raises:
        ExtractionError: the file is not a readable presentation.
    """
    from pptx import Presentation

    try:
        presentation = Presentation(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - python-pptx raises many unrelated types on bad input
        raise ExtractionError(f"The presentation cannot be read ({type(exc).__name__}).") from exc
    slides: list[str] = []
    for number, slide in enumerate(presentation.slides, start=1):
        blocks = [f"## Slide {number}"]
        for shape in slide.shapes:
            blocks.extend(_shape_blocks(shape))
        if slide.has_notes_slide:
            notes = slide.notes_slide.notes_text_frame.text.strip() if slide.notes_slide.notes_text_frame else ""
            if notes:
                blocks.append(f"Notes: {notes}")
        slides.append("\n\n".join(blocks))
    return "\n\n".join(slides), len(slides)
