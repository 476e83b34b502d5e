"""The knowledge API (`/v1/datasets…`, dataset keys): datasets, documents, segments (spec §1.7).

This module holds the workspace's tags (`/datasets/tags…`) and the datasets themselves; the modules
beside it hold what lives under one dataset and are included in this order: `documents`, `segments`,
`retrieval` (hit-testing), `child_chunks`, `metadata` (with the dataset's tags). The tag routes come
first because `tags` is not a dataset id.

`DatasetCreate`, `TagBindingBody` and `TagUnbindingBody` share their names with console bodies, so
the OpenAPI document tells them apart by module (`loomworks__api__service__datasets__DatasetCreate`);
they stay here to keep those names. What the console shares with this API lives in
`api/knowledge_handlers.py` and `api/knowledge_views.py`; the names this package had as one module
are re-exported.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from loomworks.api import knowledge_handlers
from loomworks.api.deps import DatasetCaller, State
from loomworks.api.knowledge_handlers import (
    ChildChunkBody,
    DocumentsMetadata,
    HitTestingBody,
    MetadataCreate,
    MetadataRename,
    dataset_tag_ids,
    forget_document,
    knowledge_runtime,
    run_hit_testing,
    sync_later,
)
from loomworks.api.knowledge_views import (
    children_page,
    dataset_public,
    datasets_public,
    document_detail,
    documents_public,
    external_hit_testing_public,
    hit_testing_public,
    upload_file_public,
)
from loomworks.api.responses import JsonResponse
from loomworks.api.service.datasets import child_chunks, documents, metadata, retrieval, segments
from loomworks.api.service.datasets.documents import DocumentText, StatusBody
from loomworks.api.service.datasets.segments import SegmentsCreate, SegmentUpdate
from loomworks.core.errors import InvalidParamError
from loomworks.services.knowledge import datasets, external, tags

__all__ = [
    "ChildChunkBody",
    "DatasetCreate",
    "DocumentText",
    "DocumentsMetadata",
    "HitTestingBody",
    "MetadataCreate",
    "MetadataRename",
    "SegmentUpdate",
    "SegmentsCreate",
    "StatusBody",
    "TagBindingBody",
    "TagCreate",
    "TagDelete",
    "TagUnbindingBody",
    "TagUpdate",
    "children_page",
    "dataset_tag_ids",
    "datasets_public",
    "document_detail",
    "documents_public",
    "external_hit_testing_public",
    "forget_document",
    "hit_testing_public",
    "knowledge_runtime",
    "router",
    "run_hit_testing",
    "sync_later",
    "upload_file_public",
]

router = APIRouter(prefix="/datasets", tags=["service: knowledge"])


class DatasetCreate(BaseModel):
    name: Any = None
    description: str = ""
    indexing_technique: str | None = None
    permission: str = "only_me"
    provider: str = "vendor"
    external_knowledge_api_id: str | None = None
    external_knowledge_id: str | None = None
    embedding_model: str | None = None
    embedding_model_provider: str | None = None
    retrieval_model: dict[str, Any] | None = None
    external_retrieval_model: dict[str, Any] | None = None


class TagCreate(BaseModel):
    name: Any = None


class TagUpdate(BaseModel):
    name: Any = None
    tag_id: Any = None


class TagDelete(BaseModel):
    tag_id: Any = None


class TagBindingBody(BaseModel):
    tag_ids: Any = None
    target_id: Any = None


class TagUnbindingBody(BaseModel):
    tag_id: Any = None
    target_id: Any = None


# -- tags (before `/{dataset_id}`: `tags` is not a dataset id) --------------------------------------


@router.get("/tags")
def list_tags(caller: DatasetCaller, state: State) -> list[dict[str, Any]]:
    with state.db.session() as session:
        return tags.list_tags(session, caller=caller)


@router.post("/tags")
def create_tag(body: TagCreate, caller: DatasetCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        return tags.tag_public(tags.create(session, caller=caller, name=body.name))


@router.patch("/tags")
def update_tag(body: TagUpdate, caller: DatasetCaller, state: State) -> dict[str, Any]:
    if not isinstance(body.tag_id, str) or not body.tag_id:
        raise InvalidParamError("Tag ID is required.", params="tag_id")
    with state.db.session() as session:
        return tags.rename(session, caller=caller, tag_id=body.tag_id, name=body.name)


@router.delete("/tags", status_code=204)
def delete_tag(body: TagDelete, caller: DatasetCaller, state: State) -> Response:
    if not isinstance(body.tag_id, str) or not body.tag_id:
        raise InvalidParamError("Tag ID is required.", params="tag_id")
    with state.db.session() as session:
        tags.remove(session, caller=caller, tag_id=body.tag_id)
    return Response(status_code=204)


@router.post("/tags/binding", status_code=204)
def bind_tags(body: TagBindingBody, caller: DatasetCaller, state: State) -> Response:
    with state.db.session() as session:
        tags.bind(session, caller=caller, tag_ids=body.tag_ids, target_id=body.target_id)
    return Response(status_code=204)


@router.post("/tags/unbinding", status_code=204)
def unbind_tag(body: TagUnbindingBody, caller: DatasetCaller, state: State) -> Response:
    with state.db.session() as session:
        tags.unbind(session, caller=caller, tag_id=body.tag_id, target_id=body.target_id)
    return Response(status_code=204)


# -- datasets ---------------------------------------------------------------------------------------


@router.post("")
def create_dataset(body: DatasetCreate, caller: DatasetCaller, state: State) -> JsonResponse:
    with state.db.session() as session:
        if body.provider == "external":
            dataset = external.create_dataset(
                session,
                caller=caller,
                name=body.name,
                description=body.description,
                external_knowledge_api_id=body.external_knowledge_api_id,
                external_knowledge_id=body.external_knowledge_id,
                external_retrieval_model=body.external_retrieval_model,
            )
        else:
            dataset = datasets.create(session, caller=caller, **body.model_dump(exclude={"external_retrieval_model"}))
        return JsonResponse(dataset_public(dataset), status_code=200)


@router.get("")
def list_datasets(
    request: Request,
    caller: DatasetCaller,
    state: State,
    page: int = Query(1),
    limit: int = Query(20),
    keyword: str | None = None,
    include_all: bool = False,
) -> dict[str, Any]:
    return knowledge_handlers.list_datasets(
        state, caller, request, page=page, limit=limit, keyword=keyword, include_all=include_all, api=True
    )


@router.get("/{dataset_id}")
def get_dataset(dataset_id: str, caller: DatasetCaller, state: State) -> dict[str, Any]:
    return knowledge_handlers.get_dataset(state, caller, dataset_id, api=True)


@router.patch("/{dataset_id}")
def update_dataset(dataset_id: str, body: dict[str, Any], caller: DatasetCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        dataset = datasets.update(session, caller=caller, dataset_id=dataset_id, changes=body, api=True)
        return datasets_public(session, [dataset])[0]


@router.delete("/{dataset_id}", status_code=204)
def delete_dataset(dataset_id: str, caller: DatasetCaller, state: State) -> Response:
    knowledge_handlers.delete_dataset(state, caller, dataset_id, api=True)
    return Response(status_code=204)


# -- what lives under one dataset, in the order the routes had in one module ------------------------

for module in (documents, segments, retrieval, child_chunks, metadata):
    router.include_router(module.router)
