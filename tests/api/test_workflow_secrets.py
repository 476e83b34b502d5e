"""Secret environment variables: sealed in the database, masked in the console, opened only for runs
and for exports that ask for secrets."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, text

from loomworks.store.tables import Workflow, WorkflowNodeExecution
from tests._console import Console
from tests._scripted_model import sse_events

SECRET = "sk-live-0123456789abcdef"
MASKED = "sk-liv" + "*" * 12 + "ef"


def _graph() -> dict[str, Any]:
    return {
        "nodes": [
            {"id": "start", "data": {"type": "start", "title": "Start", "variables": []}},
            {
                "id": "t",
                "data": {
                    "type": "template-transform",
                    "title": "T",
                    "template": "{{ key }}|{{ region }}",
                    "variables": [
                        {"variable": "key", "value_selector": ["env", "API_KEY"]},
                        {"variable": "region", "value_selector": ["env", "REGION"]},
                    ],
                },
            },
            {
                "id": "end",
                "data": {
                    "type": "end",
                    "title": "End",
                    "outputs": [{"variable": "out", "value_selector": ["t", "output"]}],
                },
            },
        ],
        "edges": [
            {"id": "e1", "source": "start", "target": "t", "sourceHandle": "source", "targetHandle": "target"},
            {"id": "e2", "source": "t", "target": "end", "sourceHandle": "source", "targetHandle": "target"},
        ],
    }


def _env(secret: str) -> list[dict[str, Any]]:
    return [
        {"id": "v-key", "name": "API_KEY", "value": secret, "value_type": "secret", "description": ""},
        {"id": "v-region", "name": "REGION", "value": "eu-west", "value_type": "string", "description": ""},
    ]


def _save(owner: Console, app_id: str, env: list[dict[str, Any]]) -> None:
    url = f"/apps/{app_id}/workflows/draft"
    draft = owner.get(url).json()
    saved = owner.post(
        url, json={"graph": _graph(), "features": {}, "hash": draft["hash"], "environment_variables": env}
    )
    assert saved.status_code == 200, saved.text


def _stored(client: TestClient, app_id: str, version: str = "draft") -> list[dict[str, Any]]:
    with client.app.state.loom.db.session() as session:
        row = session.scalar(select(Workflow).where(Workflow.app_id == app_id, Workflow.version == version))
        assert row is not None
        # The raw column text, as the database holds it, must not contain the clear value either.
        raw = session.execute(text("SELECT environment_variables FROM workflows WHERE id = :id"), {"id": row.id})
        assert SECRET not in str(raw.scalar_one())
        return list(row.environment_variables)


def _run_draft(owner: Console, app_id: str) -> list[dict[str, Any]]:
    return sse_events(owner.post(f"/apps/{app_id}/workflows/draft/run", json={"inputs": {}}))


def test_secret_values_are_sealed_masked_and_opened_only_for_runs(owner: Console, client: TestClient) -> None:
    app = owner.create_app("Secret flow", "workflow")
    _save(owner, app["id"], _env(SECRET))
    stored = _stored(client, app["id"])
    assert stored[0]["value"].startswith("lw1:")
    assert stored[1]["value"] == "eu-west"

    shown = owner.get(f"/apps/{app['id']}/workflows/draft").json()["environment_variables"]
    assert [v["value"] for v in shown] == [MASKED, "eu-west"]

    events = _run_draft(owner, app["id"])
    finished = events[-1]
    assert finished["event"] == "workflow_finished"
    assert finished["data"]["outputs"] == {"out": f"{SECRET}|eu-west"}
    # The recorded node inputs show the mask, never the value.
    with client.app.state.loom.db.session() as session:
        rows = list(session.scalars(select(WorkflowNodeExecution).where(WorkflowNodeExecution.app_id == app["id"])))
    assert rows
    assert all(SECRET not in json.dumps(r.inputs) + json.dumps(r.process_data) for r in rows)
    assert next(r for r in rows if r.node_id == "t").inputs == {"key": MASKED, "region": "eu-west"}


def test_a_masked_value_sent_back_keeps_the_stored_secret(owner: Console, client: TestClient) -> None:
    app = owner.create_app("Secret flow", "workflow")
    _save(owner, app["id"], _env(SECRET))
    token = _stored(client, app["id"])[0]["value"]
    shown = owner.get(f"/apps/{app['id']}/workflows/draft").json()["environment_variables"]
    _save(owner, app["id"], shown)  # what the console sends back when the secret was not edited
    assert _stored(client, app["id"])[0]["value"] == token
    assert _run_draft(owner, app["id"])[-1]["data"]["outputs"] == {"out": f"{SECRET}|eu-west"}

    # Renaming the variable keeps its value under the new name.
    renamed = [{**shown[0], "name": "API_KEY2"}, shown[1]]
    _save(owner, app["id"], renamed)
    stored = _stored(client, app["id"])
    assert stored[0]["value"] != token
    assert stored[0]["value"].startswith("lw1:")
    assert owner.get(f"/apps/{app['id']}/workflows/draft").json()["environment_variables"][0]["value"] == MASKED

    # A new value replaces it.
    _save(owner, app["id"], _env("sk-other-value-999999"))
    assert owner.get(f"/apps/{app['id']}/workflows/draft").json()["environment_variables"][0]["value"] == (
        "sk-oth" + "*" * 12 + "99"
    )
    assert _run_draft(owner, app["id"])[-1]["data"]["outputs"] == {"out": "sk-other-value-999999|eu-west"}


def test_published_versions_keep_the_sealed_value_and_run_with_it(owner: Console, client: TestClient) -> None:
    app = owner.create_app("Secret flow", "workflow")
    _save(owner, app["id"], _env(SECRET))
    published = owner.post(f"/apps/{app['id']}/workflows/publish", json={}).json()
    assert owner.get(f"/apps/{app['id']}/workflows/publish").json()["environment_variables"][0]["value"] == MASKED
    with client.app.state.loom.db.session() as session:
        row = session.get(Workflow, published["id"])
        assert row is not None
        assert SECRET not in json.dumps(row.environment_variables)
    key = {"Authorization": f"Bearer {owner.create_key(app['id'])}"}
    answer = client.post("/v1/workflows/run", headers=key, json={"inputs": {}, "user": "u"}).json()
    assert answer["data"]["outputs"] == {"out": f"{SECRET}|eu-west"}


def test_export_blanks_or_opens_secrets_and_import_seals_them(owner: Console, client: TestClient) -> None:
    import yaml

    app = owner.create_app("Secret flow", "workflow")
    _save(owner, app["id"], _env(SECRET))
    blank = yaml.safe_load(owner.get(f"/apps/{app['id']}/export").json()["data"])
    assert blank["workflow"]["environment_variables"][0]["value"] == ""
    assert blank["workflow"]["environment_variables"][1]["value"] == "eu-west"
    full = owner.get(f"/apps/{app['id']}/export", params={"include_secret": "true"}).json()["data"]
    assert yaml.safe_load(full)["workflow"]["environment_variables"][0]["value"] == SECRET

    imported = owner.post("/apps/imports", json={"mode": "yaml-content", "yaml_content": full}).json()
    assert imported["status"] == "completed", imported
    stored = _stored(client, imported["app_id"])
    assert stored[0]["value"].startswith("lw1:")
    assert _run_draft(owner, imported["app_id"])[-1]["data"]["outputs"] == {"out": f"{SECRET}|eu-west"}


def test_a_sealed_value_does_not_open_in_another_app(owner: Console, client: TestClient) -> None:
    first = owner.create_app("First", "workflow")
    second = owner.create_app("Second", "workflow")
    _save(owner, first["id"], _env(SECRET))
    _save(owner, second["id"], _env("placeholder"))
    token = _stored(client, first["id"])[0]["value"]
    with client.app.state.loom.db.session() as session:
        row = session.scalar(select(Workflow).where(Workflow.app_id == second["id"], Workflow.version == "draft"))
        assert row is not None
        row.environment_variables = [{**row.environment_variables[0], "value": token}, row.environment_variables[1]]
    # The copied token is bound to the first app: the second app neither shows nor runs with it.
    assert owner.get(f"/apps/{second['id']}/workflows/draft").json()["environment_variables"][0]["value"] == ""
    assert _run_draft(owner, second["id"])[-1]["data"]["outputs"] == {"out": "|eu-west"}
