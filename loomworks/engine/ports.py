"""What the engine needs from the outside world, as small Protocols.

The engine never imports the model runtime, the sandbox, the SSRF-safe HTTP client, the tool
runtime or the RAG layer; `services/workflow_engine.py` binds these ports to them. A port that is
not configured (None in `Ports`) makes the nodes that need it fail with a clear
`PortUnavailableError` naming what is missing — never a silent fallback.

Errors: a port signals failure by raising any exception. The node turns it into a failed node
whose `error` is `str(exc)` and whose `error_type` is the exception's class name (Dify's fail-branch
outputs `error_message` / `error_type`), so ports should raise exceptions with user-readable
messages (the model runtime's invoke errors, the sandbox's errors, the SSRF client's refusals).
Cancellation (`asyncio.CancelledError`) must be let through: it is how a run is stopped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol


@dataclass(slots=True)
class Usage:
    """Token usage and price of one model call (Dify's `LLMUsage`; prices as decimals)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    prompt_price: Decimal = Decimal(0)
    completion_price: Decimal = Decimal(0)
    total_price: Decimal = Decimal(0)
    currency: str = "USD"
    latency: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Dify's usage JSON (prices as decimal strings); `extra` carries unit prices and the like."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "prompt_price": str(self.prompt_price),
            "completion_tokens": self.completion_tokens,
            "completion_price": str(self.completion_price),
            "total_tokens": self.total_tokens,
            "total_price": str(self.total_price),
            "currency": self.currency,
            "latency": round(self.latency, 3),
            **self.extra,
        }


@dataclass(slots=True)
class ToolCallRequest:
    """A function the model may call (parameter-extractor's function-call mode)."""

    name: str
    description: str
    parameters: dict[str, Any]  # JSON schema of the arguments


@dataclass(slots=True)
class ModelRequest:
    """One model call from a node.

    Attributes:
        tenant_id: the workspace whose credentials pay for the call.
        provider: provider name as written in the DSL (`openai` or `langgenius/openai/openai`).
        model: model name.
        mode: `chat` (messages) or `completion` (one user message holding the whole prompt).
        messages: OpenAI-style messages; `content` is text, or a list of parts
            `{"type": "text", "text"}` / `{"type": "image_url", "image_url": {"url", "detail"}}`.
        parameters: the node's `completion_params` (temperature, max_tokens, ...), minus `stop`.
        stop: stop sequences.
        tools: functions offered to the model (parameter-extractor function-call mode).
        json_schema: a JSON schema the answer must follow (structured output), or None.
        purpose: the node type asking (`llm`, `question-classifier`, `parameter-extractor`) — for
            tracing and for fakes.
        user: the end user id (`sys.user_id`), passed to the vendor as `user`.
    """

    tenant_id: str
    provider: str
    model: str
    mode: str
    messages: list[dict[str, Any]]
    parameters: dict[str, Any] = field(default_factory=dict)
    stop: list[str] = field(default_factory=list)
    tools: list[ToolCallRequest] = field(default_factory=list)
    json_schema: dict[str, Any] | None = None
    purpose: str = "llm"
    user: str | None = None


@dataclass(slots=True)
class ModelDelta:
    """A piece of a streamed answer. The last delta carries `usage` (and `finish_reason`).

    `tool_calls` items are `{"name": str, "arguments": str (JSON)}`, complete (not fragments).
    """

    text: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    usage: Usage | None = None
    finish_reason: str | None = None


class ModelPort(Protocol):
    """Calls LLMs for the llm, question-classifier and parameter-extractor nodes.

    `stream(request)` yields `ModelDelta`s as the model produces them and finishes with one
    carrying `usage`. It raises the model runtime's invoke errors (not configured, authorization,
    rate limit, bad request, connection, server unavailable) before the first delta or mid-stream.
    """

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelDelta]:
        """Stream one model call."""
        ...


class CodePort(Protocol):
    """Runs a code node's `main(**inputs)` in the sandbox (never in-process).

    `execute` returns the dict that `main` returned. It raises an exception whose message is the
    user code's error (syntax error, exception, timeout, memory limit, non-dict result).
    """

    async def execute(self, *, language: str, code: str, inputs: dict[str, Any]) -> dict[str, Any]:
        """Run `code` (`python3` or `javascript`) with `inputs` as keyword arguments of `main`."""
        ...


@dataclass(slots=True)
class HttpRequest:
    """An outbound HTTP request of the http-request node, fully rendered.

    `headers` and `params` are ordered pairs (a key may repeat); exactly one of `content`
    (bytes), `form` (url-encoded fields) or `multipart` (fields and files) is set, or none.
    `multipart` items are `(field, value)` for text or `(field, (filename, bytes, mime_type))`
    for files. Timeouts are in seconds.
    """

    method: str
    url: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    params: list[tuple[str, str]] = field(default_factory=list)
    content: bytes | None = None
    form: list[tuple[str, str]] | None = None
    multipart: list[tuple[str, Any]] | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    write_timeout: float = 20.0
    ssl_verify: bool = True


@dataclass(slots=True)
class HttpResponse:
    """The response: status, headers (lower-cased names) and the raw body."""

    status_code: int
    headers: dict[str, str]
    content: bytes

    @property
    def mime_type(self) -> str:
        """The media type of the body without parameters."""
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()


class HttpPort(Protocol):
    """Sends the http-request node's requests through the SSRF-safe client.

    `send` returns the response whatever its status code (4xx/5xx are not errors for the node);
    it raises for refused destinations (private addresses...), timeouts and connection errors.
    """

    async def send(self, request: HttpRequest) -> HttpResponse:
        """Send one request and read the whole response."""
        ...


@dataclass(slots=True)
class ToolInvocation:
    """A tool node's call: which tool, with which resolved parameters.

    `parameters` are the rendered `tool_parameters`; `configurations` the node's
    `tool_configurations` (form-type settings). Ids are Dify's DSL fields.
    """

    tenant_id: str
    app_id: str
    user_id: str | None
    provider_type: str
    provider_id: str
    provider_name: str
    tool_name: str
    parameters: dict[str, Any]
    configurations: dict[str, Any] = field(default_factory=dict)
    plugin_unique_identifier: str | None = None
    credential_id: str | None = None


@dataclass(slots=True)
class ToolResult:
    """What a tool (or an agent) produced: Dify's `text`, `files`, `json` plus declared variables."""

    text: str = ""
    files: list[dict[str, Any]] = field(default_factory=list)
    json: list[dict[str, Any]] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)
    usage: Usage | None = None


class ToolPort(Protocol):
    """Invokes tools for the tool node.

    `invoke` raises an exception naming the tool when it is not installed or not authorised, and
    the tool's own error otherwise.
    """

    async def invoke(self, call: ToolInvocation) -> ToolResult:
        """Run one tool call to the end."""
        ...


class AgentReporter(Protocol):
    """What an agent run tells the agent node while it runs (the node's hook for extra events).

    The node streams `text` to the Answer/End nodes that show its output and turns the steps into
    Dify's `agent_log` events (`ROUND n` entries with `<model> Thought` and `CALL <tool>`
    children, each sent when it starts and again when it ends), collected in the node's
    `execution_metadata.agent_log`. Per round the calls come as `round_started`, `model_finished`,
    then `tool_started` / `tool_finished` for each tool call (calls may overlap); a round ends when
    the next one starts or at `close`, which the port calls once at the end (with the error when
    the run failed). Every method returns at once; none raises.
    """

    def text(self, delta: str) -> None:
        """A piece of the answer, as it streams."""
        ...

    def round_started(self, *, model: str, provider: str) -> None:
        """A model step begins (a new round)."""
        ...

    def model_finished(self, *, output: str, tool_calls: list[dict[str, Any]], usage: Usage | None) -> None:
        """The step's model call ended: its text and the tool calls it asked for (`name`, `args`)."""
        ...

    def tool_started(self, *, name: str, provider: str, arguments: Any) -> None:
        """A tool call of this round begins."""
        ...

    def tool_finished(self, *, name: str, output: str, error: str | None = None) -> None:
        """A tool call ended with `output` (the observation the model reads next)."""
        ...

    def close(self, error: str | None = None) -> None:
        """The run ended; entries still open end with it (failed with `error` when given)."""
        ...


@dataclass(slots=True)
class AgentInvocation:
    """An agent node's call: the strategy and its resolved `agent_parameters`.

    Attributes:
        history: the conversation's past turns for the node's `memory` (chatflows), oldest first,
            as `{"role": "user"|"assistant", "content"}` messages; they go between the
            instruction and the query.
        reporter: where the run reports its answer text and steps as they happen, or None.
    """

    tenant_id: str
    app_id: str
    user_id: str | None
    strategy_provider: str
    strategy_name: str
    parameters: dict[str, Any]
    plugin_unique_identifier: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    reporter: AgentReporter | None = None


class AgentPort(Protocol):
    """Runs agent strategies (plugins) for the agent node; raises naming the missing strategy.

    `run` reports through `call.reporter` (when set) as the run goes, and returns the final
    answer as `text`, files produced by tools as `files` and one `json` entry per round.
    """

    async def run(self, call: AgentInvocation) -> ToolResult:
        """Run the agent to its final answer."""
        ...


@dataclass(slots=True)
class RetrievalRequest:
    """A knowledge-retrieval node's query, with its `multiple_retrieval_config` fields flattened."""

    tenant_id: str
    app_id: str
    user_id: str | None
    query: str
    dataset_ids: list[str]
    retrieval_mode: str = "multiple"  # multiple | single
    top_k: int = 4
    score_threshold: float | None = None
    reranking: dict[str, Any] | None = None  # reranking_mode, reranking_model, weights
    metadata_filtering: dict[str, Any] | None = None  # mode + conditions, as in the DSL


class RetrievalPort(Protocol):
    """Searches datasets for the knowledge-retrieval node.

    `retrieve` returns chunks best first, each a dict with `content` (required) and, when known,
    `title`, `score`, `dataset_id`, `dataset_name`, `document_id`, `document_name`, `segment_id`,
    `data_source_type`, `segment_position`, `doc_metadata`, `url`. Raises for unknown datasets.
    """

    async def retrieve(self, request: RetrievalRequest) -> list[dict[str, Any]]:
        """Search and rank."""
        ...


class FilePort(Protocol):
    """File access: text extraction (document-extractor) and saving produced files (http-request).

    `extract_text` takes a file object (Dify's file dict: `transfer_method`, `url` or
    `related_id`/`upload_file_id`, `extension`, `mime_type`) and returns its text; it raises for
    unsupported types and unreadable files. `save` stores bytes and returns a file object.
    """

    async def extract_text(self, file: dict[str, Any]) -> str:
        """Read a file and extract its text."""
        ...

    async def read(self, file: dict[str, Any]) -> bytes:
        """Read a file's bytes (for http-request form-data and binary bodies)."""
        ...

    async def save(self, *, tenant_id: str, content: bytes, mime_type: str, filename: str) -> dict[str, Any]:
        """Store bytes produced by a node; return the file object."""
        ...


class MemoryPort(Protocol):
    """The conversation history for chatflow memory (llm, classifier, extractor `memory`).

    `history` returns up to `limit` past turns, oldest first, as messages
    `{"role": "user"|"assistant", "content": str}` (so up to 2 × limit messages).
    """

    async def history(self, *, conversation_id: str, limit: int) -> list[dict[str, Any]]:
        """Past turns of a conversation."""
        ...


@dataclass(slots=True)
class Ports:
    """The ports of one engine; any of them may be None (nodes needing it then fail clearly)."""

    model: ModelPort | None = None
    code: CodePort | None = None
    http: HttpPort | None = None
    tools: ToolPort | None = None
    agents: AgentPort | None = None
    retrieval: RetrievalPort | None = None
    files: FilePort | None = None
    memory: MemoryPort | None = None
