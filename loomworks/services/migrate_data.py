"""`loomworks migrate-data`: copy an embedded install (SQLite, its files, its vectors) to the scaled stores.

Rows are copied table by table in foreign-key order (parents before children), in batches, inside
one transaction per table on the target; the target is migrated first and must be empty, so a
half-finished copy is re-run from scratch with `--force` rather than merged. Files go from the
local storage directory to the target storage (S3 when the settings name it). The embedded vector
index is a directory of files under the data dir; it is copied to the target data dir, from which
a server using the embedded index reads it (a pgvector target re-embeds with the reindex job).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select, text

from loomworks.store.db import Database
from loomworks.store.storage import LocalStorage, Storage
from loomworks.store.tables import Base


class TargetNotEmptyError(RuntimeError):
    """The target database already holds rows (pass `force` to empty it first)."""


@dataclass
class MigrationReport:
    rows: dict[str, int] = field(default_factory=dict)
    files: int = 0
    vector_files: int = 0

    def summary(self) -> str:
        total = sum(self.rows.values())
        return f"{total} rows in {len(self.rows)} tables, {self.files} files, {self.vector_files} vector index files"


def _local_keys(root: Path) -> Iterator[str]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.name.endswith(".part"):
            yield path.relative_to(root).as_posix()


def migrate_data(
    *,
    source: Database,
    target: Database,
    source_storage: LocalStorage | None = None,
    target_storage: Storage | None = None,
    source_data_dir: Path | None = None,
    target_data_dir: Path | None = None,
    force: bool = False,
    batch_size: int = 1000,
) -> MigrationReport:
    """Copy every table's rows, then the files and the vector index; returns what was copied."""
    report = MigrationReport()
    target.migrate()
    tables = list(Base.metadata.sorted_tables)
    with target.engine.begin() as connection:
        filled = [t.name for t in tables if connection.execute(select(func.count()).select_from(t)).scalar()]
        if filled and not force:
            raise TargetNotEmptyError(f"the target already has rows in {', '.join(filled[:5])}")
        if filled:
            if target.is_sqlite:
                for table in reversed(tables):
                    connection.execute(table.delete())
            else:
                names = ", ".join(f'"{t.name}"' for t in tables)
                connection.execute(text(f"TRUNCATE {names} CASCADE"))
    for table in tables:
        copied = 0
        with source.engine.connect() as reader, target.engine.begin() as writer:
            result = reader.execution_options(stream_results=True).execute(select(table))
            while True:
                rows = result.mappings().fetchmany(batch_size)
                if not rows:
                    break
                writer.execute(table.insert(), [dict(row) for row in rows])
                copied += len(rows)
        report.rows[table.name] = copied
    if source_storage is not None and target_storage is not None:
        for key in _local_keys(source_storage.root):
            target_storage.save(key, source_storage.load(key))
            report.files += 1
    if source_data_dir is not None and target_data_dir is not None:
        vectors = source_data_dir / "vectors"
        if vectors.is_dir() and vectors.resolve() != (target_data_dir / "vectors").resolve():
            shutil.copytree(vectors, target_data_dir / "vectors", dirs_exist_ok=True)
            report.vector_files = sum(1 for path in vectors.rglob("*") if path.is_file())
    return report
