"""Chat and completion apps answering from their knowledge (`dataset_configs`), with citations.

Documents are indexed through the knowledge API by the server's job runner with the scripted
bag-of-words embedder; the chat model is the scripted one, whose recorded requests show the prompt.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import select, update

from loomworks.services.chat.context import dataset_settings
from loomworks.store.tables import Dataset, Message, Segment, Tenant
from tests._console import Console
from tests._scripted_model import ScriptedModels, configured_app, sse_events

LEAVE = "New parents receive sixteen weeks of paid parental leave after the birth or adoption of a child."
TRAVEL = "Travel expenses are reimbursed within thirty days once the receipts are submitted to finance."
LEAVE_QUESTION = "How many weeks of parental leave do new parents receive?"
TRAVEL_QUESTION = "When are my travel expenses reimbursed?"
RESOURCE_KEYS = {
    "position",
    "dataset_id",
    "dataset_name",
    "document_id",
    "document_name",
    "data_source_type",
    "segment_id",
    "retriever_from",
    "score",
    "hit_count",
    "word_count",
    "segment_position",
    "index_node_hash",
    "content",
    "created_at",
}


def _dataset_key(owner: Console) -> dict[str, str]:
    return {"Authorization": f"Bearer {owner.post('/datasets/api-keys').json()['token']}"}


def _indexed_dataset(owner: Console, name: str, documents: dict[str, str], description: str = "") -> str:
    client, key = owner.client, _dataset_key(owner)
    body = {"name": name, "description": description, "indexing_technique": "high_quality"}
    body |= {"embedding_model": "bow-64", "embedding_model_provider": "scripted"}
    created = client.post("/v1/datasets", headers=key, json=body)
    assert created.status_code == 200, created.text
    dataset_id = str(created.json()["id"])
    for title, text in documents.items():
        made = client.post(
            f"/v1/datasets/{dataset_id}/document/create-by-text",
            headers=key,
            json={
                "name": title,
                "text": text,
                "indexing_technique": "high_quality",
                "process_rule": {"mode": "automatic"},
            },
        )
        assert made.status_code == 200, made.text
        url = f"/v1/datasets/{dataset_id}/documents/{made.json()['batch']}/indexing-status"
        deadline = time.monotonic() + 20
        while (status := client.get(url, headers=key).json()["data"][0])["indexing_status"] not in (
            "completed",
            "error",
        ):
            assert time.monotonic() < deadline, status
            time.sleep(0.02)
        assert status["indexing_status"] == "completed", status
    return dataset_id


@pytest.fixture
def handbook(chat_owner: Console) -> str:
    return _indexed_dataset(chat_owner, "Company handbook", {"leave.txt": LEAVE, "travel.txt": TRAVEL})


def _knowledge(*dataset_ids: str, **settings: Any) -> dict[str, Any]:
    datasets = [{"dataset": {"enabled": True, "id": i}} for i in dataset_ids]
    return {"retrieval_model": "multiple", "top_k": 1, **settings, "datasets": {"datasets": datasets}}


def _system(models: ScriptedModels) -> str:
    messages = models.model.answer_requests[-1].messages
    assert messages[0]["role"] == "system", messages
    return str(messages[0]["content"])


def test_chat_answers_from_the_right_segment_and_cites_it(
    chat_owner: Console, models: ScriptedModels, handbook: str
) -> None:
    client = chat_owner.client
    headers, _ = configured_app(chat_owner, pre_prompt="You are the HR helper.", dataset_configs=_knowledge(handbook))
    streamed = client.post(
        "/v1/chat-messages",
        headers=headers,
        json={"query": LEAVE_QUESTION, "inputs": {}, "user": "alice", "response_mode": "streaming"},
    )
    assert streamed.status_code == 200, streamed.text
    events = sse_events(streamed)
    assert events[-1]["event"] == "message_end", events[-1]
    (resource,) = events[-1]["metadata"]["retriever_resources"]
    assert set(resource) == RESOURCE_KEYS
    assert resource["content"] == LEAVE
    assert (resource["position"], resource["dataset_id"], resource["dataset_name"]) == (1, handbook, "Company handbook")
    assert (resource["document_name"], resource["retriever_from"], resource["hit_count"]) == ("leave.txt", "api", 1)
    assert 0 < resource["score"] <= 1.0
    system = _system(models)
    assert LEAVE in system
    assert "<context>" in system
    assert "You are the HR helper." in system
    assert TRAVEL not in system  # top_k 1 keeps only the best segment

    messages = client.get(
        "/v1/messages", headers=headers, params={"conversation_id": events[-1]["conversation_id"], "user": "alice"}
    ).json()["data"]
    assert messages[0]["retriever_resources"] == [resource]

    blocking = client.post(
        "/v1/chat-messages", headers=headers, json={"query": TRAVEL_QUESTION, "inputs": {}, "user": "bob"}
    )
    assert blocking.status_code == 200, blocking.text
    (cited,) = blocking.json()["metadata"]["retriever_resources"]
    assert (cited["document_name"], cited["content"]) == ("travel.txt", TRAVEL)
    assert TRAVEL in _system(models)
    assert LEAVE not in _system(models)


def test_several_segments_are_joined_into_context_best_first(
    chat_owner: Console, models: ScriptedModels, handbook: str
) -> None:
    headers, _ = configured_app(chat_owner, dataset_configs=_knowledge(handbook, top_k=4))
    answer = chat_owner.client.post(
        "/v1/chat-messages", headers=headers, json={"query": LEAVE_QUESTION, "inputs": {}, "user": "alice"}
    ).json()
    resources = answer["metadata"]["retriever_resources"]
    assert [r["content"] for r in resources] == [LEAVE, TRAVEL]
    assert [r["position"] for r in resources] == [1, 2]
    assert f"{LEAVE}\n{TRAVEL}" in _system(models)
    strict = configured_app(
        chat_owner, dataset_configs=_knowledge(handbook, top_k=4, score_threshold_enabled=True, score_threshold=0.3)
    )[0]
    answer = chat_owner.client.post(
        "/v1/chat-messages", headers=strict, json={"query": LEAVE_QUESTION, "inputs": {}, "user": "alice"}
    ).json()
    assert [r["content"] for r in answer["metadata"]["retriever_resources"]] == [LEAVE]


def test_disabled_citations_still_answer_from_context(
    chat_owner: Console, models: ScriptedModels, handbook: str
) -> None:
    client = chat_owner.client
    headers, _ = configured_app(chat_owner, dataset_configs=_knowledge(handbook), retriever_resource={"enabled": False})
    answer = client.post(
        "/v1/chat-messages", headers=headers, json={"query": LEAVE_QUESTION, "inputs": {}, "user": "a"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["metadata"]["retriever_resources"] == []
    assert LEAVE in _system(models)
    listed = client.get(
        "/v1/messages", headers=headers, params={"conversation_id": answer.json()["conversation_id"], "user": "a"}
    ).json()["data"]
    assert listed[0]["retriever_resources"] == []
    with client.app.state.loom.db.session() as session:
        hits = {s.content: s.hit_count for s in session.scalars(select(Segment).where(Segment.dataset_id == handbook))}
    assert hits == {LEAVE: 1, TRAVEL: 0}


def test_datasets_of_another_workspace_are_never_searched(
    chat_owner: Console, models: ScriptedModels, handbook: str
) -> None:
    client = chat_owner.client
    headers, _ = configured_app(chat_owner, dataset_configs=_knowledge(handbook))
    ask = {"query": LEAVE_QUESTION, "inputs": {}, "user": "alice"}
    assert client.post("/v1/chat-messages", headers=headers, json=ask).json()["metadata"]["retriever_resources"]
    # The same indexed dataset, now owned by a different workspace: the app must not reach it.
    with client.app.state.loom.db.session() as session:
        other = Tenant(name="Someone else")
        session.add(other)
        session.flush()
        session.execute(update(Dataset).where(Dataset.id == handbook).values(tenant_id=other.id))
    answer = client.post("/v1/chat-messages", headers=headers, json=ask)
    assert answer.status_code == 200, answer.text
    assert answer.json()["metadata"]["retriever_resources"] == []
    assert models.model.answer_requests[-1].messages == [{"role": "user", "content": LEAVE_QUESTION}]


def test_completion_app_searches_with_its_dataset_query_variable(
    chat_owner: Console, models: ScriptedModels, handbook: str
) -> None:
    form = [
        {"paragraph": {"label": "Request", "variable": "request", "required": True, "max_length": 0}},
        {"text-input": {"label": "Topic", "variable": "topic", "required": True, "max_length": 100}},
    ]
    headers, _ = configured_app(
        chat_owner,
        "completion",
        user_input_form=form,
        pre_prompt="Write a note about: {{request}}",
        dataset_query_variable="topic",
        dataset_configs=_knowledge(handbook),
    )
    inputs = {"request": "a reminder for new staff", "topic": "travel expenses reimbursed receipts"}
    answer = chat_owner.client.post("/v1/completion-messages", headers=headers, json={"inputs": inputs, "user": "u"})
    assert answer.status_code == 200, answer.text
    (cited,) = answer.json()["metadata"]["retriever_resources"]
    assert cited["content"] == TRAVEL
    prompt = str(models.model.answer_requests[-1].messages[0]["content"])
    assert TRAVEL in prompt
    assert "Write a note about: a reminder for new staff" in prompt
    assert LEAVE not in prompt


def test_web_app_gets_trimmed_citations_and_the_debugger_is_marked_dev(chat_owner: Console, handbook: str) -> None:
    client = chat_owner.client
    _, app_id = configured_app(chat_owner, dataset_configs=_knowledge(handbook))
    code = chat_owner.get(f"/apps/{app_id}").json()["site"]["access_token"]
    token = client.get("/api/passport", headers={"X-App-Code": code}).json()["access_token"]
    visitor = {"Authorization": f"Bearer {token}", "X-App-Code": code}
    answer = client.post("/api/chat-messages", headers=visitor, json={"query": LEAVE_QUESTION, "inputs": {}}).json()
    (cited,) = answer["metadata"]["retriever_resources"]
    assert set(cited) == {"segment_id", "position", "document_name", "score", "content"}
    assert (cited["content"], cited["document_name"]) == (LEAVE, "leave.txt")
    with client.app.state.loom.db.session() as session:
        stored = session.get(Message, answer["message_id"])
        assert stored is not None
        assert stored.message_metadata["retriever_resources"][0]["retriever_from"] == "web_app"
    debug = chat_owner.post(f"/apps/{app_id}/chat-messages", json={"query": TRAVEL_QUESTION, "inputs": {}})
    assert debug.status_code == 200, debug.text
    (cited,) = sse_events(debug)[-1]["metadata"]["retriever_resources"]
    assert (cited["retriever_from"], cited["content"]) == ("dev", TRAVEL)


def test_advanced_prompt_places_context_at_its_placeholder(
    chat_owner: Console, models: ScriptedModels, handbook: str
) -> None:
    prompt = {"prompt": [{"role": "system", "text": "Facts: [{{#context#}}] Be brief."}]}
    headers, _ = configured_app(
        chat_owner, prompt_type="advanced", chat_prompt_config=prompt, dataset_configs=_knowledge(handbook)
    )
    chat_owner.client.post(
        "/v1/chat-messages", headers=headers, json={"query": TRAVEL_QUESTION, "inputs": {}, "user": "u"}
    )
    assert _system(models) == f"Facts: [{TRAVEL}] Be brief."


def test_single_strategy_routes_to_the_best_named_dataset_in_a_legacy_config(
    chat_owner: Console, models: ScriptedModels
) -> None:
    leave = _indexed_dataset(chat_owner, "Parental leave", {"leave.txt": LEAVE})
    travel = _indexed_dataset(chat_owner, "Travel", {"travel.txt": TRAVEL}, description="expenses and trips")
    tools = [{"dataset": {"enabled": True, "id": leave}}, {"dataset": {"enabled": True, "id": travel}}]
    headers, _ = configured_app(
        chat_owner,
        agent_mode={"enabled": True, "strategy": "router", "tools": tools},
        dataset_configs={"retrieval_model": "single"},
    )
    # "parents" matches the leave text, but routing picks the dataset by its name and description.
    answer = chat_owner.client.post(
        "/v1/chat-messages", headers=headers, json={"query": "travel expenses for parents", "inputs": {}, "user": "u"}
    ).json()
    assert {r["dataset_id"] for r in answer["metadata"]["retriever_resources"]} == {travel}
    assert TRAVEL in _system(models)
    assert LEAVE not in _system(models)


def test_a_dataset_without_an_embedding_model_fails_the_turn(
    chat_owner: Console, models: ScriptedModels, handbook: str
) -> None:
    client = chat_owner.client
    headers, _ = configured_app(chat_owner, dataset_configs=_knowledge(handbook))
    with client.app.state.loom.db.session() as session:
        session.execute(update(Dataset).where(Dataset.id == handbook).values(embedding_model=None))
    ask = {"query": LEAVE_QUESTION, "inputs": {}, "user": "alice"}
    blocking = client.post("/v1/chat-messages", headers=headers, json=ask)
    assert (blocking.status_code, blocking.json()["code"]) == (400, "provider_not_initialize"), blocking.text
    streamed = sse_events(client.post("/v1/chat-messages", headers=headers, json={**ask, "response_mode": "streaming"}))
    assert (streamed[-1]["event"], streamed[-1]["code"]) == ("error", "provider_not_initialize")
    assert models.model.answer_requests == []  # never answered without the knowledge


def test_dataset_configs_reading() -> None:
    assert dataset_settings({"dataset_configs": {"retrieval_model": "multiple"}}) is None
    current = dataset_settings(
        {
            "dataset_configs": {
                "retrieval_model": "multiple",
                "top_k": 7,
                "score_threshold_enabled": False,
                "score_threshold": 0.8,
                "reranking_enable": True,
                "reranking_mode": "reranking_model",
                "reranking_model": {"reranking_provider_name": "cohere", "reranking_model_name": "rerank-3"},
                "datasets": {
                    "datasets": [
                        {"dataset": {"enabled": True, "id": "a"}},
                        {"dataset": {"enabled": False, "id": "b"}},
                        {"dataset": {"enabled": True, "id": "a"}},
                    ]
                },
            },
            # A disabled agent_mode's tools are not read, as in Dify.
            "agent_mode": {"enabled": False, "tools": [{"dataset": {"enabled": True, "id": "c"}}]},
        }
    )
    assert current is not None
    assert (current.dataset_ids, current.strategy, current.top_k) == (["a"], "multiple", 7)
    assert (current.score_threshold, current.rerank_provider, current.rerank_model) == (None, "cohere", "rerank-3")
    weighted = dataset_settings(
        {
            "dataset_configs": {
                "reranking_enable": True,
                "reranking_mode": "weighted_score",
                "score_threshold_enabled": True,
                "score_threshold": 0.5,
                "datasets": {"datasets": [{"dataset": {"enabled": True, "id": "a"}}]},
            }
        }
    )
    assert weighted is not None
    assert (weighted.wants_rerank, weighted.score_threshold, weighted.top_k) == (False, 0.5, 4)
