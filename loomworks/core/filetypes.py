"""What a file is by its content, and whether an archive or XML document is safe to open.

An upload's name is a claim; its bytes are the fact. `sniff` reads magic numbers (and, for ZIP
and OLE containers, the names inside) to tell PDF from DOCX from an executable renamed `.pdf`;
`check_upload` refuses executables and content that does not match the extension.
`check_zip` refuses archives that are bombs (too many members, too large once inflated, an
implausible compression ratio) or that would write outside the target (`../`, absolute paths,
symlinks). `safe_xml_parse` parses with entities and external references off (billion laughs,
XXE). Parsers of uploaded documents call these before they open anything.
"""

from __future__ import annotations

import io
import json
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree
import olefile

from loomworks.core.errors import UnsupportedFileTypeError, error_class

UnsafeArchiveError = error_class("unsafe_archive", 400, "The archive is not safe to open.")
UnsafeXmlError = error_class("unsafe_xml", 400, "The XML document is not safe to parse.")
InvalidXmlError = error_class("invalid_xml", 400, "The XML document is not well-formed.")

TEXT_EXTENSIONS = frozenset(
    {"txt", "md", "markdown", "mdx", "csv", "json", "html", "htm", "xml", "vtt", "properties", "eml", "svg", "yaml"}
)
_MIME = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "epub": "application/epub+zip",
    "zip": "application/zip",
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "ppt": "application/vnd.ms-powerpoint",
    "msg": "application/vnd.ms-outlook",
    "ole": "application/x-ole-storage",
    "png": "image/png",
    "jpg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "svg": "image/svg+xml",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "m4a": "audio/mp4",
    "ogg": "audio/ogg",
    "flac": "audio/flac",
    "amr": "audio/amr",
    "webm": "video/webm",
    "mkv": "video/x-matroska",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "avi": "video/x-msvideo",
    "mpeg": "video/mpeg",
    "exe": "application/vnd.microsoft.portable-executable",
    "elf": "application/x-elf",
    "macho": "application/x-mach-binary",
    "txt": "text/plain",
    "md": "text/markdown",
    "csv": "text/csv",
    "json": "application/json",
    "html": "text/html",
    "xml": "application/xml",
    "bin": "application/octet-stream",
}
_KIND = {
    **dict.fromkeys(("png", "jpg", "gif", "webp", "svg"), "image"),
    **dict.fromkeys(("mp3", "wav", "m4a", "ogg", "flac", "amr"), "audio"),
    **dict.fromkeys(("webm", "mkv", "mp4", "mov", "avi", "mpeg"), "video"),
    **dict.fromkeys(("exe", "elf", "macho"), "executable"),
    **dict.fromkeys(("zip",), "archive"),
    **dict.fromkeys(("bin", "ole"), "binary"),
}


@dataclass(frozen=True, slots=True)
class FileType:
    """A file's type as its content shows it.

    extension: our canonical name (`jpg`, not `jpeg`); `bin` when nothing matched.
    kind: document, image, audio, video, text, archive, executable or binary.
    """

    extension: str
    mime_type: str
    kind: str

    @property
    def is_text(self) -> bool:
        return self.kind == "text"


def _type(extension: str, kind: str | None = None) -> FileType:
    return FileType(
        extension, _MIME.get(extension, "application/octet-stream"), kind or _KIND.get(extension, "document")
    )


def _sniff_zip(data: bytes) -> FileType:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "mimetype" in names and archive.getinfo("mimetype").file_size < 100:
                mimetype = archive.read("mimetype").strip()
                if mimetype == b"application/epub+zip":
                    return _type("epub")
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, ValueError):
        return _type("zip")
    for marker, extension in (
        ("word/document.xml", "docx"),
        ("xl/workbook.xml", "xlsx"),
        ("ppt/presentation.xml", "pptx"),
    ):
        if marker in names:
            return _type(extension)
    return _type("zip")


def _sniff_ole(data: bytes) -> FileType:
    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            streams = {"/".join(entry) for entry in ole.listdir(streams=True, storages=True)}
    except (OSError, ValueError, IndexError, TypeError):
        return _type("ole")
    top = {name.split("/", 1)[0] for name in streams}
    if "WordDocument" in top:
        return _type("doc")
    if top & {"Workbook", "Book"}:
        return _type("xls")
    if "PowerPoint Document" in top:
        return _type("ppt")
    if "__properties_version1.0" in top or any(name.startswith("__substg1.0_") for name in top):
        return _type("msg")
    return _type("ole")


def _sniff_media(data: bytes) -> FileType | None:
    head = data[:16]
    if head.startswith(b"RIFF") and len(data) >= 12:
        return {b"WEBP": _type("webp"), b"WAVE": _type("wav"), b"AVI ": _type("avi")}.get(data[8:12])
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in (b"M4A ", b"M4B "):
            return _type("m4a")
        return _type("mov") if brand == b"qt  " else _type("mp4")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return _type("webm") if b"webm" in data[:64] else _type("mkv")
    if head.startswith(b"OggS"):
        return _type("ogg")
    if head.startswith(b"fLaC"):
        return _type("flac")
    if head.startswith(b"#!AMR"):
        return _type("amr")
    # An ID3 tag, or an MPEG audio frame sync with a layer set (but not FF FE: a UTF-16 BOM).
    frame_sync = len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE6 in (0xE2, 0xE4, 0xE6) and head[1] != 0xFE
    if head.startswith(b"ID3") or frame_sync:
        return _type("mp3")
    if head.startswith((b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3")):
        return _type("mpeg")
    return None


def _decode(data: bytes) -> str | None:
    """The text of `data` (its first 64 KiB), or None when it is not text."""
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            try:
                return data[:65536].decode(codec, errors="ignore" if len(data) > 65536 else "strict")
            except UnicodeDecodeError:
                return None
    window = data[:65536]
    if b"\x00" in window:
        return None
    try:
        return window.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A character cut in two by the window's end does not make the file binary.
        if len(data) > len(window) and exc.start >= len(window) - 3:
            return window[: exc.start].decode("utf-8")
    # Legacy 8-bit encodings (GBK, Latin-1, …) carry no control bytes; binary formats carry many.
    controls = sum(1 for byte in window if byte < 0x20 and byte not in (9, 10, 12, 13) or byte == 0x7F)
    return window.decode("latin-1") if controls <= len(window) // 200 else None


def _sniff_text(text: str, hint: str) -> FileType:
    stripped = text.lstrip()[:1024].lower()
    if stripped.startswith(("{", "[")) and hint in ("", "json", "txt"):
        try:
            json.loads(text)
            return _type("json", "text")
        except ValueError:
            pass
    if stripped.startswith(("<!doctype html", "<html")) or (stripped.startswith("<") and "<body" in stripped):
        return _type("html", "text")
    if stripped.startswith("<?xml") or stripped.startswith("<svg"):
        return _type("svg", "image") if "<svg" in stripped else _type("xml", "text")
    # CSV, Markdown and plain text look alike: the name decides among them.
    if hint in TEXT_EXTENSIONS - {"json", "html", "htm", "xml", "svg"}:
        return FileType(hint, _MIME.get(hint, "text/plain"), "text")
    return _type("txt", "text")


def sniff(data: bytes, filename: str | None = None) -> FileType:
    """The type of `data` by its content; `filename` only breaks ties among text formats."""
    hint = extension_of(filename or "")
    # Executables first, so that a polyglot starting with `MZ` is never anything else.
    if data.startswith(b"MZ"):
        return _type("exe")
    if data.startswith(b"\x7fELF"):
        return _type("elf")
    if data.startswith((b"\xfe\xed\xfa\xce", b"\xce\xfa\xed\xfe", b"\xfe\xed\xfa\xcf", b"\xcf\xfa\xed\xfe")):
        return _type("macho")
    if data.startswith(b"%PDF-"):
        return _type("pdf")
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _sniff_zip(data)
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return _sniff_ole(data)
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return _type("png")
    if data.startswith(b"\xff\xd8\xff"):
        return _type("jpg")
    if data.startswith((b"GIF87a", b"GIF89a")):
        return _type("gif")
    media = _sniff_media(data)
    if media is not None:
        return media
    text = _decode(data)
    if text is not None:
        return _sniff_text(text, hint)
    return _type("bin")


def extension_of(filename: str) -> str:
    """The lower-case extension of the last path segment of `filename` (either slash)."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[-1].lower() if "." in base else ""


# Extensions a name may claim → what the content may be. A claim not listed is only checked
# for being an executable.
_SAME = {"jpeg": "jpg", "htm": "html", "markdown": "md", "mpga": "mp3"}
_COMPATIBLE: dict[str, frozenset[str]] = {
    "m4a": frozenset({"m4a", "mp4"}),
    "mp4": frozenset({"mp4", "m4a", "mov"}),
    "mov": frozenset({"mov", "mp4"}),
    "webm": frozenset({"webm", "mkv"}),
    "mpeg": frozenset({"mpeg", "mp3"}),
    "mp3": frozenset({"mp3"}),
}
_BINARY_CLAIMS = frozenset(
    {"pdf", "docx", "xlsx", "pptx", "epub", "doc", "xls", "ppt", "msg", "png", "jpg", "gif", "webp"}
    | {"wav", "ogg", "flac", "amr", "avi", "zip"}
    | set(_COMPATIBLE)
)


def content_matches(extension: str, detected: FileType) -> bool:
    """Whether content of type `detected` may carry the name extension `extension`."""
    claim = _SAME.get(extension, extension)
    if detected.kind == "executable":
        return False
    if claim in _BINARY_CLAIMS:
        return detected.extension in _COMPATIBLE.get(claim, frozenset({claim}))
    if claim == "svg":
        return detected.extension == "svg"
    if extension in TEXT_EXTENSIONS:
        return detected.is_text
    return True


def check_upload(filename: str, data: bytes) -> FileType:
    """Refuse executables and content that contradicts the name (an `.exe` renamed `.pdf`).

    Returns the detected type. Raises `UnsupportedFileTypeError` (415, Dify's code).
    """
    detected = sniff(data, filename)
    if detected.kind == "executable":
        raise UnsupportedFileTypeError("Executable files are not allowed.")
    extension = extension_of(filename)
    if not content_matches(extension, detected):
        raise UnsupportedFileTypeError(
            f"The content of the file is {detected.extension}, not a valid {extension or 'untyped'} file."
        )
    return detected


# --- archives -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ZipLimits:
    """What an archive may hold; the defaults fit office documents and e-books."""

    max_members: int = 10_000
    max_total_bytes: int = 512 * 1024 * 1024
    max_member_bytes: int = 256 * 1024 * 1024
    max_ratio: float = 200.0
    # Below this size a member's ratio is not judged: tiny repetitive files compress very well.
    ratio_floor_bytes: int = 1024 * 1024


def _unsafe_name(name: str) -> str | None:
    if "\x00" in name:
        return "a member name holds a NUL byte"
    normal = name.replace("\\", "/")
    if normal.startswith("/") or (len(normal) > 1 and normal[1] == ":"):
        return f"member {name!r} has an absolute path"
    if ".." in normal.split("/"):
        return f"member {name!r} points outside the archive"
    return None


def check_zip(source: bytes | str | Path | IO[bytes], limits: ZipLimits | None = None) -> list[zipfile.ZipInfo]:
    """Refuse a zip bomb or an archive that would write outside its target; returns the members.

    The limits apply to the sizes the archive declares, which are what Python's `zipfile` will
    inflate at most (it stops a member at its declared size), so a reader using `zipfile` after
    this check cannot be made to inflate more. Raises `UnsafeArchiveError`.
    """
    limits = limits or ZipLimits()
    opened: IO[bytes] | str | Path = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with zipfile.ZipFile(opened) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise UnsafeArchiveError(f"The archive cannot be read: {exc}") from exc
    if len(members) > limits.max_members:
        raise UnsafeArchiveError(f"The archive has more than {limits.max_members} members.")
    total = 0
    for info in members:
        problem = _unsafe_name(info.filename)
        if problem:
            raise UnsafeArchiveError(f"The archive is not safe to open: {problem}.")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise UnsafeArchiveError(f"The archive is not safe to open: member {info.filename!r} is a symbolic link.")
        if info.file_size > limits.max_member_bytes:
            raise UnsafeArchiveError(f"Member {info.filename!r} is larger than {limits.max_member_bytes} bytes.")
        total += info.file_size
        if total > limits.max_total_bytes:
            raise UnsafeArchiveError(f"The archive inflates to more than {limits.max_total_bytes} bytes.")
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size >= limits.ratio_floor_bytes and ratio > limits.max_ratio:
            raise UnsafeArchiveError(
                f"Member {info.filename!r} is compressed {ratio:.0f}:1, more than {limits.max_ratio:.0f}:1."
            )
    return members


# --- XML ----------------------------------------------------------------------------------------


def safe_xml_parse(document: bytes | str, *, forbid_dtd: bool = False) -> Element:
    """Parse XML with entity declarations and external references refused (billion laughs, XXE).

    Raises `UnsafeXmlError` for a forbidden construct and `InvalidXmlError` for malformed XML.
    """
    try:
        return defusedxml.ElementTree.fromstring(
            document, forbid_dtd=forbid_dtd, forbid_entities=True, forbid_external=True
        )
    except defusedxml.DefusedXmlException as exc:
        raise UnsafeXmlError(f"The XML document is not safe to parse: {exc}") from exc
    except ParseError as exc:
        raise InvalidXmlError(f"The XML document is not well-formed: {exc}") from exc
