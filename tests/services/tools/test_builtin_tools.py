"""Built-in tools through the runtime: offline ones, web APIs against local fakes, and bad input."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from loomworks.services.tools import credentials as tool_credentials
from loomworks.services.tools import registry
from loomworks.services.tools.base import (
    ToolCredentialError,
    ToolError,
    ToolNotFoundError,
    ToolParameterError,
    ToolProviderError,
    ToolTimeoutError,
)
from loomworks.services.tools.builtin.maths import ExpressionError, evaluate
from tests.fakes.web_apis import TAVILY_KEY, WebApisFake, web_apis_fake
from tests.services.tools._setup import Setup, make_setup, named


@pytest.fixture
async def setup(database_url: str, tmp_path: Path) -> AsyncIterator[Setup]:
    async for ready in make_setup(database_url, tmp_path, tool_timeout=2.0):
        yield ready


@pytest.fixture
async def offline(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[Setup]:
    """For tools that keep nothing in the database: SQLite only (the credential tests run on both)."""
    target = tmp_path / "tools.db"
    shutil.copy(sqlite_template, target)
    async for ready in make_setup(f"sqlite:///{target}", tmp_path, tool_timeout=2.0):
        yield ready


@pytest.fixture(scope="module")
def web() -> Iterator[WebApisFake]:
    with web_apis_fake() as fake:
        yield fake


def _credentials(setup: Setup, provider: str, values: dict[str, str]) -> None:
    cls = registry.provider(provider)
    assert cls is not None
    with setup.db.session() as session:
        cleaned = tool_credentials.prepare_builtin(
            session,
            keyring=setup.keyring,
            tenant_id=setup.tenant_id,
            provider=provider,
            form=cls.credentials_schema,
            values=values,
        )
        tool_credentials.save_builtin(
            session,
            keyring=setup.keyring,
            tenant_id=setup.tenant_id,
            account_id=None,
            provider=provider,
            form=cls.credentials_schema,
            cleaned=cleaned,
        )


def test_registry_holds_the_dify_providers_by_subclassing() -> None:
    names = {p.name for p in registry.providers()}
    assert {"time", "webscraper", "json_process", "maths", "code", "searxng", "tavily", "wikipedia", "jina"} <= names
    spec = registry.tool("time", "current_time").descriptor().llm_spec()  # type: ignore[union-attr]
    assert spec.parameters["properties"] == {}  # both parameters are form settings, hidden from the model
    assert registry.tool("langgenius/time/time", "current_time") is not None  # Dify 1.x plugin ids


async def test_current_time_and_timezone_conversion(offline: Setup) -> None:
    out = await offline.runtime.invoke(
        offline.tenant_id,
        "builtin",
        "time",
        "current_time",
        {},
        configurations={"format": "%Y-%m-%d", "timezone": "Asia/Shanghai"},
    )
    assert len(out.text) == 10
    assert out.text[:2] == "20"
    converted = await offline.runtime.invoke(
        offline.tenant_id,
        "builtin",
        "time",
        "timezone_conversion",
        {"current_time": "2024-01-01 12:00:00", "current_timezone": "UTC", "target_timezone": "Asia/Tokyo"},
    )
    assert converted.text == "2024-01-01 21:00:00"
    weekday = await offline.runtime.invoke(
        offline.tenant_id, "builtin", "time", "weekday", {"year": "2024", "month": 2, "day": 29}
    )
    assert weekday.text == "February 29, 2024 is Thursday."
    with pytest.raises(ToolParameterError, match="time/current_time.*Mars/Olympus"):
        await offline.runtime.invoke(offline.tenant_id, "builtin", "time", "current_time", {"timezone": "Mars/Olympus"})
    stamp = await offline.runtime.invoke(
        offline.tenant_id,
        "builtin",
        "time",
        "localtime_to_timestamp",
        {"localtime": "2024-01-01 00:00:00", "timezone": "UTC"},
    )
    assert int(stamp.text) == int(datetime(2024, 1, 1, tzinfo=UTC).timestamp())


@pytest.mark.parametrize(
    ("expression", "expected"),
    [("(2 + 3) * 4 ** 2", 80), ("2^10", 1024), ("sqrt(16) + abs(-2)", 6.0), ("10 // 3 + 10 % 3", 4), ("-pi < 0", None)],
)
def test_calculator_evaluates_arithmetic_only(expression: str, expected: float | None) -> None:
    if expected is None:
        with pytest.raises(ExpressionError):
            evaluate(expression)
    else:
        assert evaluate(expression) == expected


@pytest.mark.parametrize(
    "attack", ["__import__('os').system('id')", "().__class__", "9**9**9**9", "factorial(100000)", "open('x')", "1/0"]
)
async def test_calculator_refuses_code_and_huge_numbers(offline: Setup, attack: str) -> None:
    with pytest.raises(ToolParameterError, match="maths/eval_expression"):
        await offline.runtime.invoke(offline.tenant_id, "builtin", "maths", "eval_expression", {"expression": attack})


async def test_json_process_queries_and_edits(offline: Setup) -> None:
    doc = json.dumps({"items": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}], "meta": {"id": 9}})
    run = offline.runtime.invoke
    assert (
        await run(
            offline.tenant_id, "builtin", "json_process", "parse", {"content": doc, "json_filter": "$.items[1].name"}
        )
    ).text == "b"
    assert (
        await run(offline.tenant_id, "builtin", "json_process", "parse", {"content": doc, "json_filter": "$..id"})
    ).text == "[1, 2, 9]"
    replaced = await run(
        offline.tenant_id,
        "builtin",
        "json_process",
        "replace",
        {"content": doc, "query": "$.items[*].name", "replace_value": "z"},
    )
    assert [i["name"] for i in json.loads(replaced.text)["items"]] == ["z", "z"]
    deleted = await run(offline.tenant_id, "builtin", "json_process", "delete", {"content": doc, "query": "$.meta"})
    assert "meta" not in json.loads(deleted.text)
    with pytest.raises(ToolParameterError, match="not valid JSON"):
        await run(offline.tenant_id, "builtin", "json_process", "parse", {"content": "{oops", "json_filter": "$.a"})


async def test_webscraper_extracts_readable_text(offline: Setup, web: WebApisFake) -> None:
    out = await offline.runtime.invoke(
        offline.tenant_id, "builtin", "webscraper", "webscraper", {"url": named(web.base_url) + "/page.html"}
    )
    assert out.text.startswith("TITLE: Loom history")
    assert "Punched cards controlled the pattern." in out.text
    assert "var x" not in out.text
    assert "Home | About" not in out.text
    assert "Copyright" not in out.text


async def test_a_private_address_is_refused_and_never_requested(offline: Setup, web: WebApisFake) -> None:
    before = len(web.hits)
    for url in (web.base_url + "/page.html", web.base_url.replace("127.0.0.1", "2130706433") + "/page.html"):
        with pytest.raises(ToolProviderError, match="webscraper/webscraper.*not allowed"):
            await offline.runtime.invoke(offline.tenant_id, "builtin", "webscraper", "webscraper", {"url": url})
    with pytest.raises(ToolProviderError, match="not allowed"):
        await offline.runtime.invoke(
            offline.tenant_id,
            "builtin",
            "http_request",
            "http_request",
            {"url": "http://169.254.169.254/latest/meta-data/"},
        )
    assert len(web.hits) == before


async def test_timeouts_and_garbage_are_tool_errors(setup: Setup, web: WebApisFake) -> None:
    with pytest.raises(ToolTimeoutError, match="http_request/http_request timed out"):
        await setup.runtime.invoke(
            setup.tenant_id, "builtin", "http_request", "http_request", {"url": named(web.base_url) + "/slow"}
        )
    _credentials(setup, "searxng", {"searxng_base_url": named(web.base_url) + "/garbage#"})
    with pytest.raises(ToolError, match="searxng/searxng_search"):
        await setup.runtime.invoke(setup.tenant_id, "builtin", "searxng", "searxng_search", {"query": "x"})


async def test_http_request_tool(offline: Setup, web: WebApisFake) -> None:
    out = await offline.runtime.invoke(
        offline.tenant_id,
        "builtin",
        "http_request",
        "http_request",
        {"url": named(web.base_url) + "/echo?a=1", "method": "POST", "headers": "X-Trace: t1", "body": "hello"},
    )
    answer = json.loads(out.text)
    assert answer == {"method": "POST", "query": {"a": "1"}, "headers": {"x-trace": "t1"}, "body": "hello"}
    assert out.variables["status_code"] == 200
    with pytest.raises(ToolParameterError, match="method"):
        await offline.runtime.invoke(
            offline.tenant_id, "builtin", "http_request", "http_request", {"url": named(web.base_url), "method": "BREW"}
        )


async def test_searxng_needs_credentials_then_searches(setup: Setup, web: WebApisFake) -> None:
    with pytest.raises(ToolCredentialError, match="searxng_base_url"):
        await setup.runtime.invoke(setup.tenant_id, "builtin", "searxng", "searxng_search", {"query": "loom"})
    _credentials(setup, "searxng", {"searxng_base_url": named(web.base_url) + "/searxng"})
    # The legacy configuration of the corpus DSLs: `search_type: Page`, `result_type: link`.
    out = await setup.runtime.invoke(
        setup.tenant_id,
        "builtin",
        "searxng",
        "searxng_search",
        {"query": "loom"},
        configurations={"search_type": "Page", "num_results": 2, "result_type": "link"},
    )
    assert out.text == f"loom result 1: {web.base_url}/docs/general/1\nloom result 2: {web.base_url}/docs/general/2"
    news = await setup.runtime.invoke(
        setup.tenant_id, "builtin", "searxng", "searxng_search", {"query": "loom", "search_type": "news"}
    )
    assert f"{web.base_url}/docs/news/1" in news.text
    assert len(news.json) == 3


async def test_tavily_sends_the_sealed_key(setup: Setup, web: WebApisFake) -> None:
    _credentials(setup, "tavily", {"tavily_api_key": TAVILY_KEY, "base_url": named(web.base_url) + "/tavily"})
    with setup.db.session() as session:
        masked = tool_credentials.builtin_credentials(
            session, keyring=setup.keyring, tenant_id=setup.tenant_id, provider="tavily", masked=True
        )
        row_text = json.dumps(
            session.execute(__import__("sqlalchemy").text("SELECT sealed FROM tool_builtin_providers")).scalar_one()
        )
    assert masked["tavily_api_key"] != TAVILY_KEY
    assert TAVILY_KEY not in row_text
    out = await setup.runtime.invoke(
        setup.tenant_id,
        "builtin",
        "tavily",
        "tavily_search",
        {"query": "looms"},
        configurations={"include_answer": 1, "max_results": 10, "search_depth": "basic"},
    )
    assert out.text.startswith("Answer: 42")
    assert "On looms" in out.text
    assert web.bodies[-1]["include_answer"] is True
    _credentials(setup, "tavily", {"tavily_api_key": "wrong", "base_url": named(web.base_url) + "/tavily"})
    with pytest.raises(ToolProviderError, match="tavily/tavily_search.*HTTP 401"):
        await setup.runtime.invoke(setup.tenant_id, "builtin", "tavily", "tavily_search", {"query": "looms"})


async def test_wikipedia_and_jina_reader(setup: Setup, web: WebApisFake) -> None:
    _credentials(setup, "wikipedia", {"api_url": named(web.base_url) + "/w/api.php"})
    out = await setup.runtime.invoke(
        setup.tenant_id, "builtin", "wikipedia", "wikipedia_search", {"query": "jacquard", "language": "en"}
    )
    assert out.text == "Page: Jacquard machine\nSummary: The Jacquard machine is a device fitted to a loom."
    _credentials(setup, "jina", {"reader_url": named(web.base_url) + "/reader"})
    read = await setup.runtime.invoke(
        setup.tenant_id,
        "builtin",
        "jina",
        "jina_reader",
        {"url": "https://example.org/a"},
        configurations={"no_cache": 0},
    )
    assert read.text == "# Markdown of https://example.org/a"


async def test_dalle_generates_and_stores_images(setup: Setup, web: WebApisFake) -> None:
    _credentials(setup, "dalle", {"openai_api_key": "sk-images", "openai_base_url": named(web.base_url)})
    out = await setup.runtime.invoke(
        setup.tenant_id,
        "builtin",
        "dalle",
        "dalle3",
        {"prompt": "a loom"},
        configurations={"size": "square", "n": 1, "quality": "standard", "style": "vivid"},
    )
    assert out.text == "A drawing of a loom"
    assert out.files[0]["mime_type"] == "image/png"
    assert out.files[0]["transfer_method"] == "tool_file"
    assert web.bodies[-1]["size"] == "1024x1024"
    assert web.bodies[-1]["response_format"] == "b64_json"


async def test_unknown_tools_and_missing_parameters(offline: Setup) -> None:
    with pytest.raises(ToolNotFoundError, match="time/no_such_tool"):
        await offline.runtime.invoke(offline.tenant_id, "builtin", "time", "no_such_tool", {})
    with pytest.raises(ToolNotFoundError, match="plugin"):
        await offline.runtime.invoke(offline.tenant_id, "plugin", "x", "y", {})
    with pytest.raises(ToolParameterError, match="'target_timezone' is required"):
        await offline.runtime.invoke(
            offline.tenant_id, "builtin", "time", "timezone_conversion", {"current_time": "2024-01-01 00:00:00"}
        )
