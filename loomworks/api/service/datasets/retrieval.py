"""Hit-testing (`/v1/datasets/{dataset_id}/retrieve`): a dataset's best segments for a query."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from loomworks.api.deps import DatasetCaller, State
from loomworks.api.knowledge_handlers import HitTestingBody, run_hit_testing

router = APIRouter()


@router.post("/{dataset_id}/retrieve")
@router.post("/{dataset_id}/hit-testing", include_in_schema=False)
async def retrieve(dataset_id: str, body: HitTestingBody, caller: DatasetCaller, state: State) -> dict[str, Any]:
    """Hit-testing: the dataset's best segments for `query` (Dify's `/retrieve`)."""
    return await run_hit_testing(state, caller, dataset_id, body, api=True)
