"""Behaviour every index implementation shares; a test class per implementation inherits a suite.

Subclasses provide the `index` fixture (and, for keyword indexes, `conn`).
"""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np

from loomworks.rag.index import IndexEntry


def _entries(document_id: str, count: int, prefix: str = "n") -> list[IndexEntry]:
    return [IndexEntry(f"{prefix}{i}-{document_id}", f"s{i}-{document_id}", document_id) for i in range(count)]


def _unit(rng: np.random.Generator, n: int, dim: int = 16) -> np.ndarray[Any, Any]:
    matrix = rng.normal(size=(n, dim)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


class VectorIndexSuite:
    """Shared behaviour of `VectorIndex` implementations."""

    def test_search_finds_the_nearest_first(self, index: Any) -> None:
        dataset = str(uuid.uuid4())
        rng = np.random.default_rng(1)
        vectors = _unit(rng, 50)
        entries = _entries("d1", 50)
        index.add(dataset, entries, vectors.tolist())
        hits = index.search(dataset, vectors[7].tolist(), top_k=5)
        assert hits[0].node_id == entries[7].node_id
        assert abs(hits[0].score - 1.0) < 1e-5
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        exact = np.argsort(-(vectors @ vectors[7]))[:5]
        assert [h.node_id for h in hits] == [entries[i].node_id for i in exact]
        assert (hits[0].segment_id, hits[0].document_id) == (entries[7].segment_id, "d1")

    def test_add_replaces_and_delete_hides(self, index: Any) -> None:
        dataset = str(uuid.uuid4())
        entries = _entries("d1", 3)
        index.add(dataset, entries, [[1.0, 0.0], [0.0, 1.0], [0.7, 0.7]])
        index.add(dataset, entries[:1], [[0.0, 1.0]])  # node 0 now points the other way
        hits = index.search(dataset, [0.0, 1.0], top_k=10)
        assert len(hits) == 3
        assert {h.node_id for h in hits[:2]} == {entries[0].node_id, entries[1].node_id}
        index.delete(dataset, [entries[1].node_id, "unknown"])
        assert [h.node_id for h in index.search(dataset, [0.0, 1.0], top_k=10)] == [
            entries[0].node_id,
            entries[2].node_id,
        ]
        index.add(dataset, entries[1:2], [[0.0, 1.0]])  # a deleted node can come back
        assert len(index.search(dataset, [0.0, 1.0], top_k=10)) == 3

    def test_documents_filter_delete_and_drop(self, index: Any) -> None:
        dataset = str(uuid.uuid4())
        a, b = _entries("da", 2), _entries("db", 2)
        index.add(dataset, a + b, [[1.0, 0.0], [0.9, 0.1], [1.0, 0.05], [0.8, 0.2]])
        assert index.node_ids(dataset, "da") == {e.node_id for e in a}
        only_b = index.search(dataset, [1.0, 0.0], top_k=10, document_ids={"db"})
        assert {h.document_id for h in only_b} == {"db"}
        assert index.search(dataset, [1.0, 0.0], top_k=10, document_ids=set()) == []
        index.delete_documents(dataset, ["da"])
        assert index.node_ids(dataset, "da") == set()
        assert {h.document_id for h in index.search(dataset, [1.0, 0.0], top_k=10)} == {"db"}
        other = str(uuid.uuid4())
        index.add(other, _entries("dc", 1), [[1.0, 0.0]])
        index.drop(dataset)
        assert index.search(dataset, [1.0, 0.0], top_k=10) == []
        assert len(index.search(other, [1.0, 0.0], top_k=10)) == 1

    def test_empty_and_zero_queries(self, index: Any) -> None:
        dataset = str(uuid.uuid4())
        assert index.search(dataset, [1.0, 0.0], top_k=3) == []
        index.add(dataset, _entries("d", 1), [[1.0, 0.0]])
        assert index.search(dataset, [0.0, 0.0], top_k=3) == []
        assert index.search(dataset, [1.0, 0.0], top_k=0) == []


class KeywordIndexSuite:
    """Shared behaviour of `KeywordIndex` implementations (each test runs in a rolled-back transaction)."""

    TEXTS = (
        "Herons wade in shallow water to hunt fish.",
        "Owls hunt at night and sleep by day.",
        "Oak trees live for centuries in old forests.",
        "Returns are accepted within 30 days with a receipt.",
    )

    def _fill(self, index: Any, conn: Any) -> tuple[str, list[IndexEntry]]:
        dataset = str(uuid.uuid4())
        entries = [IndexEntry(f"n{i}-{dataset}", f"s{i}-{dataset}", "da" if i < 2 else "db") for i in range(4)]
        index.add(conn, dataset, entries, list(self.TEXTS))
        return dataset, entries

    def test_any_word_matches_and_the_best_scores_one(self, index: Any, conn: Any) -> None:
        dataset, entries = self._fill(index, conn)
        hits = index.search(conn, dataset, "Where do owls hunt?", top_k=10)
        assert hits[0].node_id == entries[1].node_id
        assert hits[0].score == 1.0
        assert {h.node_id for h in hits} == {entries[0].node_id, entries[1].node_id}  # "hunt" is in both
        assert all(0 < h.score <= 1.0 for h in hits)
        stemmed = index.search(conn, dataset, "returning receipts", top_k=10)
        assert [h.node_id for h in stemmed] == [entries[3].node_id]
        assert index.search(conn, dataset, "???", top_k=10) == []
        assert index.search(conn, dataset, "zebra", top_k=10) == []

    def test_replace_delete_filter_and_drop(self, index: Any, conn: Any) -> None:
        dataset, entries = self._fill(index, conn)
        index.add(conn, dataset, entries[:1], ["Zebras graze on the savanna."])
        assert [h.node_id for h in index.search(conn, dataset, "zebras", top_k=5)] == [entries[0].node_id]
        assert [h.node_id for h in index.search(conn, dataset, "herons", top_k=5)] == []
        only_b = index.search(conn, dataset, "hunt oak", top_k=5, document_ids={"db"})
        assert [h.node_id for h in only_b] == [entries[2].node_id]
        index.delete(conn, dataset, [entries[2].node_id])
        assert index.search(conn, dataset, "oak", top_k=5) == []
        assert index.node_ids(conn, dataset, "da") == {entries[0].node_id, entries[1].node_id}
        index.delete_documents(conn, dataset, ["da"])
        assert index.node_ids(conn, dataset, "da") == set()
        other, _ = self._fill(index, conn)
        index.drop(conn, dataset)
        assert index.search(conn, dataset, "returns", top_k=5) == []
        assert len(index.search(conn, other, "returns", top_k=5)) == 1

    def test_top_k_limits(self, index: Any, conn: Any) -> None:
        dataset, _ = self._fill(index, conn)
        assert len(index.search(conn, dataset, "hunt owls herons oak returns", top_k=2)) == 2
