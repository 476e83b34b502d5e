"""Real OLE compound files built in memory: Excel 97-2003 workbooks (BIFF8) and Outlook messages (MSG).

No installed library writes these formats (olefile and xlrd only read, xlwt is not installed), so
this module writes them from the specifications: [MS-CFB] for the container (version 3, 512-byte
sectors, a mini stream for streams under 4096 bytes), [MS-XLS] for the `Workbook` stream and
[MS-OXMSG] for the message's property streams. The readers the product uses (xlrd, olefile) are the
judges of the result.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

SECTOR = 512
MINI_SECTOR = 64
MINI_CUTOFF = 4096
FREESECT, ENDOFCHAIN, FATSECT, NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass
class _Entry:
    name: str
    kind: int  # 1 storage, 2 stream, 5 root
    data: bytes = b""
    children: list[_Entry] = field(default_factory=list)
    sid: int = 0
    start: int = ENDOFCHAIN
    left: int = NOSTREAM
    right: int = NOSTREAM
    child: int = NOSTREAM


def _tree(streams: dict[str, bytes]) -> _Entry:
    root = _Entry("Root Entry", 5)
    for path, data in streams.items():
        *storages, leaf = path.split("/")
        node = root
        for name in storages:
            found = next((c for c in node.children if c.name == name and c.kind == 1), None)
            if found is None:
                found = _Entry(name, 1)
                node.children.append(found)
            node = found
        node.children.append(_Entry(leaf, 2, data))
    return root


def _order(entry: _Entry) -> tuple[int, str]:
    # [MS-CFB] 2.6.4: siblings compare by name length first, then by upper-cased name.
    return len(entry.name), entry.name.upper()


def _link(entries: list[_Entry]) -> int:
    """Make `entries` a balanced binary tree through their sibling links; the id of its root."""
    if not entries:
        return NOSTREAM
    middle = len(entries) // 2
    top = entries[middle]
    top.left = _link(entries[:middle])
    top.right = _link(entries[middle + 1 :])
    return top.sid


def _flatten(root: _Entry) -> list[_Entry]:
    ordered = [root]
    pending = [root]
    while pending:
        node = pending.pop(0)
        node.children.sort(key=_order)
        for child in node.children:
            child.sid = len(ordered)
            ordered.append(child)
            pending.append(child)
    for node in ordered:
        node.child = _link(node.children)
    return ordered


def _chain(fat: list[int], first: int, count: int) -> None:
    for n in range(count):
        fat[first + n] = first + n + 1 if n < count - 1 else ENDOFCHAIN


def _pad(data: bytes, size: int) -> bytes:
    return data + b"\x00" * (-len(data) % size)


def _directory_entry(entry: _Entry, size: int) -> bytes:
    name = entry.name.encode("utf-16-le")
    if len(name) > 62:
        raise ValueError(f"entry name too long: {entry.name}")
    return struct.pack(
        "<64sHBBIII16sIQQIQ",
        name + b"\x00\x00",
        len(name) + 2,
        entry.kind,
        1,  # black
        entry.left,
        entry.right,
        entry.child,
        b"\x00" * 16,
        0,
        0,
        0,
        entry.start,
        size,
    )


def compound_file(streams: dict[str, bytes]) -> bytes:
    """An OLE compound file holding `streams`, keyed by path (`storage/stream` for nested ones)."""
    entries = _flatten(_tree(streams))
    small = [e for e in entries if e.kind == 2 and 0 < len(e.data) < MINI_CUTOFF]
    large = [e for e in entries if e.kind == 2 and len(e.data) >= MINI_CUTOFF]

    mini_fat: list[int] = []
    mini_stream = b""
    for entry in small:
        entry.start = len(mini_fat)
        count = -(-len(entry.data) // MINI_SECTOR)
        mini_fat.extend([0] * count)
        _chain(mini_fat, entry.start, count)
        mini_stream += _pad(entry.data, MINI_SECTOR)

    body: list[bytes] = []  # every sector after the header, in order
    fat: list[int] = []

    def place(data: bytes, marker: int | None = None) -> int:
        first = len(body)
        padded = _pad(data, SECTOR)
        count = len(padded) // SECTOR
        body.extend(padded[i * SECTOR : (i + 1) * SECTOR] for i in range(count))
        fat.extend([0] * count)
        if marker is None:
            _chain(fat, first, count)
        else:
            fat[first:] = [marker] * count
        return first

    for entry in large:
        entry.start = place(entry.data)
    entries[0].start = place(mini_stream) if mini_stream else ENDOFCHAIN
    mini_fat_bytes = struct.pack(f"<{len(mini_fat)}I", *mini_fat) if mini_fat else b""
    first_mini_fat = place(_fill(mini_fat_bytes)) if mini_fat else ENDOFCHAIN
    mini_fat_sectors = -(-len(mini_fat_bytes) // SECTOR)

    sizes = {id(e): len(e.data) for e in entries}
    sizes[id(entries[0])] = len(mini_stream)
    directory = b"".join(_directory_entry(e, sizes[id(e)] if e.kind != 1 else 0) for e in entries)
    unused = -len(entries) % 4
    empty = struct.pack("<64sHBBIII16sIQQIQ", b"", 0, 0, 0, NOSTREAM, NOSTREAM, NOSTREAM, b"", 0, 0, 0, 0, 0)
    first_directory = place(directory + empty * unused)

    fat_sectors = 1
    while -(-(len(body) + fat_sectors) // (SECTOR // 4)) > fat_sectors:
        fat_sectors += 1
    if fat_sectors > 109:
        raise ValueError("too large for a header-only DIFAT")
    first_fat = len(body)
    fat.extend([FATSECT] * fat_sectors)
    fat.extend([FREESECT] * (fat_sectors * (SECTOR // 4) - len(fat)))
    fat_bytes = struct.pack(f"<{len(fat)}I", *fat)
    body.extend(fat_bytes[i * SECTOR : (i + 1) * SECTOR] for i in range(fat_sectors))

    difat = [first_fat + n for n in range(fat_sectors)] + [FREESECT] * (109 - fat_sectors)
    header = (
        _SIGNATURE
        + b"\x00" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\x00" * 6
        + struct.pack(
            "<IIIIIIIII",
            0,  # directory sectors (always 0 in version 3)
            fat_sectors,
            first_directory,
            0,  # transaction signature
            MINI_CUTOFF,
            first_mini_fat,
            mini_fat_sectors,
            ENDOFCHAIN,  # no DIFAT sectors
            0,
        )
        + struct.pack("<109I", *difat)
    )
    assert len(header) == SECTOR
    return header + b"".join(body)


def _fill(mini_fat_bytes: bytes) -> bytes:
    """The mini FAT padded with free entries to whole sectors."""
    free = (-len(mini_fat_bytes) % SECTOR) // 4
    return mini_fat_bytes + struct.pack(f"<{free}I", *([FREESECT] * free))


# Excel 97-2003 (BIFF8) ------------------------------------------------------------------------------

XLS_ERRORS = {"#NULL!": 0x00, "#DIV/0!": 0x07, "#VALUE!": 0x0F, "#REF!": 0x17, "#NAME?": 0x1D, "#N/A": 0x2A}
Cell = str | int | float | bool | dt.date | None


@dataclass(frozen=True)
class XlsError:
    """An error cell (`#DIV/0!` …)."""

    text: str


XlsCell = Cell | XlsError


def _record(kind: int, data: bytes = b"") -> bytes:
    return struct.pack("<HH", kind, len(data)) + data


def _bof(kind: int) -> bytes:
    # BIFF8, build 0x0DBB of 1996, file history flags, lowest Excel version that saved it.
    return _record(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0x0DBB, 0x07CC, 0x000100C1, 0x00000406))


def _xl_string(text: str, length_bytes: int) -> bytes:
    """An XLUnicodeString: latin-1 text is stored compressed, anything else as UTF-16."""
    try:
        raw, flags = text.encode("latin-1"), 0
    except UnicodeEncodeError:
        raw, flags = text.encode("utf-16-le"), 1
    return struct.pack("<BB" if length_bytes == 1 else "<HB", len(text), flags) + raw


def _xf(format_key: int, *, style: bool) -> bytes:
    kind = 0xFFF5 if style else 0x0001  # style XF (parent 0xFFF) or cell XF (locked, parent 0)
    return _record(0x00E0, struct.pack("<HHHBBBBIiH", 0, format_key, kind, 0x20, 0, 0, 0, 0, 0, 0x20C0))


def _serial(value: dt.date) -> float:
    moment = value if isinstance(value, dt.datetime) else dt.datetime(value.year, value.month, value.day)
    delta = moment - dt.datetime(1899, 12, 30)
    return delta.days + delta.seconds / 86400


def _sheet_stream(rows: Sequence[Sequence[XlsCell]], strings: dict[str, int]) -> bytes:
    width = max((len(r) for r in rows), default=0)
    out = [_bof(0x0010), _record(0x0200, struct.pack("<IIHHH", 0, len(rows), 0, width, 0))]
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, XlsError):
                out.append(_record(0x0205, struct.pack("<HHHBB", r, c, 0, XLS_ERRORS[value.text], 1)))
            elif isinstance(value, bool):
                out.append(_record(0x0205, struct.pack("<HHHBB", r, c, 0, int(value), 0)))
            elif isinstance(value, str):
                index = strings.setdefault(value, len(strings))
                out.append(_record(0x00FD, struct.pack("<HHHI", r, c, 0, index)))
            elif isinstance(value, dt.date):
                out.append(_record(0x0203, struct.pack("<HHHd", r, c, 1, _serial(value))))
            else:
                out.append(_record(0x0203, struct.pack("<HHHd", r, c, 0, float(value))))
    out.append(_record(0x000A))
    return b"".join(out)


def make_xls(sheets: dict[str, Sequence[Sequence[XlsCell]]], *, encrypted: bool = False) -> bytes:
    """An Excel 97-2003 workbook with one worksheet per item (strings in the shared string table;
    dates as serial numbers in a date-formatted cell, as Excel stores them)."""
    strings: dict[str, int] = {}
    streams = [_sheet_stream(rows, strings) for rows in sheets.values()]
    total = sum(1 for rows in sheets.values() for row in rows for v in row if isinstance(v, str))
    sst = struct.pack("<II", total, len(strings)) + b"".join(_xl_string(s, 2) for s in strings)

    def globals_(positions: list[int]) -> bytes:
        parts = [_bof(0x0005)]
        if encrypted:
            # RC4 encryption header ([MS-XLS] 2.4.117): the workbook's records after it are unreadable.
            parts.append(_record(0x002F, struct.pack("<HHH", 1, 1, 1) + b"\x00" * 48))
        parts += [_record(0x0042, struct.pack("<H", 1200)), _record(0x0022, struct.pack("<H", 0))]
        parts += [_xf(0, style=True), _xf(14, style=False)]  # 14: the built-in date format m/d/yy
        for position, name in zip(positions, sheets, strict=True):
            parts.append(_record(0x0085, struct.pack("<IBB", position, 0, 0) + _xl_string(name, 1)))
        parts += [_record(0x00FC, sst), _record(0x000A)]
        return b"".join(parts)

    head = len(globals_([0] * len(sheets)))
    positions, offset = [], head
    for stream in streams:
        positions.append(offset)
        offset += len(stream)
    return compound_file({"Workbook": globals_(positions) + b"".join(streams)})


# Outlook messages (MSG) ------------------------------------------------------------------------------

PT_LONG, PT_SYSTIME, PT_UNICODE, PT_STRING8, PT_BINARY = 0x0003, 0x0040, 0x001F, 0x001E, 0x0102
_FILETIME_EPOCH = dt.datetime(1601, 1, 1, tzinfo=dt.UTC)


def _properties(header: bytes, streamed: dict[tuple[int, int], bytes], fixed: dict[tuple[int, int], int]) -> bytes:
    """A `__properties_version1.0` stream: the header, then one 16-byte row per property (tag, flags,
    and the value itself for fixed-size types, or the stream's size for variable-length ones)."""
    rows = [struct.pack("<IIQ", (pid << 16) | ptype, 0x06, value) for (pid, ptype), value in fixed.items()]
    rows += [
        struct.pack("<IIII", (pid << 16) | ptype, 0x06, len(value) + (2 if ptype == PT_UNICODE else 0), 0)
        for (pid, ptype), value in streamed.items()
    ]
    return header + b"".join(rows)


def _string_props(fields: dict[int, str | bytes], *, encoding: str | None) -> dict[tuple[int, int], bytes]:
    """Variable-length properties: UTF-16 strings, or 8-bit ones in `encoding`; bytes are binary."""
    props: dict[tuple[int, int], bytes] = {}
    for pid, value in fields.items():
        if isinstance(value, bytes):
            props[(pid, PT_BINARY)] = value
        elif encoding is None:
            props[(pid, PT_UNICODE)] = value.encode("utf-16-le")
        else:
            props[(pid, PT_STRING8)] = value.encode(encoding)
    return props


def make_msg(
    *,
    subject: str,
    sender: str,
    to: str,
    cc: str = "",
    body: str | None = None,
    html: str | None = None,
    sender_address: str | None = None,
    sent: dt.datetime | None = None,
    codepage: int | None = None,
    encoding: str | None = None,
) -> bytes:
    """An Outlook message (`IPM.Note`) with one recipient storage per name in `to`.

    `body` is the plain-text body, `html` the HTML body (PidTagHtml, binary, written in `encoding`
    or UTF-8). Strings are UTF-16 unless `encoding` is given: then they are 8-bit strings in that
    encoding, and `codepage` (when given) is written as the message's and the Internet code page.
    """
    fields: dict[int, str | bytes] = {0x001A: "IPM.Note", 0x0037: subject, 0x0C1A: sender, 0x0E04: to}
    if cc:
        fields[0x0E03] = cc
    if sender_address:
        fields[0x5D01] = sender_address
    if body is not None:
        fields[0x1000] = body
    if html is not None:
        fields[0x1013] = html.encode(encoding or "utf-8")
    props = _string_props(fields, encoding=encoding)
    fixed: dict[tuple[int, int], int] = {}
    if sent is not None:
        fixed[(0x0039, PT_SYSTIME)] = (sent - _FILETIME_EPOCH) // dt.timedelta(microseconds=1) * 10
    if codepage is not None:
        fixed[(0x3FFD, PT_LONG)] = fixed[(0x3FDE, PT_LONG)] = codepage
    streams: dict[str, bytes] = {}
    for (pid, ptype), value in props.items():
        streams[f"__substg1.0_{pid:04X}{ptype:04X}"] = value
    recipients = [n.strip() for n in to.split(";") if n.strip()]
    # Top-level header: reserved 8, next recipient id, next attachment id, counts, reserved 8.
    header = struct.pack("<8sIIII8s", b"", len(recipients), 0, len(recipients), 0, b"")
    streams["__properties_version1.0"] = _properties(header, props, fixed)
    for n, name in enumerate(recipients):
        folder = f"__recip_version1.0_#{n:08X}"
        address = f"{name.split()[0].lower()}@example.com"
        recipient = _string_props({0x3001: name, 0x39FE: address}, encoding=encoding)
        for (pid, ptype), value in recipient.items():
            streams[f"{folder}/__substg1.0_{pid:04X}{ptype:04X}"] = value
        streams[f"{folder}/__properties_version1.0"] = _properties(b"\x00" * 8, recipient, {})
    # The named-property mapping storage every message has (empty: no named properties).
    for stream in ("__substg1.0_00020102", "__substg1.0_00030102", "__substg1.0_00040102"):
        streams[f"__nameid_version1.0/{stream}"] = b""
    return compound_file(streams)
