"""Tools through the server: console routes, a corpus DSL using built-in tools end to end, workflow as tool, MCP server.

The server's SSRF policy allows 127.0.0.0/8 here (the fakes live there); the refusal of private
addresses is tested in `tests/services/tools/` with a policy that does not.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from loomworks.api.app import create_app
from loomworks.core.config import Settings
from tests._console import OWNER_EMAIL, OWNER_PASSWORD, Console
from tests._scripted_model import sse_events
from tests.api.test_chatflow import _edge, _node, configure_openai, publish
from tests.fakes.mcp_server import McpFake, mcp_fake
from tests.fakes.openai import OpenAIFake, openai_fake
from tests.fakes.openapi_petstore import API_KEY, PetstoreFake, petstore_fake
from tests.fakes.web_apis import WebApisFake, web_apis_fake

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "dsl-corpus"
WS = "/workspaces/current"


@pytest.fixture(scope="module")
def web() -> Iterator[WebApisFake]:
    with web_apis_fake() as fake:
        yield fake


@pytest.fixture(scope="module")
def pets() -> Iterator[PetstoreFake]:
    with petstore_fake() as fake:
        yield fake


@pytest.fixture(scope="module")
def mcp() -> Iterator[McpFake]:
    with mcp_fake() as fake:
        yield fake


@pytest.fixture(scope="module")
def llm() -> Iterator[OpenAIFake]:
    with openai_fake() as fake:
        yield fake


@pytest.fixture
def admin(settings: Settings) -> Iterator[Console]:
    allowed = settings.model_copy(update={"ssrf_allow_private_networks": "127.0.0.0/8"})
    with TestClient(create_app(allowed)) as client:
        client.post("/console/api/setup", json={"email": OWNER_EMAIL, "name": "Owner", "password": OWNER_PASSWORD})
        yield Console(client, OWNER_EMAIL, OWNER_PASSWORD).login()


def _ok(response: Any) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


def test_builtin_providers_and_sealed_credentials(admin: Console, web: WebApisFake) -> None:
    providers = {p["name"]: p for p in _ok(admin.get(f"{WS}/tool-providers", params={"type": "builtin"}))}
    assert providers["time"]["is_team_authorization"] is True
    assert providers["searxng"]["is_team_authorization"] is False
    tools = _ok(admin.get(f"{WS}/tool-provider/builtin/searxng/tools"))
    assert tools[0]["name"] == "searxng_search"
    assert tools[0]["parameters"][0]["form"] == "llm"
    bad = admin.post(
        f"{WS}/tool-provider/builtin/searxng/update", json={"credentials": {"searxng_base_url": web.base_url}}
    )
    assert bad.status_code == 400
    assert "do not work" in bad.json()["message"]
    _ok(
        admin.post(
            f"{WS}/tool-provider/builtin/tavily/update",
            json={"credentials": {"tavily_api_key": "tvly-test-key", "base_url": web.base_url + "/tavily"}},
        )
    )
    shown = _ok(admin.get(f"{WS}/tool-provider/builtin/tavily/credentials"))
    assert shown["tavily_api_key"] != "tvly-test-key"
    assert shown["base_url"] == web.base_url + "/tavily"
    # A masked value sent back keeps the stored secret.
    _ok(admin.post(f"{WS}/tool-provider/builtin/tavily/update", json={"credentials": shown}))
    result = _ok(
        admin.post(
            f"{WS}/tool-provider/builtin/tavily/tools/tavily_search/test", json={"parameters": {"query": "looms"}}
        )
    )
    assert "On looms" in result["text"]


def test_openapi_provider_lifecycle(admin: Console, pets: PetstoreFake) -> None:
    broken = admin.post(f"{WS}/tool-provider/api/schema", json={"schema": "openapi: 3.0.0\npaths:\n  /a: [\n"})
    assert broken.status_code == 400
    assert broken.json()["message"].startswith("line 4: ")
    parsed = _ok(admin.post(f"{WS}/tool-provider/api/schema", json={"schema": pets.openapi()}))
    assert [op["operation_id"] for op in parsed["parameters_schema"]] == ["listPets", "createPet", "showPetById"]
    credentials = {"auth_type": "api_key", "api_key_header": "X-API-Key", "api_key_value": API_KEY}
    test = _ok(
        admin.post(
            f"{WS}/tool-provider/api/test/pre",
            json={
                "tool_name": "showPetById",
                "credentials": credentials,
                "parameters": {"petId": "2"},
                "schema_type": "openapi",
                "schema": pets.openapi(),
            },
        )
    )
    assert test == {"result": '{"id": "2", "name": "Tom"}'}
    failed = _ok(
        admin.post(
            f"{WS}/tool-provider/api/test/pre",
            json={
                "tool_name": "showPetById",
                "credentials": {"auth_type": "none"},
                "parameters": {"petId": "2"},
                "schema": pets.openapi(),
            },
        )
    )
    assert "HTTP 401" in failed["error"]
    _ok(
        admin.post(
            f"{WS}/tool-provider/api/add",
            json={
                "provider": "pets",
                "schema": pets.openapi(),
                "schema_type": "openapi",
                "credentials": credentials,
                "icon": {"content": "🐶", "background": "#fff"},
            },
        )
    )
    assert (
        admin.post(
            f"{WS}/tool-provider/api/add",
            json={"provider": "pets", "schema": pets.openapi(), "credentials": credentials},
        ).status_code
        == 409
    )
    got = _ok(admin.get(f"{WS}/tool-provider/api/get", params={"provider": "pets"}))
    assert got["credentials"]["api_key_value"] != API_KEY
    assert [t["name"] for t in got["tools"]] == ["listPets", "createPet", "showPetById"]
    listed = _ok(admin.get(f"{WS}/tools/api"))
    assert listed[0]["name"] == "pets"
    called = _ok(admin.post(f"{WS}/tool-provider/api/{got['id']}/tools/listPets/test", json={"parameters": {}}))
    assert called["json"][0]["pets"][0]["name"] == "Rex"
    _ok(admin.post(f"{WS}/tool-provider/api/delete", json={"provider": "pets"}))
    assert _ok(admin.get(f"{WS}/tools/api")) == []


def test_mcp_provider_routes(admin: Console, mcp: McpFake) -> None:
    added = _ok(
        admin.post(
            f"{WS}/tool-provider/mcp",
            json={
                "name": "Fake",
                "server_identifier": "fake",
                "server_url": mcp.base_url + "/mcp",
                "icon": "🔧",
            },
        )
    )
    assert added["transport"] == "streamable-http"
    assert added["server_url"] == "http://127.0.0.1/******"
    tools = _ok(admin.get(f"{WS}/tool-provider/mcp/tools/{added['id']}"))["tools"]
    assert [t["name"] for t in tools] == ["add", "lookup", "broken"]
    called = _ok(
        admin.post(f"{WS}/tool-provider/mcp/{added['id']}/tools/add/test", json={"parameters": {"a": 1, "b": 2}})
    )
    assert called["text"] == "3"
    unreachable = admin.post(
        f"{WS}/tool-provider/mcp",
        json={"name": "Gone", "server_identifier": "gone", "server_url": mcp.base_url + "/nothing-here"},
    )
    assert unreachable.status_code == 400
    assert "Could not list" in unreachable.json()["message"]
    deleted = admin.client.request(
        "DELETE", f"/console/api{WS}/tool-provider/mcp", headers=admin.headers, json={"provider_id": added["id"]}
    )
    _ok(deleted)
    assert _ok(admin.get(f"{WS}/tools/mcp")) == []


def test_corpus_chatflow_with_searxng_and_jina_runs_end_to_end(
    admin: Console, web: WebApisFake, llm: OpenAIFake
) -> None:
    """`搜索大师`: an LLM writes questions, SearXNG finds pages, an HTTP node checks them, Jina reads them."""
    llm.reset()
    llm.play("text")  # "Hello world": one line, so the LLM's follow-up questions are one search
    path = CORPUS / "svcvit__Awesome-Dify-Workflow" / "DSL__搜索大师.yml"
    imported = _ok(admin.post("/apps/imports", json={"mode": "yaml-content", "yaml_content": path.read_text()}))
    assert imported["status"] in ("completed", "completed-with-warnings"), imported
    app_id = imported["app_id"]
    configure_openai(admin, llm)
    _ok(
        admin.post(
            f"{WS}/tool-provider/builtin/searxng/update",
            json={"credentials": {"searxng_base_url": web.base_url + "/searxng"}},
        )
    )
    _ok(
        admin.post(
            f"{WS}/tool-provider/builtin/jina/update", json={"credentials": {"reader_url": web.base_url + "/reader"}}
        )
    )
    assert admin.post(f"{app_id and '/apps/' + app_id}/workflows/publish", json={}).status_code == 200
    headers = {"Authorization": f"Bearer {admin.create_key(app_id)}"}
    events = sse_events(
        admin.client.post(
            "/v1/chat-messages",
            headers=headers,
            json={"query": "looms", "inputs": {}, "user": "dev", "response_mode": "streaming"},
        )
    )
    finished = [e for e in events if e["event"] == "node_finished"]
    by_type = {e["data"]["node_type"]: e["data"] for e in finished}
    assert by_type["tool"]["status"] == "succeeded", by_type["tool"].get("error")
    assert [e["event"] for e in events][-2:] == ["workflow_finished", "message_end"], events[-3:]
    assert any(hit == "/searxng/search" for hit in web.hits)
    assert any(hit.startswith("/reader/") for hit in web.hits)
    prompts = [json.dumps(r["messages"], ensure_ascii=False) for r in llm.requests if r.get("messages")]
    summary = next(p for p in prompts if "general overview" in p)
    assert f"# Markdown of {web.base_url}/docs/general/1" in summary
    answer = "".join(e["answer"] for e in events if e["event"] == "message")
    assert answer == "Hello world"
    llm.reset()


SUB = {
    "nodes": [
        _node(
            "start",
            {
                "type": "start",
                "variables": [{"variable": "topic", "label": "Topic", "type": "text-input", "required": True}],
            },
        ),
        _node(
            "shape",
            {
                "type": "template-transform",
                "template": "notes on {{ t }}",
                "variables": [{"variable": "t", "value_selector": ["start", "topic"]}],
            },
        ),
        _node("end", {"type": "end", "outputs": [{"variable": "notes", "value_selector": ["shape", "output"]}]}),
    ],
    "edges": [_edge("start", "shape"), _edge("shape", "end")],
}


def _caller_graph(provider_id: str, tool_name: str) -> dict[str, Any]:
    return {
        "nodes": [
            _node("start", {"type": "start", "variables": [{"variable": "q", "type": "text-input", "required": True}]}),
            _node(
                "call",
                {
                    "type": "tool",
                    "provider_type": "workflow",
                    "provider_id": provider_id,
                    "provider_name": tool_name,
                    "tool_name": tool_name,
                    "tool_configurations": {},
                    "tool_parameters": {"topic": {"type": "mixed", "value": "{{#start.q#}}"}},
                },
            ),
            _node("end", {"type": "end", "outputs": [{"variable": "out", "value_selector": ["call", "text"]}]}),
        ],
        "edges": [_edge("start", "call"), _edge("call", "end")],
    }


def test_a_published_workflow_is_a_tool_of_another_workflow(admin: Console) -> None:
    sub_id, _ = publish(admin, "workflow", SUB)
    _ok(
        admin.post(
            f"{WS}/tool-provider/workflow/create",
            json={
                "workflow_app_id": sub_id,
                "name": "notes_tool",
                "label": "Notes",
                "description": "Write notes",
                "icon": {"content": "📝"},
                "parameters": [{"name": "topic", "description": "what about", "form": "llm"}],
            },
        )
    )
    got = _ok(admin.get(f"{WS}/tool-provider/workflow/get", params={"workflow_app_id": sub_id}))
    assert got["tool"]["parameters"][0]["name"] == "topic"
    assert got["tool"]["parameters"][0]["required"] is True
    _, headers = publish(admin, "workflow", _caller_graph(got["workflow_tool_id"], "notes_tool"))
    run = _ok(admin.client.post("/v1/workflows/run", headers=headers, json={"inputs": {"q": "tides"}, "user": "u"}))
    assert run["data"]["status"] == "succeeded", run
    assert run["data"]["outputs"] == {"out": '{"notes": "notes on tides"}'}


def test_a_workflow_tool_calling_itself_stops_at_the_depth_limit(admin: Console) -> None:
    app_id, headers = publish(admin, "workflow", SUB)
    _ok(
        admin.post(
            f"{WS}/tool-provider/workflow/create",
            json={"workflow_app_id": app_id, "name": "loop_tool", "parameters": []},
        )
    )
    tool_id = _ok(admin.get(f"{WS}/tool-provider/workflow/get", params={"workflow_app_id": app_id}))["workflow_tool_id"]
    graph = _caller_graph(tool_id, "loop_tool")
    graph["nodes"][0]["data"]["variables"][0]["variable"] = "topic"
    graph["nodes"][1]["data"]["tool_parameters"] = {"topic": {"type": "mixed", "value": "{{#start.topic#}}"}}
    draft = _ok(admin.get(f"/apps/{app_id}/workflows/draft"))
    _ok(
        admin.post(
            f"/apps/{app_id}/workflows/draft",
            json={"graph": graph, "features": draft["features"], "hash": draft["hash"], "conversation_variables": []},
        )
    )
    assert admin.post(f"/apps/{app_id}/workflows/publish", json={}).status_code == 200
    run = admin.client.post("/v1/workflows/run", headers=headers, json={"inputs": {"topic": "x"}, "user": "u"}).json()
    assert run["data"]["status"] == "failed"
    assert "nest at most 5 deep" in run["data"]["error"]


def test_an_app_published_as_an_mcp_server(admin: Console) -> None:
    app_id, _ = publish(admin, "workflow", SUB)
    server = _ok(
        admin.post(
            f"/apps/{app_id}/server", json={"description": "Writes notes", "parameters": {"topic": "The subject"}}
        )
    )
    url = f"/mcp/server/{server['server_code']}/mcp"
    client = admin.client
    init = client.post(
        url,
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {}},
        },
    )
    assert init.json()["result"]["protocolVersion"] == "2025-03-26"
    assert client.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}).status_code == 202
    listed = client.post(url, json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"}).json()["result"]["tools"]
    assert listed == [
        {
            "name": "workflow_app",
            "description": "Writes notes",
            "inputSchema": {
                "type": "object",
                "properties": {"topic": {"type": "string", "description": "The subject"}},
                "required": ["topic"],
            },
        }
    ]
    called = client.post(
        url,
        json={
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {"name": "workflow_app", "arguments": {"topic": "owls"}},
        },
    ).json()
    assert called["result"] == {"content": [{"type": "text", "text": "notes on owls"}], "isError": False}
    missing = client.post(
        url,
        json={"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "workflow_app", "arguments": {}}},
    ).json()
    assert missing["result"]["isError"] is True
    refreshed = _ok(admin.get(f"/apps/{server['id']}/server/refresh"))
    assert client.post(url, json={"jsonrpc": "2.0", "id": 5, "method": "ping"}).status_code == 404
    assert refreshed["server_code"] != server["server_code"]
