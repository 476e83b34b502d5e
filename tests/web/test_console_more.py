"""The issue's done-when path in a real browser, once in English and once in 中文.

install → sign in → model provider pointed at the fake OpenAI server (chat and embeddings), set as
the default embedding model → a knowledge base from an uploaded PDF (chunk preview, indexing, hit
testing) → a chat app grounded in it (context panel) → a cited answer in the debug preview → publish
→ an end user chats on the shared link and sees the citation → the logs list both conversations with
the retrieved chunks in the trace, an admin like and an annotation → the monitoring charts render.

Each language runs against its own fresh `loomworks serve`. Screenshots: `web/test-results/screenshots/more-*`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.fakes.openai import OpenAIFake, openai_fake
from tests.rag._documents import make_pdf
from tests.web._browser import auth_headers, build_console, chromium, serve, shot

pytestmark = pytest.mark.integration

EMAIL = "owner@example.com"
PASSWORD = "Passw0rd!2024"

LABELS = {
    "en-US": {
        "install": "Set up your admin account",
        "setup": "Set up",
        "signin": "Sign in",
        "settings": "Settings",
        "defaults": "Default models",
        "configured": "Configured",
        "save": "Save",
        "saved": "Default models saved.",
        "knowledge": "Knowledge",
        "create": "Create",
        "available": "Available",
        "studio": "Studio",
        "context": "Context",
        "published": "Published at",
        "citations": "Citations:",
        "logs": "Logs",
        "annotations": "Annotations",
        "monitoring": "Monitoring",
        "hit": "Hit testing",
        "conversations": "Conversations",
    },
    "zh-Hans": {
        "install": "设置管理员账户",
        "setup": "设置",
        "signin": "登录",
        "settings": "设置",
        "defaults": "系统默认模型",
        "configured": "已配置",
        "save": "保存",
        "saved": "默认模型已保存。",
        "knowledge": "知识库",
        "create": "创建",
        "available": "可用",
        "studio": "工作室",
        "context": "上下文",
        "published": "已于",
        "citations": "引用：",
        "logs": "日志",
        "annotations": "标注",
        "monitoring": "监测",
        "hit": "召回测试",
        "conversations": "对话数",
    },
}


@pytest.fixture(scope="module")
def web_dist() -> Path:
    return build_console()


@pytest.fixture(scope="module")
def fake() -> Iterator[OpenAIFake]:
    with openai_fake() as server:
        yield server


@pytest.mark.parametrize("language", ["en-US", "zh-Hans"])
def test_install_to_a_shared_chat_app_grounded_in_a_pdf(
    language: str, web_dist: Path, fake: OpenAIFake, tmp_path: Path
) -> None:
    labels = LABELS[language]
    tag = "en" if language == "en-US" else "zh"
    pdf = tmp_path / "rivers.pdf"
    pdf.write_bytes(
        make_pdf([["Rivers flow to the sea.", "The Loire is the longest river in France."], ["Lakes are still water."]])
    )
    fake.reset()
    with serve(web_dist, tmp_path / "data") as server, chromium(tmp_path / "profile") as context:
        page = context.new_page()
        _install_and_sign_in(page, server, language, labels)
        _configure_models(page, fake, labels)
        dataset_name = _knowledge_from_pdf(page, pdf, labels, tag)
        app_id, site_url = _grounded_chat_app(page, dataset_name, labels, tag)
        _end_user_chat(context.new_page(), site_url, labels, tag)
        _logs_and_monitoring(page, server, app_id, labels, tag)


def _install_and_sign_in(page: Page, server: str, language: str, labels: dict[str, str]) -> None:
    page.goto(f"{server}/apps")
    expect(page).to_have_url(re.compile(r"/install$"))
    # The language is chosen first, on the install page itself.
    page.get_by_test_id("language-switch").select_option(language)
    expect(page.get_by_role("heading", name=labels["install"])).to_be_visible()
    page.fill("#email", EMAIL)
    page.fill("#name", "Grace")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name=labels["setup"], exact=True).click()
    expect(page).to_have_url(re.compile(r"/signin$"))
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name=labels["signin"], exact=True).click()
    expect(page).to_have_url(re.compile(r"/apps$"))
    expect(page.get_by_role("link", name=labels["studio"])).to_be_visible()


def _configure_models(page: Page, fake: OpenAIFake, labels: dict[str, str]) -> None:
    page.get_by_role("link", name=labels["settings"], exact=True).click()
    page.get_by_test_id("setup-openai").click()
    page.fill("#cred-openai_api_key", fake.api_key)
    page.fill("#cred-openai_api_base", fake.base_url)
    page.get_by_test_id("provider-save").click()
    expect(page.locator('[data-provider="openai"]')).to_contain_text(labels["configured"])
    # The fake serves /v1/embeddings too: it becomes the workspace's default embedding model.
    page.get_by_role("link", name=labels["defaults"]).click()
    embedding = "openai\u0000text-embedding-3-small"
    # (A CSS selector cannot name the NUL in the option values; wait for the provider's group instead.)
    expect(page.locator('#default-text-embedding optgroup[label="OpenAI"]')).to_be_attached()
    page.locator("#default-text-embedding").select_option(embedding)
    page.locator("#default-llm").select_option("openai\u0000gpt-4o-mini")
    page.get_by_role("button", name=labels["save"], exact=True).click()
    expect(page.get_by_text(labels["saved"])).to_be_visible()


def _knowledge_from_pdf(page: Page, pdf: Path, labels: dict[str, str], tag: str) -> str:
    name = f"Rivers handbook {tag}"
    page.get_by_role("link", name=labels["knowledge"], exact=True).click()
    page.get_by_test_id("create-dataset").click()
    page.fill("#ds-name", name)
    page.get_by_role("button", name=labels["create"], exact=True).click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()

    # Chunk settings with a live preview: custom mode splitting on single newlines, done on the server.
    page.get_by_test_id("chunk-settings-toggle").click()
    page.get_by_test_id("chunk-mode-custom").check()
    page.get_by_test_id("chunk-separator").fill("\\n")
    page.get_by_test_id("preview-input").set_input_files(str(pdf))
    expect(page.get_by_test_id("preview-chunk")).to_have_count(3)
    expect(page.get_by_test_id("preview-chunk").nth(1)).to_contain_text("The Loire is the longest river in France.")
    shot(page, f"more-{tag}-01-chunk-preview")

    # Upload with those settings; indexing finishes (embedding through the fake) and the document is available.
    page.get_by_test_id("upload-input").set_input_files(str(pdf))
    expect(page.get_by_test_id("documents-table")).to_contain_text("rivers.pdf")
    expect(page.get_by_test_id("doc-status")).to_have_text(labels["available"], timeout=30_000)
    shot(page, f"more-{tag}-02-documents")

    page.get_by_test_id("ds-tab-hit").click()
    expect(page.get_by_role("tab", name=labels["hit"])).to_have_attribute("aria-selected", "true")
    # The fake's embeddings are hashes, not meanings: the chunk's own text is the query that must come first.
    page.get_by_test_id("hit-query").fill("The Loire is the longest river in France.")
    page.get_by_test_id("hit-run").click()
    expect(page.get_by_test_id("hit-record").first).to_contain_text("The Loire is the longest river in France.")
    shot(page, f"more-{tag}-03-hit-testing")
    return name


def _grounded_chat_app(page: Page, dataset_name: str, labels: dict[str, str], tag: str) -> tuple[str, str]:
    page.get_by_role("link", name=labels["studio"]).click()
    page.get_by_test_id("create-app").click()
    page.fill("#app-name", f"River guide {tag}")
    page.get_by_test_id("create-submit").click()
    expect(page).to_have_url(re.compile(r"/apps/[0-9a-f-]{36}$"))
    app_id = page.url.rsplit("/", 1)[1]

    page.get_by_test_id("prompt-input").fill("Answer questions about rivers from the context.")
    page.get_by_test_id("model-select").select_option("openai\u0000gpt-4o-mini")
    panel = page.get_by_test_id("context-panel")
    expect(panel.get_by_role("heading", name=labels["context"])).to_be_visible()
    panel.get_by_test_id("context-add").click()
    page.get_by_test_id("context-choices").get_by_text(dataset_name).click()
    page.get_by_test_id("context-save").click()
    expect(panel.get_by_test_id("context-dataset")).to_have_text(re.compile(re.escape(dataset_name)))
    page.get_by_test_id("publish").click()
    expect(page.get_by_test_id("save-state")).to_contain_text(labels["published"])

    preview = page.get_by_test_id("debug-preview")
    preview.get_by_test_id("chat-input").fill("Tell me about the Loire")
    preview.get_by_test_id("chat-send").click()
    expect(preview.get_by_test_id("answer")).to_contain_text("Echo: Tell me about the Loire")
    expect(preview.get_by_test_id("citations")).to_contain_text(labels["citations"])
    preview.get_by_test_id("citation").first.click()
    expect(preview.get_by_test_id("citation-body")).to_contain_text("Loire")
    shot(page, f"more-{tag}-04-editor-citation")

    page.locator(f'a[href="/apps/{app_id}/overview"]').click()
    site_url = page.get_by_test_id("site-url").inner_text()
    assert re.search(r"/chat/[\w-]+$", site_url), site_url
    return app_id, site_url


def _end_user_chat(visitor: Page, site_url: str, labels: dict[str, str], tag: str) -> None:
    # The shared link, opened by someone who is not signed in.
    visitor.goto(site_url)
    visitor.get_by_test_id("chat-input").fill("How long is the Loire?")
    visitor.get_by_test_id("chat-send").click()
    expect(visitor.get_by_test_id("answer")).to_contain_text("Echo: How long is the Loire?")
    expect(visitor.get_by_test_id("citations")).to_contain_text(labels["citations"])
    expect(visitor.get_by_test_id("citation")).to_contain_text("rivers.pdf")
    visitor.get_by_test_id("citation").first.click()
    expect(visitor.get_by_test_id("citation-body")).to_contain_text("Loire")
    shot(visitor, f"more-{tag}-05-webapp-citation")
    visitor.close()


def _logs_and_monitoring(page: Page, server: str, app_id: str, labels: dict[str, str], tag: str) -> None:
    page.get_by_role("link", name=labels["logs"], exact=True).click()
    rows = page.get_by_test_id("log-row")
    # The debug preview's conversation and the end user's.
    expect(rows).to_have_count(2)
    page.get_by_test_id("log-table").get_by_text("How long is the Loire?").click()
    drawer = page.get_by_test_id("log-drawer")
    message = drawer.get_by_test_id("log-message").first
    expect(message).to_contain_text("Echo: How long is the Loire?")
    message.get_by_test_id("trace-retrieved").click()
    # All three chunks were retrieved (top K 4), each with its dataset, document and score.
    expect(message.get_by_test_id("trace-chunk")).to_have_count(3)
    expect(message).to_contain_text("The Loire is the longest river in France.")
    message.get_by_test_id("admin-like").click()
    expect(message.get_by_test_id("admin-like")).to_have_attribute("aria-pressed", "true")
    message.get_by_test_id("annotate").click()
    page.locator("#annotation-answer").fill("The Loire is about 1,000 km long.")
    page.get_by_test_id("annotation-save").click()
    shot(page, f"more-{tag}-06-logs")
    page.keyboard.press("Escape")

    annotations = httpx.get(f"{server}/console/api/apps/{app_id}/annotations", headers=auth_headers(page), timeout=5)
    assert [a["answer"] for a in annotations.json()["data"]] == ["The Loire is about 1,000 km long."]
    page.get_by_role("link", name=labels["annotations"], exact=True).click()
    expect(page.get_by_test_id("annotation-row")).to_have_count(1)

    page.get_by_role("link", name=labels["monitoring"], exact=True).click()
    card = page.get_by_test_id("chart-conversations")
    expect(card).to_contain_text(labels["conversations"])
    # uPlot draws on a canvas; only the end user's conversation counts (debug sessions are left out).
    expect(card.locator("canvas")).to_be_visible()
    expect(card.get_by_test_id("chart-total")).to_contain_text("1")
    expect(page.get_by_test_id("chart-cost").locator("canvas")).to_be_visible()
    shot(page, f"more-{tag}-07-monitoring")
