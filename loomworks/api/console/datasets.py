"""Knowledge in the console (Dify's console paths): datasets, documents from uploads, segments, child
chunks, metadata, tags (`/tags`, `/tag-bindings/…`) and actions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy import select

from loomworks.api import knowledge_handlers
from loomworks.api.console import external_knowledge
from loomworks.api.deps import CurrentCaller, State
from loomworks.api.knowledge_handlers import (
    ChildChunkBody,
    DocumentsMetadata,
    HitTestingBody,
    MetadataCreate,
    MetadataRename,
    index_later,
    queueing_session,
    run_hit_testing,
    sync_later,
)
from loomworks.api.knowledge_views import child_public, dataset_public, document_public, indexing_status_public
from loomworks.core.clock import to_timestamp
from loomworks.core.errors import InvalidParamError, NotFoundError
from loomworks.services.knowledge import datasets, documents, metadata, segments, tags
from loomworks.store.tables import UploadFile

router = APIRouter(tags=["console: knowledge"])  # `/tags` and `/tag-bindings`; `kb` below holds `/datasets/…`
kb = APIRouter(prefix="/datasets", tags=["console: knowledge"])
# Before the `/{dataset_id}` routes below: `/datasets/external-knowledge-api` is not a dataset id.
kb.include_router(external_knowledge.router)


class DatasetCreate(BaseModel):
    name: Any = None
    description: str = ""
    indexing_technique: str | None = None
    permission: str = "only_me"
    provider: str = "vendor"
    external_knowledge_api_id: str | None = None
    external_knowledge_id: str | None = None


class DocumentsCreate(BaseModel):
    data_source: dict[str, Any]
    indexing_technique: str | None = None
    process_rule: dict[str, Any] | None = None
    doc_form: str | None = None
    doc_language: str | None = None
    retrieval_model: dict[str, Any] | None = None
    embedding_model: str | None = None
    embedding_model_provider: str | None = None


class SegmentBody(BaseModel):
    content: str
    answer: str | None = None
    keywords: list[str] | None = None


@kb.get("")
def list_datasets(
    request: Request,
    caller: CurrentCaller,
    state: State,
    page: int = Query(1),
    limit: int = Query(20),
    keyword: str | None = None,
    include_all: bool = False,
) -> dict[str, Any]:
    return knowledge_handlers.list_datasets(
        state, caller, request, page=page, limit=limit, keyword=keyword, include_all=include_all, api=False
    )


@kb.post("", status_code=201)
def create_dataset(body: DatasetCreate, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        return dataset_public(datasets.create(session, caller=caller, **body.model_dump()))


@kb.get("/{dataset_id}")
def get_dataset(dataset_id: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    return knowledge_handlers.get_dataset(state, caller, dataset_id, api=False)


@kb.get("/{dataset_id}/use-check")
def use_check(dataset_id: str, caller: CurrentCaller, state: State) -> dict[str, bool]:
    """Whether apps use the dataset (deleting it is refused with 409 `dataset_in_use` while they do)."""
    with state.db.session() as session:
        dataset = datasets.get(session, caller=caller, dataset_id=dataset_id)
        using = datasets.using_apps(session, tenant_id=dataset.tenant_id, dataset_ids=[dataset.id])[dataset.id]
        return {"is_using": bool(using)}


@kb.get("/{dataset_id}/related-apps")
def related_apps(dataset_id: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        dataset = datasets.get(session, caller=caller, dataset_id=dataset_id)
        using = datasets.using_apps(session, tenant_id=dataset.tenant_id, dataset_ids=[dataset.id])[dataset.id]
        data = [
            {
                "id": a.id,
                "name": a.name,
                "mode": a.mode,
                "icon_type": a.icon_type,
                "icon": a.icon,
                "icon_background": a.icon_background,
                "created_at": to_timestamp(a.created_at),
            }
            for a in using
        ]
        return {"data": data, "total": len(data)}


@kb.patch("/{dataset_id}")
def update_dataset(dataset_id: str, body: dict[str, Any], caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        return dataset_public(datasets.update(session, caller=caller, dataset_id=dataset_id, changes=body))


@kb.delete("/{dataset_id}", status_code=204)
def delete_dataset(dataset_id: str, caller: CurrentCaller, state: State) -> Response:
    knowledge_handlers.delete_dataset(state, caller, dataset_id, api=False)
    return Response(status_code=204)


def _file_ids(data_source: dict[str, Any]) -> list[str]:
    info = data_source.get("info_list") or {}
    ids = (info.get("file_info_list") or {}).get("file_ids") or []
    if data_source.get("type", info.get("data_source_type")) != "upload_file" or not ids:
        raise InvalidParamError("data_source must list uploaded file ids.", params="data_source")
    return [str(i) for i in ids]


@kb.post("/{dataset_id}/documents")
def create_documents(dataset_id: str, body: DocumentsCreate, caller: CurrentCaller, state: State) -> dict[str, Any]:
    """Create one document per uploaded file (one batch) and queue their indexing."""
    ids = _file_ids(body.data_source)
    with queueing_session(state) as session:
        uploads = {
            u.id: u
            for u in session.scalars(
                select(UploadFile).where(UploadFile.id.in_(ids), UploadFile.tenant_id == caller.tenant_id)
            )
        }
        created = []
        batch = None
        for file_id in ids:
            upload = uploads.get(file_id)
            if upload is None:
                raise NotFoundError("File not found.")
            new = documents.create(
                session,
                state.storage,
                caller=caller,
                dataset_id=dataset_id,
                name=upload.name,
                upload=upload,
                indexing_technique=body.indexing_technique,
                doc_form=body.doc_form,
                doc_language=body.doc_language,
                process_rule=body.process_rule,
                retrieval_model=body.retrieval_model,
                embedding_model=body.embedding_model,
                embedding_model_provider=body.embedding_model_provider,
                created_from="web",
            )
            if batch is not None:
                new.document.batch = batch
            batch = new.document.batch
            created.append(new.document)
            index_later(state, session, new.document.id)
        dataset = datasets.get(session, caller=caller, dataset_id=dataset_id)
        return {
            "dataset": dataset_public(dataset),
            "documents": [document_public(d) for d in created],
            "batch": batch,
        }


@kb.get("/{dataset_id}/documents")
def list_documents(
    dataset_id: str,
    caller: CurrentCaller,
    state: State,
    page: int = Query(1),
    limit: int = Query(20),
    keyword: str | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    return knowledge_handlers.list_documents(
        state, caller, dataset_id, page=page, limit=limit, keyword=keyword, status=status, progress=True, api=False
    )


@kb.get("/{dataset_id}/batch/{batch}/indexing-status")
def batch_status(dataset_id: str, batch: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    return knowledge_handlers.batch_indexing_status(state, caller, dataset_id, batch, api=False)


@kb.get("/{dataset_id}/documents/{document_id}")
def get_document(
    dataset_id: str,
    document_id: str,
    caller: CurrentCaller,
    state: State,
    shown: str = Query("all", alias="metadata"),
) -> dict[str, Any]:
    return knowledge_handlers.get_document(state, caller, dataset_id, document_id, shown=shown, api=False)


@kb.get("/{dataset_id}/documents/{document_id}/upload-file")
def get_upload_file(dataset_id: str, document_id: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    return knowledge_handlers.get_upload_file(state, caller, dataset_id, document_id, api=False)


@kb.get("/{dataset_id}/documents/{document_id}/indexing-status")
def document_status(dataset_id: str, document_id: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        document = documents.get(session, caller=caller, dataset_id=dataset_id, document_id=document_id)
        return indexing_status_public(document, *documents.completed_segments(session, [document.id])[document.id])


@kb.delete("/{dataset_id}/documents/{document_id}", status_code=204)
def delete_document(dataset_id: str, document_id: str, caller: CurrentCaller, state: State) -> Response:
    knowledge_handlers.delete_document(state, caller, dataset_id, document_id, api=False)
    return Response(status_code=204)


@kb.patch("/{dataset_id}/documents/status/{action}/batch")
def documents_action(
    dataset_id: str,
    action: str,
    caller: CurrentCaller,
    state: State,
    document_id: list[str] = Query(default_factory=list),
) -> dict[str, str]:
    return knowledge_handlers.set_documents_status(state, caller, dataset_id, document_id, action, api=False)


@kb.patch("/{dataset_id}/documents/{document_id}/processing/{action}")
def processing(dataset_id: str, document_id: str, action: str, caller: CurrentCaller, state: State) -> dict[str, str]:
    with queueing_session(state) as session:
        if action == "pause":
            documents.pause(session, caller=caller, dataset_id=dataset_id, document_id=document_id)
        elif action == "resume":
            documents.resume(session, caller=caller, dataset_id=dataset_id, document_id=document_id)
            index_later(state, session, document_id)
        else:
            raise InvalidParamError("action must be pause or resume.", params="action")
    return {"result": "success"}


@kb.get("/{dataset_id}/documents/{document_id}/segments")
def list_segments(
    dataset_id: str,
    document_id: str,
    caller: CurrentCaller,
    state: State,
    page: int = Query(1),
    limit: int = Query(20),
    keyword: str | None = None,
    status: list[str] | None = Query(None),
) -> dict[str, Any]:
    data, total, doc_form = knowledge_handlers.list_segments(
        state, caller, dataset_id, document_id, statuses=status, keyword=keyword, page=page, limit=limit, api=False
    )
    return {
        "data": data,
        "limit": limit,
        "total": total,
        "total_pages": (total + limit - 1) // limit,
        "page": page,
        "doc_form": doc_form,
        "has_more": page * limit < total,
    }


@kb.post("/{dataset_id}/documents/{document_id}/segment")
def add_segment(
    dataset_id: str, document_id: str, body: SegmentBody, caller: CurrentCaller, state: State
) -> dict[str, Any]:
    data, doc_form = knowledge_handlers.add_segments(
        state, caller, dataset_id, document_id, [body.model_dump()], api=False
    )
    return {"data": data[0], "doc_form": doc_form}


@kb.patch("/{dataset_id}/documents/{document_id}/segments/{segment_id}")
def edit_segment(
    dataset_id: str, document_id: str, segment_id: str, body: SegmentBody, caller: CurrentCaller, state: State
) -> dict[str, Any]:
    return knowledge_handlers.update_segment(
        state, caller, dataset_id, document_id, segment_id, body.model_dump(), api=False
    )


@kb.patch("/{dataset_id}/documents/{document_id}/segment/{action}")
def segment_action(
    dataset_id: str,
    document_id: str,
    action: str,
    caller: CurrentCaller,
    state: State,
    segment_id: list[str] = Query(default_factory=list),
) -> dict[str, str]:
    if action not in ("enable", "disable"):
        raise InvalidParamError("action must be enable or disable.", params="action")
    with queueing_session(state) as session:
        for sid in segment_id:
            segments.update(
                session,
                caller=caller,
                dataset_id=dataset_id,
                document_id=document_id,
                segment_id=sid,
                changes={"enabled": action == "enable"},
            )
        sync_later(state, session, document_id)
    return {"result": "success"}


@kb.delete("/{dataset_id}/documents/{document_id}/segments", status_code=204)
def delete_segments(
    dataset_id: str,
    document_id: str,
    caller: CurrentCaller,
    state: State,
    segment_id: list[str] = Query(default_factory=list),
) -> Response:
    knowledge_handlers.delete_segments(state, caller, dataset_id, document_id, segment_id, api=False)
    return Response(status_code=204)


class RetryBody(BaseModel):
    document_ids: list[str]


@kb.post("/{dataset_id}/retry", status_code=204)
def retry_documents(dataset_id: str, body: RetryBody, caller: CurrentCaller, state: State) -> Response:
    """Index failed (or paused) documents again from the start."""
    with queueing_session(state) as session:
        for document_id in body.document_ids:
            documents.resume(session, caller=caller, dataset_id=dataset_id, document_id=document_id)
            index_later(state, session, document_id)
    return Response(status_code=204)


@kb.post("/{dataset_id}/hit-testing")
async def hit_testing(dataset_id: str, body: HitTestingBody, caller: CurrentCaller, state: State) -> dict[str, Any]:
    """Hit-testing from the console: the same answer as the Service API's `/retrieve`."""
    return await run_hit_testing(state, caller, dataset_id, body, api=False)


# -- child chunks -----------------------------------------------------------------------------------

_CHILDREN = "/{dataset_id}/documents/{document_id}/segments/{segment_id}/child_chunks"


class ChildChunksBatch(BaseModel):
    chunks: Any = None


@kb.get(_CHILDREN)
def list_child_chunks(
    dataset_id: str,
    document_id: str,
    segment_id: str,
    caller: CurrentCaller,
    state: State,
    keyword: str | None = None,
    page: int = Query(1),
    limit: int = Query(20),
) -> dict[str, Any]:
    return knowledge_handlers.list_child_chunks(
        state, caller, dataset_id, document_id, segment_id, keyword=keyword, page=page, limit=limit, api=False
    )


@kb.post(_CHILDREN)
def create_child_chunk(
    dataset_id: str, document_id: str, segment_id: str, body: ChildChunkBody, caller: CurrentCaller, state: State
) -> dict[str, Any]:
    return knowledge_handlers.create_child_chunk(
        state, caller, dataset_id, document_id, segment_id, body.content, api=False
    )


@kb.patch(_CHILDREN)
def replace_child_chunks(
    dataset_id: str, document_id: str, segment_id: str, body: ChildChunksBatch, caller: CurrentCaller, state: State
) -> dict[str, Any]:
    """The console's batch edit of a segment's child chunks (`{chunks: [{id?, content}]}`)."""
    with queueing_session(state) as session:
        kept = segments.replace_children(
            session,
            caller=caller,
            dataset_id=dataset_id,
            document_id=document_id,
            segment_id=segment_id,
            chunks=body.chunks,
        )
        sync_later(state, session, document_id)
        return {"data": [child_public(c) for c in kept]}


@kb.patch(_CHILDREN + "/{child_chunk_id}")
def update_child_chunk(
    dataset_id: str,
    document_id: str,
    segment_id: str,
    child_chunk_id: str,
    body: ChildChunkBody,
    caller: CurrentCaller,
    state: State,
) -> dict[str, Any]:
    return knowledge_handlers.update_child_chunk(
        state, caller, dataset_id, document_id, segment_id, child_chunk_id, body.content, api=False
    )


@kb.delete(_CHILDREN + "/{child_chunk_id}", status_code=204)
def delete_child_chunk(
    dataset_id: str, document_id: str, segment_id: str, child_chunk_id: str, caller: CurrentCaller, state: State
) -> Response:
    knowledge_handlers.delete_child_chunk(state, caller, dataset_id, document_id, segment_id, child_chunk_id, api=False)
    return Response(status_code=204)


# -- metadata ---------------------------------------------------------------------------------------


@kb.get("/metadata/built-in")
@kb.get("/{dataset_id}/metadata/built-in", include_in_schema=False)
def built_in_metadata() -> dict[str, Any]:
    return {"fields": metadata.built_in_fields()}


@kb.post("/{dataset_id}/metadata", status_code=201)
def create_metadata(dataset_id: str, body: MetadataCreate, caller: CurrentCaller, state: State) -> dict[str, Any]:
    return knowledge_handlers.create_metadata(state, caller, dataset_id, body, api=False)


@kb.get("/{dataset_id}/metadata")
def list_metadata(dataset_id: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    return knowledge_handlers.list_metadata(state, caller, dataset_id, api=False)


@kb.post("/{dataset_id}/metadata/built-in/{action}")
def toggle_built_in_metadata(dataset_id: str, action: str, caller: CurrentCaller, state: State) -> dict[str, str]:
    return knowledge_handlers.toggle_built_in_metadata(state, caller, dataset_id, action, api=False)


@kb.patch("/{dataset_id}/metadata/{metadata_id}")
def rename_metadata(
    dataset_id: str, metadata_id: str, body: MetadataRename, caller: CurrentCaller, state: State
) -> dict[str, Any]:
    return knowledge_handlers.rename_metadata(state, caller, dataset_id, metadata_id, body, api=False)


@kb.delete("/{dataset_id}/metadata/{metadata_id}", status_code=204)
def delete_metadata(dataset_id: str, metadata_id: str, caller: CurrentCaller, state: State) -> Response:
    knowledge_handlers.delete_metadata(state, caller, dataset_id, metadata_id, api=False)
    return Response(status_code=204)


@kb.post("/{dataset_id}/documents/metadata")
def set_documents_metadata(
    dataset_id: str, body: DocumentsMetadata, caller: CurrentCaller, state: State
) -> dict[str, str]:
    return knowledge_handlers.set_documents_metadata(state, caller, dataset_id, body, api=False)


@kb.get("/{dataset_id}/tags")
def get_dataset_tags(dataset_id: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    return knowledge_handlers.dataset_tags(state, caller, dataset_id, api=False)


router.include_router(kb)


# -- tags (Dify's console paths: `/tags`, `/tag-bindings/create|remove`) ----------------------------


class TagBody(BaseModel):
    name: Any = None
    type: Any = None


class TagBindingBody(BaseModel):
    tag_ids: Any = None
    target_id: Any = None
    type: Any = None


class TagUnbindingBody(BaseModel):
    tag_id: Any = None
    target_id: Any = None
    type: Any = None


@router.get("/tags")
def list_tags(
    caller: CurrentCaller, state: State, type: str = "knowledge", keyword: str | None = None
) -> list[dict[str, Any]]:
    with state.db.session() as session:
        return tags.list_tags(session, caller=caller, kind=type, keyword=keyword)


@router.post("/tags")
def create_tag(body: TagBody, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        return tags.tag_public(tags.create(session, caller=caller, name=body.name, kind=body.type))


@router.patch("/tags/{tag_id}")
def update_tag(tag_id: str, body: TagBody, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        return tags.rename(session, caller=caller, tag_id=tag_id, name=body.name)


@router.delete("/tags/{tag_id}", status_code=204)
def delete_tag(tag_id: str, caller: CurrentCaller, state: State) -> Response:
    with state.db.session() as session:
        tags.remove(session, caller=caller, tag_id=tag_id)
    return Response(status_code=204)


@router.post("/tag-bindings/create")
def bind_tags(body: TagBindingBody, caller: CurrentCaller, state: State) -> dict[str, str]:
    with state.db.session() as session:
        tags.bind(session, caller=caller, tag_ids=body.tag_ids, target_id=body.target_id)
    return {"result": "success"}


@router.post("/tag-bindings/remove")
def unbind_tag(body: TagUnbindingBody, caller: CurrentCaller, state: State) -> dict[str, str]:
    with state.db.session() as session:
        tags.unbind(session, caller=caller, tag_id=body.tag_id, target_id=body.target_id)
    return {"result": "success"}
