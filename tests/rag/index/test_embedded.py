"""The embedded vector index: the shared suite, plus persistence and crash safety."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import numpy as np
import pytest

from loomworks.rag.index import IndexEntry
from loomworks.rag.index.embedded import EmbeddedVectorIndex
from tests.rag.index._suites import VectorIndexSuite


class TestEmbeddedVectorIndex(VectorIndexSuite):
    @pytest.fixture
    def index(self, tmp_path: Path) -> EmbeddedVectorIndex:
        return EmbeddedVectorIndex(tmp_path / "vectors")


def _entry(i: int, document: str = "d") -> IndexEntry:
    return IndexEntry(f"n{i}", f"s{i}", document)


def test_a_new_instance_reads_what_another_wrote(tmp_path: Path) -> None:
    writer, reader = EmbeddedVectorIndex(tmp_path), EmbeddedVectorIndex(tmp_path)
    writer.add("ds", [_entry(1), _entry(2)], [[1.0, 0.0], [0.0, 1.0]])
    assert [h.node_id for h in reader.search("ds", [0.0, 1.0], top_k=1)] == ["n2"]
    writer.delete("ds", ["n2"])  # the reader notices the changed manifest
    assert [h.node_id for h in reader.search("ds", [0.0, 1.0], top_k=5)] == ["n1"]
    fresh = EmbeddedVectorIndex(tmp_path)
    assert fresh.node_ids("ds", "d") == {"n1"}


def test_a_part_written_without_its_manifest_is_ignored(tmp_path: Path) -> None:
    """A crash between writing a part and the manifest leaves the previous state intact."""
    index = EmbeddedVectorIndex(tmp_path)
    index.add("ds", [_entry(1)], [[1.0, 0.0]])
    directory = tmp_path / "ds"
    np.save(directory / "p000002.npy", np.asarray([[0.0, 1.0]], dtype=np.float32))
    (directory / "p000002.json").write_text(json.dumps([["ghost", "s", "d"]]))
    reopened = EmbeddedVectorIndex(tmp_path)
    assert [h.node_id for h in reopened.search("ds", [0.0, 1.0], top_k=5)] == ["n1"]
    reopened.add("ds", [_entry(3)], [[0.0, 1.0]])  # the next part overwrites the orphan's name
    assert [h.node_id for h in EmbeddedVectorIndex(tmp_path).search("ds", [0.0, 1.0], top_k=5)] == ["n3", "n1"]


def test_compaction_keeps_live_rows_only(tmp_path: Path) -> None:
    index = EmbeddedVectorIndex(tmp_path)
    rng = np.random.default_rng(3)
    for batch in range(70):  # more parts than the compaction threshold
        index.add("ds", [_entry(batch)], rng.normal(size=(1, 8)).tolist())
    index.delete("ds", [f"n{i}" for i in range(0, 70, 2)])
    manifest = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    assert len(manifest["parts"]) < 70
    assert len(list((tmp_path / "ds").glob("p*.npy"))) == len(manifest["parts"])
    reopened = EmbeddedVectorIndex(tmp_path)
    assert reopened.node_ids("ds", "d") == {f"n{i}" for i in range(1, 70, 2)}
    assert len(reopened.search("ds", rng.normal(size=8).tolist(), top_k=100)) == 35


def test_wrong_dimensions_and_bad_ids_are_refused(tmp_path: Path) -> None:
    index = EmbeddedVectorIndex(tmp_path)
    index.add("ds", [_entry(1)], [[1.0, 0.0]])
    with pytest.raises(ValueError, match="dimensions"):
        index.add("ds", [_entry(2)], [[1.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match="dimensions"):
        index.search("ds", [1.0, 0.0, 0.0], top_k=1)
    with pytest.raises(ValueError, match="invalid dataset id"):
        index.add("../escape", [_entry(1)], [[1.0, 0.0]])
    assert str(uuid.uuid4())  # ids are uuids in practice
