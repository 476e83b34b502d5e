"""Segments (chunks) of a document: listed, added, edited, enabled/disabled, deleted.

Every change marks the segment for re-indexing; the `sync_segments` job brings the vector and
keyword indexes in line (idempotent: it indexes what the rows say at the time it runs).

In parent-child (`hierarchical_model`) documents the child chunks are what gets indexed. A segment
whose children must be cut again from its content is marked `re_segment` (a new segment, or an edit
with `regenerate_child_chunks`); otherwise the sync job indexes the child chunks as they are, so
child chunks written through the API are kept.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from loomworks.core.clock import now
from loomworks.core.errors import ForbiddenError, InvalidParamError, NotFoundError
from loomworks.services.caller import Caller
from loomworks.services.knowledge import documents
from loomworks.store.tables import ChildChunk, Document, Segment

SYNC_JOB = "sync_segments"
STATUSES = ("waiting", "indexing", "completed", "error", "re_segment")
MAX_PAGE = 1_000_000  # keeps OFFSET inside PostgreSQL's bigint


def content_hash(content: str, answer: str | None = None) -> str:
    return hashlib.sha256(f"{content}\x00{answer or ''}".encode()).hexdigest()


def word_count(text: str) -> int:
    return len(text)


def _document(session: Session, caller: Caller, dataset_id: str, document_id: str, api: bool) -> Document:
    return documents.get(session, caller=caller, dataset_id=dataset_id, document_id=document_id, api=api)


def list_page(
    session: Session,
    *,
    caller: Caller,
    dataset_id: str,
    document_id: str,
    statuses: list[str] | None = None,
    keyword: str | None = None,
    page: int = 1,
    limit: int = 20,
    api: bool = False,
) -> tuple[list[Segment], int, Document]:
    document = _document(session, caller, dataset_id, document_id, api)
    if not 1 <= limit <= 100:
        raise InvalidParamError("limit must be between 1 and 100.", params="limit")
    query = select(Segment).where(Segment.document_id == document.id)
    if statuses:
        query = query.where(Segment.status.in_(statuses))
    if keyword:
        escaped = keyword.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Segment.content.ilike(f"%{escaped}%", escape="\\"))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(session.scalars(query.order_by(Segment.position).offset((page - 1) * limit).limit(limit)))
    return rows, total, document


def get(
    session: Session, *, caller: Caller, dataset_id: str, document_id: str, segment_id: str, api: bool = False
) -> Segment:
    document = _document(session, caller, dataset_id, document_id, api)
    segment = session.scalar(select(Segment).where(Segment.id == segment_id, Segment.document_id == document.id))
    if segment is None:
        raise NotFoundError("Segment not found.")
    return segment


def _check_content(item: Any, doc_form: str) -> tuple[str, str | None, list[str]]:
    if not isinstance(item, dict) or not isinstance(item.get("content"), str) or not item["content"].strip():
        raise InvalidParamError("Segment content is empty.", params="content")
    answer = item.get("answer")
    if doc_form == "qa_model" and (not isinstance(answer, str) or not answer.strip()):
        raise InvalidParamError("Answer is required in a Q&A document.", params="answer")
    keywords = item.get("keywords") or []
    if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
        raise InvalidParamError("keywords must be a list of strings.", params="keywords")
    return item["content"], answer if isinstance(answer, str) else None, keywords


def add(
    session: Session, *, caller: Caller, dataset_id: str, document_id: str, items: list[Any], api: bool = False
) -> tuple[list[Segment], Document]:
    if not caller.can_edit_datasets:
        raise ForbiddenError()
    document = _document(session, caller, dataset_id, document_id, api)
    if document.indexing_status != "completed" or not document.enabled:
        raise NotFoundError("Document is not completed or is disabled.")
    if not isinstance(items, list) or not items:
        raise InvalidParamError("segments is required.", params="segments")
    position = int(
        session.scalar(select(func.coalesce(func.max(Segment.position), 0)).where(Segment.document_id == document.id))
        or 0
    )
    created = []
    # A new parent-child segment gets its child chunks cut by the sync job.
    status = "re_segment" if document.doc_form == "hierarchical_model" else "waiting"
    for item in items:
        content, answer, keywords = _check_content(item, document.doc_form)
        position += 1
        segment = Segment(
            tenant_id=document.tenant_id,
            dataset_id=document.dataset_id,
            document_id=document.id,
            position=position,
            content=content,
            answer=answer,
            word_count=word_count(content) + word_count(answer or ""),
            keywords=keywords,
            index_node_hash=content_hash(content, answer),
            status=status,
            created_by=caller.account_id,
        )
        session.add(segment)
        created.append(segment)
    session.flush()
    for segment in created:
        segment.index_node_id = segment.id
    document.word_count += sum(s.word_count for s in created)
    return created, document


def update(
    session: Session,
    *,
    caller: Caller,
    dataset_id: str,
    document_id: str,
    segment_id: str,
    changes: dict[str, Any],
    api: bool = False,
) -> Segment:
    if not caller.can_edit_datasets:
        raise ForbiddenError()
    segment = get(
        session, caller=caller, dataset_id=dataset_id, document_id=document_id, segment_id=segment_id, api=api
    )
    document = session.get(Document, segment.document_id)
    assert document is not None
    if document.archived:
        raise documents.ArchivedDocumentImmutableError()
    if "enabled" in changes and changes["enabled"] is not None:
        segment.enabled = bool(changes["enabled"])
        segment.disabled_at = None if segment.enabled else now()
        segment.disabled_by = None if segment.enabled else caller.account_id
    regenerate = False
    if document.doc_form == "hierarchical_model" and (
        changes.get("content") is not None or "regenerate_child_chunks" in changes
    ):
        changed = changes.get("content") is not None and changes["content"] != segment.content
        regenerate = _regenerates(session, segment, changes, changed=changed)
    if changes.get("content") is not None:
        content, answer, keywords = _check_content(
            {
                "content": changes["content"],
                "answer": changes.get("answer", segment.answer),
                "keywords": changes.get("keywords", segment.keywords),
            },
            document.doc_form,
        )
        document.word_count += word_count(content) + word_count(answer or "") - segment.word_count
        segment.content, segment.answer, segment.keywords = content, answer, keywords
        segment.word_count = word_count(content) + word_count(answer or "")
        segment.index_node_hash = content_hash(content, answer)
    if regenerate and segment.enabled:
        segment.status = "re_segment"
    elif segment.enabled and (changes.get("content") is not None or changes.get("enabled")):
        segment.status = "waiting"  # the sync job (re-)indexes it; a disabled segment is only taken out
    segment.updated_by = caller.account_id
    return segment


def remove(
    session: Session, *, caller: Caller, dataset_id: str, document_id: str, segment_id: str, api: bool = False
) -> Segment:
    if not caller.can_edit_datasets:
        raise ForbiddenError()
    segment = get(
        session, caller=caller, dataset_id=dataset_id, document_id=document_id, segment_id=segment_id, api=api
    )
    document = session.get(Document, segment.document_id)
    if document is not None:
        document.word_count = max(document.word_count - segment.word_count, 0)
    session.delete(segment)
    return segment


def child_chunks(session: Session, *, segment: Segment) -> list[ChildChunk]:
    return list(
        session.scalars(select(ChildChunk).where(ChildChunk.segment_id == segment.id).order_by(ChildChunk.position))
    )


def _regenerates(session: Session, segment: Segment, changes: dict[str, Any], *, changed: bool) -> bool:
    """Whether an edit cuts the child chunks again: as asked (`regenerate_child_chunks`), else when the
    content changed and no child chunk was written by hand."""
    asked = changes.get("regenerate_child_chunks")
    if isinstance(asked, bool):
        return asked
    return changed and not any(c.type == "customized" for c in child_chunks(session, segment=segment))


# -- child chunks (parent-child documents) -------------------------------------------------------


def _parent(
    session: Session, caller: Caller, dataset_id: str, document_id: str, segment_id: str, api: bool, *, edit: bool
) -> tuple[Segment, Document]:
    if edit and not caller.can_edit_datasets:
        raise ForbiddenError()
    segment = get(
        session, caller=caller, dataset_id=dataset_id, document_id=document_id, segment_id=segment_id, api=api
    )
    document = session.get(Document, segment.document_id)
    assert document is not None
    if edit:
        if document.doc_form != "hierarchical_model":
            raise InvalidParamError("Child chunks exist only in parent-child (hierarchical_model) documents.")
        if document.archived:
            raise documents.ArchivedDocumentImmutableError()
        if document.indexing_status != "completed":
            raise documents.DocumentIndexingError("Cannot change child chunks while the document is being indexed.")
    return segment, document


def _child(session: Session, segment: Segment, child_chunk_id: str) -> ChildChunk:
    chunk = session.scalar(
        select(ChildChunk).where(ChildChunk.id == child_chunk_id, ChildChunk.segment_id == segment.id)
    )
    if chunk is None:
        raise NotFoundError("Child chunk not found.")
    return chunk


def _child_content(content: Any) -> str:
    if not isinstance(content, str) or not content.strip():
        raise InvalidParamError("Child chunk content is empty.", params="content")
    return content


def _reindex(segment: Segment, caller: Caller) -> None:
    """Mark the parent so the sync job re-indexes its child chunks (unchanged ones come from the cache)."""
    if segment.enabled and segment.status != "re_segment":
        segment.status = "waiting"
    segment.updated_by = caller.account_id


def list_children(
    session: Session,
    *,
    caller: Caller,
    dataset_id: str,
    document_id: str,
    segment_id: str,
    keyword: str | None = None,
    page: int = 1,
    limit: int = 20,
    api: bool = False,
) -> tuple[list[ChildChunk], int]:
    segment, _ = _parent(session, caller, dataset_id, document_id, segment_id, api, edit=False)
    if not 1 <= limit <= 100:
        raise InvalidParamError("limit must be between 1 and 100.", params="limit")
    if not 1 <= page <= MAX_PAGE:
        raise InvalidParamError(f"page must be between 1 and {MAX_PAGE}.", params="page")
    query = select(ChildChunk).where(ChildChunk.segment_id == segment.id)
    if keyword:
        escaped = keyword.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(ChildChunk.content.ilike(f"%{escaped}%", escape="\\"))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(session.scalars(query.order_by(ChildChunk.position).offset((page - 1) * limit).limit(limit)))
    return rows, int(total)


def add_child(
    session: Session,
    *,
    caller: Caller,
    dataset_id: str,
    document_id: str,
    segment_id: str,
    content: Any,
    api: bool = False,
) -> ChildChunk:
    segment, document = _parent(session, caller, dataset_id, document_id, segment_id, api, edit=True)
    text = _child_content(content)
    position = int(
        session.scalar(
            select(func.coalesce(func.max(ChildChunk.position), 0)).where(ChildChunk.segment_id == segment.id)
        )
        or 0
    )
    chunk = ChildChunk(
        tenant_id=document.tenant_id,
        dataset_id=document.dataset_id,
        document_id=document.id,
        segment_id=segment.id,
        position=position + 1,
        content=text,
        word_count=word_count(text),
        index_node_hash=content_hash(text),
        type="customized",
        created_by=caller.account_id,
    )
    session.add(chunk)
    session.flush()
    chunk.index_node_id = chunk.id
    _reindex(segment, caller)
    return chunk


def update_child(
    session: Session,
    *,
    caller: Caller,
    dataset_id: str,
    document_id: str,
    segment_id: str,
    child_chunk_id: str,
    content: Any,
    api: bool = False,
) -> ChildChunk:
    segment, _ = _parent(session, caller, dataset_id, document_id, segment_id, api, edit=True)
    chunk = _child(session, segment, child_chunk_id)
    text = _child_content(content)
    if text != chunk.content:
        chunk.content, chunk.word_count, chunk.index_node_hash = text, word_count(text), content_hash(text)
        chunk.type = "customized"
        _reindex(segment, caller)
    session.flush()
    return chunk


def remove_child(
    session: Session,
    *,
    caller: Caller,
    dataset_id: str,
    document_id: str,
    segment_id: str,
    child_chunk_id: str,
    api: bool = False,
) -> ChildChunk:
    """Delete a child chunk; the sync job takes its node out of the indexes."""
    segment, _ = _parent(session, caller, dataset_id, document_id, segment_id, api, edit=True)
    chunk = _child(session, segment, child_chunk_id)
    session.delete(chunk)
    _reindex(segment, caller)
    return chunk


def replace_children(
    session: Session,
    *,
    caller: Caller,
    dataset_id: str,
    document_id: str,
    segment_id: str,
    chunks: Any,
    api: bool = False,
) -> list[ChildChunk]:
    """The console's batch edit: `[{id?, content}]` becomes the segment's child chunks, in that order
    (listed ids are updated, items without an id are created, the others are deleted)."""
    segment, document = _parent(session, caller, dataset_id, document_id, segment_id, api, edit=True)
    if not isinstance(chunks, list):
        raise InvalidParamError("chunks must be a list.", params="chunks")
    existing = {c.id: c for c in child_chunks(session, segment=segment)}
    kept: list[ChildChunk] = []
    for position, item in enumerate(chunks, start=1):
        if not isinstance(item, dict):
            raise InvalidParamError("chunks items must be objects.", params="chunks")
        text = _child_content(item.get("content"))
        chunk = existing.pop(str(item["id"]), None) if item.get("id") else None
        if item.get("id") and chunk is None:
            raise NotFoundError("Child chunk not found.")
        if chunk is None:
            chunk = ChildChunk(
                tenant_id=document.tenant_id,
                dataset_id=document.dataset_id,
                document_id=document.id,
                segment_id=segment.id,
                position=position,
                content=text,
                word_count=word_count(text),
                index_node_hash=content_hash(text),
                type="customized",
                created_by=caller.account_id,
            )
            session.add(chunk)
        elif chunk.content != text:
            chunk.content, chunk.word_count, chunk.index_node_hash = text, word_count(text), content_hash(text)
            chunk.type = "customized"
        chunk.position = position
        kept.append(chunk)
    if existing:
        session.execute(delete(ChildChunk).where(ChildChunk.id.in_(list(existing))))
    session.flush()
    for chunk in kept:
        chunk.index_node_id = chunk.id
    _reindex(segment, caller)
    return kept
