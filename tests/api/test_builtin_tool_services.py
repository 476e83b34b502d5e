"""Built-in tools that use the server's own services, called through the console's test route.

- `code/simple_code` runs in the real sandbox (`state.extras["sandbox"]`): no network, no host files.
- `knowledge/knowledge_search` searches a dataset indexed by the real job flow (scripted embedder).
- `audio/tts` and `audio/asr` go through the workspace's default speech models, served by the fake
  OpenAI server (`/v1/audio/speech`, `/v1/audio/transcriptions`).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest

from tests._console import Console
from tests.api.test_chat_knowledge import _indexed_dataset
from tests.api.test_chatflow import configure_openai
from tests.fakes.openai import OpenAIFake, openai_fake

WS = "/workspaces/current"


def _test_call(console: Console, provider: str, tool: str, **parameters: Any) -> Any:
    return console.post(f"{WS}/tool-provider/builtin/{provider}/tools/{tool}/test", json={"parameters": parameters})


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()


def test_the_code_interpreter_runs_python_and_javascript_in_the_sandbox(owner: Console, tmp_path: Any) -> None:
    secret = tmp_path / "host-secret.txt"
    secret.write_text("do not read me")
    code = (
        "import socket, sys\n"
        "print(sum(range(10)))\n"
        "try:\n"
        "    socket.create_connection(('127.0.0.1', 5432), timeout=1)\n"
        "    print('network: open')\n"
        "except OSError:\n"
        "    print('network: closed')\n"
        "try:\n"
        f"    open({str(secret)!r}).read()\n"
        "    print('host file: read')\n"
        "except OSError:\n"
        "    print('host file: hidden')\n"
        "print('oops', file=sys.stderr)\n"
    )
    out = _ok(_test_call(owner, "code", "simple_code", language="python3", code=code))
    assert out["variables"]["stdout"].splitlines() == ["45", "network: closed", "host file: hidden"]
    assert out["text"].endswith("stderr: oops")
    js = _ok(
        _test_call(
            owner, "code", "simple_code", language="javascript", code="console.log([1, 2, 3].map(x => x * 2).join(','))"
        )
    )
    assert js["text"].strip() == "2,4,6"
    failing = owner.post(
        f"{WS}/tool-provider/builtin/code/tools/simple_code/test",
        json={"parameters": {"language": "python3", "code": "print(1 / 0)"}},
    )
    assert failing.status_code == 400
    assert "code/simple_code" in failing.json()["message"]


LEAVE = "Employees get 25 days of paid leave a year.\n\nUnused leave days carry over until March."
TRAVEL = "Book trains for trips under four hours.\n\nHotel costs are refunded up to 150 euros a night."


def test_knowledge_search_answers_the_best_segments_of_an_indexed_dataset(chat_owner: Console) -> None:
    dataset_id = _indexed_dataset(chat_owner, "Handbook", {"leave.txt": LEAVE, "travel.txt": TRAVEL})
    other = _indexed_dataset(chat_owner, "Other", {"cats.txt": "Cats sleep sixteen hours a day."})
    out = _ok(
        _test_call(
            chat_owner,
            "knowledge",
            "knowledge_search",
            query="how many days of paid leave",
            dataset_ids=dataset_id,
            top_k=2,
        )
    )
    records = out["json"][0]["records"]
    assert len(records) == 2
    assert records[0]["content"] == LEAVE  # the automatic rule keeps a short document as one segment
    assert records[0]["document_name"] == "leave.txt"
    assert {r["dataset_id"] for r in records} == {dataset_id}  # only the chosen dataset is searched
    assert records[0]["score"] >= records[1]["score"]
    assert out["text"] == f"{LEAVE}\n\n{TRAVEL}"
    both = _ok(
        _test_call(chat_owner, "knowledge", "knowledge_search", query="cats sleep", dataset_ids=f"{dataset_id},{other}")
    )
    assert both["json"][0]["records"][0]["content"] == "Cats sleep sixteen hours a day."
    missing = _test_call(chat_owner, "knowledge", "knowledge_search", query="x", dataset_ids="")
    assert missing.status_code == 400
    assert "dataset_ids" in missing.json()["message"]


@pytest.fixture(scope="module")
def openai() -> Iterator[OpenAIFake]:
    with openai_fake() as fake:
        yield fake


def _default_speech_models(owner: Console, fake: OpenAIFake) -> None:
    configure_openai(owner, fake)
    saved = owner.post(
        f"{WS}/default-model",
        json={
            "model_settings": [
                {"model_type": "tts", "provider": "openai", "model": "tts-1"},
                {"model_type": "speech2text", "provider": "openai", "model": "whisper-1"},
            ]
        },
    )
    assert saved.status_code == 200, saved.text


def test_text_to_speech_and_back_through_the_default_speech_models(owner: Console, openai: OpenAIFake) -> None:
    without = _test_call(owner, "audio", "tts", text="Hello")
    assert without.status_code == 400  # no default TTS model yet: a clear error, not a crash
    _default_speech_models(owner, openai)
    openai.reset()

    spoken = _ok(_test_call(owner, "audio", "tts", text="Good morning, weavers"))
    (file,) = spoken["files"]
    assert file["type"] == "audio"
    assert file["mime_type"] == "audio/mpeg"
    speech = next(r for r in openai.requests if r.get("input"))
    assert speech["input"] == "Good morning, weavers"
    assert speech["model"] == "tts-1"
    expected = b"ID3\x04\x00\x00\x00\x00\x00\x00" + hashlib.sha256(b"Good morning, weavers").digest() * 64
    stored = owner.client.app.state.loom.extras["tools"].sources["builtin"].services.files
    assert asyncio.run(stored.read(file)) == expected  # the whole streamed audio was kept

    heard = _ok(_test_call(owner, "audio", "asr", audio_file=file))
    assert heard["text"] == openai.transcript
    transcription = next(c for c in openai.calls if c.path.endswith("/audio/transcriptions"))
    assert transcription.body["file"]["size"] == len(expected)  # the stored audio went to the model
