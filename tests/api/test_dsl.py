"""DSL import/export: Dify's status rules, the real corpus of 99 exports, round trips, secrets."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests._console import Console

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "dsl-corpus"


def _import(owner: Console, content: str, **extra: object) -> dict:
    response = owner.post("/apps/imports", json={"mode": "yaml-content", "yaml_content": content, **extra})
    return {"status_code": response.status_code, **response.json()}


def test_every_corpus_file_imports_and_round_trips(owner: Console) -> None:
    files = sorted(CORPUS.rglob("*.y*ml"))
    assert len(files) == 99, "the shared DSL corpus must be beside the checkout"
    statuses: dict[str, int] = {}
    for path in files:
        result = _import(owner, path.read_text(encoding="utf-8"))
        assert result["status"] in ("completed", "completed-with-warnings"), (path.name, result)
        statuses[result["status"]] = statuses.get(result["status"], 0) + 1
        original = yaml.safe_load(path.read_text(encoding="utf-8"))
        exported = owner.get(f"/apps/{result['app_id']}/export").json()["data"]
        document = yaml.safe_load(exported)
        assert document["app"]["mode"] == original["app"]["mode"]
        if "workflow" in original:
            # The graph (with every unknown field and node type) comes back unchanged.
            assert document["workflow"]["graph"] == original["workflow"]["graph"], path.name
            again = _import(owner, exported)
            assert yaml.safe_load(owner.get(f"/apps/{again['app_id']}/export").json()["data"]) == document
        else:
            assert document["model_config"]["model"] == original["model_config"].get("model"), path.name
    assert statuses.get("completed-with-warnings", 0) > 0


def test_status_rules_and_errors(owner: Console) -> None:
    base = {
        "app": {"name": "X", "mode": "workflow"},
        "kind": "app",
        "workflow": {"graph": {"nodes": [], "edges": []}, "features": {}},
    }
    same = _import(owner, yaml.safe_dump({**base, "version": "0.6.0"}))
    assert (same["status"], same["status_code"]) == ("completed", 200)
    older = _import(owner, yaml.safe_dump({**base, "version": "0.1.5"}))
    assert older["status"] == "completed-with-warnings"
    newer = _import(owner, yaml.safe_dump({**base, "version": "0.7.0"}))
    assert (newer["status"], newer["status_code"], newer["app_id"]) == ("pending", 202, None)
    confirmed = owner.post(f"/apps/imports/{newer['id']}/confirm").json()
    assert confirmed["status"] == "completed"
    assert confirmed["app_id"]
    assert owner.post(f"/apps/imports/{newer['id']}/confirm").status_code == 404
    float_version = _import(owner, "app: {name: X, mode: workflow}\nversion: 0.1\nworkflow: {graph: {nodes: []}}\n")
    assert (float_version["status"], float_version["status_code"]) == ("failed", 400)
    no_mode = _import(owner, "app: {name: X}\nversion: '0.1.0'\n")
    assert no_mode["error"] == "loss app mode"
    assert _import(owner, "{{{ not yaml")["status"] == "failed"
    missing_section = _import(owner, "app: {name: X, mode: chat}\nversion: '0.1.0'\n")
    assert missing_section["status"] == "failed"


def test_overrides_overwrite_and_warnings(owner: Console) -> None:
    graph = {
        "nodes": [
            {"id": "1", "data": {"type": "start", "title": "Start", "variables": []}},
            {"id": "2", "data": {"type": "tool", "title": "Search", "provider_id": "acme", "tool_name": "search"}},
            {"id": "3", "data": {"type": "llm", "title": "Think", "model": {"provider": "openai", "name": "gpt-4o"}}},
            {"id": "4", "data": {"type": "quantum-node", "title": "Odd", "strange_field": [1, 2]}},
        ],
        "edges": [],
    }
    content = yaml.safe_dump(
        {
            "app": {"name": "Orig", "mode": "workflow"},
            "version": "0.6.0",
            "workflow": {
                "graph": graph,
                "features": {},
                "future_key": {"a": 1},
                "environment_variables": [{"id": "e", "name": "token", "value": "s3cret", "value_type": "secret"}],
            },
            "dependencies": [],
            "extra_top": "kept",
        }
    )
    result = _import(owner, content, name="Renamed")
    assert result["status"] == "completed-with-warnings"
    joined = " | ".join(result["warnings"])
    assert "acme" in joined  # not a provider we ship (tavily now is one)
    assert "openai" in joined
    assert "quantum-node" in joined
    assert owner.get(f"/apps/{result['app_id']}").json()["name"] == "Renamed"
    exported = yaml.safe_load(owner.get(f"/apps/{result['app_id']}/export").json()["data"])
    assert exported["workflow"]["future_key"] == {"a": 1}
    assert exported["extra_top"] == "kept"
    assert exported["workflow"]["environment_variables"][0]["value"] == ""
    with_secret = yaml.safe_load(
        owner.get(f"/apps/{result['app_id']}/export", params={"include_secret": True}).json()["data"]
    )
    assert with_secret["workflow"]["environment_variables"][0]["value"] == "s3cret"
    overwrite = _import(owner, content.replace("Think", "Reason"), app_id=result["app_id"])
    assert overwrite["app_id"] == result["app_id"]
    titles = [
        n["data"]["title"] for n in owner.get(f"/apps/{result['app_id']}/workflows/draft").json()["graph"]["nodes"]
    ]
    assert "Reason" in titles
    chat = owner.create_app("Chat")
    refused = _import(owner, content, app_id=chat["id"])
    assert refused["status"] == "failed"


def test_cli_import_and_export(owner: Console, settings: object, tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    env = {
        "LOOMWORKS_DATABASE_URL": settings.database_url,
        "LOOMWORKS_SECRET_KEY": "k" * 40,  # type: ignore[attr-defined]
        "PATH": "/usr/bin:/bin",
    }
    source = next(iter(sorted(CORPUS.rglob("*.yml"))))
    imported = subprocess.run(
        [
            sys.executable,
            "-m",
            "loomworks.cli",
            "import-dsl",
            str(source),
            "--name",
            "From CLI",
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert imported.returncode == 0, imported.stderr
    app_id = json.loads(imported.stdout)["app_id"]
    assert owner.get(f"/apps/{app_id}").json()["name"] == "From CLI"
    out = tmp_path / "out.yml"
    exported = subprocess.run(
        [
            sys.executable,
            "-m",
            "loomworks.cli",
            "export-dsl",
            app_id,
            "--output",
            str(out),
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert exported.returncode == 0, exported.stderr
    assert yaml.safe_load(out.read_text())["app"]["name"] == "From CLI"
