"""In-memory implementations of the engine's ports, for the engine tests (real classes, no patching)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from loomworks.engine.ports import (
    AgentInvocation,
    HttpRequest,
    HttpResponse,
    ModelDelta,
    ModelRequest,
    Ports,
    RetrievalRequest,
    ToolInvocation,
    ToolResult,
    Usage,
)
from loomworks.engine.variables import FILE_IDENTITY


def _example(schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if schema.get("enum"):
        return schema["enum"][0]
    if kind == "number":
        return 1
    if kind == "boolean":
        return True
    if kind == "array":
        return [_example(schema.get("items") or {"type": "string"})]
    if kind == "object":
        return {k: _example(v) for k, v in (schema.get("properties") or {}).items()}
    return "value"


@dataclass
class FakeModel:
    """Canned answers: `reply` for llm (in `pieces` deltas), the first class for classifiers, JSON for extractors."""

    reply: str = "canned answer"
    pieces: int = 3
    delay: float = 0.0
    fail_times: int = 0
    tokens: int = 10
    requests: list[ModelRequest] = field(default_factory=list)

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelDelta]:
        self.requests.append(request)
        if self.fail_times > 0:
            self.fail_times -= 1
            raise ConnectionError("model connection failed")
        usage = Usage(
            prompt_tokens=self.tokens // 2,
            completion_tokens=self.tokens - self.tokens // 2,
            total_tokens=self.tokens,
            total_price=Decimal("0.001"),
        )
        if request.purpose == "parameter-extractor" and request.tools:
            args = _example(request.tools[0].parameters)
            yield ModelDelta(tool_calls=[{"name": request.tools[0].name, "arguments": json.dumps(args)}], usage=usage)
            return
        if request.purpose == "parameter-extractor":
            schema = json.loads(str(request.messages[0]["content"]).rsplit("\n", 1)[-1])
            yield ModelDelta(text=json.dumps(_example(schema)), usage=usage)
            return
        if request.purpose == "question-classifier":
            system = str(request.messages[0]["content"])
            first = system.split("Categories (id: name):\n", 1)[1].split("\n", 1)[0]
            cid, _, name = first.partition(": ")
            yield ModelDelta(text=json.dumps({"category_id": cid, "category_name": name}), usage=usage)
            return
        text = json.dumps(_example(request.json_schema)) if request.json_schema else self.reply
        size = max(1, -(-len(text) // self.pieces))
        chunks = [text[i : i + size] for i in range(0, len(text), size)] or [""]
        for i, chunk in enumerate(chunks):
            if self.delay:
                await asyncio.sleep(self.delay)
            last = i == len(chunks) - 1
            yield ModelDelta(text=chunk, usage=usage if last else None, finish_reason="stop" if last else None)


_DEFAULTS: dict[str, Any] = {"string": "", "number": 0, "object": {}, "boolean": False}


@dataclass
class FakeCode:
    """Returns each declared output with its type's default value (or what `results` scripts)."""

    outputs: dict[str, str] = field(default_factory=dict)
    results: dict[str, Any] | None = None
    delay: float = 0.0
    calls: list[dict[str, Any]] = field(default_factory=list)

    async def execute(self, *, language: str, code: str, inputs: dict[str, Any]) -> dict[str, Any]:
        self.calls.append({"language": language, "code": code, "inputs": inputs})
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.results is not None:
            return dict(self.results)
        return {}


class DeclaredOutputsCode:
    """For the corpus: parses nothing, answers the declared outputs of the code node being run."""

    def __init__(self, graph_nodes: list[dict[str, Any]]) -> None:
        self.by_code: dict[str, dict[str, Any]] = {}
        for node in graph_nodes:
            data = node.get("data") or {}
            if data.get("type") == "code":
                outputs = {}
                for name, spec in (data.get("outputs") or {}).items():
                    kind = str((spec or {}).get("type") or "string")
                    outputs[name] = [] if kind.startswith("array") else _DEFAULTS.get(kind, "")
                self.by_code[str(data.get("code") or "")] = outputs

    async def execute(self, *, language: str, code: str, inputs: dict[str, Any]) -> dict[str, Any]:
        return dict(self.by_code.get(code, {}))


@dataclass
class FakeHttp:
    status: int = 200
    body: bytes = b'{"ok": true}'
    content_type: str = "application/json"
    requests: list[HttpRequest] = field(default_factory=list)

    async def send(self, request: HttpRequest) -> HttpResponse:
        self.requests.append(request)
        return HttpResponse(self.status, {"content-type": self.content_type}, self.body)


@dataclass
class FakeTools:
    calls: list[ToolInvocation] = field(default_factory=list)

    async def invoke(self, call: ToolInvocation) -> ToolResult:
        self.calls.append(call)
        return ToolResult(text=f"{call.tool_name} result", json=[{"tool": call.tool_name}])


@dataclass
class FakeAgents:
    async def run(self, call: AgentInvocation) -> ToolResult:
        return ToolResult(text=f"agent {call.strategy_name} answer")


@dataclass
class FakeRetrieval:
    requests: list[RetrievalRequest] = field(default_factory=list)

    async def retrieve(self, request: RetrievalRequest) -> list[dict[str, Any]]:
        self.requests.append(request)
        return [
            {
                "content": f"chunk about {request.query}",
                "score": 0.9,
                "dataset_id": request.dataset_ids[0],
                "document_name": "doc.txt",
            }
        ]


@dataclass
class FakeFiles:
    saved: list[bytes] = field(default_factory=list)

    async def extract_text(self, file: dict[str, Any]) -> str:
        return f"text of {file.get('filename')}"

    async def read(self, file: dict[str, Any]) -> bytes:
        return f"bytes of {file.get('filename')}".encode()

    async def save(self, *, tenant_id: str, content: bytes, mime_type: str, filename: str) -> dict[str, Any]:
        self.saved.append(content)
        return {
            "dify_model_identity": FILE_IDENTITY,
            "type": "custom",
            "transfer_method": "tool_file",
            "filename": filename,
            "mime_type": mime_type,
            "size": len(content),
            "url": f"/files/{len(self.saved)}",
        }


@dataclass
class FakeMemory:
    turns: list[dict[str, Any]] = field(default_factory=list)

    async def history(self, *, conversation_id: str, limit: int) -> list[dict[str, Any]]:
        return self.turns[-2 * limit :]


def all_ports(**overrides: Any) -> Ports:
    ports = Ports(
        model=FakeModel(),
        code=FakeCode(),
        http=FakeHttp(),
        tools=FakeTools(),
        agents=FakeAgents(),
        retrieval=FakeRetrieval(),
        files=FakeFiles(),
        memory=FakeMemory(),
    )
    for key, value in overrides.items():
        setattr(ports, key, value)
    return ports
