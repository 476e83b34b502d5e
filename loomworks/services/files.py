"""Uploaded files: limits by kind, type checks, storage under keys we choose."""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from loomworks.core.errors import FilenameNotExistsError, FileTooLargeError, NotFoundError, UnsupportedFileTypeError
from loomworks.core.filetypes import check_upload, check_zip
from loomworks.core.ids import new_id
from loomworks.store.storage import Storage
from loomworks.store.tables import UploadFile

IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "webp", "gif", "svg"})
DOCUMENT_EXTENSIONS = frozenset(
    {
        "txt",
        "markdown",
        "md",
        "mdx",
        "pdf",
        "html",
        "htm",
        "xlsx",
        "xls",
        "docx",
        "csv",
        "eml",
        "msg",
        "pptx",
        "ppt",
        "xml",
        "epub",
        "json",
        "vtt",
        "properties",
    }
)
AUDIO_EXTENSIONS = frozenset({"mp3", "m4a", "wav", "webm", "amr", "mpga", "ogg", "flac"})
VIDEO_EXTENSIONS = frozenset({"mp4", "mov", "mpeg", "avi"})

# Leading bytes of the binary formats we accept; a file whose name claims one of these kinds but
# whose content does not match is refused (an .exe renamed .png, say).
_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "gif": (b"GIF87a", b"GIF89a"),
    "webp": (b"RIFF",),
    "pdf": (b"%PDF-",),
    "docx": (b"PK\x03\x04",),
    "xlsx": (b"PK\x03\x04",),
    "pptx": (b"PK\x03\x04",),
    "epub": (b"PK\x03\x04",),
    "xls": (b"\xd0\xcf\x11\xe0",),
    "ppt": (b"\xd0\xcf\x11\xe0",),
    "msg": (b"\xd0\xcf\x11\xe0",),
}
_EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"#!")


@dataclass(frozen=True, slots=True)
class SizeLimits:
    """Largest upload per kind, in MB."""

    document_mb: int = 15
    image_mb: int = 10
    audio_mb: int = 50
    video_mb: int = 100

    @property
    def largest_bytes(self) -> int:
        return max(self.document_mb, self.image_mb, self.audio_mb, self.video_mb) * 1024 * 1024


def kind_of(extension: str) -> str | None:
    if extension in IMAGE_EXTENSIONS:
        return "image"
    if extension in DOCUMENT_EXTENSIONS:
        return "document"
    if extension in AUDIO_EXTENSIONS:
        return "audio"
    if extension in VIDEO_EXTENSIONS:
        return "video"
    return None


def _extension(filename: str) -> str:
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[-1].lower() if "." in base else ""


def _check_content(extension: str, data: bytes) -> None:
    if data.startswith(_EXECUTABLE_MAGIC) and extension not in ("txt", "md", "markdown", "csv", "json"):
        raise UnsupportedFileTypeError()
    signatures = _SIGNATURES.get(extension)
    if signatures and not data.startswith(signatures):
        raise UnsupportedFileTypeError(f"The content of the file is not a valid {extension} file.")
    if extension == "webp" and data[8:12] != b"WEBP":
        raise UnsupportedFileTypeError("The content of the file is not a valid webp file.")
    if data.startswith((b"MZ", b"\x7fELF")):
        raise UnsupportedFileTypeError()
    if extension in ("docx", "xlsx", "pptx", "epub"):
        # The parsers inflate these: refuse zip bombs and traversal names before anything opens them.
        check_zip(data)
    # The whole content check: executables, and content that contradicts the name (an xlsx named
    # .docx, a PDF named .png) are refused, whatever the quick signature checks above let through.
    check_upload(f"file.{extension}", data)


def save_upload(
    session: Session,
    storage: Storage,
    *,
    tenant_id: str,
    filename: str | None,
    data: bytes,
    created_by_role: str,
    created_by: str,
    limits: SizeLimits,
    allowed_kinds: frozenset[str] = frozenset({"image", "document", "audio", "video"}),
) -> UploadFile:
    """Check and store one uploaded file; the row and the bytes land together or not at all."""
    if not filename:
        raise FilenameNotExistsError()
    safe_name = filename.replace("\\", "/").rsplit("/", 1)[-1].replace("\x00", "")[:200] or "file"
    extension = _extension(safe_name)
    kind = kind_of(extension)
    if kind is None or kind not in allowed_kinds:
        raise UnsupportedFileTypeError()
    limit_mb = {"image": limits.image_mb, "audio": limits.audio_mb, "video": limits.video_mb}.get(
        kind, limits.document_mb
    )
    if len(data) > limit_mb * 1024 * 1024:
        raise FileTooLargeError(f"File size exceeded. {len(data) / 1024 / 1024:.2f} > {limit_mb} MB")
    _check_content(extension, data)
    file_id = new_id()
    key = f"upload_files/{tenant_id}/{file_id}.{extension}"
    record = UploadFile(
        id=file_id,
        tenant_id=tenant_id,
        key=key,
        name=safe_name,
        size=len(data),
        extension=extension,
        mime_type=mimetypes.guess_type(f"x.{extension}")[0] or "application/octet-stream",
        sha256=hashlib.sha256(data).hexdigest(),
        created_by_role=created_by_role,
        created_by=created_by,
    )
    session.add(record)
    session.flush()
    storage.save(key, data)
    return record


def get(session: Session, *, tenant_id: str, file_id: str) -> UploadFile:
    record = session.scalar(select(UploadFile).where(UploadFile.id == file_id, UploadFile.tenant_id == tenant_id))
    if record is None:
        raise NotFoundError("File not found.")
    return record
