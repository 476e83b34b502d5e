"""A `VectorIndex` in PostgreSQL with the pgvector extension (the scaled mode of DESIGN §2).

Layout: one table per dataset, as Dify's pgvector store keeps one collection per dataset
(`Vector_index_<id>_Node`). A table holds `(node_id, segment_id, document_id, embedding vector(dim))`
with the vectors L2-normalised, so the inner product is the cosine similarity. A catalog table
(`loomworks_vector_collections`) maps a dataset to its table, its dimension and whether its ANN
index exists. One table per dataset was chosen over one shared table with per-dataset partial
indexes because the planner only uses a partial index when the dataset id is a literal in the
query, HNSW over a shared table filters *after* the graph walk (a small dataset in a big table
finds too few rows), and dropping a dataset becomes `DROP TABLE` instead of a large `DELETE`.

The ANN index is HNSW over the half-precision cast of the vectors
(`(embedding::halfvec(dim)) halfvec_ip_ops`): half the size of a `vector` index, cheaper to
build, and it covers up to 4,000 dimensions where a `vector` HNSW index stops at 2,000. A query
walks that index for `ef_search` candidates and, with `exact_rescore` on, re-orders them by the
exact full-precision similarity before cutting to `top_k`; the returned scores are always exact.
Small datasets need no ANN index: it is built once a dataset reaches `hnsw_min_rows` rows (an
exact scan of a few thousand rows takes a millisecond, and building HNSW in one pass over
existing rows is much faster than growing it row by row). Until then searches are exact. Datasets
with more than 4,000 dimensions are always searched exactly.

Filtering by document uses pgvector's iterative index scans (`hnsw.iterative_scan`), so a filter
that keeps few rows still finds `top_k` of them.
"""

from __future__ import annotations

import hashlib
import struct
import threading
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import psycopg
from psycopg import sql
from psycopg.adapt import Dumper
from psycopg.pq import Format
from sqlalchemy.pool import QueuePool

from loomworks.rag.index import IndexEntry, IndexHit

CATALOG = "loomworks_vector_collections"
HALFVEC_MAX_DIM = 4000


class _Vector:
    """A float32 vector on its way to a `vector` parameter or COPY column (binary format)."""

    __slots__ = ("values",)

    def __init__(self, values: np.ndarray[Any, Any]) -> None:
        self.values = values


class _VectorDumper(Dumper):
    """pgvector's binary input: int16 dimension, int16 unused, then big-endian float32 values."""

    format = Format.BINARY

    def dump(self, obj: Any) -> bytes:
        values = np.asarray(obj.values, dtype=">f4")
        return struct.pack(">HH", values.shape[0], 0) + values.tobytes()


def _normalised(vectors: Sequence[Sequence[float]] | np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    rows = np.asarray(vectors, dtype=np.float32)
    if rows.ndim != 2:
        raise ValueError("vectors must be a list of equal-length lists")
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms == 0, 1.0, norms)


def _table_name(dataset_id: str) -> str:
    if not dataset_id:
        raise ValueError("invalid dataset id ''")
    return "lw_vec_" + hashlib.sha256(dataset_id.encode()).hexdigest()[:32]


def _libpq_url(url: str) -> str:
    """Accept SQLAlchemy-style URLs (`postgresql+psycopg://…`) as well as libpq ones."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+', 1)[0]}{sep}{rest}" if sep else url


class PgVectorIndex:
    """`VectorIndex` over PostgreSQL + pgvector; thread-safe (a small connection pool).

    Args:
        url: a libpq or SQLAlchemy URL of a database where `CREATE EXTENSION vector` is allowed
            (or already done).
        ef_search: HNSW candidate list size per query (`hnsw.ef_search`); higher is slower and
            finds more of the true nearest neighbours.
        exact_rescore: re-order the `ef_search` candidates by exact similarity before cutting to
            `top_k` (recovers what the half-precision index order loses).
        hnsw_min_rows: build a dataset's HNSW index once it holds this many rows (0: at once).
        m / ef_construction: HNSW build parameters.
        pool_size: connections kept open.
    """

    def __init__(
        self,
        url: str,
        *,
        ef_search: int = 100,
        exact_rescore: bool = True,
        hnsw_min_rows: int = 5000,
        m: int = 16,
        ef_construction: int = 64,
        pool_size: int = 4,
    ) -> None:
        self.url = _libpq_url(url)
        self.ef_search = ef_search
        self.exact_rescore = exact_rescore
        self.hnsw_min_rows = hnsw_min_rows
        self.m, self.ef_construction = m, ef_construction
        self._dumper: type[Dumper] | None = None
        self._vector_oid = 0
        self._setup_lock = threading.Lock()
        self._pool = QueuePool(self._connect, pool_size=pool_size, max_overflow=pool_size, reset_on_return=None)

    # -- connections ----------------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(self.url, autocommit=True)
        try:
            self._prepare(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _prepare(self, conn: psycopg.Connection[Any]) -> None:
        with self._setup_lock:
            if self._dumper is None:
                self._ensure_schema(conn)
                info = psycopg.types.TypeInfo.fetch(conn, "vector")
                if info is None:  # pragma: no cover - CREATE EXTENSION above succeeded
                    raise RuntimeError("the pgvector extension is not installed in this database")
                self._vector_oid = info.oid
                self._dumper = type("VectorDumper", (_VectorDumper,), {"oid": info.oid})
        conn.adapters.register_dumper(_Vector, self._dumper)

    @staticmethod
    def _ensure_schema(conn: psycopg.Connection[Any]) -> None:
        with conn.transaction():
            # Two processes starting at once would race on CREATE EXTENSION / TABLE IF NOT EXISTS.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('loomworks_vector_schema'))")
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {CATALOG} ("
                "dataset_id text PRIMARY KEY, table_name text NOT NULL, dim integer NOT NULL, "
                "indexed boolean NOT NULL DEFAULT false)"
            )

    @contextmanager
    def _conn(self) -> Iterator[psycopg.Connection[Any]]:
        fairy = self._pool.connect()
        try:
            conn: psycopg.Connection[Any] = fairy.driver_connection  # type: ignore[assignment]
            yield conn
        except (psycopg.OperationalError, psycopg.InterfaceError):
            fairy.invalidate()  # a broken connection must not go back to the pool
            raise
        finally:
            fairy.close()

    def close(self) -> None:
        """Close the pooled connections."""
        self._pool.dispose()

    # -- catalog --------------------------------------------------------------------------------

    @staticmethod
    def _collection(conn: psycopg.Connection[Any], dataset_id: str) -> tuple[str, int, bool] | None:
        row = conn.execute(
            f"SELECT table_name, dim, indexed FROM {CATALOG} WHERE dataset_id = %s", (dataset_id,)
        ).fetchone()
        return (str(row[0]), int(row[1]), bool(row[2])) if row else None

    def _create_collection(self, conn: psycopg.Connection[Any], dataset_id: str, dim: int) -> tuple[str, int, bool]:
        table = _table_name(dataset_id)
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (table,))
        found = self._collection(conn, dataset_id)
        if found is not None:
            return found
        ident = sql.Identifier(table)
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (node_id text PRIMARY KEY, segment_id text NOT NULL, "
                "document_id text NOT NULL, embedding vector({}) NOT NULL)"
            ).format(ident, sql.Literal(dim))
        )
        conn.execute(
            sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (document_id)").format(sql.Identifier(f"{table}_doc"), ident)
        )
        conn.execute(
            f"INSERT INTO {CATALOG} (dataset_id, table_name, dim) VALUES (%s, %s, %s)", (dataset_id, table, dim)
        )
        return table, dim, False

    def ensure_ann_index(self, dataset_id: str) -> bool:
        """Build the dataset's HNSW index now, whatever its size; False when it cannot have one."""
        with self._conn() as conn, conn.transaction():
            found = self._collection(conn, dataset_id)
            if found is None or found[1] > HALFVEC_MAX_DIM:
                return False
            if not found[2]:
                self._build_index(conn, dataset_id, found)
            return True

    def _build_index(self, conn: psycopg.Connection[Any], dataset_id: str, collection: tuple[str, int, bool]) -> None:
        table, dim, _ = collection
        conn.execute(
            sql.SQL(
                "CREATE INDEX IF NOT EXISTS {} ON {} USING hnsw ((embedding::halfvec({})) halfvec_ip_ops) "
                "WITH (m = {}, ef_construction = {})"
            ).format(
                sql.Identifier(f"{table}_hnsw"),
                sql.Identifier(table),
                sql.Literal(dim),
                sql.Literal(self.m),
                sql.Literal(self.ef_construction),
            )
        )
        conn.execute(f"UPDATE {CATALOG} SET indexed = true WHERE dataset_id = %s", (dataset_id,))

    # -- VectorIndex ----------------------------------------------------------------------------

    def add(self, dataset_id: str, entries: Sequence[IndexEntry], vectors: Sequence[Sequence[float]]) -> None:
        """Upsert `entries` (COPY into a temporary table, then one INSERT … ON CONFLICT)."""
        self._upsert(dataset_id, entries, vectors, build_ann=True)

    def _upsert(
        self,
        dataset_id: str,
        entries: Sequence[IndexEntry],
        vectors: Sequence[Sequence[float]] | np.ndarray[Any, Any],
        *,
        build_ann: bool,
    ) -> None:
        if len(entries) != len(vectors):
            raise ValueError("entries and vectors differ in length")
        if not entries:
            return
        rows = _normalised(vectors)
        dim = int(rows.shape[1])
        with self._conn() as conn, conn.transaction():
            collection = self._collection(conn, dataset_id) or self._create_collection(conn, dataset_id, dim)
            table, held, indexed = collection
            if held != dim:
                raise ValueError(f"vectors have {dim} dimensions; this dataset's index holds {held}")
            conn.execute(
                sql.SQL("CREATE TEMP TABLE _lw_incoming (LIKE {} INCLUDING DEFAULTS) ON COMMIT DROP").format(
                    sql.Identifier(table)
                )
            )
            with conn.cursor().copy(
                "COPY _lw_incoming (node_id, segment_id, document_id, embedding) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(["text", "text", "text", self._vector_oid])
                for entry, row in zip(entries, rows, strict=True):
                    copy.write_row((entry.node_id, entry.segment_id, entry.document_id, _Vector(row)))
            # A node listed twice in one call keeps its last row, as repeated `add` calls would.
            conn.execute(
                sql.SQL(
                    "INSERT INTO {} AS t SELECT DISTINCT ON (node_id) * FROM _lw_incoming ORDER BY node_id, ctid DESC "
                    "ON CONFLICT (node_id) DO UPDATE SET segment_id = EXCLUDED.segment_id, "
                    "document_id = EXCLUDED.document_id, embedding = EXCLUDED.embedding"
                ).format(sql.Identifier(table))
            )
            if build_ann and not indexed and dim <= HALFVEC_MAX_DIM:
                # Cheap: without its index a table holds fewer than `hnsw_min_rows` rows plus this batch.
                counted = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
                if counted is not None and int(counted[0]) >= self.hnsw_min_rows:
                    self._build_index(conn, dataset_id, collection)

    def load(
        self,
        dataset_id: str,
        batches: Iterable[tuple[Sequence[IndexEntry], Sequence[Sequence[float]] | np.ndarray[Any, Any]]],
    ) -> int:
        """Upsert many batches of `(entries, vectors)` and return the dataset's size (bulk copies, `migrate-data`).

        Unlike repeated `add` calls, the HNSW index is built once, after the rows are in, when the dataset
        reaches `hnsw_min_rows`: one pass over existing rows instead of growing the graph row by row.
        Upserting by node id makes a repeated load leave the same rows.
        """
        for entries, vectors in batches:
            self._upsert(dataset_id, entries, vectors, build_ann=False)
        with self._conn() as conn, conn.transaction():
            collection = self._collection(conn, dataset_id)
            if collection is None:
                return 0
            counted = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(collection[0]))).fetchone()
            size = int(counted[0]) if counted is not None else 0
            if not collection[2] and collection[1] <= HALFVEC_MAX_DIM and size >= self.hnsw_min_rows:
                self._build_index(conn, dataset_id, collection)
        return size

    def collections(self) -> dict[str, int]:
        """Every dataset that has a collection here, with its number of vectors."""
        with self._conn() as conn:
            catalog = conn.execute(f"SELECT dataset_id, table_name FROM {CATALOG} ORDER BY dataset_id").fetchall()
            sizes: dict[str, int] = {}
            for dataset_id, table in catalog:
                counted = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
                sizes[str(dataset_id)] = int(counted[0]) if counted is not None else 0
            return sizes

    def delete(self, dataset_id: str, node_ids: Iterable[str]) -> None:
        """Remove nodes by id."""
        ids = list(node_ids)
        if not ids:
            return
        with self._conn() as conn:
            collection = self._collection(conn, dataset_id)
            if collection is not None:
                conn.execute(
                    sql.SQL("DELETE FROM {} WHERE node_id = ANY(%s)").format(sql.Identifier(collection[0])), (ids,)
                )

    def delete_documents(self, dataset_id: str, document_ids: Iterable[str]) -> None:
        """Remove every node of the given documents."""
        ids = list(document_ids)
        if not ids:
            return
        with self._conn() as conn:
            collection = self._collection(conn, dataset_id)
            if collection is not None:
                conn.execute(
                    sql.SQL("DELETE FROM {} WHERE document_id = ANY(%s)").format(sql.Identifier(collection[0])),
                    (ids,),
                )

    def node_ids(self, dataset_id: str, document_id: str) -> set[str]:
        """The ids of the nodes indexed for one document."""
        with self._conn() as conn:
            collection = self._collection(conn, dataset_id)
            if collection is None:
                return set()
            rows = conn.execute(
                sql.SQL("SELECT node_id FROM {} WHERE document_id = %s").format(sql.Identifier(collection[0])),
                (document_id,),
            ).fetchall()
            return {str(r[0]) for r in rows}

    def drop(self, dataset_id: str) -> None:
        """Drop the dataset's table and forget it."""
        with self._conn() as conn, conn.transaction():
            collection = self._collection(conn, dataset_id)
            if collection is None:
                return
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(collection[0])))
            conn.execute(f"DELETE FROM {CATALOG} WHERE dataset_id = %s", (dataset_id,))

    def search(
        self,
        dataset_id: str,
        vector: Sequence[float],
        *,
        top_k: int,
        document_ids: Collection[str] | None = None,
    ) -> list[IndexHit]:
        """The `top_k` most similar nodes: HNSW candidates re-scored exactly, or an exact scan."""
        if top_k <= 0 or (document_ids is not None and not document_ids):
            return []
        query = np.asarray(vector, dtype=np.float32)
        norm = float(np.linalg.norm(query))
        with self._conn() as conn, conn.transaction():
            collection = self._collection(conn, dataset_id)
            if collection is None:
                return []
            table, dim, indexed = collection
            if query.shape != (dim,):
                raise ValueError(f"the query has {query.shape[-1]} dimensions; the index holds {dim}")
            if norm == 0:
                return []
            q = _Vector(query / norm)
            where = sql.SQL("WHERE document_id = ANY(%(docs)s)") if document_ids is not None else sql.SQL("")
            params: dict[str, Any] = {"q": q, "k": top_k, "docs": list(document_ids or [])}
            if indexed:
                pool = max(self.ef_search, top_k) if self.exact_rescore else top_k
                params["pool"] = pool
                conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(max(self.ef_search, pool)),))
                conn.execute("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)")
                statement = sql.SQL(
                    "SELECT node_id, segment_id, document_id, score FROM (SELECT node_id, segment_id, document_id, "
                    "-(embedding <#> %(q)s) AS score FROM {table} {where} "
                    "ORDER BY embedding::halfvec({dim}) <#> %(q)s::halfvec({dim}) LIMIT %(pool)s) AS candidates "
                    "ORDER BY score DESC, node_id LIMIT %(k)s"
                ).format(table=sql.Identifier(table), where=where, dim=sql.Literal(dim))
            else:
                statement = sql.SQL(
                    "SELECT node_id, segment_id, document_id, -(embedding <#> %(q)s) AS score FROM {table} {where} "
                    "ORDER BY embedding <#> %(q)s, node_id LIMIT %(k)s"
                ).format(table=sql.Identifier(table), where=where)
            rows = conn.execute(statement, params).fetchall()
        return [IndexHit(str(r[0]), str(r[1]), str(r[2]), min(float(r[3]), 1.0)) for r in rows]


__all__ = ["PgVectorIndex"]
