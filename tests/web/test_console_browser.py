"""The web console in a real browser (Debian's Chromium driven by Playwright) against `loomworks serve`.

One server process and one browser serve the module; the main test walks the path a new user takes:
install → sign in → configure a model provider (pointed at the fake OpenAI server) → create a chat
app → write the prompt and pick the model → publish → chat in the debug preview → create an API key
→ open the end-user web app and chat there → switch the console to Chinese.

Screenshots of the main pages go to `web/test-results/screenshots/` (gitignored) for review.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright

from tests._live_server import free_port
from tests.fakes.openai import OpenAIFake, openai_fake

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "web" / "test-results" / "screenshots"
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
EMAIL = "admin@example.com"
PASSWORD = "Passw0rd!2024"


@pytest.fixture(scope="module")
def web_dist() -> Path:
    """The built console (`scripts/build-web.sh` is a no-op when the sources did not change)."""
    built = subprocess.run(
        ["bash", str(ROOT / "scripts" / "build-web.sh")], capture_output=True, text=True, timeout=300, check=False
    )
    assert built.returncode == 0, built.stdout + built.stderr
    dist = ROOT / "web" / "dist"
    assert (dist / "index.html").is_file()
    return dist


@pytest.fixture(scope="module")
def fake() -> Iterator[OpenAIFake]:
    with openai_fake() as server:
        yield server


@pytest.fixture(scope="module")
def server(web_dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `loomworks serve` process on a free port, with a fresh SQLite data directory."""
    port = free_port()
    data_dir = tmp_path_factory.mktemp("serve") / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOMWORKS_")}
    env["LOOMWORKS_WEB_DIST"] = str(web_dist)
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
def context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-browser.sh")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        browser_context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900},
            locale="en-US",
        )
        browser_context.set_default_timeout(10_000)
        try:
            yield browser_context
        finally:
            browser_context.close()
    shutil.rmtree(profile, ignore_errors=True)


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_serves_console_pages_without_shadowing_the_apis(server: str) -> None:
    with httpx.Client(base_url=server, timeout=5) as http:
        page = http.get("/apps/some-app/overview")
        assert page.status_code == 200
        assert '<div id="root">' in page.text
        asset = re.search(r'src="(/assets/[^"]+\.js)"', page.text)
        assert asset, page.text
        served = http.get(asset.group(1))
        assert served.status_code == 200
        assert "immutable" in served.headers["cache-control"]
        assert http.get("/assets/missing-file.js").status_code == 404
        unknown_api = http.get("/console/api/no-such-route")
        assert unknown_api.status_code == 404
        assert unknown_api.json()["code"] == "not_found"
        assert http.get("/v1/no-such-route").json()["status"] == 404
        assert http.get("/health").json()["status"] == "ok"
        assert http.get("/embed.js").text.startswith("/* Loomworks chat bubble")


def test_install_to_published_chat_app_in_the_browser(
    server: str, context: BrowserContext, fake: OpenAIFake, tmp_path: Path
) -> None:
    page = context.new_page()

    # First run: every console page leads to /install.
    page.goto(f"{server}/apps")
    expect(page).to_have_url(re.compile(r"/install$"))
    expect(page.get_by_role("heading", name="Set up your admin account")).to_be_visible()
    shot(page, "01-install")
    page.fill("#email", EMAIL)
    page.fill("#name", "Ada")
    page.fill("#password", "short")
    page.get_by_role("button", name="Set up").click()
    # The server's rule for passwords comes back as an error on the password field.
    expect(page.locator("#password-error")).to_be_visible()
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Set up").click()

    expect(page).to_have_url(re.compile(r"/signin$"))
    expect(page.locator("#email")).to_have_value(EMAIL)
    page.fill("#password", "wrong-password-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("form-error")).to_contain_text("email_or_password_mismatch · 400")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/apps$"))
    expect(page.get_by_test_id("profile-name")).to_have_text("Ada")

    # A model provider pointed at the fake OpenAI server; a rejected key is shown on its field.
    page.get_by_role("link", name="Settings").click()
    page.get_by_test_id("setup-openai").click()
    fake.play("error_401")
    page.fill("#cred-openai_api_key", "sk-wrong")
    page.fill("#cred-openai_api_base", fake.base_url)
    page.get_by_test_id("provider-save").click()
    expect(page.locator("#cred-openai_api_key-error")).to_be_visible()
    shot(page, "02-provider-error")
    fake.play("chatty")
    page.fill("#cred-openai_api_key", fake.api_key)
    page.get_by_test_id("provider-save").click()
    expect(page.locator('[data-provider="openai"]')).to_contain_text("Configured")
    shot(page, "03-providers")

    # Create a chat app.
    page.get_by_role("link", name="Studio").click()
    expect(page.get_by_text("No apps yet")).to_be_visible()
    page.get_by_test_id("create-app").click()
    page.fill("#app-name", "Browser bot")
    page.get_by_test_id("create-submit").click()
    expect(page).to_have_url(re.compile(r"/apps/[0-9a-f-]{36}$"))
    expect(page.get_by_test_id("app-name")).to_have_text("Browser bot")
    app_id = page.url.rsplit("/", 1)[1]

    # The editor: prompt with a variable, declared from the prompt; model and parameters; opener.
    page.get_by_test_id("prompt-input").fill("You are a helpful guide on {{topic}}.")
    expect(page.locator('[data-variable="topic"]')).to_have_class(re.compile("prompt-var-unknown"))
    page.get_by_role("button", name="Add as variables").click()
    expect(page.locator('[data-variable="topic"]')).to_have_class("prompt-var")
    page.get_by_test_id("model-select").select_option("openai\u0000gpt-4o-mini")
    expect(page.locator('[data-param="temperature"]')).to_be_visible()
    page.get_by_test_id("opening-input").fill("Hello! Ask me anything.")
    page.get_by_test_id("publish").click()
    expect(page.get_by_test_id("save-state")).to_contain_text("Published at")

    # Debug and preview: the answer streams from the fake model.
    preview = page.get_by_test_id("debug-preview")
    expect(preview.get_by_test_id("opening-statement")).to_have_text("Hello! Ask me anything.")
    preview.get_by_test_id("chat-input").fill("hello there")
    preview.get_by_test_id("chat-input").press("Enter")
    expect(preview).to_contain_text("Fill in: topic")
    preview.locator("#input-topic").fill("rivers")
    preview.get_by_test_id("chat-send").click()
    expect(preview.get_by_test_id("answer")).to_have_text("Echo: hello there")
    shot(page, "04-editor")

    stored = httpx.get(f"{server}/console/api/apps/{app_id}", headers=_auth(page), timeout=5).json()
    assert stored["model_config"]["model"]["name"] == "gpt-4o-mini"
    assert stored["model_config"]["user_input_form"][0]["text-input"]["variable"] == "topic"

    # API access: a key shown once, then listed masked.
    page.get_by_test_id("tab-api").click()
    expect(page.get_by_test_id("api-base-url")).to_have_text(f"{server}/v1")
    page.get_by_test_id("create-key").click()
    key = page.get_by_test_id("new-key").inner_text()
    assert key.startswith("app-")
    page.get_by_role("button", name="Done").click()
    expect(page.get_by_test_id("key-table").locator("tbody tr")).to_have_count(1)
    assert key not in page.get_by_test_id("key-table").inner_text()
    shot(page, "05-api-access")
    info = httpx.get(f"{server}/v1/info", headers={"Authorization": f"Bearer {key}"}, timeout=5)
    assert info.json()["name"] == "Browser bot"

    # Overview: the shareable link and the embed snippets.
    page.get_by_role("link", name="Overview").click()
    site_url = page.get_by_test_id("site-url").inner_text()
    assert re.fullmatch(rf"{re.escape(server)}/chat/[\w-]+", site_url), site_url
    expect(page.get_by_test_id("embed-bubble")).to_contain_text("embed.js")
    shot(page, "06-overview")

    # The end-user web app: a fresh visitor chats, the conversation is listed, feedback is kept.
    visitor = context.new_page()
    visitor.goto(site_url)
    expect(visitor.get_by_test_id("opening-statement")).to_have_text("Hello! Ask me anything.")
    visitor.locator("#input-topic").fill("lakes")
    visitor.get_by_test_id("chat-input").fill("hi from the web")
    visitor.get_by_test_id("chat-send").click()
    expect(visitor.get_by_test_id("answer")).to_have_text("Echo: hi from the web")
    expect(visitor.get_by_test_id("conversation-list").locator(".conv-item")).to_have_count(1)
    visitor.get_by_role("button", name="Good answer").click()
    expect(visitor.get_by_role("button", name="Good answer")).to_have_class("on")
    shot(visitor, "07-webapp-chat")
    visitor.close()

    # Knowledge: create a base and upload a file; the document is listed with its indexing status.
    page.get_by_role("link", name="Knowledge").click()
    page.get_by_test_id("create-dataset").click()
    page.fill("#ds-name", "Handbook")
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_role("heading", name="Handbook")).to_be_visible()
    notes = tmp_path / "rivers.txt"
    notes.write_text("Rivers flow to the sea.\n\nLakes are still water.\n", encoding="utf-8")
    page.get_by_test_id("upload-input").set_input_files(str(notes))
    expect(page.get_by_text("Uploaded", exact=True).first).to_be_visible()
    expect(page.get_by_test_id("documents-table")).to_contain_text("rivers.txt")
    expect(page.get_by_test_id("doc-status")).to_have_count(1)
    shot(page, "08-knowledge")

    # 中文: the switch translates the console and is saved to the profile.
    page.get_by_test_id("language-switch").select_option("zh-Hans")
    expect(page.get_by_role("link", name="工作室")).to_be_visible()
    expect(page.get_by_test_id("dropzone")).to_contain_text("拖放文件到这里")
    page.get_by_role("link", name="工作室").click()
    expect(page.get_by_role("heading", name="工作室")).to_be_visible()
    expect(page.get_by_test_id("app-card")).to_contain_text("聊天助手")
    shot(page, "09-apps-zh")
    profile = httpx.get(f"{server}/console/api/account/profile", headers=_auth(page), timeout=5).json()
    assert profile["interface_language"] == "zh-Hans"

    # Sign out: back to the sign-in page, and console pages need signing in again.
    page.get_by_test_id("sign-out").click()
    expect(page).to_have_url(re.compile(r"/signin$"))
    page.goto(f"{server}/apps")
    expect(page).to_have_url(re.compile(r"/signin$"))
    page.close()


def _auth(page: Page) -> dict[str, str]:
    token = page.evaluate("localStorage.getItem('loomworks.access_token')")
    assert token
    return {"Authorization": f"Bearer {token}"}
