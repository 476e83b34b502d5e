"""`vector_store=pgvector`: the runtime the settings build indexes and retrieves through pgvector."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from loomworks.api.app import build_state, create_app
from loomworks.core.config import Settings
from loomworks.rag.index.embedded import EmbeddedVectorIndex
from loomworks.rag.index.pgvector import CATALOG, PgVectorIndex
from loomworks.services.knowledge.indexing import KnowledgeRuntime
from tests._console import OWNER_EMAIL, OWNER_PASSWORD, Console
from tests._pgvector import pgvector_server, pgvector_url
from tests._scripted_model import scripted_embed

__all__ = ["pgvector_server", "pgvector_url"]  # fixtures used below
pytestmark = pytest.mark.integration


def test_the_setting_picks_the_index(settings: Settings) -> None:
    state = build_state(settings)
    assert isinstance(KnowledgeRuntime.from_settings(settings, state.db, state.storage).vectors, EmbeddedVectorIndex)
    wanted = settings.model_copy(update={"vector_store": "pgvector", "pgvector_url": None})
    if wanted.is_sqlite:
        with pytest.raises(ValueError, match="LOOMWORKS_PGVECTOR_URL"):
            KnowledgeRuntime.from_settings(wanted, state.db, state.storage)
    else:  # the application's PostgreSQL is the default pgvector database
        assert wanted.resolved_pgvector_url == wanted.resolved_database_url
    state.db.dispose()


@pytest.fixture
def pg_client(settings: Settings, pgvector_url: str) -> Iterator[tuple[TestClient, KnowledgeRuntime]]:
    configured = settings.model_copy(
        update={"vector_store": "pgvector", "pgvector_url": pgvector_url, "pgvector_hnsw_min_rows": 0}
    )
    state = build_state(configured, embed=scripted_embed)
    runtime = KnowledgeRuntime.from_settings(configured, state.db, state.storage, embed=scripted_embed)
    runtime.register(state.extras["jobs"])
    state.extras["knowledge"] = runtime
    with TestClient(create_app(configured, state=state)) as client:
        yield client, runtime
    assert isinstance(runtime.vectors, PgVectorIndex)
    runtime.vectors.close()


def test_high_quality_datasets_index_into_pgvector(
    pg_client: tuple[TestClient, KnowledgeRuntime], pgvector_url: str
) -> None:
    client, _ = pg_client
    client.post("/console/api/setup", json={"email": OWNER_EMAIL, "name": "Owner", "password": OWNER_PASSWORD})
    owner = Console(client, OWNER_EMAIL, OWNER_PASSWORD).login()
    headers = {"Authorization": f"Bearer {owner.post('/datasets/api-keys').json()['token']}"}
    dataset = client.post(
        "/v1/datasets",
        headers=headers,
        json={
            "name": "Vectors",
            "indexing_technique": "high_quality",
            "embedding_model": "bow",
            "embedding_model_provider": "scripted",
        },
    ).json()
    made = client.post(
        f"/v1/datasets/{dataset['id']}/document/create-by-text",
        headers=headers,
        json={
            "name": "animals",
            "text": "Herons wade in shallow water.\n\nOwls hunt at night.\n\nOak trees grow slowly.",
            "indexing_technique": "high_quality",
            "process_rule": {
                "mode": "custom",
                "rules": {"pre_processing_rules": [], "segmentation": {"separator": "\\n\\n", "max_tokens": 50}},
            },
        },
    ).json()
    deadline = time.monotonic() + 20
    while True:
        url = f"/v1/datasets/{dataset['id']}/documents/{made['batch']}/indexing-status"
        status = client.get(url, headers=headers).json()["data"][0]
        if status["indexing_status"] == "completed":
            break
        assert status["indexing_status"] != "error", status
        assert time.monotonic() < deadline, status
        time.sleep(0.05)
    with psycopg.connect(pgvector_url) as conn:
        table, indexed = conn.execute(  # type: ignore[misc]
            f"SELECT table_name, indexed FROM {CATALOG} WHERE dataset_id = %s", (dataset["id"],)
        ).fetchone()
        assert indexed
        assert conn.execute(f'SELECT count(*) FROM "{table}"').fetchone() == (3,)
    hits = client.post(
        f"/v1/datasets/{dataset['id']}/retrieve",
        headers=headers,
        json={"query": "owls hunt at night", "retrieval_model": {"search_method": "semantic_search", "top_k": 1}},
    ).json()["records"]
    assert [h["segment"]["content"] for h in hits] == ["Owls hunt at night."]
    assert hits[0]["score"] == pytest.approx(1.0, abs=1e-5)
    client.delete(f"/v1/datasets/{dataset['id']}", headers=headers)
    deadline = time.monotonic() + 10
    while True:  # the drop job removes the dataset's table
        with psycopg.connect(pgvector_url) as conn:
            if conn.execute(f"SELECT count(*) FROM {CATALOG}").fetchone() == (0,):
                break
        assert time.monotonic() < deadline
        time.sleep(0.05)
