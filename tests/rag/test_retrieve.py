"""Fusion, rerank, thresholds and metadata filters over scored candidates."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from loomworks.rag.index import IndexHit
from loomworks.rag.rerank import RerankResult
from loomworks.rag.retrieve import RetrievalSettings, Scored, collapse, combine, finish, metadata_matches, rerank


def _scored(kind: str, *pairs: tuple[str, float]) -> list[Scored]:
    return collapse([IndexHit(f"n-{s}", s, "d", score) for s, score in pairs], "ds", kind=kind)


def test_settings_read_difys_dict() -> None:
    settings = RetrievalSettings.from_dict(
        {
            "search_method": "hybrid_search",
            "reranking_mode": "weighted_score",
            "weights": {"vector_setting": {"vector_weight": 0.4}, "keyword_setting": {"keyword_weight": 0.6}},
            "top_k": 4,
            "score_threshold_enabled": False,
            "score_threshold": 0.9,
        }
    )
    assert (settings.vector_weight, settings.keyword_weight, settings.top_k, settings.score_threshold) == (
        0.4,
        0.6,
        4,
        None,
    )
    assert RetrievalSettings.from_dict(None).search_method == "semantic_search"
    assert RetrievalSettings.from_dict({"score_threshold_enabled": True, "score_threshold": 0.5}).score_threshold == 0.5


def test_children_collapse_into_their_parent() -> None:
    hits = [IndexHit("c1", "p", "d", 0.4), IndexHit("c2", "p", "d", 0.9), IndexHit("c3", "q", "d", 0.5)]
    merged = collapse(hits, "ds", kind="vector")
    assert [(m.segment_id, m.score, m.node_ids) for m in merged] == [("p", 0.9, ("c1", "c2")), ("q", 0.5, ("c3",))]


def test_weighted_and_rrf_fusion() -> None:
    vector = _scored("vector", ("a", 0.9), ("b", 0.8))
    keyword = _scored("keyword", ("b", 1.0), ("c", 0.5))
    weighted = combine(
        vector, keyword, RetrievalSettings(search_method="hybrid_search", vector_weight=0.5, keyword_weight=0.5)
    )
    assert [(s.segment_id, round(s.score, 3)) for s in weighted] == [("b", 0.9), ("a", 0.45), ("c", 0.25)]
    keyword_first = combine(
        vector, keyword, RetrievalSettings(search_method="hybrid_search", vector_weight=0.0, keyword_weight=1.0)
    )
    assert keyword_first[0].segment_id == "b"
    rrf = combine(vector, keyword, RetrievalSettings(search_method="hybrid_search", reranking_mode="rrf"))
    assert [s.segment_id for s in rrf] == ["b", "a", "c"]
    assert rrf[0].score == 1.0
    assert [s.segment_id for s in combine(vector, keyword, RetrievalSettings(search_method="full_text_search"))] == [
        "b",
        "c",
    ]


def test_threshold_then_top_k() -> None:
    items = _scored("vector", ("a", 0.9), ("b", 0.6), ("c", 0.3))
    assert [s.segment_id for s in finish(items, RetrievalSettings(top_k=2))] == ["a", "b"]
    assert [s.segment_id for s in finish(items, RetrievalSettings(top_k=5, score_threshold=0.5))] == ["a", "b"]


class _ReverseReranker:
    async def rerank(self, query: str, documents: Sequence[str]) -> list[RerankResult]:
        return [RerankResult(i, 0.1 * (i + 1)) for i in range(1, len(documents))]  # leaves out the first


def test_rerank_reorders_and_drops_what_the_model_leaves_out() -> None:
    items = _scored("vector", ("a", 0.9), ("b", 0.6), ("c", 0.3))
    out = asyncio.run(rerank("q", items, {"a": "A", "b": "B", "c": "C"}, _ReverseReranker()))
    assert [(s.segment_id, round(s.score, 3)) for s in out] == [("c", 0.3), ("b", 0.2)]


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("contains", "port", True),
        ("not contains", "port", False),
        ("start with", "Re", True),
        ("end with", "ort", True),
        ("is", "Report", True),
        ("is not", "Report", False),
        ("in", ["Memo", "Report"], True),
        ("not in", "Memo, Report", False),
        ("empty", None, False),
        ("not empty", None, True),
    ],
)
def test_string_operators(operator: str, value: object, expected: bool) -> None:
    conditions = {"conditions": [{"name": "kind", "comparison_operator": operator, "value": value}]}
    assert metadata_matches({"kind": "Report"}, conditions) is expected


def test_number_time_and_logic() -> None:
    meta = {"pages": 12, "published": "2026-03-01T00:00:00Z"}

    def check(op: str, name: str, value: object) -> bool:
        return metadata_matches(meta, {"conditions": [{"name": name, "comparison_operator": op, "value": value}]})

    assert check(">", "pages", "10")
    assert check("≤", "pages", 12)
    assert not check("=", "pages", 13)
    assert check("before", "published", "2026-06-01")
    assert check("after", "published", 1_700_000_000)
    assert check("empty", "missing", None)
    both = [
        {"name": "pages", "comparison_operator": ">", "value": 100},
        {"name": "pages", "comparison_operator": "<", "value": 100},
    ]
    assert not metadata_matches(meta, {"logical_operator": "and", "conditions": both})
    assert metadata_matches(meta, {"logical_operator": "or", "conditions": both})
    assert metadata_matches(meta, None)
    with pytest.raises(ValueError, match="unknown comparison operator"):
        check("~", "pages", 1)
