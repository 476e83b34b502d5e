"""The knowledge routes that the Service API (`/v1/datasets…`) and the console have alike.

Both APIs offer the same dataset, document, segment, child-chunk and metadata operations under their
own paths and auth. Each route parses its request and calls one function here, which opens the
session, calls the knowledge services, queues the index jobs and returns Dify's JSON. `api=True` is
the Service API's view (a dataset key sees every dataset of its workspace whose API is enabled),
`api=False` the console member's (the datasets their permissions show).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import Request
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from loomworks.api.deps import ServerState
from loomworks.api.knowledge_views import (
    child_public,
    children_page,
    datasets_public,
    document_detail,
    documents_public,
    external_hit_testing_public,
    hit_testing_public,
    indexing_status_public,
    segment_public,
    upload_file_public,
)
from loomworks.core.errors import InvalidParamError
from loomworks.services.caller import Caller
from loomworks.services.knowledge import datasets, documents, indexing, metadata, retrieval, segments, tags


class ChildChunkBody(BaseModel):
    content: Any = None


class MetadataCreate(BaseModel):
    type: Any = None
    name: Any = None


class MetadataRename(BaseModel):
    name: Any = None


class DocumentsMetadata(BaseModel):
    operation_data: Any = None


class HitTestingBody(BaseModel):
    query: Any = None
    retrieval_model: dict[str, Any] | None = None
    external_retrieval_model: dict[str, Any] | None = None
    metadata_filtering_conditions: dict[str, Any] | None = None
    metadata_filtering_mode: str | None = None


# -- the knowledge runtime and its jobs -------------------------------------------------------------


def knowledge_runtime(state: ServerState) -> indexing.KnowledgeRuntime:
    """The process's knowledge runtime; the app factory sets it (with the model seams) and registers its jobs.

    Built here on first use, with the server's embedding seam, when the factory did not.
    """
    runtime = state.extras.get("knowledge")
    if runtime is None:
        runtime = indexing.KnowledgeRuntime.from_settings(
            state.settings, state.db, state.storage, embed=state.extras.get("embed")
        )
        state.extras["knowledge"] = runtime
    # External knowledge calls go through the server's one SSRF-safe client and open keys with its keyring.
    if runtime.http is None:
        runtime.http = state.extras.get("http_client")
    if runtime.keyring is None:
        runtime.keyring = state.keyring
    return runtime


def forget_document(state: ServerState, dataset_id: str, document_id: str) -> None:
    """Remove a deleted document's index entries (after its rows are gone; retrieval ignores them meanwhile)."""
    runtime = knowledge_runtime(state)
    runtime.vectors.delete_documents(dataset_id, [document_id])
    with state.db.session() as session:
        runtime.keywords.delete_documents(session.connection(), dataset_id, [document_id])


def index_later(state: ServerState, session: Session, document_id: str) -> None:
    """Queue the (re-)indexing of one document in the caller's transaction (see `queueing_session`)."""
    state.extras["jobs"].enqueue_in(session, documents.INDEX_JOB, {"document_id": document_id}, dedupe_key=document_id)


def sync_later(state: ServerState, session: Session, document_id: str) -> None:
    """Queue the index sync of one document in the caller's transaction (see `queueing_session`)."""
    state.extras["jobs"].enqueue_in(session, segments.SYNC_JOB, {"document_id": document_id})


@contextmanager
def queueing_session(state: ServerState) -> Iterator[Session]:
    """A session for changes that queue jobs (`index_later`, `sync_later`): once the block's transaction
    has committed, the job runner is woken to take them (not when it rolls back)."""
    with state.db.session() as session:
        yield session
    state.extras["jobs"].wake()


async def run_hit_testing(
    state: ServerState, caller: Caller, dataset_id: str, body: HitTestingBody, *, api: bool
) -> dict[str, Any]:
    """Check access to the dataset, then retrieve (shared by the Service API and the console)."""
    if not isinstance(body.query, str):
        raise InvalidParamError("query is required.", params="query")

    def check() -> Any:
        with state.db.session() as session:
            dataset = datasets.get(session, caller=caller, dataset_id=dataset_id, api=api)
            session.expunge(dataset)
            return dataset

    dataset = await run_in_threadpool(check)
    if dataset.provider == "external":
        if not body.query.strip():
            raise InvalidParamError("query is required.", params="query")
        found = await retrieval.external_records(
            knowledge_runtime(state), dataset, body.query, body.external_retrieval_model
        )
        return external_hit_testing_public(body.query, found)
    records = await retrieval.retrieve(
        knowledge_runtime(state),
        tenant_id=caller.tenant_id,
        dataset_ids=[dataset_id],
        query=body.query,
        retrieval_model=body.retrieval_model,
        metadata_filtering_conditions=body.metadata_filtering_conditions,
        metadata_filtering_mode=body.metadata_filtering_mode,
    )
    return hit_testing_public(body.query, records)


# -- datasets ---------------------------------------------------------------------------------------


def dataset_tag_ids(request: Request) -> list[str]:
    """`tag_ids` of a dataset list: repeated (`tag_ids=a&tag_ids=b`), as `tag_ids[]`, or comma-separated."""
    raw = [*request.query_params.getlist("tag_ids"), *request.query_params.getlist("tag_ids[]")]
    return [t.strip() for value in raw for t in value.split(",") if t.strip()]


def list_datasets(
    state: ServerState,
    caller: Caller,
    request: Request,
    *,
    page: int,
    limit: int,
    keyword: str | None,
    include_all: bool,
    api: bool,
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
            api=api,
        )
        return {
            "data": datasets_public(session, result.items),
            "has_more": result.has_more,
            "limit": result.limit,
            "total": result.total,
            "page": result.page,
        }


def get_dataset(state: ServerState, caller: Caller, dataset_id: str, *, api: bool) -> dict[str, Any]:
    with state.db.session() as session:
        return datasets_public(session, [datasets.get(session, caller=caller, dataset_id=dataset_id, api=api)])[0]


def delete_dataset(state: ServerState, caller: Caller, dataset_id: str, *, api: bool) -> None:
    """Delete the dataset's rows and queue the drop of its indexes."""
    with queueing_session(state) as session:
        datasets.remove(session, caller=caller, dataset_id=dataset_id, api=api)
        state.extras["jobs"].enqueue_in(session, indexing.DROP_JOB, {"dataset_id": dataset_id})


# -- documents --------------------------------------------------------------------------------------


def list_documents(
    state: ServerState,
    caller: Caller,
    dataset_id: str,
    *,
    page: int,
    limit: int,
    keyword: str | None,
    status: str | None,
    progress: bool,
    api: bool,
) -> dict[str, Any]:
    """A page of documents; `progress` adds each one's `completed_segments` and `total_segments`."""
    with state.db.session() as session:
        rows, total = documents.list_page(
            session,
            caller=caller,
            dataset_id=dataset_id,
            page=page,
            limit=limit,
            keyword=keyword,
            status=status,
            api=api,
        )
        dataset = datasets.get(session, caller=caller, dataset_id=dataset_id, api=api)
        data = documents_public(session, dataset, rows)
        if progress:
            counts = documents.completed_segments(session, [d.id for d in rows])
            for body in data:
                body["completed_segments"], body["total_segments"] = counts[body["id"]]
        return {"data": data, "has_more": page * limit < total, "limit": limit, "total": total, "page": page}


def batch_indexing_status(
    state: ServerState, caller: Caller, dataset_id: str, batch: str, *, api: bool
) -> dict[str, Any]:
    with state.db.session() as session:
        rows = documents.by_batch(session, caller=caller, dataset_id=dataset_id, batch=batch, api=api)
        counts = documents.completed_segments(session, [d.id for d in rows])
        return {"data": [indexing_status_public(d, *counts[d.id]) for d in rows]}


def get_document(
    state: ServerState, caller: Caller, dataset_id: str, document_id: str, *, shown: str, api: bool
) -> dict[str, Any]:
    with state.db.session() as session:
        document = documents.get(session, caller=caller, dataset_id=dataset_id, document_id=document_id, api=api)
        dataset = datasets.get(session, caller=caller, dataset_id=dataset_id, api=api)
        return document_detail(session, dataset, document, shown)


def get_upload_file(
    state: ServerState, caller: Caller, dataset_id: str, document_id: str, *, api: bool
) -> dict[str, Any]:
    with state.db.session() as session:
        row = documents.upload_file(session, caller=caller, dataset_id=dataset_id, document_id=document_id, api=api)
        return upload_file_public(state.auth.secret_key, row)


def delete_document(state: ServerState, caller: Caller, dataset_id: str, document_id: str, *, api: bool) -> None:
    with state.db.session() as session:
        document = documents.remove(session, caller=caller, dataset_id=dataset_id, document_id=document_id, api=api)
    forget_document(state, document.dataset_id, document.id)


def set_documents_status(
    state: ServerState, caller: Caller, dataset_id: str, document_ids: list[str], action: str, *, api: bool
) -> dict[str, str]:
    """Enable, disable, archive or un-archive documents, and queue the sync of their indexes."""
    with queueing_session(state) as session:
        documents.set_status(
            session, caller=caller, dataset_id=dataset_id, document_ids=document_ids, action=action, api=api
        )
        for document_id in document_ids:
            sync_later(state, session, document_id)
    return {"result": "success"}


# -- segments ---------------------------------------------------------------------------------------


def list_segments(
    state: ServerState,
    caller: Caller,
    dataset_id: str,
    document_id: str,
    *,
    statuses: list[str] | None,
    keyword: str | None,
    page: int,
    limit: int,
    api: bool,
) -> tuple[list[dict[str, Any]], int, str]:
    """A page of a document's segments with their child chunks: `(data, total, doc_form)`."""
    with state.db.session() as session:
        rows, total, document = segments.list_page(
            session,
            caller=caller,
            dataset_id=dataset_id,
            document_id=document_id,
            statuses=statuses,
            keyword=keyword,
            page=page,
            limit=limit,
            api=api,
        )
        return [segment_public(s, segments.child_chunks(session, segment=s)) for s in rows], total, document.doc_form


def add_segments(
    state: ServerState, caller: Caller, dataset_id: str, document_id: str, items: list[Any], *, api: bool
) -> tuple[list[dict[str, Any]], str]:
    """Add segments to a document and queue its index sync: `(data, doc_form)`."""
    with queueing_session(state) as session:
        created, document = segments.add(
            session, caller=caller, dataset_id=dataset_id, document_id=document_id, items=items, api=api
        )
        sync_later(state, session, document.id)
        return [segment_public(s) for s in created], document.doc_form


def update_segment(
    state: ServerState,
    caller: Caller,
    dataset_id: str,
    document_id: str,
    segment_id: str,
    changes: dict[str, Any],
    *,
    api: bool,
) -> dict[str, Any]:
    with queueing_session(state) as session:
        segment = segments.update(
            session,
            caller=caller,
            dataset_id=dataset_id,
            document_id=document_id,
            segment_id=segment_id,
            changes=changes,
            api=api,
        )
        sync_later(state, session, segment.document_id)
        document = documents.get(session, caller=caller, dataset_id=dataset_id, document_id=document_id, api=api)
        return {"data": segment_public(segment), "doc_form": document.doc_form}


def delete_segments(
    state: ServerState, caller: Caller, dataset_id: str, document_id: str, segment_ids: list[str], *, api: bool
) -> None:
    with queueing_session(state) as session:
        for segment_id in segment_ids:
            segments.remove(
                session, caller=caller, dataset_id=dataset_id, document_id=document_id, segment_id=segment_id, api=api
            )
        sync_later(state, session, document_id)


# -- child chunks (parent-child documents) ----------------------------------------------------------


def list_child_chunks(
    state: ServerState,
    caller: Caller,
    dataset_id: str,
    document_id: str,
    segment_id: str,
    *,
    keyword: str | None,
    page: int,
    limit: int,
    api: bool,
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
            api=api,
        )
        return children_page(rows, total, page, limit)


def create_child_chunk(
    state: ServerState, caller: Caller, dataset_id: str, document_id: str, segment_id: str, content: Any, *, api: bool
) -> dict[str, Any]:
    with queueing_session(state) as session:
        chunk = segments.add_child(
            session,
            caller=caller,
            dataset_id=dataset_id,
            document_id=document_id,
            segment_id=segment_id,
            content=content,
            api=api,
        )
        sync_later(state, session, chunk.document_id)
        return {"data": child_public(chunk)}


def update_child_chunk(
    state: ServerState,
    caller: Caller,
    dataset_id: str,
    document_id: str,
    segment_id: str,
    child_chunk_id: str,
    content: Any,
    *,
    api: bool,
) -> dict[str, Any]:
    with queueing_session(state) as session:
        chunk = segments.update_child(
            session,
            caller=caller,
            dataset_id=dataset_id,
            document_id=document_id,
            segment_id=segment_id,
            child_chunk_id=child_chunk_id,
            content=content,
            api=api,
        )
        sync_later(state, session, chunk.document_id)
        return {"data": child_public(chunk)}


def delete_child_chunk(
    state: ServerState,
    caller: Caller,
    dataset_id: str,
    document_id: str,
    segment_id: str,
    child_chunk_id: str,
    *,
    api: bool,
) -> None:
    with queueing_session(state) as session:
        chunk = segments.remove_child(
            session,
            caller=caller,
            dataset_id=dataset_id,
            document_id=document_id,
            segment_id=segment_id,
            child_chunk_id=child_chunk_id,
            api=api,
        )
        sync_later(state, session, chunk.document_id)


# -- metadata and a dataset's tags ------------------------------------------------------------------


def create_metadata(
    state: ServerState, caller: Caller, dataset_id: str, body: MetadataCreate, *, api: bool
) -> dict[str, Any]:
    with state.db.session() as session:
        field = metadata.create(session, caller=caller, dataset_id=dataset_id, kind=body.type, name=body.name, api=api)
        return metadata.field_public(field)


def list_metadata(state: ServerState, caller: Caller, dataset_id: str, *, api: bool) -> dict[str, Any]:
    with state.db.session() as session:
        return metadata.list_fields(session, caller=caller, dataset_id=dataset_id, api=api)


def toggle_built_in_metadata(
    state: ServerState, caller: Caller, dataset_id: str, action: str, *, api: bool
) -> dict[str, str]:
    with state.db.session() as session:
        metadata.set_built_in(session, caller=caller, dataset_id=dataset_id, action=action, api=api)
    return {"result": "success"}


def rename_metadata(
    state: ServerState, caller: Caller, dataset_id: str, metadata_id: str, body: MetadataRename, *, api: bool
) -> dict[str, Any]:
    with state.db.session() as session:
        field = metadata.rename(
            session, caller=caller, dataset_id=dataset_id, metadata_id=metadata_id, name=body.name, api=api
        )
        return metadata.field_public(field)


def delete_metadata(state: ServerState, caller: Caller, dataset_id: str, metadata_id: str, *, api: bool) -> None:
    with state.db.session() as session:
        metadata.remove(session, caller=caller, dataset_id=dataset_id, metadata_id=metadata_id, api=api)


def set_documents_metadata(
    state: ServerState, caller: Caller, dataset_id: str, body: DocumentsMetadata, *, api: bool
) -> dict[str, str]:
    with state.db.session() as session:
        metadata.update_documents(
            session, caller=caller, dataset_id=dataset_id, operation_data=body.operation_data, api=api
        )
    return {"result": "success"}


def dataset_tags(state: ServerState, caller: Caller, dataset_id: str, *, api: bool) -> dict[str, Any]:
    with state.db.session() as session:
        dataset = datasets.get(session, caller=caller, dataset_id=dataset_id, api=api)
        return tags.dataset_tags(session, dataset=dataset)
