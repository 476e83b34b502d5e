"""Child chunks of a parent-child document's segment (`…/segments/{segment_id}/child_chunks…`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response

from loomworks.api import knowledge_handlers
from loomworks.api.deps import DatasetCaller, State
from loomworks.api.knowledge_handlers import ChildChunkBody

router = APIRouter()

_CHILDREN = "/{dataset_id}/documents/{document_id}/segments/{segment_id}/child_chunks"


@router.get(_CHILDREN)
def list_child_chunks(
    dataset_id: str,
    document_id: str,
    segment_id: str,
    caller: DatasetCaller,
    state: State,
    keyword: str | None = None,
    page: int = Query(1),
    limit: int = Query(20),
) -> dict[str, Any]:
    return knowledge_handlers.list_child_chunks(
        state, caller, dataset_id, document_id, segment_id, keyword=keyword, page=page, limit=limit, api=True
    )


@router.post(_CHILDREN)
def create_child_chunk(
    dataset_id: str, document_id: str, segment_id: str, body: ChildChunkBody, caller: DatasetCaller, state: State
) -> dict[str, Any]:
    return knowledge_handlers.create_child_chunk(
        state, caller, dataset_id, document_id, segment_id, body.content, api=True
    )


@router.patch(_CHILDREN + "/{child_chunk_id}")
def update_child_chunk(
    dataset_id: str,
    document_id: str,
    segment_id: str,
    child_chunk_id: str,
    body: ChildChunkBody,
    caller: DatasetCaller,
    state: State,
) -> dict[str, Any]:
    return knowledge_handlers.update_child_chunk(
        state, caller, dataset_id, document_id, segment_id, child_chunk_id, body.content, api=True
    )


@router.delete(_CHILDREN + "/{child_chunk_id}", status_code=204)
def delete_child_chunk(
    dataset_id: str, document_id: str, segment_id: str, child_chunk_id: str, caller: DatasetCaller, state: State
) -> Response:
    knowledge_handlers.delete_child_chunk(state, caller, dataset_id, document_id, segment_id, child_chunk_id, api=True)
    return Response(status_code=204)
