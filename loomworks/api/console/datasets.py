"""Knowledge in the console (Dify's console paths): datasets, documents from uploads, segments, child
chunks, metadata, tags (`/tags`, `/tag-bindings/…`) and actions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy import select

from loomworks.api.console import external_knowledge
from loomworks.api.deps import CurrentCaller, State
from loomworks.api.knowledge_views import (
    child_public,
    dataset_public,
    document_public,
    indexing_status_public,
    segment_public,
)
from loomworks.api.service.datasets import (
    ChildChunkBody,
    DocumentsMetadata,
    HitTestingBody,
    MetadataCreate,
    MetadataRename,
    children_page,
    dataset_tag_ids,
    datasets_public,
    document_detail,
    documents_public,
    forget_document,
    run_hit_testing,
    sync_later,
    upload_file_public,
)
from loomworks.core.clock import to_timestamp
from loomworks.core.errors import InvalidParamError, NotFoundError
from loomworks.services.knowledge import datasets, documents, indexing, metadata, segments, tags
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


def _jobs(state: Any) -> Any:
    return state.extras["jobs"]


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
    with state.db.session() as session:
        result = datasets.list_page(
            session,
            caller=caller,
            page=page,
            limit=limit,
            keyword=keyword,
            tag_ids=dataset_tag_ids(request),
            include_all=include_all,
        )
        return {
            "data": datasets_public(session, result.items),
            "has_more": result.has_more,
            "limit": result.limit,
            "total": result.total,
            "page": result.page,
        }


@kb.post("", status_code=201)
def create_dataset(body: DatasetCreate, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        return dataset_public(datasets.create(session, caller=caller, **body.model_dump()))


@kb.get("/{dataset_id}")
def get_dataset(dataset_id: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        return datasets_public(session, [datasets.get(session, caller=caller, dataset_id=dataset_id)])[0]


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
    with state.db.session() as session:
        datasets.remove(session, caller=caller, dataset_id=dataset_id)
        _jobs(state).enqueue_in(session, indexing.DROP_JOB, {"dataset_id": dataset_id})
    _jobs(state).wake()
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
    with state.db.session() as session:
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
            _jobs(state).enqueue_in(
                session, documents.INDEX_JOB, {"document_id": new.document.id}, dedupe_key=new.document.id
            )
        dataset = datasets.get(session, caller=caller, dataset_id=dataset_id)
        result = {
            "dataset": dataset_public(dataset),
            "documents": [document_public(d) for d in created],
            "batch": batch,
        }
    _jobs(state).wake()
    return result


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
    with state.db.session() as session:
        rows, total = documents.list_page(
            session, caller=caller, dataset_id=dataset_id, page=page, limit=limit, keyword=keyword, status=status
        )
        dataset = datasets.get(session, caller=caller, dataset_id=dataset_id)
        counts = documents.completed_segments(session, [d.id for d in rows])
        data = documents_public(session, dataset, rows)
        for body in data:
            body["completed_segments"], body["total_segments"] = counts[body["id"]]
        return {"data": data, "has_more": page * limit < total, "limit": limit, "total": total, "page": page}


@kb.get("/{dataset_id}/batch/{batch}/indexing-status")
def batch_status(dataset_id: str, batch: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        rows = documents.by_batch(session, caller=caller, dataset_id=dataset_id, batch=batch)
        counts = documents.completed_segments(session, [d.id for d in rows])
        return {"data": [indexing_status_public(d, *counts[d.id]) for d in rows]}


@kb.get("/{dataset_id}/documents/{document_id}")
def get_document(
    dataset_id: str,
    document_id: str,
    caller: CurrentCaller,
    state: State,
    shown: str = Query("all", alias="metadata"),
) -> dict[str, Any]:
    with state.db.session() as session:
        document = documents.get(session, caller=caller, dataset_id=dataset_id, document_id=document_id)
        dataset = datasets.get(session, caller=caller, dataset_id=dataset_id)
        return document_detail(session, dataset, document, shown)


@kb.get("/{dataset_id}/documents/{document_id}/upload-file")
def get_upload_file(dataset_id: str, document_id: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        row = documents.upload_file(session, caller=caller, dataset_id=dataset_id, document_id=document_id)
        return upload_file_public(state.auth.secret_key, row)


@kb.get("/{dataset_id}/documents/{document_id}/indexing-status")
def document_status(dataset_id: str, document_id: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        document = documents.get(session, caller=caller, dataset_id=dataset_id, document_id=document_id)
        return indexing_status_public(document, *documents.completed_segments(session, [document.id])[document.id])


@kb.delete("/{dataset_id}/documents/{document_id}", status_code=204)
def delete_document(dataset_id: str, document_id: str, caller: CurrentCaller, state: State) -> Response:
    with state.db.session() as session:
        document = documents.remove(session, caller=caller, dataset_id=dataset_id, document_id=document_id)
    forget_document(state, document.dataset_id, document.id)
    return Response(status_code=204)


@kb.patch("/{dataset_id}/documents/status/{action}/batch")
def documents_action(
    dataset_id: str,
    action: str,
    caller: CurrentCaller,
    state: State,
    document_id: list[str] = Query(default_factory=list),
) -> dict[str, str]:
    with state.db.session() as session:
        documents.set_status(session, caller=caller, dataset_id=dataset_id, document_ids=document_id, action=action)
        for doc in document_id:
            _jobs(state).enqueue_in(session, segments.SYNC_JOB, {"document_id": doc})
    _jobs(state).wake()
    return {"result": "success"}


@kb.patch("/{dataset_id}/documents/{document_id}/processing/{action}")
def processing(dataset_id: str, document_id: str, action: str, caller: CurrentCaller, state: State) -> dict[str, str]:
    with state.db.session() as session:
        if action == "pause":
            documents.pause(session, caller=caller, dataset_id=dataset_id, document_id=document_id)
        elif action == "resume":
            documents.resume(session, caller=caller, dataset_id=dataset_id, document_id=document_id)
            _jobs(state).enqueue_in(session, documents.INDEX_JOB, {"document_id": document_id}, dedupe_key=document_id)
        else:
            raise InvalidParamError("action must be pause or resume.", params="action")
    _jobs(state).wake()
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
    with state.db.session() as session:
        rows, total, document = segments.list_page(
            session,
            caller=caller,
            dataset_id=dataset_id,
            document_id=document_id,
            statuses=status,
            keyword=keyword,
            page=page,
            limit=limit,
        )
        return {
            "data": [segment_public(s, segments.child_chunks(session, segment=s)) for s in rows],
            "limit": limit,
            "total": total,
            "total_pages": (total + limit - 1) // limit,
            "page": page,
            "doc_form": document.doc_form,
            "has_more": page * limit < total,
        }


@kb.post("/{dataset_id}/documents/{document_id}/segment")
def add_segment(
    dataset_id: str, document_id: str, body: SegmentBody, caller: CurrentCaller, state: State
) -> dict[str, Any]:
    with state.db.session() as session:
        created, document = segments.add(
            session, caller=caller, dataset_id=dataset_id, document_id=document_id, items=[body.model_dump()]
        )
        _jobs(state).enqueue_in(session, segments.SYNC_JOB, {"document_id": document.id})
        result = {"data": segment_public(created[0]), "doc_form": document.doc_form}
    _jobs(state).wake()
    return result


@kb.patch("/{dataset_id}/documents/{document_id}/segments/{segment_id}")
def edit_segment(
    dataset_id: str, document_id: str, segment_id: str, body: SegmentBody, caller: CurrentCaller, state: State
) -> dict[str, Any]:
    with state.db.session() as session:
        segment = segments.update(
            session,
            caller=caller,
            dataset_id=dataset_id,
            document_id=document_id,
            segment_id=segment_id,
            changes=body.model_dump(),
        )
        _jobs(state).enqueue_in(session, segments.SYNC_JOB, {"document_id": document_id})
        document = documents.get(session, caller=caller, dataset_id=dataset_id, document_id=document_id)
        result = {"data": segment_public(segment), "doc_form": document.doc_form}
    _jobs(state).wake()
    return result


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
    with state.db.session() as session:
        for sid in segment_id:
            segments.update(
                session,
                caller=caller,
                dataset_id=dataset_id,
                document_id=document_id,
                segment_id=sid,
                changes={"enabled": action == "enable"},
            )
        _jobs(state).enqueue_in(session, segments.SYNC_JOB, {"document_id": document_id})
    _jobs(state).wake()
    return {"result": "success"}


@kb.delete("/{dataset_id}/documents/{document_id}/segments", status_code=204)
def delete_segments(
    dataset_id: str,
    document_id: str,
    caller: CurrentCaller,
    state: State,
    segment_id: list[str] = Query(default_factory=list),
) -> Response:
    with state.db.session() as session:
        for sid in segment_id:
            segments.remove(session, caller=caller, dataset_id=dataset_id, document_id=document_id, segment_id=sid)
        _jobs(state).enqueue_in(session, segments.SYNC_JOB, {"document_id": document_id})
    _jobs(state).wake()
    return Response(status_code=204)


class RetryBody(BaseModel):
    document_ids: list[str]


@kb.post("/{dataset_id}/retry", status_code=204)
def retry_documents(dataset_id: str, body: RetryBody, caller: CurrentCaller, state: State) -> Response:
    """Index failed (or paused) documents again from the start."""
    with state.db.session() as session:
        for document_id in body.document_ids:
            documents.resume(session, caller=caller, dataset_id=dataset_id, document_id=document_id)
            _jobs(state).enqueue_in(session, documents.INDEX_JOB, {"document_id": document_id}, dedupe_key=document_id)
    _jobs(state).wake()
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
    with state.db.session() as session:
        rows, total = segments.list_children(
            session,
            caller=caller,
            dataset_id=dataset_id,
            document_id=document_id,
            segment_id=segment_id,
            keyword=keyword,
            page=page,
            limit=limit,
        )
        return children_page(rows, total, page, limit)


@kb.post(_CHILDREN)
def create_child_chunk(
    dataset_id: str, document_id: str, segment_id: str, body: ChildChunkBody, caller: CurrentCaller, state: State
) -> dict[str, Any]:
    with state.db.session() as session:
        chunk = segments.add_child(
            session,
            caller=caller,
            dataset_id=dataset_id,
            document_id=document_id,
            segment_id=segment_id,
            content=body.content,
        )
        sync_later(state, session, chunk.document_id)
        result = {"data": child_public(chunk)}
    _jobs(state).wake()
    return result


@kb.patch(_CHILDREN)
def replace_child_chunks(
    dataset_id: str, document_id: str, segment_id: str, body: ChildChunksBatch, caller: CurrentCaller, state: State
) -> dict[str, Any]:
    """The console's batch edit of a segment's child chunks (`{chunks: [{id?, content}]}`)."""
    with state.db.session() as session:
        kept = segments.replace_children(
            session,
            caller=caller,
            dataset_id=dataset_id,
            document_id=document_id,
            segment_id=segment_id,
            chunks=body.chunks,
        )
        sync_later(state, session, document_id)
        result = {"data": [child_public(c) for c in kept]}
    _jobs(state).wake()
    return result


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
    with state.db.session() as session:
        chunk = segments.update_child(
            session,
            caller=caller,
            dataset_id=dataset_id,
            document_id=document_id,
            segment_id=segment_id,
            child_chunk_id=child_chunk_id,
            content=body.content,
        )
        sync_later(state, session, chunk.document_id)
        result = {"data": child_public(chunk)}
    _jobs(state).wake()
    return result


@kb.delete(_CHILDREN + "/{child_chunk_id}", status_code=204)
def delete_child_chunk(
    dataset_id: str, document_id: str, segment_id: str, child_chunk_id: str, caller: CurrentCaller, state: State
) -> Response:
    with state.db.session() as session:
        chunk = segments.remove_child(
            session,
            caller=caller,
            dataset_id=dataset_id,
            document_id=document_id,
            segment_id=segment_id,
            child_chunk_id=child_chunk_id,
        )
        sync_later(state, session, chunk.document_id)
    _jobs(state).wake()
    return Response(status_code=204)


# -- metadata ---------------------------------------------------------------------------------------


@kb.get("/metadata/built-in")
@kb.get("/{dataset_id}/metadata/built-in", include_in_schema=False)
def built_in_metadata() -> dict[str, Any]:
    return {"fields": metadata.built_in_fields()}


@kb.post("/{dataset_id}/metadata", status_code=201)
def create_metadata(dataset_id: str, body: MetadataCreate, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        field = metadata.create(session, caller=caller, dataset_id=dataset_id, kind=body.type, name=body.name)
        return metadata.field_public(field)


@kb.get("/{dataset_id}/metadata")
def list_metadata(dataset_id: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        return metadata.list_fields(session, caller=caller, dataset_id=dataset_id)


@kb.post("/{dataset_id}/metadata/built-in/{action}")
def toggle_built_in_metadata(dataset_id: str, action: str, caller: CurrentCaller, state: State) -> dict[str, str]:
    with state.db.session() as session:
        metadata.set_built_in(session, caller=caller, dataset_id=dataset_id, action=action)
    return {"result": "success"}


@kb.patch("/{dataset_id}/metadata/{metadata_id}")
def rename_metadata(
    dataset_id: str, metadata_id: str, body: MetadataRename, caller: CurrentCaller, state: State
) -> dict[str, Any]:
    with state.db.session() as session:
        field = metadata.rename(session, caller=caller, dataset_id=dataset_id, metadata_id=metadata_id, name=body.name)
        return metadata.field_public(field)


@kb.delete("/{dataset_id}/metadata/{metadata_id}", status_code=204)
def delete_metadata(dataset_id: str, metadata_id: str, caller: CurrentCaller, state: State) -> Response:
    with state.db.session() as session:
        metadata.remove(session, caller=caller, dataset_id=dataset_id, metadata_id=metadata_id)
    return Response(status_code=204)


@kb.post("/{dataset_id}/documents/metadata")
def set_documents_metadata(
    dataset_id: str, body: DocumentsMetadata, caller: CurrentCaller, state: State
) -> dict[str, str]:
    with state.db.session() as session:
        metadata.update_documents(session, caller=caller, dataset_id=dataset_id, operation_data=body.operation_data)
    return {"result": "success"}


@kb.get("/{dataset_id}/tags")
def get_dataset_tags(dataset_id: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        dataset = datasets.get(session, caller=caller, dataset_id=dataset_id)
        return tags.dataset_tags(session, dataset=dataset)


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
