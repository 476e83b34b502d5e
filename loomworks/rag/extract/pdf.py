"""PDF text with pypdf, page by page."""

from __future__ import annotations

import io
import logging

from loomworks.rag.extract._base import ExtractionError

# pypdf reports recoverable damage through logging; a noisy file must not flood the server log.
logging.getLogger("pypdf").setLevel(logging.ERROR)


def extract_pdf(data: bytes) -> tuple[str, int]:
    """Return the text of every page (pages separated by blank lines) and the page count.

    Raises:
        ExtractionError: the PDF is encrypted with a password, or too damaged to read.
    """
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            # Files encrypted only with an owner password open with an empty user password.
            try:
                opened = reader.decrypt("")
            except (NotImplementedError, PdfReadError, ValueError) as exc:
                raise ExtractionError(f"The PDF is encrypted and cannot be opened ({exc}).") from exc
            if not opened:
                raise ExtractionError("The PDF is encrypted with a password; upload an unprotected copy.")
        pages = [page.extract_text() or "" for page in reader.pages]
    except ExtractionError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise ExtractionError(f"The PDF is damaged and cannot be read ({exc}).") from exc
    return "\n\n".join(p.strip() for p in pages), len(pages)
