"""E-mail: RFC 822 messages (EML, stdlib `email`) and Outlook messages (MSG, OLE streams via olefile)."""

from __future__ import annotations

import email
import email.policy
import io
from typing import Any

from loomworks.rag.extract._base import ExtractionError
from loomworks.rag.extract.markup import html_to_text


def _headers(pairs: list[tuple[str, str]]) -> list[str]:
    return [f"{name}: {value}" for name, value in pairs if value]


def extract_eml(data: bytes) -> str:
    """Headers (From, To, Cc, Date, Subject), then the plain-text body (or the HTML body as text)."""
    message: Any = email.message_from_bytes(data, policy=email.policy.default)
    lines = _headers([(h, str(message.get(h, "") or "")) for h in ("From", "To", "Cc", "Date", "Subject")])
    body = message.get_body(preferencelist=("plain", "html"))
    text = ""
    if body is not None:
        try:
            content = body.get_content()
        except (LookupError, ValueError) as exc:
            raise ExtractionError(f"The e-mail body cannot be decoded ({exc}).") from exc
        text = html_to_text(content) if body.get_content_subtype() == "html" else str(content)
    return "\n".join(lines) + "\n\n" + text.strip()


def _stream(ole: Any, code: str) -> str:
    """A property stream of a MSG file: `001F` is UTF-16 text, `001E` 8-bit text."""
    for suffix, encoding in (("001F", "utf-16-le"), ("001E", "cp1252")):
        name = f"__substg1.0_{code}{suffix}"
        if ole.exists(name):
            return ole.openstream(name).read().decode(encoding, errors="replace").rstrip("\x00")
    return ""


def extract_msg(data: bytes) -> str:
    """Sender, recipients, subject and body of an Outlook message.

    Raises:
        ExtractionError: the OLE container cannot be read.
    """
    import olefile

    try:
        ole = olefile.OleFileIO(io.BytesIO(data))
    except OSError as exc:
        raise ExtractionError("The Outlook message cannot be read.") from exc
    try:
        lines = _headers(
            [
                ("From", _stream(ole, "0C1A")),
                ("To", _stream(ole, "0E04")),
                ("Cc", _stream(ole, "0E03")),
                ("Subject", _stream(ole, "0037")),
            ]
        )
        body = _stream(ole, "1000")
        if not body and ole.exists("__substg1.0_10130102"):
            body = html_to_text(ole.openstream("__substg1.0_10130102").read())
    finally:
        ole.close()
    return "\n".join(lines) + "\n\n" + body.strip()
