"""Dataset retrieval for hit-testing and for apps: search, filter by metadata, fuse, rerank, cut.

The indexes propose candidates; the database decides: only enabled, completed segments of
enabled, unarchived, completed documents are returned, so entries left in an index by an
interrupted job or a just-deleted segment never surface.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select, update

from loomworks.core.clock import to_timestamp
from loomworks.core.errors import InvalidParamError, error_class
from loomworks.core.ids import new_id
from loomworks.rag.rerank import RerankResult
from loomworks.rag.retrieve import (
    FULL_TEXT,
    RetrievalSettings,
    Scored,
    collapse,
    combine,
    finish,
    metadata_matches,
    rerank,
)
from loomworks.services.knowledge import auto_filter, external
from loomworks.services.knowledge import datasets as dataset_rules
from loomworks.services.knowledge.indexing import IndexingError, KnowledgeRuntime, Rerank
from loomworks.store.tables import ChildChunk, Dataset, Document, ExternalKnowledgeApi, Segment

MAX_QUERY_CHARS = 250
EmbeddingModelMissingError = error_class(
    "provider_not_initialize", 400, "No embedding model is available for this dataset; use full-text search."
)
RerankModelMissingError = error_class(
    "provider_not_initialize", 400, "No rerank model is available; turn reranking off or configure a rerank model."
)
_Row = tuple[Segment, Document, list[ChildChunk]]


@dataclass(frozen=True, slots=True)
class RetrievedRecord:
    """One answer: the segment, its document, the final score and (parent-child mode) the matched children."""

    segment: Segment
    document: Document
    score: float
    child_chunks: list[ChildChunk]


@dataclass(frozen=True, slots=True)
class _Scope:
    dataset: Dataset
    document_ids: set[str]
    filtered: bool  # a metadata filter narrowed the documents (else the database check after search suffices)

    @property
    def index_filter(self) -> set[str] | None:
        return self.document_ids if self.filtered else None


class _ModelReranker:
    """Adapts the server's `rerank` seam to the `Reranker` protocol for one model."""

    def __init__(self, call: Rerank, tenant_id: str, provider: str, model: str) -> None:
        self.call, self.tenant_id, self.provider, self.model = call, tenant_id, provider, model

    async def rerank(self, query: str, documents: Sequence[str]) -> list[RerankResult]:
        scores = await self.call(self.tenant_id, self.provider, self.model, query, list(documents))
        return [RerankResult(i, float(s)) for i, s in enumerate(scores)]


def _metadata_of(document: Document) -> dict[str, Any]:
    """The values a filter may test: the document's metadata plus Dify's built-in fields."""
    return {
        "document_name": document.name,
        "uploader": document.created_by,
        "upload_date": to_timestamp(document.created_at),
        "last_update_date": to_timestamp(document.updated_at),
        "source": document.data_source_type,
        **(document.doc_metadata or {}),
    }


def _scopes(
    runtime: KnowledgeRuntime,
    tenant_id: str,
    dataset_ids: list[str],
    conditions: Any,
    per_dataset: dict[str, Any] | None = None,
) -> list[_Scope]:
    with runtime.db.session() as session:
        found = list(
            session.scalars(select(Dataset).where(Dataset.id.in_(dataset_ids), Dataset.tenant_id == tenant_id))
        )
        order = {dataset_id: i for i, dataset_id in enumerate(dataset_ids)}
        scopes = []
        for dataset in sorted(found, key=lambda d: order[d.id]):
            if dataset.provider == "external":
                scopes.append(_Scope(dataset, set(), False))  # its documents live behind the external API
                continue
            if per_dataset is not None:
                conditions = per_dataset.get(dataset.id)
            documents = session.scalars(
                select(Document).where(
                    Document.dataset_id == dataset.id,
                    Document.indexing_status == "completed",
                    Document.enabled.is_(True),
                    Document.archived.is_(False),
                )
            )
            try:
                allowed = {d.id for d in documents if metadata_matches(_metadata_of(d), conditions)}
            except ValueError as exc:
                raise InvalidParamError(str(exc), params="metadata_filtering_conditions") from exc
            scopes.append(_Scope(dataset, allowed, bool((conditions or {}).get("conditions"))))
        return scopes


def _keyword_search(runtime: KnowledgeRuntime, scope: _Scope, query: str, top_k: int) -> list[Any]:
    with runtime.db.session() as session:
        return runtime.keywords.search(
            session.connection(), scope.dataset.id, query, top_k=top_k, document_ids=scope.index_filter
        )


async def _dataset_candidates(
    runtime: KnowledgeRuntime,
    scope: _Scope,
    query: str,
    settings: RetrievalSettings,
    query_vectors: dict[tuple[str, str], list[float]],
) -> list[Scored]:
    dataset = scope.dataset
    if dataset.indexing_technique != "high_quality":
        settings = replace(settings, search_method=FULL_TEXT)  # economy datasets have no vectors
    fetch = max(settings.top_k * 4, 20)  # room for hits the database then rejects
    vector_hits: list[Scored] = []
    if settings.uses_vectors:
        key = (dataset.embedding_model_provider or "", dataset.embedding_model or "")
        if key not in query_vectors:
            try:
                embedder = runtime.embedder(dataset)
            except IndexingError as exc:
                raise EmbeddingModelMissingError(str(exc)) from exc
            embedder.cache = None  # queries are one-offs: do not fill the cache with them
            query_vectors[key] = (await embedder([query]))[0]
        hits = await asyncio.to_thread(
            runtime.vectors.search, dataset.id, query_vectors[key], top_k=fetch, document_ids=scope.index_filter
        )
        vector_hits = collapse(hits, dataset.id, kind="vector")
    keyword_hits: list[Scored] = []
    if settings.uses_keywords:
        hits = await asyncio.to_thread(_keyword_search, runtime, scope, query, fetch)
        keyword_hits = collapse(hits, dataset.id, kind="keyword")
    return combine(vector_hits, keyword_hits, settings)


def _external_api(runtime: KnowledgeRuntime, dataset: Dataset) -> tuple[str, str]:
    """The endpoint and the opened API key of an external dataset's knowledge API."""
    with runtime.db.session() as session:
        api = session.get(ExternalKnowledgeApi, dataset.external_knowledge_api_id or "")
        if api is None or api.tenant_id != dataset.tenant_id:
            raise external.ExternalKnowledgeApiError("The dataset's external knowledge API no longer exists.")
        if runtime.keyring is None:
            raise external.ExternalKnowledgeApiError("External knowledge needs the server's keyring.")
        return api.endpoint, external.api_key_of(runtime.keyring, api)


async def external_records(
    runtime: KnowledgeRuntime, dataset: Dataset, query: str, setting: dict[str, Any] | None = None
) -> list[external.ExternalRecord]:
    """Ask an external dataset's API, with `setting` (`external_retrieval_model`) or the dataset's own."""
    if runtime.http is None:
        raise external.ExternalKnowledgeApiError("External knowledge needs the server's HTTP client.")
    endpoint, api_key = await asyncio.to_thread(_external_api, runtime, dataset)
    return await external.retrieve(
        runtime.http,
        endpoint=endpoint,
        api_key=api_key,
        knowledge_id=dataset.external_knowledge_id or "",
        query=query,
        setting=external.check_retrieval_setting(setting or dataset.external_retrieval_model),
    )


def _external_rows(dataset: Dataset, records: list[external.ExternalRecord]) -> tuple[list[Scored], dict[str, _Row]]:
    """External records as unsaved segments and documents, so apps and citations treat them alike."""
    scored, rows = [], {}
    for position, record in enumerate(records, start=1):
        segment_id, document_id = new_id(), new_id()
        document = Document(
            id=document_id,
            tenant_id=dataset.tenant_id,
            dataset_id=dataset.id,
            position=position,
            data_source_type="external",
            data_source_info={},
            name=record.title,
            doc_metadata=record.metadata,
            enabled=True,
            archived=False,
            indexing_status="completed",
            doc_form="text_model",
        )
        segment = Segment(
            id=segment_id,
            tenant_id=dataset.tenant_id,
            dataset_id=dataset.id,
            document_id=document_id,
            position=position,
            content=record.content,
            answer=None,
            word_count=len(record.content),
            tokens=0,
            keywords=[],
            hit_count=0,
            enabled=True,
            status="completed",
        )
        rows[segment_id] = (segment, document, [])
        scored.append(Scored(segment_id, document_id, dataset.id, record.score, vector_score=record.score))
    return scored, rows


def _hydrate(runtime: KnowledgeRuntime, candidates: list[Scored]) -> dict[str, _Row]:
    ids = list({c.segment_id for c in candidates})
    # Child chunks keep the order the search found them in (best match first), whatever the database.
    nodes = {n: rank for rank, n in enumerate(dict.fromkeys(n for c in candidates for n in c.node_ids))}
    with runtime.db.session() as session:
        rows = list(
            session.execute(
                select(Segment, Document)
                .join(Document, Document.id == Segment.document_id)
                .where(
                    Segment.id.in_(ids),
                    Segment.enabled.is_(True),
                    Segment.status == "completed",
                    Document.enabled.is_(True),
                    Document.archived.is_(False),
                    Document.indexing_status == "completed",
                )
            )
        )
        children: dict[str, list[ChildChunk]] = {}
        if nodes:
            for child in session.scalars(select(ChildChunk).where(ChildChunk.id.in_(list(nodes)))):
                children.setdefault(child.segment_id, []).append(child)
            for found in children.values():
                found.sort(key=lambda child: nodes[child.id])
        return {segment.id: (segment, document, children.get(segment.id, [])) for segment, document in rows}


def _record_hits(runtime: KnowledgeRuntime, segment_ids: list[str]) -> None:
    if segment_ids:
        with runtime.db.session() as session:
            session.execute(update(Segment).where(Segment.id.in_(segment_ids)).values(hit_count=Segment.hit_count + 1))


async def retrieve(
    runtime: KnowledgeRuntime,
    *,
    tenant_id: str,
    dataset_ids: list[str],
    query: str,
    retrieval_model: dict[str, Any] | None = None,
    metadata_filtering_conditions: dict[str, Any] | None = None,
    metadata_filtering_mode: str | None = None,
    external_retrieval_model: dict[str, Any] | None = None,
    record_hits: bool = True,
) -> list[RetrievedRecord]:
    """Search one or more datasets of a workspace and return the best segments, best first.

    Args:
        retrieval_model: overrides the datasets' own settings (Dify's dict); with several datasets
            it also decides the final rerank, threshold and `top_k`. It may carry
            `metadata_filtering_conditions` (Dify 1.x puts them there).
        metadata_filtering_conditions: `{logical_operator, conditions: [{name, comparison_operator, value}]}`.
        metadata_filtering_mode: `disabled`, `manual` (the conditions above) or `automatic` (the runtime's
            text model derives conditions from the query and the datasets' metadata fields); unset means
            "use the conditions when given".
        external_retrieval_model: `{top_k, score_threshold, score_threshold_enabled}` for external
            datasets (default: each dataset's own); their records join the others before the final cut.
        record_hits: count each returned segment as hit (off for previews).

    Raises:
        InvalidParamError: an empty or over-long query, a bad retrieval model or filter.
        RerankModelMissingError: reranking is asked for but no rerank seam is bound.
    """
    if not query.strip():
        raise InvalidParamError("query is required.", params="query")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidParamError(f"Query cannot exceed {MAX_QUERY_CHARS} characters.", params="query")
    override = dataset_rules.check_retrieval_model(retrieval_model) if retrieval_model else None
    conditions = metadata_filtering_conditions or (retrieval_model or {}).get("metadata_filtering_conditions")
    mode = metadata_filtering_mode or (retrieval_model or {}).get("metadata_filtering_mode")
    per_dataset = None
    if mode == "disabled":
        conditions = None
    elif mode == "automatic":
        per_dataset = await auto_filter.conditions_for(
            runtime, tenant_id=tenant_id, dataset_ids=dataset_ids, query=query
        )
    scopes = await asyncio.to_thread(_scopes, runtime, tenant_id, dataset_ids, conditions, per_dataset)
    if not scopes:
        return []
    vendor = [scope for scope in scopes if scope.dataset.provider != "external"]
    if override or vendor:
        final = RetrievalSettings.from_dict(override or vendor[0].dataset.retrieval_model)
    else:  # external datasets only: their own top_k and threshold were applied by `external.retrieve`
        setting = external.check_retrieval_setting(
            external_retrieval_model or scopes[0].dataset.external_retrieval_model
        )
        final = RetrievalSettings(top_k=setting["top_k"] * len(scopes))
    query_vectors: dict[tuple[str, str], list[float]] = {}
    candidates: list[Scored] = []
    outside: dict[str, _Row] = {}
    for scope in scopes:
        if scope.dataset.provider == "external":
            records = await external_records(runtime, scope.dataset, query, external_retrieval_model)
            found, made = _external_rows(scope.dataset, records)
            candidates.extend(found)
            outside.update(made)
            continue
        if not scope.document_ids:
            continue
        settings = RetrievalSettings.from_dict(override or scope.dataset.retrieval_model)
        candidates.extend(await _dataset_candidates(runtime, scope, query, settings, query_vectors))
    rows = await asyncio.to_thread(_hydrate, runtime, [c for c in candidates if c.segment_id not in outside])
    rows.update(outside)
    candidates = [c for c in candidates if c.segment_id in rows]
    if final.wants_rerank_model:
        if runtime.rerank is None:
            raise RerankModelMissingError()
        reranker = _ModelReranker(runtime.rerank, tenant_id, final.reranking_provider, final.reranking_model)
        texts = {sid: _rerank_text(segment) for sid, (segment, _, _) in rows.items()}
        candidates = await rerank(query, candidates, texts, reranker)
    chosen = finish(candidates, final)
    if record_hits:
        await asyncio.to_thread(_record_hits, runtime, [c.segment_id for c in chosen if c.segment_id not in outside])
    return [
        RetrievedRecord(rows[c.segment_id][0], rows[c.segment_id][1], c.score, rows[c.segment_id][2]) for c in chosen
    ]


def _rerank_text(segment: Segment) -> str:
    return f"{segment.content}\n{segment.answer}" if segment.answer else segment.content
