"""The format of a file from its bytes; the name only picks among plain-text formats."""

from __future__ import annotations

import io
import struct
import zipfile

from loomworks.rag.extract._base import ExtractionError

_EXECUTABLES = (b"MZ", b"\x7fELF", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"\xfe\xed\xfa\xce")
_BINARY_REFUSED = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"Rar!": "a RAR archive",
    b"\x1f\x8b": "a gzip archive",
    b"7z\xbc\xaf": "a 7-Zip archive",
}
_TEXT_BY_EXTENSION = {
    "md": "markdown",
    "markdown": "markdown",
    "mdx": "markdown",
    "csv": "csv",
    "json": "json",
    "html": "html",
    "htm": "html",
    "eml": "eml",
}


def _zip_kind(data: bytes) -> str:
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ExtractionError("The file is damaged: it is not a readable zip container.") from exc
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "ppt/presentation.xml" in names:
        return "pptx"
    if "META-INF/container.xml" in names or "mimetype" in names:
        return "epub"
    raise ExtractionError("The file is a zip archive but not a DOCX, XLSX, PPTX or EPUB document.")


def _ole_kind(data: bytes) -> str:
    import olefile

    # olefile trusts the header's sector sizes (a damaged shift makes it compute 2**65535 and fail
    # on logging it): only the two sizes [MS-CFB] allows get that far.
    major, shift, mini_shift = struct.unpack_from("<H2xHH", data, 26) if len(data) >= 512 else (0, 0, 0)
    if (major, shift) not in ((3, 9), (4, 12)) or mini_shift != 6:
        raise ExtractionError("The file is damaged: it is not a readable OLE document.")
    try:
        ole = olefile.OleFileIO(io.BytesIO(data))
        try:
            streams = {"/".join(entry) for entry in ole.listdir()}
        finally:
            ole.close()
    except Exception as exc:  # noqa: BLE001 - olefile raises OSError and parsing errors on damaged files
        raise ExtractionError("The file is damaged: it is not a readable OLE document.") from exc
    if "Workbook" in streams or "Book" in streams:
        return "xls"
    if any(s.startswith("__substg1.0_") for s in streams):
        return "msg"
    if "WordDocument" in streams:
        raise ExtractionError("Legacy Word (.doc) files are not supported; save the document as DOCX.")
    if "PowerPoint Document" in streams:
        raise ExtractionError("Legacy PowerPoint (.ppt) files are not supported; save the slides as PPTX.")
    raise ExtractionError("The file is an OLE container of an unsupported kind.")


def _looks_textual(data: bytes) -> bool:
    sample = data[:8192]
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True  # UTF-16 with a byte order mark
    if b"\x00" in sample:
        return False
    control = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13, 27))
    return control <= len(sample) // 100


_MAIL_HEADERS = (b"from", b"to", b"subject", b"date", b"mime-version", b"message-id", b"received", b"return-path")


def _looks_like_mail(data: bytes) -> bool:
    header_block = data[:8192].replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    names = {line.split(b":", 1)[0].strip().lower() for line in header_block.split(b"\n") if b":" in line}
    return len(names & set(_MAIL_HEADERS)) >= 3


def _text_kind(data: bytes, extension: str) -> str:
    head = data[:2048].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<body" in head:
        return "html"
    if _looks_like_mail(data):
        return "eml"
    hinted = _TEXT_BY_EXTENSION.get(extension)
    if hinted:
        return hinted
    if head.startswith((b"{", b"[")):
        return "json"
    return "txt"


def sniff(data: bytes, filename: str | None = None) -> str:
    """Name the format of `data`, judged by its content.

    Binary formats are recognised by their signatures and container structure only, so an
    executable renamed `report.pdf` is refused. Among text formats, which content alone cannot tell
    apart reliably (CSV or Markdown or plain text), the extension of `filename` decides.

    Raises:
        ExtractionError: the content is of a kind we do not read.
    """
    extension = filename.rsplit(".", 1)[-1].lower() if filename and "." in filename else ""
    if data.startswith(_EXECUTABLES):
        raise ExtractionError("The file is an executable program, not a document.")
    if data.lstrip()[:1024].find(b"%PDF-") == 0 or data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        return _zip_kind(data)
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return _ole_kind(data)
    for signature, what in _BINARY_REFUSED.items():
        if data.startswith(signature):
            raise ExtractionError(f"The file is {what}, not a document.")
    if not _looks_textual(data):
        raise ExtractionError("The file is binary data of an unknown kind, not a document.")
    return _text_kind(data, extension)
