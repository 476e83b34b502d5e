"""Code written for Dify works unchanged: the Python SDKs from PyPI drive our server.

`dify-client` (the official package, on `requests`) is installed in the project's venv;
`dify-client-python` (httpx, pydantic models that validate every field) uses the same module
name, so scripts/install.sh puts it in `.venv/sdk-alt` and it runs in a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from loomworks.api.app import build_state, create_app
from loomworks.core.config import Settings
from tests._console import OWNER_EMAIL, OWNER_PASSWORD, Console
from tests._live_server import live_server
from tests._scripted_model import ScriptedModels, configured_app

pytestmark = pytest.mark.integration
SDK_ALT = Path(__file__).resolve().parents[2] / ".venv" / "sdk-alt"


@pytest.fixture
def served(settings: Settings) -> Iterator[tuple[str, Console]]:
    app = create_app(settings, state=build_state(settings, models=ScriptedModels()))
    with live_server(app) as base, TestClient(app) as client:
        client.post("/console/api/setup", json={"email": OWNER_EMAIL, "name": "Owner", "password": OWNER_PASSWORD})
        yield base, Console(client, OWNER_EMAIL, OWNER_PASSWORD).login()


def test_official_dify_client(served: tuple[str, Console]) -> None:
    from dify_client import ChatClient, CompletionClient

    base, owner = served
    chat_headers, _ = configured_app(owner, suggested_questions_after_answer={"enabled": True})
    chat = ChatClient(chat_headers["Authorization"].removeprefix("Bearer "))
    chat.base_url = f"{base}/v1"

    blocking = chat.create_chat_message(inputs={}, query="Hello SDK", user="sdk-user")
    blocking.raise_for_status()
    body = blocking.json()
    assert body["answer"] == "Echo: Hello SDK"
    conversation_id = body["conversation_id"]

    streamed = chat.create_chat_message(
        inputs={}, query="streaming now", user="sdk-user", response_mode="streaming", conversation_id=conversation_id
    )
    events = [json.loads(line[6:]) for line in streamed.iter_lines(decode_unicode=True) if line.startswith("data: ")]
    assert events[-1]["event"] == "message_end"
    assert "".join(e.get("answer", "") for e in events if e["event"] == "message") == "Echo: streaming now"

    history = chat.get_conversation_messages("sdk-user", conversation_id=conversation_id).json()
    assert [m["query"] for m in history["data"]] == ["Hello SDK", "streaming now"]
    assert chat.message_feedback(body["message_id"], "like", "sdk-user").json() == {"result": "success"}
    conversations = chat.get_conversations("sdk-user").json()
    assert conversations["data"][0]["id"] == conversation_id
    assert chat.rename_conversation(conversation_id, "Renamed by SDK", "sdk-user").json()["name"] == "Renamed by SDK"
    assert chat.get_application_parameters("sdk-user").json()["suggested_questions_after_answer"] == {"enabled": True}
    uploaded = chat.file_upload("sdk-user", {"file": ("note.txt", b"hello", "text/plain")})
    assert uploaded.status_code == 201
    # (this old client has no delete call; raw requests through its own helper reach the same route)
    deleted = chat._send_request("DELETE", f"/conversations/{conversation_id}", {"user": "sdk-user"})
    assert deleted.status_code == 204

    completion_headers, _ = configured_app(
        owner,
        "completion",
        user_input_form=[{"paragraph": {"label": "Q", "variable": "query", "required": True}}],
        pre_prompt="{{query}}",
    )
    completion = CompletionClient(completion_headers["Authorization"].removeprefix("Bearer "))
    completion.base_url = f"{base}/v1"
    result = completion.create_completion_message(inputs={"query": "Write"}, response_mode="blocking", user="u")
    assert result.json()["answer"] == "Echo: Write"


def test_dify_client_python(served: tuple[str, Console]) -> None:
    assert (SDK_ALT / "dify_client").is_dir(), "dify-client-python is missing: run scripts/install.sh --dev"
    base, owner = served
    chat_headers, _ = configured_app(owner)
    completion_headers, _ = configured_app(
        owner,
        "completion",
        user_input_form=[{"paragraph": {"label": "Q", "variable": "query", "required": True}}],
        pre_prompt="{{query}}",
    )
    script = textwrap.dedent(
        """
        import sys
        from dify_client import Client, models

        base, chat_key, completion_key = sys.argv[1:4]
        chat = Client(api_key=chat_key, api_base=base + "/v1")
        blocking = chat.chat_messages(models.ChatRequest(
            query="hi", inputs={}, user="py", response_mode=models.ResponseMode.BLOCKING), timeout=30)
        assert blocking.answer == "Echo: hi", blocking
        events = list(chat.chat_messages(models.ChatRequest(
            query="stream", inputs={}, user="py", response_mode=models.ResponseMode.STREAMING), timeout=30))
        kinds = [str(e.event) for e in events]
        assert kinds[-1] == "message_end", kinds
        assert "".join(e.answer for e in events if str(e.event) == "message") == "Echo: stream"
        feedback = chat.feedback_messages(blocking.message_id, models.FeedbackRequest(
            rating=models.Rating.LIKE, user="py"))
        assert feedback.result == "success"
        completion = Client(api_key=completion_key, api_base=base + "/v1")
        done = completion.completion_messages(models.CompletionRequest(
            inputs={"query": "Write"}, user="py", response_mode=models.ResponseMode.BLOCKING), timeout=30)
        assert done.answer == "Echo: Write", done
        print("sdk ok")
        """
    )
    env = {**os.environ, "PYTHONPATH": str(SDK_ALT)}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            base,
            chat_headers["Authorization"][7:],
            completion_headers["Authorization"][7:],
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "sdk ok" in result.stdout
