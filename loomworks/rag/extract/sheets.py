"""Spreadsheets (XLSX, XLS) and CSV as `header: value` rows, one line per row."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from loomworks.rag.extract._base import ExtractionError, keyed_rows
from loomworks.rag.extract.text import decode


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()  # a date cell: both formats store dates as midnight
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _sheet(name: str | None, rows: list[list[str]]) -> str:
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        return ""
    lines = keyed_rows(rows[0], rows[1:]) if len(rows) > 1 else ["; ".join(c for c in rows[0] if c.strip())]
    title = [f"## {name}"] if name else []
    return "\n".join(title + lines)


def extract_xlsx(data: bytes, max_chars: int) -> tuple[str, int]:
    """Every sheet (read-only, cached values): a `## Sheet` line, then one line per row.

    Raises:
        ExtractionError: the workbook cannot be read or its text exceeds `max_chars`.
    """
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many unrelated types on bad input
        raise ExtractionError(f"The workbook cannot be read ({type(exc).__name__}).") from exc
    sheets: list[str] = []
    size = 0
    try:
        for sheet in book.worksheets:
            rows: list[list[str]] = []
            for row in sheet.iter_rows(values_only=True):
                cells = [_cell(v) for v in row]
                size += sum(len(c) for c in cells)
                if size > max_chars:
                    raise ExtractionError("The workbook holds more text than allowed.")
                rows.append(cells)
            rendered = _sheet(sheet.title, rows)
            if rendered:
                sheets.append(rendered)
    finally:
        book.close()
    return "\n\n".join(sheets), len(book.sheetnames)


def _xls_value(cell: Any, datemode: int) -> Any:
    """A cell of xlrd as openpyxl would give it: dates as dates, booleans as bools, errors as `#DIV/0!`."""
    import xlrd

    if cell.ctype == xlrd.XL_CELL_DATE:
        try:
            moment = xlrd.xldate_as_datetime(cell.value, datemode)
        except (ValueError, OverflowError):  # xlrd.XLDateError is a ValueError
            return cell.value  # out of Excel's date range: keep the number
        return moment.time() if cell.value < 1 else moment
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return bool(cell.value)
    if cell.ctype == xlrd.XL_CELL_ERROR:
        return xlrd.error_text_from_code.get(cell.value, "#ERROR")
    return cell.value


def _workbook_stream(data: bytes) -> bytes:
    """The BIFF stream of an OLE workbook, read by olefile.

    xlrd has its own OLE reader, but it follows a cyclic mini-sector chain forever (a 2 KB file
    hangs the worker and eats memory); olefile bounds every chain by the stream's size, so xlrd
    only ever sees the bare stream.
    """
    import olefile

    try:
        ole = olefile.OleFileIO(io.BytesIO(data))
        try:
            name = next((n for n in ("Workbook", "Book") if ole.exists(n)), None)
            stream = ole.openstream(name).read() if name else b""
        finally:
            ole.close()
    except Exception as exc:  # noqa: BLE001 - olefile raises OSError and parsing errors on damaged files
        raise ExtractionError("The Excel 97-2003 workbook cannot be read: the file is damaged.") from exc
    if not stream.startswith(b"\x09\x08"):  # a BOF record (BIFF5 and BIFF8 alike)
        raise ExtractionError("The Excel 97-2003 workbook cannot be read: its workbook stream is damaged.")
    return stream


def extract_xls(data: bytes, max_chars: int) -> tuple[str, int]:
    """Excel 97-2003 workbooks (`.xls`, an OLE file with a `Workbook` stream) through xlrd, rendered like XLSX.

    Raises:
        ExtractionError: the workbook is password-protected, cannot be read, or its text exceeds
            `max_chars`.
    """
    import xlrd

    stream = _workbook_stream(data)
    warnings = io.StringIO()  # xlrd reports oddities to a log file, stdout by default
    try:
        # Ragged rows: one far-away cell must not pad every row of the sheet to its column.
        book = xlrd.open_workbook(file_contents=stream, on_demand=True, ragged_rows=True, logfile=warnings)
    except xlrd.XLRDError as exc:
        if "encrypted" in str(exc).lower():
            raise ExtractionError("The Excel 97-2003 workbook is password-protected; remove the password.") from exc
        raise ExtractionError(f"The Excel 97-2003 workbook cannot be read ({exc}).") from exc
    except Exception as exc:  # noqa: BLE001 - xlrd raises many unrelated types on bad input
        raise ExtractionError(f"The Excel 97-2003 workbook cannot be read ({type(exc).__name__}).") from exc
    sheets: list[str] = []
    size = 0
    try:
        for index in range(book.nsheets):
            sheet = book.sheet_by_index(index)
            rows: list[list[str]] = []
            for r in range(sheet.nrows):
                cells = [_cell(_xls_value(cell, book.datemode)) for cell in sheet.row(r)]
                size += sum(len(c) for c in cells)
                if size > max_chars:
                    raise ExtractionError("The workbook holds more text than allowed.")
                rows.append(cells)
            rendered = _sheet(sheet.name, rows)
            if rendered:
                sheets.append(rendered)
    except ExtractionError:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged sheet fails only when it is loaded (on demand)
        raise ExtractionError(f"The Excel 97-2003 workbook cannot be read ({type(exc).__name__}).") from exc
    finally:
        book.release_resources()
    return "\n\n".join(sheets), book.nsheets


def extract_csv(data: bytes) -> str:
    """CSV (delimiter sniffed among `,;\\t|`), the first row taken as the header."""
    text = decode(data)
    try:
        dialect: Any = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = [list(row) for row in csv.reader(io.StringIO(text), dialect)]
    except csv.Error as exc:
        raise ExtractionError(f"The CSV file cannot be read ({exc}).") from exc
    return _sheet(None, rows)
