"""External knowledge in the console (Dify's paths): API templates, external datasets, their hit-testing.

Mounted by `console/datasets.py` ahead of its `/{dataset_id}` routes, so that
`/datasets/external-knowledge-api` is not read as a dataset id.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from loomworks.api.deps import CurrentCaller, State
from loomworks.api.knowledge_handlers import knowledge_runtime
from loomworks.api.knowledge_views import dataset_public, external_hit_testing_public
from loomworks.core.errors import InvalidParamError
from loomworks.services.knowledge import datasets, external, retrieval

router = APIRouter(tags=["console: knowledge"])  # paths are under `/datasets` (the including router)


class ExternalApiCreate(BaseModel):
    name: Any = None
    description: str = ""
    settings: Any = None


class ExternalDatasetCreate(BaseModel):
    name: Any = None
    description: str = ""
    external_knowledge_api_id: Any = None
    external_knowledge_id: Any = None
    external_retrieval_model: Any = None


class ExternalHitTestingBody(BaseModel):
    query: Any = None
    external_retrieval_model: dict[str, Any] | None = None
    metadata_filtering_conditions: dict[str, Any] | None = None


@router.get("/external-knowledge-api")
def list_apis(
    caller: CurrentCaller, state: State, page: int = Query(1), limit: int = Query(20), keyword: str | None = None
) -> dict[str, Any]:
    with state.db.session() as session:
        rows, total = external.list_apis(session, caller=caller, page=page, limit=limit, keyword=keyword)
        data = [external.api_public(r, state.keyring, external.bound_datasets(session, api=r)) for r in rows]
        return {"data": data, "has_more": page * limit < total, "limit": limit, "total": total, "page": page}


@router.post("/external-knowledge-api", status_code=201)
def create_api(body: ExternalApiCreate, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        api = external.create_api(
            session, state.keyring, caller=caller, name=body.name, settings=body.settings, description=body.description
        )
        return external.api_public(api, state.keyring)


@router.get("/external-knowledge-api/{api_id}")
def get_api(api_id: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        api = external.get_api(session, caller=caller, api_id=api_id)
        return external.api_public(api, state.keyring, external.bound_datasets(session, api=api))


@router.patch("/external-knowledge-api/{api_id}")
def update_api(api_id: str, body: dict[str, Any], caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        api = external.update_api(session, state.keyring, caller=caller, api_id=api_id, changes=body)
        return external.api_public(api, state.keyring, external.bound_datasets(session, api=api))


@router.delete("/external-knowledge-api/{api_id}", status_code=204)
def delete_api(api_id: str, caller: CurrentCaller, state: State) -> Response:
    with state.db.session() as session:
        external.delete_api(session, caller=caller, api_id=api_id)
    return Response(status_code=204)


@router.get("/external-knowledge-api/{api_id}/use-check")
def use_check(api_id: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        bound = external.bound_datasets(session, api=external.get_api(session, caller=caller, api_id=api_id))
        return {"is_using": bool(bound), "count": len(bound)}


@router.post("/external", status_code=201)
def create_external_dataset(body: ExternalDatasetCreate, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        dataset = external.create_dataset(session, caller=caller, **body.model_dump())
        api = external.get_api(session, caller=caller, api_id=dataset.external_knowledge_api_id or "")
        out = dataset_public(dataset)
        out["external_knowledge_info"].update(
            external_knowledge_api_name=api.name, external_knowledge_api_endpoint=api.endpoint
        )
        return out


@router.post("/{dataset_id}/external-hit-testing")
async def external_hit_testing(
    dataset_id: str, body: ExternalHitTestingBody, caller: CurrentCaller, state: State
) -> dict[str, Any]:
    if not isinstance(body.query, str) or not body.query.strip():
        raise InvalidParamError("query is required.", params="query")

    def load() -> Any:
        with state.db.session() as session:
            dataset = datasets.get(session, caller=caller, dataset_id=dataset_id)
            session.expunge(dataset)
            return dataset

    dataset = await run_in_threadpool(load)
    if dataset.provider != "external":
        raise InvalidParamError("The dataset is not an external dataset.", params="dataset_id")
    records = await retrieval.external_records(
        knowledge_runtime(state), dataset, body.query, body.external_retrieval_model
    )
    return external_hit_testing_public(body.query, records)
