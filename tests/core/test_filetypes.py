"""File type by content, archive and XML safety, on files built here (real formats, real bombs)."""

from __future__ import annotations

import io
import json
import stat
import struct
import wave
import zipfile
import zlib
from pathlib import Path

import docx
import openpyxl
import pptx
import pytest

from loomworks.core.errors import UnsupportedFileTypeError
from loomworks.core.filetypes import (
    InvalidXmlError,
    UnsafeArchiveError,
    UnsafeXmlError,
    ZipLimits,
    check_upload,
    check_zip,
    content_matches,
    safe_xml_parse,
    sniff,
)

# --- builders -----------------------------------------------------------------------------------


def make_docx() -> bytes:
    document = docx.Document()
    document.add_paragraph("Hello")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def make_xlsx() -> bytes:
    book = openpyxl.Workbook()
    book.active["A1"] = "Hello"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def make_pptx() -> bytes:
    out = io.BytesIO()
    pptx.Presentation().save(out)
    return out.getvalue()


def make_epub() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")
        archive.writestr("META-INF/container.xml", "<container/>")
        archive.writestr("OEBPS/content.opf", "<package/>")
    return out.getvalue()


def make_zip(members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return out.getvalue()


def make_ole(stream_name: str) -> bytes:
    """A minimal compound file (CFB v3, 512-byte sectors) holding one 4 KiB stream."""
    end, free, fat_sector, no_stream = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(16)
    header += struct.pack("<HHHHH6sIIIIIIIII", 0x3E, 3, 0xFFFE, 9, 6, bytes(6), 0, 1, 1, 0, 4096, end, 0, end, 0)
    header += struct.pack("<109I", 0, *([free] * 108))
    # Sector 0: the FAT; sector 1: the directory; sectors 2-9: the stream.
    fat = [fat_sector, end, *range(3, 10), end]
    fat_bytes = struct.pack("<128I", *(fat + [free] * (128 - len(fat))))

    def entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
        encoded = name.encode("utf-16-le") + b"\0\0" if name else b""
        return (
            encoded.ljust(64, b"\0")
            + struct.pack("<HBBIII", len(encoded), kind, 1, no_stream, no_stream, child)
            + bytes(16 + 4 + 16)
            + struct.pack("<IQ", start, size)
        )

    directory = entry("Root Entry", 5, 1, end, 0) + entry(stream_name, 2, no_stream, 2, 4096)
    directory += entry("", 0, no_stream, 0, 0) * 2
    return header + fat_bytes + directory + b"\x01" * 4096


def make_png() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0\0\0\0")) + chunk(b"IEND", b"")
    )


def make_wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(8000)
        audio.writeframes(b"\0\0" * 800)
    return out.getvalue()


PE = b"MZ\x90\x00\x03" + bytes(55) + struct.pack("<I", 64) + b"PE\0\0\x4c\x01" + bytes(200)
ELF = b"\x7fELF\x02\x01\x01" + bytes(57)
SAMPLES: dict[str, bytes] = {
    "pdf": b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
    "png": make_png(),
    "jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00" + bytes(32),
    "gif": b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + bytes(16),
    "webp": b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(24),
    "mp3": b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" + bytes(64),
    "wav": make_wav(),
    "m4a": b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42isom" + bytes(16),
    "mp4": b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2mp41" + bytes(16),
    "ogg": b"OggS\x00\x02" + bytes(22) + b"\x01vorbis",
    "webm": b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm\x42\x87\x81\x04" + bytes(8),
    "docx": make_docx(),
    "xlsx": make_xlsx(),
    "pptx": make_pptx(),
    "epub": make_epub(),
    "doc": make_ole("WordDocument"),
    "xls": make_ole("Workbook"),
    "ppt": make_ole("PowerPoint Document"),
    "msg": make_ole("__properties_version1.0"),
    "exe": PE,
    "elf": ELF,
}


# --- sniffing -----------------------------------------------------------------------------------


@pytest.mark.parametrize("expected", sorted(SAMPLES))
def test_binary_formats_are_told_by_content(expected: str) -> None:
    # The name says nothing true here: the content alone decides.
    detected = sniff(SAMPLES[expected], "upload.bin")
    assert detected.extension == expected


def test_zip_based_formats_are_told_apart_by_their_members() -> None:
    assert sniff(make_zip({"a.txt": b"x"})).extension == "zip"
    assert sniff(make_zip({"word/document.xml": b"<w/>"})).extension == "docx"
    assert sniff(b"PK\x03\x04 broken").extension == "zip"
    assert sniff(make_ole("SomethingElse")).extension == "ole"
    assert sniff(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 truncated").extension == "ole"


@pytest.mark.parametrize(
    ("data", "filename", "expected"),
    [
        (json.dumps({"a": [1, "é"]}).encode(), "x.json", "json"),
        (b'[{"a": 1}]', "x.txt", "json"),
        (b"<!DOCTYPE html><html><body>hi</body></html>", "x.html", "html"),
        (b"<?xml version='1.0'?><root/>", "x.xml", "xml"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "x.svg", "svg"),
        (b"name,age\nann,3\n", "x.csv", "csv"),
        (b"# Title\n\nSome *text*.\n", "x.md", "md"),
        ("plain text, 中文 too".encode(), "x.txt", "txt"),
        ("plain text".encode("utf-16"), "notes", "txt"),
        (b"#!/bin/sh\necho hi\n", "x.txt", "txt"),
        ("é".encode() * 40000, "x.txt", "txt"),  # a character cut at the sniffing window
        ("名字,年龄\n张三,3\n".encode("gbk"), "x.csv", "csv"),  # a legacy encoding is still text
        ("café crème\n".encode("latin-1"), "x.txt", "txt"),
    ],
)
def test_text_formats_are_told_by_decoding(data: bytes, filename: str, expected: str) -> None:
    detected = sniff(data, filename)
    assert (detected.extension, detected.is_text or detected.extension == "svg") == (expected, True)


def test_binary_junk_is_not_text() -> None:
    assert sniff(bytes(range(256)) * 4).extension == "bin"
    assert sniff(b"abc\x00def").extension == "bin"


# --- name against content -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("report.pdf", PE),
        ("photo.png", PE),
        ("notes.txt", PE),
        ("tool.docx", ELF),
        ("invoice.pdf", SAMPLES["docx"]),
        ("sheet.xlsx", SAMPLES["docx"]),
        ("fake.docx", make_zip({"a.txt": b"x"})),
        ("image.jpg", SAMPLES["png"]),
        ("song.mp3", SAMPLES["wav"]),
        ("page.html", SAMPLES["pdf"]),
        ("data.csv", bytes(range(256))),
        ("legacy.xls", SAMPLES["doc"]),
        ("mail.msg", SAMPLES["pdf"]),
        ("drawing.svg", b"<html><body>not svg</body></html>"),
        ("anything", PE),
    ],
)
def test_a_mismatched_or_executable_upload_is_refused(filename: str, data: bytes) -> None:
    with pytest.raises(UnsupportedFileTypeError):
        check_upload(filename, data)


@pytest.mark.parametrize(
    ("filename", "sample"),
    [
        ("Report.PDF", "pdf"),
        ("a.jpeg", "jpg"),
        ("a.docx", "docx"),
        ("a.xlsx", "xlsx"),
        ("a.pptx", "pptx"),
        ("a.epub", "epub"),
        ("a.xls", "xls"),
        ("a.doc", "doc"),
        ("a.ppt", "ppt"),
        ("a.msg", "msg"),
        ("a.m4a", "m4a"),
        ("a.mp4", "m4a"),
        ("a.webm", "webm"),
        ("a.ogg", "ogg"),
        ("a.wav", "wav"),
        ("a.mp3", "mp3"),
        ("a.webp", "webp"),
        ("a.gif", "gif"),
    ],
)
def test_a_matching_upload_is_accepted(filename: str, sample: str) -> None:
    assert check_upload(filename, SAMPLES[sample]).extension == sample


def test_text_claims_take_any_text() -> None:
    assert check_upload("data.json", b"not json but text").extension == "txt"
    assert check_upload("a.markdown", b"# hi").is_text
    assert content_matches("unknownext", sniff(b"\x00\x01"))
    assert not content_matches("unknownext", sniff(PE))


# --- archives -----------------------------------------------------------------------------------


def test_real_office_files_pass_the_archive_check(tmp_path: Path) -> None:
    for name in ("docx", "xlsx", "pptx", "epub"):
        assert check_zip(SAMPLES[name])
    path = tmp_path / "a.docx"
    path.write_bytes(SAMPLES["docx"])
    assert check_zip(path)
    with path.open("rb") as handle:
        assert check_zip(handle)


def test_a_zip_bomb_is_refused_by_ratio_and_by_total() -> None:
    bomb = make_zip({"zeros.bin": b"\0" * (16 * 1024 * 1024)})
    assert len(bomb) < 100_000  # it really is a bomb: 16 MiB from a few KiB
    with pytest.raises(UnsafeArchiveError, match="compressed"):
        check_zip(bomb)
    with pytest.raises(UnsafeArchiveError, match="inflates"):
        check_zip(bomb, ZipLimits(max_total_bytes=8 * 1024 * 1024, max_ratio=10_000))
    with pytest.raises(UnsafeArchiveError, match="larger"):
        check_zip(bomb, ZipLimits(max_member_bytes=1024 * 1024, max_ratio=10_000))
    # Many small members that add up are refused by the total too.
    spread = make_zip({f"part{i}.bin": b"\0" * (512 * 1024) for i in range(20)})
    with pytest.raises(UnsafeArchiveError, match="inflates"):
        check_zip(spread, ZipLimits(max_total_bytes=5 * 1024 * 1024))
    # Stored (uncompressed) data of the same size is fine: the ratio is what gives a bomb away.
    check_zip(make_zip({"zeros.bin": b"\0" * (2 * 1024 * 1024)}, compression=zipfile.ZIP_STORED))


def test_too_many_members_are_refused() -> None:
    archive = make_zip({f"f{i}.txt": b"" for i in range(101)})
    with pytest.raises(UnsafeArchiveError, match="members"):
        check_zip(archive, ZipLimits(max_members=100))
    check_zip(archive, ZipLimits(max_members=101))


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "/etc/passwd", "..\\..\\windows\\x.dll", "C:\\x.txt", "a/../../b", "ok/..\\.."]
)
def test_archive_path_traversal_is_refused(name: str) -> None:
    with pytest.raises(UnsafeArchiveError, match="outside|absolute"):
        check_zip(make_zip({"fine.txt": b"x", name: b"owned"}))


def test_symlinks_and_garbage_are_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        link = zipfile.ZipInfo("link")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(UnsafeArchiveError, match="symbolic link"):
        check_zip(out.getvalue())
    with pytest.raises(UnsafeArchiveError, match="cannot be read"):
        check_zip(b"PK\x03\x04 not really")


# --- XML ----------------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<r>&secret;</r>"""


def test_billion_laughs_and_xxe_are_refused() -> None:
    with pytest.raises(UnsafeXmlError):
        safe_xml_parse(BILLION_LAUGHS)
    with pytest.raises(UnsafeXmlError):
        safe_xml_parse(XXE)
    with pytest.raises(UnsafeXmlError):
        safe_xml_parse("<!DOCTYPE r><r/>", forbid_dtd=True)


def test_plain_xml_parses_and_broken_xml_is_an_error() -> None:
    root = safe_xml_parse("<?xml version='1.0'?><r a='1'><c>text</c></r>")
    assert (root.tag, root.get("a"), root.findtext("c")) == ("r", "1", "text")
    assert safe_xml_parse("<!DOCTYPE r><r/>").tag == "r"
    with pytest.raises(InvalidXmlError):
        safe_xml_parse("<r><unclosed></r>")
