"""Database engine and sessions for the embedded (SQLite WAL) and scaled (PostgreSQL) modes."""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
log = logging.getLogger("loomworks.store")


class MigrationError(RuntimeError):
    """The schema upgrade failed (in the child process that ran it; its error is in the log)."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the one writer; NORMAL is durable across process crashes in WAL mode.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> Engine:
    """Create an engine for `url` with the settings each backend needs.

    SQLite: WAL journal, foreign keys on, a busy timeout so concurrent writers wait instead of
    failing, and connections usable from the server's worker threads. PostgreSQL: psycopg 3 with
    a pre-pinged pool.
    """
    if url.startswith("sqlite"):
        if ":memory:" in url or url.endswith("sqlite://"):
            raise ValueError("in-memory SQLite is not supported: each connection would see its own database")
        path = url.split("///", 1)[-1]
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 5},
            pool_size=pool_size,
            max_overflow=pool_size * 2,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=True)


class Database:
    """An engine plus a session factory; one per process, passed to whoever needs it."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits when the block ends and rolls back on any error."""
        with self.sessions() as session, session.begin():
            yield session

    def migrate(self, *, in_child: bool = False) -> None:
        """Apply every migration not applied yet (Alembic `upgrade heads`).

        Alembic costs a few hundred milliseconds to import and scan; when the database already
        records the heads that these exact migration files produced last time, it is skipped.

        Args:
            in_child: run a pending upgrade in a forked child process, so that Alembic and Mako
                (~14 MB that would stay for the life of a server) never load into this one. Only
                where a fork is safe: this process runs no other thread. Otherwise it runs here.

        Raises:
            MigrationError: the upgrade failed in the child process.
        """
        fingerprint = _migrations_fingerprint()
        recorded = _recorded_heads(self.engine, fingerprint)
        if recorded is not None and recorded == _current_versions(self.engine):
            return
        if in_child and hasattr(os, "fork") and threading.active_count() == 1:
            self._migrate_in_child(fingerprint)
            return
        upgrade(self.engine)
        _record_heads(self.engine, fingerprint)

    def _migrate_in_child(self, fingerprint: str) -> None:
        # The child opens its own connection: none of this pool's may be used on both sides of a fork.
        self.engine.dispose()
        # Flushed now, or the child would write out this process's buffered output a second time.
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
        pid = os.fork()
        if pid == 0:  # the child: upgrade, then leave without running this process's exit handlers
            status = 1
            try:
                engine = make_engine(self.url, pool_size=1)
                upgrade(engine)
                _record_heads(engine, fingerprint)
                engine.dispose()
                status = 0
            except BaseException:
                log.exception("database migration failed")
            finally:
                logging.shutdown()
                os._exit(status)
        _, wait_status = os.waitpid(pid, 0)
        status = os.waitstatus_to_exitcode(wait_status)
        if status != 0:
            raise MigrationError(f"database migration failed (child process exit status {status}); see the log")

    def dispose(self) -> None:
        self.engine.dispose()


def _migrations_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _current_versions(engine: Engine) -> frozenset[str] | None:
    try:
        with engine.connect() as connection:
            return frozenset(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
    except SQLAlchemyError:
        return None


def _recorded_heads(engine: Engine, fingerprint: str) -> frozenset[str] | None:
    try:
        with engine.connect() as connection:
            row = connection.execute(
                text("SELECT heads FROM loomworks_schema WHERE fingerprint = :f"), {"f": fingerprint}
            ).first()
    except SQLAlchemyError:
        return None
    return frozenset(row[0].split(",")) if row and row[0] else None


def _record_heads(engine: Engine, fingerprint: str) -> None:
    heads = _current_versions(engine) or frozenset()
    with engine.begin() as connection:
        connection.execute(
            text("CREATE TABLE IF NOT EXISTS loomworks_schema (fingerprint VARCHAR(64) PRIMARY KEY, heads TEXT)")
        )
        connection.execute(text("DELETE FROM loomworks_schema"))
        connection.execute(
            text("INSERT INTO loomworks_schema (fingerprint, heads) VALUES (:f, :h)"),
            {"f": fingerprint, "h": ",".join(sorted(heads))},
        )


def alembic_config(engine: Engine | None = None) -> Any:
    """Return an Alembic Config pointing at our migrations (and at `engine` when given)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    """Bring the schema of `engine`'s database up to date."""
    from alembic import command

    command.upgrade(alembic_config(engine), "heads")


def make_test_engine(url: str) -> Engine:
    """An engine without pooling, for tests that create and drop throwaway databases."""
    return create_engine(url, poolclass=NullPool)
