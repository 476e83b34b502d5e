"""Knowledge metadata in a real browser: define fields on a knowledge base, set them on a document.

A real `loomworks serve` (fresh SQLite data directory) and Debian's Chromium. The admin is created
through `/console/api/setup` and signs in on the sign-in page; the knowledge base is an economy one
(keyword index only), so no model is needed. In the settings tab the admin adds a text, a number and
a time field, renames one, deletes one, turns the built-in fields on; on the document's page they
set values with inputs of each type and save; after a reload the values are still there, the server
holds them typed, and the page reads the same in 中文.

Screenshots: `web/test-results/screenshots/metadata-*`.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.web._browser import auth_headers, build_console, chromium, serve, shot

pytestmark = pytest.mark.integration

EMAIL = "owner@example.com"
PASSWORD = "Passw0rd!2024"


@pytest.fixture(scope="module")
def web_dist() -> Path:
    return build_console()


def _sign_in(page: Page, server: str) -> None:
    created = httpx.post(
        f"{server}/console/api/setup", json={"email": EMAIL, "name": "Ada", "password": PASSWORD}, timeout=10
    )
    assert created.status_code == 201, created.text
    page.goto(f"{server}/signin")
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/apps$"))


def _fields(page: Page) -> list[str]:
    return page.get_by_test_id("metadata-field-name").all_inner_texts()


def _add_field(page: Page, name: str, kind: str) -> None:
    count = len(_fields(page))
    page.get_by_test_id("metadata-new-name").fill(name)
    page.get_by_test_id("metadata-new-type").select_option(kind)
    page.get_by_test_id("metadata-add").click()
    expect(page.get_by_test_id("metadata-field-name")).to_have_count(count + 1)


def test_define_fields_and_set_them_on_a_document(web_dist: Path, tmp_path: Path) -> None:
    notes = tmp_path / "engine-notes.txt"
    notes.write_text("The Analytical Engine weaves algebraic patterns.\n\nNote G describes Bernoulli numbers.\n")
    # A busy machine (several test runs at once) can take well over 30 s to start a server.
    with serve(web_dist, tmp_path / "data", ready_within=120) as server, chromium(tmp_path / "profile") as context:
        page = context.new_page()
        _sign_in(page, server)
        api = httpx.Client(base_url=f"{server}/console/api", headers=auth_headers(page), timeout=10)
        with api:
            created = api.post("/datasets", json={"name": "Engine notes", "indexing_technique": "economy"})
            assert created.status_code == 201, created.text
            dataset_id = created.json()["id"]

            # The document comes in through the page's own upload box.
            page.goto(f"{server}/datasets/{dataset_id}")
            page.get_by_test_id("upload-input").set_input_files(str(notes))
            expect(page.get_by_test_id("documents-table")).to_contain_text("engine-notes.txt")

            _define_fields(page)
            _set_values(page)

            # After a reload the values are still shown, and the server holds them typed.
            page.reload()
            _expect_values(page)
            shot(page, "metadata-02-document")
            document_id = page.url.rsplit("/", 1)[1]
            stored = api.get(f"/datasets/{dataset_id}/documents/{document_id}", params={"metadata": "only"}).json()
        values = {item["name"]: item["value"] for item in stored["doc_metadata"]}
        assert values["writer"] == "Ada Lovelace"
        assert values["year"] == 1843
        assert values["published"] == int(dt.datetime(1843, 7, 1, 9, 30).astimezone().timestamp())
        assert values["document_name"] == "engine-notes.txt"  # a built-in field, now switched on

        page.get_by_test_id("language-switch").select_option("zh-Hans")
        panel = page.get_by_test_id("document-metadata")
        expect(panel.get_by_role("heading", name="元数据")).to_be_visible()
        expect(panel.get_by_test_id("document-metadata-edit")).to_have_text("编辑元数据")
        expect(panel.get_by_test_id("document-metadata-built-in")).to_contain_text("文档名")
        shot(page, "metadata-03-document-zh")


def _define_fields(page: Page) -> None:
    page.get_by_test_id("ds-tab-settings").click()
    panel = page.get_by_test_id("metadata")
    expect(panel).to_contain_text("No metadata fields are defined for this knowledge base.")
    _add_field(page, "author", "string")
    _add_field(page, "year", "number")
    _add_field(page, "published", "time")
    _add_field(page, "draft", "string")
    assert _fields(page) == ["author", "year", "published", "draft"]

    # A refused name is shown under the name box.
    page.get_by_test_id("metadata-new-name").fill("year")
    page.get_by_test_id("metadata-add").click()
    expect(page.locator("#metadata-new-name-error")).to_have_text("Metadata name already exists.")

    author = panel.locator('[data-testid="metadata-field"][data-name="author"]')
    author.get_by_test_id("metadata-rename").click()
    author.get_by_test_id("metadata-rename-input").fill("writer")
    author.get_by_test_id("metadata-rename-save").click()
    expect(page.get_by_test_id("metadata-field-name").first).to_have_text("writer")
    draft = panel.locator('[data-testid="metadata-field"][data-name="draft"]')
    draft.get_by_test_id("metadata-delete").click()
    draft.get_by_test_id("metadata-delete-yes").click()
    expect(page.get_by_test_id("metadata-field-name")).to_have_text(["writer", "year", "published"])

    switch = page.get_by_test_id("metadata-built-in")
    with page.expect_response(lambda r: r.url.endswith("/metadata/built-in/enable")) as enabled:
        switch.check()
    assert enabled.value.json() == {"result": "success"}
    expect(page.get_by_test_id("metadata-built-in-fields")).to_contain_text("Upload date")
    page.wait_for_load_state("networkidle")  # the list reloaded after the change: still on
    expect(switch).to_be_checked()
    shot(page, "metadata-01-settings")


def _set_values(page: Page) -> None:
    page.get_by_test_id("ds-tab-documents").click()
    page.get_by_test_id("documents-table").get_by_role("link", name="engine-notes.txt").click()
    expect(page).to_have_url(re.compile(r"/documents/[0-9a-f-]{36}$"))
    page.get_by_test_id("document-metadata-edit").click()
    form = page.get_by_test_id("document-metadata-form")

    def field(name: str) -> Locator:
        return form.locator(f'[data-testid="document-metadata-input"][data-name="{name}"]')

    expect(field("year")).to_have_attribute("type", "number")
    expect(field("published")).to_have_attribute("type", "datetime-local")
    field("writer").fill("Ada Lovelace")
    field("year").fill("1843")
    field("published").fill("1843-07-01T09:30")
    page.get_by_test_id("document-metadata-save").click()
    expect(page.get_by_test_id("document-metadata")).to_contain_text("Metadata saved.")
    _expect_values(page)


def _expect_values(page: Page) -> None:
    rows = page.get_by_test_id("document-metadata-values")
    expect(rows.locator('tr[data-name="writer"]')).to_contain_text("Ada Lovelace")
    expect(rows.locator('tr[data-name="year"]')).to_contain_text("1843")
    expect(rows.locator('tr[data-name="published"]')).to_contain_text("1843")
    expect(page.get_by_test_id("document-metadata-built-in")).to_contain_text("engine-notes.txt")
