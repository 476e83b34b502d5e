"""An exact vector index in files under the data dir: cosine similarity over a float32 matrix.

Layout of one dataset's directory:

    manifest.json      {"dim", "seq", "parts": [...], "tombstones": {node_id: seq}}
    p000001.npy        float32 rows (L2-normalised) appended by one `add`
    p000001.json       [[node_id, segment_id, document_id], ...] for those rows

Parts are append-only and written before the manifest names them; the manifest is replaced
atomically (temp file, fsync, rename), so a crash leaves either the old or the new state and at
worst an unreferenced part file. A node's newest row wins; a tombstone hides the rows of a node
written at or before its sequence number. Many parts or many tombstones trigger a compaction into
one part. Searching is a single matrix-vector product (about 8 ms for 100k x 384 on one core).

One process writes a dataset at a time (the embedded mode); other instances in the same process or
readers in other processes notice a changed manifest and reload.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from collections.abc import Collection, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

# numpy (~80 ms, ~15 MB) is imported inside the methods that use it, so `serve` starts without it.
if TYPE_CHECKING:
    import numpy as np

from loomworks.rag.index import IndexEntry, IndexHit

_COMPACT_PARTS = 64


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _npy_bytes(matrix: np.ndarray[Any, Any]) -> bytes:
    import io

    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, matrix, allow_pickle=False)
    return buffer.getvalue()


class _Collection:
    """The in-memory state of one dataset: a growable matrix, row metadata and a live mask."""

    def __init__(self, dim: int | None) -> None:
        import numpy as np

        self.dim = dim
        self.matrix = np.zeros((0, dim or 0), dtype=np.float32)
        self.size = 0
        self.alive = np.zeros(0, dtype=bool)
        self.doc_codes = np.zeros(0, dtype=np.int32)
        self.meta: list[IndexEntry] = []
        self.row_of: dict[str, int] = {}
        self.doc_code: dict[str, int] = {}
        self.doc_rows: dict[str, set[int]] = {}

    def _grow(self, extra: int) -> None:
        import numpy as np

        needed = self.size + extra
        if needed <= self.matrix.shape[0]:
            return
        capacity = max(needed, self.matrix.shape[0] * 2, 256)
        matrix = np.zeros((capacity, self.dim or 0), dtype=np.float32)
        matrix[: self.size] = self.matrix[: self.size]
        alive = np.zeros(capacity, dtype=bool)
        alive[: self.size] = self.alive[: self.size]
        codes = np.zeros(capacity, dtype=np.int32)
        codes[: self.size] = self.doc_codes[: self.size]
        self.matrix, self.alive, self.doc_codes = matrix, alive, codes

    def append(self, entries: Sequence[IndexEntry], rows: np.ndarray[Any, Any]) -> None:
        import numpy as np

        if self.dim is None:
            self.dim = int(rows.shape[1])
            self.matrix = np.zeros((0, self.dim), dtype=np.float32)
        self._grow(len(entries))
        start = self.size
        self.matrix[start : start + len(entries)] = rows
        for offset, entry in enumerate(entries):
            row = start + offset
            self.kill(entry.node_id)
            code = self.doc_code.setdefault(entry.document_id, len(self.doc_code))
            self.doc_codes[row] = code
            self.alive[row] = True
            self.row_of[entry.node_id] = row
            self.doc_rows.setdefault(entry.document_id, set()).add(row)
            self.meta.append(entry)
        self.size += len(entries)

    def kill(self, node_id: str) -> None:
        row = self.row_of.pop(node_id, None)
        if row is not None:
            self.alive[row] = False
            self.doc_rows.get(self.meta[row].document_id, set()).discard(row)

    def live_rows(self) -> list[int]:
        import numpy as np

        return [int(i) for i in np.flatnonzero(self.alive[: self.size])]


class EmbeddedVectorIndex:
    """`VectorIndex` over files in `root` (one directory per dataset); thread-safe.

    Args:
        root: the directory holding the collections, e.g. `<data_dir>/vectors`.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._locks: dict[str, threading.RLock] = {}
        self._collections: dict[str, _Collection] = {}
        self._stamps: dict[str, tuple[int, int] | None] = {}
        self._manifests: dict[str, dict[str, Any]] = {}

    # -- files ----------------------------------------------------------------------------------

    def _dir(self, dataset_id: str) -> Path:
        if not dataset_id or "/" in dataset_id or "\\" in dataset_id or dataset_id.startswith("."):
            raise ValueError(f"invalid dataset id {dataset_id!r}")
        return self.root / dataset_id

    def _dataset_lock(self, dataset_id: str) -> threading.RLock:
        with self._lock:
            return self._locks.setdefault(dataset_id, threading.RLock())

    @staticmethod
    def _stamp(path: Path) -> tuple[int, int] | None:
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        return (stat.st_mtime_ns, stat.st_size)

    def _read_manifest(self, directory: Path) -> dict[str, Any]:
        try:
            return dict(json.loads((directory / "manifest.json").read_text()))
        except FileNotFoundError:
            return {"dim": None, "seq": 0, "parts": [], "tombstones": {}}

    def _write_manifest(self, dataset_id: str, manifest: dict[str, Any]) -> None:
        directory = self._dir(dataset_id)
        _write_atomic(directory / "manifest.json", json.dumps(manifest).encode())
        _fsync_dir(directory)
        self._stamps[dataset_id] = self._stamp(directory / "manifest.json")
        self._manifests[dataset_id] = manifest

    def _load(self, dataset_id: str) -> tuple[_Collection, dict[str, Any]]:
        """The collection, reloaded from disk when the manifest changed since we last saw it."""
        import numpy as np

        directory = self._dir(dataset_id)
        stamp = self._stamp(directory / "manifest.json")
        cached = self._collections.get(dataset_id)
        if cached is not None and dataset_id in self._stamps and self._stamps[dataset_id] == stamp:
            return cached, self._manifests[dataset_id]
        manifest = self._read_manifest(directory)
        collection = _Collection(manifest.get("dim"))
        tombstones: dict[str, int] = manifest.get("tombstones", {})
        for part in manifest["parts"]:
            seq = int(part[1:])
            rows = np.load(directory / f"{part}.npy", allow_pickle=False)
            meta = [IndexEntry(*item) for item in json.loads((directory / f"{part}.json").read_text())]
            collection.append(meta, rows)
            for row, entry in zip(range(collection.size - len(meta), collection.size), meta, strict=True):
                if tombstones.get(entry.node_id, -1) >= seq and collection.row_of.get(entry.node_id) == row:
                    collection.kill(entry.node_id)
        self._collections[dataset_id] = collection
        self._stamps[dataset_id] = stamp
        self._manifests[dataset_id] = manifest
        return collection, manifest

    # -- VectorIndex ----------------------------------------------------------------------------

    def add(self, dataset_id: str, entries: Sequence[IndexEntry], vectors: Sequence[Sequence[float]]) -> None:
        """Append `entries` as a new part (replacing older rows of the same nodes)."""
        import numpy as np

        if len(entries) != len(vectors):
            raise ValueError("entries and vectors differ in length")
        if not entries:
            return
        rows = np.asarray(vectors, dtype=np.float32)
        if rows.ndim != 2:
            raise ValueError("vectors must be a list of equal-length lists")
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        rows = rows / np.where(norms == 0, 1.0, norms)
        with self._dataset_lock(dataset_id):
            collection, manifest = self._load(dataset_id)
            if manifest["dim"] is not None and manifest["dim"] != rows.shape[1]:
                raise ValueError(
                    f"vectors have {rows.shape[1]} dimensions; this dataset's index holds {manifest['dim']}"
                )
            directory = self._dir(dataset_id)
            directory.mkdir(parents=True, exist_ok=True)
            seq = int(manifest["seq"]) + 1
            name = f"p{seq:06d}"
            meta = [[e.node_id, e.segment_id, e.document_id] for e in entries]
            _write_atomic(directory / f"{name}.npy", _npy_bytes(rows))
            _write_atomic(directory / f"{name}.json", json.dumps(meta).encode())
            manifest = {**manifest, "dim": int(rows.shape[1]), "seq": seq, "parts": [*manifest["parts"], name]}
            self._write_manifest(dataset_id, manifest)
            collection.append(list(entries), rows)
            if len(manifest["parts"]) > _COMPACT_PARTS or len(manifest["tombstones"]) > max(1000, collection.size):
                self._compact(dataset_id, collection, manifest)

    def _tombstone(self, dataset_id: str, node_ids: list[str]) -> None:
        collection, manifest = self._load(dataset_id)
        present = [n for n in node_ids if n in collection.row_of]
        if not present:
            return
        seq = int(manifest["seq"])
        manifest = {**manifest, "tombstones": {**manifest["tombstones"], **dict.fromkeys(present, seq)}}
        self._write_manifest(dataset_id, manifest)
        for node_id in present:
            collection.kill(node_id)
        if len(manifest["tombstones"]) > max(1000, len(collection.row_of)):
            self._compact(dataset_id, collection, manifest)

    def delete(self, dataset_id: str, node_ids: Iterable[str]) -> None:
        """Hide nodes by id (tombstones; the rows go at the next compaction)."""
        with self._dataset_lock(dataset_id):
            self._tombstone(dataset_id, list(node_ids))

    def delete_documents(self, dataset_id: str, document_ids: Iterable[str]) -> None:
        """Hide every node of the given documents."""
        with self._dataset_lock(dataset_id):
            collection, _ = self._load(dataset_id)
            ids = [collection.meta[row].node_id for d in document_ids for row in collection.doc_rows.get(d, ())]
            self._tombstone(dataset_id, ids)

    def node_ids(self, dataset_id: str, document_id: str) -> set[str]:
        """Ids of the live nodes of one document."""
        with self._dataset_lock(dataset_id):
            collection, _ = self._load(dataset_id)
            return {collection.meta[row].node_id for row in collection.doc_rows.get(document_id, ())}

    def drop(self, dataset_id: str) -> None:
        """Delete the dataset's directory."""
        with self._dataset_lock(dataset_id):
            shutil.rmtree(self._dir(dataset_id), ignore_errors=True)
            self._collections.pop(dataset_id, None)
            self._stamps.pop(dataset_id, None)
            self._manifests.pop(dataset_id, None)

    def search(
        self,
        dataset_id: str,
        vector: Sequence[float],
        *,
        top_k: int,
        document_ids: Collection[str] | None = None,
    ) -> list[IndexHit]:
        """Exact top-`top_k` by cosine similarity."""
        import numpy as np

        with self._dataset_lock(dataset_id):
            collection, _ = self._load(dataset_id)
            size = collection.size
            if size == 0 or top_k <= 0:
                return []
            query = np.asarray(vector, dtype=np.float32)
            if query.shape != (collection.dim,):
                raise ValueError(f"the query has {query.shape[-1]} dimensions; the index holds {collection.dim}")
            norm = float(np.linalg.norm(query))
            if norm == 0:
                return []
            scores = collection.matrix[:size] @ (query / norm)
            if document_ids is not None:
                codes = [collection.doc_code[d] for d in document_ids if d in collection.doc_code]
                mask = collection.alive[:size] & np.isin(collection.doc_codes[:size], np.asarray(codes, dtype=np.int32))
            else:
                mask = collection.alive[:size]
            live = len(collection.row_of) if document_ids is None else int(mask.sum())
            if live < size:  # skip the masking pass when every row is live (the common case)
                scores[~mask] = -np.inf
            k = min(top_k, live)
            if k == 0:
                return []
            top = np.argpartition(scores, size - k)[size - k :] if k < size else np.arange(size)
            top = top[np.argsort(-scores[top], kind="stable")][:k]
            return [
                IndexHit(
                    node_id=collection.meta[i].node_id,
                    segment_id=collection.meta[i].segment_id,
                    document_id=collection.meta[i].document_id,
                    score=float(min(scores[i], 1.0)),
                )
                for i in top
                if np.isfinite(scores[i])
            ]

    # -- bulk reads (`migrate-data`) ------------------------------------------------------------

    def collections(self) -> list[str]:
        """The ids of the datasets that have a collection on disk, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(
            p.name for p in self.root.iterdir() if not p.name.startswith(".") and (p / "manifest.json").is_file()
        )

    def export(
        self, dataset_id: str, *, batch_size: int = 1000
    ) -> Iterator[tuple[list[IndexEntry], np.ndarray[Any, Any]]]:
        """The live nodes of a dataset and their stored (unit-length) vectors, in batches of `batch_size`.

        The batches are a snapshot taken when iteration starts: writes made meanwhile are not seen.
        """
        if batch_size <= 0:
            raise ValueError("batch_size must be positive")
        with self._dataset_lock(dataset_id):
            collection, _ = self._load(dataset_id)
            rows = collection.live_rows()
            matrix = collection.matrix[rows]  # fancy indexing copies: later writes cannot change it
            meta = [collection.meta[r] for r in rows]
        for start in range(0, len(meta), batch_size):
            yield meta[start : start + batch_size], matrix[start : start + batch_size]

    # -- maintenance ----------------------------------------------------------------------------

    def _compact(self, dataset_id: str, collection: _Collection, manifest: dict[str, Any]) -> None:
        """Rewrite the live rows as one part, then remove the old parts (and any orphans)."""
        directory = self._dir(dataset_id)
        rows = collection.live_rows()
        seq = int(manifest["seq"]) + 1
        name = f"p{seq:06d}"
        _write_atomic(directory / f"{name}.npy", _npy_bytes(collection.matrix[rows]))
        meta = [
            [collection.meta[r].node_id, collection.meta[r].segment_id, collection.meta[r].document_id] for r in rows
        ]
        _write_atomic(directory / f"{name}.json", json.dumps(meta).encode())
        fresh = {"dim": manifest["dim"], "seq": seq, "parts": [name], "tombstones": {}}
        self._write_manifest(dataset_id, fresh)
        for path in directory.iterdir():
            if path.name.startswith("p") and path.stem != name:
                path.unlink(missing_ok=True)
        rebuilt = _Collection(collection.dim)
        rebuilt.append([collection.meta[r] for r in rows], collection.matrix[rows])
        self._collections[dataset_id] = rebuilt
