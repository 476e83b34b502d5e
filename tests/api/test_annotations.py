"""Annotations: curation in the console and the Service API, CSV import/export, annotation reply."""

from __future__ import annotations

from tests._console import Console
from tests._scripted_model import ScriptedModels, configured_app


def test_annotation_reply_answers_without_the_model(chat_owner: Console, models: ScriptedModels) -> None:
    client = chat_owner.client
    headers, app_id = configured_app(chat_owner)
    turn = client.post(
        "/v1/chat-messages",
        headers=headers,
        json={"query": "What are your opening hours?", "inputs": {}, "user": "u", "auto_generate_name": False},
    ).json()
    annotated = chat_owner.post(
        f"/apps/{app_id}/annotations",
        json={"message_id": turn["message_id"], "answer": "We are open 9 to 5, Monday to Friday."},
    )
    assert annotated.status_code == 200
    assert annotated.json()["question"] == "What are your opening hours?"
    created = client.post(
        "/v1/apps/annotations",
        headers=headers,
        json={"question": "Do you ship abroad?", "answer": "Yes, to 40 countries."},
    )
    assert created.status_code == 201
    enabled = client.post(
        "/v1/apps/annotation-reply/enable",
        headers=headers,
        json={"score_threshold": 0.9, "embedding_provider_name": "scripted", "embedding_model_name": "bow"},
    )
    assert enabled.json()["job_status"] == "completed"

    calls = len(models.model.answer_requests)
    hit = client.post(
        "/v1/chat-messages",
        headers=headers,
        json={"query": "what are your OPENING hours", "inputs": {}, "user": "v", "auto_generate_name": False},
    ).json()
    assert hit["answer"] == "We are open 9 to 5, Monday to Friday."
    assert hit["metadata"]["annotation_reply"]["id"] == annotated.json()["id"]
    assert hit["metadata"]["annotation_reply"]["account"]["name"] == "Owner"
    assert len(models.model.answer_requests) == calls
    miss = client.post(
        "/v1/chat-messages",
        headers=headers,
        json={"query": "tell me a joke", "inputs": {}, "user": "v", "auto_generate_name": False},
    ).json()
    assert miss["answer"] == "Echo: tell me a joke"

    listed = client.get("/v1/apps/annotations", headers=headers).json()
    counts = {a["question"]: a["hit_count"] for a in listed["data"]}
    assert counts == {"What are your opening hours?": 1, "Do you ship abroad?": 0}
    history = chat_owner.get(f"/apps/{app_id}/annotations/{annotated.json()['id']}/hit-histories").json()
    assert history["data"][0]["question"] == "what are your OPENING hours"
    assert history["data"][0]["score"] >= 0.9
    # The web app's simple shape hides who annotated.
    client.post("/v1/apps/annotation-reply/disable", headers=headers)
    after = client.post(
        "/v1/chat-messages",
        headers=headers,
        json={"query": "What are your opening hours?", "inputs": {}, "user": "v", "auto_generate_name": False},
    ).json()
    assert after["answer"].startswith("Echo:")


def test_annotation_crud_import_export(chat_owner: Console) -> None:
    _, app_id = configured_app(chat_owner)
    url = f"/apps/{app_id}/annotations"
    csv = "question,answer\nWhere is HQ?,In Lyon.\nWho founded it?,Two weavers.\n"
    imported = chat_owner.post(f"{url}/batch-import", files={"file": ("a.csv", csv.encode())})
    assert imported.json()["record_count"] == 2
    listed = chat_owner.get(url, params={"keyword": "Lyon"}).json()
    assert [a["question"] for a in listed["data"]] == ["Where is HQ?"]
    annotation_id = listed["data"][0]["id"]
    edited = chat_owner.post(f"{url}/{annotation_id}", json={"question": "Where is the HQ?", "answer": "Lyon."})
    assert edited.json()["answer"] == "Lyon."
    exported = chat_owner.get(f"{url}/export").json()["data"]
    assert {a["question"] for a in exported} == {"Where is the HQ?", "Who founded it?"}
    assert chat_owner.delete(f"{url}/{annotation_id}").status_code == 204
    assert chat_owner.get(url).json()["total"] == 1
    empty = chat_owner.post(f"{url}/batch-import", files={"file": ("a.csv", b"question,answer\n")})
    assert empty.status_code == 400
    assert (
        chat_owner.post(f"/apps/{app_id}/annotation-reply/enable", json={}).json()["params"] == "embedding_model_name"
    )
    assert chat_owner.post(f"/apps/{app_id}/annotation-reply/explode", json={}).json()["code"] == "invalid_action"
