"""Migrations: they build the schema the ORM expects, on SQLite and PostgreSQL, and re-runs are no-ops."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from loomworks.store.db import Database
from loomworks.store.tables import Base


def test_schema_matches_models(database_url: str) -> None:
    db = Database(database_url, pool_size=1)
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = [
            d
            for d in compare_metadata(context, Base.metadata)
            if not (d[0] == "remove_table" and d[1].name == "loomworks_schema")
        ]
    db.dispose()
    assert diff == []


def test_migrate_is_idempotent_and_recovers_a_lost_marker(database_url: str) -> None:
    db = Database(database_url, pool_size=1)
    db.migrate()
    db.migrate()
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM loomworks_schema"))
    db.migrate()  # no marker: Alembic runs again and finds nothing to do
    names = set(inspect(db.engine).get_table_names())
    db.dispose()
    assert {"accounts", "tenants", "apps", "api_tokens", "upload_files", "alembic_version"} <= names


def test_fresh_database_is_built_from_nothing(tmp_path: object) -> None:
    db = Database(f"sqlite:///{tmp_path}/fresh.db", pool_size=1)
    db.migrate()
    with db.engine.connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        journal = connection.execute(text("PRAGMA journal_mode")).scalar()
    db.dispose()
    assert versions
    assert journal == "wal"
