"""Shared fixtures: real SQLite and PostgreSQL databases, the ASGI app, a signed-in console.

PostgreSQL tests are never skipped: `scripts/test.sh` starts the local server when it is down,
and a missing server fails the run loudly.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from loomworks.api.app import build_state, create_app
from loomworks.core.config import Settings
from loomworks.store.db import Database
from loomworks.store.tables import Base
from tests._console import OWNER_EMAIL, OWNER_PASSWORD, Console
from tests._scripted_model import ScriptedModels, ScriptedSpeech, scripted_embed

PG_ADMIN_DSN = os.environ.get("LOOMWORKS_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(autouse=True)
def _no_outbound_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection to a non-loopback address fails the test (tests must stay on this machine)."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        is_ip = isinstance(host, str) and self.family in (socket.AF_INET, socket.AF_INET6)
        if is_ip and not (host.startswith("127.") or host in ("::1", "localhost", "0.0.0.0")):
            raise AssertionError(f"unexpected outbound connection to {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


def _pg_url(dbname: str) -> str:
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    return f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{dbname}"


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A throwaway PostgreSQL database, migrated once for the whole session."""
    name = f"loomworks_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:  # pragma: no cover - the environment is broken
        pytest.fail(f"PostgreSQL is required for the store tests and is not reachable at {PG_ADMIN_DSN}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = _pg_url(name)
    db = Database(url)
    db.migrate()
    db.dispose()
    yield url
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies (cheaper than migrating per test)."""
    path = tmp_path_factory.mktemp("template") / "loomworks.db"
    db = Database(f"sqlite:///{path}")
    db.migrate()
    with db.engine.connect() as connection:
        connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    db.dispose()
    return path


def _truncate_all(url: str) -> None:
    db = Database(url, pool_size=1)
    names = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with db.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} CASCADE"))
    db.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A clean, migrated database: a fresh SQLite file, or the session's PostgreSQL database emptied."""
    if request.param == "sqlite":
        target = tmp_path / "db" / "loomworks.db"
        target.parent.mkdir()
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url = request.getfixturevalue("pg_database")
    _truncate_all(url)
    return url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key="test-secret-key-of-enough-length-0123456789",
        migrate_on_start=False,
        log_json=False,
        sandbox_check_on_start=False,
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def owner(client: TestClient) -> Console:
    """The first admin, after `/console/api/setup`, signed in."""
    response = client.post(
        "/console/api/setup", json={"email": OWNER_EMAIL, "name": "Owner", "password": OWNER_PASSWORD}
    )
    assert response.status_code == 201, response.text
    return Console(client, OWNER_EMAIL, OWNER_PASSWORD).login()


@pytest.fixture
def models() -> ScriptedModels:
    return ScriptedModels()


@pytest.fixture
def chat_client(settings: Settings, models: ScriptedModels) -> Iterator[TestClient]:
    state = build_state(settings, models=models, speech=ScriptedSpeech(), embed=scripted_embed)
    with TestClient(create_app(settings, state=state)) as test_client:
        yield test_client


@pytest.fixture
def chat_owner(chat_client: TestClient) -> Console:
    chat_client.post("/console/api/setup", json={"email": OWNER_EMAIL, "name": "Owner", "password": OWNER_PASSWORD})
    return Console(chat_client, OWNER_EMAIL, OWNER_PASSWORD).login()
