"""Regression tests of apps: cases, assertions of every kind, regressions between runs, the CLI."""

from __future__ import annotations

import subprocess
import sys

from tests._console import Console
from tests._scripted_model import ScriptedModels, configured_app


def test_cases_runs_and_regressions(chat_owner: Console, models: ScriptedModels) -> None:
    _, app_id = configured_app(chat_owner)
    url = f"/apps/{app_id}/tests"
    cases = [
        {
            "name": "greets",
            "query": "hello there",
            "assertions": [
                {"type": "contains", "value": "hello"},
                {"type": "regex", "pattern": "^Echo: "},
                {"type": "max_latency", "seconds": 10},
                {"type": "max_cost", "amount": "1"},
                {"type": "max_tokens", "tokens": 1000},
            ],
        },
        {
            "name": "json answer",
            "query": '{"status": "ok", "items": [1, 2]}',
            "assertions": [{"type": "not_contains", "value": "error"}],
        },
        {"name": "judged", "query": "be polite", "assertions": [{"type": "llm_judge", "criteria": "is polite"}]},
    ]
    for case in cases:
        assert chat_owner.post(f"{url}/cases", json=case).status_code == 201
    bad = chat_owner.post(f"{url}/cases", json={"name": "x", "assertions": [{"type": "vibes"}]})
    assert bad.json()["params"] == "assertions"

    models.model.reply = None
    first = chat_owner.post(f"{url}/runs", json={}).json()
    by_name = {r["name"]: r for r in first["results"]}
    assert by_name["greets"]["passed"] is True
    assert by_name["json answer"]["passed"] is True
    # The scripted judge echoes the prompt, which does not start with PASS.
    assert by_name["judged"]["passed"] is False
    assert first["status"] == "failed"
    assert first["regressions"] == []

    models.model.reply = "PASS error"
    second = chat_owner.post(f"{url}/runs", json={}).json()
    by_name = {r["name"]: r for r in second["results"]}
    assert by_name["judged"]["passed"] is True
    assert by_name["greets"]["passed"] is False
    assert set(second["regressions"]) == {"greets", "json answer"}
    assert [r["status"] for r in chat_owner.get(f"{url}/runs").json()["data"]] == ["failed", "failed"]


def test_cli_exit_codes(owner: Console, settings: object) -> None:
    app = owner.create_app("No model", "chat")
    owner.post(
        f"/apps/{app['id']}/tests/cases",
        json={"name": "x", "query": "hi", "assertions": [{"type": "contains", "value": "hi"}]},
    )
    data_dir = settings.data_dir  # type: ignore[attr-defined]
    env_url = settings.database_url  # type: ignore[attr-defined]
    result = subprocess.run(
        [sys.executable, "-m", "loomworks.cli", "test-app", app["id"], "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"LOOMWORKS_DATABASE_URL": env_url, "LOOMWORKS_SECRET_KEY": "k" * 40, "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "provider_not_initialize" in result.stdout
    assert "0 passed, 1 failed" in result.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "loomworks.cli", "test-app", "nope", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"LOOMWORKS_DATABASE_URL": env_url, "PATH": "/usr/bin:/bin"},
    )
    assert missing.returncode == 2
