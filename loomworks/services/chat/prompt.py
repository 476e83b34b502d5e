"""Turn an app's `model_config`, the user's inputs, history and query into model messages.

Simple mode (Dify's `prompt_type: simple`) uses `pre_prompt` with `{{variable}}` placeholders as
the system message, adds retrieved context when there is some, then the history and the query.
Advanced mode uses the user's own message list (`chat_prompt_config`) or completion template
(`completion_prompt_config`) with `{{#context#}}`, `{{#histories#}}` and `{{#query#}}`.
"""

from __future__ import annotations

import re
from typing import Any

_VARIABLE = re.compile(r"\{\{([a-zA-Z_][a-zA-Z0-9_]{0,29})\}\}")
_CONTEXT_INTRO = (
    "Use the knowledge between the <context></context> tags to answer. If it does not hold the answer, "
    "say that you do not know rather than guessing, and do not mention the tags.\n\n<context>\n{context}\n</context>"
)


def fill(template: str, inputs: dict[str, Any]) -> str:
    """Replace `{{name}}` with the input's value; unknown names become empty, as in Dify."""

    def value(match: re.Match[str]) -> str:
        found = inputs.get(match.group(1))
        return "" if found is None else str(found)

    return _VARIABLE.sub(value, template)


def _history_text(history: list[tuple[str, str]], user_prefix: str, assistant_prefix: str) -> str:
    lines: list[str] = []
    for query, answer in history:
        lines.append(f"{user_prefix}: {query}")
        lines.append(f"{assistant_prefix}: {answer}")
    return "\n".join(lines)


def _user_content(query: str, images: list[dict[str, Any]]) -> Any:
    if not images:
        return query
    return [{"type": "text", "text": query}, *images]


def build_chat(
    config: dict[str, Any],
    *,
    inputs: dict[str, Any],
    query: str,
    history: list[tuple[str, str]],
    context: str | None,
    images: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Messages for a chat-mode model."""
    images = images or []
    if config.get("prompt_type") == "advanced" and (config.get("chat_prompt_config") or {}).get("prompt"):
        return _advanced_chat(config, inputs=inputs, query=query, history=history, context=context, images=images)
    system_parts = []
    if context:
        system_parts.append(_CONTEXT_INTRO.format(context=context))
    pre_prompt = fill(config.get("pre_prompt") or "", inputs).strip()
    if pre_prompt:
        system_parts.append(pre_prompt)
    messages: list[dict[str, Any]] = []
    if system_parts and not query:
        # A text generator has no query: its filled prompt is what the user asks (as in Dify).
        return [{"role": "user", "content": _user_content("\n\n".join(system_parts), images)}]
    if system_parts:
        messages.append({"role": "system", "content": "\n\n".join(system_parts)})
    for past_query, past_answer in history:
        messages.append({"role": "user", "content": past_query})
        messages.append({"role": "assistant", "content": past_answer})
    messages.append({"role": "user", "content": _user_content(query, images)})
    return messages


def _advanced_chat(
    config: dict[str, Any],
    *,
    inputs: dict[str, Any],
    query: str,
    history: list[tuple[str, str]],
    context: str | None,
    images: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    histories = _history_text(history, "Human", "Assistant")
    for item in config["chat_prompt_config"]["prompt"]:
        text = fill(str(item.get("text", "")), inputs)
        text = text.replace("{{#context#}}", context or "").replace("{{#histories#}}", histories)
        text = text.replace("{{#query#}}", query)
        messages.append({"role": item.get("role", "user"), "content": text})
    # Dify's advanced chat prompts carry the history as real turns and end with the user's query.
    tail = messages[1:] if messages and messages[0]["role"] == "system" else messages
    head = messages[:1] if tail is not messages else []
    turns: list[dict[str, Any]] = []
    for past_query, past_answer in history:
        turns.append({"role": "user", "content": past_query})
        turns.append({"role": "assistant", "content": past_answer})
    return [*head, *tail, *turns, {"role": "user", "content": _user_content(query, images)}]


def build_completion(
    config: dict[str, Any],
    *,
    inputs: dict[str, Any],
    query: str,
    history: list[tuple[str, str]],
    context: str | None,
) -> str:
    """The prompt text for a completion-mode model."""
    if config.get("prompt_type") == "advanced" and (config.get("completion_prompt_config") or {}).get("prompt"):
        completion = config["completion_prompt_config"]
        roles = completion.get("conversation_histories_role") or {}
        user_prefix = roles.get("user_prefix", "Human")
        histories = _history_text(history, user_prefix, roles.get("assistant_prefix", "Assistant"))
        text = fill(str(completion["prompt"].get("text", "")), inputs)
        return (
            text.replace("{{#context#}}", context or "")
            .replace("{{#histories#}}", histories)
            .replace("{{#query#}}", query)
        )
    parts = []
    if context:
        parts.append(_CONTEXT_INTRO.format(context=context))
    pre_prompt = fill(config.get("pre_prompt") or "", inputs).strip()
    if pre_prompt:
        parts.append(pre_prompt)
    if history:
        parts.append(_history_text(history, "Human", "Assistant"))
    if query:
        parts.append(f"Human: {query}\nAssistant: " if history else query)
    return "\n\n".join(parts)
