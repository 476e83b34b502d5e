"""JSON shapes of datasets, documents, segments and retrieval results (Dify's field names), shared by /v1
and the console."""

from __future__ import annotations

from typing import Any

from loomworks.core.clock import to_timestamp
from loomworks.services import message_files
from loomworks.services.knowledge import datasets, documents, external, metadata, retrieval, tags
from loomworks.store.tables import ChildChunk, Dataset, Document, Segment, UploadFile


def dataset_public(dataset: Dataset, stats: datasets.DatasetStats | None = None) -> dict[str, Any]:
    return {
        "id": dataset.id,
        "name": dataset.name,
        "description": dataset.description,
        "provider": dataset.provider,
        "permission": dataset.permission,
        "data_source_type": dataset.data_source_type,
        "indexing_technique": dataset.indexing_technique,
        "app_count": 0,
        "document_count": stats.document_count if stats else 0,
        "word_count": stats.word_count if stats else 0,
        "created_by": dataset.created_by,
        "created_at": to_timestamp(dataset.created_at),
        "updated_by": dataset.updated_by,
        "updated_at": to_timestamp(dataset.updated_at),
        "embedding_model": dataset.embedding_model,
        "embedding_model_provider": dataset.embedding_model_provider,
        "embedding_available": True,
        "retrieval_model_dict": dataset.retrieval_model or datasets.default_retrieval_model(),
        "tags": [],
        "doc_form": dataset.doc_form,
        "external_knowledge_info": {
            "external_knowledge_id": dataset.external_knowledge_id,
            "external_knowledge_api_id": dataset.external_knowledge_api_id,
            "external_knowledge_api_name": None,
            "external_knowledge_api_endpoint": None,
        },
        "external_retrieval_model": dataset.external_retrieval_model,
        "doc_metadata": [],
        "built_in_field_enabled": dataset.built_in_field_enabled,
        "partial_member_list": dataset.partial_member_list or [],
    }


def document_public(document: Document) -> dict[str, Any]:
    return {
        "id": document.id,
        "position": document.position,
        "data_source_type": document.data_source_type,
        "data_source_info": document.data_source_info or {},
        "data_source_detail_dict": {"upload_file": {"id": document.data_source_info.get("upload_file_id")}}
        if (document.data_source_info or {}).get("upload_file_id")
        else {},
        "dataset_process_rule_id": None,
        "dataset_process_rule": document.process_rule,
        "name": document.name,
        "created_from": document.created_from,
        "created_by": document.created_by,
        "created_at": to_timestamp(document.created_at),
        "tokens": document.tokens,
        "indexing_status": document.indexing_status,
        "error": document.error,
        "enabled": document.enabled,
        "disabled_at": to_timestamp(document.disabled_at),
        "disabled_by": document.disabled_by,
        "archived": document.archived,
        "display_status": documents.display_status(document),
        "word_count": document.word_count,
        "hit_count": document.hit_count,
        "doc_form": document.doc_form,
        "doc_language": document.doc_language,
        "doc_metadata": [{"name": k, "value": v} for k, v in (document.doc_metadata or {}).items()],
    }


def indexing_status_public(document: Document, completed: int, total: int) -> dict[str, Any]:
    return {
        "id": document.id,
        "indexing_status": document.indexing_status,
        "processing_started_at": to_timestamp(document.processing_started_at),
        "parsing_completed_at": to_timestamp(document.parsing_completed_at),
        "cleaning_completed_at": to_timestamp(document.cleaning_completed_at),
        "splitting_completed_at": to_timestamp(document.splitting_completed_at),
        "completed_at": to_timestamp(document.completed_at),
        "paused_at": to_timestamp(document.paused_at),
        "error": document.error,
        "stopped_at": to_timestamp(document.stopped_at),
        "completed_segments": completed,
        "total_segments": total,
    }


def child_public(chunk: ChildChunk) -> dict[str, Any]:
    return {
        "id": chunk.id,
        "segment_id": chunk.segment_id,
        "content": chunk.content,
        "position": chunk.position,
        "word_count": chunk.word_count,
        "type": chunk.type,
        "created_at": to_timestamp(chunk.created_at),
        "updated_at": to_timestamp(chunk.updated_at),
    }


def segment_public(segment: Segment, children: list[ChildChunk] | None = None) -> dict[str, Any]:
    return {
        "id": segment.id,
        "position": segment.position,
        "document_id": segment.document_id,
        "content": segment.content,
        "answer": segment.answer,
        "word_count": segment.word_count,
        "tokens": segment.tokens,
        "keywords": segment.keywords or [],
        "index_node_id": segment.index_node_id,
        "index_node_hash": segment.index_node_hash,
        "hit_count": segment.hit_count,
        "enabled": segment.enabled,
        "disabled_at": to_timestamp(segment.disabled_at),
        "disabled_by": segment.disabled_by,
        "status": segment.status,
        "created_by": segment.created_by,
        "created_at": to_timestamp(segment.created_at),
        "indexing_at": to_timestamp(segment.indexing_at),
        "completed_at": to_timestamp(segment.completed_at),
        "error": segment.error,
        "stopped_at": to_timestamp(segment.stopped_at),
        "child_chunks": [child_public(c) for c in children or []],
    }


def children_page(rows: list[Any], total: int, page: int, limit: int) -> dict[str, Any]:
    return {
        "data": [child_public(c) for c in rows],
        "total": total,
        "total_pages": (total + limit - 1) // limit,
        "page": page,
        "limit": limit,
    }


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
