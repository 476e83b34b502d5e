"""The retrieval step of a chat or completion turn: the app's knowledge as prompt context and citations.

An app names its datasets in `dataset_configs.datasets.datasets[].dataset{id, enabled}` (Dify's
shape) or, in older DSLs, as `{"dataset": {id, enabled}}` items of an enabled `agent_mode.tools`
list; both are read, as Dify's config manager does. Only datasets of the app's own workspace are
searched: ids from elsewhere are dropped by the workspace-scoped lookup, never fetched.

`retrieval_model: multiple` searches every dataset with its own search settings (each offering up to
the config's `top_k`), then ranks the union: a rerank model when `reranking_enable` with
`reranking_mode: reranking_model`, otherwise the datasets' own scores; then the config's threshold
(only when `score_threshold_enabled`) and `top_k` (default 4, as Dify).

`retrieval_model: single` is Dify's N-to-1 router, which asks the LLM to pick one dataset by its name
and description. We pick without a model call: the dataset whose name and description share the
most words with the query (ties and no overlap go to the first configured dataset), then search it
with its own settings. This is deterministic and free; it routes less cleverly than an LLM.

Errors are Dify's: a dataset whose embedding model is unavailable fails the turn with
`provider_not_initialize` rather than answering without the knowledge the app was built on.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select, update

from loomworks.core.clock import timestamp
from loomworks.core.errors import error_class
from loomworks.services.knowledge.indexing import KnowledgeRuntime
from loomworks.services.knowledge.retrieval import (
    MAX_QUERY_CHARS,
    RerankModelMissingError,
    RetrievedRecord,
    retrieve,
)
from loomworks.store.tables import Dataset, Segment

DEFAULT_TOP_K = 4
KnowledgeUnavailableError = error_class(
    "provider_not_initialize", 400, "This app uses knowledge, but knowledge retrieval is not available on this server."
)
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class DatasetSettings:
    """The parts of `dataset_configs` a turn needs, with Dify's defaults."""

    dataset_ids: list[str]
    strategy: str = "multiple"
    top_k: int = DEFAULT_TOP_K
    score_threshold: float | None = None
    rerank_provider: str = ""
    rerank_model: str = ""
    metadata_conditions: dict[str, Any] | None = None

    @property
    def wants_rerank(self) -> bool:
        return bool(self.rerank_model)


@dataclass(frozen=True, slots=True)
class TurnContext:
    """What retrieval adds to a turn: the prompt's context text and the citations to show."""

    text: str | None = None
    resources: list[dict[str, Any]] | None = None


def _enabled_id(item: Any) -> str | None:
    if not isinstance(item, dict) or list(item) != ["dataset"] or not isinstance(item["dataset"], dict):
        return None
    dataset = item["dataset"]
    found = dataset.get("id")
    return found if dataset.get("enabled") and isinstance(found, str) and found else None


def dataset_settings(config: dict[str, Any]) -> DatasetSettings | None:
    """Read the app's knowledge settings; None when it has no enabled dataset."""
    configs = config.get("dataset_configs") if isinstance(config.get("dataset_configs"), dict) else {}
    listed = configs.get("datasets") if isinstance(configs.get("datasets"), dict) else {}
    candidates = list(listed.get("datasets") or []) if isinstance(listed.get("datasets"), list) else []
    agent = config.get("agent_mode") if isinstance(config.get("agent_mode"), dict) else {}
    legacy = agent.get("enabled") and isinstance(agent.get("tools"), list)
    if legacy:
        candidates.extend(agent["tools"])
    ids = list(dict.fromkeys(i for i in map(_enabled_id, candidates) if i))
    if not ids:
        return None
    strategy = str(configs.get("retrieval_model") or "multiple")
    if legacy and agent.get("strategy") in ("router", "react_router") and not configs.get("retrieval_model"):
        strategy = "single"
    threshold = configs.get("score_threshold")
    rerank = configs.get("reranking_model") if isinstance(configs.get("reranking_model"), dict) else {}
    # Dify's UI writes `reranking_enable`; its config reader looks for `reranking_enabled`.
    rerank_on = bool(configs.get("reranking_enable", configs.get("reranking_enabled", False)))
    rerank_on = rerank_on and configs.get("reranking_mode", "reranking_model") == "reranking_model"
    conditions = configs.get("metadata_filtering_conditions")
    try:
        top_k = min(max(int(configs.get("top_k") or DEFAULT_TOP_K), 1), 100)
    except (TypeError, ValueError):
        top_k = DEFAULT_TOP_K
    return DatasetSettings(
        dataset_ids=ids,
        strategy="single" if strategy == "single" else "multiple",
        top_k=top_k,
        score_threshold=float(threshold)
        if configs.get("score_threshold_enabled") and isinstance(threshold, int | float)
        else None,
        rerank_provider=str(rerank.get("reranking_provider_name") or "") if rerank_on else "",
        rerank_model=str(rerank.get("reranking_model_name") or "") if rerank_on else "",
        metadata_conditions=conditions
        if configs.get("metadata_filtering_mode") == "manual" and isinstance(conditions, dict)
        else None,
    )


def retrieval_query(config: dict[str, Any], *, query: str, inputs: dict[str, Any], is_chat: bool) -> str:
    """The text to search with: the user's query, or for text generators the `dataset_query_variable` input."""
    if not is_chat:
        variable = config.get("dataset_query_variable") or ""
        value = inputs.get(variable) if variable else None
        query = value if isinstance(value, str) else ""
    # The search API refuses long queries; a long chat message is still worth searching by its start.
    return query.strip()[:MAX_QUERY_CHARS]


def _load_datasets(runtime: KnowledgeRuntime, tenant_id: str, ids: list[str]) -> list[Dataset]:
    with runtime.db.session() as session:
        found = {
            d.id: d for d in session.scalars(select(Dataset).where(Dataset.id.in_(ids), Dataset.tenant_id == tenant_id))
        }
    return [found[i] for i in ids if i in found]


def _route(query: str, datasets: list[Dataset]) -> Dataset:
    words = set(_WORD.findall(query.lower()))

    def overlap(dataset: Dataset) -> int:
        return len(words & set(_WORD.findall(f"{dataset.name} {dataset.description or ''}".lower())))

    # max() keeps the first of equal scores, so ties go to the configured order.
    return max(datasets, key=overlap)


async def _multiple(
    runtime: KnowledgeRuntime, settings: DatasetSettings, tenant_id: str, datasets: list[Dataset], query: str
) -> list[RetrievedRecord]:
    searches = [
        retrieve(
            runtime,
            tenant_id=tenant_id,
            dataset_ids=[dataset.id],
            query=query,
            retrieval_model={**(dataset.retrieval_model or {}), "top_k": settings.top_k},
            metadata_filtering_conditions=settings.metadata_conditions,
            record_hits=False,
        )
        for dataset in datasets
    ]
    records = [record for found in await asyncio.gather(*searches) for record in found]
    if settings.wants_rerank and records:
        if runtime.rerank is None:
            raise RerankModelMissingError()
        scores = await runtime.rerank(
            tenant_id, settings.rerank_provider, settings.rerank_model, query, [_text(r) for r in records]
        )
        records = [replace(r, score=float(s)) for r, s in zip(records, scores, strict=True)]
    records.sort(key=lambda r: -r.score)
    if settings.score_threshold is not None:
        records = [r for r in records if r.score >= settings.score_threshold]
    return records[: settings.top_k]


def _record_hits(runtime: KnowledgeRuntime, segment_ids: list[str]) -> None:
    with runtime.db.session() as session:
        session.execute(update(Segment).where(Segment.id.in_(segment_ids)).values(hit_count=Segment.hit_count + 1))


def _text(record: RetrievedRecord) -> str:
    segment = record.segment
    return f"question: {segment.content} answer: {segment.answer}" if segment.answer else segment.content


def _resource(
    record: RetrievedRecord, position: int, dataset: Dataset, retriever_from: str, now: int
) -> dict[str, Any]:
    segment, document = record.segment, record.document
    return {
        "position": position,
        "dataset_id": dataset.id,
        "dataset_name": dataset.name,
        "document_id": document.id,
        "document_name": document.name,
        "data_source_type": document.data_source_type,
        "segment_id": segment.id,
        "retriever_from": retriever_from,
        "score": record.score,
        "hit_count": segment.hit_count + 1,  # this retrieval counts, as it is recorded below
        "word_count": segment.word_count,
        "segment_position": segment.position,
        "index_node_hash": segment.index_node_hash,
        "content": _text(record),
        "created_at": now,
    }


async def retrieve_context(
    runtime: KnowledgeRuntime | None,
    *,
    tenant_id: str,
    config: dict[str, Any],
    query: str,
    retriever_from: str,
) -> TurnContext:
    """Search the app's datasets for `query` (already chosen by `retrieval_query`).

    Returns no context when the app has no enabled dataset of this workspace, the query is empty or
    nothing matched. Citations are left out when `retriever_resource.enabled` is off; the segments
    still count as hit. Raises `provider_not_initialize` errors when an embedding or rerank model
    the datasets need is not available, or when the server has no knowledge runtime.
    """
    settings = dataset_settings(config)
    if settings is None or not query:
        return TurnContext()
    if runtime is None:
        raise KnowledgeUnavailableError()
    datasets = await asyncio.to_thread(_load_datasets, runtime, tenant_id, settings.dataset_ids)
    if not datasets:
        return TurnContext()
    if settings.strategy == "single":
        chosen = _route(query, datasets)
        records = await retrieve(
            runtime,
            tenant_id=tenant_id,
            dataset_ids=[chosen.id],
            query=query,
            metadata_filtering_conditions=settings.metadata_conditions,
            record_hits=False,
        )
    else:
        records = await _multiple(runtime, settings, tenant_id, datasets, query)
    if not records:
        return TurnContext()
    await asyncio.to_thread(_record_hits, runtime, [r.segment.id for r in records])
    by_id = {d.id: d for d in datasets}
    show = (config.get("retriever_resource") or {}).get("enabled", True)
    now = timestamp()
    resources = (
        [_resource(r, i, by_id[r.segment.dataset_id], retriever_from, now) for i, r in enumerate(records, start=1)]
        if show
        else []
    )
    return TurnContext(text="\n".join(_text(r) for r in records), resources=resources)


def retriever_from(invoke_from: str) -> str:
    """Dify's `InvokeFrom.to_source()`: where a retrieval was made from, as stored on citations."""
    return {"service-api": "api", "web-app": "web_app", "explore": "explore_app"}.get(invoke_from, "dev")
