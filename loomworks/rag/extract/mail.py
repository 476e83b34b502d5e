"""E-mail: RFC 822 messages (EML, stdlib `email`) and Outlook messages (MSG, OLE streams via olefile)."""

from __future__ import annotations

import codecs
import datetime as dt
import email
import email.policy
import email.utils
import io
import struct
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


# [MS-OXMSG]: property ids of the message, and the fixed-size rows of `__properties_version1.0`.
_SUBJECT, _SENDER, _SENDER_SMTP, _SENDER_ADDRESS, _REPRESENTING = 0x0037, 0x0C1A, 0x5D01, 0x0C1F, 0x0042
_TO, _CC, _BODY, _HTML = 0x0E04, 0x0E03, 0x1000, 0x1013
_SUBMIT_TIME, _DELIVERY_TIME = 0x0039, 0x0E06
_MESSAGE_CODEPAGE, _INTERNET_CODEPAGE = 0x3FFD, 0x3FDE
_PROPERTY_ROW = struct.Struct("<HHIQ")  # type, id, flags, value (fixed-size values inline)
_TOP_HEADER = 32  # bytes before the rows in the top-level message's properties stream
_CODECS = {65001: "utf-8", 1200: "utf-16-le", 20127: "ascii", 28591: "latin-1", 50220: "iso2022_jp"}


class _Msg:
    """The streams of one Outlook message in an open OLE file."""

    def __init__(self, ole: Any) -> None:
        self.ole = ole
        self.fixed = self._fixed()
        # 8-bit strings are in the message's code page; the HTML body is in the Internet one.
        self.codec = self._codec(_MESSAGE_CODEPAGE, _INTERNET_CODEPAGE) or "cp1252"
        self.html_codec = self._codec(_INTERNET_CODEPAGE)

    def _fixed(self) -> dict[int, int]:
        """Fixed-size property values (id -> the 8 value bytes as an integer)."""
        if not self.ole.exists("__properties_version1.0"):
            return {}
        data = self.ole.openstream("__properties_version1.0").read()
        values: dict[int, int] = {}
        for offset in range(_TOP_HEADER, len(data) - _PROPERTY_ROW.size + 1, _PROPERTY_ROW.size):
            _kind, pid, _flags, value = _PROPERTY_ROW.unpack_from(data, offset)
            values[pid] = value
        return values

    def _codec(self, *pids: int) -> str | None:
        """The codec of the first of these code-page properties that names a known one."""
        for pid in pids:
            page = self.fixed.get(pid, 0) & 0xFFFFFFFF
            if page:
                try:
                    return codecs.lookup(_CODECS.get(page, f"cp{page}")).name
                except LookupError:
                    continue
        return None

    def text(self, pid: int) -> str:
        """A string property: `001F` streams are UTF-16, `001E` ones 8-bit in the message's code page."""
        for suffix, codec in (("001F", "utf-16-le"), ("001E", self.codec)):
            name = f"__substg1.0_{pid:04X}{suffix}"
            if self.ole.exists(name):
                return self.ole.openstream(name).read().decode(codec, errors="replace").rstrip("\x00")
        return ""

    def html(self) -> str:
        """The HTML body as text ("" without one); without a code page its own `<meta charset>` decides."""
        name = f"__substg1.0_{_HTML:04X}0102"
        if not self.ole.exists(name):
            return ""
        markup = self.ole.openstream(name).read()
        return html_to_text(markup.decode(self.html_codec, errors="replace") if self.html_codec else markup)

    def sender(self) -> str:
        name = self.text(_SENDER) or self.text(_REPRESENTING)
        address = self.text(_SENDER_SMTP) or self.text(_SENDER_ADDRESS)
        if "@" not in address or address in name:
            return name  # an Exchange (X.500) address says nothing to a reader
        return f"{name} <{address}>" if name else address

    def date(self) -> str:
        """When it was sent (else received), as an RFC 5322 date like an EML's `Date`."""
        ticks = self.fixed.get(_SUBMIT_TIME) or self.fixed.get(_DELIVERY_TIME)
        if not ticks:
            return ""
        try:
            moment = _FILETIME_EPOCH + dt.timedelta(microseconds=ticks // 10)
        except OverflowError:
            return ""
        return email.utils.format_datetime(moment)


_FILETIME_EPOCH = dt.datetime(1601, 1, 1, tzinfo=dt.UTC)


def extract_msg(data: bytes) -> str:
    """Sender, recipients, date, subject and body (plain text, else the HTML body as text) of an
    Outlook message.

    Raises:
        ExtractionError: the OLE container cannot be read.
    """
    import olefile

    try:
        ole = olefile.OleFileIO(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - olefile raises OSError and parsing errors on damaged files
        raise ExtractionError("The Outlook message cannot be read: the file is damaged.") from exc
    try:
        msg = _Msg(ole)
        lines = _headers(
            [
                ("From", msg.sender()),
                ("To", msg.text(_TO)),
                ("Cc", msg.text(_CC)),
                ("Date", msg.date()),
                ("Subject", msg.text(_SUBJECT)),
            ]
        )
        body = msg.text(_BODY)
        if not body.strip():
            body = msg.html()
    except Exception as exc:  # noqa: BLE001 - a damaged stream or chain fails only when it is read
        raise ExtractionError("The Outlook message cannot be read: the file is damaged.") from exc
    finally:
        ole.close()
    return "\n".join(lines) + "\n\n" + body.strip()
