"""Issue #7's "done when": agents with built-in, OpenAPI and MCP tools, workflows as tools, corpus DSLs with tools.

Everything runs through the server: providers are added through the console routes, the agent app
answers through `/v1/chat-messages` (streaming), and the tools' servers are real HTTP servers on
127.0.0.1 (the server's SSRF policy allows 127.0.0.0/8 here; the refusal of private addresses is
tested in `tests/services/tools/`). The model is the scripted fake of `tests/fakes/agent_model.py`:
it picks each planned tool by name among those the agent offered, and its final answer quotes the
tool results it was sent back — so the answer proves what the tools' servers answered.
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
from tests.fakes.agent_model import AgentModelFake, agent_model_fake
from tests.fakes.mcp_server import McpFake, mcp_fake
from tests.fakes.openapi_petstore import API_KEY, PetstoreFake, petstore_fake
from tests.fakes.public_apis import PublicApisFake, public_apis_fake
from tests.fakes.web_apis import WebApisFake, web_apis_fake

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "dsl-corpus"
WS = "/workspaces/current"
MODEL = {"provider": "openai", "name": "gpt-4o-mini", "mode": "chat", "completion_params": {}}


@pytest.fixture(scope="module")
def llm() -> Iterator[AgentModelFake]:
    with agent_model_fake() as fake:
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
def science() -> Iterator[PublicApisFake]:
    with public_apis_fake() as fake:
        yield fake


@pytest.fixture(scope="module")
def web() -> Iterator[WebApisFake]:
    with web_apis_fake() as fake:
        yield fake


@pytest.fixture(autouse=True)
def _fresh(llm: AgentModelFake) -> None:
    llm.reset()
    llm.plan = []


@pytest.fixture
def admin(settings: Settings, llm: AgentModelFake) -> Iterator[Console]:
    allowed = settings.model_copy(update={"ssrf_allow_private_networks": "127.0.0.0/8"})
    with TestClient(create_app(allowed)) as client:
        client.post("/console/api/setup", json={"email": OWNER_EMAIL, "name": "Owner", "password": OWNER_PASSWORD})
        console = Console(client, OWNER_EMAIL, OWNER_PASSWORD).login()
        configure_openai(console, llm)
        yield console


def _ok(response: Any) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


def _add_providers(admin: Console, pets: PetstoreFake, mcp: McpFake) -> tuple[str, str]:
    """The pet store as an OpenAPI provider (pasted document, API key) and the fake MCP server; their ids."""
    credentials = {"auth_type": "api_key", "api_key_header": "X-API-Key", "api_key_value": API_KEY}
    body = {"provider": "pets", "schema": pets.openapi(), "schema_type": "openapi", "credentials": credentials}
    _ok(admin.post(f"{WS}/tool-provider/api/add", json=body))
    api_id = _ok(admin.get(f"{WS}/tool-provider/api/get", params={"provider": "pets"}))["id"]
    added = _ok(
        admin.post(
            f"{WS}/tool-provider/mcp",
            json={"name": "Calculator", "server_identifier": "calc", "server_url": mcp.base_url + "/mcp"},
        )
    )
    return api_id, added["id"]


def _agent_app(admin: Console, tools: list[dict[str, Any]], *, strategy: str = "function_call") -> dict[str, str]:
    app = admin.create_app("Concierge", "agent-chat")
    config = dict(app["model_config"])
    config["model"] = MODEL
    config["pre_prompt"] = "You answer questions about our pets."
    config["agent_mode"] = {"enabled": True, "strategy": strategy, "max_iteration": 5, "tools": tools}
    _ok(admin.post(f"/apps/{app['id']}/model-config", json=config))
    return {"Authorization": f"Bearer {admin.create_key(app['id'])}"}


def _tool(provider_type: str, provider_id: str, name: str, **parameters: Any) -> dict[str, Any]:
    return {
        "enabled": True,
        "provider_type": provider_type,
        "provider_id": provider_id,
        "provider_name": provider_id,
        "tool_name": name,
        "tool_label": name,
        "tool_parameters": parameters,
    }


def _ask(admin: Console, headers: dict[str, str], query: str, **inputs: Any) -> list[dict[str, Any]]:
    body = {
        "query": query,
        "inputs": inputs,
        "user": "visitor",
        "response_mode": "streaming",
        "auto_generate_name": False,
    }
    response = admin.client.post("/v1/chat-messages", headers=headers, json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return sse_events(response)


def _collapse(kinds: list[str]) -> list[str]:
    return [kind for i, kind in enumerate(kinds) if i == 0 or kinds[i - 1] != kind]


def _answer(events: list[dict[str, Any]]) -> str:
    return "".join(e["answer"] for e in events if e["event"] == "agent_message")


PET = '{"id": "2", "name": "Tom"}'  # what the pet store answers for pet 2 (the OpenAPI tool's text)


@pytest.mark.parametrize(("strategy", "scenario"), [("function_call", "agent_pick"), ("react", "agent_pick_react")])
def test_an_agent_with_time_openapi_and_mcp_tools_answers_with_two_of_them(
    admin: Console, llm: AgentModelFake, pets: PetstoreFake, mcp: McpFake, strategy: str, scenario: str
) -> None:
    api_id, mcp_id = _add_providers(admin, pets, mcp)
    tools = [
        _tool("builtin", "time", "current_time", timezone="Asia/Tokyo", format="%Z"),
        _tool("api", api_id, "showPetById", petId=""),
        _tool("mcp", mcp_id, "add", a="", b=""),
    ]
    headers = _agent_app(admin, tools, strategy=strategy)
    llm.plan = [("showPetById", {"petId": "2"}), ("add", {"a": 19, "b": 23})]
    llm.play(scenario)
    pet_calls, mcp_calls = len(pets.requests), mcp.calls.count("tools/call")

    events = _ask(admin, headers, "What is pet 2 called, and what is 19 + 23?")

    # The stream: each tool step's thought (calls known, then observed), the answer's thought, its text,
    # the thought with the whole answer, then message_end.
    assert _collapse([e["event"] for e in events]) == ["agent_thought", "agent_message", "agent_thought", "message_end"]
    thoughts = [e for e in events if e["event"] == "agent_thought"]
    assert [t["position"] for t in thoughts] == [1, 1, 2, 2, 3, 3]
    assert [t["tool"] for t in thoughts] == ["showPetById", "showPetById", "add", "add", "", ""]
    assert json.loads(thoughts[0]["tool_input"]) == {"showPetById": {"petId": "2"}}
    assert thoughts[0]["observation"] == ""
    assert json.loads(thoughts[1]["observation"]) == {"showPetById": PET}
    assert json.loads(thoughts[3]["observation"]) == {"add": "42"}
    end = events[-1]
    assert {t["message_id"] for t in thoughts} == {end["message_id"]}
    answer = _answer(events)
    assert answer == f"Here is what I found: {PET} | 42"
    assert thoughts[-1]["thought"] == answer

    # The model saw all three tools by name and picked two; both servers were really called.
    assert llm.offered[0] == ["current_time", "showPetById", "add"]
    assert len(llm.offered) == 3
    pet_requests = pets.requests[pet_calls:]
    assert [(r["method"], r["path"]) for r in pet_requests] == [("GET", "/pets/2")]
    assert pet_requests[0]["headers"]["x-api-key"] == API_KEY
    assert mcp.calls.count("tools/call") == mcp_calls + 1
    chat = [r for r in llm.requests if r.get("messages")]
    if strategy == "function_call":
        add = next(t["function"] for t in chat[0]["tools"] if t["function"]["name"] == "add")
        assert add["parameters"]["required"] == ["a", "b"]
        time_tool = next(t["function"] for t in chat[0]["tools"] if t["function"]["name"] == "current_time")
        assert time_tool["parameters"]["properties"] == {}  # its form values are the app's, not the model's
    else:
        assert all("tools" not in r for r in chat)
        assert "Observation: 42" in chat[2]["messages"][-2]["content"]

    listed = admin.client.get(
        "/v1/messages", headers=headers, params={"conversation_id": end["conversation_id"], "user": "visitor"}
    )
    stored = _ok(listed)["data"][0]
    assert stored["answer"] == answer
    assert [t["tool"] for t in stored["agent_thoughts"]] == ["showPetById", "add", ""]


def test_the_time_tool_answers_for_the_agent_too(
    admin: Console, llm: AgentModelFake, pets: PetstoreFake, mcp: McpFake
) -> None:
    """The third tool works in the same app: the built-in `time` tool with the app's form values."""
    api_id, mcp_id = _add_providers(admin, pets, mcp)
    tools = [
        _tool("builtin", "time", "current_time", timezone="Asia/Tokyo", format="%Z"),
        _tool("api", api_id, "showPetById", petId=""),
        _tool("mcp", mcp_id, "add", a="", b=""),
    ]
    headers = _agent_app(admin, tools)
    llm.plan = [("current_time", {}), ("add", {"a": 1, "b": 2})]
    llm.play("agent_pick")
    answer = _answer(_ask(admin, headers, "Which time zone is Tokyo in, and what is 1 + 2?"))
    assert answer == "Here is what I found: JST | 3"


SUB = {
    "nodes": [
        _node("start", {"type": "start", "variables": [{"variable": "topic", "type": "text-input", "required": True}]}),
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


def _workflow_tool(admin: Console) -> tuple[str, str]:
    """SUB published and registered as the workflow tool `notes_tool`; (its app id, its tool provider id)."""
    sub_id, _ = publish(admin, "workflow", SUB)
    _ok(
        admin.post(
            f"{WS}/tool-provider/workflow/create",
            json={
                "workflow_app_id": sub_id,
                "name": "notes_tool",
                "label": "Notes",
                "description": "Write notes on a topic",
                "icon": {"content": "📝"},
                "parameters": [{"name": "topic", "description": "what about", "form": "llm"}],
            },
        )
    )
    got = _ok(admin.get(f"{WS}/tool-provider/workflow/get", params={"workflow_app_id": sub_id}))
    return sub_id, got["workflow_tool_id"]


def _runs(admin: Console, app_id: str) -> list[dict[str, Any]]:
    return _ok(admin.get(f"/apps/{app_id}/workflow-runs"))["data"]


def test_a_workflow_published_as_a_tool_serves_an_agent_app(admin: Console, llm: AgentModelFake) -> None:
    sub_id, tool_id = _workflow_tool(admin)
    headers = _agent_app(admin, [_tool("workflow", tool_id, "notes_tool", topic="")])
    llm.plan = [("notes_tool", {"topic": "tides"})]
    llm.play("agent_pick")

    events = _ask(admin, headers, "Write notes on tides")
    offered = next(r for r in llm.requests if r.get("tools"))["tools"][0]["function"]
    assert offered["name"] == "notes_tool"
    assert offered["description"] == "Write notes on a topic"
    assert offered["parameters"]["required"] == ["topic"]
    thoughts = [e for e in events if e["event"] == "agent_thought"]
    assert json.loads(thoughts[1]["observation"]) == {"notes_tool": '{"notes": "notes on tides"}'}
    assert _answer(events) == 'Here is what I found: {"notes": "notes on tides"}'
    (run,) = _runs(admin, sub_id)  # the sub-workflow really ran, once, as its own recorded run
    assert run["status"] == "succeeded"


def test_a_workflow_published_as_a_tool_serves_an_agent_node(admin: Console, llm: AgentModelFake) -> None:
    _, tool_id = _workflow_tool(admin)
    selector = {**MODEL, "provider": "langgenius/openai/openai", "model": "gpt-4o-mini", "model_type": "llm"}
    agent = {
        "type": "agent",
        "agent_strategy_provider_name": "langgenius/agent/agent",
        "agent_strategy_name": "function_calling",
        "agent_parameters": {
            "model": {"type": "constant", "value": selector},
            "tools": {
                "type": "constant",
                "value": [
                    {
                        "enabled": True,
                        "type": "workflow",
                        "provider_id": tool_id,
                        "provider_name": "notes_tool",
                        "tool_name": "notes_tool",
                        "settings": {},
                        "parameters": {"topic": {"auto": 1, "value": None}},
                    }
                ],
            },
            "instruction": {"type": "constant", "value": "Take notes."},
            "query": {"type": "mixed", "value": "{{#start.q#}}"},
            "maximum_iterations": {"type": "constant", "value": 3},
        },
    }
    graph = {
        "nodes": [
            _node("start", {"type": "start", "variables": [{"variable": "q", "type": "paragraph"}]}),
            _node("agent", agent),
            _node("end", {"type": "end", "outputs": [{"variable": "answer", "value_selector": ["agent", "text"]}]}),
        ],
        "edges": [_edge("start", "agent"), _edge("agent", "end")],
    }
    _, headers = publish(admin, "workflow", graph)
    llm.plan = [("notes_tool", {"topic": "owls"})]
    llm.play("agent_pick")
    run = _ok(admin.client.post("/v1/workflows/run", headers=headers, json={"inputs": {"q": "Owls?"}, "user": "u"}))
    assert run["data"]["status"] == "succeeded", run
    assert run["data"]["outputs"] == {"answer": 'Here is what I found: {"notes": "notes on owls"}'}


def _import(admin: Console, path: Path) -> str:
    imported = _ok(admin.post("/apps/imports", json={"mode": "yaml-content", "yaml_content": path.read_text()}))
    assert imported["status"] in ("completed", "completed-with-warnings"), imported
    return str(imported["app_id"])


def test_corpus_literature_agent_searches_arxiv_and_pubmed(
    admin: Console, llm: AgentModelFake, science: PublicApisFake, web: WebApisFake
) -> None:
    """`倍思-文献助手`: an agent-chat app with the built-in arxiv, pubmed and wikipedia tools."""
    app_id = _import(admin, CORPUS / "Wooooooh0__difyWorkFlow" / "DSL__倍思-文献助手.yml")
    endpoints = {
        "arxiv": {"api_url": science.base_url + "/arxiv/api/query"},
        "pubmed": {"eutils_url": science.base_url + "/eutils"},
        "wikipedia": {"api_url": web.base_url + "/w/api.php"},
    }
    for provider, credentials in endpoints.items():
        _ok(admin.post(f"{WS}/tool-provider/builtin/{provider}/update", json={"credentials": credentials}))
    headers = {"Authorization": f"Bearer {admin.create_key(app_id)}"}
    llm.plan = [("arxiv_search", {"query": "deep learning"}), ("pubmed_search", {"query": "cardiac arrest"})]
    llm.play("agent_pick")
    before = len(science.hits)

    events = _ask(admin, headers, "帮我找文献", keywords="深度学习")

    assert events[-1]["event"] == "message_end", events[-1]
    assert llm.offered[0] == ["arxiv_search", "pubmed_search", "wikipedia_search"]
    system = next(r for r in llm.requests if r.get("messages"))["messages"][0]["content"]
    assert "深度学习" in system  # the app's pre-prompt with its input filled in
    hits = science.hits[before:]
    assert [path for path, _ in hits] == ["/arxiv/api/query", "/eutils/esearch.fcgi", "/eutils/efetch.fcgi"]
    assert hits[0][1]["search_query"] == "deep learning"
    assert hits[1][1]["term"] == "cardiac arrest"
    answer = _answer(events)
    assert "Title: On deep learning, part 1\nAuthors: Ada Lovelace, Alan Turing" in answer
    assert "Title: cardiac arrest: trial 38000001." in answer
    assert "BACKGROUND: Why cardiac arrest matters." in answer


def test_corpus_json_translate_workflow_runs_with_google_translate(admin: Console, science: PublicApisFake) -> None:
    """`json_translate`: code picks the texts of a JSON document, an iteration translates each, code rebuilds it."""
    app_id = _import(admin, CORPUS / "svcvit__Awesome-Dify-Workflow" / "DSL__json_translate.yml")
    _ok(
        admin.post(
            f"{WS}/tool-provider/builtin/google_translate/update",
            json={"credentials": {"api_url": science.base_url + "/translate_a/single"}},
        )
    )
    assert admin.post(f"/apps/{app_id}/workflows/publish", json={}).status_code == 200
    headers = {"Authorization": f"Bearer {admin.create_key(app_id)}"}
    document = {"title": "你好", "items": [{"name": "世界", "color": "#fff", "count": 3}], "url": "https://x.test"}
    before = len(science.hits)

    response = admin.client.post(
        "/v1/workflows/run",
        headers=headers,
        json={"inputs": {"json_data": json.dumps(document, ensure_ascii=False)}, "user": "u"},
    )
    run = _ok(response)["data"]
    assert run["status"] == "succeeded", run.get("error")
    (output,) = run["outputs"].values()
    assert json.loads(output) == {
        "title": "[en] 你好",
        "items": [{"name": "[en] 世界", "color": "#fff", "count": 3}],
        "url": "https://x.test",
    }
    calls = [query for path, query in science.hits[before:] if path == "/translate_a/single"]
    assert sorted(c["q"] for c in calls) == ["世界", "你好"]
    assert {c["tl"] for c in calls} == {"en"}


def test_corpus_recipe_agent_searches_and_draws_a_chart(admin: Console, llm: AgentModelFake, web: WebApisFake) -> None:
    """`倍思-健康食谱`: an agent-chat app with wikipedia, searxng and the chart tool; the chart is a message file."""
    app_id = _import(admin, CORPUS / "Wooooooh0__difyWorkFlow" / "DSL__倍思-健康食谱.yml")
    credentials = {"searxng_base_url": web.base_url + "/searxng"}
    _ok(admin.post(f"{WS}/tool-provider/builtin/searxng/update", json={"credentials": credentials}))
    headers = {"Authorization": f"Bearer {admin.create_key(app_id)}"}
    llm.plan = [
        ("searxng_search", {"query": "oat calories"}),
        ("line_chart", {"data": "120;150;90", "x_axis": "Mon;Tue;Wed"}),
    ]
    llm.play("agent_pick")

    events = _ask(admin, headers, "一周的燕麦卡路里")

    assert llm.offered[0] == ["wikipedia_search", "searxng_search", "line_chart"]
    assert "/searxng/search" in web.hits
    (file,) = [e for e in events if e["event"] == "message_file"]
    assert (file["type"], file["belongs_to"]) == ("image", "assistant")
    chart = next(e for e in events if e["event"] == "agent_thought" and e["tool"] == "line_chart" and e["observation"])
    assert chart["message_files"] == [file["id"]]
    image = admin.client.get(file["url"])
    assert image.status_code == 200, image.text
    assert image.content.startswith(b'<svg xmlns="http://www.w3.org/2000/svg"')
    assert b">Tue</text>" in image.content
    answer = _answer(events)
    assert answer.startswith("Here is what I found: oat calories result 1\n")
    assert answer.endswith(" | Files: line_chart.svg")
    assert events[-1]["event"] == "message_end"
