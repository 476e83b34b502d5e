"""Knowledge retrieval and document extraction: through the retrieval and file ports."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loomworks.engine.errors import NodeConfigError, NodeError, PortUnavailableError
from loomworks.engine.nodes.base import Node, NodeResult
from loomworks.engine.ports import RetrievalRequest
from loomworks.engine.variables import Selector, is_file, selector_of, to_text

if TYPE_CHECKING:
    from loomworks.engine.runner import NodeContext

_METADATA_KEYS = (
    "dataset_id",
    "dataset_name",
    "document_id",
    "document_name",
    "data_source_type",
    "segment_id",
    "retriever_from",
    "score",
    "segment_hit_count",
    "segment_word_count",
    "segment_position",
    "segment_index_node_hash",
    "doc_metadata",
)


def result_item(chunk: dict[str, Any], position: int) -> dict[str, Any]:
    """A retrieved chunk in Dify's knowledge-retrieval `result` shape."""
    metadata = {"_source": "knowledge", "position": position, "retriever_from": "workflow"}
    metadata.update({k: chunk[k] for k in _METADATA_KEYS if k in chunk})
    return {
        "content": str(chunk.get("content") or ""),
        "title": chunk.get("title") or chunk.get("document_name") or "",
        "url": chunk.get("url"),
        "icon": chunk.get("icon"),
        "metadata": metadata,
    }


class KnowledgeRetrievalNode(Node):
    """Outputs `result`: the retrieved chunks, best first."""

    type = "knowledge-retrieval"
    inline = False

    def configure(self, data: dict[str, Any]) -> None:
        self.query = selector_of(data.get("query_variable_selector"))
        self.dataset_ids = [str(d) for d in data.get("dataset_ids") or []]
        self.mode = str(data.get("retrieval_mode") or "multiple")
        config = data.get("multiple_retrieval_config") or {}
        self.top_k = int(config.get("top_k") or 4)
        threshold = config.get("score_threshold")
        self.score_threshold = (
            float(threshold) if threshold is not None and config.get("score_threshold_enabled", True) else None
        )
        self.reranking = {
            "reranking_enable": config.get("reranking_enable", True),
            "reranking_mode": config.get("reranking_mode"),
            "reranking_model": config.get("reranking_model"),
            "weights": config.get("weights"),
        }
        mode = data.get("metadata_filtering_mode")
        self.metadata_filtering = (
            {"mode": mode, "conditions": data.get("metadata_filtering_conditions")}
            if mode and mode != "disabled"
            else None
        )

    def references(self) -> list[Selector]:
        return [self.query] if self.query else []

    async def run(self, ctx: NodeContext) -> NodeResult:
        query = to_text(ctx.pool.get(self.query)) if self.query else ""
        inputs = {"query": query}
        if not self.dataset_ids:
            return NodeResult(outputs={"result": []}, inputs=inputs)
        port = ctx.ports.retrieval
        if port is None:
            raise PortUnavailableError("Knowledge retrieval is unavailable: no knowledge base is configured.")
        chunks = await port.retrieve(
            RetrievalRequest(
                tenant_id=ctx.state.tenant_id,
                app_id=ctx.state.app_id,
                user_id=ctx.state.user_id,
                query=query,
                dataset_ids=list(self.dataset_ids),
                retrieval_mode=self.mode,
                top_k=self.top_k,
                score_threshold=self.score_threshold,
                reranking=self.reranking,
                metadata_filtering=self.metadata_filtering,
            )
        )
        result = [result_item(chunk, i) for i, chunk in enumerate(chunks, start=1)]
        return NodeResult(outputs={"result": result}, inputs=inputs)


class DocumentExtractorNode(Node):
    """Outputs `text`: a string for one file, a list of strings for a file list."""

    type = "document-extractor"
    inline = False

    def configure(self, data: dict[str, Any]) -> None:
        selector = selector_of(data.get("variable_selector"))
        if selector is None:
            raise NodeConfigError("no file variable selected")
        self.variable = selector

    def references(self) -> list[Selector]:
        return [self.variable]

    async def run(self, ctx: NodeContext) -> NodeResult:
        value = ctx.pool.get(self.variable)
        if value is None:
            raise NodeError(f"File variable {'.'.join(self.variable)} is empty.")
        port = ctx.ports.files
        if port is None:
            raise PortUnavailableError("Document extraction is unavailable: no file store is configured.")
        if isinstance(value, list):
            texts = []
            for file in value:
                if not is_file(file):
                    raise NodeError("the variable holds something that is not a file")
                texts.append(await port.extract_text(file))
            return NodeResult(outputs={"text": texts}, inputs={"variable_selector": list(self.variable)})
        if not is_file(value):
            raise NodeError("the variable holds no file")
        return NodeResult(
            outputs={"text": await port.extract_text(value)}, inputs={"variable_selector": list(self.variable)}
        )
