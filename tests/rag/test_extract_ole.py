"""Excel 97-2003 (XLS) and Outlook (MSG) documents: OLE files built in the test, read by the extractor.

The fixtures come from `tests/rag/_ole.py`, which writes the compound-file, BIFF8 and MSG structures
from their specifications (no installed library writes them); xlrd and olefile, the readers the
product uses, are what judge them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import random
import struct

import olefile
import pytest

from loomworks.rag.extract import ExtractionError, ExtractLimits, extract, sniff
from tests.rag._documents import make_xlsx
from tests.rag._ole import ENDOFCHAIN, SECTOR, XlsCell, XlsError, compound_file, make_msg, make_xls

ROWS: list[list[XlsCell]] = [
    ["Item", "Price", "Since", "In stock", "Margin"],
    ["Tea", 3, dt.date(2024, 5, 1), True, 0.25],
    ["Crème brûlée", 4.5, dt.datetime(2023, 1, 2, 12, 30), False, XlsError("#DIV/0!")],
    ["東京 bento", None, None, None, None],
]


def _xlsx_cell(value: object) -> object:
    return value.text if isinstance(value, XlsError) else value


def test_the_compound_file_writer_is_valid_for_a_strict_reader() -> None:
    """The fixture writer itself: olefile, told to raise on any defect, reads back every stream."""
    streams = {"Small": b"hello", "Large": bytes(range(256)) * 20, "Folder/Inner": b"x" * 100, "Empty": b""}
    ole = olefile.OleFileIO(io.BytesIO(compound_file(streams)), raise_defects=olefile.DEFECT_INCORRECT)
    try:
        assert {path: ole.openstream(path).read() for path in streams} == streams
    finally:
        ole.close()


def test_xls_sheets_as_header_value_rows() -> None:
    data = make_xls({"Prices": ROWS, "Blank": [], "Notes": [["Only a title"]]})
    result = extract(data, filename="prices.xls")
    assert (result.kind, result.pages) == ("xls", 3)
    assert result.text == (
        "## Prices\n"
        "Item: Tea; Price: 3; Since: 2024-05-01; In stock: True; Margin: 0.25\n"
        "Item: Crème brûlée; Price: 4.5; Since: 2023-01-02T12:30:00; In stock: False; Margin: #DIV/0!\n"
        "Item: 東京 bento\n"
        "\n"
        "## Notes\n"
        "Only a title"
    )


def test_xls_and_xlsx_of_the_same_table_give_the_same_text() -> None:
    xls = extract(make_xls({"Prices": ROWS}))
    xlsx = extract(make_xlsx({"Prices": [[_xlsx_cell(v) for v in row] for row in ROWS]}))
    assert (xls.kind, xlsx.kind) == ("xls", "xlsx")
    assert xls.text == xlsx.text


def test_xls_is_recognised_by_content_not_name() -> None:
    data = make_xls({"S": [["a", "b"], [1, 2]]})
    assert sniff(data, "report.pdf") == "xls"
    assert extract(data, filename="notes.txt").text == "## S\na: 1; b: 2"


def test_a_far_away_cell_does_not_pad_the_sheet() -> None:
    rows: list[list[XlsCell]] = [["Name", "Value"], *([[]] * 2000), [*([None] * 255), "far away"]]
    assert extract(make_xls({"S": rows})).text == "## S\ncolumn 256: far away"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (make_xls({"Secret": [["pin", "1234"]]}, encrypted=True), "password-protected"),
        (compound_file({"Workbook": b"\x09\x08\x10\x00" + b"\xff" * 3000}), "workbook cannot be read"),
        (make_xls({"S": [["a"]]})[:1024], "damaged"),
        (make_xls({"S": [["only empty cells"]]}).replace(b"only empty cells", b"                "), "no text"),
    ],
)
def test_bad_xls_fail_clearly(data: bytes, message: str) -> None:
    with pytest.raises(ExtractionError, match=message):
        extract(data)


def test_xls_text_cap() -> None:
    data = make_xls({"S": [["column"], *[[f"row number {n}"] for n in range(50)]]})
    with pytest.raises(ExtractionError, match="more text than allowed"):
        extract(data, limits=ExtractLimits(max_chars=200))


def test_msg_headers_and_plain_body() -> None:
    data = make_msg(
        subject="Quarterly review",
        sender="Alice Example",
        sender_address="alice@example.com",
        to="Bob Builder; Carol Singer",
        cc="Dan Dare",
        body="Hello Bob,\r\nthe numbers are in the attached sheet.\r\n",
        sent=dt.datetime(2024, 3, 5, 9, 30, tzinfo=dt.UTC),
    )
    result = extract(data, filename="review.msg")
    assert (result.kind, result.pages) == ("msg", 1)
    assert result.text == (
        "From: Alice Example <alice@example.com>\n"
        "To: Bob Builder; Carol Singer\n"
        "Cc: Dan Dare\n"
        "Date: Tue, 05 Mar 2024 09:30:00 +0000\n"
        "Subject: Quarterly review\n"
        "\n"
        "Hello Bob,\r\nthe numbers are in the attached sheet."
    )
    assert sniff(data, "review.pdf") == "msg"


def test_msg_html_body_when_there_is_no_plain_one() -> None:
    html = "<html><body><h1>Numbers</h1><p>Sales grew.</p><table><tr><th>Q</th><th>Sales</th></tr>"
    html += "<tr><td>Q1</td><td>10</td></tr></table></body></html>"
    text = extract(make_msg(subject="Report", sender="Ann", to="Ben", html=html)).text
    assert text == (
        "From: Ann\nTo: Ben\nSubject: Report\n\n# Numbers\n\nSales grew.\n\n| Q | Sales |\n| --- | --- |\n| Q1 | 10 |"
    )


def test_msg_8bit_strings_use_the_messages_code_page() -> None:
    cyrillic = make_msg(
        subject="Отчёт", sender="Иван", to="Ольга", body="Цифры готовы.", encoding="cp1251", codepage=1251
    )
    assert extract(cyrillic).text == "From: Иван\nTo: Ольга\nSubject: Отчёт\n\nЦифры готовы."
    # Without a code page property, 8-bit strings are Windows-1252 (what Outlook writes in the West).
    western = make_msg(subject="Café", sender="José", to="Zoë", body="Crème brûlée at noon.", encoding="cp1252")
    assert extract(western).text == "From: José\nTo: Zoë\nSubject: Café\n\nCrème brûlée at noon."
    html = make_msg(subject="Отчёт", sender="Иван", to="Ольга", html="<p>Привет</p>", encoding="cp1251", codepage=1251)
    assert extract(html).text.endswith("\n\nПривет")


def test_msg_without_body_keeps_its_headers() -> None:
    assert extract(make_msg(subject="Lunch?", sender="Ann", to="Ben")).text == "From: Ann\nTo: Ben\nSubject: Lunch?\n\n"


def test_other_ole_documents_are_refused_by_name() -> None:
    with pytest.raises(ExtractionError, match=r"Legacy Word \(\.doc\)"):
        extract(compound_file({"WordDocument": b"\xec\xa5" + b"\x00" * 600, "1Table": b"\x00" * 100}))
    with pytest.raises(ExtractionError, match="OLE container of an unsupported kind"):
        extract(compound_file({"Contents": b"something"}), filename="drawing.xls")


def test_damaged_ole_files_only_ever_raise_extraction_errors() -> None:
    """Random byte flips in real XLS and MSG files: a readable result or an ExtractionError, nothing else."""
    originals = [
        make_xls({"Prices": ROWS}),
        make_msg(subject="S", sender="A", to="B; C", body="Hello", sent=dt.datetime(2024, 1, 1, tzinfo=dt.UTC)),
    ]
    rng = random.Random(20261123)
    for original in originals:
        for _ in range(250):
            damaged = bytearray(original)
            for _ in range(rng.randint(1, 6)):
                damaged[rng.randrange(8, len(damaged))] = rng.randrange(256)
            with contextlib.suppress(ExtractionError):
                extract(bytes(damaged))


def _cyclic_mini_chain(data: bytes) -> bytes:
    """The same file with the last link of the (only) mini-stream chain pointing back to its start."""
    mini_fat = SECTOR + struct.unpack_from("<I", data, 60)[0] * SECTOR  # header: first mini FAT sector
    links = list(struct.unpack_from("<128I", data, mini_fat))
    links[links.index(ENDOFCHAIN)] = 0
    return data[:mini_fat] + struct.pack("<128I", *links) + data[mini_fat + SECTOR :]


def test_a_cyclic_sector_chain_is_read_within_the_streams_size() -> None:
    """xlrd's own OLE reader follows this cycle forever; the extractor reads the stream with olefile,
    which stops at the stream's size, so the workbook still reads."""
    data = make_xls({"Prices": ROWS})
    cyclic = _cyclic_mini_chain(data)
    assert cyclic != data
    assert extract(cyclic).text == extract(data).text
