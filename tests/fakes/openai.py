"""A faithful fake of OpenAI's REST API (and Azure OpenAI's deployment paths), on 127.0.0.1.

Written from OpenAI's public API reference: `POST /v1/chat/completions` (blocking, or SSE
`data: {chunk}\\n\\n` … `data: [DONE]\\n\\n` with the `stream_options.include_usage` usage chunk and
`tool_calls` deltas), `/v1/completions` (legacy), `/v1/embeddings` (float or base64
`encoding_format`), `/v1/audio/transcriptions` (multipart), `/v1/audio/speech` (streamed bytes),
`/v1/moderations`, `GET /v1/models`, and the common `/rerank` of compatible servers. Errors use
OpenAI's body `{"error": {"message", "type", "param", "code"}}`; reasoning models (o1/o3/o4/gpt-5)
refuse `max_tokens` and a non-default `temperature` as OpenAI does.

Usage::

    with openai_fake() as fake:
        fake.base_url        # http://127.0.0.1:PORT/v1  (needs `Authorization: Bearer <fake.api_key>`)
        fake.open_url        # http://127.0.0.1:PORT/open/v1  (a compatible server: no key, has /models)
        fake.bare_url        # http://127.0.0.1:PORT/bare/v1  (no key and no /models: answers 404)
        fake.azure_url       # http://127.0.0.1:PORT  (Azure: /openai/deployments/{name}/…?api-version=…)
        fake.play("text")    # the scenario for every following request
        fake.requests        # the JSON bodies received (multipart: the form fields)
        fake.calls           # method, path, query, headers and body of every request

Scenarios: `chatty` (the default: answers `Echo: <last user text>` word by word with realistic
usage), `text`, `tool_call`, `reasoning`, `error_400`/`error_401`/`error_429`/`error_500`, `drop`,
`malformed` (see `tests/providers/_suite.py`). `fake.chunk_delay` (seconds) paces streamed chunks.

Standalone: `python -m tests.fakes.openai --port 8089` (add `--scenario text`, `--chunk-delay 0.01`,
`--record`); `openai_fake(record=False)` keeps no history, for benchmarks.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import math
import random
import struct
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

from tests._live_server import live_server

ENDPOINTS = (
    "chat/completions",
    "completions",
    "embeddings",
    "audio/transcriptions",
    "audio/speech",
    "moderations",
    "models",
    "rerank",
)
MODELS = [
    "gpt-4o",
    "gpt-4o-mini",
    "o1",
    "o3-mini",
    "gpt-3.5-turbo-instruct",
    "text-embedding-3-small",
    "text-embedding-3-large",
    "whisper-1",
    "tts-1",
    "omni-moderation-latest",
]
VOICES = {"alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse"}
FLAGGED_WORDS = {"kill", "murder", "hate", "bomb"}
ERRORS = {
    "error_400": (400, "invalid_request_error", "invalid_value"),
    "error_401": (401, "invalid_request_error", "invalid_api_key"),
    "error_429": (429, "requests", "rate_limit_exceeded"),
    "error_500": (500, "server_error", None),
}
REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")


class _Drop(Exception):
    """Raised inside a streaming body: uvicorn then closes the connection mid-response."""


@dataclass
class FakeCall:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any]
    client: str = ""  # "host:port" of the caller: equal ports mean a reused connection


def openai_error(status: int, message: str, kind: str, code: str | None = None, param: str | None = None) -> Response:
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return JSONResponse(body, status_code=status)


def azure_error(status: int, message: str) -> Response:
    return JSONResponse({"error": {"code": str(status), "message": message}}, status_code=status)


def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def estimate_tokens(text: str) -> int:
    """About four characters a token, as OpenAI's own rule of thumb."""
    return max(1, math.ceil(len(text) / 4))


def words(text: str) -> list[str]:
    parts = text.split(" ")
    return [parts[0]] + [" " + p for p in parts[1:]]


@dataclass
class Answer:
    """What the model says in one scenario."""

    text: str = ""
    reasoning: str = ""
    tool: tuple[str, str] | None = None  # (name, arguments JSON)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    pieces: list[str] = field(default_factory=list)


@dataclass
class OpenAIFake:
    """The fake's state and controls; `app` is the ASGI app serving it."""

    api_key: str = "sk-test"
    azure_key: str = "azure-test"
    embedding_dimensions: int = 1536
    transcript: str = "Hello from the audio."
    chunk_delay: float = 0.0
    record: bool = True  # keep `requests` and `calls` (off for long benchmark runs)
    root: str = ""
    scenarios: list[str] = field(default_factory=lambda: ["chatty"])
    requests: list[dict[str, Any]] = field(default_factory=list)
    calls: list[FakeCall] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.app = FastAPI()
        self.app.add_api_route("/{full:path}", self._dispatch, methods=["GET", "POST"])

    @property
    def base_url(self) -> str:
        return f"{self.root}/v1"

    @property
    def open_url(self) -> str:
        return f"{self.root}/open/v1"

    @property
    def bare_url(self) -> str:
        return f"{self.root}/bare/v1"

    @property
    def azure_url(self) -> str:
        return self.root

    @property
    def scenario(self) -> str:
        return self.scenarios[0]

    def play(self, scenario: str) -> None:
        """The scenario for every request from now on."""
        self.scenarios[:] = [scenario]

    def reset(self) -> None:
        """Back to `chatty`, with no recorded requests."""
        self.play("chatty")
        self.requests.clear()
        self.calls.clear()

    # -- routing -----------------------------------------------------------------------------

    async def _dispatch(self, request: Request, full: str) -> Response:
        body = await self._body(request)
        headers = {k.lower(): v for k, v in request.headers.items()}
        if self.record:
            peer = f"{request.client.host}:{request.client.port}" if request.client else ""
            call = FakeCall(request.method, "/" + full, dict(request.query_params), headers, body, peer)
            self.calls.append(call)
            if request.method == "POST":
                self.requests.append(body)
        if full.startswith("openai/deployments/"):
            return await self._azure(request, full, headers, body)
        endpoint = next((e for e in ENDPOINTS if full == e or full.endswith("/" + e)), None)
        if endpoint is None:
            return openai_error(404, f"Invalid URL ({request.method} /{full})", "invalid_request_error")
        prefix = full[: -len(endpoint)].strip("/")
        if prefix == "v1":
            refused = self._check_bearer(headers)
            if refused is not None:
                return refused
        elif prefix == "bare/v1" and endpoint == "models":
            return PlainTextResponse("404 page not found", status_code=404)
        elif prefix not in ("open/v1", "bare/v1"):
            return openai_error(404, f"Invalid URL ({request.method} /{full})", "invalid_request_error")
        return await self._endpoint(endpoint, body, str(body.get("model") or ""))

    async def _azure(self, request: Request, full: str, headers: dict[str, str], body: dict[str, Any]) -> Response:
        _, _, deployment, *rest = full.split("/")
        endpoint = "/".join(rest)
        if endpoint not in ENDPOINTS or endpoint in ("models", "rerank") or not request.query_params.get("api-version"):
            return azure_error(404, "Resource not found")
        if headers.get("api-key") != self.azure_key:
            return azure_error(
                401,
                "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid "
                "key for an active subscription and use a correct regional API endpoint for your resource.",
            )
        if "stream_options" in body and request.query_params["api-version"][:10] < "2024-09-01":
            return azure_error(400, "Unrecognized request argument supplied: stream_options")
        return await self._endpoint(endpoint, body, deployment, azure=True)

    def _check_bearer(self, headers: dict[str, str]) -> Response | None:
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return openai_error(
                401,
                "You didn't provide an API key. You need to provide your API key in an Authorization header "
                "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                "invalid_request_error",
            )
        if auth.removeprefix("Bearer ") != self.api_key:
            shown = auth.removeprefix("Bearer ")[:6]
            return openai_error(
                401,
                f"Incorrect API key provided: {shown}****. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                "invalid_request_error",
                "invalid_api_key",
            )
        return None

    async def _body(self, request: Request) -> dict[str, Any]:
        if request.method != "POST":
            return {}
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            fields: dict[str, Any] = {}
            async with request.form() as form:  # closes the spooled upload files
                for key, value in form.multi_items():
                    if isinstance(value, str):
                        fields[key] = value
                    else:
                        data = await value.read()
                        fields[key] = {
                            "filename": value.filename,
                            "size": len(data),
                            "content_type": value.content_type,
                        }
            return fields
        raw = await request.body()
        try:
            parsed = json.loads(raw or b"{}")
        except ValueError:
            return {"_invalid_json": raw.decode(errors="replace")}
        return parsed if isinstance(parsed, dict) else {"_body": parsed}

    async def _endpoint(self, endpoint: str, body: dict[str, Any], model: str, *, azure: bool = False) -> Response:
        if "_invalid_json" in body:
            return openai_error(400, "We could not parse the JSON body of your request.", "invalid_request_error")
        if self.scenario in ERRORS:
            status, kind, code = ERRORS[self.scenario]
            if azure:
                return azure_error(status, "scripted failure")
            return openai_error(status, "scripted failure", kind, code)
        if endpoint == "models":
            data = [{"id": m, "object": "model", "created": 1700000000, "owned_by": "system"} for m in MODELS]
            return JSONResponse({"object": "list", "data": data})
        if not model:
            return openai_error(400, "you must provide a model parameter", "invalid_request_error", None, "model")
        handler = {
            "chat/completions": self._chat,
            "completions": self._completions,
            "embeddings": self._embeddings,
            "audio/transcriptions": self._transcription,
            "audio/speech": self._speech,
            "moderations": self._moderation,
            "rerank": self._rerank,
        }[endpoint]
        return await handler(body, model, azure)

    # -- chat and completions ----------------------------------------------------------------

    def _answer(self, prompt_text: str, last_user: str, tools: bool) -> Answer:
        scenario = self.scenario
        if scenario == "tool_call" and tools:
            return Answer(tool=("get_weather", '{"city": "Paris"}'), prompt_tokens=7, completion_tokens=12)
        if scenario == "chatty":
            text = f"Echo: {last_user}".rstrip()
            pieces = words(text)
            return Answer(text, "", None, estimate_tokens(prompt_text) + 7, len(pieces), pieces)
        reasoning = "The user greets me." if scenario == "reasoning" else ""
        return Answer("Hello world", reasoning, None, 7, 2, ["Hello", " world"])

    def _refuse_chat(self, body: dict[str, Any], model: str) -> Response | None:
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            return openai_error(400, "'messages' must contain at least one message.", "invalid_request_error")
        if body.get("stream_options") is not None and not body.get("stream"):
            return openai_error(
                400, "The 'stream_options' parameter is only allowed when 'stream' is enabled.", "invalid_request_error"
            )
        if model.startswith(REASONING_PREFIXES):
            if "max_tokens" in body:
                return openai_error(
                    400,
                    "Unsupported parameter: 'max_tokens' is not supported with this model. "
                    "Use 'max_completion_tokens' instead.",
                    "invalid_request_error",
                    "unsupported_parameter",
                    "max_tokens",
                )
            if body.get("temperature", 1) != 1:
                return openai_error(
                    400,
                    f"Unsupported value: 'temperature' does not support {body['temperature']} with this model. "
                    "Only the default (1) value is supported.",
                    "invalid_request_error",
                    "unsupported_value",
                    "temperature",
                )
        return None

    async def _chat(self, body: dict[str, Any], model: str, azure: bool) -> Response:
        refused = self._refuse_chat(body, model)
        if refused is not None:
            return refused
        messages = body["messages"]
        users = [text_of(m.get("content")) for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        prompt = " ".join(text_of(m.get("content")) for m in messages if isinstance(m, dict))
        answer = self._answer(prompt, users[-1] if users else "", bool(body.get("tools")))
        if body.get("stream") and self.scenario != "unstreamed":
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return self._sse(self._chat_chunks(answer, model, include_usage, azure))
        message: dict[str, Any] = {"role": "assistant", "content": answer.text or None, "refusal": None}
        if answer.reasoning:
            message["reasoning_content"] = answer.reasoning
        if answer.tool:
            message["tool_calls"] = [
                {
                    "id": "call_abc123",
                    "type": "function",
                    "function": {"name": answer.tool[0], "arguments": answer.tool[1]},
                }
            ]
        choice = {"index": 0, "message": message, "logprobs": None}
        choice["finish_reason"] = "tool_calls" if answer.tool else "stop"
        return JSONResponse(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [choice],
                "usage": self._usage(answer),
            }
        )

    def _usage(self, answer: Answer) -> dict[str, Any]:
        prompt, completion = answer.prompt_tokens, answer.completion_tokens
        usage: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion}
        usage["total_tokens"] = prompt + completion
        if answer.reasoning:
            usage["completion_tokens_details"] = {"reasoning_tokens": estimate_tokens(answer.reasoning)}
        return usage

    def _chat_chunks(self, answer: Answer, model: str, include_usage: bool, azure: bool) -> Iterator[str]:
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
            choice: dict[str, Any] = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            if azure:
                choice["content_filter_results"] = {}
            payload = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [choice],
            }
            return json.dumps(payload)

        if azure:
            # Azure sends the prompt's content-filter verdict first, in a chunk with no choices.
            yield json.dumps(
                {"choices": [], "created": 0, "id": "", "model": "", "object": "", "prompt_filter_results": []}
            )
        yield chunk({"role": "assistant", "content": "", "refusal": None})
        if answer.reasoning:
            for piece in words(answer.reasoning):
                yield chunk({"reasoning_content": piece})
        if answer.tool:
            name, arguments = answer.tool
            first = {"index": 0, "id": "call_abc123", "type": "function", "function": {"name": name, "arguments": ""}}
            yield chunk({"tool_calls": [first]})
            middle = len(arguments) // 2
            for part in (arguments[:middle], arguments[middle:]):
                yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": part}}]})
        for piece in answer.pieces:
            if self.scenario == "drop" and piece != answer.pieces[0]:
                raise _Drop
            if self.scenario == "malformed" and piece != answer.pieces[0]:
                yield '{"id": "chatcmpl-fake", "choices": [{"delta": {"content": '
                return
            if self.scenario == "stream_error" and piece != answer.pieces[0]:
                # OpenAI reports a failure after the 200 status as an error object in the stream.
                yield json.dumps({"error": {"message": "scripted failure", "type": "server_error", "param": None,
                                            "code": None}})  # fmt: skip
                return
            yield chunk({"content": piece})
        yield chunk({}, "tool_calls" if answer.tool else "stop")
        if include_usage:
            yield json.dumps(
                {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [],
                    "usage": self._usage(answer),
                }
            )

    def _sse(self, payloads: Iterator[str]) -> Response:
        delay = self.chunk_delay

        async def frames() -> AsyncIterator[bytes]:
            for payload in payloads:
                yield f"data: {payload}\n\n".encode()
                if delay:
                    await asyncio.sleep(delay)
            if self.scenario not in ("malformed", "stream_error"):
                yield b"data: [DONE]\n\n"

        return StreamingResponse(frames(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    async def _completions(self, body: dict[str, Any], model: str, azure: bool) -> Response:  # noqa: ARG002
        prompt = body.get("prompt")
        if not isinstance(prompt, str | list):
            return openai_error(400, "'prompt' is a required property", "invalid_request_error", None, "prompt")
        text = prompt if isinstance(prompt, str) else " ".join(map(str, prompt))
        answer = self._answer(text, text.strip().splitlines()[-1] if text.strip() else "", tools=False)
        if not body.get("stream"):
            return JSONResponse(
                {
                    "id": "cmpl-fake",
                    "object": "text_completion",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [{"text": answer.text, "index": 0, "logprobs": None, "finish_reason": "stop"}],
                    "usage": self._usage(answer),
                }
            )
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def chunks() -> Iterator[str]:
            base = {"id": "cmpl-fake", "object": "text_completion", "created": int(time.time()), "model": model}
            for piece in answer.pieces:
                if self.scenario == "drop" and piece != answer.pieces[0]:
                    raise _Drop
                if self.scenario == "malformed" and piece != answer.pieces[0]:
                    yield '{"choices": [{"text": '
                    return
                yield json.dumps({**base, "choices": [{"text": piece, "index": 0, "finish_reason": None}]})
            yield json.dumps({**base, "choices": [{"text": "", "index": 0, "finish_reason": "stop"}]})
            if include_usage:
                yield json.dumps({**base, "choices": [], "usage": self._usage(answer)})

        return self._sse(chunks())

    # -- embeddings, audio, moderation, rerank -----------------------------------------------

    def _vector(self, text: str) -> list[float]:
        rng = random.Random(hashlib.sha256(text.encode()).digest())  # noqa: S311 - deterministic, not secret
        raw = [rng.gauss(0.0, 1.0) for _ in range(self.embedding_dimensions)]
        norm = math.sqrt(sum(x * x for x in raw)) or 1.0
        return [x / norm for x in raw]

    async def _embeddings(self, body: dict[str, Any], model: str, azure: bool) -> Response:  # noqa: ARG002
        inputs = body.get("input")
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not inputs or not all(isinstance(i, str) and i for i in inputs):
            return openai_error(400, "'input' is invalid: it must be a non-empty string or array of strings.",
                                "invalid_request_error", None, "input")  # fmt: skip
        if len(inputs) > 2048:
            return openai_error(
                400, "'$.input' is invalid: at most 2048 inputs.", "invalid_request_error", None, "input"
            )
        fmt = body.get("encoding_format", "float")
        data = []
        for index, text in enumerate(inputs):
            vector = self._vector(text)
            if fmt == "base64":
                embedding: Any = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
            else:
                embedding = vector
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        tokens = sum(estimate_tokens(t) for t in inputs)
        # OpenAI does not promise the order of `data`; clients sort by `index`.
        data.reverse()
        return JSONResponse(
            {"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
        )

    async def _transcription(self, body: dict[str, Any], model: str, azure: bool) -> Response:  # noqa: ARG002
        upload = body.get("file")
        if not isinstance(upload, dict) or not upload.get("size"):
            return openai_error(400, "The audio file could not be decoded.", "invalid_request_error", None, "file")
        if body.get("response_format") == "text":
            return PlainTextResponse(self.transcript)
        return JSONResponse({"text": self.transcript})

    async def _speech(self, body: dict[str, Any], model: str, azure: bool) -> Response:  # noqa: ARG002
        text = body.get("input")
        if not isinstance(text, str) or not text:
            return openai_error(400, "'input' is required.", "invalid_request_error", None, "input")
        if body.get("voice") not in VOICES:
            return openai_error(400, f"Invalid voice: {body.get('voice')!r}.", "invalid_request_error", None, "voice")
        audio = b"ID3\x04\x00\x00\x00\x00\x00\x00" + hashlib.sha256(text.encode()).digest() * 64

        async def pieces() -> AsyncIterator[bytes]:
            for start in range(0, len(audio), 512):
                yield audio[start : start + 512]

        media = {"mp3": "audio/mpeg", "wav": "audio/wav", "opus": "audio/ogg", "aac": "audio/aac"}
        return StreamingResponse(pieces(), media_type=media.get(str(body.get("response_format", "mp3")), "audio/mpeg"))

    async def _moderation(self, body: dict[str, Any], model: str, azure: bool) -> Response:  # noqa: ARG002
        inputs = body.get("input")
        texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
        results = []
        for text in texts:
            flagged = bool(FLAGGED_WORDS & set(str(text).lower().split()))
            results.append(
                {
                    "flagged": flagged,
                    "categories": {"violence": flagged, "hate": False},
                    "category_scores": {"violence": 0.97 if flagged else 0.001, "hate": 0.001},
                }
            )
        return JSONResponse({"id": "modr-fake", "model": model, "results": results})

    async def _rerank(self, body: dict[str, Any], model: str, azure: bool) -> Response:  # noqa: ARG002
        query, docs = body.get("query"), body.get("documents")
        if not isinstance(query, str) or not isinstance(docs, list):
            return openai_error(400, "query and documents are required", "invalid_request_error")
        terms = set(query.lower().split())
        scored = []
        for index, doc in enumerate(docs):
            overlap = len(terms & set(str(doc).lower().split()))
            scored.append({"index": index, "relevance_score": overlap / (len(terms) or 1), "document": {"text": doc}})
        scored.sort(key=lambda hit: hit["relevance_score"], reverse=True)
        top_n = body.get("top_n")
        return JSONResponse({"id": "rerank-fake", "results": scored[: int(top_n)] if top_n else scored})


@contextmanager
def openai_fake(**options: Any) -> Iterator[OpenAIFake]:
    """Serve a fresh `OpenAIFake` on a free loopback port for the duration of the block."""
    fake = OpenAIFake(**options)
    with live_server(fake.app) as root:
        fake.root = root
        yield fake


def main() -> None:
    """`python -m tests.fakes.openai --port N`: serve the fake until interrupted."""
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--scenario", default="chatty")
    parser.add_argument("--api-key", default="sk-test")
    parser.add_argument("--chunk-delay", type=float, default=0.0)
    parser.add_argument("--record", action="store_true", help="keep every request in memory")
    args = parser.parse_args()
    fake = OpenAIFake(
        api_key=args.api_key, chunk_delay=args.chunk_delay, record=args.record, root=f"http://127.0.0.1:{args.port}"
    )
    fake.play(args.scenario)
    uvicorn.run(fake.app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
