"""The workflow engine's ports bound to the platform: model runtime, SSRF-safe HTTP, files, memory.

Each class implements one Protocol of `loomworks/engine/ports.py`. The code port (sandbox) and the
retrieval port (knowledge) are bound where those services are built; a port left unbound makes
its nodes fail with a clear error naming it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from loomworks.core.errors import NotFoundError
from loomworks.core.ssrf import SafeHttpClient
from loomworks.engine.ports import HttpRequest, HttpResponse, ModelDelta, ModelRequest, RetrievalRequest, Usage
from loomworks.providers.base import LLMRequest, ToolSpec
from loomworks.providers.runtime import BoundLLM
from loomworks.sandbox import Sandbox
from loomworks.services import files as upload_files
from loomworks.services.knowledge import retrieval
from loomworks.services.knowledge.indexing import KnowledgeRuntime
from loomworks.services.model_gateway import WorkspaceModels
from loomworks.store.db import Database
from loomworks.store.storage import Storage
from loomworks.store.tables import Message, UploadFile


class RuntimeModelPort:
    """LLM calls of llm / question-classifier / parameter-extractor nodes, through the model runtime."""

    def __init__(self, db: Database, models: WorkspaceModels) -> None:
        self.db, self.models = db, models

    async def _bind(self, request: ModelRequest) -> BoundLLM:
        def bind() -> BoundLLM:
            with self.db.session() as session:
                return self.models.bind_llm(
                    session, tenant_id=request.tenant_id, provider=request.provider, model=request.model
                )

        return await run_in_threadpool(bind)

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelDelta]:
        bound = await self._bind(request)
        parameters = dict(request.parameters)
        if request.json_schema is not None:
            parameters["response_format"] = "json_schema"
            parameters["json_schema"] = {"name": "output", "schema": request.json_schema}
        llm_request = LLMRequest(
            model=request.model,
            messages=request.messages,
            parameters=parameters,
            stop=request.stop,
            tools=[ToolSpec(t.name, t.description, t.parameters) for t in request.tools],
            mode=request.mode,
            user=request.user,
        )
        calls: dict[int, dict[str, str]] = {}
        async for chunk in bound.stream(llm_request):
            for delta in chunk.tool_calls:
                call = calls.setdefault(delta.index, {"name": "", "arguments": ""})
                call["name"] = delta.name or call["name"]
                call["arguments"] += delta.arguments
            if chunk.usage is not None:
                u = chunk.usage
                yield ModelDelta(
                    tool_calls=[calls[i] for i in sorted(calls)],
                    usage=Usage(
                        prompt_tokens=u.prompt_tokens,
                        completion_tokens=u.completion_tokens,
                        total_tokens=u.total_tokens,
                        prompt_price=u.prompt_price,
                        completion_price=u.completion_price,
                        total_price=u.total_price,
                        currency=u.currency,
                        latency=u.latency,
                        extra={
                            "prompt_unit_price": str(u.prompt_unit_price),
                            "prompt_price_unit": str(u.prompt_price_unit),
                            "completion_unit_price": str(u.completion_unit_price),
                            "completion_price_unit": str(u.completion_price_unit),
                        },
                    ),
                    finish_reason=chunk.finish_reason,
                )
            elif chunk.text:
                yield ModelDelta(text=chunk.text)


class SafeHttpPort:
    """The http-request node's requests, through the SSRF-safe client."""

    def __init__(self, client: SafeHttpClient) -> None:
        self.client = client

    async def send(self, request: HttpRequest) -> HttpResponse:
        kwargs: dict[str, Any] = {"headers": request.headers, "params": request.params}
        if request.content is not None:
            kwargs["content"] = request.content
        elif request.form is not None:
            kwargs["data"] = dict(request.form)
        elif request.multipart is not None:
            kwargs["data"] = {k: v for k, v in request.multipart if isinstance(v, str)}
            kwargs["files"] = [(k, v) for k, v in request.multipart if not isinstance(v, str)]
        timeout = request.connect_timeout + request.read_timeout + request.write_timeout
        response = await self.client.request(request.method, request.url, timeout=timeout, **kwargs)
        return HttpResponse(
            status_code=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            content=response.content,
        )


class StorageFilePort:
    """Files of workflow runs: uploaded files read and extracted, produced files saved as uploads."""

    def __init__(self, db: Database, storage: Storage, http: SafeHttpClient | None = None) -> None:
        self.db, self.storage, self.http = db, storage, http

    def _upload(self, file: dict[str, Any]) -> UploadFile:
        file_id = file.get("related_id") or file.get("upload_file_id") or file.get("id")
        with self.db.session() as session:
            row = session.get(UploadFile, str(file_id)) if file_id else None
            if row is None:
                raise NotFoundError("File not found.")
            session.expunge(row)
            return row

    async def read(self, file: dict[str, Any]) -> bytes:
        if file.get("transfer_method") == "remote_url" and file.get("url"):
            if self.http is None:
                raise NotFoundError("Remote files cannot be read by this server.")
            return await self.http.fetch_bytes(str(file["url"]), 50 * 1024 * 1024)
        row = await run_in_threadpool(self._upload, file)
        return await run_in_threadpool(self.storage.load, row.key)

    async def extract_text(self, file: dict[str, Any]) -> str:
        from loomworks.rag.extract import extract

        data = await self.read(file)
        name = str(file.get("filename") or file.get("name") or f"file.{file.get('extension') or 'txt'}")
        extracted = await run_in_threadpool(extract, data, filename=name)
        return extracted.text

    async def save(self, *, tenant_id: str, content: bytes, mime_type: str, filename: str) -> dict[str, Any]:
        def store() -> dict[str, Any]:
            with self.db.session() as session:
                row = upload_files.save_upload(
                    session,
                    self.storage,
                    tenant_id=tenant_id,
                    filename=filename,
                    data=content,
                    created_by_role="account",
                    created_by="workflow",
                    limits=upload_files.SizeLimits(document_mb=50, image_mb=50, audio_mb=50, video_mb=100),
                )
                session.commit()
                return {
                    "type": "document" if not mime_type.startswith("image/") else "image",
                    "transfer_method": "tool_file",
                    "related_id": row.id,
                    "filename": row.name,
                    "extension": f".{row.extension}",
                    "mime_type": row.mime_type,
                    "size": row.size,
                }

        return await run_in_threadpool(store)


class ConversationMemoryPort:
    """Chatflow memory: the conversation's past turns, oldest first."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def history(self, *, conversation_id: str, limit: int) -> list[dict[str, Any]]:
        def load() -> list[dict[str, Any]]:
            with self.db.session() as session:
                rows = list(
                    session.scalars(
                        select(Message)
                        .where(Message.conversation_id == conversation_id, Message.status == "normal")
                        .order_by(Message.created_at.desc())
                        .limit(limit)
                    )
                )
            turns: list[dict[str, Any]] = []
            for row in reversed(rows):
                turns.append({"role": "user", "content": row.query or ""})
                if row.answer:
                    turns.append({"role": "assistant", "content": row.answer})
            return turns

        return await run_in_threadpool(load)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


class KnowledgeRetrievalPort:
    """The knowledge-retrieval node's searches, over the workspace's datasets."""

    def __init__(self, runtime: KnowledgeRuntime) -> None:
        self.runtime = runtime

    async def retrieve(self, request: RetrievalRequest) -> list[dict[str, Any]]:
        model: dict[str, Any] = {"search_method": "semantic_search", "top_k": request.top_k}
        reranking = request.reranking or {}
        if reranking:
            model.update({k: v for k, v in reranking.items() if v is not None})
            if reranking.get("reranking_model"):
                model.setdefault("reranking_enable", True)
                model.setdefault("search_method", "hybrid_search")
            if reranking.get("weights"):
                model["search_method"] = "hybrid_search"
        if request.score_threshold is not None:
            model["score_threshold_enabled"] = True
            model["score_threshold"] = request.score_threshold
        conditions = (request.metadata_filtering or {}).get("metadata_filtering_conditions")
        records = await retrieval.retrieve(
            self.runtime,
            tenant_id=request.tenant_id,
            dataset_ids=request.dataset_ids,
            query=request.query,
            retrieval_model=model if request.retrieval_mode == "multiple" else None,
            metadata_filtering_conditions=conditions,
        )
        return [
            {
                "content": r.segment.content
                if not r.segment.answer
                else f"question: {r.segment.content} answer: {r.segment.answer}",
                "title": r.document.name,
                "score": r.score,
                "dataset_id": r.document.dataset_id,
                "document_id": r.document.id,
                "document_name": r.document.name,
                "segment_id": r.segment.id,
                "segment_position": r.segment.position,
                "data_source_type": r.document.data_source_type,
                "doc_metadata": r.document.doc_metadata or {},
            }
            for r in records
        ]


class SandboxCodePort:
    """Code nodes run in the sandbox process — never in this interpreter."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    async def execute(self, *, language: str, code: str, inputs: dict[str, Any]) -> dict[str, Any]:
        runtime = "javascript" if language in ("javascript", "nodejs", "js") else "python3"
        result = await self.sandbox.run(runtime, code, inputs)
        return result.output or {}
