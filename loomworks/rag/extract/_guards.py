"""Checks made before a parser sees the bytes: zip bombs and XML entity declarations."""

from __future__ import annotations

import io
import re
import zipfile

from loomworks.core.filetypes import UnsafeArchiveError, ZipLimits, check_zip
from loomworks.rag.extract._base import ExtractionError, ExtractLimits

_XML_MEMBER = re.compile(r"\.(xml|rels|opf|ncx|xhtml|html?|svg)$", re.IGNORECASE)
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)


def open_zip(data: bytes, limits: ExtractLimits) -> zipfile.ZipFile:
    """Open a zip container after checking its directory against the limits (`core.filetypes.check_zip`).

    The declared sizes bound what any later read can produce: `zipfile` never inflates a member
    past its declared size.

    Raises:
        ExtractionError: the file is not a readable zip, or it looks like a zip bomb.
    """
    zip_limits = ZipLimits(
        max_members=limits.max_members, max_total_bytes=limits.max_uncompressed_bytes, max_ratio=limits.max_ratio
    )
    try:
        check_zip(data, zip_limits)
        return zipfile.ZipFile(io.BytesIO(data))
    except UnsafeArchiveError as exc:
        raise ExtractionError(f"The file was refused as a possible zip bomb: {exc.message}") from exc
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ExtractionError("The file is damaged: it is not a readable zip container.") from exc


def refuse_xml_entities(archive: zipfile.ZipFile) -> None:
    """Refuse XML parts that declare entities (billion laughs, external entities).

    Office and EPUB files never need entity declarations, so refusing them costs no real document.
    """
    for member in archive.infolist():
        if _XML_MEMBER.search(member.filename):
            with archive.open(member) as stream:
                head = stream.read(64 * 1024)
            if b"<!DOCTYPE" in head.upper() and _ENTITY.search(head):
                raise ExtractionError(f"The part {member.filename!r} declares XML entities, which are not allowed.")


def refuse_entities_in(text: bytes) -> None:
    """The same check for a single XML or HTML document."""
    if _ENTITY.search(text[: 256 * 1024]):
        raise ExtractionError("The document declares XML entities, which are not allowed.")
