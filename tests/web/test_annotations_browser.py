"""Annotations in a real browser, against a real `loomworks serve`: CSV import and export on the
annotations page, annotation reply switched on there, and an annotated reply used as the answer
in the end-user web app's chat.

A chat app is built in the editor (the OpenAI provider points at the fake server, whose
`text-embedding-3-small` is the workspace's default embedding model: annotation reply matches
questions with it). The admin imports a CSV of question/answer pairs (a file without pairs is
refused on the page), edits one pair, exports them all as CSV and turns annotation reply on. A
visitor asking an annotated question gets the annotation, with no call to the chat model; another
question is answered by the model; the annotation's hit count shows the reply.

Screenshots: `web/test-results/screenshots/annotations-*`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.fakes.openai import FakeCall, OpenAIFake, openai_fake
from tests.web._browser import (
    auth_headers,
    build_console,
    chromium,
    downloaded,
    install_and_sign_in,
    serve,
    shot,
    use_openai,
)

pytestmark = pytest.mark.integration

EMAIL = "curator@example.com"
PASSWORD = "Passw0rd!2024"
PROMPT = "You answer visitors' questions."
PAIRS = [
    ("What are your opening hours?", "We are open 9:00–17:00, Monday to Friday."),
    ("河流流向哪里？", "河流流向大海。"),
]


@pytest.fixture(scope="module")
def fake() -> Iterator[OpenAIFake]:
    with openai_fake() as server:
        yield server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(build_console(), tmp_path_factory.mktemp("annotations-serve") / "data", ready_within=120) as base:
        yield base


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    with chromium(tmp_path_factory.mktemp("annotations-profile")) as browser:
        yield browser


def test_annotations_csv_round_trip_and_annotation_reply_in_the_web_app(
    server: str, context: BrowserContext, fake: OpenAIFake, tmp_path: Path
) -> None:
    page = context.new_page()
    install_and_sign_in(page, server, EMAIL, PASSWORD)
    use_openai(page, server, fake.api_key, fake.base_url, default_embedding=True)
    app_id = _chat_app(page)

    page.get_by_role("link", name="Annotations", exact=True).click()
    annotations = page.get_by_test_id("annotations")
    rows = page.get_by_test_id("annotation-row")
    expect(annotations).to_contain_text("No annotations yet.")

    # A CSV with no question/answer pair is refused, and the error is shown on the page.
    empty = tmp_path / "empty.csv"
    empty.write_text("question,answer\n", encoding="utf-8")
    page.get_by_test_id("annotation-import-input").set_input_files(str(empty))
    expect(annotations.get_by_test_id("error-box")).to_contain_text("no question/answer rows")

    upload = tmp_path / "faq.csv"
    with upload.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows([("question", "answer"), *PAIRS, ("Do you ship abroad?", "Not yet.")])
    page.get_by_test_id("annotation-import-input").set_input_files(str(upload))
    expect(annotations).to_contain_text("3 annotations imported.")
    expect(annotations.get_by_test_id("error-box")).to_have_count(0)
    expect(rows).to_have_count(3)
    expect(page.get_by_test_id("annotation-table")).to_contain_text("河流流向大海。")

    # Edit one imported pair.
    rows.filter(has_text="Do you ship abroad?").get_by_role("button", name="✎").click()
    page.locator("#annotation-answer").fill("Yes, to the EU.")
    page.get_by_test_id("annotation-save").click()
    expect(rows.filter(has_text="Do you ship abroad?")).to_contain_text("Yes, to the EU.")

    name, exported = downloaded(page, lambda: page.get_by_test_id("annotation-export").click())
    assert name == "Front desk-annotations.csv"
    table = list(csv.reader(io.StringIO(exported)))
    assert table[0] == ["question", "answer"]
    assert sorted(map(tuple, table[1:])) == sorted([*PAIRS, ("Do you ship abroad?", "Yes, to the EU.")])

    # Annotation reply on: it matches questions with the workspace's default embedding model.
    switch = page.get_by_test_id("annotation-reply")
    # (The checkbox is drawn by its label, as a toggle: the user clicks the toggle.)
    page.locator("label.switch", has=switch).click()
    expect(switch).to_be_checked()
    expect(annotations.get_by_test_id("error-box")).to_have_count(0)
    setting = httpx.get(
        f"{server}/console/api/apps/{app_id}/annotation-setting", headers=auth_headers(page), timeout=5
    ).json()
    assert setting["enabled"] is True
    assert setting["embedding_model"] == {
        "embedding_provider_name": "openai",
        "embedding_model_name": "text-embedding-3-small",
    }
    shot(page, "annotations-01-page")

    _visitor_gets_the_annotation(context, page, app_id, fake)
    page.get_by_role("link", name="Annotations", exact=True).click()
    expect(rows.filter(has_text=PAIRS[1][0]).locator("td").nth(2)).to_have_text("1")
    expect(rows.filter(has_text=PAIRS[0][0]).locator("td").nth(2)).to_have_text("0")
    shot(page, "annotations-03-hits")
    page.close()


def _chat_app(page: Page) -> str:
    page.get_by_role("link", name="Studio").click()
    page.get_by_test_id("create-app").click()
    page.fill("#app-name", "Front desk")
    page.get_by_test_id("create-submit").click()
    expect(page).to_have_url(re.compile(r"/apps/[0-9a-f-]{36}$"))
    page.get_by_test_id("prompt-input").fill(PROMPT)
    page.get_by_test_id("model-select").select_option("openai\u0000gpt-4o-mini")
    page.get_by_test_id("publish").click()
    expect(page.get_by_test_id("save-state")).to_contain_text("Published at")
    return page.url.rsplit("/", 1)[1]


def _visitor_gets_the_annotation(context: BrowserContext, page: Page, app_id: str, fake: OpenAIFake) -> None:
    page.locator(f'a[href="/apps/{app_id}/overview"]').click()
    site_url = page.get_by_test_id("site-url").inner_text()
    fake.reset()
    visitor = context.new_page()
    visitor.goto(site_url)
    question, answer = PAIRS[1]
    visitor.get_by_test_id("chat-input").fill(question)
    visitor.get_by_test_id("chat-send").click()
    expect(visitor.get_by_test_id("answer")).to_have_text(answer)
    # The annotation answered: the question was embedded, and the model was not asked to answer it
    # (the only chat call names the new conversation).
    paths = [c.path for c in fake.calls]
    assert any(p.endswith("/embeddings") for p in paths), paths
    assert not _answering_calls(fake)

    # A question no annotation is close to goes to the model.
    visitor.get_by_test_id("chat-input").fill("Tell me a joke")
    visitor.get_by_test_id("chat-send").click()
    expect(visitor.get_by_test_id("answer").nth(1)).to_have_text("Echo: Tell me a joke")
    assert len(_answering_calls(fake)) == 1
    shot(visitor, "annotations-02-webapp-reply")
    visitor.close()


def _answering_calls(fake: OpenAIFake) -> list[FakeCall]:
    """The chat model calls made with the app's prompt, i.e. to answer a question."""
    return [
        c
        for c in fake.calls
        if c.path.endswith("/chat/completions") and any(m.get("content") == PROMPT for m in c.body.get("messages", []))
    ]
