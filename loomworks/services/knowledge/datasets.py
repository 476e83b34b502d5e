"""Datasets of a workspace (Dify's knowledge bases): create, list, read, update, delete, which apps use them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loomworks.core.errors import ForbiddenError, InvalidParamError, NotFoundError, error_class
from loomworks.services.caller import Caller
from loomworks.store.tables import App, AppModelConfig, Dataset, Document, Segment, Tag, TagBinding, Workflow

DatasetNameDuplicateError = error_class(
    "dataset_name_duplicate", 409, "The dataset name already exists. Please modify your dataset name."
)
DatasetApiDisabledError = error_class("forbidden", 403, "Dataset api access is not enabled.")
DatasetInUseError = error_class(
    "dataset_in_use",
    409,
    "The dataset is being used by some apps. Please remove the dataset from the apps before deleting it.",
)
INDEXING_TECHNIQUES = ("high_quality", "economy")
PERMISSIONS = ("only_me", "all_team_members", "partial_members")
SEARCH_METHODS = ("semantic_search", "full_text_search", "hybrid_search", "keyword_search")


def default_retrieval_model() -> dict[str, Any]:
    """Dify's server default when a dataset has none: semantic search, top 2, no threshold."""
    return {
        "search_method": "semantic_search",
        "reranking_enable": False,
        "reranking_mode": None,
        "reranking_model": {"reranking_provider_name": "", "reranking_model_name": ""},
        "weights": None,
        "top_k": 2,
        "score_threshold_enabled": False,
        "score_threshold": None,
    }


def check_retrieval_model(value: Any, field: str = "retrieval_model") -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidParamError(f"{field} must be an object.", params=field)
    merged = {**default_retrieval_model(), **value}
    if merged["search_method"] not in SEARCH_METHODS:
        raise InvalidParamError(f"search_method must be one of {', '.join(SEARCH_METHODS)}.", params=field)
    top_k = merged.get("top_k")
    if not isinstance(top_k, int) or isinstance(top_k, bool) or not 1 <= top_k <= 100:
        raise InvalidParamError("top_k must be an integer between 1 and 100.", params=field)
    threshold = merged.get("score_threshold")
    if threshold is not None and not isinstance(threshold, int | float):
        raise InvalidParamError("score_threshold must be a number.", params=field)
    return merged


@dataclass(frozen=True, slots=True)
class DatasetStats:
    document_count: int
    word_count: int


@dataclass(frozen=True, slots=True)
class DatasetsPage:
    items: list[Dataset]
    total: int
    page: int
    limit: int

    @property
    def has_more(self) -> bool:
        return self.page * self.limit < self.total


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 40:
        raise InvalidParamError("Name must be between 1 to 40 characters.", params="name")
    return name.strip()


def _visible(caller: Caller, dataset: Dataset) -> bool:
    if dataset.permission == "all_team_members" or dataset.created_by == caller.account_id:
        return True
    if dataset.permission == "partial_members":
        return caller.account_id in (dataset.partial_member_list or [])
    return caller.role == "owner"


def create(
    session: Session,
    *,
    caller: Caller,
    name: Any,
    description: str = "",
    indexing_technique: str | None = None,
    permission: str = "only_me",
    provider: str = "vendor",
    embedding_model: str | None = None,
    embedding_model_provider: str | None = None,
    retrieval_model: dict[str, Any] | None = None,
    external_knowledge_api_id: str | None = None,
    external_knowledge_id: str | None = None,
) -> Dataset:
    if not caller.can_edit_datasets:
        raise ForbiddenError()
    name = _check_name(name)
    if len(description or "") > 400:
        raise InvalidParamError("Description cannot exceed 400 characters.", params="description")
    if indexing_technique is not None and indexing_technique not in INDEXING_TECHNIQUES:
        raise InvalidParamError("indexing_technique must be high_quality or economy.", params="indexing_technique")
    if permission not in PERMISSIONS:
        raise InvalidParamError(f"permission must be one of {', '.join(PERMISSIONS)}.", params="permission")
    if provider not in ("vendor", "external"):
        raise InvalidParamError("provider must be vendor or external.", params="provider")
    if provider == "external" and not (external_knowledge_api_id and external_knowledge_id):
        raise InvalidParamError(
            "External datasets need external_knowledge_api_id and external_knowledge_id.",
            params="external_knowledge_api_id",
        )
    dataset = Dataset(
        tenant_id=caller.tenant_id,
        name=name,
        description=description or "",
        provider=provider,
        permission=permission,
        indexing_technique=indexing_technique,
        embedding_model=embedding_model,
        embedding_model_provider=embedding_model_provider,
        retrieval_model=check_retrieval_model(retrieval_model) if retrieval_model else None,
        external_knowledge_api_id=external_knowledge_api_id,
        external_knowledge_id=external_knowledge_id,
        created_by=caller.account_id,
        updated_by=caller.account_id,
        partial_member_list=[],
    )
    try:
        with session.begin_nested():
            session.add(dataset)
    except IntegrityError as exc:
        raise DatasetNameDuplicateError() from exc
    return dataset


def get(session: Session, *, caller: Caller, dataset_id: str, api: bool = False) -> Dataset:
    """A dataset of the caller's workspace that the caller may see (404 otherwise, as in Dify)."""
    dataset = session.scalar(select(Dataset).where(Dataset.id == dataset_id, Dataset.tenant_id == caller.tenant_id))
    if dataset is None or not (api or _visible(caller, dataset)):
        raise NotFoundError("Dataset not found.")
    if api and not dataset.enable_api:
        raise DatasetApiDisabledError()
    return dataset


def list_page(
    session: Session,
    *,
    caller: Caller,
    page: int,
    limit: int,
    keyword: str | None = None,
    tag_ids: list[str] | None = None,
    include_all: bool = False,
    api: bool = False,
) -> DatasetsPage:
    """A page of the workspace's datasets the caller may see, newest first.

    `tag_ids` keeps datasets bound to any of those tags (Dify's filter); `include_all` lets an owner or
    admin see every dataset whatever its permission.
    """
    if not 1 <= limit <= 100:
        raise InvalidParamError("limit must be between 1 and 100.", params="limit")
    if page < 1:
        raise InvalidParamError("page must be at least 1.", params="page")
    query = select(Dataset).where(Dataset.tenant_id == caller.tenant_id)
    if keyword:
        escaped = keyword.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Dataset.name.ilike(f"%{escaped}%", escape="\\"))
    if tag_ids:
        tagged = (
            select(TagBinding.target_id)
            .join(Tag, Tag.id == TagBinding.tag_id)
            .where(Tag.tenant_id == caller.tenant_id, TagBinding.tag_id.in_(tag_ids))
        )
        query = query.where(Dataset.id.in_(tagged))
    rows = list(session.scalars(query.order_by(Dataset.created_at.desc(), Dataset.id)))
    see_all = api or (include_all and caller.is_admin_or_owner)
    rows = [d for d in rows if see_all or _visible(caller, d)]
    return DatasetsPage(items=rows[(page - 1) * limit : page * limit], total=len(rows), page=page, limit=limit)


def stats(session: Session, *, dataset_ids: list[str]) -> dict[str, DatasetStats]:
    if not dataset_ids:
        return {}
    rows = session.execute(
        select(Document.dataset_id, func.count(Document.id), func.coalesce(func.sum(Document.word_count), 0))
        .where(Document.dataset_id.in_(dataset_ids))
        .group_by(Document.dataset_id)
    )
    found = {str(dataset_id): DatasetStats(int(count), int(words)) for dataset_id, count, words in rows}
    return {dataset_id: found.get(dataset_id, DatasetStats(0, 0)) for dataset_id in dataset_ids}


def update(session: Session, *, caller: Caller, dataset_id: str, changes: dict[str, Any], api: bool = False) -> Dataset:
    if not caller.can_edit_datasets:
        raise ForbiddenError()
    dataset = get(session, caller=caller, dataset_id=dataset_id, api=api)
    if "name" in changes and changes["name"] is not None:
        dataset.name = _check_name(changes["name"])
    if changes.get("description") is not None:
        dataset.description = str(changes["description"])[:400]
    technique = changes.get("indexing_technique")
    if technique is not None:
        if technique not in INDEXING_TECHNIQUES:
            raise InvalidParamError("indexing_technique must be high_quality or economy.", params="indexing_technique")
        dataset.indexing_technique = technique
    if changes.get("permission") is not None:
        if changes["permission"] not in PERMISSIONS:
            raise InvalidParamError(f"permission must be one of {', '.join(PERMISSIONS)}.", params="permission")
        dataset.permission = changes["permission"]
    for key in ("embedding_model", "embedding_model_provider"):
        if changes.get(key) is not None:
            setattr(dataset, key, changes[key])
    if changes.get("retrieval_model") is not None:
        dataset.retrieval_model = check_retrieval_model(changes["retrieval_model"])
    if changes.get("partial_member_list") is not None:
        dataset.partial_member_list = [
            str(m.get("user_id", m)) if isinstance(m, dict) else str(m) for m in changes["partial_member_list"]
        ]
    dataset.updated_by = caller.account_id
    try:
        session.flush()
    except IntegrityError as exc:
        raise DatasetNameDuplicateError() from exc
    return dataset


def remove(session: Session, *, caller: Caller, dataset_id: str, api: bool = False) -> Dataset:
    if not caller.can_edit_datasets:
        raise ForbiddenError()
    dataset = get(session, caller=caller, dataset_id=dataset_id, api=api)
    if using_apps(session, tenant_id=dataset.tenant_id, dataset_ids=[dataset.id])[dataset.id]:
        raise DatasetInUseError()
    session.execute(delete(TagBinding).where(TagBinding.target_id == dataset.id))
    session.execute(delete(Segment).where(Segment.dataset_id == dataset.id))
    session.execute(delete(Document).where(Document.dataset_id == dataset.id))
    session.delete(dataset)
    return dataset


def _config_dataset_ids(config: dict[str, Any]) -> set[str]:
    """Dataset ids an app's model config names (`dataset_configs` and the legacy `agent_mode.tools`)."""
    found: set[str] = set()
    configs = config.get("dataset_configs")
    listed = configs.get("datasets") if isinstance(configs, dict) else None
    items = listed.get("datasets") if isinstance(listed, dict) else None
    agent = config.get("agent_mode")
    tools = agent.get("tools") if isinstance(agent, dict) else None
    for item in [*(items if isinstance(items, list) else []), *(tools if isinstance(tools, list) else [])]:
        dataset = item.get("dataset") if isinstance(item, dict) else None
        if isinstance(dataset, dict) and isinstance(dataset.get("id"), str):
            found.add(dataset["id"])
    return found


def _graph_dataset_ids(graph: dict[str, Any]) -> set[str]:
    """Dataset ids the knowledge-retrieval nodes of a workflow graph name."""
    found: set[str] = set()
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    for node in nodes if isinstance(nodes, list) else []:
        data = node.get("data") if isinstance(node, dict) else None
        if isinstance(data, dict) and data.get("type") == "knowledge-retrieval":
            found.update(str(d) for d in data.get("dataset_ids") or [] if isinstance(d, str))
    return found


def using_apps(session: Session, *, tenant_id: str, dataset_ids: list[str]) -> dict[str, list[App]]:
    """The apps of the workspace that use each dataset: in their current model config, their draft
    workflow or their published workflow (older published versions do not count)."""
    out: dict[str, list[App]] = {d: [] for d in dataset_ids}
    if not dataset_ids:
        return out
    apps = list(session.scalars(select(App).where(App.tenant_id == tenant_id).order_by(App.created_at.desc())))
    config_ids = [a.app_model_config_id for a in apps if a.app_model_config_id]
    configs = (
        {c.id: c.config for c in session.scalars(select(AppModelConfig).where(AppModelConfig.id.in_(config_ids)))}
        if config_ids
        else {}
    )
    flows: dict[str, list[dict[str, Any]]] = {}
    published = [a.workflow_id for a in apps if a.workflow_id]
    rows = session.scalars(
        select(Workflow).where(
            Workflow.tenant_id == tenant_id, or_(Workflow.version == "draft", Workflow.id.in_(published))
        )
    )
    for workflow in rows:
        flows.setdefault(workflow.app_id, []).append(workflow.graph or {})
    for app in apps:
        used = _config_dataset_ids(configs.get(app.app_model_config_id or "") or {})
        for graph in flows.get(app.id, []):
            used |= _graph_dataset_ids(graph)
        for dataset_id in used & set(out):
            out[dataset_id].append(app)
    return out
