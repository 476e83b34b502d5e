"""Indexing documents: the `index_document`, `sync_segments` and `drop_dataset_index` jobs.

`index_document` runs parse → clean → split → (QA generation) → embed → index, recording each
stage on the document (`indexing_status` and its timestamps) and progress as segments reach
`completed`. It is idempotent: the unit of work that writes the new segments first deletes the
document's old segments, child chunks and index entries, so a run resumed after a crash, a retry or
a resume after pause never duplicates anything. A failure records a clear error on that document
and removes its partial segments; other documents are unaffected.

`sync_segments` reconciles the indexes of one document with its segment rows after segments were
added, edited, enabled, disabled or deleted. `drop_dataset_index` removes a deleted dataset's indexes.

The seams the server binds (see `KnowledgeRuntime`): `embed(tenant_id, provider, model, texts)`,
`rerank(tenant_id, provider, model, query, documents)` and `complete(tenant_id, prompt)`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from loomworks.core.clock import now
from loomworks.core.config import Settings
from loomworks.core.crypto import KeyRing
from loomworks.core.ids import new_id
from loomworks.core.ssrf import SafeHttpClient
from loomworks.rag.clean import clean, enabled_rules
from loomworks.rag.embed import BatchedEmbedder, EmbeddingCache
from loomworks.rag.extract import ExtractionError, ExtractLimits, extract
from loomworks.rag.index import IndexEntry, KeywordIndex, VectorIndex
from loomworks.rag.index.embedded import EmbeddedVectorIndex
from loomworks.rag.index.keyword import keyword_index_for
from loomworks.rag.qa import generate_pairs
from loomworks.rag.split import TokenCounter, estimate_tokens, split_document, split_fixed
from loomworks.services.knowledge import documents
from loomworks.services.knowledge import segments as segment_rules
from loomworks.store.db import Database
from loomworks.store.storage import Storage
from loomworks.store.tables import ChildChunk, Dataset, Document, Segment
from loomworks.tasks.queue import JobQueue, PermanentJobError

log = logging.getLogger("loomworks.knowledge")

INDEX_JOB = documents.INDEX_JOB
SYNC_JOB = segment_rules.SYNC_JOB
DROP_JOB = "drop_dataset_index"
SEGMENTS_PER_BATCH = 32

Embed = Callable[[str, str, str, list[str]], Awaitable[list[list[float]]]]
"""(tenant_id, provider, model, texts) -> one vector per text."""
Rerank = Callable[[str, str, str, str, list[str]], Awaitable[list[float]]]
"""(tenant_id, provider, model, query, documents) -> one relevance score in [0, 1] per document."""
Complete = Callable[[str, str], Awaitable[str]]
"""(tenant_id, prompt) -> the reply of the workspace's default text model (QA generation)."""


class IndexingError(Exception):
    """A document cannot be indexed for a reason retrying will not fix (missing model, bad settings)."""


@dataclass
class KnowledgeRuntime:
    """What indexing and retrieval need: the database, files, indexes and the model seams.

    Build one per process with `from_settings(...)` (or `embedded(...)`), then `register(queue)` its jobs.
    """

    db: Database
    storage: Storage
    vectors: VectorIndex
    keywords: KeywordIndex
    embed: Embed | None = None
    rerank: Rerank | None = None
    complete: Complete | None = None
    count_tokens: TokenCounter = estimate_tokens
    cache: EmbeddingCache | None = None
    limits: ExtractLimits = field(default_factory=ExtractLimits)
    http: SafeHttpClient | None = None  # external knowledge APIs are called through it (SSRF-checked)
    keyring: KeyRing | None = None  # opens the sealed API keys of external knowledge APIs

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        db: Database,
        storage: Storage,
        *,
        embed: Embed | None = None,
        rerank: Rerank | None = None,
        complete: Complete | None = None,
        count_tokens: TokenCounter = estimate_tokens,
        http: SafeHttpClient | None = None,
    ) -> KnowledgeRuntime:
        """The runtime the settings ask for: `vector_store` picks the embedded index or pgvector.

        Raises:
            ValueError: `vector_store=pgvector` without a PostgreSQL URL to use.
        """
        vectors: VectorIndex | None = None
        if settings.vector_store == "pgvector":
            # Imported here: psycopg costs start-up time that the embedded mode never needs.
            from loomworks.rag.index.pgvector import PgVectorIndex

            url = settings.resolved_pgvector_url
            if not url:
                raise ValueError("vector_store=pgvector needs LOOMWORKS_PGVECTOR_URL (or a PostgreSQL database_url).")
            vectors = PgVectorIndex(
                url,
                ef_search=settings.pgvector_ef_search,
                exact_rescore=settings.pgvector_exact_rescore,
                hnsw_min_rows=settings.pgvector_hnsw_min_rows,
            )
        runtime = cls.embedded(
            db,
            storage,
            settings.data_dir,
            embed=embed,
            rerank=rerank,
            complete=complete,
            count_tokens=count_tokens,
            vectors=vectors,
        )
        runtime.http, runtime.keyring = http, settings.keyring()
        return runtime

    @classmethod
    def embedded(
        cls,
        db: Database,
        storage: Storage,
        data_dir: Path,
        *,
        embed: Embed | None = None,
        rerank: Rerank | None = None,
        complete: Complete | None = None,
        count_tokens: TokenCounter = estimate_tokens,
        vectors: VectorIndex | None = None,
    ) -> KnowledgeRuntime:
        """Vectors under `<data_dir>/vectors` (unless `vectors` is given); keywords and the embedding cache in the
        app database."""
        keywords = keyword_index_for(db.engine)
        keywords.ensure()
        cache = EmbeddingCache(db.engine)
        cache.ensure()
        return cls(
            db=db,
            storage=storage,
            vectors=vectors if vectors is not None else EmbeddedVectorIndex(Path(data_dir) / "vectors"),
            keywords=keywords,
            embed=embed,
            rerank=rerank,
            complete=complete,
            count_tokens=count_tokens,
            cache=cache,
        )

    def register(self, queue: JobQueue) -> None:
        """Register the knowledge jobs with the job queue."""
        queue.register(INDEX_JOB, self.index_document)
        queue.register(SYNC_JOB, self.sync_segments)
        queue.register(DROP_JOB, self.drop_dataset_index)

    def embedder(self, dataset: Dataset) -> BatchedEmbedder:
        """The cached, batched embedder for a dataset's embedding model.

        Raises:
            IndexingError: no embedding function is bound, or the dataset names no model.
        """
        embed = self.embed
        if embed is None:
            raise IndexingError("No embedding model is available on this server; use the economy indexing technique.")
        provider, model = dataset.embedding_model_provider or "", dataset.embedding_model or ""
        if not model:
            raise IndexingError("The dataset has no embedding model; set embedding_model and embedding_model_provider.")
        tenant_id = dataset.tenant_id

        async def call(texts: list[str]) -> list[list[float]]:
            return await embed(tenant_id, provider, model, texts)

        return BatchedEmbedder(call, cache=self.cache, provider=provider, model=model)

    # -- index_document -------------------------------------------------------------------------

    async def index_document(self, payload: dict[str, Any]) -> None:
        """The `index_document` job: index one document from its stored source."""
        document_id = str(payload["document_id"])
        plan = await asyncio.to_thread(self._start, document_id)
        if plan is None:
            return
        try:
            await self._run(plan)
        except (ExtractionError, IndexingError, ValueError) as exc:
            await asyncio.to_thread(self._fail, plan, str(exc))
            raise PermanentJobError(str(exc)) from exc
        except Exception as exc:
            await asyncio.to_thread(self._fail, plan, f"{type(exc).__name__}: {exc}")
            raise

    def _start(self, document_id: str) -> _Plan | None:
        with self.db.session() as session:
            document = session.get(Document, document_id)
            if document is None or document.is_paused or document.indexing_status == "completed":
                return None
            dataset = session.get(Dataset, document.dataset_id)
            if dataset is None:
                return None
            document.indexing_status, document.error, document.stopped_at = "parsing", None, None
            document.processing_started_at = now()
            document.parsing_completed_at = document.cleaning_completed_at = document.splitting_completed_at = None
            document.completed_at = None
            return _Plan.of(document, dataset)

    def _stage(self, plan: _Plan, status: str, **stamps: Any) -> bool:
        """Move to the next stage; False when the document was paused or deleted meanwhile."""
        with self.db.session() as session:
            document = session.get(Document, plan.document_id)
            if document is None or document.is_paused:
                return False
            document.indexing_status = status
            for key, value in stamps.items():
                setattr(document, key, value)
            return True

    async def _run(self, plan: _Plan) -> None:
        if not plan.source_key:
            raise IndexingError("The document has no stored source.")
        data = await asyncio.to_thread(self.storage.load, plan.source_key)
        extracted = await asyncio.to_thread(extract, data, filename=plan.source_key, limits=self.limits)
        if not await asyncio.to_thread(self._stage, plan, "cleaning", parsing_completed_at=now()):
            return
        rules = (plan.rule.get("rules") or {}).get("pre_processing_rules")
        text = clean(extracted.text, enabled_rules(rules))
        if not await asyncio.to_thread(self._stage, plan, "splitting", cleaning_completed_at=now()):
            return
        parents = await asyncio.to_thread(split_document, text, plan.rule, count_tokens=self.count_tokens)
        if not parents:
            raise ExtractionError("The document holds no text after cleaning.")
        drafts = [_Draft(p.text, None, p.children) for p in parents]
        if plan.doc_form == "qa_model":
            drafts = await self._qa_drafts(plan, drafts)
        embedder = await asyncio.to_thread(self._embedder_for, plan) if plan.high_quality else None
        nodes = await asyncio.to_thread(self._write_segments, plan, drafts)
        if nodes is None:
            return
        for start in range(0, len(nodes), SEGMENTS_PER_BATCH):
            batch = nodes[start : start + SEGMENTS_PER_BATCH]
            vectors = None
            if embedder is not None:
                vectors = await embedder([t for seg in batch for _, t in seg.nodes])
            if not await asyncio.to_thread(self._index_batch, plan, batch, vectors):
                return  # paused: resuming re-runs the job, which starts over idempotently
        await asyncio.to_thread(self._complete, plan)

    def _embedder_for(self, plan: _Plan) -> BatchedEmbedder:
        with self.db.session() as session:
            dataset = session.get(Dataset, plan.dataset_id)
            if dataset is None:
                raise IndexingError("The dataset was deleted.")
            return self.embedder(dataset)

    async def _qa_drafts(self, plan: _Plan, drafts: list[_Draft]) -> list[_Draft]:
        complete = self.complete
        if complete is None:
            raise IndexingError("Q&A segmentation needs a text generation model, and none is available.")

        async def ask(prompt: str) -> str:
            return await complete(plan.tenant_id, prompt)

        out: list[_Draft] = []
        for draft in drafts:
            for pair in await generate_pairs(draft.content, ask, language=plan.language):
                out.append(_Draft(pair.question, pair.answer, []))
        return out

    def _write_segments(self, plan: _Plan, drafts: list[_Draft]) -> list[_SegmentNodes] | None:
        """One unit of work: remove what a previous run left, write the new segments and child chunks."""
        self.vectors.delete_documents(plan.dataset_id, [plan.document_id])
        with self.db.session() as session:
            document = session.get(Document, plan.document_id)
            if document is None or document.is_paused:
                return None
            self._remove_rows(session, plan)
            self.keywords.delete_documents(session.connection(), plan.dataset_id, [plan.document_id])
            stamp = now()
            out: list[_SegmentNodes] = []
            written: list[tuple[Segment, _Draft]] = []
            words = tokens = 0
            for position, draft in enumerate(drafts, start=1):
                segment_id = new_id()
                count = segment_rules.word_count(draft.content) + segment_rules.word_count(draft.answer or "")
                segment = Segment(
                    id=segment_id,
                    tenant_id=plan.tenant_id,
                    dataset_id=plan.dataset_id,
                    document_id=plan.document_id,
                    position=position,
                    content=draft.content,
                    answer=draft.answer,
                    word_count=count,
                    tokens=self.count_tokens(draft.content + (draft.answer or "")),
                    keywords=[],
                    index_node_id=segment_id,
                    index_node_hash=segment_rules.content_hash(draft.content, draft.answer),
                    status="indexing",
                    indexing_at=stamp,
                    created_by=plan.created_by,
                )
                session.add(segment)
                words, tokens = words + count, tokens + segment.tokens
                written.append((segment, draft))
            session.flush()  # child chunks reference the segments
            for segment, draft in written:
                out.append(_SegmentNodes(segment.id, self._children(session, plan, segment, draft.children)))
            document.indexing_status = "indexing"
            document.splitting_completed_at = stamp
            document.word_count, document.tokens = words, tokens
            return out

    def _children(self, session: Session, plan: _Plan, segment: Segment, children: list[str]) -> list[tuple[str, str]]:
        """Write child chunks; the nodes to index are the children, or the segment itself."""
        if not children:
            return [(segment.id, segment.content)]
        nodes = []
        for position, content in enumerate(children, start=1):
            chunk_id = new_id()
            session.add(
                ChildChunk(
                    id=chunk_id,
                    tenant_id=plan.tenant_id,
                    dataset_id=plan.dataset_id,
                    document_id=plan.document_id,
                    segment_id=segment.id,
                    position=position,
                    content=content,
                    word_count=len(content),
                    index_node_id=chunk_id,
                    index_node_hash=segment_rules.content_hash(content),
                    type="automatic",
                    created_by=plan.created_by,
                )
            )
            nodes.append((chunk_id, content))
        return nodes

    def _remove_rows(self, session: Session, plan: _Plan) -> None:
        session.execute(delete(ChildChunk).where(ChildChunk.document_id == plan.document_id))
        session.execute(delete(Segment).where(Segment.document_id == plan.document_id))

    def _index_batch(self, plan: _Plan, batch: list[_SegmentNodes], vectors: list[list[float]] | None) -> bool:
        entries = [IndexEntry(node_id, seg.segment_id, plan.document_id) for seg in batch for node_id, _ in seg.nodes]
        texts = [text for seg in batch for _, text in seg.nodes]
        with self.db.session() as session:
            document = session.get(Document, plan.document_id)
            if document is None or document.is_paused:
                return False
            if vectors is not None:
                self.vectors.add(plan.dataset_id, entries, vectors)
            self.keywords.add(session.connection(), plan.dataset_id, entries, texts)
            stamp = now()
            for row in session.scalars(select(Segment).where(Segment.id.in_([s.segment_id for s in batch]))):
                row.status, row.completed_at = "completed", stamp
            return True

    def _complete(self, plan: _Plan) -> None:
        with self.db.session() as session:
            document = session.get(Document, plan.document_id)
            if document is None or document.is_paused:
                return
            stamp = now()
            document.indexing_status, document.completed_at = "completed", stamp
            started = document.processing_started_at
            if started is not None:
                if started.tzinfo is None:
                    stamp = stamp.replace(tzinfo=None)
                document.indexing_latency = (stamp - started).total_seconds()

    def _fail(self, plan: _Plan, message: str) -> None:
        """Record the error on the document and remove anything half-indexed."""
        log.warning("indexing failed", extra={"document_id": plan.document_id, "error": message})
        self.vectors.delete_documents(plan.dataset_id, [plan.document_id])
        with self.db.session() as session:
            document = session.get(Document, plan.document_id)
            if document is None:
                return
            self._remove_rows(session, plan)
            self.keywords.delete_documents(session.connection(), plan.dataset_id, [plan.document_id])
            document.indexing_status, document.error, document.stopped_at = "error", message[:2000], now()
            document.word_count = document.tokens = 0

    # -- sync_segments --------------------------------------------------------------------------

    async def sync_segments(self, payload: dict[str, Any]) -> None:
        """The `sync_segments` job: bring one document's index entries in line with its segment rows."""
        document_id = str(payload["document_id"])
        pending = await asyncio.to_thread(self._reconcile, document_id, payload.get("dataset_id"))
        if pending is None or not pending.nodes:
            return
        vectors = None
        if pending.embedder is not None:
            vectors = await pending.embedder([t for seg in pending.nodes for _, t in seg.nodes])
        await asyncio.to_thread(self._index_synced, pending, vectors)

    def _reconcile(self, document_id: str, dataset_id: str | None) -> _Pending | None:
        """Delete stale entries; return the segments that must be (re-)indexed."""
        with self.db.session() as session:
            document = session.get(Document, document_id)
            if document is None:
                if dataset_id:
                    self.vectors.delete_documents(dataset_id, [document_id])
                    self.keywords.delete_documents(session.connection(), dataset_id, [document_id])
                return None
            dataset = session.get(Dataset, document.dataset_id)
            if dataset is None or document.indexing_status != "completed":
                return None  # a running or failed index job owns this document's entries
            plan = _Plan.of(document, dataset)
            rows = list(session.scalars(select(Segment).where(Segment.document_id == document.id)))
            wanted: set[str] = set()
            todo: list[_SegmentNodes] = []
            for segment in rows:
                if not segment.enabled:
                    continue
                nodes = self._segment_nodes(session, plan, segment)
                wanted.update(node_id for node_id, _ in nodes)
                if segment.status != "completed":
                    todo.append(_SegmentNodes(segment.id, nodes))
            conn = session.connection()
            indexed = self.vectors.node_ids(dataset.id, document.id) | self.keywords.node_ids(
                conn, dataset.id, document.id
            )
            stale = indexed - wanted
            if stale:
                self.vectors.delete(dataset.id, stale)
                self.keywords.delete(conn, dataset.id, stale)
            embedder = self.embedder(dataset) if todo and dataset.indexing_technique == "high_quality" else None
            return _Pending(plan, todo, embedder)

    def _segment_nodes(self, session: Session, plan: _Plan, segment: Segment) -> list[tuple[str, str]]:
        """A segment's index nodes; in parent-child mode its child chunks as they are, or cut again from
        the parent when the segment is marked `re_segment` (new, or edited with regeneration)."""
        if plan.doc_form != "hierarchical_model":
            return [(segment.id, segment.content)]
        children = list(session.scalars(select(ChildChunk).where(ChildChunk.segment_id == segment.id)))
        if segment.status != "re_segment":
            return [(c.id, c.content) for c in sorted(children, key=lambda c: c.position)]
        for child in children:
            session.delete(child)
        rules = plan.rule.get("rules") or {}
        sub = rules.get("subchunk_segmentation") or {}
        pieces = split_fixed(
            segment.content,
            separator=str(sub.get("separator") or "\n"),
            max_tokens=int(sub.get("max_tokens") or 200),
            chunk_overlap=int(sub.get("chunk_overlap") or 0),
            count_tokens=self.count_tokens,
        )
        return self._children(session, plan, segment, [p.text for p in pieces] or [segment.content])

    def _index_synced(self, pending: _Pending, vectors: list[list[float]] | None) -> None:
        plan = pending.plan
        with self.db.session() as session:
            alive = set(
                session.scalars(select(Segment.id).where(Segment.id.in_([s.segment_id for s in pending.nodes])))
            )
            batch = [s for s in pending.nodes if s.segment_id in alive]
            if vectors is not None:
                flat = iter(vectors)
                by_segment = [[next(flat) for _ in s.nodes] for s in pending.nodes]
                kept = [v for s, vs in zip(pending.nodes, by_segment, strict=True) if s.segment_id in alive for v in vs]
                entries = [IndexEntry(n, s.segment_id, plan.document_id) for s in batch for n, _ in s.nodes]
                self.vectors.add(plan.dataset_id, entries, kept)
            entries = [IndexEntry(n, s.segment_id, plan.document_id) for s in batch for n, _ in s.nodes]
            self.keywords.add(session.connection(), plan.dataset_id, entries, [t for s in batch for _, t in s.nodes])
            stamp = now()
            for row in session.scalars(select(Segment).where(Segment.id.in_(list(alive)))):
                row.status, row.completed_at, row.indexing_at = "completed", stamp, row.indexing_at or stamp

    # -- drop_dataset_index ---------------------------------------------------------------------

    async def drop_dataset_index(self, payload: dict[str, Any]) -> None:
        """The `drop_dataset_index` job: remove a deleted dataset's vector and keyword entries."""
        dataset_id = str(payload["dataset_id"])
        await asyncio.to_thread(self.vectors.drop, dataset_id)

        def drop_keywords() -> None:
            with self.db.session() as session:
                self.keywords.drop(session.connection(), dataset_id)

        await asyncio.to_thread(drop_keywords)


@dataclass(frozen=True, slots=True)
class _Plan:
    document_id: str
    dataset_id: str
    tenant_id: str
    name: str
    source_key: str
    rule: dict[str, Any]
    doc_form: str
    language: str
    high_quality: bool
    created_by: str

    @classmethod
    def of(cls, document: Document, dataset: Dataset) -> _Plan:
        return cls(
            document_id=document.id,
            dataset_id=dataset.id,
            tenant_id=dataset.tenant_id,
            name=document.name,
            source_key=document.source_text_key or "",
            rule=dict(document.process_rule or {}),
            doc_form=document.doc_form,
            language=document.doc_language,
            high_quality=dataset.indexing_technique == "high_quality",
            created_by=document.created_by,
        )


@dataclass(frozen=True, slots=True)
class _Draft:
    content: str
    answer: str | None
    children: list[str]


@dataclass(frozen=True, slots=True)
class _SegmentNodes:
    segment_id: str
    nodes: list[tuple[str, str]]  # (node id, text to index)


@dataclass(frozen=True, slots=True)
class _Pending:
    plan: _Plan
    nodes: list[_SegmentNodes]
    embedder: BatchedEmbedder | None
