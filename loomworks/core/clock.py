"""One place to read the time, so tests and records agree on time zones (always UTC)."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


def timestamp() -> int:
    """Return the current Unix time in whole seconds (Dify's `created_at` unit)."""
    return int(time.time())


def to_timestamp(value: datetime | None) -> int | None:
    """Convert a stored datetime (naive values are taken as UTC) to Unix seconds."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp())
