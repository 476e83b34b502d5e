"""The knowledge API (`/v1/datasets…`, dataset keys): datasets, documents, segments (spec §1.7)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as StarletteUpload

from loomworks.api.deps import DatasetCaller, State
from loomworks.api.knowledge_views import (
    child_public,
    dataset_public,
    document_public,
    indexing_status_public,
    segment_public,
)
from loomworks.api.responses import JsonResponse
from loomworks.core.clock import to_timestamp
from loomworks.core.errors import InvalidParamError, NoFileUploadedError, TooManyFilesError
from loomworks.services import files, message_files
from loomworks.services.caller import Caller
from loomworks.services.knowledge import datasets, documents, external, indexing, metadata, retrieval, segments, tags
from loomworks.store.tables import Dataset, Document, UploadFile

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


class DocumentText(BaseModel):
    name: str = ""
    text: str = ""
    indexing_technique: str | None = None
    doc_form: str | None = None
    doc_language: str | None = None
    process_rule: dict[str, Any] | None = None
    retrieval_model: dict[str, Any] | None = None
    embedding_model: str | None = None
    embedding_model_provider: str | None = None


class SegmentsCreate(BaseModel):
    segments: list[dict[str, Any]]


class SegmentUpdate(BaseModel):
    segment: dict[str, Any]


class StatusBody(BaseModel):
    document_ids: list[str]


class ChildChunkBody(BaseModel):
    content: Any = None


class MetadataCreate(BaseModel):
    type: Any = None
    name: Any = None


class MetadataRename(BaseModel):
    name: Any = None


class DocumentsMetadata(BaseModel):
    operation_data: Any = None


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


class HitTestingBody(BaseModel):
    query: Any = None
    retrieval_model: dict[str, Any] | None = None
    external_retrieval_model: dict[str, Any] | None = None
    metadata_filtering_conditions: dict[str, Any] | None = None
    metadata_filtering_mode: str | None = None


def knowledge_runtime(state: Any) -> indexing.KnowledgeRuntime:
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


def forget_document(state: Any, dataset_id: str, document_id: str) -> None:
    """Remove a deleted document's index entries (after its rows are gone; retrieval ignores them meanwhile)."""
    runtime = knowledge_runtime(state)
    runtime.vectors.delete_documents(dataset_id, [document_id])
    with state.db.session() as session:
        runtime.keywords.delete_documents(session.connection(), dataset_id, [document_id])


def hit_testing_public(query: str, records: list[retrieval.RetrievedRecord]) -> dict[str, Any]:
    """Dify's hit-testing answer: `{query: {content}, records: [{segment, child_chunks, score, tsne_position}]}`."""
    out = []
    for record in records:
        segment = segment_public(record.segment)
        segment["document"] = {
            "id": record.document.id,
            "data_source_type": record.document.data_source_type,
            "name": record.document.name,
            "doc_type": None,
            "doc_metadata": record.document.doc_metadata or None,
        }
        out.append(
            {
                "segment": segment,
                "child_chunks": [
                    {"id": c.id, "content": c.content, "position": c.position, "score": record.score}
                    for c in record.child_chunks
                ],
                "score": record.score,
                "tsne_position": None,
                "files": [],
            }
        )
    return {"query": {"content": query}, "records": out}


def external_hit_testing_public(query: str, records: list[external.ExternalRecord]) -> dict[str, Any]:
    """Dify's answer for an external dataset: `{query: {content}, records: [{content, title, score, metadata}]}`."""
    return {
        "query": {"content": query},
        "records": [
            {"content": r.content, "title": r.title, "score": r.score, "metadata": r.metadata} for r in records
        ],
    }


async def run_hit_testing(
    state: Any, caller: Caller, dataset_id: str, body: HitTestingBody, *, api: bool
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


def _enqueue_index(state: Any, session: Any, document_id: str) -> None:
    state.extras["jobs"].enqueue_in(session, documents.INDEX_JOB, {"document_id": document_id}, dedupe_key=document_id)


def datasets_public(session: Any, items: list[Dataset]) -> list[dict[str, Any]]:
    """Datasets as Dify lists them, with their counts, tags, metadata fields and the apps using them."""
    ids = [d.id for d in items]
    stats = datasets.stats(session, dataset_ids=ids)
    bound = tags.tags_of(session, ids)
    fields = metadata.dataset_fields(session, ids)
    using = datasets.using_apps(session, tenant_id=items[0].tenant_id, dataset_ids=ids) if items else {}
    out = []
    for d in items:
        body = dataset_public(d, stats[d.id])
        body.update(tags=bound[d.id], doc_metadata=fields[d.id], app_count=len(using[d.id]))
        out.append(body)
    return out


def dataset_tag_ids(request: Request) -> list[str]:
    """`tag_ids` of a dataset list: repeated (`tag_ids=a&tag_ids=b`), as `tag_ids[]`, or comma-separated."""
    raw = [*request.query_params.getlist("tag_ids"), *request.query_params.getlist("tag_ids[]")]
    return [t.strip() for value in raw for t in value.split(",") if t.strip()]


def documents_public(session: Any, dataset: Dataset, rows: list[Document]) -> list[dict[str, Any]]:
    """Documents with `doc_metadata` as Dify 1.x shows it: `[{id, name, type, value}]`."""
    details = metadata.documents_details(session, dataset, rows)
    return [{**document_public(d), "doc_metadata": details[d.id]} for d in rows]


def document_detail(session: Any, dataset: Dataset, document: Document, shown: str) -> dict[str, Any]:
    """`GET …/documents/:id?metadata=all|only|without` (Dify 1.x)."""
    if shown not in ("all", "only", "without"):
        raise metadata.InvalidMetadataError(f"Invalid metadata value: {shown}")
    details = metadata.document_details(session, dataset, document)
    if shown == "only":
        return {"id": document.id, "doc_type": None, "doc_metadata": details}
    count, words = documents.segment_stats(session, [document.id])[document.id]
    body = document_public(document)
    body.update(
        dataset_process_rule=dataset.process_rule,
        document_process_rule=document.process_rule,
        completed_at=to_timestamp(document.completed_at),
        updated_at=to_timestamp(document.updated_at),
        indexing_latency=document.indexing_latency,
        segment_count=count,
        average_segment_length=words // count if count else 0,
        doc_type=None,
        doc_metadata=details,
    )
    if shown == "without":
        del body["doc_type"], body["doc_metadata"]
    return body


def upload_file_public(secret: str, row: UploadFile) -> dict[str, Any]:
    """A document's original file, with a signed, short-lived preview link (and its download form)."""
    url = f"/files/{row.id}/file-preview?{message_files.sign(secret, row.id)}"
    return {
        "id": row.id,
        "name": row.name,
        "size": row.size,
        "extension": row.extension,
        "url": url,
        "download_url": f"{url}&as_attachment=true",
        "mime_type": row.mime_type,
        "created_by": row.created_by,
        "created_at": to_timestamp(row.created_at),
    }


def children_page(rows: list[Any], total: int, page: int, limit: int) -> dict[str, Any]:
    return {
        "data": [child_public(c) for c in rows],
        "total": total,
        "total_pages": (total + limit - 1) // limit,
        "page": page,
        "limit": limit,
    }


def sync_later(state: Any, session: Any, document_id: str) -> None:
    """Queue the index sync of one document in the caller's transaction (wake the runner after commit)."""
    state.extras["jobs"].enqueue_in(session, segments.SYNC_JOB, {"document_id": document_id})


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
    with state.db.session() as session:
        result = datasets.list_page(
            session,
            caller=caller,
            page=page,
            limit=limit,
            keyword=keyword,
            tag_ids=dataset_tag_ids(request),
            include_all=include_all,
            api=True,
        )
        return {
            "data": datasets_public(session, result.items),
            "has_more": result.has_more,
            "limit": result.limit,
            "total": result.total,
            "page": result.page,
        }


@router.get("/{dataset_id}")
def get_dataset(dataset_id: str, caller: DatasetCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        return datasets_public(session, [datasets.get(session, caller=caller, dataset_id=dataset_id, api=True)])[0]


@router.patch("/{dataset_id}")
def update_dataset(dataset_id: str, body: dict[str, Any], caller: DatasetCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        dataset = datasets.update(session, caller=caller, dataset_id=dataset_id, changes=body, api=True)
        return datasets_public(session, [dataset])[0]


@router.delete("/{dataset_id}", status_code=204)
def delete_dataset(dataset_id: str, caller: DatasetCaller, state: State) -> Response:
    with state.db.session() as session:
        datasets.remove(session, caller=caller, dataset_id=dataset_id, api=True)
        state.extras["jobs"].enqueue_in(session, indexing.DROP_JOB, {"dataset_id": dataset_id})
    state.extras["jobs"].wake()
    return Response(status_code=204)


def _created(state: Any, caller: Caller, dataset_id: str, body: DocumentText, upload: Any = None) -> dict[str, Any]:
    with state.db.session() as session:
        record = None
        if upload is not None:
            filename, data = upload
            record = files.save_upload(
                session,
                state.storage,
                tenant_id=caller.tenant_id,
                filename=filename,
                data=data,
                created_by_role="account",
                created_by=caller.account_id,
                limits=state.size_limits,
                allowed_kinds=frozenset({"document"}),
            )
        new = documents.create(
            session,
            state.storage,
            caller=caller,
            dataset_id=dataset_id,
            name=body.name or (record.name if record else ""),
            text=body.text if record is None else None,
            upload=record,
            indexing_technique=body.indexing_technique,
            doc_form=body.doc_form,
            doc_language=body.doc_language,
            process_rule=body.process_rule,
            retrieval_model=body.retrieval_model,
            embedding_model=body.embedding_model,
            embedding_model_provider=body.embedding_model_provider,
            api=True,
        )
        _enqueue_index(state, session, new.document.id)
        result = {"document": document_public(new.document), "batch": new.batch}
    state.extras["jobs"].wake()
    return result


@router.post("/{dataset_id}/document/create-by-text")
@router.post("/{dataset_id}/document/create_by_text", include_in_schema=False)
def create_by_text(dataset_id: str, body: DocumentText, caller: DatasetCaller, state: State) -> dict[str, Any]:
    if not body.name:
        raise InvalidParamError("name is required.", params="name")
    return _created(state, caller, dataset_id, body)


async def _multipart(request: Request) -> tuple[tuple[str | None, bytes], DocumentText]:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise NoFileUploadedError()
    async with request.form(max_files=4, max_fields=16) as form:
        uploads = [v for v in form.getlist("file") if isinstance(v, StarletteUpload)]
        if not uploads:
            raise NoFileUploadedError()
        if len(uploads) > 1:
            raise TooManyFilesError()
        raw = form.get("data")
        try:
            data = json.loads(raw) if isinstance(raw, str) and raw else {}
        except json.JSONDecodeError as exc:
            raise InvalidParamError("data must be a JSON string.", params="data") from exc
        if not isinstance(data, dict):
            raise InvalidParamError("data must be a JSON object.", params="data")
        content = await uploads[0].read(64 * 1024 * 1024)
        return (uploads[0].filename, content), DocumentText(**data)


@router.post("/{dataset_id}/document/create-by-file")
@router.post("/{dataset_id}/document/create_by_file", include_in_schema=False)
async def create_by_file(dataset_id: str, request: Request, caller: DatasetCaller, state: State) -> dict[str, Any]:
    upload, body = await _multipart(request)
    return await run_in_threadpool(_created, state, caller, dataset_id, body, upload)


def _replace_text(
    state: Any, caller: Caller, dataset_id: str, document_id: str, body: DocumentText, upload: Any = None
) -> dict[str, Any]:
    with state.db.session() as session:
        document = documents.get(session, caller=caller, dataset_id=dataset_id, document_id=document_id, api=True)
        if document.indexing_status in documents.RUNNING:
            raise documents.DocumentIndexingError("Cannot update a document during indexing.")
        if upload is not None:
            filename, data = upload
            record = files.save_upload(
                session,
                state.storage,
                tenant_id=caller.tenant_id,
                filename=filename,
                data=data,
                created_by_role="account",
                created_by=caller.account_id,
                limits=state.size_limits,
                allowed_kinds=frozenset({"document"}),
            )
            document.source_text_key = record.key
            document.data_source_info = {"upload_file_id": record.id}
        elif body.text:
            key = f"datasets/{document.dataset_id}/{document.id}.txt"
            state.storage.save(key, body.text.encode())
            document.source_text_key = key
        if body.name:
            document.name = body.name[:255]
        if body.process_rule is not None:
            document.process_rule = documents.check_process_rule(body.process_rule)
        document.indexing_status, document.error, document.completed_at = "waiting", None, None
        _enqueue_index(state, session, document.id)
        dataset = datasets.get(session, caller=caller, dataset_id=dataset_id, api=True)
        result = {"document": documents_public(session, dataset, [document])[0], "batch": document.batch}
    state.extras["jobs"].wake()
    return result


@router.post("/{dataset_id}/documents/{document_id}/update-by-text")
@router.post("/{dataset_id}/documents/{document_id}/update_by_text", include_in_schema=False)
def update_by_text(
    dataset_id: str, document_id: str, body: DocumentText, caller: DatasetCaller, state: State
) -> dict[str, Any]:
    return _replace_text(state, caller, dataset_id, document_id, body)


@router.post("/{dataset_id}/documents/{document_id}/update-by-file")
@router.post("/{dataset_id}/documents/{document_id}/update_by_file", include_in_schema=False)
async def update_by_file(
    dataset_id: str, document_id: str, request: Request, caller: DatasetCaller, state: State
) -> dict[str, Any]:
    upload, body = await _multipart(request)
    return await run_in_threadpool(_replace_text, state, caller, dataset_id, document_id, body, upload)


@router.get("/{dataset_id}/documents/{batch}/indexing-status")
def indexing_status(dataset_id: str, batch: str, caller: DatasetCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        rows = documents.by_batch(session, caller=caller, dataset_id=dataset_id, batch=batch, api=True)
        counts = documents.completed_segments(session, [d.id for d in rows])
        return {"data": [indexing_status_public(d, *counts[d.id]) for d in rows]}


@router.get("/{dataset_id}/documents")
def list_documents(
    dataset_id: str,
    caller: DatasetCaller,
    state: State,
    page: int = Query(1),
    limit: int = Query(20),
    keyword: str | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    with state.db.session() as session:
        rows, total = documents.list_page(
            session,
            caller=caller,
            dataset_id=dataset_id,
            page=page,
            limit=limit,
            keyword=keyword,
            status=status,
            api=True,
        )
        dataset = datasets.get(session, caller=caller, dataset_id=dataset_id, api=True)
        return {
            "data": documents_public(session, dataset, rows),
            "has_more": page * limit < total,
            "limit": limit,
            "total": total,
            "page": page,
        }


@router.get("/{dataset_id}/documents/{document_id}")
def get_document(
    dataset_id: str,
    document_id: str,
    caller: DatasetCaller,
    state: State,
    shown: str = Query("all", alias="metadata"),
) -> dict[str, Any]:
    with state.db.session() as session:
        document = documents.get(session, caller=caller, dataset_id=dataset_id, document_id=document_id, api=True)
        dataset = datasets.get(session, caller=caller, dataset_id=dataset_id, api=True)
        return document_detail(session, dataset, document, shown)


@router.get("/{dataset_id}/documents/{document_id}/upload-file")
def get_upload_file(dataset_id: str, document_id: str, caller: DatasetCaller, state: State) -> dict[str, Any]:
    """The document's original file (Dify 1.x), with a signed preview link."""
    with state.db.session() as session:
        row = documents.upload_file(session, caller=caller, dataset_id=dataset_id, document_id=document_id, api=True)
        return upload_file_public(state.auth.secret_key, row)


@router.delete("/{dataset_id}/documents/{document_id}", status_code=204)
def delete_document(dataset_id: str, document_id: str, caller: DatasetCaller, state: State) -> Response:
    with state.db.session() as session:
        document = documents.remove(session, caller=caller, dataset_id=dataset_id, document_id=document_id, api=True)
    forget_document(state, document.dataset_id, document.id)
    return Response(status_code=204)


@router.patch("/{dataset_id}/documents/status/{action}")
def document_status(
    dataset_id: str, action: str, body: StatusBody, caller: DatasetCaller, state: State
) -> dict[str, str]:
    with state.db.session() as session:
        documents.set_status(
            session, caller=caller, dataset_id=dataset_id, document_ids=body.document_ids, action=action, api=True
        )
        for document_id in body.document_ids:
            state.extras["jobs"].enqueue_in(session, segments.SYNC_JOB, {"document_id": document_id})
    state.extras["jobs"].wake()
    return {"result": "success"}


@router.post("/{dataset_id}/documents/{document_id}/segments")
def add_segments(
    dataset_id: str, document_id: str, body: SegmentsCreate, caller: DatasetCaller, state: State
) -> dict[str, Any]:
    with state.db.session() as session:
        created, document = segments.add(
            session, caller=caller, dataset_id=dataset_id, document_id=document_id, items=body.segments, api=True
        )
        state.extras["jobs"].enqueue_in(session, segments.SYNC_JOB, {"document_id": document.id})
        result = {"data": [segment_public(s) for s in created], "doc_form": document.doc_form}
    state.extras["jobs"].wake()
    return result


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
            api=True,
        )
        return {
            "data": [segment_public(s, segments.child_chunks(session, segment=s)) for s in rows],
            "doc_form": document.doc_form,
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
    with state.db.session() as session:
        segment = segments.update(
            session,
            caller=caller,
            dataset_id=dataset_id,
            document_id=document_id,
            segment_id=segment_id,
            changes=body.segment,
            api=True,
        )
        state.extras["jobs"].enqueue_in(session, segments.SYNC_JOB, {"document_id": segment.document_id})
        document = documents.get(session, caller=caller, dataset_id=dataset_id, document_id=document_id, api=True)
        result = {"data": segment_public(segment), "doc_form": document.doc_form}
    state.extras["jobs"].wake()
    return result


@router.delete("/{dataset_id}/documents/{document_id}/segments/{segment_id}", status_code=204)
def delete_segment(dataset_id: str, document_id: str, segment_id: str, caller: DatasetCaller, state: State) -> Response:
    with state.db.session() as session:
        segments.remove(
            session, caller=caller, dataset_id=dataset_id, document_id=document_id, segment_id=segment_id, api=True
        )
        state.extras["jobs"].enqueue_in(session, segments.SYNC_JOB, {"document_id": document_id})
    state.extras["jobs"].wake()
    return Response(status_code=204)


@router.post("/{dataset_id}/retrieve")
@router.post("/{dataset_id}/hit-testing", include_in_schema=False)
async def retrieve(dataset_id: str, body: HitTestingBody, caller: DatasetCaller, state: State) -> dict[str, Any]:
    """Hit-testing: the dataset's best segments for `query` (Dify's `/retrieve`)."""
    return await run_hit_testing(state, caller, dataset_id, body, api=True)


# -- child chunks (parent-child documents) ----------------------------------------------------------

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
            api=True,
        )
        return children_page(rows, total, page, limit)


@router.post(_CHILDREN)
def create_child_chunk(
    dataset_id: str, document_id: str, segment_id: str, body: ChildChunkBody, caller: DatasetCaller, state: State
) -> dict[str, Any]:
    with state.db.session() as session:
        chunk = segments.add_child(
            session,
            caller=caller,
            dataset_id=dataset_id,
            document_id=document_id,
            segment_id=segment_id,
            content=body.content,
            api=True,
        )
        sync_later(state, session, chunk.document_id)
        result = {"data": child_public(chunk)}
    state.extras["jobs"].wake()
    return result


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
    with state.db.session() as session:
        chunk = segments.update_child(
            session,
            caller=caller,
            dataset_id=dataset_id,
            document_id=document_id,
            segment_id=segment_id,
            child_chunk_id=child_chunk_id,
            content=body.content,
            api=True,
        )
        sync_later(state, session, chunk.document_id)
        result = {"data": child_public(chunk)}
    state.extras["jobs"].wake()
    return result


@router.delete(_CHILDREN + "/{child_chunk_id}", status_code=204)
def delete_child_chunk(
    dataset_id: str, document_id: str, segment_id: str, child_chunk_id: str, caller: DatasetCaller, state: State
) -> Response:
    with state.db.session() as session:
        chunk = segments.remove_child(
            session,
            caller=caller,
            dataset_id=dataset_id,
            document_id=document_id,
            segment_id=segment_id,
            child_chunk_id=child_chunk_id,
            api=True,
        )
        sync_later(state, session, chunk.document_id)
    state.extras["jobs"].wake()
    return Response(status_code=204)


# -- metadata (Dify 1.1+) ---------------------------------------------------------------------------


@router.post("/{dataset_id}/metadata", status_code=201)
def create_metadata(dataset_id: str, body: MetadataCreate, caller: DatasetCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        field = metadata.create(session, caller=caller, dataset_id=dataset_id, kind=body.type, name=body.name, api=True)
        return metadata.field_public(field)


@router.get("/{dataset_id}/metadata")
def list_metadata(dataset_id: str, caller: DatasetCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        return metadata.list_fields(session, caller=caller, dataset_id=dataset_id, api=True)


@router.get("/{dataset_id}/metadata/built-in")
def built_in_metadata(dataset_id: str, caller: DatasetCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        datasets.get(session, caller=caller, dataset_id=dataset_id, api=True)
    return {"fields": metadata.built_in_fields()}


@router.post("/{dataset_id}/metadata/built-in/{action}")
def toggle_built_in_metadata(dataset_id: str, action: str, caller: DatasetCaller, state: State) -> dict[str, str]:
    with state.db.session() as session:
        metadata.set_built_in(session, caller=caller, dataset_id=dataset_id, action=action, api=True)
    return {"result": "success"}


@router.patch("/{dataset_id}/metadata/{metadata_id}")
def rename_metadata(
    dataset_id: str, metadata_id: str, body: MetadataRename, caller: DatasetCaller, state: State
) -> dict[str, Any]:
    with state.db.session() as session:
        field = metadata.rename(
            session, caller=caller, dataset_id=dataset_id, metadata_id=metadata_id, name=body.name, api=True
        )
        return metadata.field_public(field)


@router.delete("/{dataset_id}/metadata/{metadata_id}", status_code=204)
def delete_metadata(dataset_id: str, metadata_id: str, caller: DatasetCaller, state: State) -> Response:
    with state.db.session() as session:
        metadata.remove(session, caller=caller, dataset_id=dataset_id, metadata_id=metadata_id, api=True)
    return Response(status_code=204)


@router.post("/{dataset_id}/documents/metadata")
def set_documents_metadata(
    dataset_id: str, body: DocumentsMetadata, caller: DatasetCaller, state: State
) -> dict[str, str]:
    with state.db.session() as session:
        metadata.update_documents(
            session, caller=caller, dataset_id=dataset_id, operation_data=body.operation_data, api=True
        )
    return {"result": "success"}


@router.get("/{dataset_id}/tags")
def get_dataset_tags(dataset_id: str, caller: DatasetCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        dataset = datasets.get(session, caller=caller, dataset_id=dataset_id, api=True)
        return tags.dataset_tags(session, dataset=dataset)
