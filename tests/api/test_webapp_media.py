"""The web app's `/api/files/upload`, `/api/audio-to-text` and `/api/text-to-audio`, as a visitor.

Real parts: the model runtime talking over HTTP to the fake OpenAI server (gpt-4o sees the image,
whisper-1 hears the audio, tts-1 speaks), the storage directory and the database (SQLite and
PostgreSQL). Visitors hold passports from `/api/passport`, as the browser does.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from loomworks.core.config import Settings
from loomworks.store.tables import UploadFile
from tests._console import Console
from tests.api.test_chatflow import _edge, _node, configure_openai, publish
from tests.fakes.openai import OpenAIFake, openai_fake

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\x00" * 100
GPT4O = {"provider": "openai", "name": "gpt-4o", "mode": "chat", "completion_params": {}}
IMAGES_ON = {"image": {"enabled": True, "number_limits": 2, "detail": "low", "transfer_methods": ["local_file"]}}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # A small image limit, so that "too large" needs only a little over a megabyte.
    return settings.model_copy(update={"upload_image_file_size_limit_mb": 1})


@pytest.fixture(scope="module")
def fake() -> Iterator[OpenAIFake]:
    with openai_fake() as server:
        yield server


@pytest.fixture(autouse=True)
def _reset(fake: OpenAIFake) -> None:
    fake.reset()


def _chat_app(owner: Console, **features: Any) -> str:
    """A chat app answering with gpt-4o (through the fake), with the given feature switches."""
    app = owner.create_app("Media app", "chat")
    config = {**app["model_config"], "model": GPT4O, **features}
    saved = owner.post(f"/apps/{app['id']}/model-config", json=config)
    assert saved.status_code == 200, saved.text
    return str(app["id"])


def _visitor(owner: Console, app_id: str) -> dict[str, str]:
    code = owner.get(f"/apps/{app_id}").json()["site"]["access_token"]
    passport = owner.client.get("/api/passport", headers={"X-App-Code": code})
    assert passport.status_code == 200, passport.text
    return {"Authorization": f"Bearer {passport.json()['access_token']}", "X-App-Code": code}


def _speech_defaults(owner: Console, fake: OpenAIFake) -> None:
    configure_openai(owner, fake)
    saved = owner.post(
        "/workspaces/current/default-model",
        json={
            "model_settings": [
                {"model_type": "tts", "provider": "openai", "model": "tts-1"},
                {"model_type": "speech2text", "provider": "openai", "model": "whisper-1"},
            ]
        },
    )
    assert saved.status_code == 200, saved.text


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert (body["code"], body["status"]) == (code, status), body
    assert body["message"]
    return dict(body)


def test_a_visitor_attaches_an_image_and_the_model_sees_it(owner: Console, fake: OpenAIFake) -> None:
    configure_openai(owner, fake)
    client: TestClient = owner.client
    visitor = _visitor(owner, _chat_app(owner, file_upload=IMAGES_ON))
    end_user_id = client.get("/api/site", headers=visitor).json()["end_user_id"]

    uploaded = client.post("/api/files/upload", headers=visitor, files={"file": ("cat.png", PNG, "image/png")})
    assert uploaded.status_code == 201, uploaded.text
    body = uploaded.json()
    assert {k: body[k] for k in ("name", "size", "extension", "mime_type", "created_by")} == {
        "name": "cat.png",
        "size": len(PNG),
        "extension": "png",
        "mime_type": "image/png",
        "created_by": end_user_id,
    }
    assert isinstance(body["created_at"], int)
    with client.app.state.loom.db.session() as session:
        row = session.scalar(select(UploadFile).where(UploadFile.id == body["id"]))
        assert row is not None
        assert (row.created_by_role, row.created_by) == ("end_user", end_user_id)

    files = [{"type": "image", "transfer_method": "local_file", "upload_file_id": body["id"]}]
    answer = client.post(
        "/api/chat-messages", headers=visitor, json={"query": "what is in the picture", "inputs": {}, "files": files}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["answer"] == "Echo: what is in the picture"
    sent = [r for r in fake.requests if r.get("messages")][0]
    assert sent["model"] == "gpt-4o"
    content = sent["messages"][-1]["content"]
    assert content[0] == {"type": "text", "text": "what is in the picture"}
    expected_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert content[1] == {"type": "image_url", "image_url": {"url": expected_url, "detail": "low"}}

    # The visitor's history shows the attachment, and its signed link serves the very bytes.
    history = client.get(
        "/api/messages", headers=visitor, params={"conversation_id": answer.json()["conversation_id"]}
    ).json()
    (shown,) = history["data"][0]["message_files"]
    assert shown["belongs_to"] == "user"
    preview = client.get(shown["url"])
    assert (preview.status_code, preview.content) == (200, PNG)


def test_upload_rules_and_errors(owner: Console) -> None:
    client: TestClient = owner.client
    visitor = _visitor(owner, _chat_app(owner, file_upload=IMAGES_ON))
    upload = "/api/files/upload"

    _error(client.post(upload, files={"file": ("cat.png", PNG)}), 401, "unauthorized")
    _error(client.post(upload, headers=visitor, json={"file": "cat.png"}), 400, "no_file_uploaded")
    _error(client.post(upload, headers=visitor, files={"other": ("cat.png", PNG)}), 400, "no_file_uploaded")
    three = [("file", ("a.png", PNG)), ("file", ("b.png", PNG)), ("file", ("c.png", PNG))]
    _error(client.post(upload, headers=visitor, files=three), 400, "too_many_files")
    # An image-only app takes no documents, and an image must be one.
    _error(client.post(upload, headers=visitor, files={"file": ("notes.txt", b"hello")}), 415, "unsupported_file_type")
    _error(
        client.post(upload, headers=visitor, files={"file": ("cat.png", b"GIF89a....")}), 415, "unsupported_file_type"
    )
    big = PNG + b"\x00" * (1024 * 1024)
    too_large = _error(client.post(upload, headers=visitor, files={"file": ("big.png", big)}), 413, "file_too_large")
    assert "1 MB" in too_large["message"]

    # An app without file upload refuses every file.
    plain = _visitor(owner, _chat_app(owner))
    off = _error(client.post(upload, headers=plain, files={"file": ("cat.png", PNG)}), 400, "app_unavailable")
    assert "not enabled" in off["message"]

    # The newer layout: documents and one custom extension, no images.
    documents = _visitor(
        owner,
        _chat_app(
            owner,
            file_upload={
                "enabled": True,
                "allowed_file_types": ["document", "custom"],
                "allowed_file_extensions": [".MP3"],
                "allowed_file_upload_methods": ["local_file"],
                "number_limits": 3,
            },
        ),
    )
    assert client.post(upload, headers=documents, files={"file": ("notes.txt", b"hello")}).status_code == 201
    assert client.post(upload, headers=documents, files={"file": ("song.mp3", MP3)}).status_code == 201
    _error(client.post(upload, headers=documents, files={"file": ("cat.png", PNG)}), 415, "unsupported_file_type")
    _error(client.post(upload, headers=documents, files={"file": ("clip.wav", b"RIFF")}), 415, "unsupported_file_type")


def test_a_file_field_in_a_workflow_form_opens_uploads(owner: Console) -> None:
    start_variables = [
        {
            "variable": "report",
            "label": "Report",
            "type": "file",
            "required": True,
            "allowed_file_types": ["document"],
            "allowed_file_upload_methods": ["local_file"],
        }
    ]
    graph = {
        "nodes": [
            _node("start", {"type": "start", "variables": start_variables}),
            _node("end", {"type": "end", "outputs": [{"variable": "name", "value_selector": ["report", "name"]}]}),
        ],
        "edges": [_edge("start", "end")],
    }
    app_id, _ = publish(owner, "workflow", graph)
    client: TestClient = owner.client
    visitor = _visitor(owner, app_id)
    saved = client.post("/api/files/upload", headers=visitor, files={"file": ("q3.md", b"# Q3\nUp.")})
    assert saved.status_code == 201, saved.text
    assert saved.json()["extension"] == "md"
    refused = client.post("/api/files/upload", headers=visitor, files={"file": ("cat.png", PNG)})
    _error(refused, 415, "unsupported_file_type")


def test_speech_both_ways_through_the_workspace_models(owner: Console, fake: OpenAIFake) -> None:
    _speech_defaults(owner, fake)
    fake.reset()
    client: TestClient = owner.client
    app_id = _chat_app(
        owner, speech_to_text={"enabled": True}, text_to_speech={"enabled": True, "voice": "nova", "language": "en-US"}
    )
    visitor = _visitor(owner, app_id)

    heard = client.post("/api/audio-to-text", headers=visitor, files={"file": ("note.mp3", MP3, "audio/mpeg")})
    assert heard.status_code == 200, heard.text
    assert heard.json() == {"text": fake.transcript}
    transcription = next(c for c in fake.calls if c.path.endswith("/audio/transcriptions"))
    assert transcription.body["model"] == "whisper-1"
    assert transcription.body["file"]["size"] == len(MP3)

    answer = client.post("/api/chat-messages", headers=visitor, json={"query": "read this aloud", "inputs": {}}).json()
    spoken = client.post("/api/text-to-audio", headers=visitor, json={"message_id": answer["id"], "text": "ignored"})
    assert spoken.status_code == 200, spoken.text
    assert spoken.headers["content-type"] == "audio/mpeg"
    # The fake speaks ID3 + sha256(text) * 64: the answer's text reached tts-1 with the app's voice.
    expected = b"ID3\x04\x00\x00\x00\x00\x00\x00" + hashlib.sha256(b"Echo: read this aloud").digest() * 64
    assert spoken.content == expected
    speech = [r for r in fake.requests if r.get("input")][-1]
    assert (speech["model"], speech["voice"], speech["input"]) == ("tts-1", "nova", "Echo: read this aloud")

    with_voice = client.post("/api/text-to-audio", headers=visitor, json={"text": "good morning", "voice": "echo"})
    assert with_voice.content == b"ID3\x04\x00\x00\x00\x00\x00\x00" + hashlib.sha256(b"good morning").digest() * 64
    assert [r for r in fake.requests if r.get("input")][-1]["voice"] == "echo"

    # Another visitor of the same app cannot have this visitor's answers read out.
    stranger = _visitor(owner, app_id)
    _error(client.post("/api/text-to-audio", headers=stranger, json={"message_id": answer["id"]}), 404, "not_found")
    nothing = _error(client.post("/api/text-to-audio", headers=visitor, json={"text": "  "}), 400, "invalid_param")
    assert nothing["params"] == "text"


def test_speech_needs_the_features_and_real_audio(owner: Console) -> None:
    client: TestClient = owner.client
    on = _visitor(owner, _chat_app(owner, speech_to_text={"enabled": True}, text_to_speech={"enabled": True}))
    off = _visitor(owner, _chat_app(owner))

    _error(client.post("/api/audio-to-text", headers=off, files={"file": ("a.mp3", MP3)}), 400, "app_unavailable")
    _error(client.post("/api/text-to-audio", headers=off, json={"text": "hello"}), 400, "app_unavailable")
    _error(client.post("/api/audio-to-text", files={"file": ("a.mp3", MP3)}), 401, "unauthorized")
    wrong = client.post("/api/audio-to-text", headers=on, files={"file": ("notes.txt", b"hello")})
    _error(wrong, 415, "unsupported_audio_type")
    _error(client.post("/api/audio-to-text", headers=on, files={"other": ("a.mp3", MP3)}), 400, "no_audio_uploaded")
    _error(client.post("/api/audio-to-text", headers=on, files={"file": ("a.mp3", b"")}), 400, "no_audio_uploaded")
    _error(client.post("/api/audio-to-text", headers=on, json={"file": "a.mp3"}), 400, "no_audio_uploaded")
    # Speech is on but the workspace has no speech model: Dify's provider error, not a crash.
    no_model = client.post("/api/audio-to-text", headers=on, files={"file": ("a.mp3", MP3)})
    assert no_model.status_code == 400, no_model.text
    assert no_model.json()["code"] == "provider_not_support_speech_to_text"
