"""MCP client over both HTTP transports against a fake MCP server; stdio only for allowed commands."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from loomworks.services.tools import mcp_tools
from loomworks.services.tools.base import ToolError
from loomworks.services.tools.mcp_client import McpError, McpServerConfig, open_session
from tests.fakes.mcp_server import McpFake, mcp_fake
from tests.services.tools._setup import Setup, allowed_client, make_setup, named


@pytest.fixture
async def setup(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[Setup]:
    target = tmp_path / "tools.db"
    shutil.copy(sqlite_template, target)
    async for ready in make_setup(f"sqlite:///{target}", tmp_path):
        yield ready


@pytest.fixture(scope="module")
def mcp() -> Iterator[McpFake]:
    with mcp_fake() as fake:
        yield fake


@pytest.mark.parametrize(
    ("transport", "path", "sse_answers"),
    [("streamable-http", "/mcp", False), ("streamable-http", "/mcp", True), ("sse", "/sse", False)],
)
async def test_list_and_call_over_each_transport(mcp: McpFake, transport: str, path: str, sse_answers: bool) -> None:
    mcp.sse_answers = sse_answers
    config = McpServerConfig(transport=transport, url=named(mcp.base_url, "mcp.test") + path, timeout=5)
    async with allowed_client() as client, open_session(config, client=client, label="fake") as session:
        tools = await session.list_tools()
        assert [t["name"] for t in tools] == ["add", "lookup", "broken"]
        assert (await session.call_tool("add", {"a": 2, "b": 3})).text == "5"
        weather = await session.call_tool("lookup", {"city": "Oslo"})
        assert weather.json == [{"city": "Oslo", "sky": "clear", "celsius": 21}]
        with pytest.raises(McpError, match="fake/broken failed: the backend is down"):
            await session.call_tool("broken", {})
    mcp.sse_answers = False


async def test_mcp_provider_through_the_runtime(setup: Setup, mcp: McpFake) -> None:
    form = mcp_tools.check_body(
        {
            "name": "Fake MCP",
            "server_identifier": "fake",
            "server_url": named(mcp.base_url, "mcp.test") + "/mcp",
            "headers": {"X-Token": "secret-1"},
        }
    )
    source: mcp_tools.McpToolSource = setup.runtime.source("mcp")  # type: ignore[assignment]
    config = McpServerConfig(transport="", url=form["server_url"], headers=form["headers"])
    transport, tools = await source.fetch_tools(config, "Fake MCP")
    assert transport == "streamable-http"
    with setup.db.session() as session:
        row = mcp_tools.store(
            session,
            keyring=setup.keyring,
            tenant_id=setup.tenant_id,
            account_id=None,
            form=form,
            transport=transport,
            tools=tools,
        )
        provider_id = row.id
        assert "secret-1" not in str(row.sealed)
        assert "mcp.test" not in str(row.sealed)
    descriptor = setup.runtime.get(setup.tenant_id, "mcp", provider_id, "add")
    assert descriptor.llm_spec().parameters["required"] == ["a", "b"]
    out = await setup.runtime.invoke(setup.tenant_id, "mcp", provider_id, "add", {"a": "4", "b": 5})
    assert out.text == "9"  # "4" was coerced to a number by the descriptor
    assert mcp.headers["x-token"] == "secret-1"
    with pytest.raises(ToolError, match="broken"):
        await setup.runtime.invoke(setup.tenant_id, "mcp", provider_id, "broken", {})


async def test_private_mcp_urls_and_stdio_are_refused(mcp: McpFake) -> None:
    before = len(mcp.calls)
    async with allowed_client() as client:
        with pytest.raises(Exception, match="not allowed"):
            async with open_session(McpServerConfig(url=mcp.base_url + "/mcp"), client=client):
                pass
        with pytest.raises(McpError, match="stdio servers run only for commands the administrator allows"):
            async with open_session(McpServerConfig(transport="stdio", command="python -m evil"), client=client):
                pass
    assert len(mcp.calls) == before
