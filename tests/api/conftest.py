"""Fixtures for app-running tests: a server whose workspace models are scripted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from loomworks.api.app import build_state, create_app
from loomworks.core.config import Settings
from tests._console import OWNER_EMAIL, OWNER_PASSWORD, Console
from tests._scripted_model import ScriptedModels


@pytest.fixture
def models() -> ScriptedModels:
    return ScriptedModels()


@pytest.fixture
def chat_client(settings: Settings, models: ScriptedModels) -> Iterator[TestClient]:
    with TestClient(create_app(settings, state=build_state(settings, models=models))) as test_client:
        yield test_client


@pytest.fixture
def chat_owner(chat_client: TestClient) -> Console:
    chat_client.post("/console/api/setup", json={"email": OWNER_EMAIL, "name": "Owner", "password": OWNER_PASSWORD})
    return Console(chat_client, OWNER_EMAIL, OWNER_PASSWORD).login()
