"""Real documents of every supported format, built in memory for the tests (and the bench)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence


def _pdf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(pages: Sequence[Sequence[str]]) -> bytes:
    """A PDF with one page per item, each line drawn in Helvetica (hand-written objects, exact xref)."""
    objects: list[bytes] = []
    page_ids = [4 + 2 * i for i in range(len(pages))]
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{p} 0 R" for p in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    for index, lines in enumerate(pages):
        content = ["BT", "/F1 11 Tf", "14 TL", "56 780 Td"]
        for line in lines:
            content.append(f"({_pdf_escape(line)}) Tj T*")
        content.append("ET")
        stream = "\n".join(content).encode("cp1252")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
            f"/Contents {page_ids[index] + 1} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def encrypt_pdf(data: bytes, password: str = "secret") -> bytes:
    """The same PDF encrypted with a user password (RC4, which pypdf writes without extra packages)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=password, owner_password=password + "-owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_docx(blocks: Sequence[str | list[list[str]]], heading: str | None = None) -> bytes:
    """A Word document: strings become paragraphs, lists of rows become tables, in order."""
    import docx

    document = docx.Document()
    if heading:
        document.add_heading(heading, level=1)
    for block in blocks:
        if isinstance(block, str):
            document.add_paragraph(block)
        else:
            table = document.add_table(rows=len(block), cols=len(block[0]))
            for r, row in enumerate(block):
                for c, value in enumerate(row):
                    table.cell(r, c).text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def make_xlsx(sheets: dict[str, list[list[object]]]) -> bytes:
    """A workbook with the given sheets (first row = header)."""
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def make_pptx(slides: Sequence[tuple[str, str, list[list[str]] | None]]) -> bytes:
    """A presentation: (title, body, optional table) per slide."""
    from pptx import Presentation
    from pptx.util import Inches

    presentation = Presentation()
    for title, body, table in slides:
        slide = presentation.slides.add_slide(presentation.slide_layouts[5])
        slide.shapes.title.text = title
        box = slide.shapes.add_textbox(Inches(1), Inches(1.5), Inches(8), Inches(1))
        box.text_frame.text = body
        if table:
            shape = slide.shapes.add_table(len(table), len(table[0]), Inches(1), Inches(3), Inches(8), Inches(2))
            for r, row in enumerate(table):
                for c, value in enumerate(row):
                    shape.table.cell(r, c).text = value
    out = io.BytesIO()
    presentation.save(out)
    return out.getvalue()


def make_epub(chapters: Sequence[tuple[str, str]]) -> bytes:
    """An EPUB with (title, paragraph text) chapters."""
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("loomworks-test")
    book.set_title("Field Guide")
    book.set_language("en")
    items = []
    for index, (title, text) in enumerate(chapters, start=1):
        item = epub.EpubHtml(title=title, file_name=f"chap_{index}.xhtml", lang="en")
        item.content = f"<html><body><h1>{title}</h1><p>{text}</p></body></html>"
        book.add_item(item)
        items.append(item)
    book.toc = items
    book.spine = items
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    out = io.BytesIO()
    epub.write_epub(out, book)
    return out.getvalue()


def make_zip_bomb(inner_name: str = "word/document.xml", megabytes: int = 20) -> bytes:
    """A DOCX-shaped zip whose one part inflates ~1000:1."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(inner_name, b"\0" * (megabytes * 1024 * 1024))
    return out.getvalue()


def make_entity_docx() -> bytes:
    """A DOCX whose main part declares a billion-laughs entity."""
    xml = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        "<w:body><w:p><w:r><w:t>&lol2;</w:t></w:r></w:p></w:body></w:document>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", xml)
    return out.getvalue()


EML = (
    b"From: Ana Silva <ana@example.org>\r\nTo: team@example.org\r\nSubject: Office move on Friday\r\n"
    b"Date: Tue, 03 Nov 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    b"The office moves to the fourth floor on Friday. Pack your desk by Thursday evening.\r\n"
)
HTML = (
    b"<!DOCTYPE html><html><head><title>Help</title><style>p{color:red}</style>"
    b"<script>var secret='tracking';</script></head><body><nav>Home | About | Menu link</nav>"
    b"<h1>Returns</h1><p>Items may be returned within 30 days with a receipt.</p>"
    b"<table><tr><th>Item</th><th>Window</th></tr><tr><td>Shoes</td><td>60 days</td></tr></table>"
    b"<footer>Copyright footer text</footer></body></html>"
)
