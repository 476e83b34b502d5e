"""Generated requests against every operation of our OpenAPI document: never a 500, always Dify's error JSON.

Schemathesis derives bodies, queries and path parameters from the schema (valid and invalid ones);
each request is signed with the credential its API expects, so the checks reach past authentication.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from loomworks.api.app import build_state, create_app
from loomworks.core.config import Settings
from tests._console import OWNER_EMAIL, OWNER_PASSWORD, Console
from tests._scripted_model import ScriptedModels, configured_app

# The DSL import answers its own result shape on failure (Dify's contract), not the error envelope.
OWN_SHAPE = {("POST", "/console/api/apps/imports"), ("POST", "/console/api/apps/imports/{import_id}/confirm")}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_no_operation_crashes_on_generated_input(settings: Settings) -> None:
    app = create_app(settings, state=build_state(settings, models=ScriptedModels()))
    problems: list[Any] = []
    with TestClient(app) as client:
        client.post("/console/api/setup", json={"email": OWNER_EMAIL, "name": "Owner", "password": OWNER_PASSWORD})
        owner = Console(client, OWNER_EMAIL, OWNER_PASSWORD).login()
        app_headers, _ = configured_app(owner)
        dataset_key = owner.post("/datasets/api-keys").json()["token"]
        schema = schemathesis.openapi.from_dict(client.get("/openapi.json").json())
        for result in schema.get_all_operations():
            operation = result.ok()
            path = operation.path
            if path.startswith("/v1/datasets"):
                token = dataset_key
            elif path.startswith("/v1"):
                token = app_headers["Authorization"].removeprefix("Bearer ")
            else:
                token = owner.token

            def make_check(operation: Any, token: str, method: str, path: str) -> Any:
                @hypothesis_settings(
                    max_examples=3,
                    deadline=None,
                    suppress_health_check=list(HealthCheck),
                    database=None,
                    derandomize=True,
                )
                @given(case=operation.as_strategy())
                def check(case: Any) -> None:
                    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
                    kwargs = case.as_transport_kwargs(base_url="http://testserver")
                    kwargs.pop("cookies", None)
                    if isinstance(kwargs.get("data"), bytes | str):
                        kwargs["content"] = kwargs.pop("data")
                    response = client.request(**kwargs)
                    if response.status_code >= 500:
                        problems.append((method, path, response.status_code, response.text[:200]))
                    elif response.status_code >= 400 and (method, path) not in OWN_SHAPE:
                        body = response.json()
                        if not {"code", "message", "status"} <= set(body):
                            problems.append((method, path, response.status_code, response.text[:200]))

                return check

            make_check(operation, token, operation.method.upper(), path)()
    assert problems == []
