"""JSON shape of an annotation (shared by the console and the Service API)."""

from __future__ import annotations

from typing import Any

from loomworks.core.clock import to_timestamp
from loomworks.store.tables import Annotation


def annotation_public(row: Annotation) -> dict[str, Any]:
    return {
        "id": row.id,
        "question": row.question,
        "answer": row.content,
        "content": row.content,
        "hit_count": row.hit_count,
        "message_id": row.message_id,
        "created_at": to_timestamp(row.created_at),
    }
