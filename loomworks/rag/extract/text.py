"""Plain text, Markdown and JSON: decoding with a fallback for files that are not UTF-8."""

from __future__ import annotations

import json

from loomworks.rag.extract._base import ExtractionError


def decode(data: bytes) -> str:
    """Decode text bytes: a BOM wins, then UTF-8, then the best guess of charset-normalizer."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if len(data) < 1024:
        # Guessing from a few bytes is noise; Windows-1252 is the most common non-UTF-8 text.
        return data.decode("cp1252", errors="replace")
    from charset_normalizer import from_bytes

    best = from_bytes(data[: 1024 * 1024]).best()
    return data.decode(best.encoding if best else "latin-1", errors="replace")


def extract_text(data: bytes) -> str:
    """Plain text and Markdown are kept as written (Markdown headings help the splitter)."""
    return decode(data).replace("\r\n", "\n").replace("\r", "\n")


def extract_json(data: bytes) -> str:
    """JSON pretty-printed, so that keys and values fall on their own lines."""
    try:
        value = json.loads(decode(data))
    except json.JSONDecodeError as exc:
        raise ExtractionError(f"The JSON document is not valid: {exc.msg} at line {exc.lineno}.") from exc
    return json.dumps(value, indent=2, ensure_ascii=False)
