"""`/v1/audio-to-text` and `/v1/text-to-audio`: feature switches, file checks, message text."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests._console import Console
from tests._scripted_model import configured_app


def test_audio_to_text(chat_owner: Console) -> None:
    client: TestClient = chat_owner.client
    headers, _ = configured_app(chat_owner, speech_to_text={"enabled": True})
    ok = client.post(
        "/v1/audio-to-text", headers=headers, files={"file": ("hello.mp3", b"ID3" + b"\x00" * 10)}, data={"user": "u"}
    )
    assert ok.json() == {"text": "heard 13 bytes of hello.mp3"}
    wrong_type = client.post("/v1/audio-to-text", headers=headers, files={"file": ("x.txt", b"hi")}, data={"user": "u"})
    assert (wrong_type.status_code, wrong_type.json()["code"]) == (415, "unsupported_audio_type")
    empty = client.post("/v1/audio-to-text", headers=headers, data={"user": "u"}, files={"other": ("a.mp3", b"x")})
    assert empty.json()["code"] == "no_audio_uploaded"
    off_headers, _ = configured_app(chat_owner)
    off = client.post("/v1/audio-to-text", headers=off_headers, files={"file": ("a.mp3", b"x")}, data={"user": "u"})
    assert (off.status_code, off.json()["code"]) == (400, "app_unavailable")


def test_text_to_audio(chat_owner: Console) -> None:
    client: TestClient = chat_owner.client
    headers, _ = configured_app(chat_owner, text_to_speech={"enabled": True, "voice": "alloy"})
    spoken = client.post("/v1/text-to-audio", headers=headers, json={"text": "good morning", "user": "u"})
    assert spoken.headers["content-type"] == "audio/mpeg"
    assert spoken.content == b"alloy:good morning"
    turn = client.post(
        "/v1/chat-messages",
        headers=headers,
        json={"query": "hi", "inputs": {}, "user": "u", "auto_generate_name": False},
    ).json()
    from_message = client.post(
        "/v1/text-to-audio",
        headers=headers,
        json={"message_id": turn["message_id"], "text": "ignored", "user": "u", "voice": "echo"},
    )
    assert from_message.content == b"echo:Echo: hi"
    stranger = client.post("/v1/text-to-audio", headers=headers, json={"message_id": turn["message_id"], "user": "x"})
    assert stranger.status_code == 404
    assert client.post("/v1/text-to-audio", headers=headers, json={"user": "u"}).json()["params"] == "text"
