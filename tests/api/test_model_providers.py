"""Workspace model settings through the console: catalogue, sealed credentials, custom and default models."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from loomworks.store.tables import CustomModel, ProviderCredential
from tests._console import Console, invite_member
from tests._live_server import live_server
from tests.fakes import anthropic
from tests.fakes.openai import OpenAIFake, openai_fake

BASE = "/workspaces/current"
LIVE_KEY = "sk-live-1234567890abcdef"


@pytest.fixture(scope="module")
def fake() -> Iterator[OpenAIFake]:
    """Saving credentials validates them with a real call: it goes to a fake OpenAI server."""
    with openai_fake(api_key=LIVE_KEY) as server:
        yield server


@pytest.fixture(scope="module")
def anthropic_url() -> Iterator[str]:
    with live_server(anthropic.create_app(["text"], [])) as url:
        yield url


def test_catalogue_listing(owner: Console) -> None:
    providers = owner.get(f"{BASE}/model-providers").json()["data"]
    assert len(providers) >= 25
    openai = next(p for p in providers if p["provider"] == "openai")
    assert openai["custom_configuration"]["status"] == "no-configure"
    fields = [f["variable"] for f in openai["provider_credential_schema"]["credential_form_schemas"]]
    assert fields == ["openai_api_key", "openai_organization", "openai_api_base"]
    embedders = owner.get(f"{BASE}/model-providers", params={"model_type": "rerank"}).json()["data"]
    assert {"cohere", "jina"} <= {p["provider"] for p in embedders}
    rules = owner.get(f"{BASE}/model-providers/openai/models/parameter-rules", params={"model": "gpt-4o"}).json()
    assert {r["name"] for r in rules["data"]} >= {"temperature", "max_tokens", "response_format"}
    assert next(r for r in rules["data"] if r["name"] == "temperature")["type"] == "float"


def test_credentials_are_sealed_masked_and_kept(owner: Console, client: TestClient, fake: OpenAIFake) -> None:
    missing = owner.post(f"{BASE}/model-providers/openai", json={"credentials": {"openai_organization": "org"}})
    assert (missing.status_code, missing.json()["params"]) == (400, "openai_api_key")
    saved = owner.post(
        f"{BASE}/model-providers/langgenius/openai/openai",
        json={"credentials": {"openai_api_key": LIVE_KEY, "openai_api_base": fake.base_url}},
    )
    assert saved.json() == {"result": "success"}
    shown = owner.get(f"{BASE}/model-providers/openai/credentials").json()["credentials"]
    assert shown["openai_api_key"] == "sk-liv************ef"
    with client.app.state.loom.db.session() as session:
        row = session.scalar(select(ProviderCredential).where(ProviderCredential.provider == "openai"))
        assert row is not None
        assert "sk-live" not in str(row.secrets)
        assert "openai_api_key" not in row.config
    # Sending the mask back keeps the stored secret.
    owner.post(f"{BASE}/model-providers/openai", json={"credentials": {**shown, "openai_organization": "org-2"}})
    state = client.app.state.loom
    from loomworks.services import model_providers

    with state.db.session() as session:
        opened = model_providers.credentials_of(
            session, keyring=state.keyring, tenant_id=row.tenant_id, provider="openai"
        )
    assert opened[0][1] == {
        "openai_api_key": LIVE_KEY,
        "openai_organization": "org-2",
        "openai_api_base": fake.base_url,
    }
    listed = owner.get(f"{BASE}/model-providers").json()["data"]
    assert next(p for p in listed if p["provider"] == "openai")["custom_configuration"]["status"] == "active"
    llms = owner.get(f"{BASE}/models/model-types/llm").json()["data"]
    assert next(p for p in llms if p["provider"] == "openai")["status"] == "active"
    assert owner.delete(f"{BASE}/model-providers/openai").status_code == 204
    assert owner.get(f"{BASE}/model-providers/openai/credentials").json()["credentials"] is None


def test_custom_models_and_defaults(owner: Console, client: TestClient, fake: OpenAIFake) -> None:
    body = {
        "model": "my-llama",
        "model_type": "llm",
        "credentials": {
            "endpoint_url": fake.open_url,
            "api_key": "k-secret-123456789",
            "mode": "chat",
            "context_size": "8192",
        },
    }
    assert owner.post(f"{BASE}/model-providers/openai_api_compatible/models", json=body).json() == {"result": "success"}
    bad = owner.post(
        f"{BASE}/model-providers/openai_api_compatible/models", json={**body, "credentials": {"mode": "chat"}}
    )
    assert bad.json()["params"] == "endpoint_url"
    wrong_mode = owner.post(
        f"{BASE}/model-providers/openai_api_compatible/models",
        json={**body, "credentials": {**body["credentials"], "mode": "sideways"}},
    )
    assert wrong_mode.json()["params"] == "mode"
    listed = owner.get(f"{BASE}/model-providers/openai_api_compatible/models").json()["data"]
    assert [m["model"] for m in listed] == ["my-llama"]
    creds = owner.get(
        f"{BASE}/model-providers/openai_api_compatible/models/credentials",
        params={"model": "my-llama", "model_type": "llm"},
    ).json()["credentials"]
    assert creds["api_key"] == "k-secr************89"
    with client.app.state.loom.db.session() as session:
        assert "k-secret" not in str(session.scalar(select(CustomModel.secrets)))
    assert owner.post(f"{BASE}/model-providers/openai/models", json=body).status_code == 400

    assert owner.get(f"{BASE}/default-model", params={"model_type": "llm"}).json() == {"data": None}
    owner.post(
        f"{BASE}/default-model",
        json={
            "model_settings": [
                {
                    "model_type": "llm",
                    "provider": "langgenius/openai_api_compatible/openai_api_compatible",
                    "model": "my-llama",
                }
            ]
        },
    )
    default = owner.get(f"{BASE}/default-model", params={"model_type": "llm"}).json()["data"]
    assert (default["model"], default["provider"]["provider"]) == ("my-llama", "openai_api_compatible")
    assert (
        owner.client.request(
            "DELETE",
            f"/console/api{BASE}/model-providers/openai_api_compatible/models",
            headers=owner.headers,
            json={"model": "my-llama", "model_type": "llm"},
        ).status_code
        == 204
    )


def test_only_admins_touch_credentials_and_workspaces_are_apart(owner: Console, anthropic_url: str) -> None:
    saved = owner.post(
        f"{BASE}/model-providers/anthropic",
        json={"credentials": {"anthropic_api_key": anthropic.GOOD_KEY, "anthropic_api_url": anthropic_url}},
    )
    assert saved.json() == {"result": "success"}, saved.text
    editor = invite_member(owner, "ed@example.com", "editor")
    assert (
        editor.post(
            f"{BASE}/model-providers/anthropic", json={"credentials": {"anthropic_api_key": "sk-ant-hijack"}}
        ).status_code
        == 403
    )
    assert editor.get(f"{BASE}/model-providers/anthropic/credentials").status_code == 403
    owner.post("/workspaces", json={"name": "Second"})
    assert owner.get(f"{BASE}/model-providers/anthropic/credentials").json()["credentials"] is None
    assert owner.get(f"{BASE}/model-providers/no-such-vendor/credentials").status_code == 404


def test_models_fetched_from_the_vendors_list(owner: Console, fake: OpenAIFake) -> None:
    # DeepSeek speaks OpenAI's format; its endpoint here is the fake, whose /models lists OpenAI ids.
    saved = owner.post(
        f"{BASE}/model-providers/deepseek",
        json={"credentials": {"api_key": LIVE_KEY, "endpoint_url": fake.base_url}},
    )
    assert saved.json() == {"result": "success"}, saved.text
    listed = owner.get(f"{BASE}/model-providers/deepseek/models").json()["data"]
    fetched = {m["model"] for m in listed if m["fetch_from"] == "fetch-from-remote"}
    predefined = {m["model"] for m in listed if m["fetch_from"] == "predefined-model"}
    assert "deepseek-chat" in predefined
    assert "gpt-4o-mini" in fetched
    assert not fetched & predefined
