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
    if isinstance(value, dt.datetime | dt.date):
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


def extract_xls(data: bytes) -> tuple[str, int]:
    """Legacy Excel workbooks through xlrd, rendered like XLSX.

    Raises:
        ExtractionError: the workbook cannot be read.
    """
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True)
    except Exception as exc:  # noqa: BLE001 - xlrd raises many unrelated types on bad input
        raise ExtractionError(f"The Excel 97-2003 workbook cannot be read ({type(exc).__name__}).") from exc
    sheets = []
    for index in range(book.nsheets):
        sheet = book.sheet_by_index(index)
        rows = [[_cell(sheet.cell_value(r, c)) for c in range(sheet.ncols)] for r in range(sheet.nrows)]
        rendered = _sheet(sheet.name, rows)
        if rendered:
            sheets.append(rendered)
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
