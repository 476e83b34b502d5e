"""Full-text indexes in the application database: SQLite FTS5 (embedded) and PostgreSQL tsvector (scaled).

Both keep their own tables, created by `ensure()` on first use rather than by the schema
migrations: like a vector store's collections they belong to the index, not to the ORM model.
On PostgreSQL they live in the schema `loomworks_rag`. Words are stemmed (Porter / English) and a
query matches nodes containing any of its words, ranked by BM25 (FTS5) or `ts_rank_cd` (PostgreSQL),
then normalised so the best hit scores 1.0.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from sqlalchemy import Engine, bindparam, text
from sqlalchemy.exc import DBAPIError

from loomworks.rag.index import IndexEntry, IndexHit

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_MAX_QUERY_WORDS = 32


def query_words(query: str) -> list[str]:
    """The distinct words of a query, in order, at most 32 (longer queries add noise, not recall)."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(query.lower()):
        seen.setdefault(word, None)
    return list(seen)[:_MAX_QUERY_WORDS]


def _normalise(rows: list[tuple[str, str, str, float]]) -> list[IndexHit]:
    best = max((r[3] for r in rows), default=0.0)
    if best <= 0:
        return [IndexHit(r[0], r[1], r[2], 1.0) for r in rows]
    return [IndexHit(r[0], r[1], r[2], max(r[3] / best, 1e-6)) for r in rows]


class _SqlKeywordIndex:
    """What both SQL implementations share: DDL once per process, deletes through the node table."""

    nodes = ""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._ready = False
        self._lock = threading.Lock()

    def _ddl(self) -> list[str]:
        raise NotImplementedError

    def ensure(self) -> None:
        """Create the tables if missing; concurrent creators are tolerated."""
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            for attempt in range(3):
                try:
                    with self.engine.begin() as conn:
                        for statement in self._ddl():
                            conn.execute(text(statement))
                    break
                except DBAPIError:
                    # Two processes creating the same table at once: one loses with a duplicate-key
                    # error on the catalog; the second attempt finds the table in place.
                    if attempt == 2:
                        raise
            self._ready = True

    def _delete_rows(self, conn: Any, where: str, params: dict[str, Any]) -> None:
        raise NotImplementedError

    def delete(self, conn: Any, dataset_id: str, node_ids: Iterable[str]) -> None:
        """Remove nodes by id."""
        ids = list(node_ids)
        for start in range(0, len(ids), 500):
            self._delete_rows(
                conn,
                "dataset_id = :dataset_id AND node_id IN :ids",
                {"dataset_id": dataset_id, "ids": ids[start : start + 500]},
            )

    def delete_documents(self, conn: Any, dataset_id: str, document_ids: Iterable[str]) -> None:
        """Remove every node of the given documents."""
        ids = list(document_ids)
        if ids:
            self._delete_rows(
                conn, "dataset_id = :dataset_id AND document_id IN :ids", {"dataset_id": dataset_id, "ids": ids}
            )

    def drop(self, conn: Any, dataset_id: str) -> None:
        """Remove every node of a dataset."""
        self._delete_rows(conn, "dataset_id = :dataset_id", {"dataset_id": dataset_id})

    def node_ids(self, conn: Any, dataset_id: str, document_id: str) -> set[str]:
        """The ids of the nodes indexed for one document."""
        rows = conn.execute(
            text(f"SELECT node_id FROM {self.nodes} WHERE dataset_id = :d AND document_id = :doc"),
            {"d": dataset_id, "doc": document_id},
        )
        return {str(r[0]) for r in rows}

    def datasets(self, conn: Any) -> list[str]:
        """The ids of the datasets that have nodes here, sorted."""
        rows = conn.execute(text(f"SELECT DISTINCT dataset_id FROM {self.nodes} ORDER BY dataset_id"))
        return [str(r[0]) for r in rows]


def _expanding(statement: str) -> Any:
    clause = text(statement)
    if ":ids" in statement:
        clause = clause.bindparams(bindparam("ids", expanding=True))
    return clause


class SqliteKeywordIndex(_SqlKeywordIndex):
    """`KeywordIndex` on SQLite FTS5 (compiled into the standard library's SQLite).

    A plain table maps node ids to FTS rowids, so deletes by document use an index instead of
    scanning the full-text table.
    """

    nodes = "rag_keyword_nodes"

    def _ddl(self) -> list[str]:
        return [
            "CREATE TABLE IF NOT EXISTS rag_keyword_nodes (rowid INTEGER PRIMARY KEY, node_id TEXT NOT NULL UNIQUE, "
            "segment_id TEXT NOT NULL, document_id TEXT NOT NULL, dataset_id TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS ix_rag_keyword_nodes_doc ON rag_keyword_nodes (dataset_id, document_id)",
            "CREATE VIRTUAL TABLE IF NOT EXISTS rag_keyword_fts USING fts5(content, tokenize='porter unicode61')",
        ]

    def _delete_rows(self, conn: Any, where: str, params: dict[str, Any]) -> None:
        if "ids" in params and not params["ids"]:
            return
        conn.execute(
            _expanding(
                f"DELETE FROM rag_keyword_fts WHERE rowid IN (SELECT rowid FROM rag_keyword_nodes WHERE {where})"
            ),
            params,
        )
        conn.execute(_expanding(f"DELETE FROM rag_keyword_nodes WHERE {where}"), params)

    def add(self, conn: Any, dataset_id: str, entries: Sequence[IndexEntry], texts: Sequence[str]) -> None:
        """Insert or replace nodes and their texts."""
        if len(entries) != len(texts):
            raise ValueError("entries and texts differ in length")
        self.delete(conn, dataset_id, [e.node_id for e in entries])
        for entry, content in zip(entries, texts, strict=True):
            rowid = conn.execute(
                text(
                    "INSERT INTO rag_keyword_nodes (node_id, segment_id, document_id, dataset_id) "
                    "VALUES (:n, :s, :doc, :d) RETURNING rowid"
                ),
                {"n": entry.node_id, "s": entry.segment_id, "doc": entry.document_id, "d": dataset_id},
            ).scalar_one()
            conn.execute(
                text("INSERT INTO rag_keyword_fts (rowid, content) VALUES (:r, :c)"), {"r": rowid, "c": content}
            )

    def export(self, conn: Any, *, after: str = "", limit: int = 1000) -> list[tuple[str, IndexEntry, str]]:
        """Up to `limit` nodes whose id sorts after `after`, in id order, as (dataset id, entry, text).

        Pages through the whole index for bulk copies (`migrate-data`): pass the last node id seen.
        """
        rows = conn.execute(
            text(
                "SELECT n.dataset_id, n.node_id, n.segment_id, n.document_id, f.content FROM rag_keyword_nodes n "
                "JOIN rag_keyword_fts f ON f.rowid = n.rowid WHERE n.node_id > :after ORDER BY n.node_id LIMIT :k"
            ),
            {"after": after, "k": limit},
        ).all()
        return [(str(r[0]), IndexEntry(str(r[1]), str(r[2]), str(r[3])), str(r[4])) for r in rows]

    def search(
        self, conn: Any, dataset_id: str, query: str, *, top_k: int, document_ids: Collection[str] | None = None
    ) -> list[IndexHit]:
        """Nodes matching any query word, by BM25."""
        words = query_words(query)
        if not words or top_k <= 0 or (document_ids is not None and not document_ids):
            return []
        match = " OR ".join('"' + w.replace('"', "") + '"' for w in words)
        sql = (
            "SELECT n.node_id, n.segment_id, n.document_id, -bm25(rag_keyword_fts) AS score "
            "FROM rag_keyword_fts JOIN rag_keyword_nodes n ON n.rowid = rag_keyword_fts.rowid "
            "WHERE rag_keyword_fts MATCH :match AND n.dataset_id = :d"
        )
        params: dict[str, Any] = {"match": match, "d": dataset_id, "k": top_k}
        if document_ids is not None:
            sql += " AND n.document_id IN :ids"
            params["ids"] = list(document_ids)
        sql += " ORDER BY bm25(rag_keyword_fts) LIMIT :k"
        rows = conn.execute(_expanding(sql), params).all()
        return _normalise([(str(r[0]), str(r[1]), str(r[2]), float(r[3])) for r in rows])


class PostgresKeywordIndex(_SqlKeywordIndex):
    """`KeywordIndex` on PostgreSQL: a stored `tsvector` column with a GIN index (English stemming)."""

    nodes = "loomworks_rag.keyword_nodes"

    def _ddl(self) -> list[str]:
        return [
            "CREATE SCHEMA IF NOT EXISTS loomworks_rag",
            "CREATE TABLE IF NOT EXISTS loomworks_rag.keyword_nodes (node_id varchar(64) PRIMARY KEY, "
            "segment_id varchar(64) NOT NULL, document_id varchar(64) NOT NULL, dataset_id varchar(64) NOT NULL, "
            "content text NOT NULL, "
            "tsv tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, content)) STORED)",
            "CREATE INDEX IF NOT EXISTS ix_keyword_nodes_tsv ON loomworks_rag.keyword_nodes USING gin (tsv)",
            "CREATE INDEX IF NOT EXISTS ix_keyword_nodes_doc ON loomworks_rag.keyword_nodes (dataset_id, document_id)",
        ]

    def _delete_rows(self, conn: Any, where: str, params: dict[str, Any]) -> None:
        if "ids" in params and not params["ids"]:
            return
        conn.execute(_expanding(f"DELETE FROM loomworks_rag.keyword_nodes WHERE {where}"), params)

    def add(self, conn: Any, dataset_id: str, entries: Sequence[IndexEntry], texts: Sequence[str]) -> None:
        """Insert or replace nodes and their texts."""
        if len(entries) != len(texts):
            raise ValueError("entries and texts differ in length")
        if not entries:
            return
        conn.execute(
            text(
                "INSERT INTO loomworks_rag.keyword_nodes (node_id, segment_id, document_id, dataset_id, content) "
                "VALUES (:n, :s, :doc, :d, :c) ON CONFLICT (node_id) DO UPDATE SET segment_id = EXCLUDED.segment_id, "
                "document_id = EXCLUDED.document_id, dataset_id = EXCLUDED.dataset_id, content = EXCLUDED.content"
            ),
            [
                {"n": e.node_id, "s": e.segment_id, "doc": e.document_id, "d": dataset_id, "c": c.replace("\x00", "")}
                for e, c in zip(entries, texts, strict=True)
            ],
        )

    def search(
        self, conn: Any, dataset_id: str, query: str, *, top_k: int, document_ids: Collection[str] | None = None
    ) -> list[IndexHit]:
        """Nodes matching any query word, by `ts_rank_cd`."""
        words = query_words(query)
        if not words or top_k <= 0 or (document_ids is not None and not document_ids):
            return []
        sql = (
            "SELECT node_id, segment_id, document_id, ts_rank_cd(tsv, q) AS score "
            "FROM loomworks_rag.keyword_nodes, to_tsquery('english'::regconfig, :tsq) q "
            "WHERE dataset_id = :d AND tsv @@ q"
        )
        params: dict[str, Any] = {"tsq": " | ".join(words), "d": dataset_id, "k": top_k}
        if document_ids is not None:
            sql += " AND document_id IN :ids"
            params["ids"] = list(document_ids)
        sql += " ORDER BY score DESC, node_id LIMIT :k"
        rows = conn.execute(_expanding(sql), params).all()
        return _normalise([(str(r[0]), str(r[1]), str(r[2]), float(r[3])) for r in rows])


def keyword_index_for(engine: Engine) -> SqliteKeywordIndex | PostgresKeywordIndex:
    """The keyword index that suits the database behind `engine`."""
    if engine.dialect.name == "sqlite":
        return SqliteKeywordIndex(engine)
    if engine.dialect.name == "postgresql":
        return PostgresKeywordIndex(engine)
    raise ValueError(f"no keyword index for {engine.dialect.name}")
