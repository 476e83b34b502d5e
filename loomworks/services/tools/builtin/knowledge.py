"""`knowledge`: search the workspace's knowledge bases (datasets) and answer the best segments."""

from __future__ import annotations

from typing import Any

from loomworks.services.knowledge import retrieval
from loomworks.services.tools.base import ToolCall, ToolOutput, ToolParameter, ToolParameterError, i18n
from loomworks.services.tools.registry import BuiltinTool, BuiltinToolProvider, ToolServices


class KnowledgeProvider(BuiltinToolProvider):
    name = "knowledge"
    label = i18n("Knowledge", "知识库")
    description = i18n("Search the workspace's knowledge bases.", "检索工作空间的知识库。")
    tags = ["productivity"]


def _ids(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value or "").replace(";", ",").split(",") if part.strip()]


class KnowledgeSearchTool(BuiltinTool):
    provider, name = "knowledge", "knowledge_search"
    label = i18n("Knowledge Search", "知识检索")
    llm_description = "Search the knowledge base for passages relevant to the query."
    parameters = [
        ToolParameter("query", "string", required=True, llm_description="what to look for"),
        ToolParameter(
            "dataset_ids", "string", required=True, form="form", llm_description="dataset ids, comma separated"
        ),
        ToolParameter("top_k", "number", form="form", default=4, llm_description="how many passages"),
    ]

    async def run(self, call: ToolCall, services: ToolServices) -> ToolOutput:
        runtime = services.need(call.descriptor.key, "knowledge")
        dataset_ids = _ids(call.parameters.get("dataset_ids"))
        if not dataset_ids:
            raise ToolParameterError(
                f"Tool {call.descriptor.key}: choose at least one dataset.", tool=call.descriptor.key
            )
        top_k = max(1, min(int(call.parameters.get("top_k") or 4), 20))
        records = await retrieval.retrieve(
            runtime,
            tenant_id=call.tenant_id,
            dataset_ids=dataset_ids,
            query=str(call.parameters["query"]),
            retrieval_model={"search_method": "semantic_search", "top_k": top_k, "reranking_enable": False},
        )
        items = [
            {
                "content": record.segment.content,
                "score": record.score,
                "document_id": record.document.id,
                "document_name": record.document.name,
                "dataset_id": record.document.dataset_id,
                "segment_id": record.segment.id,
            }
            for record in records[:top_k]
        ]
        return ToolOutput(
            text="\n\n".join(item["content"] for item in items), json=[{"records": items}] if items else []
        )
