"""Shared parts of the browser tests: the built console, a real `loomworks serve`, Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from playwright.sync_api import BrowserContext, Page, sync_playwright

from tests._live_server import free_port

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


def build_console() -> Path:
    """Build `web/dist` (`scripts/build-web.sh` is a no-op when the sources did not change)."""
    built = subprocess.run(
        ["bash", str(ROOT / "scripts" / "build-web.sh")], capture_output=True, text=True, timeout=300, check=False
    )
    assert built.returncode == 0, built.stdout + built.stderr
    dist = ROOT / "web" / "dist"
    assert (dist / "index.html").is_file()
    return dist


@contextmanager
def serve(
    web_dist: Path, data_dir: Path, settings: dict[str, str] | None = None, ready_within: float = 30
) -> Iterator[str]:
    """A real `loomworks serve` process on a free port, with a fresh SQLite data directory.

    `settings` are extra `LOOMWORKS_*` environment variables, e.g. `{"LOOMWORKS_SSRF_ALLOW_HOSTS": "127.0.0.1"}`;
    `ready_within` is how long (seconds) start-up may take on a busy machine.
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOMWORKS_")}
    env["LOOMWORKS_WEB_DIST"] = str(web_dist)
    env.update(settings or {})
    command = [sys.executable, "-m", "loomworks.cli", "serve", "--port", str(port), "--data-dir", str(data_dir)]
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_within
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


@contextmanager
def chromium(profile: Path, locale: str = "en-US") -> Iterator[BrowserContext]:
    """A headless Chromium with its own profile directory."""
    if not Path(CHROMIUM).exists():
        raise AssertionError(f"{CHROMIUM} is missing: run scripts/install-browser.sh")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900},
            locale=locale,
        )
        context.set_default_timeout(10_000)
        try:
            yield context
        finally:
            context.close()
    shutil.rmtree(profile, ignore_errors=True)


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def auth_headers(page: Page) -> dict[str, str]:
    token = page.evaluate("localStorage.getItem('loomworks.access_token')")
    assert token
    return {"Authorization": f"Bearer {token}"}


def install_and_sign_in(page: Page, server: str, email: str, password: str, name: str = "Ada") -> None:
    """Create the first admin through `/console/api/setup` (the install page has its own tests), then sign
    in on the sign-in page and land on the Studio."""
    created = httpx.post(
        f"{server}/console/api/setup", json={"email": email, "name": name, "password": password}, timeout=10
    )
    assert created.status_code == 201, created.text
    page.goto(f"{server}/signin")
    page.fill("#email", email)
    page.fill("#password", password)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(f"{server}/apps")


def downloaded(page: Page, click: Callable[[], None]) -> tuple[str, str]:
    """The file name and text of the download that `click` starts."""
    with page.expect_download() as started:
        click()
    download = started.value
    path = download.path()
    return download.suggested_filename, Path(path).read_text(encoding="utf-8-sig")


def use_openai(page: Page, server: str, api_key: str, base_url: str, *, default_embedding: bool = False) -> None:
    """Point the OpenAI provider at a fake server through the console API (the provider form has its own
    browser tests); with `default_embedding`, its `text-embedding-3-small` becomes the workspace default."""
    base = f"{server}/console/api/workspaces/current"
    with httpx.Client(headers=auth_headers(page), timeout=10) as http:
        saved = http.post(
            f"{base}/model-providers/langgenius/openai/openai",
            json={"credentials": {"openai_api_key": api_key, "openai_api_base": base_url}},
        )
        assert saved.json() == {"result": "success"}, saved.text
        if default_embedding:
            models = [{"model_type": "text-embedding", "provider": "openai", "model": "text-embedding-3-small"}]
            chosen = http.post(f"{base}/default-model", json={"model_settings": models})
            assert chosen.json() == {"result": "success"}, chosen.text
