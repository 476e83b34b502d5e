"""Automatic metadata filtering: the model's JSON answer is validated, then filters each dataset it applies to."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from loomworks.api.app import build_state, create_app
from loomworks.api.deps import ServerState
from loomworks.core.config import Settings
from loomworks.core.errors import InvalidParamError
from loomworks.services.knowledge import retrieval
from loomworks.services.knowledge.auto_filter import build_prompt, parse_answer
from loomworks.services.knowledge.indexing import KnowledgeRuntime
from loomworks.store.tables import DatasetMetadataField, Document
from tests._console import OWNER_EMAIL, OWNER_PASSWORD, Console

FIELDS = {"year": "number", "team": "string", "upload_date": "time"}


def test_a_valid_answer_becomes_checked_conditions() -> None:
    answer = """```json
    {"conditions": [
        {"name": "year", "comparison_operator": ">=", "value": "2024"},
        {"name": "team", "comparison_operator": "contains", "value": "sales"},
        {"name": "upload_date", "comparison_operator": "after", "value": "2025-01-31"},
        {"name": "secret", "comparison_operator": "is", "value": "x"},
        {"name": "team", "comparison_operator": ">", "value": "b"},
        {"name": "year", "comparison_operator": "=", "value": "soon"},
        {"name": "upload_date", "comparison_operator": "before", "value": "last tuesday"},
        "junk"
    ]}
    ```"""
    assert parse_answer(answer, FIELDS) == {
        "logical_operator": "and",
        "conditions": [
            {"name": "year", "comparison_operator": "≥", "value": 2024.0},
            {"name": "team", "comparison_operator": "contains", "value": "sales"},
            {"name": "upload_date", "comparison_operator": "after", "value": "2025-01-31"},
        ],
    }


@pytest.mark.parametrize(
    "answer", ["year = 2024", '{"filters": []}', '[{"name": "year"}]', '{"conditions": "year"}', ""]
)
def test_anything_but_the_asked_json_means_no_filter(answer: str) -> None:
    assert parse_answer(answer, FIELDS) is None


def test_the_prompt_lists_fields_operators_and_the_query() -> None:
    prompt = build_prompt("reports from 2024", FIELDS)
    assert "- year: number" in prompt
    assert "- team: string" in prompt
    assert "≥" in prompt
    assert "before" in prompt
    assert prompt.rstrip().endswith("Query: reports from 2024")


class ScriptedCompletion:
    """A text model that answers a fixed reply and keeps the prompts it got."""

    def __init__(self, reply: str) -> None:
        self.reply, self.prompts = reply, []

    async def __call__(self, tenant_id: str, prompt: str) -> str:
        self.prompts.append(prompt)
        return self.reply


@pytest.fixture
def served(settings: Settings) -> Iterator[tuple[TestClient, ServerState, Console]]:
    state = build_state(settings)
    with TestClient(create_app(settings, state=state)) as client:
        client.post("/console/api/setup", json={"email": OWNER_EMAIL, "name": "Owner", "password": OWNER_PASSWORD})
        yield client, state, Console(client, OWNER_EMAIL, OWNER_PASSWORD).login()


def _indexed_dataset(client: TestClient, headers: dict[str, str], name: str, docs: dict[str, str]) -> str:
    dataset_id = str(client.post("/v1/datasets", headers=headers, json={"name": name}).json()["id"])
    batches = []
    for title, text in docs.items():
        made = client.post(
            f"/v1/datasets/{dataset_id}/document/create-by-text",
            headers=headers,
            json={"name": title, "text": text, "indexing_technique": "economy"},
        )
        batches.append(made.json()["batch"])
    deadline = time.monotonic() + 20
    for batch in batches:
        while True:
            rows = client.get(f"/v1/datasets/{dataset_id}/documents/{batch}/indexing-status", headers=headers).json()
            if rows["data"][0]["indexing_status"] == "completed":
                break
            assert time.monotonic() < deadline, rows
            time.sleep(0.05)
    return dataset_id


def test_automatic_filtering_narrows_only_datasets_with_the_field(
    served: tuple[TestClient, ServerState, Console],
) -> None:
    client, state, console = served
    headers = {"Authorization": f"Bearer {console.post('/datasets/api-keys').json()['token']}"}
    reports = _indexed_dataset(
        client, headers, "Reports", {"r2023": "Annual revenue report grew.", "r2024": "Annual revenue report fell."}
    )
    notes = _indexed_dataset(client, headers, "Notes", {"n": "Revenue notes from the annual meeting."})
    tenant_id = console.get("/workspaces/current").json()["id"]
    with state.db.session() as session:
        session.add(
            DatasetMetadataField(tenant_id=tenant_id, dataset_id=reports, type="number", name="year", created_by="t")
        )
        for document in session.scalars(select(Document).where(Document.dataset_id == reports)):
            document.doc_metadata = {"year": 2023 if document.name == "r2023" else 2024}

    async def ask(complete: Any) -> list[str]:
        runtime = KnowledgeRuntime.from_settings(state.settings, state.db, state.storage, complete=complete)
        records = await retrieval.retrieve(
            runtime,
            tenant_id=tenant_id,
            dataset_ids=[reports, notes],
            query="annual revenue report 2024",
            retrieval_model={"search_method": "full_text_search", "top_k": 5},
            metadata_filtering_mode="automatic",
        )
        return sorted(r.segment.content for r in records)

    model = ScriptedCompletion('{"conditions": [{"name": "year", "comparison_operator": "=", "value": 2024}]}')
    assert asyncio.run(ask(model)) == ["Annual revenue report fell.", "Revenue notes from the annual meeting."]
    assert "- year: number" in model.prompts[0]
    assert "annual revenue report 2024" in model.prompts[0]
    confused = ScriptedCompletion("I think you want 2024.")
    assert len(asyncio.run(ask(confused))) == 3  # no usable answer: no filter
    with pytest.raises(InvalidParamError, match="text generation model"):
        asyncio.run(ask(None))
