"""Documents of a dataset (`/v1/datasets/{dataset_id}/document(s)…`): created from text or a file,
replaced, listed, their indexing status, original file, deletion and status actions."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as StarletteUpload

from loomworks.api import knowledge_handlers
from loomworks.api.deps import DatasetCaller, ServerState, State
from loomworks.api.knowledge_handlers import index_later, queueing_session
from loomworks.api.knowledge_views import document_public, documents_public
from loomworks.core.errors import InvalidParamError, NoFileUploadedError, TooManyFilesError
from loomworks.services import files
from loomworks.services.caller import Caller
from loomworks.services.knowledge import datasets, documents
from loomworks.store.tables import UploadFile

router = APIRouter()


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


class StatusBody(BaseModel):
    document_ids: list[str]


_Upload = tuple[str | None, bytes]  # a multipart file: its name and content


def _save_upload(state: ServerState, session: Any, caller: Caller, upload: _Upload) -> UploadFile:
    filename, data = upload
    return files.save_upload(
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


def _created(
    state: ServerState, caller: Caller, dataset_id: str, body: DocumentText, upload: _Upload | None = None
) -> dict[str, Any]:
    with queueing_session(state) as session:
        record = None if upload is None else _save_upload(state, session, caller, upload)
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
        index_later(state, session, new.document.id)
        return {"document": document_public(new.document), "batch": new.batch}


@router.post("/{dataset_id}/document/create-by-text")
@router.post("/{dataset_id}/document/create_by_text", include_in_schema=False)
def create_by_text(dataset_id: str, body: DocumentText, caller: DatasetCaller, state: State) -> dict[str, Any]:
    if not body.name:
        raise InvalidParamError("name is required.", params="name")
    return _created(state, caller, dataset_id, body)


async def _multipart(request: Request) -> tuple[_Upload, DocumentText]:
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
    state: ServerState,
    caller: Caller,
    dataset_id: str,
    document_id: str,
    body: DocumentText,
    upload: _Upload | None = None,
) -> dict[str, Any]:
    with queueing_session(state) as session:
        document = documents.get(session, caller=caller, dataset_id=dataset_id, document_id=document_id, api=True)
        if document.indexing_status in documents.RUNNING:
            raise documents.DocumentIndexingError("Cannot update a document during indexing.")
        if upload is not None:
            record = _save_upload(state, session, caller, upload)
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
        index_later(state, session, document.id)
        dataset = datasets.get(session, caller=caller, dataset_id=dataset_id, api=True)
        return {"document": documents_public(session, dataset, [document])[0], "batch": document.batch}


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
    return knowledge_handlers.batch_indexing_status(state, caller, dataset_id, batch, api=True)


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
    return knowledge_handlers.list_documents(
        state, caller, dataset_id, page=page, limit=limit, keyword=keyword, status=status, progress=False, api=True
    )


@router.get("/{dataset_id}/documents/{document_id}")
def get_document(
    dataset_id: str,
    document_id: str,
    caller: DatasetCaller,
    state: State,
    shown: str = Query("all", alias="metadata"),
) -> dict[str, Any]:
    return knowledge_handlers.get_document(state, caller, dataset_id, document_id, shown=shown, api=True)


@router.get("/{dataset_id}/documents/{document_id}/upload-file")
def get_upload_file(dataset_id: str, document_id: str, caller: DatasetCaller, state: State) -> dict[str, Any]:
    """The document's original file (Dify 1.x), with a signed preview link."""
    return knowledge_handlers.get_upload_file(state, caller, dataset_id, document_id, api=True)


@router.delete("/{dataset_id}/documents/{document_id}", status_code=204)
def delete_document(dataset_id: str, document_id: str, caller: DatasetCaller, state: State) -> Response:
    knowledge_handlers.delete_document(state, caller, dataset_id, document_id, api=True)
    return Response(status_code=204)


@router.patch("/{dataset_id}/documents/status/{action}")
def document_status(
    dataset_id: str, action: str, body: StatusBody, caller: DatasetCaller, state: State
) -> dict[str, str]:
    return knowledge_handlers.set_documents_status(state, caller, dataset_id, body.document_ids, action, api=True)
