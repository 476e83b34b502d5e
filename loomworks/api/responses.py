"""A JSON response serialised with orjson (fast, and it handles datetimes and UUIDs)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from starlette.responses import Response


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(content: Any) -> bytes:
    return orjson.dumps(content, default=_default, option=orjson.OPT_NON_STR_KEYS)


class JsonResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)
