"""Small model calls around a turn: a conversation's name and suggested follow-up questions."""

from __future__ import annotations

import json
import re

from loomworks.services.chat.llm import ChatModel, ChatRequest

_NAME_PROMPT = (
    "Write a short title (at most 8 words, in the language of the message) for a conversation that starts "
    "with the message below. Reply with the title only, without quotes.\n\nMessage:\n{query}"
)
_SUGGEST_PROMPT = (
    "Here is a conversation between a user and an assistant:\n\n{history}\n\n"
    "Predict the three questions the user is most likely to ask next. Each at most 20 words, in the "
    "language of the conversation. Reply with a JSON array of three strings and nothing else."
)


async def _complete(model: ChatModel, prompt: str, max_tokens: int) -> str:
    request = ChatRequest(messages=[{"role": "user", "content": prompt}], parameters={"max_tokens": max_tokens})
    parts = [delta.text async for delta in model.stream(request)]
    return "".join(parts).strip()


async def conversation_name(model: ChatModel, query: str) -> str:
    """A title for a conversation; falls back to the start of the query."""
    try:
        title = await _complete(model, _NAME_PROMPT.format(query=query[:2000]), 40)
    except Exception:  # noqa: BLE001 - naming is best effort; the provisional name stays
        title = ""
    title = title.strip().strip("\"'“”「」").splitlines()[0] if title.strip() else ""
    if not title:
        title = " ".join(query.split())
    return title if len(title) <= 40 else title[:39] + "…"


async def suggested_questions(model: ChatModel, history: list[tuple[str, str]]) -> list[str]:
    """Up to three follow-up questions; an answer that is not a JSON list gives none."""
    lines = []
    for query, answer in history[-3:]:
        lines.append(f"User: {query}")
        lines.append(f"Assistant: {answer}")
    text = await _complete(model, _SUGGEST_PROMPT.format(history="\n".join(lines)), 256)
    match = re.search(r"\[.*\]", text, re.DOTALL)
    if match is None:
        return []
    try:
        items = json.loads(match.group(0))
    except json.JSONDecodeError:
        return []
    return [str(item).strip() for item in items if isinstance(item, str | int | float) and str(item).strip()][:3]
