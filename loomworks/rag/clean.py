"""Pre-processing rules applied to extracted text before splitting (Dify's `pre_processing_rules`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

# Characters that break tokenizers or JSON and never carry meaning; removed whatever the rules say.
_INVALID = re.compile(r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F\uFFFE\uFFFF]")
_MANY_NEWLINES = re.compile(r"\n{3,}")
_MANY_SPACES = re.compile(r"[\t\f\r\x20\u00a0\u1680\u180e\u2000-\u200a\u202f\u205f\u3000]{2,}")
_EMAIL = re.compile(r"[a-zA-Z0-9_.+-]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+")
_MARKDOWN_LINK = re.compile(r"\[([^\]]*)\]\((https?://[^)\s]+)\)")
_MARKDOWN_IMAGE = re.compile(r"!\[([^\]]*)\]\((https?://[^)\s]+)\)")
_URL = re.compile(r"https?://[^\s)\]]+")


def remove_extra_spaces(text: str) -> str:
    """Collapse runs of 3+ newlines to one blank line and runs of 2+ spaces or tabs to one space."""
    return _MANY_SPACES.sub(" ", _MANY_NEWLINES.sub("\n\n", text))


def remove_urls_emails(text: str) -> str:
    """Drop e-mail addresses and URLs; Markdown links keep their label, images keep their alt text."""
    text = _EMAIL.sub("", text)
    text = _MARKDOWN_IMAGE.sub(lambda m: m.group(1), text)
    text = _MARKDOWN_LINK.sub(lambda m: m.group(1), text)
    return _URL.sub("", text)


def enabled_rules(pre_processing_rules: Iterable[Mapping[str, Any]] | None) -> set[str]:
    """The ids of the enabled rules in a process rule's `pre_processing_rules` list."""
    return {str(r.get("id")) for r in pre_processing_rules or [] if r.get("enabled")}


def clean(text: str, rules: Iterable[str] = ()) -> str:
    """Apply the named rules (`remove_extra_spaces`, `remove_urls_emails`) after removing invalid characters.

    Like Dify, `<|` and `|>` (model special-token markers) are defused to `<` and `>` always.
    Unknown rule ids (such as `remove_stopwords`, which Dify lists but never applies) are ignored.
    """
    names = set(rules)
    text = _INVALID.sub("", text).replace("<|", "<").replace("|>", ">")
    if "remove_urls_emails" in names:
        text = remove_urls_emails(text)
    if "remove_extra_spaces" in names:
        text = remove_extra_spaces(text)
    return text
