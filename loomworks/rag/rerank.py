"""The rerank seam: a model that scores (query, document) pairs, used after first-stage retrieval."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RerankResult:
    """The relevance of `documents[index]` to the query, in [0, 1]."""

    index: int
    score: float


class Reranker(Protocol):
    """Scores documents against a query (Cohere/Jina/TEI rerank models, or a fake in tests).

    `rerank` returns results for some or all documents, in any order; documents left out are
    dropped from the answer. It raises the model runtime's errors unchanged.
    """

    async def rerank(self, query: str, documents: Sequence[str]) -> list[RerankResult]:
        """Score `documents` against `query`."""
        ...
