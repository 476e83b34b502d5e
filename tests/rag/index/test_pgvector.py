"""pgvector: the shared vector index suite, exact (small datasets) and through HNSW, plus its own behaviour."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import psycopg
import pytest

from loomworks.rag.index import IndexEntry
from loomworks.rag.index.pgvector import CATALOG, PgVectorIndex
from tests.rag.index._suites import VectorIndexSuite

pytestmark = pytest.mark.integration


class TestPgVectorIndex(VectorIndexSuite):
    @pytest.fixture(params=["exact", "hnsw"])
    def index(self, request: pytest.FixtureRequest, pgvector_url: str) -> Iterator[PgVectorIndex]:
        # "hnsw" builds the ANN index with the first row, so every suite test also walks the graph.
        index = PgVectorIndex(pgvector_url, hnsw_min_rows=5000 if request.param == "exact" else 0, ef_search=40)
        yield index
        index.close()


@pytest.fixture
def make_index(pgvector_url: str) -> Iterator[Callable[..., PgVectorIndex]]:
    made: list[PgVectorIndex] = []

    def make(**options: Any) -> PgVectorIndex:
        made.append(PgVectorIndex(pgvector_url, **options))
        return made[-1]

    yield make
    for index in made:
        index.close()


def _entries(count: int, document: str = "d") -> list[IndexEntry]:
    return [IndexEntry(f"n{i}", f"s{i}", document if i % 2 else f"{document}-odd") for i in range(count)]


def _indexes(url: str, table: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", (table,)).fetchall()
    return [str(r[0]) for r in rows]


def test_the_hnsw_index_appears_at_the_threshold_and_keeps_recall(
    pgvector_url: str, make_index: Callable[..., PgVectorIndex]
) -> None:
    index = make_index(hnsw_min_rows=300, ef_search=64)
    rng = np.random.default_rng(5)
    data = rng.normal(size=(600, 32)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    entries = _entries(600)
    index.add("ds", entries[:200], data[:200].tolist())
    with psycopg.connect(pgvector_url) as conn:
        table, indexed = conn.execute(f"SELECT table_name, indexed FROM {CATALOG}").fetchone()  # type: ignore[misc]
    assert not indexed
    assert not any("hnsw" in d for d in _indexes(pgvector_url, table))
    index.add("ds", entries[200:], data[200:].tolist())
    assert any("USING hnsw" in d and "halfvec_ip_ops" in d for d in _indexes(pgvector_url, table))
    probes = data[:20] + rng.normal(scale=0.05, size=(20, 32)).astype(np.float32)
    recall = []
    for probe in probes:
        truth = set(np.argsort(-(data @ (probe / np.linalg.norm(probe))))[:10].tolist())
        hits = index.search("ds", probe.tolist(), top_k=10)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        recall.append(len({int(h.node_id[1:]) for h in hits} & truth) / 10)
    assert np.mean(recall) >= 0.9
    # A document filter still fills top_k through the iterative index scan.
    only = index.search("ds", probes[0].tolist(), top_k=10, document_ids={"d"})
    assert len(only) == 10
    assert {h.document_id for h in only} == {"d"}


def test_dimensions_are_fixed_per_dataset_and_ids_are_safe(make_index: Callable[..., PgVectorIndex]) -> None:
    index = make_index()
    index.add("ds", _entries(1), [[1.0, 0.0]])
    with pytest.raises(ValueError, match="dimensions"):
        index.add("ds", _entries(1), [[1.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match="dimensions"):
        index.search("ds", [1.0, 0.0, 0.0], top_k=1)
    hostile = "x'; DROP TABLE loomworks_vector_collections; --"
    index.add(hostile, _entries(1), [[0.0, 1.0, 0.0]])  # another dataset may have another dimension
    assert [h.node_id for h in index.search(hostile, [0.0, 1.0, 0.0], top_k=1)] == ["n0"]
    assert [h.node_id for h in index.search("ds", [1.0, 0.0], top_k=1)] == ["n0"]


def test_a_second_instance_shares_the_data(make_index: Callable[..., PgVectorIndex]) -> None:
    """Several server processes share one pgvector database (the scaled mode)."""
    writer, reader = make_index(), make_index()
    writer.add("ds", [IndexEntry("a", "sa", "d"), IndexEntry("a", "sa2", "d")], [[1.0, 0.0], [0.0, 1.0]])
    hits = reader.search("ds", [0.0, 1.0], top_k=5)
    assert [(h.node_id, h.segment_id) for h in hits] == [("a", "sa2")]  # the last row of a node wins
    writer.drop("ds")
    assert reader.search("ds", [0.0, 1.0], top_k=5) == []
