"""Identifiers: UUID4 strings for records (as Dify uses), random tokens for keys."""

from __future__ import annotations

import secrets
import uuid


def new_id() -> str:
    """Return a new record id (a UUID4 in its canonical string form)."""
    return str(uuid.uuid4())


def is_uuid(value: str) -> bool:
    """Tell whether `value` is a canonical UUID string."""
    try:
        return str(uuid.UUID(value)) == value.lower()
    except (ValueError, AttributeError, TypeError):
        return False


def new_token(prefix: str, length: int = 24) -> str:
    """Return a secret token such as `app-…` made of URL-safe letters and digits."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))
