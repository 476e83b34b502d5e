"""Documents of a dataset: created from text or a file, indexed by a background job, managed after."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loomworks.core.clock import now
from loomworks.core.errors import ForbiddenError, InvalidActionError, InvalidParamError, NotFoundError, error_class
from loomworks.core.ids import new_id
from loomworks.services.caller import Caller
from loomworks.services.knowledge import datasets
from loomworks.store.storage import Storage
from loomworks.store.tables import Dataset, Document, Segment, UploadFile

DocumentIndexingError = error_class("document_indexing", 400, "Cannot delete document during indexing.")
ArchivedDocumentImmutableError = error_class(
    "archived_document_immutable", 403, "The archived document is not editable."
)
DatasetNotInitializedError = error_class(
    "dataset_not_initialized", 400, "The dataset is still being initialized or indexing. Please wait a moment."
)
DOC_FORMS = ("text_model", "qa_model", "hierarchical_model")
PROCESS_MODES = ("automatic", "custom", "hierarchical")
PRE_RULES = ("remove_extra_spaces", "remove_urls_emails")
INDEX_JOB = "index_document"
RUNNING = ("parsing", "cleaning", "splitting", "indexing")
DISPLAY_STATUSES = ("queuing", "paused", "indexing", "error", "available", "disabled", "archived")
_STATUS_ALIASES = {"active": "available", "enabled": "available"}


def automatic_rule() -> dict[str, Any]:
    """Dify's automatic processing: tidy spaces, split on blank lines into ≤ 500-token chunks, 50 overlap."""
    return {
        "mode": "automatic",
        "rules": {
            "pre_processing_rules": [
                {"id": "remove_extra_spaces", "enabled": True},
                {"id": "remove_urls_emails", "enabled": False},
            ],
            "segmentation": {"separator": "\n\n", "max_tokens": 500, "chunk_overlap": 50},
        },
    }


def check_process_rule(rule: Any) -> dict[str, Any]:
    if rule is None:
        return automatic_rule()
    if not isinstance(rule, dict) or rule.get("mode") not in PROCESS_MODES:
        raise InvalidParamError("process_rule.mode must be automatic, custom or hierarchical.", params="process_rule")
    if rule["mode"] == "automatic":
        return automatic_rule()
    rules = rule.get("rules")
    if not isinstance(rules, dict):
        raise InvalidParamError("process_rule.rules is required.", params="process_rule")
    for item in rules.get("pre_processing_rules") or []:
        if not isinstance(item, dict) or item.get("id") not in PRE_RULES:
            raise InvalidParamError("Unknown pre_processing_rules id.", params="process_rule")
    segmentation = rules.get("segmentation")
    if not isinstance(segmentation, dict):
        raise InvalidParamError("process_rule.rules.segmentation is required.", params="process_rule")
    max_tokens = segmentation.get("max_tokens")
    if not isinstance(max_tokens, int) or not 50 <= max_tokens <= 4000:
        raise InvalidParamError("segmentation.max_tokens must be between 50 and 4000.", params="process_rule")
    overlap = segmentation.get("chunk_overlap", 0)
    if not isinstance(overlap, int) or not 0 <= overlap < max_tokens:
        raise InvalidParamError("segmentation.chunk_overlap must be below max_tokens.", params="process_rule")
    if rule["mode"] == "hierarchical" and rules.get("parent_mode", "paragraph") not in ("paragraph", "full-doc"):
        raise InvalidParamError("parent_mode must be paragraph or full-doc.", params="process_rule")
    return {"mode": rule["mode"], "rules": rules}


def display_status(document: Document) -> str:
    if document.is_paused:
        return "paused"
    if document.indexing_status == "waiting":
        return "queuing"
    if document.indexing_status in RUNNING:
        return "indexing"
    if document.indexing_status == "error":
        return "error"
    if document.archived:
        return "archived"
    return "available" if document.enabled else "disabled"


@dataclass(frozen=True, slots=True)
class NewDocument:
    document: Document
    batch: str


def _settings(
    dataset: Dataset,
    *,
    indexing_technique: str | None,
    doc_form: str | None,
    process_rule: Any,
    retrieval_model: Any,
    embedding_model: str | None,
    embedding_model_provider: str | None,
) -> tuple[str, dict[str, Any]]:
    if dataset.indexing_technique is None:
        if indexing_technique not in datasets.INDEXING_TECHNIQUES:
            raise InvalidParamError("indexing_technique is required.", params="indexing_technique")
        dataset.indexing_technique = indexing_technique
    if embedding_model and dataset.embedding_model is None:
        dataset.embedding_model, dataset.embedding_model_provider = embedding_model, embedding_model_provider
    if retrieval_model:
        dataset.retrieval_model = datasets.check_retrieval_model(retrieval_model)
    form = doc_form or dataset.doc_form or "text_model"
    if form not in DOC_FORMS:
        raise InvalidParamError(f"doc_form must be one of {', '.join(DOC_FORMS)}.", params="doc_form")
    rule = check_process_rule(process_rule) if process_rule is not None else (dataset.process_rule or automatic_rule())
    dataset.process_rule = rule
    return form, rule


def _next_position(session: Session, dataset_id: str) -> int:
    return (
        int(
            session.scalar(
                select(func.coalesce(func.max(Document.position), 0)).where(Document.dataset_id == dataset_id)
            )
            or 0
        )
        + 1
    )


def create(
    session: Session,
    storage: Storage,
    *,
    caller: Caller,
    dataset_id: str,
    name: str,
    text: str | None = None,
    upload: UploadFile | None = None,
    indexing_technique: str | None = None,
    doc_form: str | None = None,
    doc_language: str | None = None,
    process_rule: Any = None,
    retrieval_model: Any = None,
    embedding_model: str | None = None,
    embedding_model_provider: str | None = None,
    created_from: str = "api",
    api: bool = False,
) -> NewDocument:
    """Record a document and its source; the caller enqueues the indexing job in the same transaction."""
    if not caller.can_edit_datasets:
        raise ForbiddenError()
    dataset = datasets.get(session, caller=caller, dataset_id=dataset_id, api=api)
    if dataset.provider == "external":
        raise InvalidParamError("External datasets have no documents.", params="dataset_id")
    if upload is None and (text is None or not text.strip()):
        raise InvalidParamError("text is required.", params="text")
    if not name or not name.strip():
        raise InvalidParamError("name is required.", params="name")
    form, rule = _settings(
        dataset,
        indexing_technique=indexing_technique,
        doc_form=doc_form,
        process_rule=process_rule,
        retrieval_model=retrieval_model,
        embedding_model=embedding_model,
        embedding_model_provider=embedding_model_provider,
    )
    document_id = new_id()
    if upload is not None:
        source_key = upload.key
        source: dict[str, Any] = {"upload_file_id": upload.id}
        kind = "upload_file"
    else:
        source_key = f"datasets/{dataset.id}/{document_id}.txt"
        storage.save(source_key, (text or "").encode())
        source = {}
        kind = "upload_file" if created_from == "web" else "text"
    batch = now().strftime("%Y%m%d%H%M%S") + secrets.token_hex(3)
    document = Document(
        id=document_id,
        tenant_id=dataset.tenant_id,
        dataset_id=dataset.id,
        position=_next_position(session, dataset.id),
        data_source_type=kind,
        data_source_info=source,
        process_rule=rule,
        batch=batch,
        name=name.strip()[:255],
        created_from=created_from,
        created_by=caller.account_id,
        source_text_key=source_key,
        doc_form=form,
        doc_language=doc_language or "English",
        indexing_status="waiting",
        doc_metadata={},
    )
    session.add(document)
    session.flush()
    return NewDocument(document=document, batch=batch)


def get(session: Session, *, caller: Caller, dataset_id: str, document_id: str, api: bool = False) -> Document:
    dataset = datasets.get(session, caller=caller, dataset_id=dataset_id, api=api)
    document = session.scalar(select(Document).where(Document.id == document_id, Document.dataset_id == dataset.id))
    if document is None:
        raise NotFoundError("Document not found.")
    return document


def by_batch(session: Session, *, caller: Caller, dataset_id: str, batch: str, api: bool = False) -> list[Document]:
    dataset = datasets.get(session, caller=caller, dataset_id=dataset_id, api=api)
    rows = list(session.scalars(select(Document).where(Document.dataset_id == dataset.id, Document.batch == batch)))
    if not rows:
        raise NotFoundError("Documents not found.")
    return rows


def completed_segments(session: Session, document_ids: list[str]) -> dict[str, tuple[int, int]]:
    """(completed, total) segments per document."""
    if not document_ids:
        return {}
    rows = session.execute(
        select(Segment.document_id, Segment.status, func.count())
        .where(Segment.document_id.in_(document_ids))
        .group_by(Segment.document_id, Segment.status)
    )
    counts: dict[str, list[int]] = {d: [0, 0] for d in document_ids}
    for document_id, status, count in rows:
        entry = counts[str(document_id)]
        entry[1] += int(count)
        if status == "completed":
            entry[0] += int(count)
    return {k: (v[0], v[1]) for k, v in counts.items()}


def list_page(
    session: Session,
    *,
    caller: Caller,
    dataset_id: str,
    page: int,
    limit: int,
    keyword: str | None = None,
    status: str | None = None,
    api: bool = False,
) -> tuple[list[Document], int]:
    dataset = datasets.get(session, caller=caller, dataset_id=dataset_id, api=api)
    if not 1 <= limit <= 100:
        raise InvalidParamError("limit must be between 1 and 100.", params="limit")
    query = select(Document).where(Document.dataset_id == dataset.id)
    if keyword:
        escaped = keyword.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Document.name.ilike(f"%{escaped}%", escape="\\"))
    rows = list(session.scalars(query.order_by(Document.position.desc())))
    wanted = _STATUS_ALIASES.get((status or "").lower(), (status or "").lower())
    if wanted in DISPLAY_STATUSES:  # an unknown status filters nothing, as in Dify
        rows = [d for d in rows if display_status(d) == wanted]
    return rows[(page - 1) * limit : page * limit], len(rows)


def remove(session: Session, *, caller: Caller, dataset_id: str, document_id: str, api: bool = False) -> Document:
    if not caller.can_edit_datasets:
        raise ForbiddenError()
    document = get(session, caller=caller, dataset_id=dataset_id, document_id=document_id, api=api)
    if document.indexing_status in RUNNING:
        raise DocumentIndexingError()
    if document.archived:
        raise ArchivedDocumentImmutableError()
    session.delete(document)
    return document


def set_status(
    session: Session, *, caller: Caller, dataset_id: str, document_ids: list[str], action: str, api: bool = False
) -> list[Document]:
    """enable / disable / archive / un_archive several documents (Dify 1.x batch route)."""
    if not caller.can_edit_datasets:
        raise ForbiddenError()
    if action not in ("enable", "disable", "archive", "un_archive"):
        raise InvalidActionError(f"Invalid action: {action}.")
    changed = []
    for document_id in document_ids:
        document = get(session, caller=caller, dataset_id=dataset_id, document_id=document_id, api=api)
        if action in ("enable", "disable"):
            if document.archived:
                raise ArchivedDocumentImmutableError()
            if document.indexing_status != "completed":
                raise DocumentIndexingError("Document is not completed yet.")
            document.enabled = action == "enable"
            document.disabled_at = None if document.enabled else now()
            document.disabled_by = None if document.enabled else caller.account_id
        else:
            document.archived = action == "archive"
            document.archived_at = now() if document.archived else None
        changed.append(document)
    return changed


def pause(session: Session, *, caller: Caller, dataset_id: str, document_id: str) -> Document:
    document = get(session, caller=caller, dataset_id=dataset_id, document_id=document_id)
    if document.indexing_status in ("completed", "error"):
        raise InvalidActionError("Only a document being indexed can be paused.")
    document.is_paused, document.paused_at = True, now()
    return document


def resume(session: Session, *, caller: Caller, dataset_id: str, document_id: str) -> Document:
    document = get(session, caller=caller, dataset_id=dataset_id, document_id=document_id)
    if not document.is_paused and document.indexing_status != "error":
        raise InvalidActionError("Only a paused or failed document can be resumed.")
    document.is_paused, document.paused_at, document.error = False, None, None
    document.indexing_status = "waiting"
    return document


def upload_file(
    session: Session, *, caller: Caller, dataset_id: str, document_id: str, api: bool = False
) -> UploadFile:
    """The original file a document was made from (404 for documents created from text)."""
    document = get(session, caller=caller, dataset_id=dataset_id, document_id=document_id, api=api)
    file_id = (document.data_source_info or {}).get("upload_file_id")
    row = (
        session.scalar(
            select(UploadFile).where(UploadFile.id == str(file_id), UploadFile.tenant_id == caller.tenant_id)
        )
        if file_id
        else None
    )
    if row is None:
        raise NotFoundError("Upload file not found.")
    return row


def segment_stats(session: Session, document_ids: list[str]) -> dict[str, tuple[int, int]]:
    """(segment count, total word count of the segments) per document."""
    found: dict[str, tuple[int, int]] = dict.fromkeys(document_ids, (0, 0))
    if document_ids:
        rows = session.execute(
            select(Segment.document_id, func.count(), func.coalesce(func.sum(Segment.word_count), 0))
            .where(Segment.document_id.in_(document_ids))
            .group_by(Segment.document_id)
        )
        for document_id, count, words in rows:
            found[str(document_id)] = (int(count), int(words))
    return found
