"""Images sent with a chat turn reach vision models; stored files get signed, expiring links."""

from __future__ import annotations

from tests._console import Console
from tests._scripted_model import ScriptedModels, configured_app

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
IMAGES_ON = {
    "image": {"enabled": True, "number_limits": 2, "detail": "low", "transfer_methods": ["local_file", "remote_url"]}
}


def test_local_and_remote_images(chat_owner: Console, models: ScriptedModels) -> None:
    client = chat_owner.client
    headers, _ = configured_app(chat_owner, file_upload=IMAGES_ON)
    uploaded = client.post(
        "/v1/files/upload", headers=headers, files={"file": ("cat.png", PNG, "image/png")}, data={"user": "ann"}
    ).json()
    files = [
        {"type": "image", "transfer_method": "local_file", "upload_file_id": uploaded["id"]},
        {"type": "image", "transfer_method": "remote_url", "url": "https://example.com/dog.png"},
    ]
    answer = client.post(
        "/v1/chat-messages",
        headers=headers,
        json={"query": "what is this", "inputs": {}, "user": "ann", "files": files, "auto_generate_name": False},
    )
    assert answer.status_code == 200, answer.text
    content = models.model.answer_requests[-1].messages[-1]["content"]
    assert content[0] == {"type": "text", "text": "what is this"}
    assert content[1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert content[1]["image_url"]["detail"] == "low"
    assert content[2]["image_url"]["url"] == "https://example.com/dog.png"

    listed = client.get(
        "/v1/messages", headers=headers, params={"conversation_id": answer.json()["conversation_id"], "user": "ann"}
    ).json()
    shown = listed["data"][0]["message_files"]
    assert [f["belongs_to"] for f in shown] == ["user", "user"]
    assert shown[1]["url"] == "https://example.com/dog.png"
    preview = client.get(shown[0]["url"])
    assert preview.status_code == 200
    assert preview.content == PNG
    assert preview.headers["content-type"] == "image/png"
    forged = client.get(shown[0]["url"].replace("sign=", "sign=0"))
    assert forged.status_code == 403


def test_file_rules(chat_owner: Console, models: ScriptedModels) -> None:
    client = chat_owner.client
    headers, _ = configured_app(chat_owner, file_upload=IMAGES_ON)
    base = {"query": "q", "inputs": {}, "user": "ann", "auto_generate_name": False}
    too_many = [{"type": "image", "transfer_method": "remote_url", "url": f"https://e.com/{i}.png"} for i in range(3)]
    assert (
        client.post("/v1/chat-messages", headers=headers, json={**base, "files": too_many}).json()["params"] == "files"
    )
    unknown = [
        {"type": "image", "transfer_method": "local_file", "upload_file_id": "00000000-0000-4000-8000-000000000000"}
    ]
    assert client.post("/v1/chat-messages", headers=headers, json={**base, "files": unknown}).status_code == 404
    not_image = client.post(
        "/v1/files/upload", headers=headers, files={"file": ("a.txt", b"hello")}, data={"user": "ann"}
    ).json()
    doc = [{"type": "image", "transfer_method": "local_file", "upload_file_id": not_image["id"]}]
    assert client.post("/v1/chat-messages", headers=headers, json={**base, "files": doc}).status_code == 400
    # An app that does not accept images ignores them, as Dify does.
    plain_headers, _ = configured_app(chat_owner)
    ok = client.post("/v1/chat-messages", headers=plain_headers, json={**base, "files": too_many})
    assert ok.status_code == 200
    assert models.model.answer_requests[-1].messages[-1]["content"] == "q"


def test_files_of_another_workspace_are_not_found(chat_owner: Console) -> None:
    client = chat_owner.client
    headers, _ = configured_app(chat_owner, file_upload=IMAGES_ON)
    uploaded = client.post(
        "/v1/files/upload", headers=headers, files={"file": ("cat.png", PNG)}, data={"user": "a"}
    ).json()
    chat_owner.post("/workspaces", json={"name": "Elsewhere"})
    other_headers, _ = configured_app(chat_owner, file_upload=IMAGES_ON)
    files = [{"type": "image", "transfer_method": "local_file", "upload_file_id": uploaded["id"]}]
    response = client.post(
        "/v1/chat-messages", headers=other_headers, json={"query": "q", "inputs": {}, "user": "a", "files": files}
    )
    assert response.status_code == 404
