"""Code written for Dify's knowledge API works unchanged: the `dify-dataset-sdk` client from PyPI drives our server.

The official `dify-client` (0.1.10, the newest on PyPI) has no knowledge-base client, so this
uses `dify-dataset-sdk` (0.6.3), whose pydantic models validate the answers' shapes. The dataset
is `economy` (full-text), so no embedding model is needed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from loomworks.api.app import build_state, create_app
from loomworks.core.config import Settings
from tests._console import OWNER_EMAIL, OWNER_PASSWORD, Console
from tests._live_server import live_server

pytestmark = pytest.mark.integration


@pytest.fixture
def served(settings: Settings) -> Iterator[tuple[str, str]]:
    """A live server and a dataset API key of its first workspace."""
    app = create_app(settings, state=build_state(settings))
    with live_server(app) as base, TestClient(app) as client:
        client.post("/console/api/setup", json={"email": OWNER_EMAIL, "name": "Owner", "password": OWNER_PASSWORD})
        owner = Console(client, OWNER_EMAIL, OWNER_PASSWORD).login()
        created = owner.post("/datasets/api-keys")
        assert created.status_code in (200, 201), created.text
        yield base, str(created.json()["token"])


def test_dify_dataset_sdk_create_upload_poll_list_retrieve(served: tuple[str, str], tmp_path: Path) -> None:
    from dify_dataset_sdk import DifyDatasetClient
    from dify_dataset_sdk.documents.models import ProcessRule

    base, key = served
    with DifyDatasetClient(api_key=key, base_url=base, timeout=30) as sdk:
        dataset = sdk.datasets.create(name="SDK handbook", description="from the SDK", indexing_technique="economy")
        assert dataset.id
        assert dataset.name == "SDK handbook"
        assert any(d["id"] == dataset.id for d in sdk.datasets.list().data)  # the SDK types list items as dicts
        rule = ProcessRule(mode="automatic")

        by_text = sdk.documents.create_by_text(
            dataset.id,
            name="returns",
            text="Items may be returned within 30 days with the receipt.\n\nGift cards cannot be refunded.",
            indexing_technique="economy",
            process_rule=rule,
        )
        upload = tmp_path / "travel.md"
        upload.write_text("# Travel\n\nTrain tickets are reimbursed in second class only.\n")
        by_file = sdk.documents.create_by_file(dataset.id, upload, indexing_technique="economy", process_rule=rule)

        for created in (by_text, by_file):
            deadline = time.monotonic() + 30
            while True:
                status = sdk.documents.get_indexing_status(dataset.id, created.batch).data[0]
                if status.indexing_status == "completed":
                    break
                assert status.indexing_status != "error", status.error
                assert time.monotonic() < deadline, status
                time.sleep(0.05)
            assert status.completed_segments == status.total_segments > 0

        documents = sdk.documents.list(dataset.id).data
        assert {d["name"] for d in documents} == {"returns", "travel.md"}
        segments = sdk.segments.list(dataset.id, by_text.document.id).data
        assert any("30 days" in s.content for s in segments)

        result = sdk.datasets.retrieve(dataset.id, "train tickets reimbursed")
        assert result.query.content == "train tickets reimbursed"
        assert result.records, result
        assert "Train tickets" in result.records[0].segment.content
        assert result.records[0].segment.document.name == "travel.md"
