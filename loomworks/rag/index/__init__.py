"""Search indexes behind two small protocols: vectors (`VectorIndex`) and words (`KeywordIndex`).

Every entry is a *node*: the unit that is searched (a segment, or a child chunk in parent-child
mode), carrying the segment and the document it belongs to so that hits can be filtered by
document and returned as segments. The relational database stays the truth about which segments
exist and are enabled; an index may briefly hold entries for rows that are gone (after a crash),
and the retrieval service drops such hits.

Implementations: `embedded.EmbeddedVectorIndex` (exact cosine over float32 arrays under the data
dir), `keyword.SqliteKeywordIndex` (FTS5) and `keyword.PostgresKeywordIndex` (tsvector + GIN).
To add one, implement the protocol and make its test class inherit the shared suite in
`tests/rag/index/_suites.py`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """One searchable node: its own id, and the segment and document it belongs to."""

    node_id: str
    segment_id: str
    document_id: str


@dataclass(frozen=True, slots=True)
class IndexHit:
    """A search result: the node found and its score (higher is better, at most 1.0)."""

    node_id: str
    segment_id: str
    document_id: str
    score: float


class VectorIndex(Protocol):
    """Nearest-neighbour search over embedding vectors, one collection per dataset.

    `add` replaces entries whose `node_id` already exists (so re-running an indexing job never
    duplicates). Deleting unknown ids is not an error. Scores are cosine similarities.
    """

    def add(self, dataset_id: str, entries: Sequence[IndexEntry], vectors: Sequence[Sequence[float]]) -> None:
        """Insert or replace `entries` with their `vectors` (same length, same dimension in a dataset)."""
        ...

    def delete(self, dataset_id: str, node_ids: Iterable[str]) -> None:
        """Remove nodes by id."""
        ...

    def delete_documents(self, dataset_id: str, document_ids: Iterable[str]) -> None:
        """Remove every node of the given documents."""
        ...

    def node_ids(self, dataset_id: str, document_id: str) -> set[str]:
        """The ids of the nodes indexed for one document."""
        ...

    def drop(self, dataset_id: str) -> None:
        """Remove the whole collection of a dataset."""
        ...

    def search(
        self,
        dataset_id: str,
        vector: Sequence[float],
        *,
        top_k: int,
        document_ids: Collection[str] | None = None,
    ) -> list[IndexHit]:
        """The `top_k` nodes most similar to `vector`, best first, optionally only of `document_ids`."""
        ...


class KeywordIndex(Protocol):
    """Full-text search over node texts, inside the application database.

    Writes take the caller's connection so that they commit or roll back with the segment rows
    they describe. Scores are normalised to (0, 1]: the best hit of a query scores 1.0.
    """

    def ensure(self) -> None:
        """Create the index's tables if they are missing (idempotent; call outside other transactions)."""
        ...

    def add(self, conn: Any, dataset_id: str, entries: Sequence[IndexEntry], texts: Sequence[str]) -> None:
        """Insert or replace `entries` with their `texts`."""
        ...

    def delete(self, conn: Any, dataset_id: str, node_ids: Iterable[str]) -> None:
        """Remove nodes by id."""
        ...

    def delete_documents(self, conn: Any, dataset_id: str, document_ids: Iterable[str]) -> None:
        """Remove every node of the given documents."""
        ...

    def node_ids(self, conn: Any, dataset_id: str, document_id: str) -> set[str]:
        """The ids of the nodes indexed for one document."""
        ...

    def drop(self, conn: Any, dataset_id: str) -> None:
        """Remove every node of a dataset."""
        ...

    def search(
        self, conn: Any, dataset_id: str, query: str, *, top_k: int, document_ids: Collection[str] | None = None
    ) -> list[IndexHit]:
        """The `top_k` nodes matching any word of `query`, best first."""
        ...


__all__ = ["IndexEntry", "IndexHit", "KeywordIndex", "VectorIndex"]
