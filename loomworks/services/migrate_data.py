"""`loomworks migrate-data`: copy an embedded install (SQLite, its files, its indexes) to the scaled stores.

Order of work, every step against a target that was found empty (or emptied with `force`):

1. Rows, table by table in foreign-key order (parents before children), in batches, inside one
   transaction per table on the target, which is migrated first.
2. The keyword index. It lives in the database, but in the index's own tables (not the ORM
   model), so step 1 does not copy it: its nodes and texts are read from SQLite FTS5 and written
   to the target's keyword index (PostgreSQL tsvector), which ranks them itself.
3. Files, from the local storage directory to the target storage (S3 when the settings name it).
4. Vectors. With a pgvector target, every collection of the embedded index is read (ids, segment
   and document ids, the stored unit vectors) and upserted into pgvector in batches; nothing is
   re-embedded and no model is called. HNSW indexes are built once per collection after its rows
   are in. Otherwise the embedded index directory is copied to the target data dir.
5. The data dir's keys (`master.key` seals the copied credentials, `secret_key` signs tokens),
   when the target has its own data dir and lacks them.

A target that holds anything (rows, keyword entries, pgvector collections, vector files, other
keys) is refused before anything is written; `force` empties it first. Every write is keyed
(primary keys, node ids), so a forced re-run after a crash ends in the same state as one clean
run, with nothing duplicated.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, func, select, text

from loomworks.rag.index import IndexEntry
from loomworks.rag.index.embedded import EmbeddedVectorIndex
from loomworks.rag.index.keyword import SqliteKeywordIndex, keyword_index_for
from loomworks.store.db import Database
from loomworks.store.storage import LocalStorage, Storage
from loomworks.store.tables import Base

if TYPE_CHECKING:
    import numpy as np

    from loomworks.rag.index.keyword import PostgresKeywordIndex
    from loomworks.rag.index.pgvector import PgVectorIndex

KEY_FILES = ("master.key", "secret_key")


class TargetNotEmptyError(RuntimeError):
    """The target already holds data (pass `force` to empty it first)."""


@dataclass
class MigrationReport:
    """What one migration copied.

    `vectors` maps each dataset of the embedded index to the vectors its pgvector collection holds
    after the copy; it is None when the vectors went to the target as index files instead.
    """

    rows: dict[str, int] = field(default_factory=dict)
    files: int = 0
    vector_files: int = 0
    vectors: dict[str, int] | None = None
    keyword_nodes: int = 0
    key_files: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the command's output."""
        parts = [f"{sum(self.rows.values())} rows in {len(self.rows)} tables", f"{self.files} files"]
        if self.vectors is None:
            parts.append(f"{self.vector_files} vector index files")
        else:
            shown = ", ".join(f"{dataset}: {count}" for dataset, count in self.vectors.items())
            collections = f"{len(self.vectors)} collection{'' if len(self.vectors) == 1 else 's'}"
            parts.append(f"{sum(self.vectors.values())} vectors in {collections}" + (f" ({shown})" if shown else ""))
        parts.append(f"{self.keyword_nodes} keyword index entries")
        if self.key_files:
            parts.append(f"keys {', '.join(self.key_files)}")
        return ", ".join(parts)


@dataclass
class _Plan:
    """The stores one migration reads and writes."""

    source: Database
    target: Database
    tables: list[Table]
    source_keywords: SqliteKeywordIndex | None
    target_keywords: SqliteKeywordIndex | PostgresKeywordIndex
    target_vectors: PgVectorIndex | None
    source_data_dir: Path | None
    target_data_dir: Path | None

    @property
    def vector_dirs(self) -> tuple[Path, Path] | None:
        """(source, target) index directories when the index is copied as files."""
        if self.target_vectors is not None or self.source_data_dir is None or self.target_data_dir is None:
            return None
        source, target = self.source_data_dir / "vectors", self.target_data_dir / "vectors"
        return None if source.resolve() == target.resolve() else (source, target)

    @property
    def key_dirs(self) -> tuple[Path, Path] | None:
        """(source, target) data dirs when the keys must follow the data."""
        if self.source_data_dir is None or self.target_data_dir is None:
            return None
        if self.source_data_dir.resolve() == self.target_data_dir.resolve():
            return None
        return self.source_data_dir, self.target_data_dir


def migrate_data(
    *,
    source: Database,
    target: Database,
    source_storage: LocalStorage | None = None,
    target_storage: Storage | None = None,
    source_data_dir: Path | None = None,
    target_data_dir: Path | None = None,
    target_vectors: PgVectorIndex | None = None,
    force: bool = False,
    batch_size: int = 1000,
) -> MigrationReport:
    """Copy every table's rows, the keyword index, the files, the vectors and the keys.

    Args:
        source / target: the embedded install's database and the scaled one (migrated here).
        source_storage / target_storage: where files are read and written; None copies none.
        source_data_dir: the embedded install's data dir (its vector index is `<dir>/vectors`).
        target_data_dir: the scaled install's data dir, for the vector index files (without
            `target_vectors`) and the keys; None copies neither.
        target_vectors: the pgvector index the scaled install uses; the embedded index's vectors
            are loaded into it.
        force: empty a target that holds data instead of refusing it.
        batch_size: rows, keyword entries or vectors per write.

    Raises:
        TargetNotEmptyError: the target holds data and `force` is off; no data was written (the
            target's schema and index tables exist by then).
    """
    target.migrate()
    target_keywords = keyword_index_for(target.engine)
    target_keywords.ensure()
    source_keywords = SqliteKeywordIndex(source.engine) if source.is_sqlite else None
    if source_keywords is not None:
        source_keywords.ensure()  # what the embedded server does at every start; a no-op on a used install
    plan = _Plan(
        source=source,
        target=target,
        tables=list(Base.metadata.sorted_tables),
        source_keywords=source_keywords,
        target_keywords=target_keywords,
        target_vectors=target_vectors,
        source_data_dir=source_data_dir,
        target_data_dir=target_data_dir,
    )
    filled = _filled(plan)
    if filled and not force:
        raise TargetNotEmptyError(f"the target is not empty ({'; '.join(filled)})")
    if filled:
        _empty(plan)
    report = MigrationReport()
    report.rows = _copy_rows(plan, batch_size)
    report.keyword_nodes = _copy_keywords(plan, batch_size)
    if source_storage is not None and target_storage is not None:
        for key in _local_keys(source_storage.root):
            target_storage.save(key, source_storage.load(key))
            report.files += 1
    if target_vectors is not None:
        report.vectors = _copy_vectors(plan, target_vectors, batch_size)
    elif (dirs := plan.vector_dirs) is not None and dirs[0].is_dir():
        shutil.copytree(dirs[0], dirs[1], dirs_exist_ok=True)
        report.vector_files = sum(1 for path in dirs[0].rglob("*") if path.is_file())
    report.key_files = _copy_keys(plan)
    return report


# -- the target's state ---------------------------------------------------------------------------


def _filled(plan: _Plan) -> list[str]:
    """What the target already holds, one phrase per store (empty when it holds nothing)."""
    filled: list[str] = []
    with plan.target.engine.connect() as connection:
        tables = [t.name for t in plan.tables if connection.execute(select(func.count()).select_from(t)).scalar()]
        if tables:
            filled.append(f"rows in {', '.join(tables[:5])}{', …' if len(tables) > 5 else ''}")
        keyword_datasets = plan.target_keywords.datasets(connection)
    if keyword_datasets:
        filled.append(f"keyword index entries of {_datasets(len(keyword_datasets))}")
    if plan.target_vectors is not None:
        collections = list(plan.target_vectors.collections())  # even an empty one: its dimension is fixed
        if collections:
            filled.append(f"pgvector collections of {_datasets(len(collections))}")
    if (dirs := plan.vector_dirs) is not None and dirs[1].is_dir() and any(dirs[1].iterdir()):
        filled.append(f"vector index files in {dirs[1]}")
    if (key_dirs := plan.key_dirs) is not None:
        for name in KEY_FILES:
            theirs, ours = key_dirs[1] / name, key_dirs[0] / name
            if theirs.is_file() and ours.is_file() and theirs.read_bytes() != ours.read_bytes():
                filled.append(f"a different {name} in {key_dirs[1]}")
    return filled


def _datasets(count: int) -> str:
    return f"{count} dataset{'' if count == 1 else 's'}"


def _empty(plan: _Plan) -> None:
    """Remove everything the target holds (`force`)."""
    with plan.target.engine.begin() as connection:
        if plan.target.is_sqlite:
            for table in reversed(plan.tables):
                connection.execute(table.delete())
        else:
            names = ", ".join(f'"{t.name}"' for t in plan.tables)
            connection.execute(text(f"TRUNCATE {names} CASCADE"))
        for dataset_id in plan.target_keywords.datasets(connection):
            plan.target_keywords.drop(connection, dataset_id)
    if plan.target_vectors is not None:
        for dataset_id in plan.target_vectors.collections():
            plan.target_vectors.drop(dataset_id)
    if (dirs := plan.vector_dirs) is not None and dirs[1].is_dir():
        shutil.rmtree(dirs[1])


# -- copies ---------------------------------------------------------------------------------------


def _copy_rows(plan: _Plan, batch_size: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in plan.tables:
        copied = 0
        with plan.source.engine.connect() as reader, plan.target.engine.begin() as writer:
            result = reader.execution_options(stream_results=True).execute(select(table))
            while True:
                rows = result.mappings().fetchmany(batch_size)
                if not rows:
                    break
                writer.execute(table.insert(), [dict(row) for row in rows])
                copied += len(rows)
        counts[table.name] = copied
    return counts


def _copy_keywords(plan: _Plan, batch_size: int) -> int:
    """Page through the source's keyword nodes by id; each page is one transaction on the target."""
    if plan.source_keywords is None:
        return 0
    copied, after = 0, ""
    while True:
        with plan.source.engine.connect() as reader:
            page = plan.source_keywords.export(reader, after=after, limit=batch_size)
        if not page:
            return copied
        by_dataset: dict[str, tuple[list[IndexEntry], list[str]]] = {}
        for dataset_id, entry, content in page:
            entries, texts = by_dataset.setdefault(dataset_id, ([], []))
            entries.append(entry)
            texts.append(content)
        with plan.target.engine.begin() as writer:
            for dataset_id, (entries, texts) in by_dataset.items():
                plan.target_keywords.add(writer, dataset_id, entries, texts)
        copied += len(page)
        after = page[-1][1].node_id


def _copy_vectors(plan: _Plan, target: PgVectorIndex, batch_size: int) -> dict[str, int]:
    """Load every collection of the embedded index into pgvector; the vectors each one holds afterwards."""
    if plan.source_data_dir is None or not (plan.source_data_dir / "vectors").is_dir():
        return {}
    source = EmbeddedVectorIndex(plan.source_data_dir / "vectors")
    counts: dict[str, int] = {}
    for dataset_id in source.collections():
        read = [0]
        held = target.load(dataset_id, _tallied(source.export(dataset_id, batch_size=batch_size), read))
        if held != read[0]:  # the target was emptied first and node ids are unique: only a concurrent writer
            raise RuntimeError(f"dataset {dataset_id}: {read[0]} vectors read but pgvector holds {held}")
        counts[dataset_id] = held
    return counts


def _tallied(
    batches: Iterator[tuple[list[IndexEntry], np.ndarray[Any, Any]]], tally: list[int]
) -> Iterator[tuple[Sequence[IndexEntry], np.ndarray[Any, Any]]]:
    """`batches` as they are, counting their entries into `tally[0]`."""
    for entries, vectors in batches:
        tally[0] += len(entries)
        yield entries, vectors


def _copy_keys(plan: _Plan) -> list[str]:
    if (dirs := plan.key_dirs) is None:
        return []
    copied = []
    dirs[1].mkdir(parents=True, exist_ok=True)
    for name in KEY_FILES:
        ours, theirs = dirs[0] / name, dirs[1] / name
        if ours.is_file() and (not theirs.is_file() or theirs.read_bytes() != ours.read_bytes()):
            shutil.copy2(ours, theirs)  # keeps the 0600 mode
            copied.append(name)
    return copied


def _local_keys(root: Path) -> Iterator[str]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.name.endswith(".part"):
            yield path.relative_to(root).as_posix()
