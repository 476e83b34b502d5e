"""Settings → Tools and the agent tools picker in a real browser, against a real `loomworks serve`.

The admin authorizes Tavily (a built-in provider whose API base URL points at the Tavily fake of
`tests/fakes/web_apis.py`; a wrong key is refused in the dialog), adds the pet store of
`tests/fakes/openapi_petstore.py` as an OpenAPI provider from its pasted schema (operations parsed,
one tried out), adds the fake MCP server, and sees each provider with its tools. An agent app then
picks one tool of each in the tools picker, and in the debug preview the scripted model of
`tests/fakes/agent_model.py` calls them: the chat shows each tool call with its input and output,
and the answer quotes what the three tool servers answered.

The tools' servers are on loopback, so the server allows 127.0.0.0/8 for outbound calls
(`LOOMWORKS_SSRF_ALLOW_PRIVATE_NETWORKS`), as the API acceptance tests do. Screenshots:
`web/test-results/screenshots/tools-*`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.fakes.agent_model import AgentModelFake, agent_model_fake
from tests.fakes.mcp_server import McpFake, mcp_fake
from tests.fakes.openapi_petstore import API_KEY, PetstoreFake, petstore_fake
from tests.fakes.web_apis import TAVILY_KEY, WebApisFake, web_apis_fake
from tests.web._browser import auth_headers, build_console, chromium, install_and_sign_in, serve, shot, use_openai

pytestmark = pytest.mark.integration

EMAIL = "tools@example.com"
PASSWORD = "Passw0rd!2024"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("tools-serve") / "data"
    with serve(
        build_console(), data, {"LOOMWORKS_SSRF_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8"}, ready_within=120
    ) as base:
        yield base


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    with chromium(tmp_path_factory.mktemp("tools-profile")) as browser:
        yield browser


@pytest.fixture(scope="module")
def llm() -> Iterator[AgentModelFake]:
    with agent_model_fake() as fake:
        yield fake


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


def test_tool_providers_then_an_agent_calls_their_tools(
    server: str,
    context: BrowserContext,
    llm: AgentModelFake,
    web: WebApisFake,
    pets: PetstoreFake,
    mcp: McpFake,
) -> None:
    page = context.new_page()
    install_and_sign_in(page, server, EMAIL, PASSWORD)
    page.get_by_role("link", name="Settings", exact=True).click()
    page.get_by_test_id("settings-tools").click()
    expect(page.get_by_test_id("tools-settings")).to_be_visible()

    _authorize_tavily(page, web)
    _add_openapi_provider(page, pets)
    _add_mcp_provider(page, mcp)
    shot(page, "tools-01-settings")
    _agent_calls_the_tools(page, server, llm, web, pets, mcp)
    page.close()


def _authorize_tavily(page: Page, web: WebApisFake) -> None:
    card = page.locator('[data-tool-provider="tavily"]')
    expect(card).not_to_contain_text("Authorized")
    card.get_by_test_id("authorize-tavily").click()
    dialog = page.get_by_role("dialog")
    dialog.locator("#cred-base_url").fill(f"{web.base_url}/tavily")
    dialog.locator("#cred-tavily_api_key").fill("tvly-wrong")
    dialog.get_by_test_id("tool-credentials-save").click()
    # Tavily answered 401 to the validation search: the refusal is shown in the dialog, which stays open.
    expect(dialog.get_by_role("alert")).to_contain_text("The credentials do not work")
    expect(dialog.get_by_role("alert")).to_contain_text("HTTP 401")
    assert "/tavily/search" in web.hits
    shot(page, "tools-02-credentials-error")
    dialog.locator("#cred-tavily_api_key").fill(TAVILY_KEY)
    dialog.get_by_test_id("tool-credentials-save").click()
    expect(dialog).to_be_hidden()
    expect(card).to_contain_text("Authorized")
    # Its actions stay inside the card; a provider that takes no credentials offers none to set.
    remove = card.get_by_role("button", name="Remove credentials")
    expect(remove).to_be_visible()
    inner, outer = remove.bounding_box(), card.bounding_box()
    assert inner
    assert outer
    assert inner["x"] + inner["width"] <= outer["x"] + outer["width"], (inner, outer)
    expect(page.locator('[data-tool-provider="time"]')).to_contain_text("Authorized")
    expect(page.locator('[data-tool-provider="time"]').get_by_role("button")).to_have_count(0)


def _add_openapi_provider(page: Page, pets: PetstoreFake) -> None:
    page.get_by_test_id("add-api-provider").click()
    dialog = page.get_by_role("dialog")
    dialog.locator("#api-name").fill("pets")
    dialog.locator("#api-schema").fill(pets.openapi())
    dialog.get_by_test_id("api-schema-parse").click()
    operations = dialog.get_by_test_id("api-operations")
    expect(operations.locator("tbody tr")).to_have_count(3)
    expect(operations).to_contain_text("listPets")
    expect(operations).to_contain_text("showPetById")
    expect(operations).to_contain_text("createPet")
    dialog.locator("#api-auth").select_option("api_key")
    dialog.get_by_label("Header").fill("X-API-Key")
    dialog.get_by_label("Key", exact=True).fill(API_KEY)

    # Try one operation before saving: the pet store answers with its pets.
    dialog.get_by_test_id("test-showPetById").click()
    tester = page.get_by_role("dialog", name=re.compile("showPetById"))
    tester.locator("#test-petId").fill("1")
    tester.get_by_test_id("api-test-run").click()
    expect(tester.get_by_test_id("api-test-result")).to_contain_text("Rex")
    assert pets.requests[-1]["path"] == "/pets/1"
    assert pets.requests[-1]["headers"]["x-api-key"] == API_KEY
    shot(page, "tools-03-openapi-test")
    page.keyboard.press("Escape")

    dialog = page.get_by_role("dialog")
    dialog.get_by_test_id("api-provider-save").click()
    expect(dialog).to_be_hidden()
    card = page.get_by_test_id("api-providers").locator('[data-tool-provider="pets"]')
    expect(card).to_contain_text("3 tools")


def _add_mcp_provider(page: Page, mcp: McpFake) -> None:
    page.get_by_test_id("add-mcp-provider").click()
    dialog = page.get_by_role("dialog")
    dialog.locator("#mcp-name").fill("Calculator")
    dialog.locator("#mcp-url").fill(f"{mcp.base_url}/mcp")
    dialog.locator("#mcp-identifier").fill("calc")
    dialog.get_by_test_id("mcp-save").click()
    expect(dialog).to_be_hidden()
    # Adding the server listed its tools over MCP.
    assert "tools/list" in mcp.calls
    card = page.get_by_test_id("mcp-providers").locator("[data-tool-provider]")
    expect(card).to_have_count(1)
    expect(card).to_contain_text("Calculator")
    expect(card).to_contain_text("3 tools")


def _agent_calls_the_tools(
    page: Page, server: str, llm: AgentModelFake, web: WebApisFake, pets: PetstoreFake, mcp: McpFake
) -> None:
    use_openai(page, server, llm.api_key, llm.base_url)
    page.get_by_role("link", name="Studio").click()
    page.get_by_test_id("create-app").click()
    page.locator('[data-mode="agent-chat"]').click()
    page.fill("#app-name", "Pet concierge")
    page.get_by_test_id("create-submit").click()
    expect(page).to_have_url(re.compile(r"/apps/[0-9a-f-]{36}$"))
    app_id = page.url.rsplit("/", 1)[1]
    page.get_by_test_id("prompt-input").fill("You answer questions about our pets.")
    page.get_by_test_id("model-select").select_option("openai\u0000gpt-4o-mini")

    panel = page.get_by_test_id("tools-panel")
    panel.get_by_test_id("tools-add").click()
    picker = page.get_by_test_id("tool-picker")
    for tool in ("tavily_search", "showPetById", "add"):
        picker.get_by_test_id(f"pick-tool-{tool}").click()
        expect(picker.get_by_test_id(f"pick-tool-{tool}")).to_be_disabled()
    shot(page, "tools-04-picker")
    page.keyboard.press("Escape")
    expect(panel.get_by_test_id("agent-tool")).to_have_count(3)
    page.get_by_test_id("publish").click()
    expect(page.get_by_test_id("save-state")).to_contain_text("Published at")

    stored = httpx.get(f"{server}/console/api/apps/{app_id}", headers=auth_headers(page), timeout=5).json()
    picked = [(t["provider_type"], t["tool_name"]) for t in stored["model_config"]["agent_mode"]["tools"]]
    assert picked == [("builtin", "tavily_search"), ("api", "showPetById"), ("mcp", "add")]

    # The scripted model calls each tool by name among those offered, then quotes their answers.
    llm.reset()
    llm.plan = [("tavily_search", {"query": "pet food"}), ("showPetById", {"petId": "2"}), ("add", {"a": 2, "b": 3})]
    llm.play("agent_pick")
    preview = page.get_by_test_id("debug-preview")
    preview.get_by_test_id("chat-input").fill("What does Tom eat, and what is 2 + 3?")
    preview.get_by_test_id("chat-send").click()
    answer = preview.get_by_test_id("answer")
    expect(answer).to_contain_text("Here is what I found:")
    calls = preview.get_by_test_id("tool-call")
    expect(calls).to_have_count(3)
    expect(calls.nth(0)).to_have_attribute("data-tool", "tavily_search")
    expect(calls.nth(1)).to_have_attribute("data-tool", "showPetById")
    expect(calls.nth(2)).to_have_attribute("data-tool", "add")
    # Each call is folded; opened, it shows what the agent sent and what the tool's server answered.
    for call in calls.all():
        call.locator("summary").click()
    expect(calls.nth(0).get_by_test_id("tool-call-input")).to_contain_text("pet food")
    expect(calls.nth(0).get_by_test_id("tool-call-output")).to_contain_text("On pet food")
    expect(calls.nth(1).get_by_test_id("tool-call-input")).to_have_text('{"petId":"2"}')
    expect(calls.nth(1).get_by_test_id("tool-call-output")).to_contain_text("Tom")
    expect(calls.nth(2).get_by_test_id("tool-call-output")).to_have_text("5")
    expect(answer).to_contain_text("On pet food")
    expect(answer).to_contain_text("Tom")
    shot(page, "tools-05-agent-preview")

    # The tools really reached their servers, with the credentials saved in Settings.
    assert llm.offered[0] == ["tavily_search", "showPetById", "add"]
    assert web.bodies[-1]["query"] == "pet food"
    assert web.bodies[-1]["api_key"] == TAVILY_KEY
    assert pets.requests[-1]["path"] == "/pets/2"
    assert pets.requests[-1]["headers"]["x-api-key"] == API_KEY
    assert mcp.calls[-1] == "tools/call"
