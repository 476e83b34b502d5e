"""The tool contract: descriptors, parameters, outputs, errors and the runtime that calls them.

A *tool* is one callable function offered by a *provider*. Providers come in Dify's kinds
(`provider_type`): `builtin` (code in `builtin/`), `api` (custom tools from an OpenAPI document),
`workflow` (a published workflow app), `mcp` (tools of a remote MCP server). Each kind is served
by one `ToolSource`; `ToolRuntime` routes a call to the source of its kind, checks and coerces
the parameters against the descriptor, bounds the call's time, and turns every failure into a
`ToolError` that names the tool.

Who calls what:
- the workflow engine's tool node goes through `services.tools.port.RuntimeToolPort`;
- agents (agent-chat apps, the agent node) call `ToolRuntime.get(...)` for the descriptor,
  offer `descriptor.llm_spec()` to the model, and `await ToolRuntime.invoke(...)` with the
  arguments the model produced merged over the app's form values;
- the console lists providers and tools through `ToolRuntime.list_tools` / the sources.

The process-wide runtime lives in `state.extras["tools"]`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from starlette.concurrency import run_in_threadpool

from loomworks.core.errors import LoomworksError
from loomworks.providers.base import ToolSpec

ProviderType = Literal["builtin", "api", "workflow", "mcp", "plugin"]
ParameterType = Literal["string", "number", "boolean", "select", "secret-input", "file", "files", "array", "object"]
I18n = dict[str, str]

PROVIDER_TYPES: tuple[str, ...] = ("builtin", "api", "workflow", "mcp", "plugin")

CALL_DEPTH: ContextVar[int] = ContextVar("loomworks_tool_call_depth", default=0)
"""How many workflow-as-tool calls enclose the running code (set by the workflow source)."""


class ToolError(LoomworksError):
    """A tool could not be found, was called with bad parameters, or failed while running.

    The message always names the tool (`provider/tool`), so an agent can feed it back to the
    model and a user can tell which tool broke.
    """

    code, status, default_message = "tool_error", 400, "The tool call failed."

    def __init__(self, message: str | None = None, *, tool: str = "", params: str | None = None) -> None:
        self.tool = tool
        super().__init__(message, params=params)


class ToolNotFoundError(ToolError):
    code, status, default_message = "tool_not_found", 404, "The tool was not found."


class ToolParameterError(ToolError):
    code, status, default_message = "tool_parameter_error", 400, "The tool parameters are invalid."


class ToolTimeoutError(ToolError):
    code, status, default_message = "tool_timeout", 400, "The tool call timed out."


class ToolCredentialError(ToolError):
    code, status, default_message = "tool_credential_error", 400, "The tool provider credentials are invalid."


class ToolProviderError(ToolError):
    """The remote service behind a tool refused, failed, or answered something unreadable."""

    code, status, default_message = "tool_provider_error", 400, "The tool provider failed."


def i18n(en: str, zh: str | None = None) -> I18n:
    """Dify's label object: `en_US` and `zh_Hans` (the Chinese text falls back to the English one)."""
    return {"en_US": en, "zh_Hans": zh or en}


_JSON_TYPES: dict[str, str] = {
    "string": "string",
    "secret-input": "string",
    "select": "string",
    "number": "number",
    "boolean": "boolean",
    "array": "array",
    "object": "object",
    "file": "string",
    "files": "array",
}


@dataclass(slots=True)
class ToolOption:
    """One choice of a `select` parameter."""

    value: str
    label: I18n


@dataclass(slots=True)
class ToolParameter:
    """One input of a tool.

    Attributes:
        name: the key in `parameters`.
        type: Dify's parameter type.
        required: the call fails without it (after defaults are applied).
        form: `llm` — the model fills it (it appears in `llm_spec()`); `form` — set by the app
            builder in the tool's configuration.
        label / human_description: shown in the console (i18n).
        llm_description: what the model reads about it.
        default: used when the call leaves it out.
        options: the choices of a `select`.
        schema: an explicit JSON schema for `array`/`object` values (e.g. from OpenAPI).
    """

    name: str
    type: ParameterType = "string"
    required: bool = False
    form: Literal["llm", "form"] = "llm"
    label: I18n = field(default_factory=dict)
    human_description: I18n = field(default_factory=dict)
    llm_description: str = ""
    default: Any = None
    options: list[ToolOption] = field(default_factory=list)
    schema: dict[str, Any] | None = None

    def json_schema(self) -> dict[str, Any]:
        """This parameter as a JSON schema property."""
        prop: dict[str, Any] = dict(self.schema) if self.schema else {"type": _JSON_TYPES.get(self.type, "string")}
        description = self.llm_description or self.human_description.get("en_US", "")
        if description:
            prop["description"] = description
        if self.options:
            prop["enum"] = [option.value for option in self.options]
        return prop

    def to_dify(self) -> dict[str, Any]:
        """Dify's console JSON of a tool parameter."""
        return {
            "name": self.name,
            "label": self.label or i18n(self.name),
            "human_description": self.human_description or i18n(self.llm_description),
            "llm_description": self.llm_description,
            "type": self.type,
            "form": self.form,
            "required": self.required,
            "default": self.default,
            "options": [{"value": o.value, "label": o.label} for o in self.options],
            "placeholder": None,
        }


@dataclass(slots=True)
class ToolDescriptor:
    """What a tool is: its identity, labels and typed parameters.

    `(provider_type, provider_id, name)` identifies the tool inside a workspace. For built-ins the
    provider id is Dify's provider name (`time`, `webscraper`); for api/mcp/workflow providers it
    is the provider row's id. `provider_name` is the human-facing provider name.
    """

    provider_type: str
    provider_id: str
    name: str
    label: I18n = field(default_factory=dict)
    description: I18n = field(default_factory=dict)
    parameters: list[ToolParameter] = field(default_factory=list)
    output_schema: dict[str, Any] | None = None
    provider_name: str = ""
    llm_name: str = ""

    @property
    def key(self) -> str:
        """`provider/tool`, the name used in error messages."""
        return f"{self.provider_name or self.provider_id}/{self.name}"

    def parameter(self, name: str) -> ToolParameter | None:
        """The parameter called `name`, if declared."""
        return next((p for p in self.parameters if p.name == name), None)

    def llm_spec(self, name: str | None = None) -> ToolSpec:
        """The function the model sees: only `form == "llm"` parameters, as a JSON schema.

        `name` overrides the function name (agents with two tools of the same name); by default
        it is `llm_name` or the tool name.
        """
        properties: dict[str, Any] = {}
        required: list[str] = []
        for param in self.parameters:
            if param.form != "llm":
                continue
            properties[param.name] = param.json_schema()
            if param.required:
                required.append(param.name)
        schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
        description = self.description.get("en_US", "") or self.label.get("en_US", "") or self.name
        return ToolSpec(name=name or self.llm_name or self.name, description=description, parameters=schema)

    def to_dify(self) -> dict[str, Any]:
        """Dify's console JSON of a tool (`/tool-provider/builtin/{p}/tools` items)."""
        return {
            "author": "Loomworks",
            "name": self.name,
            "label": self.label or i18n(self.name),
            "description": self.description or i18n(""),
            "parameters": [p.to_dify() for p in self.parameters],
            "labels": [],
            "output_schema": self.output_schema,
        }


@dataclass(slots=True)
class ToolOutput:
    """What a tool produced. Maps one-to-one onto the engine's `ToolResult`.

    Attributes:
        text: the text the model / the tool node's `text` output gets.
        json: JSON objects (Dify's `json` output is a list of them).
        files: file mappings (`{"type", "transfer_method", "url" | "upload_file_id", "filename",
            "mime_type", ...}`) as the engine's file port understands them.
        variables: named outputs a tool declares (Dify's variable messages).
    """

    text: str = ""
    json: list[dict[str, Any]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)

    def for_llm(self) -> str:
        """One text an agent feeds back to the model: the text, else the JSON, else the files."""
        if self.text:
            return self.text
        if self.json:
            return json.dumps(self.json[0] if len(self.json) == 1 else self.json, ensure_ascii=False)
        if self.files:
            return "Files: " + ", ".join(str(f.get("filename") or f.get("url") or "file") for f in self.files)
        return ""


@dataclass(slots=True)
class ToolCall:
    """One call as a source sees it: parameters already checked and coerced.

    `credentials` are the provider's decrypted credentials (built-in and api providers);
    `depth` counts nested workflow-as-tool calls (0 at the top).
    """

    tenant_id: str
    descriptor: ToolDescriptor
    parameters: dict[str, Any]
    user_id: str | None = None
    app_id: str | None = None
    configurations: dict[str, Any] = field(default_factory=dict)
    credentials: dict[str, Any] = field(default_factory=dict)
    depth: int = 0


class ToolSource(Protocol):
    """All providers of one `provider_type`. Implemented by the builtin, api, mcp, workflow sources.

    `list_tools` / `get` may read the database (they are synchronous; call them in a thread from
    async code). `invoke` raises `ToolError` (or an `OutboundRequestError`, which the runtime
    wraps) on failure.
    """

    provider_type: str

    def list_tools(self, tenant_id: str) -> list[ToolDescriptor]:
        """Every tool this source offers to the workspace."""
        ...

    def get(self, tenant_id: str, provider_id: str, tool_name: str) -> ToolDescriptor | None:
        """One tool, or None when the workspace has no such tool."""
        ...

    async def invoke(self, call: ToolCall) -> ToolOutput:
        """Run one call."""
        ...


def coerce_parameters(descriptor: ToolDescriptor, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Check `parameters` against the descriptor: defaults, required, types, select options.

    Unknown keys are kept (some tools accept free-form extras). Numbers and booleans given as
    text (the way templates render them) are converted.

    Raises:
        ToolParameterError: a required parameter is missing or a value has the wrong type.
    """
    values = dict(parameters)
    for param in descriptor.parameters:
        value = values.get(param.name)
        if value is None or value == "":
            if param.default is not None and param.default != "":
                values[param.name] = param.default
                continue
            if param.required:
                raise ToolParameterError(
                    f"Tool {descriptor.key}: the parameter '{param.name}' is required.",
                    tool=descriptor.key,
                    params=param.name,
                )
            values.pop(param.name, None)
            continue
        values[param.name] = _coerce(descriptor, param, value)
    return values


def _coerce(descriptor: ToolDescriptor, param: ToolParameter, value: Any) -> Any:  # noqa: C901
    def bad(expected: str) -> ToolParameterError:
        return ToolParameterError(
            f"Tool {descriptor.key}: the parameter '{param.name}' must be {expected}, got {value!r:.80}.",
            tool=descriptor.key,
            params=param.name,
        )

    if param.type == "number":
        if isinstance(value, bool):
            raise bad("a number")
        if isinstance(value, int | float):
            return value
        try:
            text = str(value).strip()
            return int(text) if text.lstrip("-").isdigit() else float(text)
        except ValueError:
            raise bad("a number") from None
    if param.type == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"true", "1", "yes", "on"}:
            return True
        if text in {"false", "0", "no", "off"}:
            return False
        raise bad("true or false")
    if param.type == "select":
        text = str(value)
        if param.options and text not in {o.value for o in param.options}:
            raise bad("one of " + ", ".join(o.value for o in param.options))
        return text
    if param.type in {"string", "secret-input"}:
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if param.type in {"array", "object"} and isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            if param.type == "array":
                return [value]
            raise bad("a JSON object") from None
        return parsed
    return value


class ToolRuntime:
    """One per process: routes calls to the source of their `provider_type`.

    Args:
        sources: the sources, one per provider type (builtin, api, workflow, mcp).
        timeout: seconds a single call may take before it fails with `ToolTimeoutError`.
    """

    def __init__(self, sources: list[ToolSource] | None = None, *, timeout: float = 60.0) -> None:
        self.sources: dict[str, ToolSource] = {s.provider_type: s for s in sources or []}
        self.timeout = timeout

    def add_source(self, source: ToolSource) -> None:
        """Serve one more provider type (or replace the source of one)."""
        self.sources[source.provider_type] = source

    def source(self, provider_type: str) -> ToolSource:
        """The source of `provider_type`; `ToolNotFoundError` when none serves it."""
        found = self.sources.get(provider_type)
        if found is None:
            raise ToolNotFoundError(f"Tools of type '{provider_type}' are not available here.")
        return found

    def list_tools(self, tenant_id: str) -> list[ToolDescriptor]:
        """Every tool the workspace can use, all kinds together."""
        tools: list[ToolDescriptor] = []
        for source in self.sources.values():
            tools.extend(source.list_tools(tenant_id))
        return tools

    def get(self, tenant_id: str, provider_type: str, provider_id: str, tool_name: str) -> ToolDescriptor:
        """The descriptor of one tool.

        Raises:
            ToolNotFoundError: the workspace has no such tool (the message names it).
        """
        descriptor = self.source(provider_type).get(tenant_id, provider_id, tool_name)
        if descriptor is None:
            key = f"{provider_id}/{tool_name}"
            raise ToolNotFoundError(f"Tool {key} ({provider_type}) was not found in this workspace.", tool=key)
        return descriptor

    async def aget(self, tenant_id: str, provider_type: str, provider_id: str, tool_name: str) -> ToolDescriptor:
        """`get` off the event loop (it may read the database)."""
        return await run_in_threadpool(self.get, tenant_id, provider_type, provider_id, tool_name)

    async def invoke(
        self,
        tenant_id: str,
        provider_type: str,
        provider_id: str,
        tool_name: str,
        parameters: Mapping[str, Any],
        *,
        user_id: str | None = None,
        app_id: str | None = None,
        configurations: Mapping[str, Any] | None = None,
        depth: int | None = None,
    ) -> ToolOutput:
        """Call one tool to the end.

        `configurations` (form values) are merged under `parameters` (model/node values win).
        `depth` defaults to the enclosing workflow-as-tool depth (`CALL_DEPTH`).

        Raises:
            ToolError: not found, bad parameters, timeout, refused URL, failing or garbled remote.
        """
        descriptor = await self.aget(tenant_id, provider_type, provider_id, tool_name)
        merged = {**(configurations or {}), **parameters}
        call = ToolCall(
            tenant_id=tenant_id,
            descriptor=descriptor,
            parameters=coerce_parameters(descriptor, merged),
            user_id=user_id,
            app_id=app_id,
            configurations=dict(configurations or {}),
            depth=CALL_DEPTH.get() if depth is None else depth,
        )
        return await self.run(call)

    async def run(self, call: ToolCall) -> ToolOutput:
        """Run an already-resolved call with the time bound and error wrapping."""
        descriptor = call.descriptor
        source = self.source(descriptor.provider_type)
        try:
            return await asyncio.wait_for(source.invoke(call), timeout=self.timeout)
        except ToolError as exc:
            if not exc.tool:
                exc.tool = descriptor.key
            raise
        except TimeoutError:
            raise ToolTimeoutError(
                f"Tool {descriptor.key} timed out after {self.timeout:g} s.", tool=descriptor.key
            ) from None
        except LoomworksError as exc:
            raise ToolProviderError(f"Tool {descriptor.key} failed: {exc.message}", tool=descriptor.key) from exc
        except (ValueError, KeyError, TypeError, OSError) as exc:
            raise ToolProviderError(f"Tool {descriptor.key} failed: {exc}", tool=descriptor.key) from exc
