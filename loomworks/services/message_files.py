"""Files sent with a chat turn: checked against the app's upload settings, turned into model inputs.

Local files are read from storage and passed to vision models as data URLs; remote URLs are
passed through as they are (the model vendor fetches them, never this server). Preview links to
stored files are signed and expire.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loomworks.core.errors import InvalidParamError, NotFoundError
from loomworks.store.storage import Storage
from loomworks.store.tables import UploadFile

PREVIEW_SECONDS = 300
_IMAGE_MIME = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}


@dataclass(frozen=True, slots=True)
class TurnFile:
    type: str
    transfer_method: str
    url: str | None
    upload_file_id: str | None


def image_settings(config: dict[str, Any]) -> dict[str, Any]:
    """The image-upload settings of a `model_config` or workflow `features` (both Dify layouts)."""
    upload = config.get("file_upload") or {}
    image = upload.get("image") or {}
    if image:
        return image
    if upload.get("enabled") and "image" in (upload.get("allowed_file_types") or []):
        return {
            "enabled": True,
            "number_limits": upload.get("number_limits", 3),
            "transfer_methods": upload.get("allowed_file_upload_methods") or ["local_file", "remote_url"],
            "detail": "high",
        }
    return {}


def parse(files: list[dict[str, Any]], config: dict[str, Any]) -> list[TurnFile]:
    """Check the `files` of a request; when the app does not accept images they are ignored, as in Dify."""
    settings = image_settings(config)
    if not files or not settings.get("enabled"):
        return []
    limit = int(settings.get("number_limits") or 3)
    if len(files) > limit:
        raise InvalidParamError(f"Too many files: at most {limit}.", params="files")
    methods = settings.get("transfer_methods") or ["local_file", "remote_url"]
    parsed: list[TurnFile] = []
    for item in files:
        if not isinstance(item, dict) or item.get("type", "image") != "image":
            raise InvalidParamError("Only image files are accepted by this app.", params="files")
        method = item.get("transfer_method")
        if method not in methods:
            raise InvalidParamError(f"transfer_method must be one of {', '.join(methods)}.", params="files")
        if method == "remote_url":
            url = item.get("url")
            if not isinstance(url, str) or not url.startswith(("https://", "http://")):
                raise InvalidParamError("A remote_url file needs an http(s) url.", params="files")
            parsed.append(TurnFile("image", method, url, None))
        else:
            file_id = item.get("upload_file_id")
            if not isinstance(file_id, str) or not file_id:
                raise InvalidParamError("A local_file file needs its upload_file_id.", params="files")
            parsed.append(TurnFile("image", method, None, file_id))
    return parsed


def load_uploads(session: Session, *, tenant_id: str, files: list[TurnFile]) -> dict[str, UploadFile]:
    ids = [f.upload_file_id for f in files if f.upload_file_id]
    if not ids:
        return {}
    rows = {
        row.id: row
        for row in session.scalars(select(UploadFile).where(UploadFile.id.in_(ids), UploadFile.tenant_id == tenant_id))
    }
    for file_id in ids:
        row = rows.get(file_id)
        if row is None:
            raise NotFoundError("File not found.")
        if row.extension not in _IMAGE_MIME:
            raise InvalidParamError("The uploaded file is not an image.", params="files")
    return rows


def image_parts(
    files: list[TurnFile], uploads: dict[str, UploadFile], storage: Storage, *, detail: str = "high"
) -> list[dict[str, Any]]:
    """OpenAI-style `image_url` content parts for the model."""
    parts: list[dict[str, Any]] = []
    for item in files:
        if item.url:
            url = item.url
        else:
            row = uploads[item.upload_file_id or ""]
            data = base64.b64encode(storage.load(row.key)).decode()
            url = f"data:{_IMAGE_MIME[row.extension]};base64,{data}"
        parts.append({"type": "image_url", "image_url": {"url": url, "detail": detail}})
    return parts


def sign(secret: str, file_id: str, *, now: float | None = None) -> str:
    """A query string that lets a browser fetch the file for a few minutes."""
    timestamp = str(int(now if now is not None else time.time()))
    digest = hmac.new(secret.encode(), f"file-preview|{file_id}|{timestamp}".encode(), hashlib.sha256).hexdigest()
    return f"timestamp={timestamp}&sign={digest}"


def verify(secret: str, file_id: str, timestamp: str, signature: str) -> bool:
    if not timestamp.isdigit() or time.time() - int(timestamp) > PREVIEW_SECONDS:
        return False
    expected = hmac.new(secret.encode(), f"file-preview|{file_id}|{timestamp}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)
