"""External knowledge (Dify 0.11+): datasets answered by a user's own retrieval endpoint.

A workspace registers *external knowledge API* templates (`name`, `settings{endpoint, api_key}`);
a dataset with `provider = "external"` binds one of them plus the remote `external_knowledge_id`.
Retrieval calls `POST {endpoint}/retrieval` with
`{knowledge_id, query, retrieval_setting: {top_k, score_threshold}}` and `Authorization: Bearer
<api_key>`, and reads `{records: [{content, score, title, metadata}]}` (spec §4.6). The call goes
through the SSRF-safe client, since the endpoint is typed by a user; the API key is sealed at rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loomworks.core.crypto import DecryptionError, KeyRing, is_masked, mask
from loomworks.core.errors import ForbiddenError, InvalidParamError, NotFoundError, error_class
from loomworks.core.ssrf import OutboundRequestError, SafeHttpClient
from loomworks.services.caller import Caller
from loomworks.services.knowledge import datasets as dataset_rules
from loomworks.store.tables import Dataset, ExternalKnowledgeApi

ExternalKnowledgeApiError = error_class(
    "external_knowledge_api_error", 502, "The external knowledge API did not answer as expected."
)
ExternalApiInUseError = error_class(
    "external_knowledge_api_in_use", 409, "The external knowledge API is used by datasets; unbind them first."
)
MAX_RECORDS = 100
MAX_RESPONSE_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ExternalRecord:
    """One record answered by an external knowledge API."""

    content: str
    score: float
    title: str
    metadata: dict[str, Any]


def _context(tenant_id: str, api_id: str) -> str:
    return f"external_knowledge:{tenant_id}:{api_id}"


def _check_settings(value: Any) -> tuple[str, str]:
    if not isinstance(value, dict):
        raise InvalidParamError("settings must be an object with endpoint and api_key.", params="settings")
    endpoint, api_key = value.get("endpoint"), value.get("api_key")
    if not isinstance(endpoint, str) or not endpoint.startswith(("http://", "https://")) or len(endpoint) > 2048:
        raise InvalidParamError("settings.endpoint must be an http(s) URL.", params="settings")
    if not isinstance(api_key, str) or not api_key.strip():
        raise InvalidParamError("settings.api_key is required.", params="settings")
    return endpoint.rstrip("/"), api_key.strip()


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 40:
        raise InvalidParamError("Name must be between 1 to 40 characters.", params="name")
    return name.strip()


def api_key_of(keyring: KeyRing, api: ExternalKnowledgeApi) -> str:
    return keyring.decrypt(api.api_key_sealed, context=_context(api.tenant_id, api.id))


def create_api(
    session: Session, keyring: KeyRing, *, caller: Caller, name: Any, settings: Any, description: str = ""
) -> ExternalKnowledgeApi:
    if not caller.can_edit_datasets:
        raise ForbiddenError()
    endpoint, api_key = _check_settings(settings)
    api = ExternalKnowledgeApi(
        tenant_id=caller.tenant_id,
        name=_check_name(name),
        description=str(description or "")[:400],
        endpoint=endpoint,
        api_key_sealed="",
        created_by=caller.account_id,
        updated_by=caller.account_id,
    )
    session.add(api)
    session.flush()  # the id is part of the key's associated data
    api.api_key_sealed = keyring.encrypt(api_key, context=_context(api.tenant_id, api.id))
    return api


def get_api(session: Session, *, caller: Caller, api_id: str) -> ExternalKnowledgeApi:
    api = session.scalar(
        select(ExternalKnowledgeApi).where(
            ExternalKnowledgeApi.id == api_id, ExternalKnowledgeApi.tenant_id == caller.tenant_id
        )
    )
    if api is None:
        raise NotFoundError("External knowledge API not found.")
    return api


def list_apis(
    session: Session, *, caller: Caller, page: int, limit: int, keyword: str | None = None
) -> tuple[list[ExternalKnowledgeApi], int]:
    if not 1 <= limit <= 100 or page < 1:
        raise InvalidParamError("page must be at least 1 and limit between 1 and 100.", params="limit")
    query = select(ExternalKnowledgeApi).where(ExternalKnowledgeApi.tenant_id == caller.tenant_id)
    if keyword:
        query = query.where(ExternalKnowledgeApi.name.contains(keyword))
    total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    rows = session.scalars(
        query.order_by(ExternalKnowledgeApi.created_at.desc(), ExternalKnowledgeApi.id)
        .offset((page - 1) * limit)
        .limit(limit)
    )
    return list(rows), total


def update_api(
    session: Session, keyring: KeyRing, *, caller: Caller, api_id: str, changes: dict[str, Any]
) -> ExternalKnowledgeApi:
    if not caller.can_edit_datasets:
        raise ForbiddenError()
    api = get_api(session, caller=caller, api_id=api_id)
    if changes.get("name") is not None:
        api.name = _check_name(changes["name"])
    if changes.get("description") is not None:
        api.description = str(changes["description"])[:400]
    if changes.get("settings") is not None:
        settings = dict(changes["settings"]) if isinstance(changes["settings"], dict) else changes["settings"]
        if isinstance(settings, dict) and is_masked(str(settings.get("api_key", ""))):
            settings["api_key"] = api_key_of(keyring, api)  # the console sends the masked key back unchanged
        api.endpoint, api_key = _check_settings(settings)
        api.api_key_sealed = keyring.encrypt(api_key, context=_context(api.tenant_id, api.id))
    api.updated_by = caller.account_id
    return api


def bound_datasets(session: Session, *, api: ExternalKnowledgeApi) -> list[Dataset]:
    return list(
        session.scalars(
            select(Dataset).where(Dataset.tenant_id == api.tenant_id, Dataset.external_knowledge_api_id == api.id)
        )
    )


def delete_api(session: Session, *, caller: Caller, api_id: str) -> None:
    if not caller.can_edit_datasets:
        raise ForbiddenError()
    api = get_api(session, caller=caller, api_id=api_id)
    if bound_datasets(session, api=api):
        raise ExternalApiInUseError()
    session.delete(api)


def check_retrieval_setting(value: Any) -> dict[str, Any]:
    """Dify's `external_retrieval_model`: `{top_k, score_threshold, score_threshold_enabled}` with its defaults."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise InvalidParamError("external_retrieval_model must be an object.", params="external_retrieval_model")
    top_k = value.get("top_k", 2)
    if not isinstance(top_k, int) or isinstance(top_k, bool) or not 1 <= top_k <= MAX_RECORDS:
        raise InvalidParamError("top_k must be an integer between 1 and 100.", params="external_retrieval_model")
    threshold = value.get("score_threshold", 0.0)
    if threshold is None:
        threshold = 0.0
    if not isinstance(threshold, int | float) or isinstance(threshold, bool):
        raise InvalidParamError("score_threshold must be a number.", params="external_retrieval_model")
    return {
        "top_k": top_k,
        "score_threshold": float(threshold),
        "score_threshold_enabled": bool(value.get("score_threshold_enabled", False)),
    }


def create_dataset(
    session: Session,
    *,
    caller: Caller,
    name: Any,
    external_knowledge_api_id: Any,
    external_knowledge_id: Any,
    description: str = "",
    external_retrieval_model: Any = None,
) -> Dataset:
    """Dify's `POST /datasets/external`: a dataset bound to a template and a remote knowledge id."""
    if not isinstance(external_knowledge_api_id, str) or not external_knowledge_api_id:
        raise InvalidParamError("external_knowledge_api_id is required.", params="external_knowledge_api_id")
    if not isinstance(external_knowledge_id, str) or not external_knowledge_id.strip():
        raise InvalidParamError("external_knowledge_id is required.", params="external_knowledge_id")
    get_api(session, caller=caller, api_id=external_knowledge_api_id)
    setting = check_retrieval_setting(external_retrieval_model)
    dataset = dataset_rules.create(
        session,
        caller=caller,
        name=name,
        description=description,
        provider="external",
        external_knowledge_api_id=external_knowledge_api_id,
        external_knowledge_id=external_knowledge_id.strip(),
    )
    dataset.external_retrieval_model = setting
    return dataset


async def retrieve(
    http: SafeHttpClient, *, endpoint: str, api_key: str, knowledge_id: str, query: str, setting: dict[str, Any]
) -> list[ExternalRecord]:
    """Ask an external knowledge API; records best first, cut to `top_k` and the threshold when enabled.

    Raises:
        ExternalKnowledgeApiError: the endpoint is unreachable or blocked, answers an error status,
            or answers something other than `{records: [...]}`.
    """
    threshold = setting["score_threshold"] if setting.get("score_threshold_enabled") else 0.0
    body = {
        "knowledge_id": knowledge_id,
        "query": query,
        "retrieval_setting": {"top_k": setting["top_k"], "score_threshold": threshold},
    }
    try:
        response = await http.request(
            "POST",
            f"{endpoint}/retrieval",
            json=body,
            headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
            max_bytes=MAX_RESPONSE_BYTES,
        )
    except OutboundRequestError as exc:
        raise ExternalKnowledgeApiError(f"The external knowledge API could not be reached: {exc}") from exc
    if response.status_code != 200:
        raise ExternalKnowledgeApiError(
            f"The external knowledge API answered {response.status_code}: {response.text[:300]}"
        )
    try:
        payload = response.json()
    except ValueError as exc:
        raise ExternalKnowledgeApiError("The external knowledge API answered invalid JSON.") from exc
    items = payload.get("records") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        raise ExternalKnowledgeApiError("The external knowledge API answer has no records list.")
    records = []
    for item in items[:MAX_RECORDS]:
        if not isinstance(item, dict) or not isinstance(item.get("content"), str):
            continue  # one malformed record must not hide the others
        score = item.get("score")
        value = float(score) if isinstance(score, int | float) and not isinstance(score, bool) else 0.0
        if not math.isfinite(value):
            continue
        metadata = item.get("metadata")
        records.append(
            ExternalRecord(
                content=item["content"],
                score=value,
                title=str(item.get("title") or ""),
                metadata=metadata if isinstance(metadata, dict) else {},
            )
        )
    records = [r for r in records if r.score >= threshold]
    records.sort(key=lambda r: -r.score)
    return records[: setting["top_k"]]


def api_public(api: ExternalKnowledgeApi, keyring: KeyRing, bindings: list[Dataset] | None = None) -> dict[str, Any]:
    """Dify's template JSON; the API key masked."""
    try:
        shown = mask(api_key_of(keyring, api))
    except DecryptionError:  # a key sealed under a retired master key: still list the template
        shown = "*" * 12
    return {
        "id": api.id,
        "tenant_id": api.tenant_id,
        "name": api.name,
        "description": api.description,
        "settings": {"endpoint": api.endpoint, "api_key": shown},
        "dataset_bindings": [{"id": d.id, "name": d.name} for d in (bindings or [])],
        "created_by": api.created_by,
        "created_at": api.created_at.isoformat() if api.created_at else None,
    }
