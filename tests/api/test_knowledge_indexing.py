"""Indexing and retrieval through the knowledge API: real PDF/DOCX uploads, background jobs, hit-testing.

The server runs its in-process job runner; embeddings come from the scripted bag-of-words model
(the same seam the model runtime binds in production).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from loomworks.api.app import build_state, create_app
from loomworks.core.config import Settings
from loomworks.services.knowledge.indexing import KnowledgeRuntime
from loomworks.store.tables import ChildChunk, Segment
from loomworks.tasks.queue import PermanentJobError
from tests._console import OWNER_EMAIL, OWNER_PASSWORD, Console
from tests._scripted_model import scripted_embed
from tests.rag._documents import encrypt_pdf, make_docx, make_entity_docx, make_pdf, make_zip_bomb

QA = json.loads((Path(__file__).parents[1] / "fixtures" / "rag" / "handbook_qa.json").read_text())
RULE = {
    "mode": "custom",
    "rules": {
        "pre_processing_rules": [{"id": "remove_extra_spaces", "enabled": True}],
        "segmentation": {"separator": "\\n\\n", "max_tokens": 200, "chunk_overlap": 0},
    },
}


async def keyword_rerank(tenant_id: str, provider: str, model: str, query: str, documents: list[str]) -> list[float]:
    """A scripted rerank model: the share of query words found in each document."""
    words = set(query.lower().split())
    return [len(words & set(d.lower().split())) / max(len(words), 1) for d in documents]


@pytest.fixture
def rag_client(settings: Settings) -> Iterator[TestClient]:
    state = build_state(settings, embed=scripted_embed)
    runtime = KnowledgeRuntime.embedded(
        state.db, state.storage, settings.data_dir, embed=scripted_embed, rerank=keyword_rerank
    )
    runtime.register(state.extras["jobs"])
    state.extras["knowledge"] = runtime
    with TestClient(create_app(settings, state=state)) as client:
        yield client


@pytest.fixture
def console(rag_client: TestClient) -> Console:
    rag_client.post("/console/api/setup", json={"email": OWNER_EMAIL, "name": "Owner", "password": OWNER_PASSWORD})
    return Console(rag_client, OWNER_EMAIL, OWNER_PASSWORD).login()


@pytest.fixture
def key(console: Console) -> dict[str, str]:
    return {"Authorization": f"Bearer {console.post('/datasets/api-keys').json()['token']}"}


def _dataset(client: TestClient, key: dict[str, str], name: str = "Handbooks") -> str:
    body = {"name": name, "indexing_technique": "high_quality", "embedding_model": "bow-64"}
    body["embedding_model_provider"] = "scripted"
    created = client.post("/v1/datasets", headers=key, json=body)
    assert created.status_code == 200, created.text
    return str(created.json()["id"])


def _upload(client: TestClient, key: dict[str, str], dataset_id: str, name: str, data: bytes) -> Any:
    return client.post(
        f"/v1/datasets/{dataset_id}/document/create-by-file",
        headers=key,
        files={"file": (name, data)},
        data={"data": json.dumps({"indexing_technique": "high_quality", "process_rule": RULE})},
    )


def _wait(
    fetch: Any, *, done: tuple[str, ...] = ("completed", "error"), field: str = "indexing_status"
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 20
    while True:
        rows = fetch()
        if all(r[field] in done for r in rows):
            return rows
        assert time.monotonic() < deadline, rows
        time.sleep(0.05)


def _upload_handbooks(client: TestClient, key: dict[str, str], dataset_id: str) -> None:
    for name, data in (("handbook.pdf", make_pdf(QA["handbook.pdf"])), ("manual.docx", make_docx(QA["manual.docx"]))):
        created = _upload(client, key, dataset_id, name, data)
        assert created.status_code == 200, created.text
        batch = created.json()["batch"]
        url = f"/v1/datasets/{dataset_id}/documents/{batch}/indexing-status"
        (status,) = _wait(lambda url=url: client.get(url, headers=key).json()["data"])
        assert status["indexing_status"] == "completed", status
        assert status["total_segments"] == status["completed_segments"] == 5
        assert status["parsing_completed_at"] <= status["splitting_completed_at"] <= status["completed_at"]


def test_uploaded_pdf_and_docx_answer_the_test_questions(rag_client: TestClient, key: dict[str, str]) -> None:
    dataset_id = _dataset(rag_client, key)
    _upload_handbooks(rag_client, key, dataset_id)
    for search_method in ("semantic_search", "full_text_search", "hybrid_search"):
        for item in QA["questions"]:
            answer = rag_client.post(
                f"/v1/datasets/{dataset_id}/retrieve",
                headers=key,
                json={"query": item["question"], "retrieval_model": {"search_method": search_method, "top_k": 3}},
            )
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["query"] == {"content": item["question"]}
            first = body["records"][0]
            contents = [r["segment"]["content"] for r in body["records"]]
            assert item["expected"] in first["segment"]["content"], (search_method, item, contents)
            assert first["segment"]["document"]["name"] == item["document"]
            assert first["tsne_position"] is None
            assert 0 < first["score"] <= 1.0
            assert len(body["records"]) <= 3


def test_threshold_rerank_console_hit_testing_and_hit_counts(
    rag_client: TestClient, key: dict[str, str], console: Console
) -> None:
    dataset_id = _dataset(rag_client, key)
    _upload_handbooks(rag_client, key, dataset_id)
    url = f"/v1/datasets/{dataset_id}/retrieve"
    question = "How many weeks of parental leave do new parents receive?"
    strict = {"search_method": "semantic_search", "top_k": 10, "score_threshold_enabled": True, "score_threshold": 0.5}
    records = rag_client.post(url, headers=key, json={"query": question, "retrieval_model": strict}).json()["records"]
    assert records
    assert all(r["score"] >= 0.5 for r in records)
    loose = {**strict, "score_threshold_enabled": False}
    assert (
        len(rag_client.post(url, headers=key, json={"query": question, "retrieval_model": loose}).json()["records"])
        == 10
    )
    reranked = {
        "search_method": "hybrid_search",
        "reranking_mode": "reranking_model",
        "reranking_enable": True,
        "reranking_model": {"reranking_provider_name": "scripted", "reranking_model_name": "overlap"},
        "top_k": 2,
    }
    body = rag_client.post(url, headers=key, json={"query": question, "retrieval_model": reranked}).json()
    assert "16 weeks" in body["records"][0]["segment"]["content"]
    rrf = {"search_method": "hybrid_search", "reranking_mode": "rrf", "top_k": 1}
    body = rag_client.post(url, headers=key, json={"query": question, "retrieval_model": rrf}).json()
    assert "16 weeks" in body["records"][0]["segment"]["content"]
    assert body["records"][0]["score"] == 1.0
    from_console = console.post(f"/datasets/{dataset_id}/hit-testing", json={"query": question})
    assert from_console.status_code == 200, from_console.text
    assert "16 weeks" in from_console.json()["records"][0]["segment"]["content"]
    assert from_console.json()["records"][0]["segment"]["hit_count"] >= 4
    empty = rag_client.post(url, headers=key, json={"query": ""})
    assert (empty.status_code, empty.json()["params"]) == (400, "query")
    too_long = rag_client.post(url, headers=key, json={"query": "x" * 251})
    assert too_long.status_code == 400


def test_bad_files_fail_alone_and_leave_nothing_half_indexed(
    rag_client: TestClient, key: dict[str, str], console: Console
) -> None:
    dataset_id = _dataset(rag_client, key)
    exe = _upload(rag_client, key, dataset_id, "report.pdf", b"MZ\x90\x00\x03" + b"\x00" * 200)
    assert (exe.status_code, exe.json()["code"]) == (415, "unsupported_file_type")
    bomb = _upload(rag_client, key, dataset_id, "bomb.docx", make_zip_bomb())
    assert (bomb.status_code, bomb.json()["code"]) == (400, "unsafe_archive")
    files = {
        "locked.pdf": encrypt_pdf(make_pdf([["Top secret salary table"]])),
        "empty.txt": b"   \n\n  ",
        "laughs.docx": make_entity_docx(),
        "manual.docx": make_docx(QA["manual.docx"]),
    }
    ids = []
    for name, data in files.items():
        uploaded = console.post("/files/upload", params={"source": "datasets"}, files={"file": (name, data)})
        assert uploaded.status_code == 201, uploaded.text
        ids.append(uploaded.json()["id"])
    created = console.post(
        f"/datasets/{dataset_id}/documents",
        json={
            "data_source": {"type": "upload_file", "info_list": {"file_info_list": {"file_ids": ids}}},
            "process_rule": RULE,
        },
    )
    assert created.status_code == 200, created.text
    batch = created.json()["batch"]
    rows = _wait(lambda: console.get(f"/datasets/{dataset_id}/batch/{batch}/indexing-status").json()["data"])
    names = {d["id"]: d["name"] for d in created.json()["documents"]}
    by_name = {names[r["id"]]: r for r in rows}
    assert by_name["manual.docx"]["indexing_status"] == "completed"
    assert "encrypted" in by_name["locked.pdf"]["error"]
    assert "empty" in by_name["empty.txt"]["error"]
    assert "XML entities" in by_name["laughs.docx"]["error"]
    for name in ("locked.pdf", "empty.txt", "laughs.docx"):
        assert by_name[name]["indexing_status"] == "error"
        assert by_name[name]["total_segments"] == 0
    listed = console.get(f"/datasets/{dataset_id}/documents").json()["data"]
    assert {d["name"]: d["display_status"] for d in listed}["laughs.docx"] == "error"
    # The failed documents can be retried; they fail again the same clear way.
    laughs_id = next(i for i, n in names.items() if n == "laughs.docx")
    assert console.post(f"/datasets/{dataset_id}/retry", json={"document_ids": [laughs_id]}).status_code == 204
    (again,) = _wait(lambda: [console.get(f"/datasets/{dataset_id}/documents/{laughs_id}/indexing-status").json()])
    assert again["indexing_status"] == "error"
    assert "XML entities" in again["error"]
    with rag_client.app.state.loom.db.session() as session:  # type: ignore[attr-defined]
        assert session.query(Segment).filter_by(dataset_id=dataset_id).count() == 5  # the manual's only


def test_segment_edits_keep_the_indexes_in_sync(rag_client: TestClient, key: dict[str, str]) -> None:
    dataset_id = _dataset(rag_client, key)
    created = rag_client.post(
        f"/v1/datasets/{dataset_id}/document/create-by-text",
        headers=key,
        json={
            "name": "Notes",
            "text": "Herons wade in shallow water.\n\nOaks live for centuries.",
            "process_rule": RULE,
        },
    )
    batch, document_id = created.json()["batch"], created.json()["document"]["id"]
    _wait(
        lambda: rag_client.get(f"/v1/datasets/{dataset_id}/documents/{batch}/indexing-status", headers=key).json()[
            "data"
        ]
    )
    base = f"/v1/datasets/{dataset_id}/documents/{document_id}/segments"
    url = f"/v1/datasets/{dataset_id}/retrieve"

    def top(query: str, method: str = "full_text_search") -> list[str]:
        model = {"search_method": method, "top_k": 5}
        records = rag_client.post(url, headers=key, json={"query": query, "retrieval_model": model}).json()["records"]
        return [r["segment"]["content"] for r in records]

    def settle() -> None:
        _wait(lambda: rag_client.get(base, headers=key).json()["data"], done=("completed",), field="status")

    added = rag_client.post(base, headers=key, json={"segments": [{"content": "Salmon swim upstream to spawn."}]})
    assert added.status_code == 200, added.text
    segment_id = added.json()["data"][0]["id"]
    settle()
    assert top("salmon") == ["Salmon swim upstream to spawn."]
    assert top("salmon upstream", "semantic_search")[0] == "Salmon swim upstream to spawn."
    edited = rag_client.post(f"{base}/{segment_id}", headers=key, json={"segment": {"content": "Eels cross the sea."}})
    assert edited.status_code == 200, edited.text
    settle()
    assert top("salmon") == []
    assert top("eels") == ["Eels cross the sea."]
    rag_client.post(f"{base}/{segment_id}", headers=key, json={"segment": {"enabled": False}})
    settle()
    assert top("eels") == []
    rag_client.post(f"{base}/{segment_id}", headers=key, json={"segment": {"enabled": True}})
    settle()
    assert top("eels") == ["Eels cross the sea."]
    assert rag_client.delete(f"{base}/{segment_id}", headers=key).status_code == 204
    settle()
    assert top("eels") == []
    runtime = rag_client.app.state.loom.extras["knowledge"]  # type: ignore[attr-defined]
    assert len(runtime.vectors.node_ids(dataset_id, document_id)) == 2
    assert rag_client.delete(f"/v1/datasets/{dataset_id}/documents/{document_id}", headers=key).status_code == 204
    deadline = time.monotonic() + 10
    while runtime.vectors.node_ids(dataset_id, document_id):
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_parent_child_and_metadata_filter(rag_client: TestClient, key: dict[str, str]) -> None:
    dataset_id = _dataset(rag_client, key)
    rule = {
        "mode": "hierarchical",
        "rules": {
            "pre_processing_rules": [],
            "parent_mode": "paragraph",
            "segmentation": {"separator": "\\n\\n", "max_tokens": 500},
            "subchunk_segmentation": {"separator": "\\n", "max_tokens": 100},
        },
    }
    text = (
        "Birds\nHerons wade in shallow water.\nOwls hunt at night.\n\n"
        "Trees\nOaks live for centuries.\nBirches have white bark."
    )
    created = rag_client.post(
        f"/v1/datasets/{dataset_id}/document/create-by-text",
        headers=key,
        json={"name": "Nature", "text": text, "doc_form": "hierarchical_model", "process_rule": rule},
    )
    assert created.status_code == 200, created.text
    batch = created.json()["batch"]
    (status,) = _wait(
        lambda: rag_client.get(f"/v1/datasets/{dataset_id}/documents/{batch}/indexing-status", headers=key).json()[
            "data"
        ]
    )
    assert status["indexing_status"] == "completed"
    assert status["total_segments"] == 2
    with rag_client.app.state.loom.db.session() as session:  # type: ignore[attr-defined]
        assert session.query(Segment).filter_by(dataset_id=dataset_id).count() == 2
        assert session.query(ChildChunk).filter_by(dataset_id=dataset_id).count() == 6
    answer = rag_client.post(
        f"/v1/datasets/{dataset_id}/retrieve",
        headers=key,
        json={"query": "owls hunt at night", "retrieval_model": {"search_method": "semantic_search", "top_k": 1}},
    ).json()
    record = answer["records"][0]
    assert record["segment"]["content"].startswith("Birds")  # the parent is returned as context
    assert "Owls hunt at night." in [c["content"] for c in record["child_chunks"]]
    conditions = {
        "logical_operator": "and",
        "conditions": [{"name": "document_name", "comparison_operator": "is", "value": "Other"}],
    }
    filtered = rag_client.post(
        f"/v1/datasets/{dataset_id}/retrieve",
        headers=key,
        json={
            "query": "owls",
            "retrieval_model": {"search_method": "full_text_search", "metadata_filtering_conditions": conditions},
        },
    ).json()
    assert filtered["records"] == []
    conditions["conditions"][0]["value"] = "Nature"
    kept = rag_client.post(
        f"/v1/datasets/{dataset_id}/retrieve",
        headers=key,
        json={
            "query": "owls",
            "retrieval_model": {"search_method": "full_text_search", "metadata_filtering_conditions": conditions},
        },
    ).json()
    assert len(kept["records"]) == 1


class _Crash(BaseException):
    """Stands for the process dying: nothing in the job may catch it."""


@pytest.fixture
def quiet_client(settings: Settings) -> Iterator[TestClient]:
    """A server whose job runner is off, so the test runs the jobs itself, step by step."""
    quiet = settings.model_copy(update={"run_jobs_in_process": False})
    with TestClient(create_app(quiet, state=build_state(quiet, embed=scripted_embed))) as client:
        yield client


def _quiet_document(client: TestClient, text: str, **extra: Any) -> tuple[Console, str, str]:
    client.post("/console/api/setup", json={"email": OWNER_EMAIL, "name": "Owner", "password": OWNER_PASSWORD})
    owner = Console(client, OWNER_EMAIL, OWNER_PASSWORD).login()
    key = {"Authorization": f"Bearer {owner.post('/datasets/api-keys').json()['token']}"}
    dataset_id = _dataset(client, key)
    created = client.post(
        f"/v1/datasets/{dataset_id}/document/create-by-text",
        headers=key,
        json={"name": "Long", "text": text, "process_rule": RULE, **extra},
    )
    assert created.status_code == 200, created.text
    return owner, dataset_id, created.json()["document"]["id"]


def _counts(client: TestClient, document_id: str) -> tuple[int, int, str]:
    from loomworks.store.tables import Document

    with client.app.state.loom.db.session() as session:  # type: ignore[attr-defined]
        rows = session.query(Segment).filter_by(document_id=document_id).all()
        document = session.get(Document, document_id)
        assert document is not None
        return len(rows), sum(r.status == "completed" for r in rows), document.indexing_status


def test_a_crash_mid_indexing_resumes_without_duplicates(quiet_client: TestClient) -> None:
    text = "\n\n".join(f"Paragraph {i} tells about topic{i} in detail." for i in range(40))
    _, dataset_id, document_id = _quiet_document(quiet_client, text)
    state = quiet_client.app.state.loom  # type: ignore[attr-defined]
    calls: list[int] = []

    async def dying_embed(tenant_id: str, provider: str, model: str, texts: list[str]) -> list[list[float]]:
        calls.append(len(texts))
        if len(calls) == 2:
            raise _Crash
        return await scripted_embed(tenant_id, provider, model, texts)

    first = KnowledgeRuntime.embedded(state.db, state.storage, state.settings.data_dir, embed=dying_embed)
    with pytest.raises(_Crash):
        asyncio.run(first.index_document({"document_id": document_id}))
    assert _counts(quiet_client, document_id) == (40, 32, "indexing")  # one batch of 32 made it
    # After a restart the queue runs the job again (its lease expired): it starts over cleanly.
    second = KnowledgeRuntime.embedded(state.db, state.storage, state.settings.data_dir, embed=dying_embed)
    asyncio.run(second.index_document({"document_id": document_id}))
    assert _counts(quiet_client, document_id) == (40, 40, "completed")
    assert calls == [32, 8, 8]  # the first batch came from the embedding cache
    assert len(second.vectors.node_ids(dataset_id, document_id)) == 40
    with state.db.session() as session:
        assert len(second.keywords.node_ids(session.connection(), dataset_id, document_id)) == 40
    asyncio.run(second.index_document({"document_id": document_id}))  # a duplicate run changes nothing
    assert _counts(quiet_client, document_id) == (40, 40, "completed")


def test_pause_and_resume(quiet_client: TestClient) -> None:
    text = "\n\n".join(f"Note {i} about subject{i}." for i in range(40))
    owner, dataset_id, document_id = _quiet_document(quiet_client, text)
    state = quiet_client.app.state.loom  # type: ignore[attr-defined]
    base = f"/datasets/{dataset_id}/documents/{document_id}"

    async def pausing_embed(tenant_id: str, provider: str, model: str, texts: list[str]) -> list[list[float]]:
        assert owner.patch(f"{base}/processing/pause").status_code == 200  # the user pauses mid-run
        return await scripted_embed(tenant_id, provider, model, texts)

    runtime = KnowledgeRuntime.embedded(state.db, state.storage, state.settings.data_dir, embed=pausing_embed)
    asyncio.run(runtime.index_document({"document_id": document_id}))
    assert owner.get(base).json()["display_status"] == "paused"
    assert _counts(quiet_client, document_id)[1] == 0  # stopped before the first batch was indexed
    asyncio.run(runtime.index_document({"document_id": document_id}))  # a paused document is left alone
    assert owner.patch(f"{base}/processing/resume").status_code == 200
    plain = KnowledgeRuntime.embedded(state.db, state.storage, state.settings.data_dir, embed=scripted_embed)
    asyncio.run(plain.index_document({"document_id": document_id}))
    assert _counts(quiet_client, document_id) == (40, 40, "completed")
    assert owner.get(base).json()["display_status"] == "available"


def test_qa_documents_get_generated_question_answer_pairs(quiet_client: TestClient) -> None:
    _, dataset_id, document_id = _quiet_document(
        quiet_client, "Leave is 25 days.\n\nRemote work is allowed three days a week.", doc_form="qa_model"
    )
    state = quiet_client.app.state.loom  # type: ignore[attr-defined]

    async def llm(tenant_id: str, prompt: str) -> str:
        fact = prompt.rsplit("Text:\n", 1)[1]
        return f"Q1: What does the policy say?\nA1: {fact}"

    runtime = KnowledgeRuntime.embedded(
        state.db, state.storage, state.settings.data_dir, embed=scripted_embed, complete=llm
    )
    asyncio.run(runtime.index_document({"document_id": document_id}))
    with state.db.session() as session:
        rows = session.query(Segment).filter_by(document_id=document_id).order_by(Segment.position).all()
        assert [(r.content, r.answer) for r in rows] == [
            ("What does the policy say?", "Leave is 25 days."),
            ("What does the policy say?", "Remote work is allowed three days a week."),
        ]
    assert _counts(quiet_client, document_id)[2] == "completed"
    no_llm = KnowledgeRuntime.embedded(state.db, state.storage, state.settings.data_dir, embed=scripted_embed)
    _, _, other = _quiet_document_again(quiet_client, dataset_id)
    with pytest.raises(PermanentJobError, match="text generation model"):
        asyncio.run(no_llm.index_document({"document_id": other}))
    assert _counts(quiet_client, other) == (0, 0, "error")


def _quiet_document_again(client: TestClient, dataset_id: str) -> tuple[None, str, str]:
    owner = Console(client, OWNER_EMAIL, OWNER_PASSWORD).login()
    key = {"Authorization": f"Bearer {owner.post('/datasets/api-keys').json()['token']}"}
    created = client.post(
        f"/v1/datasets/{dataset_id}/document/create-by-text",
        headers=key,
        json={"name": "More", "text": "Parking is free.", "process_rule": RULE, "doc_form": "qa_model"},
    )
    return None, dataset_id, created.json()["document"]["id"]
