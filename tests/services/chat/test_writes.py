"""The answer path's writer: concurrent turns share a transaction, and one bad turn fails alone."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loomworks.services.chat._writes import RecordWriter
from loomworks.store.db import Database


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'writes.db'}")
    with database.engine.begin() as connection:
        connection.execute(text("CREATE TABLE rows (id INTEGER PRIMARY KEY, label TEXT)"))
    return database


def _row(row_id: int, label: str) -> Callable[[Session], None]:
    def add(session: Session) -> None:
        session.execute(text("INSERT INTO rows (id, label) VALUES (:i, :l)"), {"i": row_id, "l": label})

    return add


def _labels(db: Database) -> list[str]:
    with db.engine.connect() as connection:
        return list(connection.execute(text("SELECT label FROM rows ORDER BY id")).scalars())


def test_concurrent_writes_are_committed_together_and_visible_on_return(db: Database) -> None:
    commits: list[int] = []
    event.listen(db.engine, "commit", lambda _conn: commits.append(1))
    writer = RecordWriter(db)

    async def scenario() -> list[str]:
        await asyncio.gather(*(writer.write(_row(i, f"turn {i}")) for i in range(50)))
        return _labels(db)

    try:
        seen = asyncio.run(scenario())
    finally:
        writer.close()
    assert seen == [f"turn {i}" for i in range(50)]  # every row is there as soon as the awaits return
    assert 1 <= len(commits) < 50  # turns that arrived together shared transactions


def test_a_failing_turn_fails_alone(db: Database) -> None:
    writer = RecordWriter(db)

    async def scenario() -> list[BaseException | None]:
        await writer.write(_row(1, "first"))
        results = await asyncio.gather(
            writer.write(_row(2, "ok a")),
            writer.write(_row(1, "duplicate")),
            writer.write(_row(3, "ok b")),
            return_exceptions=True,
        )
        return list(results)

    try:
        results = asyncio.run(scenario())
    finally:
        writer.close()
    assert results[0] is None
    assert results[2] is None
    assert isinstance(results[1], IntegrityError)
    assert _labels(db) == ["first", "ok a", "ok b"]
