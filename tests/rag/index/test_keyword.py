"""Keyword indexes: SQLite FTS5 and PostgreSQL full text run the same suite on real databases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from loomworks.rag.index.keyword import PostgresKeywordIndex, SqliteKeywordIndex, keyword_index_for, query_words
from loomworks.store.db import Database
from tests.rag.index._suites import KeywordIndexSuite


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url, pool_size=2)
    yield database
    database.dispose()


class TestKeywordIndexes(KeywordIndexSuite):
    @pytest.fixture
    def index(self, db: Database) -> SqliteKeywordIndex | PostgresKeywordIndex:
        index = keyword_index_for(db.engine)
        index.ensure()
        index.ensure()  # idempotent
        return index

    @pytest.fixture
    def conn(self, db: Database, index: Any) -> Iterator[Any]:
        del index  # the tables must exist first
        with db.engine.connect() as connection:
            transaction = connection.begin()
            yield connection
            transaction.rollback()


def test_writes_roll_back_with_the_callers_transaction(db: Database) -> None:
    from loomworks.rag.index import IndexEntry

    index = keyword_index_for(db.engine)
    index.ensure()
    with db.engine.connect() as connection:
        with connection.begin() as transaction:
            index.add(connection, "ds-rollback", [IndexEntry("n", "s", "d")], ["ephemeral words"])
            transaction.rollback()
        with connection.begin():
            assert index.search(connection, "ds-rollback", "ephemeral", top_k=3) == []


def test_query_words_are_distinct_and_capped() -> None:
    assert query_words("Owls, owls and OWLS_at night!") == ["owls", "and", "at", "night"]
    assert len(query_words(" ".join(f"w{i}" for i in range(100)))) == 32
