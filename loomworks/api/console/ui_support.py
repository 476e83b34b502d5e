"""Console helpers for our web console: a live preview of how a process rule splits an uploaded file."""

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from loomworks.api.deps import CurrentCaller, State
from loomworks.core.errors import NotFoundError
from loomworks.rag import clean, extract, split
from loomworks.services.knowledge.documents import check_process_rule
from loomworks.store.tables import UploadFile

router = APIRouter(tags=["console: knowledge"])


class ChunkPreviewBody(BaseModel):
    file_id: str
    process_rule: dict[str, Any] | None = None


@router.post("/datasets/chunk-preview")
async def chunk_preview(body: ChunkPreviewBody, caller: CurrentCaller, state: State) -> dict[str, Any]:
    """The chunks the indexer would make of one uploaded file under `process_rule` (the first 50)."""
    rule = check_process_rule(body.process_rule)
    with state.db.session() as session:
        upload = session.get(UploadFile, body.file_id)
        if upload is None or upload.tenant_id != caller.tenant_id:
            raise NotFoundError("File not found.")
        key = upload.key
    text = (await run_in_threadpool(lambda: extract.extract(state.storage.load(key), filename=key))).text
    text = clean.clean(text, clean.enabled_rules(rule["rules"].get("pre_processing_rules")))
    parents = await run_in_threadpool(split.split_document, text, rule)
    return {
        "total_segments": len(parents),
        "preview": [{"content": p.text, "child_chunks": p.children} for p in parents[:50]],
    }
