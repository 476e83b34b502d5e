"""Extraction of every supported format from real files, and clear errors for bad ones."""

from __future__ import annotations

import zipfile
from io import BytesIO

import pytest

from loomworks.rag.extract import ExtractionError, ExtractLimits, extract, sniff
from tests.rag._documents import (
    EML,
    HTML,
    encrypt_pdf,
    make_docx,
    make_entity_docx,
    make_epub,
    make_pdf,
    make_pptx,
    make_xlsx,
    make_zip_bomb,
)


def test_pdf_pages_in_order() -> None:
    pdf = make_pdf([["Page one (intro)", "Herons wade."], ["Page two", "Owls hunt."], ["Last page"]])
    result = extract(pdf, filename="guide.pdf")
    assert (result.kind, result.pages) == ("pdf", 3)
    assert result.text.index("Herons wade.") < result.text.index("Owls hunt.") < result.text.index("Last page")
    assert "Page one (intro)" in result.text


def test_docx_paragraphs_and_tables_in_document_order() -> None:
    data = make_docx(["First paragraph.", [["Part", "Warranty"], ["Battery", "1 year"]], "After the table."], "Manual")
    text = extract(data).text
    assert text.startswith("# Manual")
    assert "| Part | Warranty |\n| --- | --- |\n| Battery | 1 year |" in text
    assert text.index("First paragraph.") < text.index("| Battery") < text.index("After the table.")


def test_spreadsheets_csv_and_slides_keep_their_headers() -> None:
    xlsx = extract(make_xlsx({"Prices": [["Item", "Price"], ["Tea", 3], ["Cake", 4.5]], "Empty": []}))
    assert xlsx.kind == "xlsx"
    assert xlsx.text == "## Prices\nItem: Tea; Price: 3\nItem: Cake; Price: 4.5"
    assert extract(b"name;city\nAna;Porto\nLi;Xi'an\n", filename="people.csv").text == (
        "name: Ana; city: Porto\nname: Li; city: Xi'an"
    )
    slides = extract(
        make_pptx([("Roadmap", "Launch in spring.", [["Q", "Goal"], ["Q1", "Beta"]]), ("End", "Bye", None)])
    )
    assert (slides.kind, slides.pages) == ("pptx", 2)
    assert "## Slide 1" in slides.text
    assert "| Q1 | Beta |" in slides.text
    assert slides.text.index("Launch in spring.") < slides.text.index("## Slide 2")


def test_markup_mail_json_and_text() -> None:
    html = extract(HTML).text
    assert "# Returns" in html
    assert "| Shoes | 60 days |" in html
    for dropped in ("tracking", "Menu link", "Copyright footer", "color:red"):
        assert dropped not in html
    epub = extract(make_epub([("Birds", "Herons wade in shallow water."), ("Trees", "Oaks live for centuries.")]))
    assert (epub.kind, epub.pages) == ("epub", 2)
    assert epub.text.index("Herons") < epub.text.index("Oaks")
    mail = extract(EML)
    assert mail.kind == "eml"
    assert "Subject: Office move on Friday" in mail.text
    assert "fourth floor" in mail.text
    assert extract(b'{"a": [1, 2]}', filename="data.json").text == '{\n  "a": [\n    1,\n    2\n  ]\n}'
    assert extract("# Título\n\nCafé".encode("latin-1"), filename="notes.md").text == "# Título\n\nCafé"
    assert extract(b"\xef\xbb\xbfplain", filename="a.txt").kind == "txt"


def test_the_name_never_decides_a_binary_format() -> None:
    docx = make_docx(["Hello"])
    assert sniff(docx, "report.pdf") == "docx"
    assert sniff(make_pdf([["x"]]), "notes.txt") == "pdf"
    assert sniff(b"a,b\n1,2", "table.csv") == "csv"
    assert sniff(b"<!DOCTYPE html><html><body>x</body></html>", "page.txt") == "html"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"MZ\x90\x00" + b"\x00" * 64, "executable"),
        (b"\x7fELF\x02\x01", "executable"),
        (b"", "empty"),
        (b"  \n\t ", "empty"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 16, "PNG image"),
        (bytes(range(256)) * 4, "binary data"),
        (b"PK\x03\x04 broken", "damaged"),
        (b'{"a": ', "JSON document is not valid"),
    ],
)
def test_bad_inputs_fail_clearly(data: bytes, message: str) -> None:
    with pytest.raises(ExtractionError, match=message):
        extract(data, filename="upload.json")


def test_encrypted_pdf_zip_bomb_and_xml_entities_are_refused() -> None:
    with pytest.raises(ExtractionError, match="encrypted"):
        extract(encrypt_pdf(make_pdf([["secret"]])))
    with pytest.raises(ExtractionError, match="zip bomb"):
        extract(make_zip_bomb())
    with pytest.raises(ExtractionError, match="XML entities"):
        extract(make_entity_docx())
    with pytest.raises(ExtractionError, match="XML entities"):
        extract(b'<!DOCTYPE html [<!ENTITY x "y">]><html><body>&x;</body></html>', filename="a.html")
    many = BytesIO()
    with zipfile.ZipFile(many, "w") as archive:
        archive.writestr("word/document.xml", "<x/>")
        for i in range(30):
            archive.writestr(f"f{i}", "x")
    with pytest.raises(ExtractionError, match="zip bomb"):
        extract(many.getvalue(), limits=ExtractLimits(max_members=10))


def test_size_caps() -> None:
    with pytest.raises(ExtractionError, match="at most 1 MB"):
        extract(b"x" * (2 * 1024 * 1024), limits=ExtractLimits(max_bytes=1024 * 1024))
    with pytest.raises(ExtractionError, match="more than 10 characters"):
        extract(b"a long enough text", filename="a.txt", limits=ExtractLimits(max_chars=10))
    with pytest.raises(ExtractionError, match="no text"):
        extract(make_pdf([[]]))
