"""The shipped template gallery: every template lists and imports as a working app."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests._console import Console

TEMPLATES = Path(__file__).resolve().parents[2] / "loomworks" / "templates"


def test_list_returns_every_shipped_template(owner: Console) -> None:
    files = sorted(TEMPLATES.glob("*.yml"))
    assert len(files) == 6
    response = owner.get("/app-templates")
    assert response.status_code == 200, response.text
    listed = response.json()["data"]
    assert [t["id"] for t in listed] == [f.stem for f in files]
    assert {t["mode"] for t in listed} == {"chat", "completion", "workflow", "advanced-chat", "agent-chat"}
    for template in listed:
        assert set(template) >= {"id", "name", "description", "mode", "icon"}
        assert all(template[k] for k in ("name", "description", "icon")), template
        assert "yaml_content" not in template
    assert owner.get("/app-templates/no-such-template").status_code == 404
    assert owner.client.get("/console/api/app-templates").status_code == 401


def test_every_template_imports(owner: Console) -> None:
    for template in owner.get("/app-templates").json()["data"]:
        detail = owner.get(f"/app-templates/{template['id']}").json()
        result = owner.post(
            "/apps/imports", json={"mode": "yaml-content", "yaml_content": detail["yaml_content"]}
        ).json()
        assert result["status"] in ("completed", "completed-with-warnings"), (template["id"], result)
        for warning in result.get("warnings") or []:
            # No model provider is configured in this workspace; nothing else may be wrong.
            assert re.search(r"[Mm]odel provider 'openai' is not configured", warning), (
                template["id"],
                warning,
            )
        app = owner.get(f"/apps/{result['app_id']}").json()
        assert (app["mode"], app["name"]) == (template["mode"], template["name"])
        exported = yaml.safe_load(owner.get(f"/apps/{result['app_id']}/export").json()["data"])
        assert exported["app"]["mode"] == template["mode"]
        if template["mode"] in ("workflow", "advanced-chat"):
            original = yaml.safe_load(detail["yaml_content"])
            assert len(exported["workflow"]["graph"]["nodes"]) == len(original["workflow"]["graph"]["nodes"])
