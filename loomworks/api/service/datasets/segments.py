"""Segments of a document (`/v1/datasets/{dataset_id}/documents/{document_id}/segments…`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from loomworks.api import knowledge_handlers
from loomworks.api.deps import DatasetCaller, State
from loomworks.api.knowledge_views import segment_public
from loomworks.services.knowledge import documents, segments

router = APIRouter()


class SegmentsCreate(BaseModel):
    segments: list[dict[str, Any]]


class SegmentUpdate(BaseModel):
    segment: dict[str, Any]


@router.post("/{dataset_id}/documents/{document_id}/segments")
def add_segments(
    dataset_id: str, document_id: str, body: SegmentsCreate, caller: DatasetCaller, state: State
) -> dict[str, Any]:
    data, doc_form = knowledge_handlers.add_segments(state, caller, dataset_id, document_id, body.segments, api=True)
    return {"data": data, "doc_form": doc_form}


@router.get("/{dataset_id}/documents/{document_id}/segments")
def list_segments(
    dataset_id: str,
    document_id: str,
    caller: DatasetCaller,
    state: State,
    status: list[str] | None = Query(None),
    keyword: str | None = None,
    page: int = Query(1),
    limit: int = Query(20),
) -> dict[str, Any]:
    data, total, doc_form = knowledge_handlers.list_segments(
        state, caller, dataset_id, document_id, statuses=status, keyword=keyword, page=page, limit=limit, api=True
    )
    return {
        "data": data,
        "doc_form": doc_form,
        "total": total,
        "has_more": page * limit < total,
        "limit": limit,
        "page": page,
    }


@router.get("/{dataset_id}/documents/{document_id}/segments/{segment_id}")
def get_segment(
    dataset_id: str, document_id: str, segment_id: str, caller: DatasetCaller, state: State
) -> dict[str, Any]:
    with state.db.session() as session:
        segment = segments.get(
            session, caller=caller, dataset_id=dataset_id, document_id=document_id, segment_id=segment_id, api=True
        )
        document = documents.get(session, caller=caller, dataset_id=dataset_id, document_id=document_id, api=True)
        return {
            "data": segment_public(segment, segments.child_chunks(session, segment=segment)),
            "doc_form": document.doc_form,
        }


@router.post("/{dataset_id}/documents/{document_id}/segments/{segment_id}")
def update_segment(
    dataset_id: str, document_id: str, segment_id: str, body: SegmentUpdate, caller: DatasetCaller, state: State
) -> dict[str, Any]:
    return knowledge_handlers.update_segment(state, caller, dataset_id, document_id, segment_id, body.segment, api=True)


@router.delete("/{dataset_id}/documents/{document_id}/segments/{segment_id}", status_code=204)
def delete_segment(dataset_id: str, document_id: str, segment_id: str, caller: DatasetCaller, state: State) -> Response:
    knowledge_handlers.delete_segments(state, caller, dataset_id, document_id, [segment_id], api=True)
    return Response(status_code=204)
