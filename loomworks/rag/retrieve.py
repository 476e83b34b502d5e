"""Retrieval strategies over first-stage hits: semantic, full-text, hybrid; fusion, rerank, thresholds.

Everything here is pure over `Scored` candidates, so the same code serves one dataset or many:
the caller runs the index searches and supplies texts for reranking.

Dify's `retrieval_model` dict is read by `RetrievalSettings.from_dict`:
`{search_method, reranking_enable, reranking_mode, reranking_model{reranking_provider_name,
reranking_model_name}, weights{vector_setting{vector_weight, ...}, keyword_setting{keyword_weight}},
top_k, score_threshold_enabled, score_threshold}`. Besides Dify's `weighted_score` and
`reranking_model` modes, hybrid search accepts `reranking_mode: "rrf"` (reciprocal rank fusion).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from loomworks.rag.index import IndexHit
from loomworks.rag.rerank import Reranker

SEMANTIC, FULL_TEXT, HYBRID, KEYWORD = "semantic_search", "full_text_search", "hybrid_search", "keyword_search"
RRF_K = 60


@dataclass(frozen=True, slots=True)
class RetrievalSettings:
    """A parsed `retrieval_model`."""

    search_method: str = SEMANTIC
    top_k: int = 2
    score_threshold: float | None = None
    reranking_enable: bool = False
    reranking_mode: str | None = None
    reranking_provider: str = ""
    reranking_model: str = ""
    vector_weight: float = 0.7
    keyword_weight: float = 0.3

    @classmethod
    def from_dict(cls, value: Mapping[str, Any] | None) -> RetrievalSettings:
        """Read Dify's dict; missing keys take Dify's server defaults (semantic, top 2, no threshold)."""
        value = value or {}
        rerank = value.get("reranking_model") or {}
        weights = value.get("weights") or {}
        vector = (weights.get("vector_setting") or {}).get("vector_weight")
        keyword = (weights.get("keyword_setting") or {}).get("keyword_weight")
        threshold = value.get("score_threshold")
        return cls(
            search_method=str(value.get("search_method") or SEMANTIC),
            top_k=int(value.get("top_k") or 2),
            score_threshold=float(threshold)
            if value.get("score_threshold_enabled") and threshold is not None
            else None,
            reranking_enable=bool(value.get("reranking_enable")),
            reranking_mode=value.get("reranking_mode"),
            reranking_provider=str(rerank.get("reranking_provider_name") or ""),
            reranking_model=str(rerank.get("reranking_model_name") or ""),
            vector_weight=float(vector) if vector is not None else 0.7,
            keyword_weight=float(keyword) if keyword is not None else 0.3,
        )

    @property
    def uses_vectors(self) -> bool:
        return self.search_method in (SEMANTIC, HYBRID)

    @property
    def uses_keywords(self) -> bool:
        return self.search_method in (FULL_TEXT, HYBRID, KEYWORD)

    @property
    def wants_rerank_model(self) -> bool:
        """Whether a rerank model must be called (hybrid with `reranking_model`, or rerank enabled otherwise)."""
        if self.search_method == HYBRID:
            return self.reranking_mode == "reranking_model"
        return self.reranking_enable and bool(self.reranking_model)


@dataclass(frozen=True, slots=True)
class Scored:
    """A segment found by retrieval, with the scores that led to it."""

    segment_id: str
    document_id: str
    dataset_id: str
    score: float
    vector_score: float | None = None
    keyword_score: float | None = None
    node_ids: tuple[str, ...] = field(default_factory=tuple)


def collapse(hits: Iterable[IndexHit], dataset_id: str, *, kind: str) -> list[Scored]:
    """One candidate per segment (children of a parent collapse into it, keeping the best score), best first."""
    best: dict[str, Scored] = {}
    for hit in hits:
        found = best.get(hit.segment_id)
        nodes = (*found.node_ids, hit.node_id) if found else (hit.node_id,)
        if found is None or hit.score > found.score:
            scores = {"vector_score": hit.score} if kind == "vector" else {"keyword_score": hit.score}
            best[hit.segment_id] = Scored(
                hit.segment_id, hit.document_id, dataset_id, hit.score, node_ids=nodes, **scores
            )
        else:
            best[hit.segment_id] = replace(found, node_ids=nodes)
    return sorted(best.values(), key=lambda s: -s.score)


def fuse_weighted(
    vector: Sequence[Scored], keyword: Sequence[Scored], *, vector_weight: float, keyword_weight: float
) -> list[Scored]:
    """Dify's weighted score: vector_weight x similarity + keyword_weight x keyword score (missing = 0)."""
    merged: dict[str, Scored] = {}
    for item in [*vector, *keyword]:
        found = merged.get(item.segment_id)
        if found is None:
            merged[item.segment_id] = item
            continue
        merged[item.segment_id] = replace(
            found,
            vector_score=found.vector_score if found.vector_score is not None else item.vector_score,
            keyword_score=found.keyword_score if found.keyword_score is not None else item.keyword_score,
            node_ids=tuple(dict.fromkeys((*found.node_ids, *item.node_ids))),
        )
    fused = [
        replace(s, score=vector_weight * (s.vector_score or 0.0) + keyword_weight * (s.keyword_score or 0.0))
        for s in merged.values()
    ]
    return sorted(fused, key=lambda s: -s.score)


def fuse_rrf(*rankings: Sequence[Scored], k: int = RRF_K) -> list[Scored]:
    """Reciprocal rank fusion: sum of 1 / (k + rank) over the rankings, rescaled so the best scores 1.0."""
    totals: dict[str, float] = {}
    first: dict[str, Scored] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            totals[item.segment_id] = totals.get(item.segment_id, 0.0) + 1.0 / (k + rank)
            first.setdefault(item.segment_id, item)
    if not totals:
        return []
    best = max(totals.values())
    return sorted(
        (replace(first[sid], score=total / best) for sid, total in totals.items()),
        key=lambda s: -s.score,
    )


async def rerank(
    query: str, candidates: Sequence[Scored], texts: Mapping[str, str], reranker: Reranker
) -> list[Scored]:
    """Replace scores with the rerank model's; candidates it leaves out are dropped."""
    if not candidates:
        return []
    results = await reranker.rerank(query, [texts.get(c.segment_id, "") for c in candidates])
    scored = [replace(candidates[r.index], score=float(r.score)) for r in results if 0 <= r.index < len(candidates)]
    return sorted(scored, key=lambda s: -s.score)


def finish(candidates: Sequence[Scored], settings: RetrievalSettings) -> list[Scored]:
    """Apply the score threshold (when enabled), then keep the best `top_k`."""
    ranked = sorted(candidates, key=lambda s: -s.score)
    if settings.score_threshold is not None:
        ranked = [s for s in ranked if s.score >= settings.score_threshold]
    return ranked[: settings.top_k]


def combine(vector: Sequence[Scored], keyword: Sequence[Scored], settings: RetrievalSettings) -> list[Scored]:
    """First-stage results merged as the search method says (before any rerank model)."""
    if settings.search_method == HYBRID:
        if settings.reranking_mode == "rrf":
            return fuse_rrf(vector, keyword)
        if settings.reranking_mode == "reranking_model":
            # The model rescores the union; until then keep the better of the two scores.
            return fuse_weighted(vector, keyword, vector_weight=1.0, keyword_weight=0.0) if vector else list(keyword)
        total = settings.vector_weight + settings.keyword_weight or 1.0
        return fuse_weighted(
            vector,
            keyword,
            vector_weight=settings.vector_weight / total,
            keyword_weight=settings.keyword_weight / total,
        )
    return sorted(vector if settings.uses_vectors else keyword, key=lambda s: -s.score)


# -- metadata filtering (Dify 1.1+ `metadata_filtering_conditions`) --------------------------------


def _as_number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _as_time(value: Any) -> float | None:
    number = _as_number(value)
    if number is not None:
        return number
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).timestamp()
    return None


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _compare(actual: Any, operator: str, expected: Any) -> bool:  # noqa: C901 - one branch per Dify operator
    op = operator.strip().lower()
    if op == "empty":
        return _empty(actual)
    if op == "not empty":
        return not _empty(actual)
    if _empty(actual):
        return op in ("not contains", "is not", "≠", "!=", "not in")
    if op in ("contains", "not contains", "start with", "end with", "is", "is not", "in", "not in"):
        text_value = str(actual)
        if op in ("in", "not in"):
            options = expected if isinstance(expected, list) else [s.strip() for s in str(expected).split(",")]
            return (text_value in [str(o) for o in options]) == (op == "in")
        wanted = str(expected)
        return {
            "contains": wanted in text_value,
            "not contains": wanted not in text_value,
            "start with": text_value.startswith(wanted),
            "end with": text_value.endswith(wanted),
            "is": text_value == wanted,
            "is not": text_value != wanted,
        }[op]
    if op in ("before", "after"):
        left, right = _as_time(actual), _as_time(expected)
        return left is not None and right is not None and (left < right if op == "before" else left > right)
    left, right = _as_number(actual), _as_number(expected)
    if left is None or right is None:
        return False
    checks = {"=": left == right, "≠": left != right, "!=": left != right, ">": left > right, "<": left < right}
    checks.update({"≥": left >= right, ">=": left >= right, "≤": left <= right, "<=": left <= right})
    if op not in checks:
        raise ValueError(f"unknown comparison operator {operator!r}")
    return checks[op]


def metadata_matches(metadata: Mapping[str, Any], conditions: Mapping[str, Any] | None) -> bool:
    """Whether a document's metadata satisfies Dify's metadata filtering conditions.

    `conditions` is `{logical_operator: and|or, conditions: [{name, comparison_operator, value}]}`.
    No conditions means every document matches. Unknown operators raise `ValueError`.
    """
    items = list((conditions or {}).get("conditions") or [])
    if not items:
        return True
    results = (
        _compare(metadata.get(str(c.get("name"))), str(c.get("comparison_operator", "is")), c.get("value"))
        for c in items
    )
    return any(results) if str((conditions or {}).get("logical_operator", "and")).lower() == "or" else all(results)
