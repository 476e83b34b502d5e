"""The end-user runners in a real browser, against a real `loomworks serve`: the workflow web app and
the text generator's batch run from CSV.

- Workflow runner (`/workflow/{code}`): a small workflow (start → template → LLM → end) is imported as a
  DSL file in the Studio and published from the canvas; a visitor opens its shared link, is told to
  fill the required field, fills it, runs, sees the nodes progress (the LLM node running while the
  fake model streams slowly) and the outputs.
- Batch run (`/completion/{code}`): a text generator with two variables is built in the editor and
  published; a visitor downloads the CSV template, uploads a CSV of three rows, sees three results
  come in and downloads them as CSV.

The model is the fake OpenAI server. Screenshots: `web/test-results/screenshots/runner-*`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import BrowserContext, Page, expect

from tests.fakes.openai import OpenAIFake, openai_fake
from tests.web._browser import build_console, chromium, downloaded, install_and_sign_in, serve, shot, use_openai

pytestmark = pytest.mark.integration

EMAIL = "runner@example.com"
PASSWORD = "Passw0rd!2024"
MODEL = {"provider": "openai", "name": "gpt-4o-mini", "mode": "chat", "completion_params": {}}


@pytest.fixture(scope="module")
def fake() -> Iterator[OpenAIFake]:
    with openai_fake() as server:
        yield server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(build_console(), tmp_path_factory.mktemp("runner-serve") / "data", ready_within=120) as base:
        yield base


@pytest.fixture(scope="module")
def admin(
    server: str, fake: OpenAIFake, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[BrowserContext, Page]]:
    """The browser, with the admin signed in and the OpenAI provider pointed at the fake."""
    with chromium(tmp_path_factory.mktemp("runner-profile")) as context:
        page = context.new_page()
        install_and_sign_in(page, server, EMAIL, PASSWORD)
        use_openai(page, server, fake.api_key, fake.base_url)
        yield context, page


@pytest.fixture(autouse=True)
def _chatty(fake: OpenAIFake) -> Iterator[None]:
    fake.reset()
    yield
    fake.chunk_delay = 0


def _node(node_id: str, x: int, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": node_id, "type": "custom", "position": {"x": x, "y": 200}, "data": {"title": node_id, **data}}


def _edge(source: str, target: str) -> dict[str, Any]:
    return {"id": f"{source}-{target}", "source": source, "target": target, "sourceHandle": "source"}


def workflow_dsl() -> str:
    """start (a required `topic`) → template `about {{ t }}` → LLM → end with both texts."""
    graph = {
        "nodes": [
            _node(
                "start",
                0,
                {
                    "type": "start",
                    "variables": [{"variable": "topic", "label": "Topic", "type": "text-input", "required": True}],
                },
            ),
            _node(
                "shape",
                300,
                {
                    "type": "template-transform",
                    "template": "about {{ t }}",
                    "variables": [{"variable": "t", "value_selector": ["start", "topic"]}],
                },
            ),
            _node(
                "llm",
                600,
                {
                    "type": "llm",
                    "model": MODEL,
                    "prompt_template": [{"role": "user", "text": "{{#shape.output#}}"}],
                    "context": {"enabled": False, "variable_selector": []},
                    "vision": {"enabled": False},
                },
            ),
            _node(
                "end",
                900,
                {
                    "type": "end",
                    "outputs": [
                        {"variable": "subject", "value_selector": ["shape", "output"]},
                        {"variable": "answer", "value_selector": ["llm", "text"]},
                    ],
                },
            ),
        ],
        "edges": [_edge("start", "shape"), _edge("shape", "llm"), _edge("llm", "end")],
    }
    document = {
        "app": {
            "name": "River notes",
            "mode": "workflow",
            "icon": "🌊",
            "icon_background": "#E0EAFF",
            "description": "Notes on any topic.",
        },
        "kind": "app",
        "version": "0.6.0",
        "workflow": {"graph": graph, "features": {}, "environment_variables": [], "conversation_variables": []},
    }
    return yaml.safe_dump(document, allow_unicode=True)


def _site_url(page: Page, app_id: str, kind: str) -> str:
    page.goto(page.url.split("/apps")[0] + f"/apps/{app_id}/overview")
    site_url = page.get_by_test_id("site-url").inner_text()
    assert re.search(rf"/{kind}/[\w-]+$", site_url), site_url
    return site_url


def test_workflow_web_app_runs_with_progress_and_outputs(
    admin: tuple[BrowserContext, Page], fake: OpenAIFake, tmp_path: Path
) -> None:
    context, page = admin
    dsl = tmp_path / "river-notes.yml"
    dsl.write_text(workflow_dsl(), encoding="utf-8")
    page.get_by_role("link", name="Studio").click()
    page.get_by_test_id("import-dsl").click()
    page.get_by_test_id("import-file").set_input_files(str(dsl))
    page.get_by_test_id("import-submit").click()
    open_button = page.get_by_role("button", name="Open app")
    canvas = page.get_by_test_id("canvas-page")
    expect(open_button.or_(canvas)).to_be_visible(timeout=15_000)
    if open_button.is_visible():
        open_button.click()
    expect(page).to_have_url(re.compile(r"/apps/[0-9a-f-]{36}/workflow$"))
    expect(page.locator(".react-flow__node")).to_have_count(4)
    app_id = page.url.split("/apps/")[1].split("/")[0]
    page.get_by_test_id("publish").click()
    page.fill("#publish-name", "v1")
    page.get_by_test_id("publish-submit").click()
    expect(page.get_by_test_id("notice")).to_have_text("Published.")
    site_url = _site_url(page, app_id, "workflow")

    visitor = context.new_page()
    visitor.goto(site_url)
    app = visitor.get_by_test_id("webapp-workflow")
    expect(app.get_by_role("heading", name="River notes")).to_be_visible()
    expect(app).to_contain_text("Notes on any topic.")
    expect(app).to_contain_text("Fill in the form and run the workflow.")
    # The required field is asked for before anything runs.
    visitor.get_by_test_id("workflow-run").click()
    expect(app).to_contain_text("Fill in: Topic")
    assert not any(c.path.endswith("chat/completions") for c in fake.calls)

    # The fake model streams slowly, so the run is seen in progress: the LLM node is running.
    fake.chunk_delay = 0.4
    visitor.locator("#input-topic").fill("rivers")
    visitor.get_by_test_id("workflow-run").click()
    status = visitor.get_by_test_id("workflow-status")
    nodes = visitor.get_by_test_id("workflow-nodes").locator("li")
    expect(status).to_have_text("Running…")
    expect(nodes.filter(has_text="llm")).to_contain_text("running")
    expect(visitor.get_by_test_id("workflow-run")).to_be_disabled()
    shot(visitor, "runner-01-workflow-running")

    expect(status).to_have_text("Succeeded", timeout=20_000)
    expect(nodes).to_have_count(4)
    for title in ("start", "shape", "llm", "end"):
        expect(nodes.filter(has_text=title).first).to_contain_text("succeeded")
    outputs = visitor.get_by_test_id("workflow-outputs")
    expect(outputs).to_contain_text("subject")
    expect(outputs).to_contain_text("about rivers")
    expect(outputs).to_contain_text("Echo: about rivers")
    shot(visitor, "runner-02-workflow-outputs")
    visitor.close()


def test_text_generator_batch_run_from_csv(
    admin: tuple[BrowserContext, Page], fake: OpenAIFake, tmp_path: Path
) -> None:
    context, page = admin
    page.get_by_role("link", name="Studio").click()
    page.get_by_test_id("create-app").click()
    page.locator('[data-mode="completion"]').click()
    page.fill("#app-name", "Haiku maker")
    page.get_by_test_id("create-submit").click()
    expect(page).to_have_url(re.compile(r"/apps/[0-9a-f-]{36}$"))
    app_id = page.url.rsplit("/", 1)[1]
    page.get_by_test_id("prompt-input").fill("Write a haiku about {{topic}} in a {{mood}} mood.")
    page.get_by_role("button", name="Add as variables").click()
    page.get_by_test_id("model-select").select_option("openai\u0000gpt-4o-mini")
    page.get_by_test_id("publish").click()
    expect(page.get_by_test_id("save-state")).to_contain_text("Published at")
    site_url = _site_url(page, app_id, "completion")

    visitor = context.new_page()
    visitor.goto(site_url)
    visitor.get_by_test_id("tab-batch").click()
    batch = visitor.get_by_test_id("batch-run")
    # A new text generator asks for `query`; the prompt added `topic` and `mood`.
    expect(batch).to_contain_text("query, topic, mood")
    name, template = downloaded(visitor, lambda: batch.get_by_role("button", name="Download template").click())
    assert name == "template.csv"
    assert list(csv.reader(io.StringIO(template))) == [["query", "topic", "mood"]]

    # A file without the header is refused where it was picked.
    bad = tmp_path / "bad.csv"
    bad.write_text("subject\nrain\n", encoding="utf-8")
    visitor.get_by_test_id("batch-input").set_input_files(str(bad))
    expect(batch.get_by_role("alert")).to_contain_text("The CSV must have a header row with: query, topic, mood")

    rows = [["first one", "rain", "calm"], ["第二", "河流", "quiet"], ["third", 'a "quoted", comma', "bright"]]
    upload = tmp_path / "haiku.csv"
    with upload.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows([["query", "topic", "mood"], *rows])
    visitor.get_by_test_id("batch-input").set_input_files(str(upload))
    table = visitor.get_by_test_id("batch-row")
    expect(table).to_have_count(3)
    expect(visitor.get_by_test_id("batch-progress")).to_have_text("3 rows")
    visitor.get_by_test_id("batch-run-all").click()
    expect(visitor.get_by_test_id("batch-progress")).to_have_text("3 of 3 done", timeout=20_000)
    expect(visitor.locator('[data-testid="batch-row"][data-status="done"]')).to_have_count(3)
    # Each row's values filled the prompt (the fake model echoes it; the prompt does not use `query`).
    for i, (query, topic, mood) in enumerate(rows):
        expect(table.nth(i)).to_contain_text(query)
        result = table.nth(i).get_by_test_id("batch-result")
        expect(result).to_have_text(f"Echo: Write a haiku about {topic} in a {mood} mood.")
        # Beside its inputs in the form panel, not clipped off its right edge.
        expect(result).to_be_in_viewport(ratio=0.9)
    assert len([c for c in fake.calls if c.path.endswith("chat/completions")]) == 3
    shot(visitor, "runner-03-batch")

    name, results = downloaded(visitor, lambda: batch.get_by_role("button", name="Download results").click())
    assert name == "results.csv"
    assert list(csv.reader(io.StringIO(results))) == [
        ["query", "topic", "mood", "result"],
        *[[query, topic, mood, f"Echo: Write a haiku about {topic} in a {mood} mood."] for query, topic, mood in rows],
    ]
    visitor.close()
