"""The workflow engine's `ToolPort` over the tool runtime, and the runtime as the server builds it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from loomworks.core.crypto import KeyRing
from loomworks.core.ssrf import SafeHttpClient
from loomworks.engine.ports import ToolInvocation, ToolResult
from loomworks.services.tools.api_tools import ApiToolSource
from loomworks.services.tools.base import ToolRuntime
from loomworks.services.tools.mcp_tools import McpToolSource
from loomworks.services.tools.registry import BuiltinToolSource, ToolServices
from loomworks.services.tools.workflow_tool import WorkflowToolSource
from loomworks.store.db import Database

if TYPE_CHECKING:
    from loomworks.services.workflow_runs import WorkflowRunService


class RuntimeToolPort:
    """Tool nodes call tools through the runtime; a `ToolError` names the tool and fails the node."""

    def __init__(self, runtime: ToolRuntime) -> None:
        self.runtime = runtime

    async def invoke(self, call: ToolInvocation) -> ToolResult:
        provider = call.provider_id or call.provider_name
        output = await self.runtime.invoke(
            call.tenant_id,
            call.provider_type,
            provider,
            call.tool_name,
            call.parameters,
            user_id=call.user_id,
            app_id=call.app_id,
            configurations=call.configurations,
        )
        return ToolResult(text=output.text, files=output.files, json=output.json, variables=output.variables)


def build_tool_runtime(
    *,
    db: Database,
    keyring: KeyRing,
    http: SafeHttpClient,
    services: ToolServices,
    workflow_runs: Callable[[], WorkflowRunService | None],
    timeout: float = 60.0,
    max_depth: int = 5,
    mcp_stdio_commands: frozenset[str] = frozenset(),
) -> ToolRuntime:
    """The process's tool runtime: built-in, OpenAPI, MCP and workflow tools."""
    return ToolRuntime(
        [
            BuiltinToolSource(services),
            ApiToolSource(db, keyring, http),
            McpToolSource(db, keyring, http, allowed_commands=mcp_stdio_commands),
            WorkflowToolSource(db, workflow_runs, max_depth=max_depth),
        ],
        timeout=timeout,
    )
