"""The workflow canvas in a real browser (Debian's Chromium driven by Playwright) against `loomworks serve`.

A workflow is built from an empty canvas by dragging nodes from the palette and connecting their
handles (start → LLM → IF/ELSE → two Ends), each node configured in its panel; the draft runs with
node states and outputs on the canvas, is published and called through `/v1/workflows/run`. The
largest DSL of the corpus is imported through the console and every node renders; a 200-node graph
is panned and zoomed while frame times are measured.

Screenshots go to `web/test-results/screenshots/canvas-*.png`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi import FastAPI, Request
from playwright.sync_api import BrowserContext, Locator, Page, expect, sync_playwright

from tests._live_server import free_port, live_server
from tests.fakes import anthropic
from tests.fakes.openai import OpenAIFake, openai_fake

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "web" / "test-results" / "screenshots"
CORPUS = ROOT.parent / "shared" / "dsl-corpus"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EMAIL = "canvas@example.com"
PASSWORD = "Passw0rd!2024"


@pytest.fixture(scope="module")
def fake() -> Iterator[OpenAIFake]:
    with openai_fake() as server:
        yield server


@pytest.fixture(scope="module")
def anthropic_fake() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    log: list[dict[str, Any]] = []
    with live_server(anthropic.create_app(["text"], log)) as url:
        yield url, log


def imgrender_app(calls: list[dict[str, Any]]) -> FastAPI:
    """A stand-in for ImgRender (the image API the largest corpus DSL posts to): a picture URL per call."""
    app = FastAPI()

    @app.post("/open/v1/pics")
    async def pics(request: Request) -> dict[str, Any]:
        calls.append({"key": request.headers.get("x-api-key"), "body": (await request.body()).decode()})
        return {"code": 0, "message": "ok", "data": {"url": f"https://img.example/{len(calls)}.png"}}

    return app


@pytest.fixture(scope="module")
def imgrender() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    calls: list[dict[str, Any]] = []
    with live_server(imgrender_app(calls)) as url:
        yield url, calls


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `loomworks serve` with the built console and a fresh SQLite data directory."""
    built = subprocess.run(
        ["bash", str(ROOT / "scripts" / "build-web.sh")], capture_output=True, text=True, timeout=300, check=False
    )
    assert built.returncode == 0, built.stdout + built.stderr
    port = free_port()
    data_dir = tmp_path_factory.mktemp("canvas-serve") / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOMWORKS_")}
    env["LOOMWORKS_WEB_DIST"] = str(ROOT / "web" / "dist")
    # The imported DSL's HTTP nodes call a loopback stand-in for their third-party API.
    env["LOOMWORKS_SSRF_ALLOW_HOSTS"] = "127.0.0.1"
    command = [sys.executable, "-m", "loomworks.cli", "serve", "--port", str(port), "--data-dir", str(data_dir)]
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            assert time.monotonic() < deadline, "server did not become healthy"
            time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        process.communicate(timeout=15)


@pytest.fixture(scope="module")
def console(server: str, fake: OpenAIFake) -> Iterator[httpx.Client]:
    """The admin's console API client, with the OpenAI provider pointed at the fake server."""
    with httpx.Client(base_url=f"{server}/console/api", timeout=10) as http:
        assert http.post("/setup", json={"email": EMAIL, "name": "Ada", "password": PASSWORD}).status_code == 201
        login = http.post("/login", json={"email": EMAIL, "password": PASSWORD}).json()["data"]
        http.headers["Authorization"] = f"Bearer {login['access_token']}"
        http.headers["X-Refresh"] = login["refresh_token"]
        fake.play("chatty")
        saved = http.post(
            "/workspaces/current/model-providers/langgenius/openai/openai",
            json={"credentials": {"openai_api_key": fake.api_key, "openai_api_base": fake.base_url}},
        )
        assert saved.json() == {"result": "success"}, saved.text
        yield http


@pytest.fixture(scope="module")
def context(server: str, console: httpx.Client, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-browser.sh")
    profile = tmp_path_factory.mktemp("canvas-chromium")
    access = console.headers["Authorization"].removeprefix("Bearer ")
    refresh = console.headers["X-Refresh"]
    with sync_playwright() as playwright:
        browser_context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1600, "height": 1000},
            locale="en-US",
        )
        browser_context.set_default_timeout(10_000)
        # Signed in as the admin (the sign-in page itself is covered by test_console_browser).
        browser_context.add_init_script(
            f"localStorage.setItem('loomworks.access_token', {json.dumps(access)});"
            f"localStorage.setItem('loomworks.refresh_token', {json.dumps(refresh)});"
            "localStorage.setItem('loomworks.language', 'en-US');"
        )
        try:
            yield browser_context
        finally:
            browser_context.close()
    shutil.rmtree(profile, ignore_errors=True)


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"canvas-{name}.png"))


def center(locator: Locator) -> tuple[float, float]:
    box = locator.bounding_box()
    assert box, locator
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def drag_mouse(page: Page, start: tuple[float, float], end: tuple[float, float]) -> None:
    """React Flow follows pointer moves: a real press, ten moves, a release (see STACK.md §9)."""
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=10)
    page.mouse.up()


def node(page: Page, kind: str, nth: int = 0) -> Locator:
    return page.locator(f'.react-flow__node:has([data-kind="{kind}"])').nth(nth)


def connect(page: Page, source: Locator, target: Locator, handle: str = "source") -> None:
    before = page.locator(".react-flow__edge").count()
    drag_mouse(
        page,
        center(source.locator(f'.react-flow__handle.source[data-handleid="{handle}"]')),
        center(target.locator(".react-flow__handle.target")),
    )
    expect(page.locator(".react-flow__edge")).to_have_count(before + 1)


def drop(page: Page, kind: str, x: float, y: float) -> None:
    """Drag a palette item onto the canvas (HTML drag and drop) at screen point (x, y)."""
    flow = page.locator(".wf-flow").bounding_box()
    assert flow
    page.get_by_test_id(f"palette-{kind}").drag_to(
        page.locator(".react-flow__pane"), target_position={"x": x - flow["x"], "y": y - flow["y"]}
    )
    expect(page.get_by_test_id("node-panel")).to_have_attribute("data-kind", kind)


def close_panel(page: Page) -> None:
    page.get_by_test_id("node-panel").get_by_role("button", name="Close").click()
    expect(page.get_by_test_id("node-panel")).to_have_count(0)


def pick(panel: Locator, select: Locator, label_part: str) -> None:
    """Choose the option of a native select whose label contains `label_part`."""
    options = select.locator("option").all_inner_texts()
    match = next(o for o in options if label_part in o)
    select.select_option(label=match)


def test_build_run_publish_and_call_a_workflow(server: str, console: httpx.Client, context: BrowserContext) -> None:
    app = console.post("/apps", json={"name": "Canvas flow", "mode": "workflow"}).json()
    page = context.new_page()
    page.goto(f"{server}/apps/{app['id']}/workflow")
    expect(page.get_by_test_id("canvas-app-name")).to_have_text("Canvas flow")
    expect(page.locator(".react-flow__node")).to_have_count(1)

    # Move the start node to the left edge (a real pointer drag moves React Flow nodes).
    flow = page.locator(".wf-flow").bounding_box()
    assert flow
    left, mid = flow["x"] + 40, flow["y"] + 300
    start = node(page, "start")
    head = start.locator(".wf-node-head")
    drag_mouse(page, center(head), (left + 100, mid))
    expect(page.get_by_test_id("save-state")).to_have_attribute("data-state", re.compile("dirty|saving|saved"))

    # Start: one input variable.
    start.click()
    page.get_by_test_id("start-add-variable").click()
    page.get_by_test_id("start-variable-name").fill("topic")
    close_panel(page)

    # LLM: the model from the fake provider, a system prompt and the topic inserted as a variable.
    drop(page, "llm", left + 320, mid - 20)
    panel = page.get_by_test_id("node-panel")
    panel.get_by_test_id("model-select").select_option("openai\u0000gpt-4o-mini")
    panel.get_by_test_id("prompt-0").fill("You are a guide.")
    panel.get_by_role("button", name="Add message").click()
    expect(panel.get_by_test_id("prompt-1-insert")).to_be_visible()
    close_panel(page)
    llm = node(page, "llm")
    connect(page, start, llm)
    llm.click()
    panel = page.get_by_test_id("node-panel")
    pick(panel, panel.get_by_test_id("prompt-1-insert"), "Start.topic")
    expect(panel.get_by_test_id("prompt-1")).to_have_value("{{#" + node_id(start) + ".topic#}}")
    close_panel(page)

    # IF/ELSE: the LLM's text contains "rivers".
    drop(page, "if-else", left + 620, mid - 20)
    close_panel(page)
    branch = node(page, "if-else")
    connect(page, llm, branch)
    branch.click()
    panel = page.get_by_test_id("node-panel")
    panel.get_by_test_id("case-0-add-condition").click()
    pick(panel, panel.get_by_test_id("condition-variable"), "LLM.text")
    panel.get_by_test_id("condition-operator").select_option("contains")
    panel.get_by_test_id("condition-value").fill("rivers")
    close_panel(page)

    # Two Ends, one per branch, each returning the LLM's text under its own name.
    for i, (name, y) in enumerate((("result", mid - 160), ("other", mid + 140))):
        drop(page, "end", left + 920, y)
        panel = page.get_by_test_id("node-panel")
        close_panel(page)
        end = node(page, "end", i)
        connect(page, branch, end, handle="true" if i == 0 else "false")
        end.click()
        panel = page.get_by_test_id("node-panel")
        panel.get_by_test_id("end-outputs-add").click()
        pick(panel, panel.get_by_test_id("var-picker"), "LLM.text")
        panel.get_by_role("textbox", name="Name").fill(name)
        close_panel(page)

    expect(page.locator(".react-flow__node")).to_have_count(5)
    expect(page.locator(".react-flow__edge")).to_have_count(4)
    expect(page.get_by_test_id("issue-count")).to_have_count(0)
    expect(page.get_by_test_id("save-state")).to_have_attribute("data-state", "saved", timeout=15_000)
    shot(page, "01-built")

    stored = console.get(f"/apps/{app['id']}/workflows/draft").json()["graph"]
    kinds = sorted(n["data"]["type"] for n in stored["nodes"])
    assert kinds == ["end", "end", "if-else", "llm", "start"]
    handles = sorted(e["sourceHandle"] for e in stored["edges"])
    assert handles == ["false", "source", "source", "true"]

    # Run the draft: node states on the canvas, outputs in the run panel and in the node's last run.
    page.get_by_test_id("open-run").click()
    page.locator("#input-topic").fill("rivers")
    page.get_by_test_id("run-start").click()
    expect(page.get_by_test_id("run-status")).to_have_attribute("data-status", "succeeded", timeout=15_000)
    expect(page.get_by_test_id("run-outputs")).to_contain_text('"result": "Echo: rivers"')
    expect(node(page, "llm").get_by_test_id("node-status")).to_have_attribute("data-status", "succeeded")
    expect(node(page, "end", 0).get_by_test_id("node-status")).to_have_attribute("data-status", "succeeded")
    expect(node(page, "end", 1).get_by_test_id("node-status")).to_have_count(0)
    node(page, "llm").click()
    page.get_by_test_id("tab-last-run").click()
    expect(page.get_by_test_id("node-panel").get_by_test_id("node-outputs")).to_contain_text("Echo: rivers")
    shot(page, "02-run")

    # Run the IF/ELSE alone with a given input: it takes the ELSE branch.
    branch.click()
    page.get_by_test_id("tab-single-run").click()
    page.get_by_test_id("single-run").locator("input").fill("Echo: lakes")
    page.get_by_test_id("single-run-start").click()
    expect(page.get_by_test_id("single-run").get_by_test_id("node-outputs")).to_contain_text(
        '"selected_case_id": "false"'
    )

    # The run history opens a past run on the canvas.
    page.get_by_test_id("tab-history").click()
    expect(page.get_by_test_id("history-item")).to_have_count(1)
    page.get_by_test_id("history-item").click()
    expect(node(page, "end", 0).get_by_test_id("node-status")).to_have_attribute("data-status", "succeeded")

    # Publish with a name and a comment, then call the published workflow with an API key.
    page.get_by_test_id("publish").click()
    page.fill("#publish-name", "v1")
    page.fill("#publish-comment", "first release")
    page.get_by_test_id("publish-submit").click()
    expect(page.get_by_test_id("notice")).to_have_text("Published.")
    page.get_by_test_id("open-versions").click()
    expect(page.get_by_test_id("version-item").filter(has_text="first release")).to_have_count(1)
    shot(page, "03-published")
    key = console.post(f"/apps/{app['id']}/api-keys").json()["token"]
    called = httpx.post(
        f"{server}/v1/workflows/run",
        headers={"Authorization": f"Bearer {key}"},
        json={"inputs": {"topic": "lakes"}, "response_mode": "blocking", "user": "u1"},
        timeout=15,
    )
    assert called.status_code == 200, called.text
    assert called.json()["data"]["outputs"] == {"other": "Echo: lakes"}

    # Undo takes back the last edit; another tab's save makes this one's next save a conflict.
    close_panel(page)
    page.get_by_test_id("open-versions").click()
    expect(page.get_by_test_id("side-versions")).to_have_count(0)
    count = page.locator(".react-flow__node").count()
    drop(page, "code", left + 620, mid + 250)
    expect(page.locator(".react-flow__node")).to_have_count(count + 1)
    page.get_by_test_id("undo").click()
    expect(page.locator(".react-flow__node")).to_have_count(count)
    expect(page.get_by_test_id("save-state")).to_have_attribute("data-state", "saved", timeout=15_000)
    draft = console.get(f"/apps/{app['id']}/workflows/draft").json()
    assert len(draft["graph"]["nodes"]) == count
    next(n for n in draft["graph"]["nodes"] if n["data"]["type"] == "llm")["data"]["title"] = "Edited elsewhere"
    other = console.post(
        f"/apps/{app['id']}/workflows/draft",
        json={
            "graph": draft["graph"],
            "features": draft["features"],
            "hash": draft["hash"],
            "environment_variables": [],
        },
    )
    assert other.status_code == 200, other.text
    node(page, "llm").click()
    page.get_by_test_id("node-title").fill("Writer")
    expect(page.get_by_test_id("conflict")).to_be_visible(timeout=15_000)
    shot(page, "04-conflict")
    page.get_by_test_id("conflict-reload").click()
    expect(page.get_by_test_id("conflict")).to_have_count(0)
    expect(node(page, "llm")).to_contain_text("Edited elsewhere")
    page.close()


def node_id(locator: Locator) -> str:
    value = locator.get_attribute("data-id")
    assert value
    return value


IMGRENDER = "https://api.imgrender.net"


def test_imported_dsl_renders_every_node_and_runs(
    server: str,
    console: httpx.Client,
    context: BrowserContext,
    fake: OpenAIFake,
    anthropic_fake: tuple[str, list[dict[str, Any]]],
    imgrender: tuple[str, list[dict[str, Any]]],
    tmp_path: Path,
) -> None:
    """The largest corpus DSL (OpenAI, Moonshot and Anthropic LLMs, templates, HTTP and code nodes) imports and runs.

    Its models are configured against local fakes, as a Dify user configures their providers; its HTTP
    nodes post to ImgRender, which is replaced by a loopback stand-in (the only change to the file).
    """
    largest = max(CORPUS.rglob("*.yml"), key=lambda p: p.stat().st_size)
    text = largest.read_text(encoding="utf-8")
    assert IMGRENDER in text, "the largest corpus file changed: revisit this test"
    imported = tmp_path / largest.name
    imported.write_text(text.replace(IMGRENDER, imgrender[0]), encoding="utf-8")
    dsl: dict[str, Any] = yaml.safe_load(text)
    graph = dsl["workflow"]["graph"]
    expected = len(graph["nodes"])
    providers = {n["data"]["model"]["provider"] for n in graph["nodes"] if "model" in n["data"]}
    assert providers == {"openai", "moonshot", "anthropic"}
    assert not [n for n in graph["nodes"] if n["data"]["type"] in ("tool", "agent")]
    anthropic_url, anthropic_log = anthropic_fake
    for provider, credentials in (
        ("moonshot", {"api_key": fake.api_key, "endpoint_url": fake.base_url}),
        ("anthropic", {"anthropic_api_key": anthropic.GOOD_KEY, "anthropic_api_url": anthropic_url}),
    ):
        saved = console.post(f"/workspaces/current/model-providers/{provider}", json={"credentials": credentials})
        assert saved.json() == {"result": "success"}, saved.text

    page = context.new_page()
    page.goto(f"{server}/apps")
    page.get_by_test_id("import-dsl").click()
    page.get_by_test_id("import-file").set_input_files(str(imported))
    page.get_by_test_id("import-submit").click()
    open_button = page.get_by_role("button", name="Open app")
    canvas = page.get_by_test_id("canvas-page")
    expect(open_button.or_(canvas)).to_be_visible(timeout=15_000)
    if open_button.is_visible():
        open_button.click()
    expect(page).to_have_url(re.compile(r"/apps/[0-9a-f-]{36}/workflow$"))
    expect(page.locator(".react-flow__node")).to_have_count(expected, timeout=15_000)
    expect(page.locator(".react-flow__edge")).to_have_count(len(graph["edges"]))
    shot(page, "05-imported")
    app_id = page.url.split("/apps/")[1].split("/")[0]

    page.get_by_test_id("open-run").click()
    for field in page.get_by_test_id("inputs-form").locator("textarea, input").all():
        field.fill("a short note on rivers")
    calls_before = len(fake.calls)
    page.get_by_test_id("run-start").click()
    expect(page.get_by_test_id("trace-item").first).to_be_visible(timeout=15_000)
    expect(page.get_by_test_id("run-status")).not_to_have_attribute("data-status", "running", timeout=60_000)
    shot(page, "06-imported-run")
    run = console.get(f"/apps/{app_id}/workflow-runs", params={"limit": 1}).json()["data"][0]
    executions = console.get(f"/apps/{app_id}/workflow-runs/{run['id']}/node-executions").json()["data"]
    failed = [(e["title"], e["node_type"], e["error"]) for e in executions if e["status"] != "succeeded"]
    assert run["status"] == "succeeded", (run, failed)
    expect(page.get_by_test_id("run-status")).to_have_attribute("data-status", "succeeded")
    # Every node ran, and the canvas shows each one succeeded.
    assert {e["node_id"] for e in executions} == {n["id"] for n in graph["nodes"]}
    expect(page.locator('[data-testid="node-status"][data-status="succeeded"]')).to_have_count(expected)
    # Each vendor was called on its own wire format, and the HTTP nodes reached the stand-in with their key.
    models = [c.body.get("model") for c in fake.calls[calls_before:]]
    assert {"gpt-4o", "moonshot-v1-8k", "moonshot-v1-32k"} <= set(models), models
    assert any(b["model"] == "claude-3-5-sonnet-20240620" for b in anthropic_log)
    assert len(imgrender[1]) == 4
    assert {c["key"] for c in imgrender[1]} == {"282608591251313024.AiqxcmC7VkwpDCipBRSE0YOtXWFIoCqq"}
    page.close()


def test_chatflow_preview_features_insert_on_edge_and_past_runs(
    server: str, console: httpx.Client, context: BrowserContext, fake: OpenAIFake
) -> None:
    """A chatflow (start → LLM → answer): its features, the preview chat streaming with node states,
    inserting nodes on an edge (the "+" button and a drop onto the edge), and a past run shown over
    the graph it ran with."""
    app = console.post("/apps", json={"name": "Canvas chat", "mode": "advanced-chat"}).json()
    draft = console.get(f"/apps/{app['id']}/workflows/draft").json()
    model = {"provider": "openai", "name": "gpt-4o-mini", "mode": "chat", "completion_params": {}}
    nodes = [
        {
            "id": "start",
            "type": "custom",
            "position": {"x": 40, "y": 200},
            "data": {"type": "start", "title": "Start", "variables": []},
        },
        {
            "id": "llm",
            "type": "custom",
            "position": {"x": 420, "y": 200},
            "data": {
                "type": "llm",
                "title": "LLM",
                "model": model,
                "prompt_template": [
                    {"role": "system", "text": "You are a guide."},
                    {"role": "user", "text": "{{#sys.query#}}"},
                ],
                "context": {"enabled": False, "variable_selector": []},
                "vision": {"enabled": False},
            },
        },
        {
            "id": "answer",
            "type": "custom",
            "position": {"x": 900, "y": 200},
            "data": {"type": "answer", "title": "Answer", "answer": "{{#llm.text#}}", "variables": []},
        },
    ]
    edges = [
        {"id": "e1", "source": "start", "sourceHandle": "source", "target": "llm", "targetHandle": "target"},
        {"id": "e2", "source": "llm", "sourceHandle": "source", "target": "answer", "targetHandle": "target"},
    ]
    saved = console.post(
        f"/apps/{app['id']}/workflows/draft",
        json={"graph": {"nodes": nodes, "edges": edges}, "features": draft["features"], "hash": draft["hash"]},
    )
    assert saved.status_code == 200, saved.text

    page = context.new_page()
    page.goto(f"{server}/apps/{app['id']}/workflow")
    expect(page.get_by_test_id("canvas-page")).to_have_attribute("data-mode", "advanced-chat")
    expect(page.locator(".react-flow__node")).to_have_count(3)

    # Features: an opener, a suggested question and citations, saved in the draft's `features`.
    page.get_by_test_id("open-features").click()
    page.get_by_test_id("feature-opening").fill("Ask me about rivers.")
    page.get_by_test_id("feature-add-question").click()
    page.get_by_test_id("feature-question").fill("Which river is longest?")
    page.get_by_test_id("feature-citations").check()
    expect(page.get_by_test_id("save-state")).to_have_attribute("data-state", "saved", timeout=15_000)
    stored = console.get(f"/apps/{app['id']}/workflows/draft").json()["features"]
    assert stored["opening_statement"] == "Ask me about rivers."
    assert stored["suggested_questions"] == ["Which river is longest?"]
    assert stored["retriever_resource"] == {"enabled": True}

    # The preview chat: the opener and question show, the answer streams while the LLM node runs.
    page.get_by_test_id("open-run").click()
    preview = page.get_by_test_id("chat-preview")
    expect(preview.get_by_test_id("opening-statement")).to_contain_text("Ask me about rivers.")
    expect(preview.get_by_test_id("suggested")).to_contain_text("Which river is longest?")
    fake.chunk_delay = 0.25
    try:
        preview.get_by_test_id("chat-input").fill("tell me about long rivers")
        preview.get_by_test_id("chat-send").click()
        streaming = preview.get_by_test_id("answer-streaming")
        expect(streaming).to_contain_text("Echo", timeout=10_000)
        partial = streaming.inner_text()
        expect(node(page, "llm").get_by_test_id("node-status")).to_have_attribute("data-status", "running")
        shot(page, "08-chat-streaming")
        expect(preview.get_by_test_id("answer")).to_contain_text("Echo: tell me about long rivers", timeout=15_000)
    finally:
        fake.chunk_delay = 0.0
    assert len(partial) < len("Echo: tell me about long rivers"), partial
    expect(node(page, "llm").get_by_test_id("node-status")).to_have_attribute("data-status", "succeeded")
    expect(node(page, "answer").get_by_test_id("node-status")).to_have_attribute("data-status", "succeeded")
    shot(page, "09-chat-answered")

    # Insert a node on the LLM → Answer edge with its "+" button.
    page.get_by_test_id("open-run").click()
    expect(page.get_by_test_id("side-run")).to_have_count(0)
    page.locator('[data-testid="rf__edge-e2"]').click()
    page.get_by_test_id("edge-insert").click()
    page.get_by_test_id("edge-insert-template-transform").click()
    expect(page.get_by_test_id("node-panel")).to_have_attribute("data-kind", "template-transform")
    close_panel(page)
    expect(page.locator(".react-flow__node")).to_have_count(4)
    expect(page.locator(".react-flow__edge")).to_have_count(3)

    # Drop a palette node onto the Start → LLM edge: it lands between them.
    first = page.locator('[data-testid="rf__edge-e1"]')
    x, y = center(first)
    flow = page.locator(".wf-flow").bounding_box()
    assert flow
    page.get_by_test_id("palette-variable-aggregator").drag_to(
        page.locator(".react-flow__pane"), target_position={"x": x - flow["x"], "y": y - flow["y"]}
    )
    expect(page.get_by_test_id("node-panel")).to_have_attribute("data-kind", "variable-aggregator")
    close_panel(page)
    expect(page.locator(".react-flow__node")).to_have_count(5)
    expect(page.get_by_test_id("save-state")).to_have_attribute("data-state", "saved", timeout=15_000)
    shot(page, "10-inserted-on-edges")
    stored_graph = console.get(f"/apps/{app['id']}/workflows/draft").json()["graph"]
    kind_of = {n["id"]: n["data"]["type"] for n in stored_graph["nodes"]}
    chain = sorted(f"{kind_of[e['source']]}->{kind_of[e['target']]}" for e in stored_graph["edges"])
    assert chain == sorted(
        [
            "start->variable-aggregator",
            "variable-aggregator->llm",
            "llm->template-transform",
            "template-transform->answer",
        ]
    ), chain

    # The earlier run opens over the three-node graph it ran with; back to the five-node draft.
    page.get_by_test_id("open-run").click()
    page.get_by_test_id("tab-history").click()
    page.get_by_test_id("history-item").first.click()
    expect(page.get_by_test_id("past-run-banner")).to_be_visible()
    expect(page.locator(".react-flow__node")).to_have_count(3)
    expect(node(page, "answer").get_by_test_id("node-status")).to_have_attribute("data-status", "succeeded")
    shot(page, "11-past-run-graph")
    page.get_by_test_id("past-run-close").click()
    expect(page.get_by_test_id("past-run-banner")).to_have_count(0)
    expect(page.locator(".react-flow__node")).to_have_count(5)
    page.close()


FRAME_PROBE = """() => {
  window.__frames = [];
  let last = performance.now();
  window.__probe = true;
  const tick = (now) => {
    window.__frames.push(now - last);
    last = now;
    if (window.__probe) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""


def test_two_hundred_nodes_pan_and_zoom_smoothly(server: str, console: httpx.Client, context: BrowserContext) -> None:
    app = console.post("/apps", json={"name": "Big graph", "mode": "workflow"}).json()
    nodes: list[dict[str, Any]] = [
        {
            "id": "start",
            "type": "custom",
            "data": {"type": "start", "title": "Start", "variables": []},
            "position": {"x": 0, "y": 0},
        }
    ]
    edges: list[dict[str, Any]] = []
    for i in range(1, 199):
        nodes.append(
            {
                "id": f"t{i}",
                "type": "custom",
                "data": {"type": "template-transform", "title": f"Step {i}", "template": f"{i}", "variables": []},
                "position": {"x": (i % 20) * 300, "y": (i // 20) * 160},
            }
        )
        edges.append({"source": nodes[-2]["id"], "target": f"t{i}", "sourceHandle": "source", "targetHandle": "target"})
    nodes.append(
        {
            "id": "end",
            "type": "custom",
            "data": {"type": "end", "title": "End", "outputs": []},
            "position": {"x": 6000, "y": 1800},
        }
    )
    edges.append({"source": "t198", "target": "end", "sourceHandle": "source", "targetHandle": "target"})
    draft = console.get(f"/apps/{app['id']}/workflows/draft").json()
    saved = console.post(
        f"/apps/{app['id']}/workflows/draft",
        json={"graph": {"nodes": nodes, "edges": edges}, "features": draft["features"], "hash": draft["hash"]},
    )
    assert saved.status_code == 200, saved.text

    page = context.new_page()
    page.goto(f"{server}/apps/{app['id']}/workflow")
    expect(page.locator(".react-flow__node")).to_have_count(200, timeout=15_000)
    page.get_by_role("button", name="Zoom In").click()
    page.get_by_role("button", name="Zoom In").click()
    pane = page.locator(".react-flow__pane")
    x, y = center(pane)
    page.wait_for_timeout(300)
    page.evaluate(FRAME_PROBE)
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(60):
        page.mouse.move(x - step * 8, y - step * 3)
    page.mouse.up()
    for _ in range(10):
        page.mouse.wheel(0, -120)
        page.wait_for_timeout(30)
    for _ in range(10):
        page.mouse.wheel(0, 120)
        page.wait_for_timeout(30)
    frames: list[float] = page.evaluate("() => { window.__probe = false; return window.__frames.slice(1); }")
    shot(page, "07-200-nodes")
    frames.sort()
    p50 = frames[len(frames) // 2]
    p95 = frames[int(len(frames) * 0.95)]
    # Reported on the terminal with `-s` (the issue asks for the figures).
    sys.stdout.write(f"\n200-node canvas: {len(frames)} frames during pan+zoom, p50 {p50:.1f} ms, p95 {p95:.1f} ms\n")
    assert len(frames) > 30
    # Headless Chromium without a GPU on a shared 2-core machine: 'smooth' is a p50 within ~30 fps.
    assert p50 < 34, frames
    page.close()
